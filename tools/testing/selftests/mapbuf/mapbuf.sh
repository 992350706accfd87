#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Load mapbuf with what the tests need, run mapbuf_test, mapbuf_huge_test,
# mapbuf_dmabuf_test and mapbuf_stress as nested subtests, unload it, then
# check the load-time limits of its parameters.
#
# The module is $MAPBUF_MODULE if that is set (a .ko file, loaded with
# insmod), otherwise whatever "modprobe mapbuf" finds. A mapbuf that is
# already loaded is unloaded first, because the tests need their own
# parameters. Skips (exit 4) when not run as root, when the module does not
# exist, when mapbuf is built in and when a loaded mapbuf is in use.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

MODULE=mapbuf
# mapbuf_test, mapbuf_huge_test and mapbuf_dmabuf_test use /dev/mapbuf0,
# mapbuf_stress /dev/mapbuf1.
PARAMS="nr_devices=2 size=1048576"
NUM_TESTS=10

# The error messages of insmod and modprobe are matched below.
export LC_ALL=C

have_module() {
	if [ -n "$MAPBUF_MODULE" ]; then
		[ -f "$MAPBUF_MODULE" ]
	else
		modinfo "$MODULE" >/dev/null 2>&1
	fi
}

loaded() {
	[ -d /sys/module/"$MODULE" ]
}

# A built-in module has a /sys/module directory but no initstate.
built_in() {
	loaded && [ ! -e /sys/module/"$MODULE"/initstate ]
}

load() {
	if [ -n "$MAPBUF_MODULE" ]; then
		insmod "$MAPBUF_MODULE" "$@"
	else
		modprobe "$MODULE" "$@"
	fi
}

unload() {
	rmmod "$MODULE"
}

# Run a test program as a nested subtest: its output, indented with "# ",
# then one result line for it carrying its exit code.
run_nested() {
	{ rc=$( { { "$DIR/$1" 2>&1 3>&- 4>&-; echo $? >&3; } |
		  sed 's/^/# /' >&4; } 3>&1 ); } 4>&1

	case $rc in
	"$KSFT_PASS")	ktap_test_pass "$1" ;;
	"$KSFT_SKIP")	ktap_test_skip "$1" ;;
	*)		ktap_test_fail "$1" ;;
	esac
}

# Every file and mapping the programs made went away with them, so
# nothing holds the module any more: it unloads.
check_unload_unused() {
	if ! unload; then
		ktap_print_msg "rmmod $MODULE failed with nothing open or mapped"
		ktap_test_fail unload_unused
	elif loaded; then
		ktap_print_msg "$MODULE is still loaded after rmmod"
		ktap_test_fail unload_unused
	else
		ktap_test_pass unload_unused
	fi
}

# 64 devices is the most mapbuf accepts; size=1 is rounded up to a page.
check_load_64_devices() {
	if ! load nr_devices=64 size=1; then
		ktap_test_fail load_nr_devices_64
		return
	fi
	if [ -e /sys/class/misc/mapbuf63 ] &&
	   [ ! -e /sys/class/misc/mapbuf64 ] && unload; then
		ktap_test_pass load_nr_devices_64
	else
		ktap_print_msg "not mapbuf0 to mapbuf63 in /sys/class/misc, or no unload"
		unload 2>/dev/null
		ktap_test_fail load_nr_devices_64
	fi
}

# A parameter out of range makes the load fail with EINVAL and leaves no
# module behind. insmod and modprobe report EINVAL as "Invalid argument"
# (kmod's insmod as "Invalid parameters"); an unknown parameter (ENOENT)
# or no memory (ENOMEM) reads otherwise.
check_load_einval() {
	name=$1
	shift

	if msg=$(load "$@" 2>&1); then
		ktap_print_msg "$name: $* was accepted"
		unload
		ktap_test_fail "$name"
		return
	fi
	case $msg in
	*[Ii]nvalid*)
		;;
	*)
		ktap_print_msg "$name: not EINVAL: $msg"
		ktap_test_fail "$name"
		return
		;;
	esac
	if loaded; then
		ktap_print_msg "$name: $MODULE is loaded after the failed load"
		unload
		ktap_test_fail "$name"
		return
	fi
	ktap_test_pass "$name"
}

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if built_in; then
	ktap_skip_all "$MODULE is built in: build it as a module (CONFIG_MAPBUF=m)"
	exit "$KSFT_SKIP"
fi
if ! have_module; then
	if [ -n "$MAPBUF_MODULE" ]; then
		ktap_skip_all "MAPBUF_MODULE=$MAPBUF_MODULE does not exist"
	else
		ktap_skip_all "no $MODULE module: build it with CONFIG_MAPBUF=m"
	fi
	exit "$KSFT_SKIP"
fi
if loaded && ! unload; then
	ktap_skip_all "$MODULE is loaded and in use: cannot reload it"
	exit "$KSFT_SKIP"
fi

ktap_set_plan "$NUM_TESTS"

# shellcheck disable=SC2086 # PARAMS is a list of parameters
if ! msg=$(load $PARAMS 2>&1); then
	ktap_exit_fail_msg "cannot load $MODULE $PARAMS: $msg"
fi

run_nested mapbuf_test
run_nested mapbuf_huge_test
run_nested mapbuf_dmabuf_test
run_nested mapbuf_stress
check_unload_unused
check_load_64_devices
check_load_einval load_nr_devices_0_einval nr_devices=0
check_load_einval load_nr_devices_65_einval nr_devices=65
check_load_einval load_size_0_einval size=0
check_load_einval load_size_above_1g_einval size=1073741825

ktap_finished
