// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of /dev/mapbuf0 against Documentation/misc-devices/mapbuf.rst:
 *
 * - MAP_SHARED and MAP_PRIVATE mappings (fixture "mapping", one variant
 *   each): what a store, a write(2), MAPBUF_IOC_FILL and a fork(2) show to
 *   the other views of the buffer, /proc/self/maps, mremap(2), mprotect(2),
 *   the mmap(2) errors and the nr_mappings count;
 * - fixture "mapbuf": copy-on-write details of private mappings, offsets,
 *   every mmap(2) and mprotect(2) error, read-only and write-only files,
 *   MAP_POPULATE, mlock(2), MAP_FIXED, splits, closing the file while
 *   mapped, read(2), write(2), lseek(2) and the ioctls.
 *
 * Every test starts from a cleared buffer. The harness runs each test in a
 * process of its own, so mappings and files are left for exit to clean up.
 * The device is opened read-write; the tests skip when it is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/mapbuf.h>

#include "../kselftest_harness.h"

#define DEVICE	"/dev/mapbuf0"
#define RW	(PROT_READ | PROT_WRITE)

static size_t page;

/*
 * Open the device read-write, check that it holds at least four pages and
 * clear it. Return -1 when the device does not exist.
 */
static int open_buffer(struct __test_metadata *_metadata, size_t *size)
{
	struct mapbuf_info info;
	int fd;

	page = sysconf(_SC_PAGESIZE);
	fd = open(DEVICE, O_RDWR);
	if (fd < 0 && errno == ENOENT)
		return -1;
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MAPBUF_IOC_INFO, &info));
	ASSERT_LE(4 * page, info.size);
	ASSERT_EQ(0, ioctl(fd, MAPBUF_IOC_CLEAR));
	*size = info.size;
	return fd;
}

/* mmap(2) len bytes of fd at off; MAP_FAILED with errno set on failure. */
static unsigned char *map(int fd, size_t len, int prot, int flags, off_t off)
{
	return mmap(NULL, len, prot, flags, fd, off);
}

/* The errno of a refused mmap(2), or 0 (and no mapping) if it succeeds. */
static int map_errno(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/* An inaccessible anonymous range: a bad user pointer or a place to move to. */
static unsigned char *reserve(size_t len)
{
	return map(-1, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
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

/* nr_mappings as MAPBUF_IOC_INFO reports it, or -1. */
static int nr_mappings(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		return -1;
	return info.nr_mappings;
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

	ASSERT_NE(MAP_FAILED, p);
	p[5] = 'x';
	/* A shared mapping is the buffer; a private store stays in a copy. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, byte_at(self->fd, 5));
}

TEST_F(mapping, store_vs_shared_mapping)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	unsigned char *q = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, q);
	p[5] = 'x';
	/* A second shared mapping of the same file sees the buffer only. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, q[5]);
}

TEST_F(mapping, store_vs_second_open)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int fd = open(DEVICE, O_RDWR);
	unsigned char *q;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_LE(0, fd);
	q = map(fd, page, RW, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, q);
	p[5] = 'x';
	/* Every open file of the device reaches the same buffer. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'x' : 0, q[5]);
}

TEST_F(mapping, fork_child_store)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	int status;

	ASSERT_NE(MAP_FAILED, p);
	status = run_child(child_store, p);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* fork(2) keeps shared mappings shared, private ones copy-on-write. */
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'c' : 0, p[0]);
}

TEST_F(mapping, write_seen_through_mapping)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, p[7]);
	ASSERT_EQ(1, put_byte(self->fd, 7, 'w'));
	/* The page was never stored to, so even a private mapping follows. */
	ASSERT_EQ('w', p[7]);
}

TEST_F(mapping, fill_seen_through_mapping)
{
	unsigned char *p = map(self->fd, self->size, RW, variant->flags, 0);
	size_t i;

	ASSERT_NE(MAP_FAILED, p);
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
	ASSERT_NE(MAP_FAILED, p);
	/* The mmap offset is a byte offset into the buffer. */
	ASSERT_EQ('o', p[0]);
	ASSERT_EQ('q', p[page - 1]);
}

TEST_F(mapping, proc_maps_line)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	char line[512], perms[5];
	int fields;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_TRUE(maps_line(p, line, sizeof(line)));
	fields = sscanf(line, "%*x-%*x %4s", perms);
	ASSERT_EQ(1, fields);
	/* The mapping is named after the device, with s or p for its type. */
	ASSERT_STREQ(variant->perms, perms);
	ASSERT_NE(NULL, strstr(line, DEVICE));
}

TEST_F(mapping, store_past_end_sigsegv)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	int status;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + page, page));
	status = run_child(child_store, p + page);
	/* The address is no longer mapped at all. */
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSEGV, WTERMSIG(status));
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

TEST_F(mapping, mprotect_exec_eacces)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);

	ASSERT_NE(MAP_FAILED, p);
	/* A mapping that may never execute cannot be made executable. */
	ASSERT_EQ(-1, mprotect(p, page, PROT_READ | PROT_EXEC));
	ASSERT_EQ(EACCES, errno);
}

TEST_F(mapping, mremap_grow_efault)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);

	ASSERT_NE(MAP_FAILED, p);
	/* The buffer has a fixed size, so its mappings cannot grow. */
	ASSERT_EQ(MAP_FAILED, mremap(p, 2 * page, 3 * page, MREMAP_MAYMOVE));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapping, mremap_shrink_keeps_data)
{
	unsigned char *p = map(self->fd, 4 * page, RW, variant->flags, 0);

	ASSERT_NE(MAP_FAILED, p);
	p[page + 1] = 'm';
	ASSERT_EQ(p, mremap(p, 4 * page, 2 * page, 0));
	/* Shrinking only drops the tail; the rest is the same mapping. */
	ASSERT_EQ('m', p[page + 1]);
}

TEST_F(mapping, mremap_move_keeps_data)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	unsigned char *to = reserve(2 * page);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, to);
	p[page + 1] = 'm';
	ASSERT_EQ(to, mremap(p, 2 * page, 2 * page,
			     MREMAP_MAYMOVE | MREMAP_FIXED, to));
	/* Moving keeps the pages, private copies included. */
	ASSERT_EQ('m', to[page + 1]);
}

TEST_F(mapping, nr_mappings_mmap_adds_one)
{
	int before = nr_mappings(self->fd);

	ASSERT_LE(0, before);
	ASSERT_NE(MAP_FAILED, map(self->fd, page, RW, variant->flags, 0));
	/* Every VMA of the buffer counts, shared or private. */
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
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

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, p[9]);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Reading a private page does not copy it. */
	ASSERT_EQ(0x5a, p[9]);
}

TEST_F(mapbuf, private_written_page_keeps_copy)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_PRIVATE, 0);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'p';
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Page 0 was copied when stored to; page 1 still is the buffer. */
	ASSERT_EQ('p', p[0]);
	ASSERT_EQ(0, p[1]);
	ASSERT_EQ(0x5a, p[page]);
}

TEST_F(mapbuf, private_dontneed_drops_copy)
{
	unsigned char *p = map(self->fd, page, RW, MAP_PRIVATE, 0);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'p';
	ASSERT_EQ(0, madvise(p, page, MADV_DONTNEED));
	/* Without its copy the page shows the buffer again. */
	ASSERT_EQ(0, p[0]);
}

TEST_F(mapbuf, rdonly_private_write_cow)
{
	int fd = open(DEVICE, O_RDONLY);
	unsigned char *p;

	ASSERT_LE(0, fd);
	p = map(fd, page, RW, MAP_PRIVATE, 0);
	ASSERT_NE(MAP_FAILED, p);
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
	ASSERT_NE(MAP_FAILED, p);
	/* The last page lies wholly inside the buffer. */
	ASSERT_EQ('L', p[page - 1]);
}

TEST_F(mapbuf, map_partial_length)
{
	unsigned char *p;

	ASSERT_EQ(1, put_byte(self->fd, page - 1, 'e'));
	p = map(self->fd, 100, RW, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
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

TEST_F(mapbuf, huge_offset_enxio)
{
	if (sizeof(long) < 8)
		SKIP(return, "needs a 64-bit unsigned long");
	/* 1 TiB fits in an unsigned long but is far past a 1 GiB buffer. */
	ASSERT_EQ(ENXIO, map_errno(self->fd, page, RW, MAP_SHARED,
				   (off_t)1 << 40));
}

TEST_F(mapbuf, offset_overflow_eoverflow)
{
	if (sizeof(long) < 8)
		SKIP(return, "needs a 64-bit unsigned long");
	/* 0xfffffffffffff000 (4 KiB pages) plus two pages wraps around. */
	ASSERT_EQ(EOVERFLOW, map_errno(self->fd, 2 * page, RW, MAP_SHARED,
				       (off_t)-page));
}

TEST_F(mapbuf, exec_past_end_eperm)
{
	/* EPERM is checked before ENXIO. */
	ASSERT_EQ(EPERM, map_errno(self->fd, page, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->size));
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
	ASSERT_NE(MAP_FAILED, p);
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

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mincore(p, 4 * page, vec));
	/* MAP_POPULATE maps every page before mmap(2) returns. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, vec[i] & 1);
}

TEST_F(mapbuf, mlock_changes_nothing)
{
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mlock(p, 2 * page));
	p[page] = 'k';
	ASSERT_EQ(0, munlock(p, 2 * page));
	/* The pages are never swapped, so locking them is a no-op. */
	ASSERT_EQ('k', byte_at(self->fd, page));
}

TEST_F(mapbuf, map_fixed_over_anon)
{
	unsigned char *anon = map(-1, 2 * page, RW,
				  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	unsigned char *p;

	ASSERT_NE(MAP_FAILED, anon);
	memset(anon, 'a', 2 * page);
	p = mmap(anon, 2 * page, RW, MAP_SHARED | MAP_FIXED, self->fd, 0);
	/* MAP_FIXED replaces whatever was mapped there. */
	ASSERT_EQ(anon, p);
	ASSERT_EQ(0, p[page]);
	p[page] = 'f';
	ASSERT_EQ('f', byte_at(self->fd, page));
}

TEST_F(mapbuf, close_keeps_mapping)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);
	int fd;

	ASSERT_NE(MAP_FAILED, p);
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

	ASSERT_NE(MAP_FAILED, p);
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

	ASSERT_NE(MAP_FAILED, p);
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

	ASSERT_NE(MAP_FAILED, p);
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

	ASSERT_NE(MAP_FAILED, p);
	before = nr_mappings(self->fd);
	ASSERT_EQ(0, munmap(p + page, page));
	/* A hole in the middle leaves two VMAs. */
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
}

TEST_F(mapbuf, nr_mappings_munmap_removes_one)
{
	int before = nr_mappings(self->fd);
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(before + 1, nr_mappings(self->fd));
	ASSERT_EQ(0, munmap(p, page));
	/* Unmapping a whole VMA removes it from the count. */
	ASSERT_EQ(before, nr_mappings(self->fd));
}

TEST_F(mapbuf, nr_mappings_fork_adds_one)
{
	unsigned char *p = map(self->fd, page, RW, MAP_SHARED, 0);
	int before, status;

	ASSERT_NE(MAP_FAILED, p);
	before = nr_mappings(self->fd);
	status = run_child(child_nr_mappings, &self->fd);
	/* The child's copy of the mapping is one more VMA. */
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(before + 1, WEXITSTATUS(status));
}

TEST_F(mapbuf, read_into_own_mapping)
{
	unsigned char *buf = malloc(page);
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(MAP_FAILED, p);
	pattern(buf, page);
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	/* The copy faults in page 1 of the buffer itself: no deadlock. */
	ASSERT_EQ(page, read(self->fd, p + page, page));
	ASSERT_EQ(0, memcmp(buf, p + page, page));
}

TEST_F(mapbuf, write_from_own_mapping)
{
	unsigned char *buf = malloc(page);
	unsigned char *p = map(self->fd, 2 * page, RW, MAP_SHARED, 0);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(MAP_FAILED, p);
	pattern(buf, page);
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	ASSERT_EQ(page, lseek(self->fd, page, SEEK_SET));
	/* The copy faults in page 0 of the buffer itself: no deadlock. */
	ASSERT_EQ(page, write(self->fd, p, page));
	ASSERT_EQ(0, memcmp(buf, p + page, page));
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

	ASSERT_NE(MAP_FAILED, bad);
	/* Not one byte can be copied out. */
	ASSERT_EQ(-1, pread(self->fd, bad, 16, 0));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, write_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_NE(MAP_FAILED, bad);
	/* Not one byte can be copied in. */
	ASSERT_EQ(-1, pwrite(self->fd, bad, 16, 0));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(mapbuf, read_partial_fault_short)
{
	unsigned char *p = half_bad();

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* The copy stops at the inaccessible page, 16 bytes in. */
	ASSERT_EQ(16, pread(self->fd, p + page - 16, 32, 0));
	ASSERT_EQ(0x5a, p[page - 16]);
	ASSERT_EQ(0x5a, p[page - 1]);
}

TEST_F(mapbuf, write_partial_fault_short)
{
	unsigned char *p = half_bad();

	ASSERT_NE(NULL, p);
	memset(p, 'w', page);
	/* The copy stops at the inaccessible page, 16 bytes in. */
	ASSERT_EQ(16, pwrite(self->fd, p + page - 16, 32, 0));
	ASSERT_EQ('w', byte_at(self->fd, 0));
	ASSERT_EQ('w', byte_at(self->fd, 15));
}

TEST_F(mapbuf, write_partial_fault_keeps_rest)
{
	unsigned char *p = half_bad();

	ASSERT_NE(NULL, p);
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

TEST_F(mapbuf, info_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_NE(MAP_FAILED, bad);
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

TEST_F(mapbuf, info_reserved_zero)
{
	struct mapbuf_info info;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, &info));
	/* reserved is always reported as 0. */
	ASSERT_EQ(0, info.reserved);
}

TEST_F(mapbuf, fill_bad_pointer_efault)
{
	unsigned char *bad = reserve(page);

	ASSERT_NE(MAP_FAILED, bad);
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

TEST_HARNESS_MAIN
