// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of /dev/mapbuf0 against Documentation/userspace-api/mapbuf.rst:
 *
 * - MAP_SHARED and MAP_PRIVATE mappings (fixture "mapping", one variant
 *   each): what a store, a write(2), MAPBUF_IOC_FILL and a fork(2) show to
 *   the other views of the buffer, /proc/self/maps, mremap(2), mprotect(2),
 *   every madvise(2) advice, the mapping as the user buffer of read(2),
 *   write(2) and the ioctls, MAPBUF_IOC_RESIZE and module unload refused
 *   while mapped, the nr_mappings count, and PROT_READ under the
 *   READ_IMPLIES_EXEC personality;
 * - fixture "mapbuf": copy-on-write details of private mappings, every
 *   mmap(2) and mprotect(2) error, read-only and write-only files,
 *   MAP_POPULATE, mlock(2), MAP_FIXED, splits, closing the file while
 *   mapped, read(2), write(2), lseek(2), the ioctls, resizing and module
 *   unload refused while the device is open;
 * - fixture "mmap_order": which of two rules mmap(2) applies first, one
 *   variant per pair.
 *
 * Every test starts from a cleared buffer of the size the module was
 * loaded with; mapbuf.sh loads and unloads the module around this
 * program. The harness runs each test in a process of its own, so
 * mappings and files are left for exit to clean up. The device is opened
 * read-write; the tests skip when it is missing.
 *
 * The tests build for 32-bit programs as well (with a 64-bit off_t). Where
 * the two ABIs give different results, the test expects the one that the
 * ABI it was built for gives, and says why.
 */
#define _GNU_SOURCE
/* 64-bit file offsets for 32-bit programs too. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/mapbuf.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

/* Older C libraries lack the newer advice values. */
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif

#define SZ_1G	(1024ULL * 1024 * 1024)

/* A 64-bit program; otherwise a 32-bit one (on a 64-bit kernel). */
#define LP64	(sizeof(long) == 8)

/* mremap(2), as an address for the harness to compare. */
static uintptr_t remap(void *old, size_t old_len, size_t new_len, int flags,
		       void *to)
{
	return ADDR(mremap(old, old_len, new_len, flags, to));
}

/* Two anonymous pages, the second one inaccessible; NULL on failure. */
static unsigned char *half_bad(void)
{
	unsigned char *p = map(-1, 2 * page, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0);

	if (p == MAP_FAILED || mprotect(p + page, page, PROT_NONE))
		return NULL;
	return p;
}

/* A byte pattern that does not repeat at any power-of-two distance. */
static void pattern(unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = i % 251 + 1;
}

static int fill_buffer(int fd, unsigned char value)
{
	struct mapbuf_fill fill = { .value = value };

	return ioctl(fd, MAPBUF_IOC_FILL, &fill);
}

/*
 * read(2) and write(2) with any count: the C library declares that they
 * access count bytes, and the compiler objects to counts past the buffer.
 */
static long sys_read(int fd, void *buf, size_t count)
{
	return syscall(__NR_read, fd, buf, count);
}

static long sys_write(int fd, const void *buf, size_t count)
{
	return syscall(__NR_write, fd, buf, count);
}

/* The byte at off as read by pread(2), or -1. */
static int byte_at(int fd, off_t off)
{
	unsigned char c;

	if (pread(fd, &c, 1, off) != 1)
		return -1;
	return c;
}

static ssize_t put_byte(int fd, off_t off, unsigned char c)
{
	return pwrite(fd, &c, 1, off);
}

/* Whether pread(2) sees every byte of the buffer as c. */
static bool buffer_is(int fd, size_t size, unsigned char c)
{
	unsigned char *buf = malloc(page);
	bool same = true;
	size_t off, i;

	if (!buf)
		return false;
	for (off = 0; same && off < size; off += page) {
		same = pread(fd, buf, page, off) == (ssize_t)page;
		for (i = 0; same && i < page; i++)
			same = buf[i] == c;
	}
	free(buf);
	return same;
}

/* Whether every byte of [p, p + len) is c. */
static bool memory_is(const unsigned char *p, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/* Whether a new mapping of the whole buffer shows every byte as c. */
static bool mapping_is(int fd, size_t size, unsigned char c)
{
	unsigned char *p = map(fd, size, PROT_READ, MAP_SHARED, 0);
	bool same;

	if (p == MAP_FAILED)
		return false;
	same = memory_is(p, size, c);
	munmap(p, size);
	return same;
}

/* The number of VMAs of this process that map DEVICE, or -1. */
static int maps_count(void)
{
	char line[512], path[256];
	int n = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %*s %255s", path) == 1 &&
		    !strcmp(path, DEVICE))
			n++;
	fclose(f);
	return n;
}

/* Run fn(arg) in a child that exits with its result; return the status. */
static int run_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* A child killed on purpose should not dump core. */
		prctl(PR_SET_DUMPABLE, 0);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static int child_store(void *p)
{
	*(unsigned char *)p = 'c';
	return 0;
}

static int child_load(void *p)
{
	return *(unsigned char *)p;
}

static int child_nr_mappings(void *fd)
{
	return nr_mappings(*(int *)fd);
}

/* A child that keeps its copies of our mappings until release(). */
struct holder {
	pid_t pid;
	int pipe;
};

static int hold(struct holder *h)
{
	int fds[2];
	char c;

	if (pipe(fds))
		return -1;
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		close(fds[1]);
		/* Returns at end of file: when the parent closes its end. */
		while (read(fds[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(fds[0]);
	h->pipe = fds[1];
	return 0;
}

/* Let the holder exit, and wait until its mappings are gone. */
static int release(struct holder *h)
{
	int status;

	close(h->pipe);
	if (waitpid(h->pid, &status, 0) != h->pid)
		return -1;
	return status;
}

/* Copy the line of /proc/self/maps for the mapping that starts at addr. */
static bool maps_line(const void *addr, char *line, int len)
{
	unsigned long start;
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return false;
	while (!found && fgets(line, len, f))
		found = sscanf(line, "%lx-", &start) == 1 &&
			start == (unsigned long)addr;
	fclose(f);
	return found;
}

/* VmLck of /proc/self/status in kB, or -1. */
static long locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (kb < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) != 1)
			kb = -1;
	fclose(f);
	return kb;
}

/* Whether the file system that holds DEVICE is mounted noexec. */
static bool device_noexec(void)
{
	struct statvfs st;

	return !statvfs(DEVICE, &st) && (st.f_flag & ST_NOEXEC);
}

/* Let PROT_READ imply PROT_EXEC in this process from now on. */
static int read_implies_exec(void)
{
	int persona = personality(0xffffffff);

	if (persona < 0)
		return -1;
	return personality(persona | READ_IMPLIES_EXEC) < 0 ? -1 : 0;
}

/* The permissions of the mapping at addr in /proc/self/maps, or "". */
static const char *maps_perms(const void *addr, char perms[5])
{
	char line[512];

	if (!maps_line(addr, line, sizeof(line)) ||
	    sscanf(line, "%*x-%*x %4s", perms) != 1)
		perms[0] = '\0';
	return perms;
}

/* Whether the kernel has a feature, judged by its sysfs directory. */
static bool have(const char *path)
{
	return !access(path, F_OK);
}

/* MAP_SHARED and MAP_PRIVATE mappings, made by the tests themselves. */
FIXTURE(mapping) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(mapping) {
	int flags;
	const char *perms;
};

FIXTURE_VARIANT_ADD(mapping, shared) {
	.flags = MAP_SHARED,
	.perms = "rw-s",
};

FIXTURE_VARIANT_ADD(mapping, private) {
	.flags = MAP_PRIVATE,
	.perms = "rw-p",
};

FIXTURE_SETUP(mapping)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(mapping)
{
	close(self->fd);
}

TEST_F(mapping, store_vs_pread)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[5] = 'x';
	/* A shared mapping is the buffer; a private store stays in a copy. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, byte_at(self->fd, 5));
}

TEST_F(mapping, store_vs_shared_mapping)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	unsigned char *q = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(q);
	p[5] = 'x';
	/* A second shared mapping of the same file sees the buffer only. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, q[5]);
}

TEST_F(mapping, store_vs_second_open)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int fd = open(DEVICE, O_RDWR);
	unsigned char *q;

	ASSERT_MAPPED(p);
	ASSERT_LE(0, fd);
	q = map(fd, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(q);
	p[5] = 'x';
	/* Every open file of the device reaches the same buffer. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, q[5]);
}

TEST_F(mapping, fork_child_store)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int status;

	ASSERT_MAPPED(p);
	status = run_child(child_store, p);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* fork(2) keeps shared mappings shared, private ones copy-on-write. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'c' : 0, p[0]);
}

TEST_F(mapping, write_seen_through_mapping)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, p[7]);
	ASSERT_EQ(1, put_byte(self->fd, 7, 'w'));
	/* The page was never stored to, so even a private mapping follows. */
	ASSERT_EQ('w', p[7]);
}

TEST_F(mapping, fill_seen_through_mapping)
{
	unsigned char *p = map(self->fd, self->size, RW, variant->flags, 0);
	size_t i;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, p[0]);
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	/* No page was stored to, so every page shows the filled buffer. */
	for (i = 0; i < self->size; i++)
		ASSERT_EQ(0xa5, p[i]);
}

TEST_F(mapping, offset_shows_buffer_at_offset)
{
	unsigned char *p;

	ASSERT_EQ(1, put_byte(self->fd, 2 * page, 'o'));
	ASSERT_EQ(1, put_byte(self->fd, 3 * page - 1, 'q'));
	p = map(self->fd, page, RW, variant->flags, 2 * page);
	ASSERT_MAPPED(p);
	/* The mmap offset is a byte offset into the buffer. */
	ASSERT_EQ('o', p[0]);
	ASSERT_EQ('q', p[page - 1]);
}

TEST_F(mapping, proc_maps_line)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	char line[512], perms[5];
	int fields;

	ASSERT_MAPPED(p);
	ASSERT_TRUE(maps_line(p, line, sizeof(line)));
	fields = sscanf(line, "%*x-%*x %4s", perms);
	ASSERT_EQ(1, fields);
	/* The mapping is named after the device, with s or p for its type. */
	ASSERT_STREQ(variant->perms, perms);
	ASSERT_NE(0, ADDR(strstr(line, DEVICE)));
}

TEST_F(mapping, store_past_end_sigsegv)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	int status;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, munmap(p + page, page));
	status = run_child(child_store, p + page);
	/* The address is no longer mapped at all. */
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
}

TEST_F(mapping, store_read_only_sigsegv)
{
	unsigned char *p = map(self->fd, page, PROT_READ, variant->flags, 0);
	int status;

	ASSERT_MAPPED(p);
	status = run_child(child_store, p);
	/* The mapping is there, but not for writing. */
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
	ASSERT_EQ(0, byte_at(self->fd, 0));
}

TEST_F(mapping, range_past_end_enxio)
{
	/* The last page of the range lies past the end of the buffer. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, 2 * page, RW, variant->flags,
				   self->size - page));
}

TEST_F(mapping, prot_exec_eperm)
{
	/* The buffer is data, never code. */
	ASSERT_EQ(EPERM, map_errno(self->fd, page, PROT_READ | PROT_EXEC,
				   variant->flags, 0));
}

TEST_F(mapping, read_implies_exec_eperm)
{
	if (device_noexec())
		SKIP(return, "/dev is mounted noexec: no PROT_EXEC is added");
	/* Each test runs in a process of its own: only it is affected. */
	ASSERT_EQ(0, read_implies_exec());
	/*
	 * do_mmap() turns PROT_READ into PROT_READ | PROT_EXEC, and mapbuf
	 * cannot tell that from a PROT_EXEC asked for: refused.
	 */
	ASSERT_EQ(EPERM, map_errno(self->fd, page, PROT_READ, variant->flags,
				   0));
}

TEST_F(mapping, read_implies_exec_noexec_mount)
{
	unsigned char *p;
	char perms[5];
	int fd, ret;

	/*
	 * /dev bound onto itself and made noexec, in a mount namespace of
	 * this test's own: the rest of the system sees no change. (A second
	 * devtmpfs mount on /dev would be refused with EBUSY: same file
	 * system, same place.)
	 */
	ret = unshare(CLONE_NEWNS);
	if (ret && errno == EPERM)
		SKIP(return, "a mount namespace needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("/dev", "/dev", NULL, MS_BIND, NULL));
	ASSERT_EQ(0, mount(NULL, "/dev", NULL,
			   MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL));
	ASSERT_TRUE(device_noexec());
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, read_implies_exec());
	/*
	 * do_mmap() adds no PROT_EXEC for a file on a noexec mount, so
	 * mapbuf maps it, and the mapping is not executable.
	 */
	p = map(fd, page, PROT_READ, variant->flags, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ('-', maps_perms(p, perms)[2]);
	ASSERT_EQ(0, close(fd));
}

TEST_F(mapping, mprotect_exec_eacces)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* A mapping that may never execute cannot be made executable. */
	ASSERT_EQ(-1, mprotect(p, page, PROT_READ | PROT_EXEC));
	ASSERT_EQ(EACCES, errno);
}

TEST_F(mapping, mremap_grow_efault)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* The buffer has a fixed size, so its mappings cannot grow. */
	ASSERT_EQ(ADDR(MAP_FAILED),
		  remap(p, 2 * page, 3 * page, MREMAP_MAYMOVE, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapping, mremap_grow_in_place_efault)
{
	unsigned char *hole = reserve(3 * page);
	unsigned char *p;

	ASSERT_MAPPED(hole);
	ASSERT_EQ(0, munmap(hole, 3 * page));
	p = mmap(hole, 2 * page, RW, variant->flags | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(ADDR(hole), ADDR(p));
	/* Even with free room right after it, the mapping cannot grow. */
	ASSERT_EQ(ADDR(MAP_FAILED), remap(p, 2 * page, 3 * page, 0, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapping, mremap_shrink_keeps_data)
{
	unsigned char *p = map(self->fd, 4 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[page + 1] = 'm';
	ASSERT_EQ(ADDR(p), remap(p, 4 * page, 2 * page, 0, NULL));
	/* Shrinking only drops the tail; the rest is the same mapping. */
	ASSERT_EQ('m', p[page + 1]);
}

TEST_F(mapping, mremap_move_keeps_data)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	unsigned char *to = reserve(2 * page);

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(to);
	p[page + 1] = 'm';
	ASSERT_EQ(ADDR(to), remap(p, 2 * page, 2 * page,
				  MREMAP_MAYMOVE | MREMAP_FIXED, to));
	/* Moving keeps the pages, private copies included. */
	ASSERT_EQ('m', to[page + 1]);
}

TEST_F(mapping, mremap_move_split)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	unsigned char *to = reserve(2 * page);
	int before;

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(to);
	ASSERT_EQ(0, mprotect(p, page, PROT_READ));
	ASSERT_EQ(0, mprotect(p, page, RW));
	p[page + 1] = 'm';
	before = nr_mappings(self->fd);
	/*
	 * The split parts never merge again; a move of both takes both
	 * VMAs along, each with its pages and its count.
	 */
	ASSERT_EQ(ADDR(to), remap(p, 2 * page, 2 * page,
				  MREMAP_MAYMOVE | MREMAP_FIXED, to));
	ASSERT_EQ('m', to[page + 1]);
	ASSERT_EQ(before, nr_mappings(self->fd));
}

TEST_F(mapping, mremap_keeps_nr_mappings)
{
	unsigned char *p = map(self->fd, 4 * page, RW, variant->flags, 0);
	unsigned char *to = reserve(2 * page);
	int before;

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(to);
	before = nr_mappings(self->fd);
	ASSERT_EQ(ADDR(p), remap(p, 4 * page, 2 * page, 0, NULL));
	ASSERT_EQ(before, nr_mappings(self->fd));
	ASSERT_EQ(ADDR(to), remap(p, 2 * page, 2 * page,
				  MREMAP_MAYMOVE | MREMAP_FIXED, to));
	/* Shrinking and moving keep one VMA: the count does not change. */
	ASSERT_EQ(before, nr_mappings(self->fd));
	ASSERT_EQ(before, maps_count());
}

TEST_F(mapping, mremap_dontunmap_einval)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	int before = nr_mappings(self->fd);

	ASSERT_MAPPED(p);
	/* The kernel refuses MREMAP_DONTUNMAP on VM_DONTEXPAND mappings. */
	ASSERT_EQ(ADDR(MAP_FAILED), remap(p, 2 * page, 2 * page,
					  MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
					  NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(before, nr_mappings(self->fd));
}

TEST_F(mapping, nr_mappings_mmap_adds_one)
{
	int before = nr_mappings(self->fd);

	ASSERT_LE(0, before);
	ASSERT_MAPPED(map(self->fd, page, RW, variant->flags, 0));
	/* Every VMA of the buffer counts, shared or private. */
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
}

TEST_F(mapping, nr_mappings_fork_child_exit)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int before, status;

	ASSERT_MAPPED(p);
	before = nr_mappings(self->fd);
	status = run_child(child_nr_mappings, &self->fd);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(before + 1, WEXITSTATUS(status));
	/* The child's copy of the mapping went away with the child. */
	ASSERT_EQ(before, nr_mappings(self->fd));
}

/*
 * madvise(2): the advice that the kernel takes for any file mapping
 * works; the advice for anonymous memory only is refused. Each test says
 * what the advice does to this mapping.
 */
TEST_F(mapping, madv_dontneed)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[0] = 'x';
	ASSERT_EQ(0, madvise(p, page, MADV_DONTNEED));
	/* The page is refaulted from the buffer: private copies are gone. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, p[0]);
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(mapping, madv_dontneed_after_mlock)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mlock(p, page));
	p[0] = 'x';
	/*
	 * mlock(2) never locks a VM_SPECIAL (VM_DONTEXPAND) VMA, so plain
	 * MADV_DONTNEED, which refuses locked VMAs, still works.
	 */
	ASSERT_EQ(0, madvise(p, page, MADV_DONTNEED));
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, p[0]);
}

TEST_F(mapping, madv_dontneed_locked)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mlock(p, page));
	p[0] = 'x';
	/* MADV_DONTNEED_LOCKED drops locked pages like MADV_DONTNEED. */
	ASSERT_EQ(0, madvise(p, page, MADV_DONTNEED_LOCKED));
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, p[0]);
}

TEST_F(mapping, madv_free_einval)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[0] = 'x';
	/* MADV_FREE is for anonymous memory only. */
	ASSERT_EQ(-1, madvise(p, page, MADV_FREE));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ('x', p[0]);
}

TEST_F(mapping, madv_remove_refused)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[0] = 'x';
	/*
	 * A private mapping never writes the file: EACCES. A shared one
	 * reaches fallocate(2), which a character device lacks: ENODEV.
	 */
	ASSERT_EQ(-1, madvise(p, page, MADV_REMOVE));
	ASSERT_EQ(variant->flags == MAP_SHARED ? ENODEV : EACCES, errno);
	ASSERT_EQ('x', p[0]);
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, byte_at(self->fd, 0));
}

TEST_F(mapping, madv_willneed)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(1, put_byte(self->fd, 0, 'w'));
	/* Accepted and ignored: the buffer is always in memory. */
	ASSERT_EQ(0, madvise(p, page, MADV_WILLNEED));
	ASSERT_EQ('w', p[0]);
}

TEST_F(mapping, madv_cold)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[0] = 'x';
	ASSERT_EQ(0, p[page]);
	/* Accepted; the buffer's pages are not on the LRU lists. */
	ASSERT_EQ(0, madvise(p, 2 * page, MADV_COLD));
	ASSERT_EQ('x', p[0]);
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, byte_at(self->fd, 0));
}

TEST_F(mapping, madv_pageout)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	p[0] = 'x';
	ASSERT_EQ(0, p[page]);
	/* Accepted; nothing of the buffer is paged out, copies stay. */
	ASSERT_EQ(0, madvise(p, 2 * page, MADV_PAGEOUT));
	ASSERT_EQ('x', p[0]);
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, byte_at(self->fd, 0));
}

TEST_F(mapping, madv_access_pattern)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* Read-ahead hints only; nothing to read ahead here. */
	ASSERT_EQ(0, madvise(p, page, MADV_SEQUENTIAL));
	ASSERT_EQ(0, madvise(p, page, MADV_RANDOM));
	ASSERT_EQ(0, madvise(p, page, MADV_NORMAL));
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(mapping, madv_dontfork)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int before, status;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, madvise(p, page, MADV_DONTFORK));
	before = nr_mappings(self->fd);
	/* A child gets no copy of the mapping: no VMA, no access. */
	status = run_child(child_nr_mappings, &self->fd);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(before, WEXITSTATUS(status));
	status = run_child(child_load, p);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
}

TEST_F(mapping, madv_dofork_einval)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int before, status;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, madvise(p, page, MADV_DONTFORK));
	/* mapbuf mappings are VM_DONTEXPAND: MADV_DONTFORK is final. */
	ASSERT_EQ(-1, madvise(p, page, MADV_DOFORK));
	ASSERT_EQ(EINVAL, errno);
	before = nr_mappings(self->fd);
	status = run_child(child_nr_mappings, &self->fd);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(before, WEXITSTATUS(status));
}

TEST_F(mapping, madv_wipeonfork_einval)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* MADV_WIPEONFORK is for anonymous memory only. */
	ASSERT_EQ(-1, madvise(p, page, MADV_WIPEONFORK));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madv_keeponfork)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* Nothing to undo, and nothing refused. */
	ASSERT_EQ(0, madvise(p, page, MADV_KEEPONFORK));
}

TEST_F(mapping, madv_dontdump)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* Leaving the buffer out of core dumps is fine. */
	ASSERT_EQ(0, madvise(p, page, MADV_DONTDUMP));
}

TEST_F(mapping, madv_dodump_einval)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* The kernel refuses it on every VM_DONTEXPAND (VM_SPECIAL) VMA. */
	ASSERT_EQ(-1, madvise(p, page, MADV_DODUMP));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madv_hugepage)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	bool thp = have("/sys/kernel/mm/transparent_hugepage");

	ASSERT_MAPPED(p);
	/* A flag only, with CONFIG_TRANSPARENT_HUGEPAGE; unknown without. */
	ASSERT_EQ(thp ? 0 : -1, madvise(p, page, MADV_HUGEPAGE));
	if (!thp)
		ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(thp ? 0 : -1, madvise(p, page, MADV_NOHUGEPAGE));
	if (!thp)
		ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madv_collapse_einval)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* Never for a VM_SPECIAL VMA; unknown advice without THP. */
	ASSERT_EQ(-1, madvise(p, page, MADV_COLLAPSE));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madv_mergeable)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	bool ksm = have("/sys/kernel/mm/ksm");

	ASSERT_MAPPED(p);
	/* KSM ignores VM_DONTEXPAND VMAs; unknown advice without CONFIG_KSM. */
	ASSERT_EQ(ksm ? 0 : -1, madvise(p, page, MADV_MERGEABLE));
	if (!ksm)
		ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(ksm ? 0 : -1, madvise(p, page, MADV_UNMERGEABLE));
	if (!ksm)
		ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madv_populate_read)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	unsigned char vec[2];

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, madvise(p, 2 * page, MADV_POPULATE_READ));
	ASSERT_EQ(0, mincore(p, 2 * page, vec));
	ASSERT_EQ(1, vec[0] & 1);
	ASSERT_EQ(1, vec[1] & 1);
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	/* Read faults map the buffer's pages, even into a private mapping. */
	ASSERT_EQ(0xa5, p[page]);
}

TEST_F(mapping, madv_populate_write)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, madvise(p, 2 * page, MADV_POPULATE_WRITE));
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	/* Write faults: a private mapping now holds copies of every page. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 0xa5 : 0, p[page]);
}

TEST_F(mapping, madv_populate_write_read_only_einval)
{
	unsigned char *p = map(self->fd, page, PROT_READ, variant->flags, 0);

	ASSERT_MAPPED(p);
	/* The mapping cannot be written, so write faults are refused. */
	ASSERT_EQ(-1, madvise(p, page, MADV_POPULATE_WRITE));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapping, madvise_split_counts)
{
	unsigned char *p = map(self->fd, 3 * page, RW, variant->flags, 0);
	int before;

	ASSERT_MAPPED(p);
	before = nr_mappings(self->fd);
	/* Advice that sets a VMA flag on part of a mapping splits it. */
	ASSERT_EQ(0, madvise(p + page, page, MADV_RANDOM));
	ASSERT_EQ(before + 2, nr_mappings(self->fd));
	ASSERT_EQ(0, madvise(p + page, page, MADV_NORMAL));
	/* mapbuf VMAs never merge again (VM_DONTEXPAND): still three. */
	ASSERT_EQ(before + 2, nr_mappings(self->fd));
	ASSERT_EQ(before + 2, maps_count());
}

TEST_F(mapping, populate_then_fill)
{
	unsigned char *p = map(self->fd, 2 * page, RW,
			       variant->flags | MAP_POPULATE, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	/* MAP_POPULATE write-faults a writable private mapping: copies. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 0xa5 : 0, p[page]);
}

TEST_F(mapping, mlock_then_fill)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mlock(p, 2 * page));
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	/* mlock(2) populates like MAP_POPULATE: private pages are copies. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 0xa5 : 0, p[page]);
	ASSERT_EQ(0, munlock(p, 2 * page));
}

/* The buffer's own mapping as the user memory of read, write, ioctl. */
TEST_F(mapping, read_into_own_mapping)
{
	unsigned char *buf = malloc(page);
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_NE(0, ADDR(buf));
	ASSERT_MAPPED(p);
	pattern(buf, page);
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	/* The copy faults in page 1 of the buffer itself: no deadlock. */
	ASSERT_EQ(page, read(self->fd, p + page, page));
	ASSERT_EQ(0, memcmp(buf, p + page, page));
	/* A private mapping took the bytes in a copy of its own. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? buf[0] : 0,
		  byte_at(self->fd, page));
}

TEST_F(mapping, read_into_same_page)
{
	unsigned char *buf = malloc(page);
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_NE(0, ADDR(buf));
	ASSERT_MAPPED(p);
	pattern(buf, page);
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	/* Source and destination are the same page. */
	ASSERT_EQ(page, pread(self->fd, p, page, 0));
	ASSERT_EQ(0, memcmp(buf, p, page));
	ASSERT_EQ(buf[page - 1], byte_at(self->fd, page - 1));
}

TEST_F(mapping, write_from_own_mapping)
{
	unsigned char *buf = malloc(page);
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_NE(0, ADDR(buf));
	ASSERT_MAPPED(p);
	pattern(buf, page);
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	ASSERT_EQ(page, lseek(self->fd, page, SEEK_SET));
	/* The copy faults in page 0 of the buffer itself: no deadlock. */
	ASSERT_EQ(page, write(self->fd, p, page));
	ASSERT_EQ(buf[page - 1], byte_at(self->fd, 2 * page - 1));
	/* Page 1 was never stored to: even a private mapping follows. */
	ASSERT_EQ(0, memcmp(buf, p + page, page));
}

TEST_F(mapping, info_into_own_mapping)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	struct mapbuf_info info;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, p));
	memcpy(&info, p, sizeof(info));
	ASSERT_EQ(self->size, info.size);
	ASSERT_EQ(1, info.nr_mappings);
	/* A shared mapping took the result into the buffer itself. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? p[0] : 0,
		  byte_at(self->fd, 0));
}

TEST_F(mapping, fill_from_own_mapping)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	struct mapbuf_fill fill = { .value = 0xa5 };

	ASSERT_MAPPED(p);
	memcpy(p, &fill, sizeof(fill));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_FILL, p));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0xa5));
	/* A private page 0 is a copy and keeps the argument. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 0xa5 : 0, p[1]);
	ASSERT_EQ(0xa5, p[page]);
}

TEST_F(mapping, resize_arg_in_own_mapping_ebusy)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	struct mapbuf_resize arg = { .size = 2 * page };

	ASSERT_MAPPED(p);
	memcpy(p, &arg, sizeof(arg));
	/* The argument is read, then the mapping it lies in refuses it. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_RESIZE, p));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(self->size, info_size(self->fd));
}

/* MAPBUF_IOC_RESIZE is refused while any mapping of the buffer lives. */
TEST_F(mapping, resize_ebusy)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Even to the same size; the buffer stays as it was. */
	ASSERT_EQ(-1, resize(self->fd, self->size));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, resize(self->fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(self->size, info_size(self->fd));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0x5a));
	ASSERT_EQ(0x5a, p[0]);
}

TEST_F(mapping, resize_ebusy_other_fd)
{
	int fd = open(DEVICE, O_RDWR);
	unsigned char *p;

	ASSERT_LE(0, fd);
	p = map(fd, page, RW, variant->flags, 0);
	ASSERT_MAPPED(p);
	/* The mapping belongs to the buffer, whichever file made it. */
	ASSERT_EQ(-1, resize(self->fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
}

TEST_F(mapping, resize_ebusy_fd_closed)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int fd;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	self->fd = fd;
	/* The mapping outlives its file and still holds the buffer. */
	ASSERT_EQ(-1, resize(fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, munmap(p, page));
	ASSERT_EQ(0, resize(fd, 2 * page));
}

TEST_F(mapping, resize_ebusy_forked)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	struct holder child;
	int status;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, hold(&child));
	ASSERT_EQ(0, munmap(p, page));
	/* Only the child's copy is left, in another process. */
	ASSERT_EQ(1, nr_mappings(self->fd));
	ASSERT_EQ(-1, resize(self->fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
	status = release(&child);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, nr_mappings(self->fd));
	ASSERT_EQ(0, resize(self->fd, 2 * page));
}

TEST_F(mapping, resize_after_munmap)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, munmap(p, page));
	/* Once the last mapping is gone, the buffer can be replaced. */
	ASSERT_EQ(0, resize(self->fd, 2 * page));
	ASSERT_EQ(2 * page, info_size(self->fd));
}

TEST_F(mapping, rmmod_mapping_ewouldblock)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int fd;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	/* No file is open, but the mapping holds the module. */
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	p[0] = 'm';
	ASSERT_EQ('m', p[0]);
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	self->fd = fd;
	ASSERT_EQ(1, nr_mappings(fd));
}

/* The buffer through read(2), write(2), ioctls and mappings made per test. */
FIXTURE(mapbuf) {
	int fd;
	size_t size;
};

FIXTURE_SETUP(mapbuf)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(mapbuf)
{
	close(self->fd);
}

TEST_F(mapbuf, private_unwritten_page_follows_buffer)
{
	unsigned char *p = map(self->fd, page, RW, MAP_PRIVATE, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, p[9]);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Reading a private page does not copy it. */
	ASSERT_EQ(0x5a, p[9]);
}

TEST_F(mapbuf, private_written_page_keeps_copy)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_PRIVATE, 0);

	ASSERT_MAPPED(p);
	p[0] = 'p';
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Page 0 was copied when stored to; page 1 still is the buffer. */
	ASSERT_EQ('p', p[0]);
	ASSERT_EQ(0, p[1]);
	ASSERT_EQ(0x5a, p[page]);
}

TEST_F(mapbuf, rdonly_private_write_cow)
{
	int fd = open(DEVICE, O_RDONLY);
	unsigned char *p;

	ASSERT_LE(0, fd);
	p = map(fd, page, RW, MAP_PRIVATE, 0);
	ASSERT_MAPPED(p);
	p[3] = 'r';
	/* A private store never reaches the file, so reading it is enough. */
	ASSERT_EQ('r', p[3]);
	ASSERT_EQ(0, byte_at(self->fd, 3));
}

TEST_F(mapbuf, map_last_page)
{
	unsigned char *p;

	ASSERT_EQ(1, put_byte(self->fd, self->size - 1, 'L'));
	p = map(self->fd, page, RW, MAP_SHARED, self->size - page);
	ASSERT_MAPPED(p);
	/* The last page lies wholly inside the buffer. */
	ASSERT_EQ('L', p[page - 1]);
}

TEST_F(mapbuf, map_partial_length)
{
	unsigned char *p;

	ASSERT_EQ(1, put_byte(self->fd, page - 1, 'e'));
	p = map(self->fd, 100, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* mmap rounds the length up to a whole page. */
	ASSERT_EQ('e', p[page - 1]);
}

TEST_F(mapbuf, length_zero_einval)
{
	/* The kernel refuses empty mappings. */
	ASSERT_EQ(EINVAL, map_errno(self->fd, 0, RW, MAP_SHARED, 0));
}

TEST_F(mapbuf, offset_unaligned_einval)
{
	/* The kernel wants a page-aligned offset. */
	ASSERT_EQ(EINVAL, map_errno(self->fd, page, RW, MAP_SHARED, 1));
}

TEST_F(mapbuf, length_past_end_enxio)
{
	/* One page more than the buffer holds. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, self->size + page, RW,
				   MAP_SHARED, 0));
}

TEST_F(mapbuf, offset_at_end_enxio)
{
	/* The first byte would be one past the end of the buffer. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   self->size));
}

TEST_F(mapbuf, map_whole_buffer)
{
	unsigned char *p;

	ASSERT_EQ(1, put_byte(self->fd, self->size - 1, 'z'));
	p = map(self->fd, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* Exactly the buffer: the largest mapping there is. */
	ASSERT_EQ('z', p[self->size - 1]);
}

TEST_F(mapbuf, offset_past_end_enxio)
{
	/* The whole range lies past the end of the buffer. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   self->size + page));
}

TEST_F(mapbuf, offset_4g_enxio)
{
	/* 4 GiB: page offset 1 << 20, which a 32-bit byte offset would wrap. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   (off_t)1 << 32));
}

TEST_F(mapbuf, offset_1t_enxio)
{
	/* 1 TiB fits every ABI's offset but is far past a 1 GiB buffer. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   (off_t)1 << 40));
}

TEST_F(mapbuf, offset_mmap2_max_enxio)
{
	/*
	 * 16 TiB - 4 KiB: the largest offset mmap2, the 32-bit system call,
	 * can carry (a 32-bit count of 4096-byte units); page offset
	 * 0xffffffff wraps if shifted in 32 bits.
	 */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   ((off_t)1 << 44) - 4096));
}

TEST_F(mapbuf, offset_16t)
{
	/*
	 * 16 TiB: past the buffer for a 64-bit program (ENXIO); more than
	 * mmap2 can carry for a 32-bit one, so the C library refuses it
	 * (EINVAL) without entering the kernel.
	 */
	ASSERT_EQ(LP64 ? ENXIO : EINVAL,
		  map_errno(self->fd, page, RW, MAP_SHARED, (off_t)1 << 44));
}

TEST_F(mapbuf, offset_sign_bit)
{
	/*
	 * 1 << 63, a negative off_t: mmap takes it as unsigned, a page offset
	 * past the buffer (ENXIO); 32-bit: the C library's EINVAL as above.
	 */
	ASSERT_EQ(LP64 ? ENXIO : EINVAL,
		  map_errno(self->fd, page, RW, MAP_SHARED,
			    (off_t)((uint64_t)1 << 63)));
}

TEST_F(mapbuf, offset_overflow_eoverflow)
{
	/*
	 * 0xfffffffffffff000 (-4096) plus 0x2000 wraps around 2^64: the
	 * kernel refuses it before asking the driver (EOVERFLOW).
	 * 32-bit: the C library's EINVAL as above.
	 */
	ASSERT_EQ(LP64 ? EOVERFLOW : EINVAL,
		  map_errno(self->fd, 0x2000, RW, MAP_SHARED, (off_t)-4096));
}

TEST_F(mapbuf, offset_end_of_space_eoverflow)
{
	/*
	 * 0xffffffffffffe000 plus 0x2000 is exactly 2^64, one past the last
	 * unsigned long: EOVERFLOW. 32-bit: the C library's EINVAL.
	 */
	ASSERT_EQ(LP64 ? EOVERFLOW : EINVAL,
		  map_errno(self->fd, 0x2000, RW, MAP_SHARED, (off_t)-8192));
}

TEST_F(mapbuf, offset_last_page_of_space_enxio)
{
	/*
	 * 0xffffffffffffe000 plus 0x1000 still fits: the driver's bounds
	 * check must refuse it (ENXIO). 32-bit: the C library's EINVAL.
	 */
	ASSERT_EQ(LP64 ? ENXIO : EINVAL,
		  map_errno(self->fd, 0x1000, RW, MAP_SHARED, (off_t)-8192));
}

TEST_F(mapbuf, length_huge_enomem)
{
	/* Larger than the address space: no room for it (ENOMEM). */
	ASSERT_EQ(ENOMEM, map_errno(self->fd, (size_t)-page, RW,
				    MAP_SHARED, 0));
}

TEST_F(mapbuf, length_wraps_enomem)
{
	/* SIZE_MAX rounds up to 0 pages: the kernel says ENOMEM. */
	ASSERT_EQ(ENOMEM, map_errno(self->fd, SIZE_MAX, RW, MAP_SHARED, 0));
}

TEST_F(mapbuf, prot_exec_only_eperm)
{
	/* PROT_EXEC alone is refused like PROT_READ | PROT_EXEC. */
	ASSERT_EQ(EPERM, map_errno(self->fd, page, PROT_EXEC, MAP_SHARED, 0));
}

TEST_F(mapbuf, map_sync_eopnotsupp)
{
	/* MAP_SYNC is for DAX files; MAP_SHARED_VALIDATE refuses it. */
	ASSERT_EQ(EOPNOTSUPP, map_errno(self->fd, page, RW,
					MAP_SHARED_VALIDATE | MAP_SYNC, 0));
}

TEST_F(mapbuf, wronly_private_eacces)
{
	int fd = open(DEVICE, O_WRONLY);

	ASSERT_LE(0, fd);
	/* A private mapping reads the file too. */
	ASSERT_EQ(EACCES, map_errno(fd, page, RW, MAP_PRIVATE, 0));
}

TEST_F(mapbuf, wronly_mmap_eacces)
{
	int fd = open(DEVICE, O_WRONLY);

	ASSERT_LE(0, fd);
	/* Every mapping can be read, so the file must be readable. */
	ASSERT_EQ(EACCES, map_errno(fd, page, PROT_READ, MAP_SHARED, 0));
}

TEST_F(mapbuf, rdonly_shared_write_eacces)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	/* A shared writable mapping writes the file. */
	ASSERT_EQ(EACCES, map_errno(fd, page, RW, MAP_SHARED, 0));
}

TEST_F(mapbuf, rdonly_mprotect_write_eacces)
{
	int fd = open(DEVICE, O_RDONLY);
	unsigned char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, put_byte(self->fd, 0, 'r'));
	p = map(fd, page, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ('r', p[0]);
	/* Nor can a read-only shared mapping of it become writable. */
	ASSERT_EQ(-1, mprotect(p, page, RW));
	ASSERT_EQ(EACCES, errno);
}

TEST_F(mapbuf, rdonly_write_ebadf)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	/* write(2) needs a file opened for writing. */
	ASSERT_EQ(-1, write(fd, "x", 1));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(mapbuf, rdonly_clear_ebadf)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	/* CLEAR changes the buffer, so it needs a writable file. */
	ASSERT_EQ(-1, ioctl(fd, MAPBUF_IOC_CLEAR));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(mapbuf, rdonly_fill_ebadf)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	/* FILL changes the buffer, so it needs a writable file. */
	ASSERT_EQ(-1, fill_buffer(fd, 0xff));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(0, byte_at(self->fd, 0));
}

TEST_F(mapbuf, rdonly_info_works)
{
	int fd = open(DEVICE, O_RDONLY);
	struct mapbuf_info info;

	ASSERT_LE(0, fd);
	/* INFO only reports, so a read-only file is enough. */
	ASSERT_EQ(0, ioctl(fd, MAPBUF_IOC_INFO, &info));
	ASSERT_EQ(self->size, info.size);
}

TEST_F(mapbuf, populate_maps_every_page)
{
	unsigned char *p = map(self->fd, 4 * page, RW,
			       MAP_SHARED | MAP_POPULATE, 0);
	unsigned char vec[4];
	int i;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mincore(p, 4 * page, vec));
	/* MAP_POPULATE maps every page before mmap(2) returns. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, vec[i] & 1);
}

TEST_F(mapbuf, mlock_changes_nothing)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mlock(p, 2 * page));
	/*
	 * mlock(2) faults the pages in but does not lock a VM_SPECIAL
	 * (VM_DONTEXPAND) VMA: nothing is counted as locked. The buffer's
	 * pages are never swapped out anyway.
	 */
	ASSERT_EQ(0, locked_kb());
	p[page] = 'k';
	ASSERT_EQ(0, munlock(p, 2 * page));
	ASSERT_EQ('k', byte_at(self->fd, page));
}

TEST_F(mapbuf, map_fixed_over_anon)
{
	unsigned char *anon = map(-1, 2 * page, RW,
				  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	unsigned char *p;

	ASSERT_MAPPED(anon);
	memset(anon, 'a', 2 * page);
	p = mmap(anon, 2 * page, RW, MAP_SHARED | MAP_FIXED, self->fd, 0);
	/* MAP_FIXED replaces whatever was mapped there. */
	ASSERT_EQ(ADDR(anon), ADDR(p));
	ASSERT_EQ(0, p[page]);
	p[page] = 'f';
	ASSERT_EQ('f', byte_at(self->fd, page));
}

TEST_F(mapbuf, map_fixed_over_mapping)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);
	unsigned char *q;
	int before;

	ASSERT_MAPPED(p);
	ASSERT_EQ(1, put_byte(self->fd, 2 * page, 'n'));
	before = nr_mappings(self->fd);
	q = mmap(p, 2 * page, RW, MAP_SHARED | MAP_FIXED, self->fd, 2 * page);
	/* The new mapping replaces the old one: one VMA out, one in. */
	ASSERT_EQ(ADDR(p), ADDR(q));
	ASSERT_EQ('n', q[0]);
	ASSERT_EQ(before, nr_mappings(self->fd));
	ASSERT_EQ(before, maps_count());
}

TEST_F(mapbuf, map_fixed_noreplace_eexist)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);
	unsigned char *q;

	ASSERT_MAPPED(p);
	p[0] = 'k';
	q = mmap(p, 2 * page, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, self->fd,
		 2 * page);
	/* The range is taken: the old mapping stays as it was. */
	ASSERT_EQ(ADDR(MAP_FAILED), ADDR(q));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ('k', p[0]);
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(mapbuf, map_fixed_refused_unmaps)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);
	unsigned char *q;
	int status;

	ASSERT_MAPPED(p);
	q = mmap(p, 2 * page, RW, MAP_SHARED | MAP_FIXED, self->fd,
		 self->size);
	ASSERT_EQ(ADDR(MAP_FAILED), ADDR(q));
	ASSERT_EQ(ENXIO, errno);
	/*
	 * The kernel takes the old mapping down before it asks mapbuf: the
	 * refusal leaves a hole, and the count follows.
	 */
	ASSERT_EQ(0, nr_mappings(self->fd));
	ASSERT_EQ(0, maps_count());
	status = run_child(child_load, p);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
}

TEST_F(mapbuf, mremap_dup_efault)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	/*
	 * An old length of 0 asks for a second mapping of the same pages:
	 * growing from nothing, which VM_DONTEXPAND refuses.
	 */
	ASSERT_EQ(ADDR(MAP_FAILED), remap(p, 0, page, MREMAP_MAYMOVE, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(mapbuf, close_keeps_mapping)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);
	int fd;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	p[1] = 'k';
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	self->fd = fd;
	/* A mapping keeps the buffer alive after its file is closed. */
	ASSERT_EQ('k', byte_at(fd, 1));
}

TEST_F(mapbuf, munmap_split_parts_work)
{
	unsigned char *p = map(self->fd, 3 * page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, munmap(p + page, page));
	p[0] = 'a';
	p[2 * page] = 'b';
	/* Both parts left by the hole keep their offsets. */
	ASSERT_EQ('a', byte_at(self->fd, 0));
	ASSERT_EQ('b', byte_at(self->fd, 2 * page));
}

TEST_F(mapbuf, mprotect_split_parts_work)
{
	unsigned char *p = map(self->fd, 3 * page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mprotect(p + page, page, PROT_READ));
	ASSERT_EQ(1, put_byte(self->fd, page, 'm'));
	p[0] = 'a';
	p[2 * page] = 'b';
	/* All three parts keep their offsets. */
	ASSERT_EQ('m', p[page]);
	ASSERT_EQ('a', byte_at(self->fd, 0));
	ASSERT_EQ('b', byte_at(self->fd, 2 * page));
}

TEST_F(mapbuf, load_past_end_sigsegv)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);
	int status;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, munmap(p + page, page));
	status = run_child(child_load, p + page);
	/* The address is no longer mapped at all. */
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
}

TEST_F(mapbuf, nr_mappings_zero)
{
	/* Tests run one at a time, each in its own process. */
	ASSERT_EQ(0, nr_mappings(self->fd));
}

TEST_F(mapbuf, nr_mappings_split_adds_one)
{
	unsigned char *p = map(self->fd, 3 * page, RW, MAP_SHARED, 0);
	int before;

	ASSERT_MAPPED(p);
	before = nr_mappings(self->fd);
	ASSERT_EQ(0, munmap(p + page, page));
	/* A hole in the middle leaves two VMAs. */
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
}

TEST_F(mapbuf, nr_mappings_munmap_removes_one)
{
	int before = nr_mappings(self->fd);
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
	ASSERT_EQ(0, munmap(p, page));
	/* Unmapping a whole VMA removes it from the count. */
	ASSERT_EQ(before, nr_mappings(self->fd));
}

TEST_F(mapbuf, nr_mappings_mprotect_split)
{
	unsigned char *p = map(self->fd, 3 * page, RW, MAP_SHARED, 0);
	int before;

	ASSERT_MAPPED(p);
	before = nr_mappings(self->fd);
	ASSERT_EQ(0, mprotect(p + page, page, PROT_READ));
	/* Another protection in the middle leaves three VMAs. */
	ASSERT_EQ(before + 2, nr_mappings(self->fd));
	ASSERT_EQ(0, mprotect(p + page, page, RW));
	/* mapbuf VMAs never merge again (VM_DONTEXPAND): still three. */
	ASSERT_EQ(before + 2, nr_mappings(self->fd));
	ASSERT_EQ(before + 2, maps_count());
	ASSERT_EQ(0, munmap(p, 3 * page));
	ASSERT_EQ(before - 1, nr_mappings(self->fd));
}

/* One round of splits; 0, or the line that found a wrong count. */
static int split_round(int fd, unsigned int i)
{
	unsigned char *p = map(fd, 8 * page, RW,
			       i & 1 ? MAP_PRIVATE : MAP_SHARED,
			       (i % 4) * page);
	unsigned int hole = 1 + i % 5;

	if (p == MAP_FAILED)
		return __LINE__;
	if (munmap(p + hole * page, page))
		return __LINE__;
	if (nr_mappings(fd) != 2 || maps_count() != 2)
		return __LINE__;
	if (mprotect(p + (hole + 1) * page, page, PROT_READ))
		return __LINE__;
	if (nr_mappings(fd) != 3 || maps_count() != 3)
		return __LINE__;
	/* The hole makes it fail after the part before it. */
	if (mprotect(p, 8 * page, RW) != -1 || errno != ENOMEM)
		return __LINE__;
	p[0] = i;
	p[7 * page] = i;
	if (munmap(p + page * (i % 2), page))
		return __LINE__;
	if (nr_mappings(fd) != maps_count())
		return __LINE__;
	if (munmap(p, 8 * page))
		return __LINE__;
	if (nr_mappings(fd) != 0 || maps_count() != 0)
		return __LINE__;
	return 0;
}

TEST_F(mapbuf, nr_mappings_split_loop)
{
	unsigned int i;

	/* Many rounds of munmap and mprotect splits: no VMA is lost. */
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, split_round(self->fd, i))
			TH_LOG("round %u", i);
	}
	ASSERT_EQ(0, nr_mappings(self->fd));
}

TEST_F(mapbuf, close_then_munmap)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);
	int fd;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	self->fd = fd;
	ASSERT_EQ(1, nr_mappings(fd));
	ASSERT_EQ(0, munmap(p, page));
	/* The mapping's reference went with it. */
	ASSERT_EQ(0, nr_mappings(fd));
}

TEST_F(mapbuf, read_at_end_returns_zero)
{
	char c;

	ASSERT_EQ(self->size, lseek(self->fd, 0, SEEK_END));
	/* Nothing lies past the end: end of file. */
	ASSERT_EQ(0, read(self->fd, &c, 1));
}

TEST_F(mapbuf, pread_past_end_returns_zero)
{
	char c;

	/* Nothing lies past the end: end of file. */
	ASSERT_EQ(0, pread(self->fd, &c, 1, self->size + page));
}

TEST_F(mapbuf, read_across_end_short)
{
	char buf[16];

	/* Only the 10 bytes left before the end are read. */
	ASSERT_EQ(10, pread(self->fd, buf, sizeof(buf), self->size - 10));
}

TEST_F(mapbuf, write_at_end_enospc)
{
	ASSERT_EQ(self->size, lseek(self->fd, 0, SEEK_END));
	/* No room is left for even one byte. */
	ASSERT_EQ(-1, write(self->fd, "x", 1));
	ASSERT_EQ(ENOSPC, errno);
}

TEST_F(mapbuf, pwrite_past_end_enospc)
{
	/* No room is left for even one byte. */
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, self->size + page));
	ASSERT_EQ(ENOSPC, errno);
}

TEST_F(mapbuf, write_across_end_short)
{
	char buf[16];

	memset(buf, 'w', sizeof(buf));
	/* Only the 10 bytes left before the end are stored. */
	ASSERT_EQ(10, pwrite(self->fd, buf, sizeof(buf), self->size - 10));
	ASSERT_EQ('w', byte_at(self->fd, self->size - 10));
	ASSERT_EQ('w', byte_at(self->fd, self->size - 1));
}

TEST_F(mapbuf, read_count_zero)
{
	char c;

	/* A count of 0 returns 0. */
	ASSERT_EQ(0, read(self->fd, &c, 0));
}

TEST_F(mapbuf, write_count_zero)
{
	/* A count of 0 returns 0. */
	ASSERT_EQ(0, write(self->fd, "x", 0));
	ASSERT_EQ(0, byte_at(self->fd, 0));
}

TEST_F(mapbuf, write_count_zero_at_end)
{
	/* A count of 0 returns 0 everywhere, even where ENOSPC would. */
	ASSERT_EQ(0, pwrite(self->fd, "x", 0, self->size));
}

TEST_F(mapbuf, read_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	/* Not one byte can be copied out. */
	ASSERT_EQ(-1, pread(self->fd, bad, 16, 0));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, write_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	/* Not one byte can be copied in. */
	ASSERT_EQ(-1, pwrite(self->fd, bad, 16, 0));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, read_partial_fault_short)
{
	unsigned char *p = half_bad();

	ASSERT_NE(0, ADDR(p));
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* The copy stops at the inaccessible page, 16 bytes in. */
	ASSERT_EQ(16, pread(self->fd, p + page - 16, 32, 0));
	ASSERT_EQ(0x5a, p[page - 16]);
	ASSERT_EQ(0x5a, p[page - 1]);
}

TEST_F(mapbuf, write_partial_fault_short)
{
	unsigned char *p = half_bad();

	ASSERT_NE(0, ADDR(p));
	memset(p, 'w', page);
	/* The copy stops at the inaccessible page, 16 bytes in. */
	ASSERT_EQ(16, pwrite(self->fd, p + page - 16, 32, 0));
	ASSERT_EQ('w', byte_at(self->fd, 0));
	ASSERT_EQ('w', byte_at(self->fd, 15));
}

TEST_F(mapbuf, write_partial_fault_keeps_rest)
{
	unsigned char *p = half_bad();

	ASSERT_NE(0, ADDR(p));
	memset(p, 'w', page);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	ASSERT_EQ(16, pwrite(self->fd, p + page - 16, 32, 0));
	/* Bytes past the count returned were not stored. */
	ASSERT_EQ(0x5a, byte_at(self->fd, 16));
	ASSERT_EQ(0x5a, byte_at(self->fd, 31));
}

TEST_F(mapbuf, readv_writev)
{
	char a[2] = "ab", b[2] = "cd", c[2], d[2];
	struct iovec out[] = { { a, 2 }, { b, 2 } };
	struct iovec in[] = { { c, 2 }, { d, 2 } };

	ASSERT_EQ(4, writev(self->fd, out, 2));
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	/* Vectored I/O works on the buffer as on any file. */
	ASSERT_EQ(4, readv(self->fd, in, 2));
	ASSERT_EQ(0, memcmp(a, c, 2));
	ASSERT_EQ(0, memcmp(b, d, 2));
}

TEST_F(mapbuf, pread_negative_einval)
{
	char c;

	/* A negative position is never valid. */
	ASSERT_EQ(-1, pread(self->fd, &c, 1, -1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, pwrite_negative_einval)
{
	/* A negative position is never valid. */
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, -1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, pread_below_end_one_byte)
{
	char buf[2];

	ASSERT_EQ(1, put_byte(self->fd, self->size - 1, 'l'));
	/* One byte is left before the end. */
	ASSERT_EQ(1, pread(self->fd, buf, sizeof(buf), self->size - 1));
	ASSERT_EQ('l', buf[0]);
}

TEST_F(mapbuf, pwrite_below_end_one_byte)
{
	/* One byte is left before the end, and only it is stored. */
	ASSERT_EQ(1, pwrite(self->fd, "ab", 2, self->size - 1));
	ASSERT_EQ('a', byte_at(self->fd, self->size - 1));
}

TEST_F(mapbuf, pread_far_past_end_returns_zero)
{
	char c;

	/* LLONG_MAX - 1 plus one byte does not overflow: just past the end. */
	ASSERT_EQ(0, pread(self->fd, &c, 1, LLONG_MAX - 1));
}

TEST_F(mapbuf, pwrite_far_past_end_enospc)
{
	/* LLONG_MAX - 1 plus one byte does not overflow: just past the end. */
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, LLONG_MAX - 1));
	ASSERT_EQ(ENOSPC, errno);
}

TEST_F(mapbuf, pread_pos_overflow_einval)
{
	char buf[16];

	/* Position plus count would pass LLONG_MAX. */
	ASSERT_EQ(-1, pread(self->fd, buf, sizeof(buf), LLONG_MAX - 8));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, pwrite_pos_overflow_einval)
{
	char buf[16] = "";

	/* Position plus count would pass LLONG_MAX. */
	ASSERT_EQ(-1, pwrite(self->fd, buf, sizeof(buf), LLONG_MAX - 8));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, read_count_ssize_max)
{
	char buf[16];

	memset(buf, 'u', sizeof(buf));
	ASSERT_EQ(self->size - 16, lseek(self->fd, -16, SEEK_END));
	if (LP64) {
		/*
		 * The kernel checks the whole range first: SSIZE_MAX bytes
		 * from any user address run past the address space.
		 */
		ASSERT_EQ(-1, sys_read(self->fd, buf, SSIZE_MAX));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ('u', buf[0]);
		ASSERT_EQ(self->size - 16, lseek(self->fd, 0, SEEK_CUR));
	} else {
		/*
		 * 32-bit on a 64-bit kernel: 2 GiB from a 32-bit address
		 * passes that check; only the 16 bytes left are copied.
		 */
		ASSERT_EQ(16, sys_read(self->fd, buf, SSIZE_MAX));
		ASSERT_EQ(0, buf[0]);
		ASSERT_EQ(self->size, lseek(self->fd, 0, SEEK_CUR));
	}
}

TEST_F(mapbuf, write_count_ssize_max)
{
	char buf[16];

	memset(buf, 'u', sizeof(buf));
	ASSERT_EQ(self->size - 16, lseek(self->fd, -16, SEEK_END));
	if (LP64) {
		/* As for read(2): EFAULT, and nothing is stored. */
		ASSERT_EQ(-1, sys_write(self->fd, buf, SSIZE_MAX));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ(0, byte_at(self->fd, self->size - 16));
	} else {
		/* As for read(2): only the 16 bytes left are stored. */
		ASSERT_EQ(16, sys_write(self->fd, buf, SSIZE_MAX));
		ASSERT_EQ('u', byte_at(self->fd, self->size - 1));
	}
}

TEST_F(mapbuf, wronly_read_ebadf)
{
	int fd = open(DEVICE, O_WRONLY);
	char c;

	ASSERT_LE(0, fd);
	/* read(2) needs a file opened for reading. */
	ASSERT_EQ(-1, read(fd, &c, 1));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(mapbuf, readv_bad_iovec_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	/* The iovec array itself cannot be read. */
	ASSERT_EQ(-1, readv(self->fd, (struct iovec *)bad, 1));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, lseek_set)
{
	char c;

	ASSERT_EQ(1, put_byte(self->fd, page + 3, 'S'));
	/* SEEK_SET takes the offset as the new position. */
	ASSERT_EQ(page + 3, lseek(self->fd, page + 3, SEEK_SET));
	ASSERT_EQ(1, read(self->fd, &c, 1));
	ASSERT_EQ('S', c);
}

TEST_F(mapbuf, lseek_cur)
{
	ASSERT_EQ(10, lseek(self->fd, 10, SEEK_SET));
	/* SEEK_CUR adds the offset to the position. */
	ASSERT_EQ(15, lseek(self->fd, 5, SEEK_CUR));
	ASSERT_EQ(10, lseek(self->fd, -5, SEEK_CUR));
}

TEST_F(mapbuf, lseek_end)
{
	/* SEEK_END is relative to the buffer size. */
	ASSERT_EQ(self->size, lseek(self->fd, 0, SEEK_END));
	ASSERT_EQ(self->size - 1, lseek(self->fd, -1, SEEK_END));
}

TEST_F(mapbuf, lseek_past_end_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* Past the end is refused and the position stays. */
	ASSERT_EQ(-1, lseek(self->fd, self->size + 1, SEEK_SET));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_end_past_end_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* Past the end is refused and the position stays. */
	ASSERT_EQ(-1, lseek(self->fd, 1, SEEK_END));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_negative_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* Below 0 is refused and the position stays. */
	ASSERT_EQ(-1, lseek(self->fd, -1, SEEK_SET));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_cur_below_zero_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* Below 0 is refused and the position stays. */
	ASSERT_EQ(-1, lseek(self->fd, -8, SEEK_CUR));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_bad_whence_einval)
{
	/* Only SEEK_SET, SEEK_CUR and SEEK_END are accepted. */
	ASSERT_EQ(-1, lseek(self->fd, 0, 42));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, lseek_seek_data_einval)
{
	/* SEEK_DATA is another whence, so it is refused too. */
	ASSERT_EQ(-1, lseek(self->fd, 0, SEEK_DATA));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, lseek_seek_hole_einval)
{
	/* SEEK_HOLE is another whence, so it is refused too. */
	ASSERT_EQ(-1, lseek(self->fd, 0, SEEK_HOLE));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mapbuf, lseek_cur_overflow_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* 7 + LLONG_MAX wraps negative: refused, the position stays. */
	ASSERT_EQ(-1, lseek(self->fd, LLONG_MAX, SEEK_CUR));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_end_overflow_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* The size plus LLONG_MAX wraps negative: refused. */
	ASSERT_EQ(-1, lseek(self->fd, LLONG_MAX, SEEK_END));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, lseek_end_llong_min_einval)
{
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	/* The size plus LLONG_MIN is negative: refused. */
	ASSERT_EQ(-1, lseek(self->fd, LLONG_MIN, SEEK_END));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(7, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mapbuf, ioctl_unknown_enotty)
{
	/* 0x7f is not a mapbuf command. */
	ASSERT_EQ(-1, ioctl(self->fd, _IO(MAPBUF_IOC_MAGIC, 0x7f)));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(mapbuf, ioctl_wrong_size_enotty)
{
	struct mapbuf_info info;

	/* INFO's number with another size encoded is another command. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOR(MAPBUF_IOC_MAGIC, 0x00, __u32),
			    &info));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(mapbuf, ioctl_wrong_direction_enotty)
{
	struct mapbuf_fill arg = { .value = 0x5a };

	/* FILL's number, but reading instead of writing. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOR(MAPBUF_IOC_MAGIC, 0x02,
					   struct mapbuf_fill), &arg));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(self->size, info_size(self->fd));
}

TEST_F(mapbuf, ioctl_other_type_enotty)
{
	struct mapbuf_info info;

	/* INFO's number and size under another ioctl type. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOR('x', 0x00, struct mapbuf_info),
			    &info));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(mapbuf, info_null_efault)
{
	/* The result cannot be copied out to NULL. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_INFO, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, info_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	/* The result cannot be copied out. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_INFO, bad));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, info_size_whole_pages)
{
	struct mapbuf_info info;

	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, &info));
	/* The module rounds the size up to a whole page. */
	ASSERT_EQ(0, info.size % page);
}

TEST_F(mapbuf, info_nr_exports_zero)
{
	struct mapbuf_info info;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, &info));
	/* Nothing of this program made a dma-buf of the buffer. */
	ASSERT_EQ(0, info.nr_exports);
}

TEST_F(mapbuf, info_flags_and_reserved)
{
	static const struct mapbuf_info zeroed;
	struct mapbuf_info info;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, &info));
	/* Only flags that the header defines; reserved space stays zero. */
	ASSERT_EQ(0, info.flags & ~(MAPBUF_INFO_PMD_MAPPINGS |
				    MAPBUF_INFO_EXPORT));
	ASSERT_NE(0, info.flags & MAPBUF_INFO_EXPORT);
	ASSERT_EQ(0, memcmp(zeroed.reserved, info.reserved,
			    sizeof(info.reserved)));
}

TEST_F(mapbuf, fill_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	/* The argument cannot be copied in. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_FILL, bad));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, fill_reserved_einval)
{
	struct mapbuf_fill fill;
	size_t i;

	/* Each reserved byte must be 0, and a refused FILL changes nothing. */
	for (i = 0; i < sizeof(fill.reserved); i++) {
		memset(&fill, 0, sizeof(fill));
		fill.value = 0xff;
		fill.reserved[i] = 1;
		ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_FILL, &fill));
		ASSERT_EQ(EINVAL, errno);
	}
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0));
}

TEST_F(mapbuf, fill_every_byte)
{
	/* FILL sets every byte of the buffer to the value. */
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	ASSERT_EQ(0xa5, byte_at(self->fd, 0));
	ASSERT_EQ(0xa5, byte_at(self->fd, self->size / 2));
	ASSERT_EQ(0xa5, byte_at(self->fd, self->size - 1));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0xa5));
}

TEST_F(mapbuf, clear_zeroes)
{
	ASSERT_EQ(0, fill_buffer(self->fd, 0xff));
	/* CLEAR sets every byte of the buffer to 0. */
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_CLEAR));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0));
}

/*
 * MAPBUF_IOC_RESIZE: a new zeroed buffer, or an error and the buffer as
 * it was. Each refusal is checked against a buffer filled with 0x5a.
 */
static bool unchanged(int fd, size_t size)
{
	return info_size(fd) == size && buffer_is(fd, size, 0x5a);
}

TEST_F(mapbuf, resize_rdonly_ebadf)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Replacing the buffer takes the same right as write(2). */
	ASSERT_EQ(-1, resize(fd, 2 * page));
	ASSERT_EQ(EBADF, errno);
	ASSERT_TRUE(unchanged(self->fd, self->size));
}

TEST_F(mapbuf, resize_rdonly_bad_pointer_ebadf)
{
	int fd = open(DEVICE, O_RDONLY);
	unsigned char *bad = reserve(page);

	ASSERT_LE(0, fd);
	ASSERT_MAPPED(bad);
	/* EBADF comes first: the argument is not even read. */
	ASSERT_EQ(-1, ioctl(fd, MAPBUF_IOC_RESIZE, bad));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(mapbuf, resize_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_MAPPED(bad);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* The argument cannot be copied in. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_RESIZE, bad));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_TRUE(unchanged(self->fd, self->size));
}

TEST_F(mapbuf, resize_mapped_bad_pointer_efault)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	/* EFAULT comes before EBUSY. */
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_RESIZE, NULL));
	ASSERT_EQ(EFAULT, errno);
}

/*
 * MAPBUF_IOC_RESIZE's refused arguments: EINVAL, also before EBUSY when
 * the buffer is mapped, and the buffer is kept with its bytes.
 */
FIXTURE(resize_einval) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(resize_einval) {
	__u64 size;
	__u64 flags;
	bool mapped;
};

/* An empty buffer is not a buffer. */
FIXTURE_VARIANT_ADD(resize_einval, size_zero) {
	.size = 0,
};

FIXTURE_VARIANT_ADD(resize_einval, size_zero_mapped) {
	.size = 0, .mapped = true,
};

/* One byte more than the largest buffer. */
FIXTURE_VARIANT_ADD(resize_einval, above_1g) {
	.size = SZ_1G + 1,
};

/* Cut to 32 bits, 1 << 32 would be 0 and 1 << 32 + 4096 one page. */
FIXTURE_VARIANT_ADD(resize_einval, size_4g) {
	.size = 1ULL << 32,
};

FIXTURE_VARIANT_ADD(resize_einval, size_4g_plus_4k) {
	.size = (1ULL << 32) + 4096,
};

/* Rounding these up to a page would wrap to 0. */
FIXTURE_VARIANT_ADD(resize_einval, u64_max) {
	.size = UINT64_MAX,
};

FIXTURE_VARIANT_ADD(resize_einval, u64_max_minus_4k) {
	.size = UINT64_MAX - 4096 + 2,
};

/* No flag is defined yet: each one is refused, whatever the size. */
FIXTURE_VARIANT_ADD(resize_einval, flag_bit_0) {
	.size = 4096, .flags = 1,
};

FIXTURE_VARIANT_ADD(resize_einval, flag_bit_63) {
	.size = 4096, .flags = 1ULL << 63,
};

FIXTURE_VARIANT_ADD(resize_einval, flag_mapped) {
	.size = 4096, .flags = 1, .mapped = true,
};

FIXTURE_SETUP(resize_einval)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(resize_einval)
{
	close(self->fd);
}

TEST_F(resize_einval, buffer_kept)
{
	unsigned char *p = NULL;

	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	if (variant->mapped) {
		p = map(self->fd, page, RW, MAP_SHARED, 0);
		ASSERT_MAPPED(p);
	}
	ASSERT_EQ(-1, resize_flags(self->fd, variant->size, variant->flags));
	ASSERT_EQ(EINVAL, errno);
	if (p)
		ASSERT_EQ(0, munmap(p, page));
	ASSERT_TRUE(unchanged(self->fd, self->size));
}

TEST_F(mapbuf, resize_one_byte_one_page)
{
	char c;

	ASSERT_EQ(0, resize(self->fd, 1));
	/* The size is rounded up to a whole page. */
	ASSERT_EQ(page, info_size(self->fd));
	ASSERT_EQ(0, map_errno(self->fd, page, RW, MAP_SHARED, 0));
	ASSERT_EQ(ENXIO, map_errno(self->fd, 2 * page, RW, MAP_SHARED, 0));
	ASSERT_EQ(1, pread(self->fd, &c, 1, page - 1));
	ASSERT_EQ(0, pread(self->fd, &c, 1, page));
}

TEST_F(mapbuf, resize_unaligned_rounds_up)
{
	/* Three pages and a byte take four pages. */
	ASSERT_EQ(0, resize(self->fd, 3 * page + 1));
	ASSERT_EQ(4 * page, info_size(self->fd));
	ASSERT_EQ(4 * page, lseek(self->fd, 0, SEEK_END));
	ASSERT_TRUE(buffer_is(self->fd, 4 * page, 0));
}

TEST_F(mapbuf, resize_same_size_zeroes)
{
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* The same size still replaces the buffer with a zeroed one. */
	ASSERT_EQ(0, resize(self->fd, self->size));
	ASSERT_EQ(self->size, info_size(self->fd));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0));
	ASSERT_TRUE(mapping_is(self->fd, self->size, 0));
}

TEST_F(mapbuf, resize_shrink_zeroes)
{
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	ASSERT_EQ(0, resize(self->fd, 3 * page));
	/* Nothing of the old buffer is kept, not even its start. */
	ASSERT_EQ(3 * page, info_size(self->fd));
	ASSERT_TRUE(buffer_is(self->fd, 3 * page, 0));
	ASSERT_TRUE(mapping_is(self->fd, 3 * page, 0));
}

TEST_F(mapbuf, resize_grow_zeroes)
{
	size_t size = self->size + 3 * page;

	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	ASSERT_EQ(0, resize(self->fd, size));
	/* Every byte of the larger buffer is zero. */
	ASSERT_EQ(size, info_size(self->fd));
	ASSERT_TRUE(buffer_is(self->fd, size, 0));
	ASSERT_TRUE(mapping_is(self->fd, size, 0));
}

TEST_F(mapbuf, resize_other_fd_sees_size)
{
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, resize(self->fd, 2 * page));
	/* The buffer belongs to the device, not to the file. */
	ASSERT_EQ(2 * page, info_size(fd));
	ASSERT_EQ(2 * page, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(0, map_errno(fd, 2 * page, PROT_READ, MAP_SHARED, 0));
	ASSERT_EQ(ENXIO, map_errno(fd, 3 * page, PROT_READ, MAP_SHARED, 0));
}

TEST_F(mapbuf, resize_keeps_position)
{
	char c = 'p';

	ASSERT_EQ(3 * page, lseek(self->fd, 3 * page, SEEK_SET));
	ASSERT_EQ(0, resize(self->fd, 2 * page));
	/* The position stays, now past the end: EOF and ENOSPC. */
	ASSERT_EQ(3 * page, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_EQ(0, read(self->fd, &c, 1));
	ASSERT_EQ(-1, write(self->fd, &c, 1));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(3 * page, lseek(self->fd, 0, SEEK_CUR));
	/* Back in range after growing again. */
	ASSERT_EQ(0, resize(self->fd, 4 * page));
	ASSERT_EQ(1, write(self->fd, &c, 1));
	ASSERT_EQ('p', byte_at(self->fd, 3 * page));
}

TEST_F(mapbuf, resize_then_mmap)
{
	unsigned char *p;

	ASSERT_EQ(0, resize(self->fd, 2 * page));
	/* New mappings are checked against the new size. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, 3 * page, RW, MAP_SHARED, 0));
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   2 * page));
	p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* And map the new buffer. */
	p[2 * page - 1] = 'n';
	ASSERT_EQ('n', byte_at(self->fd, 2 * page - 1));
	ASSERT_EQ(0, munmap(p, 2 * page));
	ASSERT_EQ(0, resize(self->fd, self->size + page));
	p = map(self->fd, self->size + page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, p[self->size]);
}

TEST_F(mapbuf, resize_then_io)
{
	char buf[16];

	ASSERT_EQ(0, resize(self->fd, 2 * page));
	/* read(2), write(2) and lseek(2) end at the new size. */
	ASSERT_EQ(10, pwrite(self->fd, "0123456789abcdef", 16,
			     2 * page - 10));
	ASSERT_EQ(10, pread(self->fd, buf, sizeof(buf), 2 * page - 10));
	ASSERT_EQ(0, memcmp(buf, "0123456789", 10));
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, 2 * page));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(-1, lseek(self->fd, 2 * page + 1, SEEK_SET));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(2 * page, lseek(self->fd, 0, SEEK_END));
}

TEST_F(mapbuf, rmmod_fd_ewouldblock)
{
	/* An open file holds the module. */
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	ASSERT_EQ(self->size, info_size(self->fd));
}

/*
 * An mmap(2) that breaks two rules fails with the errno of the rule
 * checked first: the architecture's system call entry, then do_mmap(),
 * then mapbuf's mmap handler. One variant per pair of rules next to each
 * other in that order, where one input can break both.
 */
enum order_len {
	LEN_TWO_PAGES,
	LEN_ZERO,
	LEN_WRAPS,	/* SIZE_MAX: 0 pages once rounded up */
	LEN_HUGE,	/* SIZE_MAX rounded down to a page */
};

enum order_off {
	OFF_ZERO,
	OFF_UNALIGNED,	/* 1 */
	OFF_END,	/* the buffer size */
	OFF_OVERFLOW,	/* minus one page: plus two pages passes 2^64 */
};

FIXTURE(mmap_order) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(mmap_order) {
	int open_flags;
	int prot;
	int flags;	/* with MAP_FIXED_NOREPLACE, at a range in use */
	enum order_len len;
	enum order_off off;
	int error;	/* the errno of the rule checked first */
};

/* The system call checks the offset before do_mmap() sees the length. */
FIXTURE_VARIANT_ADD(mmap_order, offset_unaligned_before_length_wraps) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED,
	.len = LEN_WRAPS,
	.off = OFF_UNALIGNED,
	.error = EINVAL,
};

/* do_mmap() refuses an empty mapping before it looks for a range. */
FIXTURE_VARIANT_ADD(mmap_order, length_zero_before_noreplace) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED | MAP_FIXED_NOREPLACE,
	.len = LEN_ZERO,
	.off = OFF_ZERO,
	.error = EINVAL,
};

/*
 * A length larger than the address space fails when the range is chosen,
 * before MAP_FIXED_NOREPLACE looks at what the range holds.
 */
FIXTURE_VARIANT_ADD(mmap_order, length_huge_before_noreplace) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED | MAP_FIXED_NOREPLACE,
	.len = LEN_HUGE,
	.off = OFF_ZERO,
	.error = ENOMEM,
};

/*
 * do_mmap()'s first overflow check counts in pages and cannot trip for a
 * 64-bit offset; the byte check that does trip (file_mmap_ok()) comes
 * after the range is chosen.
 */
FIXTURE_VARIANT_ADD(mmap_order, length_huge_before_offset_overflow) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED,
	.len = LEN_HUGE,
	.off = OFF_OVERFLOW,
	.error = ENOMEM,
};

/* MAP_FIXED_NOREPLACE is checked before the file's offset limit. */
FIXTURE_VARIANT_ADD(mmap_order, noreplace_before_offset_overflow) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED | MAP_FIXED_NOREPLACE,
	.len = LEN_TWO_PAGES,
	.off = OFF_OVERFLOW,
	.error = EEXIST,
};

/* The file's offset limit holds before its flags are validated. */
FIXTURE_VARIANT_ADD(mmap_order, offset_overflow_before_map_sync) {
	.open_flags = O_RDWR,
	.prot = RW,
	.flags = MAP_SHARED_VALIDATE | MAP_SYNC,
	.len = LEN_TWO_PAGES,
	.off = OFF_OVERFLOW,
	.error = EOVERFLOW,
};

/* Unsupported flags are refused before the file's access mode is read. */
FIXTURE_VARIANT_ADD(mmap_order, map_sync_before_rdonly_shared_write) {
	.open_flags = O_RDONLY,
	.prot = RW,
	.flags = MAP_SHARED_VALIDATE | MAP_SYNC,
	.len = LEN_TWO_PAGES,
	.off = OFF_ZERO,
	.error = EOPNOTSUPP,
};

/* The kernel's access checks come before mapbuf is asked at all. */
FIXTURE_VARIANT_ADD(mmap_order, rdonly_shared_write_before_exec) {
	.open_flags = O_RDONLY,
	.prot = RW | PROT_EXEC,
	.flags = MAP_SHARED,
	.len = LEN_TWO_PAGES,
	.off = OFF_ZERO,
	.error = EACCES,
};

FIXTURE_VARIANT_ADD(mmap_order, wronly_before_exec) {
	.open_flags = O_WRONLY,
	.prot = PROT_READ | PROT_EXEC,
	.flags = MAP_SHARED,
	.len = LEN_TWO_PAGES,
	.off = OFF_ZERO,
	.error = EACCES,
};

/* mapbuf refuses PROT_EXEC before it looks at the range. */
FIXTURE_VARIANT_ADD(mmap_order, exec_before_range) {
	.open_flags = O_RDWR,
	.prot = PROT_READ | PROT_EXEC,
	.flags = MAP_SHARED,
	.len = LEN_TWO_PAGES,
	.off = OFF_END,
	.error = EPERM,
};

FIXTURE_SETUP(mmap_order)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(mmap_order)
{
	close(self->fd);
}

static size_t order_len(enum order_len len)
{
	switch (len) {
	case LEN_ZERO:
		return 0;
	case LEN_WRAPS:
		return SIZE_MAX;
	case LEN_HUGE:
		return (size_t)-page;
	default:
		return 2 * page;
	}
}

static off_t order_off(enum order_off off, size_t size)
{
	switch (off) {
	case OFF_UNALIGNED:
		return 1;
	case OFF_END:
		return size;
	case OFF_OVERFLOW:
		return -(off_t)page;
	default:
		return 0;
	}
}

TEST_F(mmap_order, earlier_rule_wins)
{
	int error = variant->error;
	void *addr = NULL;
	void *p;
	int fd;

	fd = open(DEVICE, variant->open_flags);
	ASSERT_LE(0, fd);
	if (variant->flags & MAP_FIXED_NOREPLACE) {
		addr = reserve(2 * page);
		ASSERT_MAPPED(addr);
	}
	/*
	 * 32-bit: the C library refuses an offset of 16 TiB or more (EINVAL)
	 * before the kernel sees any rule.
	 */
	if (!LP64 && variant->off == OFF_OVERFLOW)
		error = EINVAL;
	p = mmap(addr, order_len(variant->len), variant->prot, variant->flags,
		 fd, order_off(variant->off, self->size));
	ASSERT_EQ(ADDR(MAP_FAILED), ADDR(p));
	ASSERT_EQ(error, errno);
	ASSERT_EQ(0, nr_mappings(self->fd));
}

TEST_HARNESS_MAIN
