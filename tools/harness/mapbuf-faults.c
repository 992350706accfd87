// SPDX-License-Identifier: GPL-2.0-only
/*
 * Systematic fault injection into mapbuf: for n = 1, 2, ... make the n-th
 * fault site (slab or page allocation, sleeping ones included) of one
 * system call fail through /proc/thread-self/fail-nth, until the call has
 * fewer than n sites, and check that every run ends cleanly:
 *
 *   mapbuf-faults MODULE PARAMS DEVICE
 *
 * 1. finit_module(MODULE, PARAMS) either fails with ENOMEM and leaves
 *    nothing loaded, or succeeds (the failed allocation had a fallback)
 *    with DEVICE zeroed; the last run, with no fault left to inject, leaves
 *    the module loaded.
 * 2. MAPBUF_IOC_RESIZE of DEVICE, filled with a pattern, to RESIZE_TO
 *    bytes either fails with ENOMEM and leaves the old size and pattern,
 *    or succeeds with the new size, zeroed.
 * 3. MAPBUF_IOC_EXPORT of DEVICE, filled with a pattern, either fails with
 *    ENOMEM, leaving nr_exports at 0 and no new file descriptor, or
 *    succeeds with a dma-buf whose mapping shows the pattern; closing it
 *    brings nr_exports back to 0.
 * 4. page_owner counts as many pages taken by mapbuf as its buffers hold,
 *    then the module unloads, and no page that it took outlives it.
 *    kmemleak, which the harness asks next, does not track pages.
 *
 * The output is TAP on stdout; the exit status is 1 if any case failed.
 * Needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_DEBUG_FS and PAGE_OWNER (booted with page_owner=on), with
 * debugfs on /sys/kernel/debug.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mapbuf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MODULE_NAME	"mapbuf"
#define RESIZE_TO	(3 * 1024 * 1024 + 1)
/* Far more than any of the calls has fault sites: a bound, not a budget. */
#define MAX_FAULTS	2000

static unsigned int tests, failures;
static int fail_nth;

/* Print one TAP result line; returns @ok. */
static bool result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", ok ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures += !ok;
	return ok;
}

/* Without a plan line, the harness counts the run as failed. */
static void die(const char *what)
{
	result(false, "%s: %s", what, strerror(errno));
	printf("Bail out!\n");
	exit(1);
}

static void debugfs_set(const char *file, const char *value)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		die(path);
	close(fd);
}

/*
 * fail-nth only counts the sites that the capabilities' own filters let
 * through: let them through for GFP_KERNEL and order 0 too, and keep
 * injected faults quiet (verbose 2 dumps a stack per fault).
 */
static void setup_fault_injection(void)
{
	debugfs_set("failslab/ignore-gfp-wait", "N");
	debugfs_set("failslab/verbose", "0");
	debugfs_set("fail_page_alloc/ignore-gfp-wait", "N");
	debugfs_set("fail_page_alloc/min-order", "0");
	debugfs_set("fail_page_alloc/verbose", "0");
	fail_nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_nth < 0)
		die("/proc/thread-self/fail-nth");
}

/* Make the @n-th fault site of this thread's next system calls fail. */
static void arm(unsigned int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%u", n);

	if (pwrite(fail_nth, s, len, 0) != len)
		die("fail-nth");
}

/* Disarm; true if the armed fault was injected (fail-nth reads 0). */
static bool disarm(void)
{
	char s[16] = "";

	if (pread(fail_nth, s, sizeof(s) - 1, 0) <= 0 ||
	    pwrite(fail_nth, "0", 1, 0) != 1)
		die("fail-nth");
	return atoi(s) == 0;
}

static bool module_loaded(void)
{
	return access("/sys/module/" MODULE_NAME, F_OK) == 0;
}

static bool unload(void)
{
	return !syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) &&
	       !module_loaded();
}

/* Byte @i of the pattern for run @n; all zeros for n == 0. */
static unsigned char pattern(size_t i, unsigned int n)
{
	return n ? (i + n) % 251 + 1 : 0;
}

static size_t buf_size(int fd)
{
	struct mapbuf_info info;

	return ioctl(fd, MAPBUF_IOC_INFO, &info) ? 0 : info.size;
}

/* The number of dma-bufs of the buffer of @fd, or -1. */
static int nr_exports(int fd)
{
	struct mapbuf_info info;

	return ioctl(fd, MAPBUF_IOC_INFO, &info) ? -1 : (int)info.nr_exports;
}

/* Fill the buffer of @fd, @size bytes, with the pattern for run @n. */
static bool fill(int fd, size_t size, unsigned int n)
{
	unsigned char *p = malloc(size);
	bool ok;
	size_t i;

	if (!p)
		die("malloc");
	for (i = 0; i < size; i++)
		p[i] = pattern(i, n);
	ok = pwrite(fd, p, size, 0) == (ssize_t)size;
	free(p);
	return ok;
}

/* Does the buffer of @fd have @size bytes of the pattern for run @n? */
static bool holds(int fd, size_t size, unsigned int n)
{
	unsigned char *p = malloc(size + 1);
	bool ok;
	size_t i;

	if (!p)
		die("malloc");
	/* One byte more than expected: read() must stop at the end. */
	ok = buf_size(fd) == size && pread(fd, p, size + 1, 0) == (ssize_t)size;
	for (i = 0; ok && i < size; i++)
		ok = p[i] == pattern(i, n);
	free(p);
	return ok;
}

/* A freshly loaded module's device: some size, all zeros. */
static bool dev_zeroed(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = buf_size(fd) && holds(fd, buf_size(fd), 0);
	close(fd);
	return ok;
}

/* TAP diagnostics after a failed case. */
static void diag(const char *call, int ret, int err)
{
	printf("# %s returned %d (%s), " MODULE_NAME " %sloaded\n", call, ret,
	       ret ? strerror(err) : "success", module_loaded() ? "" : "not ");
}

/*
 * A frame of the page allocator, in a page_owner stack: 6.12's
 * alloc_pages() path, and 7.x's, which allocates frozen pages first.
 */
static bool page_allocator(const char *frame)
{
	return strstr(frame, "post_alloc_hook") ||
	       strstr(frame, "prep_new_page") ||
	       strstr(frame, "get_page_from_freelist") ||
	       strstr(frame, "alloc_frozen_pages") ||
	       strstr(frame, "alloc_pages");
}

/*
 * The pages that mapbuf took from the page allocator and that are still
 * allocated: those whose page_owner stack leaves the allocator for mapbuf
 * ("[mapbuf]"), or, once it is unloaded, for code of no module (a bare
 * address: mapbuf is the only module this VM loads).
 */
static long mapbuf_pages(void)
{
	FILE *f = fopen("/sys/kernel/debug/page_owner_stacks/show_stacks", "r");
	bool caller_seen = false, ours = false;
	char frame[256];
	long n, pages = 0;

	if (!f)
		die("page_owner_stacks/show_stacks");
	while (fgets(frame, sizeof(frame), f)) {
		if (sscanf(frame, "nr_base_pages: %ld", &n) == 1) {
			pages += ours ? n : 0;
			caller_seen = false;
			ours = false;
		} else if (frame[0] == ' ' && !caller_seen &&
			   !page_allocator(frame)) {
			caller_seen = true;
			ours = strstr(frame, " [" MODULE_NAME "]") ||
			       !strncmp(frame, " 0x", 3);
		}
	}
	fclose(f);
	return pages;
}

/* The pages in the buffers of all devices. */
static long buffer_pages(void)
{
	long pages = 0;
	char path[32];
	int i, fd;

	for (i = 0; ; i++) {
		snprintf(path, sizeof(path), "/dev/" MODULE_NAME "%d", i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return pages;
		pages += buf_size(fd) / sysconf(_SC_PAGESIZE);
		close(fd);
	}
}

/* Load the module with fault n, n = 1, 2, ...; leave it loaded. */
static bool load_faults(const char *path, const char *params, const char *dev)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool injected, ok;
	unsigned int n;
	int ret, err;

	if (fd < 0)
		die(path);
	if (module_loaded())
		return result(false, "insmod: " MODULE_NAME " is already loaded");

	for (n = 1; n <= MAX_FAULTS; n++) {
		arm(n);
		ret = syscall(SYS_finit_module, fd, params, 0);
		err = errno;
		injected = disarm();
		if (!injected)
			break;

		if (ret)
			ok = result(err == ENOMEM && !module_loaded(),
				    "insmod, fault %u: ENOMEM, nothing loaded",
				    n);
		else	/* The allocation that failed had a fallback. */
			ok = result(dev_zeroed(dev) && unload(),
				    "insmod, fault %u: loaded anyway, zeroed, unloaded",
				    n);
		if (!ok) {
			diag("finit_module", ret, err);
			return false;
		}
	}
	close(fd);
	if (n > MAX_FAULTS)
		return result(false, "insmod: still injecting after %u faults",
			      MAX_FAULTS);

	/* The load must have at least one fault site. */
	ok = result(n > 1 && !ret && dev_zeroed(dev),
		    "insmod with no fault left (%u sites): loaded, zeroed",
		    n - 1);
	if (!ok)
		diag("finit_module", ret, err);
	return ok;
}

/* Resize the device with fault n, n = 1, 2, ... */
static bool resize_faults(const char *dev)
{
	long page = sysconf(_SC_PAGESIZE);
	struct mapbuf_resize old = {}, new = { .size = RESIZE_TO };
	size_t new_size = (RESIZE_TO + page - 1) / page * page;
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	bool injected, ok;
	unsigned int n;
	int ret, err;

	if (fd < 0)
		die(dev);
	old.size = buf_size(fd);

	for (n = 1; n <= MAX_FAULTS; n++) {
		if (!fill(fd, old.size, n))
			die("filling the buffer");
		arm(n);
		ret = ioctl(fd, MAPBUF_IOC_RESIZE, &new);
		err = errno;
		injected = disarm();
		if (!injected)
			break;

		if (ret)
			ok = result(err == ENOMEM && holds(fd, old.size, n),
				    "resize, fault %u: ENOMEM, old buffer intact",
				    n);
		else	/* The allocation that failed had a fallback. */
			ok = result(holds(fd, new_size, 0) &&
				    !ioctl(fd, MAPBUF_IOC_RESIZE, &old),
				    "resize, fault %u: resized anyway, zeroed", n);
		if (!ok) {
			diag("MAPBUF_IOC_RESIZE", ret, err);
			return false;
		}
	}
	if (n > MAX_FAULTS)
		return result(false, "resize: still injecting after %u faults",
			      MAX_FAULTS);

	/* The resize must have at least one fault site. */
	ok = result(n > 1 && !ret && holds(fd, new_size, 0),
		    "resize with no fault left (%u sites): resized, zeroed",
		    n - 1);
	if (!ok)
		diag("MAPBUF_IOC_RESIZE", ret, err);
	close(fd);
	return ok;
}

/* The lowest free file descriptor: the one a new file would get. */
static int next_fd(void)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("open /");
	close(fd);
	return fd;
}

/* Does a shared mapping of dma-buf @dmabuf show the pattern for run @n? */
static bool dmabuf_holds(int dmabuf, size_t size, unsigned int n)
{
	unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, dmabuf, 0);
	bool ok = p != MAP_FAILED;
	size_t i;

	for (i = 0; ok && i < size; i++)
		ok = p[i] == pattern(i, n);
	if (p != MAP_FAILED)
		munmap(p, size);
	return ok;
}

/* Export the buffer of the device as a dma-buf with fault n, n = 1, 2, ... */
static bool export_faults(const char *dev)
{
	struct mapbuf_export exp = { .flags = O_RDWR | O_CLOEXEC };
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	bool injected, ok;
	unsigned int n;
	int ret, err, next;
	size_t size;

	if (fd < 0)
		die(dev);
	size = buf_size(fd);
	next = next_fd();

	for (n = 1; n <= MAX_FAULTS; n++) {
		if (!fill(fd, size, n))
			die("filling the buffer");
		exp.fd = -1;
		arm(n);
		ret = ioctl(fd, MAPBUF_IOC_EXPORT, &exp);
		err = errno;
		injected = disarm();
		if (!injected)
			break;

		if (ret)
			ok = result(err == ENOMEM && !nr_exports(fd) &&
				    next_fd() == next,
				    "export, fault %u: ENOMEM, no dma-buf, no fd",
				    n);
		else	/* The allocation that failed had a fallback. */
			ok = result(dmabuf_holds(exp.fd, size, n) &&
				    !close(exp.fd) && !nr_exports(fd),
				    "export, fault %u: exported anyway, mapped, released",
				    n);
		if (!ok) {
			diag("MAPBUF_IOC_EXPORT", ret, err);
			return false;
		}
	}
	if (n > MAX_FAULTS)
		return result(false, "export: still injecting after %u faults",
			      MAX_FAULTS);

	/* The export must have at least one fault site. */
	ok = result(n > 1 && !ret && dmabuf_holds(exp.fd, size, n) &&
		    !close(exp.fd) && !nr_exports(fd),
		    "export with no fault left (%u sites): mapped, released",
		    n - 1);
	if (!ok)
		diag("MAPBUF_IOC_EXPORT", ret, err);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s MODULE PARAMS DEVICE\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	setup_fault_injection();
	if (load_faults(argv[1], argv[2], argv[3]) && resize_faults(argv[3]) &&
	    export_faults(argv[3])) {
		long held = mapbuf_pages(), pages = buffer_pages();

		result(held == pages,
		       "page_owner: " MODULE_NAME " holds %ld pages, its buffers %ld",
		       held, pages);
		if (result(unload(), "rmmod " MODULE_NAME))
			result(!mapbuf_pages(),
			       "page_owner: no page of " MODULE_NAME " outlives it");
	}
	printf("1..%u\n", tests);
	return failures ? 1 : 0;
}
