// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stress test of /dev/mapbuf1: for a bounded time, threads and forked
 * processes map, unmap, remap, protect, read, write, fill, clear and
 * resize one buffer at once, and check as they go that
 *
 * - every error is one Documentation/userspace-api/mapbuf.rst allows for
 *   the operation (ENXIO for a mapping past the current end, EFAULT for
 *   mremap growth, ENOSPC for a write past it, EBUSY for a resize while
 *   mapped); nothing else fails;
 * - every byte read through read(2) or a shared mapping is one that some
 *   writer could have stored: 0 or one of the writers' values, never a
 *   private mapping's value, never stale memory;
 * - a private mapping's copied page keeps its contents whatever the
 *   writers do;
 * - a resize succeeds only when nothing is mapped: never while a mapping
 *   held across the call exists, never refused when nothing was mapped
 *   before, during and after the call, and always accepted once every
 *   mapper has stopped;
 * - every read(2) and write(2) count is the one a single buffer size would
 *   give: the call completes on the buffer it started with;
 * - every size reported (MAPBUF_IOC_INFO, SEEK_END) is one that was set;
 * - nr_mappings is 0 at the end.
 *
 * The device is resized back and cleared at the end. mapbuf_test uses
 * /dev/mapbuf0, so both can run at once.
 *
 * usage: mapbuf_stress [-t SECONDS]
 * The time defaults to $MAPBUF_STRESS_SECONDS, or 20 s.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/mapbuf.h>

#include "../kselftest.h"

#define DEVICE		"/dev/mapbuf1"
#define RW		(PROT_READ | PROT_WRITE)
#define NR_IO		2
#define NR_MAPPERS	2
#define MAX_IO		(64 * 1024)
#define PRIVATE_BYTE	0xee	/* only ever stored into private copies */
#define MAX_REPORTS	20

/* What the writers store: 0x11-0x1f, 0x21-0x2f, 0x31-0x3f; or 0. */
#define PWRITE_BASE	0x10
#define FILL_BASE	0x20
#define STORE_BASE	0x30

enum op {
	OP_MMAP, OP_MMAP_ENXIO, OP_MUNMAP, OP_MPROTECT, OP_MREMAP_SHRINK,
	OP_MREMAP_MOVE, OP_MREMAP_GROW, OP_COW, OP_PIN, OP_FORK, OP_READ,
	OP_WRITE, OP_FILL, OP_CLEAR, OP_INFO, OP_SEEK, OP_RESIZE,
	OP_RESIZE_EBUSY, OP_RESIZE_PINNED, OP_RESIZE_QUIET, NR_OPS
};

static const char * const op_names[NR_OPS] = {
	"mmap", "mmap_enxio", "munmap", "mprotect", "mremap_shrink",
	"mremap_move", "mremap_grow", "cow", "pin", "fork", "read", "write",
	"fill", "clear", "info", "seek", "resize", "resize_ebusy",
	"resize_pinned", "resize_quiet",
};

enum check {
	BAD_ERRNO, BAD_BYTE, BAD_COW, BAD_RESIZE, BAD_COUNT, BAD_SIZE,
	NR_CHECKS
};

static const char * const check_names[NR_CHECKS] = {
	"no unexpected result or errno",
	"every byte seen is one a writer stored",
	"private copies keep their contents",
	"resize succeeds exactly when nothing is mapped",
	"read and write counts fit one buffer size",
	"every size reported is one that was set",
};

/* State shared by the threads and the forked processes (MAP_SHARED). */
struct shared {
	atomic_int stop;
	/* The resizer wants nothing mapped; mappers stay away meanwhile. */
	atomic_int quiesce;
	/* Mappings that may exist: taken before mmap/fork, dropped after. */
	atomic_long inflight;
	/* How many times inflight was taken. */
	atomic_ulong taken;
	/* Odd while the pin thread's mapping certainly exists. */
	atomic_ulong pin_epoch;
	atomic_ulong ops[NR_OPS];
	atomic_ulong bad[NR_CHECKS];
	atomic_int reports;
};

static struct shared *sh;
static size_t page;
static size_t sizes[5];		/* every size the buffer may have */
static size_t min_size, max_size;
/* What resizes ask for; each rounds up to one of sizes[]. */
static __u64 requests[4];

struct rng {
	uint64_t s;
};

static uint32_t rnd(struct rng *r, uint32_t n)
{
	/* xorshift64*: good enough, and each thread has its own. */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 2685821657736338717ULL) >> 32) % n;
}

static void seed(struct rng *r, unsigned long salt)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	r->s = (ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ salt * 0x9e3779b9) | 1;
}

static void count(enum op op)
{
	atomic_fetch_add(&sh->ops[op], 1);
}

static __printf(2, 3) void bad(enum check check, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&sh->bad[check], 1);
	if (atomic_fetch_add(&sh->reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	printf("# pid %d: ", getpid());
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static bool stopping(void)
{
	return atomic_load(&sh->stop);
}

static void nap(unsigned int us)
{
	struct timespec ts = { .tv_nsec = us * 1000L };

	nanosleep(&ts, NULL);
}

static bool allowed(unsigned char b)
{
	return b == 0 || ((b & 0xf) && b >= PWRITE_BASE && b < STORE_BASE + 16);
}

/* Check bytes read from the buffer; report the first bad one. */
static void check_bytes(const unsigned char *p, size_t len, const char *how)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!allowed(p[i])) {
			bad(BAD_BYTE, "%s: byte %#x at %zu", how, p[i], i);
			return;
		}
	}
}

static bool known_size(__u64 size)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (size == sizes[i])
			return true;
	return false;
}

static int resize(int fd, __u64 size)
{
	struct mapbuf_resize arg = { .size = size };

	return ioctl(fd, MAPBUF_IOC_RESIZE, &arg);
}

static void check_info(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info)) {
		bad(BAD_ERRNO, "INFO: %s", strerror(errno));
		return;
	}
	count(OP_INFO);
	if (!known_size(info.size))
		bad(BAD_SIZE, "INFO: size %llu", (unsigned long long)info.size);
	/* Nothing here exports the buffer. */
	if (info.nr_exports)
		bad(BAD_ERRNO, "INFO: nr_exports %u", info.nr_exports);
}

/*
 * Take a mapping slot unless the resizer is waiting for quiet (or time is
 * up). Taking before looking keeps the resizer from missing us.
 */
static bool take_slot(void)
{
	atomic_fetch_add(&sh->inflight, 1);
	atomic_fetch_add(&sh->taken, 1);
	if (!atomic_load(&sh->quiesce) && !stopping())
		return true;
	atomic_fetch_sub(&sh->inflight, 1);
	return false;
}

static void drop_slot(void)
{
	atomic_fetch_sub(&sh->inflight, 1);
}

/* Wait while the resizer wants quiet; false when time is up. */
static bool wait_quiet(void)
{
	while (atomic_load(&sh->quiesce) && !stopping())
		nap(200);
	return !stopping();
}

/* Check a private copy: all PRIVATE_BYTE, whatever the writers did. */
static void check_cow(const unsigned char *p, const char *how)
{
	size_t i;

	for (i = 0; i < page; i++) {
		if (p[i] != PRIVATE_BYTE) {
			bad(BAD_COW, "%s: private copy shows %#x at %zu", how,
			    p[i], i);
			return;
		}
	}
}

/*
 * One mapping's life: map, use, split, protect, remap, unmap. Called
 * with a slot taken (or in a forked child, whose whole life is one).
 */
static void mapping_life(int fd, struct rng *r)
{
	size_t len = (1 + rnd(r, 4)) * page, left;
	bool wild = !rnd(r, 4), shared = rnd(r, 3);
	size_t window = wild ? max_size : min_size;
	off_t off = (off_t)rnd(r, (window - len) / page + 1) * page;
	unsigned char *p, *q, *to;
	size_t i;

	p = mmap(NULL, len, RW, shared ? MAP_SHARED : MAP_PRIVATE, fd, off);
	if (p == MAP_FAILED) {
		/* Past the end of the current buffer: a smaller size is set. */
		if (errno == ENXIO && off + len > min_size) {
			count(OP_MMAP_ENXIO);
			return;
		}
		bad(BAD_ERRNO, "mmap %zu at %lld: %s", len, (long long)off,
		    strerror(errno));
		return;
	}
	count(OP_MMAP);
	check_bytes(p, len, shared ? "shared mapping" : "private mapping");

	if (shared) {
		for (i = 0; i < len; i += 1 + rnd(r, 512))
			p[i] = STORE_BASE + 1 + rnd(r, 15);
	} else {
		/* Copy the last page, then watch the writers pass it by. */
		memset(p + len - page, PRIVATE_BYTE, page);
		for (i = 0; i < 3; i++) {
			sched_yield();
			check_cow(p + len - page, "private mapping");
		}
		count(OP_COW);
	}

	left = len;
	if (len > page && rnd(r, 2)) {
		q = mremap(p, len, len - page, 0);
		if (q != p) {
			bad(BAD_ERRNO, "mremap shrink: %s", strerror(errno));
		} else {
			left -= page;
			count(OP_MREMAP_SHRINK);
		}
	}
	if (rnd(r, 2)) {
		to = mmap(NULL, left, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
		q = to == MAP_FAILED ? MAP_FAILED :
		    mremap(p, left, left, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (q == MAP_FAILED) {
			bad(BAD_ERRNO, "mremap move: %s", strerror(errno));
		} else {
			p = q;
			count(OP_MREMAP_MOVE);
		}
	}
	/*
	 * Another protection on the first page splits the VMA (for good:
	 * mapbuf VMAs never merge), so mremap comes first.
	 */
	if (mprotect(p, page, PROT_READ) || mprotect(p, page, RW))
		bad(BAD_ERRNO, "mprotect: %s", strerror(errno));
	else
		count(OP_MPROTECT);

	/* The buffer has a fixed size: no mapping of it grows. */
	q = p + left - page;
	if (mremap(q, page, 2 * page, MREMAP_MAYMOVE) != MAP_FAILED ||
	    errno != EFAULT)
		bad(BAD_ERRNO, "mremap grow: %s", strerror(errno));
	else
		count(OP_MREMAP_GROW);

	if (!shared && left == len)
		check_cow(p + len - page, "private mapping at the end");
	else if (shared)
		check_bytes(p, left, "shared mapping after remap");

	/*
	 * A hole in the middle, then the two parts around it, never the hole
	 * again: another thread's mmap() may have landed there meanwhile.
	 */
	if (left >= 3 * page) {
		if (munmap(p + page, page))
			bad(BAD_ERRNO, "munmap hole: %s", strerror(errno));
		if (munmap(p + 2 * page, left - 2 * page))
			bad(BAD_ERRNO, "munmap tail: %s", strerror(errno));
		left = page;
	}
	if (munmap(p, left))
		bad(BAD_ERRNO, "munmap: %s", strerror(errno));
	else
		count(OP_MUNMAP);
}

static int open_device(void)
{
	int fd = open(DEVICE, O_RDWR);

	if (fd < 0)
		bad(BAD_ERRNO, "open %s: %s", DEVICE, strerror(errno));
	return fd;
}

static void *mapper(void *arg)
{
	int fd = open_device();
	struct rng r;

	seed(&r, (unsigned long)arg);
	while (fd >= 0 && wait_quiet()) {
		if (!take_slot())
			continue;
		mapping_life(fd, &r);
		drop_slot();
		if (rnd(&r, 4) == 0)
			nap(rnd(&r, 2000));
	}
	close(fd);
	return NULL;
}

/* Hold one shared mapping for a while, so the resizer meets it. */
static void *pinner(void *arg)
{
	int fd = open_device();
	unsigned char *p;
	struct rng r;
	int i;

	seed(&r, 100);
	while (fd >= 0 && wait_quiet()) {
		if (!take_slot())
			continue;
		p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			bad(BAD_ERRNO, "pin mmap: %s", strerror(errno));
			drop_slot();
			break;
		}
		atomic_fetch_add(&sh->pin_epoch, 1);
		for (i = rnd(&r, 20); i >= 0; i--) {
			check_bytes(p, page, "pinned mapping");
			nap(500);
		}
		atomic_fetch_add(&sh->pin_epoch, 1);
		if (munmap(p, page))
			bad(BAD_ERRNO, "pin munmap: %s", strerror(errno));
		count(OP_PIN);
		drop_slot();
		nap(rnd(&r, 3000));
	}
	close(fd);
	return NULL;
}

/* The results that one buffer size could give a read or write. */
static bool count_fits(ssize_t ret, off_t pos, size_t len, bool write)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		if ((size_t)pos >= sizes[i]) {
			if (write ? ret == -1 && errno == ENOSPC : ret == 0)
				return true;
		} else if ((size_t)ret == (len < sizes[i] - pos ?
					  len : sizes[i] - pos)) {
			return true;
		}
	}
	return false;
}

static void *io(void *arg)
{
	unsigned char *buf = malloc(MAX_IO);
	int fd = open_device();
	size_t len, i;
	struct rng r;
	ssize_t ret;
	off_t pos;

	seed(&r, 200 + (unsigned long)arg);
	while (buf && fd >= 0 && !stopping()) {
		pos = (off_t)rnd(&r, max_size / page + 2) * page -
		      rnd(&r, 64);
		pos = pos < 0 ? 0 : pos;
		len = rnd(&r, 4) ? 1 + rnd(&r, 3 * page) : 1 + rnd(&r, MAX_IO);
		if (rnd(&r, 2)) {
			ret = pread(fd, buf, len, pos);
			if (!count_fits(ret, pos, len, false))
				bad(ret < 0 ? BAD_ERRNO : BAD_COUNT,
				    "pread %zu at %lld: %zd (%s)", len,
				    (long long)pos, ret, strerror(errno));
			if (ret > 0)
				check_bytes(buf, ret, "read");
			count(OP_READ);
		} else {
			for (i = 0; i < len; i++)
				buf[i] = PWRITE_BASE + 1 + rnd(&r, 15);
			ret = pwrite(fd, buf, len, pos);
			if (!count_fits(ret, pos, len, true))
				bad(ret < 0 && errno != ENOSPC ? BAD_ERRNO :
				    BAD_COUNT, "pwrite %zu at %lld: %zd (%s)",
				    len, (long long)pos, ret, strerror(errno));
			count(OP_WRITE);
		}
		if (!rnd(&r, 16)) {
			pos = lseek(fd, 0, SEEK_END);
			if (pos < 0 || !known_size(pos))
				bad(pos < 0 ? BAD_ERRNO : BAD_SIZE,
				    "SEEK_END: %lld", (long long)pos);
			count(OP_SEEK);
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

static void *filler(void *arg)
{
	struct mapbuf_fill fill = { 0 };
	int fd = open_device();
	struct rng r;

	seed(&r, 300);
	while (fd >= 0 && !stopping()) {
		if (rnd(&r, 4)) {
			fill.value = FILL_BASE + 1 + rnd(&r, 15);
			if (ioctl(fd, MAPBUF_IOC_FILL, &fill))
				bad(BAD_ERRNO, "FILL: %s", strerror(errno));
			count(OP_FILL);
		} else {
			if (ioctl(fd, MAPBUF_IOC_CLEAR))
				bad(BAD_ERRNO, "CLEAR: %s", strerror(errno));
			count(OP_CLEAR);
		}
		check_info(fd);
		nap(rnd(&r, 1000));
	}
	close(fd);
	return NULL;
}

/* A forked child: mapping lives of its own until told to stop. */
static int child(unsigned long salt)
{
	int fd = open_device(), i;
	struct rng r;

	seed(&r, salt);
	for (i = 0; fd >= 0 && i < 50; i++) {
		if (atomic_load(&sh->quiesce) || stopping())
			break;
		mapping_life(fd, &r);
		check_info(fd);
	}
	fflush(stdout);
	return 0;
}

/* Fork children that map too; each child's life is one slot. */
static void *forker(void *arg)
{
	unsigned long n = 0;
	int status;
	pid_t pid;

	while (wait_quiet()) {
		if (!take_slot())
			continue;
		fflush(stdout);
		/* The child also gets copies of every mapping we have now. */
		pid = fork();
		if (pid == 0)
			_exit(child(400 + n));
		if (pid < 0) {
			bad(BAD_ERRNO, "fork: %s", strerror(errno));
		} else if (waitpid(pid, &status, 0) != pid ||
			   !WIFEXITED(status) || WEXITSTATUS(status)) {
			bad(BAD_ERRNO, "child %d ended with status %#x", pid,
			    status);
		}
		count(OP_FORK);
		drop_slot();
		n++;
		nap(1000 + n % 4000);
	}
	return NULL;
}

/* Wait until nothing is mapped; false if that takes too long. */
static bool quiet(void)
{
	int i;

	atomic_store(&sh->quiesce, 1);
	for (i = 0; i < 50000 && atomic_load(&sh->inflight); i++)
		nap(100);
	return !atomic_load(&sh->inflight);
}

/*
 * Resize at random (0 or EBUSY, and which one is checked against the
 * pinned mapping and the slots), and now and then after making every
 * mapper stop (must succeed).
 */
static void *resizer(void *arg)
{
	unsigned long epoch, taken, n = 0;
	int fd = open_device(), ret, err;
	long inflight;
	struct rng r;
	__u64 size;

	seed(&r, 500);
	while (fd >= 0 && !stopping()) {
		size = requests[rnd(&r, 4)];
		if (++n % 64 == 0) {
			if (!quiet()) {
				bad(BAD_RESIZE, "mappers did not stop");
			} else if (resize(fd, size)) {
				bad(BAD_RESIZE, "resize with nothing mapped: %s",
				    strerror(errno));
			} else {
				count(OP_RESIZE_QUIET);
			}
			atomic_store(&sh->quiesce, 0);
			check_info(fd);
			continue;
		}
		epoch = atomic_load(&sh->pin_epoch);
		inflight = atomic_load(&sh->inflight);
		taken = atomic_load(&sh->taken);
		ret = resize(fd, size);
		err = errno;
		if (ret && err != EBUSY) {
			bad(BAD_ERRNO, "resize: %s", strerror(err));
		} else if (!ret && epoch & 1 &&
			   epoch == atomic_load(&sh->pin_epoch)) {
			bad(BAD_RESIZE, "resize succeeded while mapped");
		} else if (ret && !inflight && !atomic_load(&sh->inflight) &&
			   taken == atomic_load(&sh->taken)) {
			bad(BAD_RESIZE, "EBUSY with nothing mapped");
		}
		if (epoch & 1 && epoch == atomic_load(&sh->pin_epoch))
			count(OP_RESIZE_PINNED);
		count(ret ? OP_RESIZE_EBUSY : OP_RESIZE);
		nap(rnd(&r, 2000));
	}
	close(fd);
	return NULL;
}

static unsigned int seconds(int argc, char **argv)
{
	const char *env = getenv("MAPBUF_STRESS_SECONDS");
	int opt, t = env ? atoi(env) : 20;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: %s [-t SECONDS]\n", argv[0]);
			exit(KSFT_FAIL);
		}
		t = atoi(optarg);
	}
	return t > 0 ? t : 20;
}

static void print_ops(void)
{
	char line[512];
	int i, n = 0;

	for (i = 0; i < NR_OPS; i++) {
		n += snprintf(line + n, sizeof(line) - n, " %s=%lu",
			      op_names[i], atomic_load(&sh->ops[i]));
		if (n > 60 || i == NR_OPS - 1) {
			ksft_print_msg("ops:%s\n", line);
			n = 0;
		}
	}
}

/*
 * Every kind of operation ran. A resize that succeeds between the mappers
 * by chance is not required: the quiet ones are.
 */
static bool all_ops_ran(void)
{
	bool all = true;
	int i;

	for (i = 0; i < NR_OPS; i++) {
		if (i != OP_RESIZE && !atomic_load(&sh->ops[i])) {
			ksft_print_msg("no %s happened\n", op_names[i]);
			all = false;
		}
	}
	return all;
}

int main(int argc, char **argv)
{
	void *(*kinds[])(void *) = { mapper, mapper, io, io, filler, pinner,
				     forker, resizer };
	pthread_t threads[ARRAY_SIZE(kinds)];
	unsigned int t = seconds(argc, argv), i;
	struct mapbuf_info info;
	int fd, nr;

	ksft_print_header();
	page = sysconf(_SC_PAGESIZE);
	fd = open(DEVICE, O_RDWR);
	if (fd < 0 && errno == ENOENT)
		ksft_exit_skip(DEVICE " is missing: load mapbuf with nr_devices=2\n");
	if (fd < 0 || ioctl(fd, MAPBUF_IOC_INFO, &info))
		ksft_exit_fail_msg("%s: %s\n", DEVICE, strerror(errno));
	if (info.nr_mappings)
		ksft_exit_fail_msg(DEVICE " is mapped already\n");

	sh = mmap(NULL, sizeof(*sh), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memset(sh, 0, sizeof(*sh));

	requests[0] = 3 * page + 1;
	requests[1] = 16 * page;
	requests[2] = 64 * page - 5;
	requests[3] = 256 * page;
	sizes[0] = 4 * page;
	sizes[1] = 16 * page;
	sizes[2] = 64 * page;
	sizes[3] = 256 * page;
	sizes[4] = info.size;
	min_size = sizes[0];
	max_size = info.size > sizes[3] ? info.size : sizes[3];

	ksft_set_plan(NR_CHECKS + 2);
	ksft_print_msg("%u s on %s, %llu bytes\n", t, DEVICE,
		       (unsigned long long)info.size);
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (pthread_create(&threads[i], NULL, kinds[i],
				   (void *)(unsigned long)i))
			ksft_exit_fail_msg("pthread_create failed\n");
	sleep(t);
	atomic_store(&sh->stop, 1);
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		pthread_join(threads[i], NULL);

	print_ops();
	for (i = 0; i < NR_CHECKS; i++)
		ksft_test_result(!atomic_load(&sh->bad[i]), "%s\n",
				 check_names[i]);
	nr = -1;
	if (!ioctl(fd, MAPBUF_IOC_INFO, &info))
		nr = info.nr_mappings;
	ksft_test_result(nr == 0, "nr_mappings back to 0 (%d)\n", nr);
	ksft_test_result(all_ops_ran(), "every kind of operation ran\n");

	/* Leave the device as the module made it. */
	if (resize(fd, sizes[4]) || ioctl(fd, MAPBUF_IOC_CLEAR))
		ksft_print_msg("cannot restore %s: %s\n", DEVICE,
			       strerror(errno));
	close(fd);
	ksft_finished();
}
