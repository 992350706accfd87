// SPDX-License-Identifier: GPL-2.0-only
/*
 * What sharing memory through mapbuf costs, next to the other ways Linux
 * has: make bench runs this in its VM under QEMU -icount, where guest time
 * counts instructions (see README.md, "Benchmark").
 *
 * usage: mapbuf-bench DATA
 *
 * It needs /dev/mapbuf0 with a 1 GiB buffer, /dev/seedmap
 * (tools/harness/seedmap), /dev/dma_heap/system and /dev/udmabuf. It
 * prints the tables in markdown and writes the plot's data to DATA.
 *
 * A mapping case maps a size, touches every page (writes a byte to it,
 * or reads one from a read-only mapping) and unmaps it, on the clock, and
 * counts the faults that took (getrusage()'s ru_minflt, which counts
 * MAP_POPULATE's too). Where the memory is a buffer that a driver
 * allocates at load (mapbuf, seedmap), the clock does not see the
 * allocation; where the case allocates it (anonymous memory, memfd, the
 * heap, udmabuf), it does, and the free too. The copy cases read(2) or
 * write(2) the size in 1 MiB requests, or memcpy() it in 1 MiB pieces.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/mapbuf.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MIB	(1UL << 20)
#define GIB	(1UL << 30)
/* Runs of each case, in turn: their spread says how far one run is off. */
#define RUNS	5
#define CHUNK	MIB
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const size_t sizes[] = { 4 * MIB, GIB };
#define NR_SIZES	((int)ARRAY_SIZE(sizes))

static long page_size;
/* read(2)'s and memcpy()'s destination, write(2)'s and memcpy()'s source */
static char *chunk[2];

static void die(const char *what, const char *call)
{
	fprintf(stderr, "mapbuf-bench: %s: ", what);
	perror(call);
	exit(1);
}

struct bench_case;
typedef void bench_fn(const struct bench_case *c, int dev, size_t size);

/**
 * struct bench_case - one line of the tables
 * @name: what it measures
 * @run: the code on the clock, given @dev and the size
 * @dev: a device to open before the clock starts (or NULL)
 * @new_fd: the file to map, made on the clock from @dev (or NULL: map
 *	@dev itself, or anonymous memory)
 * @prot: the mapping's protection: without PROT_WRITE, touching reads
 * @flags: the mapping's flags
 * @advice: madvise() advice given before touching (or 0)
 * @max_size: the largest size the mechanism can do (0: any)
 */
struct bench_case {
	const char *name;
	bench_fn *run;
	const char *dev;
	int (*new_fd)(int dev, size_t size);
	int prot, flags, advice;
	size_t max_size;
};

static void map_touch(const struct bench_case *c, int dev, size_t size)
{
	int fd = c->new_fd ? c->new_fd(dev, size) : dev;
	volatile char *p;	/* every touch a real access */
	size_t off;

	p = mmap(NULL, size, c->prot, c->flags, fd, 0);
	if (p == MAP_FAILED)
		die(c->name, "mmap");
	if (c->advice && madvise((void *)p, size, c->advice))
		die(c->name, "madvise");
	if (c->prot & PROT_WRITE)
		for (off = 0; off < size; off += page_size)
			p[off] = 1;
	else
		for (off = 0; off < size; off += page_size)
			(void)p[off];
	if (munmap((void *)p, size))
		die(c->name, "munmap");
	if (c->new_fd)
		close(fd);
}

static void copy_read(const struct bench_case *c, int dev, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += CHUNK)
		if (pread(dev, chunk[0], CHUNK, off) != CHUNK)
			die(c->name, "pread");
}

static void copy_write(const struct bench_case *c, int dev, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += CHUNK)
		if (pwrite(dev, chunk[1], CHUNK, off) != CHUNK)
			die(c->name, "pwrite");
}

/*
 * The same two pieces each time: under -icount a copy costs its
 * instructions, wherever the bytes are.
 */
static void copy_memcpy(const struct bench_case *c, int dev, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += CHUNK) {
		memcpy(chunk[0], chunk[1], CHUNK);
		/* The copy is used, as far as the compiler knows. */
		__asm__ volatile("" : : "r"(chunk[0]) : "memory");
	}
}

static int memfd_new(int dev, size_t size)
{
	int fd = memfd_create("mapbuf-bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size))
		die("memfd", "memfd_create");
	return fd;
}

static int heap_alloc(int heap, size_t size)
{
	struct dma_heap_allocation_data alloc = {
		.len = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc))
		die("dma-buf system heap", "DMA_HEAP_IOCTL_ALLOC");
	return alloc.fd;
}

static int udmabuf_new(int dev, size_t size)
{
	int memfd = memfd_new(-1, size), fd;
	struct udmabuf_create create = {
		.memfd = memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};

	/* udmabuf takes only memfds that cannot shrink under it. */
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		die("udmabuf", "F_ADD_SEALS");
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	if (fd < 0)
		die("udmabuf", "UDMABUF_CREATE");
	/* The dma-buf holds the pages. */
	close(memfd);
	return fd;
}

#define RW	(PROT_READ | PROT_WRITE)
#define MAPBUF	"/dev/mapbuf0"

enum {
	MAPBUF_SHARED, MAPBUF_NOHUGE, MAPBUF_POPULATE, MAPBUF_PRIVATE, SEEDS,
	ANON_THP, MEMFD, HEAP, UDMABUF,
	NR_MAP_CASES,
	READ = NR_MAP_CASES, WRITE, MEMCPY,
	NR_CASES
};

static const struct bench_case cases[NR_CASES] = {
	[MAPBUF_SHARED] = { "mapbuf MAP_SHARED", map_touch, MAPBUF,
		.prot = RW, .flags = MAP_SHARED },
	[MAPBUF_NOHUGE] = { "mapbuf MAP_SHARED, MADV_NOHUGEPAGE", map_touch,
		MAPBUF, .prot = RW, .flags = MAP_SHARED,
		.advice = MADV_NOHUGEPAGE },
	[MAPBUF_POPULATE] = { "mapbuf MAP_SHARED, MAP_POPULATE", map_touch,
		MAPBUF, .prot = RW, .flags = MAP_SHARED | MAP_POPULATE },
	[MAPBUF_PRIVATE] = { "mapbuf MAP_PRIVATE, reading", map_touch, MAPBUF,
		.prot = PROT_READ, .flags = MAP_PRIVATE },
	[SEEDS] = { "seeds: one remap_pfn_range() at mmap", map_touch,
		"/dev/seedmap", .prot = RW, .flags = MAP_SHARED,
		.max_size = 4 * MIB },
	/* 7.x aligns anonymous mappings of whole PMDs on a PMD. */
	[ANON_THP] = { "anonymous, MADV_HUGEPAGE", map_touch, .prot = RW,
		.flags = MAP_PRIVATE | MAP_ANONYMOUS, .advice = MADV_HUGEPAGE },
	[MEMFD] = { "memfd (shmem)", map_touch, .new_fd = memfd_new,
		.prot = RW, .flags = MAP_SHARED },
	[HEAP] = { "dma-buf system heap", map_touch, "/dev/dma_heap/system",
		heap_alloc, .prot = RW, .flags = MAP_SHARED },
	[UDMABUF] = { "udmabuf over a memfd", map_touch, "/dev/udmabuf",
		udmabuf_new, .prot = RW, .flags = MAP_SHARED },
	[READ] = { "read(2) of " MAPBUF, copy_read, MAPBUF },
	[WRITE] = { "write(2) to " MAPBUF, copy_write, MAPBUF },
	[MEMCPY] = { "memcpy()", copy_memcpy },
};

static struct sample {
	double ns, faults;
} samples[NR_CASES][NR_SIZES][RUNS];

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static double minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int measured(int c, int s)
{
	return !cases[c].max_size || sizes[s] <= cases[c].max_size;
}

static void measure(int c, int s, int dev, struct sample *out)
{
	double faults = minor_faults(), t = now_ns();

	cases[c].run(&cases[c], dev, sizes[s]);
	out->ns = now_ns() - t;
	out->faults = minor_faults() - faults;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of one case's runs, of the time or of the faults. */
static double median(int c, int s, int faults)
{
	double v[RUNS];
	int r;

	for (r = 0; r < RUNS; r++)
		v[r] = faults ? samples[c][s][r].faults : samples[c][s][r].ns;
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

/* Every run's figures, for the log. */
static void print_samples(void)
{
	int c, s, r;

	for (c = 0; c < NR_CASES; c++)
		for (s = 0; s < NR_SIZES; s++) {
			if (!measured(c, s))
				continue;
			fprintf(stderr, "mapbuf-bench: %s, %zu MiB: ns",
				cases[c].name, sizes[s] / MIB);
			for (r = 0; r < RUNS; r++)
				fprintf(stderr, " %.0f", samples[c][s][r].ns);
			fprintf(stderr, ", faults");
			for (r = 0; r < RUNS; r++)
				fprintf(stderr, " %.0f", samples[c][s][r].faults);
			fprintf(stderr, "\n");
		}
}

/* (slowest - fastest) / median of a case's runs, in percent. */
static double spread(int c, int s)
{
	double lo = samples[c][s][0].ns, hi = lo;
	int r;

	for (r = 1; r < RUNS; r++) {
		if (samples[c][s][r].ns < lo)
			lo = samples[c][s][r].ns;
		if (samples[c][s][r].ns > hi)
			hi = samples[c][s][r].ns;
	}
	return 100 * (hi - lo) / median(c, s, 0);
}

enum metric { US_PER_MIB, FAULTS_PER_MIB, GB_PER_S };

static double value(int c, int s, enum metric m)
{
	double mib = (double)sizes[s] / MIB;

	switch (m) {
	case US_PER_MIB:
		return median(c, s, 0) / 1e3 / mib;
	case FAULTS_PER_MIB:
		return median(c, s, 1) / mib;
	default:
		return sizes[s] / median(c, s, 0);	/* bytes per ns */
	}
}

/* Three significant digits, no exponent; "-" where nothing was measured. */
static const char *num(char *buf, int c, int s, enum metric m)
{
	double v;

	if (!measured(c, s))
		return "-";
	v = value(c, s, m);
	snprintf(buf, 16, "%.*f", v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3, v);
	return buf;
}

static double worst_spread(int c)
{
	double worst = 0;
	int s;

	for (s = 0; s < NR_SIZES; s++)
		if (measured(c, s) && spread(c, s) > worst)
			worst = spread(c, s);
	return worst;
}

static void print_tables(FILE *data)
{
	char a[16], b[16], d[16], e[16];
	int c;

	printf("| map + touch + unmap | 4 MiB: µs/MiB | faults/MiB | 1 GiB: µs/MiB | faults/MiB | spread |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	fprintf(data, "# case\t4 MiB: us/MiB\tfaults/MiB\t1 GiB: us/MiB\tfaults/MiB\n");
	for (c = 0; c < NR_MAP_CASES; c++) {
		printf("| %s | %s | %s | %s | %s | %.1f %% |\n", cases[c].name,
		       num(a, c, 0, US_PER_MIB), num(b, c, 0, FAULTS_PER_MIB),
		       num(d, c, 1, US_PER_MIB), num(e, c, 1, FAULTS_PER_MIB),
		       worst_spread(c));
		fprintf(data, "\"%s\"\t%s\t%s\t%s\t%s\n", cases[c].name,
			num(a, c, 0, US_PER_MIB), num(b, c, 0, FAULTS_PER_MIB),
			num(d, c, 1, US_PER_MIB), num(e, c, 1, FAULTS_PER_MIB));
	}
	printf("\n| copy, 1 MiB at a time | 4 MiB: GB/s | 1 GiB: GB/s | spread |\n");
	printf("| --- | ---: | ---: | ---: |\n");
	for (c = NR_MAP_CASES; c < NR_CASES; c++)
		printf("| %s | %s | %s | %.1f %% |\n", cases[c].name,
		       num(a, c, 0, GB_PER_S), num(b, c, 1, GB_PER_S),
		       worst_spread(c));
}

/**
 * struct target - one of the targets: a figure against a limit
 * @what: the target in words
 * @c: the case measured
 * @s: the size (index into sizes)
 * @m: the figure
 * @ref: the case whose figure, times @factor, is the limit; -1: @factor
 *	is the limit
 * @ref_s: the size of @ref
 * @at_least: the figure must be at least the limit, not at most
 */
struct target {
	const char *what;
	int c, s;
	enum metric m;
	int ref, ref_s;
	double factor;
	int at_least;
};

static const struct target targets[] = {
	{ "1 GiB mapbuf MAP_SHARED: at most a fault per 2 MiB (faults/MiB)",
	  MAPBUF_SHARED, 1, FAULTS_PER_MIB, .ref = -1, .factor = 0.5 },
	{ "1 GiB mapbuf MAP_SHARED: at most 1/10 of the seeds' at 4 MiB (µs/MiB)",
	  MAPBUF_SHARED, 1, US_PER_MIB, .ref = SEEDS, .ref_s = 0,
	  .factor = 0.1 },
	{ "1 GiB mapbuf MAP_SHARED: at most 1/20 of the system heap at 1 GiB (µs/MiB)",
	  MAPBUF_SHARED, 1, US_PER_MIB, .ref = HEAP, .ref_s = 1,
	  .factor = 0.05 },
	{ "read(2): at least 0.8x memcpy() (GB/s, 1 GiB)",
	  READ, 1, GB_PER_S, .ref = MEMCPY, .ref_s = 1, .factor = 0.8,
	  .at_least = 1 },
	{ "write(2): at least 0.8x memcpy() (GB/s, 1 GiB)",
	  WRITE, 1, GB_PER_S, .ref = MEMCPY, .ref_s = 1, .factor = 0.8,
	  .at_least = 1 },
};

static void print_targets(void)
{
	const struct target *t;
	double seen, limit;

	printf("\n| target (issue 8) | measured | limit | |\n");
	printf("| --- | ---: | ---: | --- |\n");
	for (t = targets; t < targets + ARRAY_SIZE(targets); t++) {
		seen = value(t->c, t->s, t->m);
		limit = t->factor;
		if (t->ref >= 0)
			limit *= value(t->ref, t->ref_s, t->m);
		printf("| %s | %.3g | %.3g | %s |\n", t->what, seen, limit,
		       (t->at_least ? seen >= limit : seen <= limit) ?
		       "met" : "missed");
	}
}

/* The THP setting the huge cases ran under: the word in brackets. */
static void print_thp(void)
{
	char line[128] = "", *mode, *end;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f || !fgets(line, sizeof(line), f))
		die("transparent_hugepage/enabled", "read");
	fclose(f);
	mode = strchr(line, '[');
	end = strchr(line, ']');
	if (mode && end > mode) {
		*end = '\0';
		mode++;
	} else {
		mode = line;
	}
	printf("\nMedians of %d runs; spread: (slowest - fastest) / median, the larger of the two sizes'. transparent_hugepage/enabled: %s.\n",
	       RUNS, mode);
}

int main(int argc, char **argv)
{
	int fds[NR_CASES], c, s, r;
	struct mapbuf_info info;
	FILE *data;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DATA\n", argv[0]);
		return 2;
	}
	data = fopen(argv[1], "w");
	if (!data)
		die(argv[1], "fopen");
	page_size = sysconf(_SC_PAGESIZE);
	for (r = 0; r < 2; r++) {
		chunk[r] = malloc(CHUNK);
		if (!chunk[r])
			die("malloc", "malloc");
		/* Faulted in before the clock (0 would make it calloc()). */
		memset(chunk[r], r + 1, CHUNK);
	}
	for (c = 0; c < NR_CASES; c++) {
		fds[c] = cases[c].dev ? open(cases[c].dev, O_RDWR | O_CLOEXEC) : -1;
		if (cases[c].dev && fds[c] < 0)
			die(cases[c].dev, "open");
	}
	if (ioctl(fds[MAPBUF_SHARED], MAPBUF_IOC_INFO, &info))
		die(MAPBUF, "MAPBUF_IOC_INFO");
	if (info.size < GIB) {
		fprintf(stderr, "mapbuf-bench: load mapbuf with size=%lu\n", GIB);
		return 1;
	}

	/*
	 * Round -1 warms up: the kernel's first uses of a path (slab caches
	 * growing, ...) are not what a case costs. Nothing is printed until
	 * the end: the serial console's interrupts would land in the runs.
	 */
	for (r = -1; r < RUNS; r++)
		for (c = 0; c < NR_CASES; c++)
			for (s = 0; s < NR_SIZES; s++)
				if (measured(c, s))
					measure(c, s, fds[c],
						&samples[c][s][r < 0 ? 0 : r]);

	print_samples();
	print_tables(data);
	print_targets();
	print_thp();
	return fclose(data) ? 1 : 0;
}
