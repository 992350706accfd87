# SPDX-License-Identifier: GPL-2.0-only
# make bench's plot, from the data mapbuf-bench writes:
#   gnuplot -e "data='out/bench/bench.dat'" bench.gp >bench.png
# A line per case: its name, then µs per MiB and faults per MiB at 4 MiB,
# then at 1 GiB; "-" where the case cannot map that size.
set terminal pngcairo size 1000,1000 font ",11" noenhanced
set datafile separator "\t"
set datafile missing "-"
stats data using 2 nooutput
# The same x range and margins in both panels, so that the bars line up.
set xrange [-0.6:STATS_records - 0.4]
set lmargin 24
set rmargin 3
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set grid ytics
set key outside top center horizontal
set multiplot layout 2,1 title \
	"map + touch every page + unmap, per MiB, under QEMU -icount (1 instruction = 1 ns)"
set title "time (µs per MiB; the seeds' approach cannot map 1 GiB)"
plot data using 2:xtic("") title "4 MiB", '' using 4 title "1 GiB"
set title "page faults per MiB (no bar: below 0.001)"
set yrange [0.001:*]
unset key
set bmargin 13
set xtics rotate by 30 right nomirror
plot data using 3:xtic(1) title "4 MiB", '' using 5 title "1 GiB"
unset multiplot
