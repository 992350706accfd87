// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of /dev/mapbuf0 against Documentation/userspace-api/mapbuf.rst:
 * a case per rule, the inputs of a rule as the rows (variants) of one
 * fixture. What the core kernel decides for every file mapping is left to
 * mm's own tests, except where mapbuf chose it (VM_DONTEXPAND, no exec).
 *
 * Each test runs in a process of its own, from a cleared buffer of the
 * load-time size; mapbuf.sh loads and unloads the module around it. For
 * a 32-bit build the C library refuses mmap(2) offsets of 16 TiB or more
 * (EINVAL) before the kernel sees them.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

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
	unsigned char *buf = malloc(size);
	size_t i = 0;

	if (buf && pread(fd, buf, size, 0) == (ssize_t)size)
		while (i < size && buf[i] == c)
			i++;
	free(buf);
	return i == size;
}

/* Whether a new shared mapping of size bytes shows every byte as c. */
static bool mapping_is(int fd, size_t size, unsigned char c)
{
	unsigned char *p = map(fd, size, PROT_READ, MAP_SHARED, 0);
	size_t i;

	if (p == MAP_FAILED)
		return false;
	for (i = 0; i < size && p[i] == c; i++)
		;
	munmap(p, size);
	return i == size;
}

/*
 * The number of VMAs of this process that map DEVICE, or -1; with perms,
 * the permissions of the one at addr in /proc/self/maps, or "".
 */
static int maps_scan(const void *addr, char perms[5])
{
	char line[512], path[256], mode[5];
	unsigned long start;
	int n = 0;
	FILE *f;

	if (perms)
		perms[0] = '\0';
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%*x %4s %*s %*s %*s %255s", &start, mode,
			   path) != 3 || strcmp(path, DEVICE))
			continue;
		n++;
		if (perms && start == (unsigned long)addr)
			memcpy(perms, mode, sizeof(mode));
	}
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
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static int child_store(void *p)
{
	*(unsigned char *)p = 'c';
	return 0;
}

static int child_nr_mappings(void *fd)
{
	return nr_mappings(*(int *)fd);
}

/* The fixtures' buffer: open read-write, cleared, at its load size. */
static int buffer_fd(struct __test_metadata *_metadata, size_t *size)
{
	int fd = open_buffer(_metadata, size);

	ASSERT_LE(0, fd) TH_LOG(DEVICE " is missing");
	return fd;
}

FIXTURE(mapbuf) { int fd; size_t size; };
FIXTURE_SETUP(mapbuf) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(mapbuf) { close(self->fd); }

/*
 * What a store through a mapping, or a change of the buffer, shows to the
 * other views of the buffer: a shared mapping is the buffer, a private one
 * a copy-on-write view of it.
 */
FIXTURE(view) { int fd; size_t size; };
FIXTURE_SETUP(view) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(view) { close(self->fd); }

FIXTURE_VARIANT(view) {
	int flags;
	const char *perms;	/* in /proc/self/maps */
};

FIXTURE_VARIANT_ADD(view, shared) { .flags = MAP_SHARED, .perms = "rw-s" };
FIXTURE_VARIANT_ADD(view, private) { .flags = MAP_PRIVATE, .perms = "rw-p" };

TEST_F(view, store_seen_by_others)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	unsigned char *q = map(self->fd, page, RW, MAP_SHARED, 0);
	int expect = variant->flags == MAP_SHARED ? 'x' : 0;
	int fd = open(DEVICE, O_RDWR), status;
	unsigned char *r;

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(q);
	ASSERT_LE(0, fd);
	r = map(fd, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(r);
	p[5] = 'x';
	/* read(2), a mapping of the same file and one of another file. */
	ASSERT_EQ(expect, byte_at(self->fd, 5));
	ASSERT_EQ(expect, q[5]);
	ASSERT_EQ(expect, r[5]);
	/* fork(2) keeps shared mappings shared, private ones copy-on-write. */
	status = run_child(child_store, p);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(variant->flags == MAP_SHARED ? 'c' : 0, p[0]);
}

TEST_F(view, buffer_changes_seen)
{
	unsigned char *p = map(self->fd, self->size, RW, variant->flags, 0);
	size_t i;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, p[7]);
	ASSERT_EQ(1, put_byte(self->fd, 7, 'w'));
	/* No page was stored to, so even a private mapping follows. */
	ASSERT_EQ('w', p[7]);
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	for (i = 0; i < self->size; i++)
		ASSERT_EQ(0xa5, p[i]);
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_CLEAR));
	for (i = 0; i < self->size; i++)
		ASSERT_EQ(0, p[i]);
}

TEST_F(view, private_copy_until_dontneed)
{
	unsigned char *p = map(self->fd, 2 * page, RW, variant->flags, 0);
	bool shared = variant->flags == MAP_SHARED;

	ASSERT_MAPPED(p);
	p[0] = 'p';
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* A private page copied by the store no longer follows the buffer. */
	ASSERT_EQ(shared ? 0x5a : 'p', p[0]);
	ASSERT_EQ(shared ? 0x5a : 0, p[1]);
	ASSERT_EQ(0x5a, p[page]);
	/* MADV_DONTNEED drops the copy: the page comes back from the buffer. */
	ASSERT_EQ(0, madvise(p, page, MADV_DONTNEED));
	ASSERT_EQ(0x5a, p[0]);
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(view, proc_maps_line)
{
	unsigned char *p = map(self->fd, page, RW, variant->flags, 0);
	char perms[5];

	ASSERT_MAPPED(p);
	/* Named after the device, with s or p for its type, never x. */
	ASSERT_EQ(1, maps_scan(p, perms));
	ASSERT_STREQ(variant->perms, perms);
}

TEST_F(view, own_mapping_as_user_buffer)
{
	unsigned char *p = map(self->fd, 3 * page, RW, variant->flags, 0);
	unsigned char *buf = malloc(page);
	size_t i;

	ASSERT_MAPPED(p);
	ASSERT_NE(0, ADDR(buf));
	for (i = 0; i < page; i++)
		buf[i] = i % 251 + 1;
	ASSERT_EQ(page, pwrite(self->fd, buf, page, 0));
	/* The copies fault in pages of the buffer itself: no deadlock. */
	ASSERT_EQ(page, pread(self->fd, p + page, page, 0));
	ASSERT_EQ(0, memcmp(buf, p + page, page));
	ASSERT_EQ(variant->flags == MAP_SHARED ? buf[0] : 0,
		  byte_at(self->fd, page));
	ASSERT_EQ(page, pwrite(self->fd, p, page, 2 * page));
	ASSERT_EQ(buf[page - 1], byte_at(self->fd, 3 * page - 1));
	ASSERT_EQ(buf[7], p[2 * page + 7]);
}

/*
 * The range of mmap(2): [offset, offset + length) must lie inside the
 * buffer (ENXIO otherwise), the length rounded up to whole pages.
 */
FIXTURE(range) { int fd; size_t size; };
FIXTURE_SETUP(range) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(range) { close(self->fd); }

FIXTURE_VARIANT(range) {
	long long off;		/* bytes, plus pages, plus the size if end */
	int pages;
	bool end;
	size_t len;		/* bytes, plus len_pages, plus the size if */
	int len_pages;		/* whole; one page if that makes 0 */
	bool whole;
	int flags;		/* MAP_SHARED if 0 */
	bool ok;		/* mapped; otherwise ENXIO */
	bool libc;		/* 32-bit: the C library's EINVAL */
};

FIXTURE_VARIANT_ADD(range, whole_buffer) { .whole = true, .ok = true };
FIXTURE_VARIANT_ADD(range, last_page) { .pages = -1, .end = true, .ok = true };
FIXTURE_VARIANT_ADD(range, partial_length) { .len = 100, .ok = true };
FIXTURE_VARIANT_ADD(range, inner_pages) {
	.pages = 2, .len_pages = 2, .flags = MAP_PRIVATE, .ok = true
};

FIXTURE_VARIANT_ADD(range, length_past_end) { .len = 1, .whole = true };
FIXTURE_VARIANT_ADD(range, across_end) {
	.pages = -1, .end = true, .len_pages = 2
};

FIXTURE_VARIANT_ADD(range, across_end_private) {
	.pages = -1, .end = true, .len_pages = 2, .flags = MAP_PRIVATE
};

FIXTURE_VARIANT_ADD(range, offset_at_end) { .end = true };
FIXTURE_VARIANT_ADD(range, offset_past_end) { .pages = 1, .end = true };
/* Page offset 1 << 20: a 32-bit byte offset would wrap to 0. */
FIXTURE_VARIANT_ADD(range, offset_4g) { .off = 1LL << 32 };
FIXTURE_VARIANT_ADD(range, offset_1t) { .off = 1LL << 40 };
/* The largest offset that mmap2, the 32-bit system call, can carry. */
FIXTURE_VARIANT_ADD(range, offset_mmap2_max) { .off = (1LL << 44) - 4096 };
FIXTURE_VARIANT_ADD(range, offset_16t) { .off = 1LL << 44, .libc = 1 };
/* A negative off_t: mmap takes it as an unsigned page offset. */
FIXTURE_VARIANT_ADD(range, offset_sign_bit) { .off = LLONG_MIN, .libc = 1 };
/* The last page of the offset space: no sum in the check may wrap. */
FIXTURE_VARIANT_ADD(range, offset_end_of_space) { .off = -8192, .libc = 1 };

TEST_F(range, mapped_or_enxio)
{
	off_t off = variant->off + variant->pages * (off_t)page +
		    (variant->end ? self->size : 0);
	size_t len = variant->len + variant->len_pages * page +
		     (variant->whole ? self->size : 0) ?: page;
	size_t whole = (len + page - 1) / page * page;
	int error = variant->ok ? 0 : ENXIO;
	unsigned char *p;

	if (sizeof(long) == 4 && variant->libc)
		error = EINVAL;
	/* Marks at both ends of the range, which the mapping must show. */
	if (!error) {
		ASSERT_EQ(1, put_byte(self->fd, off, 'f'));
		ASSERT_EQ(1, put_byte(self->fd, off + whole - 1, 'l'));
	}
	p = map(self->fd, len, RW, variant->flags ?: MAP_SHARED, off);
	if (error) {
		ASSERT_EQ(ADDR(MAP_FAILED), ADDR(p));
		ASSERT_EQ(error, errno);
		ASSERT_EQ(0, nr_mappings(self->fd));
		return;
	}
	ASSERT_MAPPED(p);
	ASSERT_EQ('f', p[0]);
	ASSERT_EQ('l', p[whole - 1]);
	ASSERT_EQ(1, nr_mappings(self->fd));
}

/*
 * Who may map how: the access mode of the file, PROT_EXEC (asked for or
 * added by READ_IMPLIES_EXEC) and mprotect(2) afterwards.
 */
enum dev_mount { MOUNT_AS_IS, MOUNT_EXEC, MOUNT_NOEXEC };

FIXTURE(access) { int fd; size_t size; };
FIXTURE_SETUP(access) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(access) { close(self->fd); }

FIXTURE_VARIANT(access) {
	int open_flags;
	int prot;
	int flags;
	enum dev_mount mount;	/* and READ_IMPLIES_EXEC if not as is */
	int error;		/* of mmap(2); 0: mapped */
	int mprotect;		/* then asked for, if not 0: EACCES */
	bool at_end;		/* the offset: the size of the buffer */
};

#define R	PROT_READ
#define RX	(PROT_READ | PROT_EXEC)
#define SH	MAP_SHARED
#define PR	MAP_PRIVATE
FIXTURE_VARIANT_ADD(access, rdwr_shared) { O_RDWR, RW, SH };
/* A shared writable mapping writes the file, now or after mprotect. */
FIXTURE_VARIANT_ADD(access, rdonly_shared_write) {
	O_RDONLY, RW, SH, 0, EACCES
};

FIXTURE_VARIANT_ADD(access, rdonly_shared_mprotect_write) {
	O_RDONLY, R, SH, 0, 0, RW
};

/* The stores go to the private copies: reading the file is enough. */
FIXTURE_VARIANT_ADD(access, rdonly_private_write) { O_RDONLY, RW, PR };
/* Every mapping can be read, so the file must be readable. */
FIXTURE_VARIANT_ADD(access, wronly_shared) { O_WRONLY, R, SH, 0, EACCES };
FIXTURE_VARIANT_ADD(access, wronly_private) { O_WRONLY, RW, PR, 0, EACCES };
/* The buffer is data that any writer can change, never code. */
FIXTURE_VARIANT_ADD(access, exec_shared) { O_RDWR, RX, SH, 0, EPERM };
FIXTURE_VARIANT_ADD(access, exec_private) { O_RDWR, RX, PR, 0, EPERM };
FIXTURE_VARIANT_ADD(access, exec_only) { O_RDWR, PROT_EXEC, SH, 0, EPERM };
/* mapbuf checks PROT_EXEC before the range. */
FIXTURE_VARIANT_ADD(access, exec_past_end) {
	O_RDWR, RX, SH, 0, EPERM, 0, true
};

/* The kernel turns PROT_READ into PROT_READ | PROT_EXEC: refused... */
FIXTURE_VARIANT_ADD(access, read_implies_exec_shared) {
	O_RDWR, R, SH, MOUNT_EXEC, EPERM
};

FIXTURE_VARIANT_ADD(access, read_implies_exec_private) {
	O_RDWR, R, PR, MOUNT_EXEC, EPERM
};

/* ...but not on a noexec mount: mapped, not executable. */
FIXTURE_VARIANT_ADD(access, read_implies_exec_noexec_mount) {
	O_RDWR, R, SH, MOUNT_NOEXEC
};

FIXTURE_VARIANT_ADD(access, mprotect_exec_shared) { O_RDWR, RW, SH, 0, 0, RX };
FIXTURE_VARIANT_ADD(access, mprotect_exec_private) { O_RDWR, RW, PR, 0, 0, RX };

/* Whether the file system that holds DEVICE is mounted noexec. */
static bool device_noexec(void)
{
	struct statvfs st;

	return !statvfs(DEVICE, &st) && (st.f_flag & ST_NOEXEC);
}

/*
 * /dev bound onto itself, noexec or not, in a mount namespace of this
 * test's own: the rest of the system sees no change.
 */
static int remount_dev(bool noexec)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | (noexec ? MS_NOEXEC : 0);

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("/dev", "/dev", NULL, MS_BIND, NULL))
		return -1;
	return mount(NULL, "/dev", NULL, flags, NULL);
}

TEST_F(access, mmap_and_mprotect)
{
	bool shared = variant->flags == MAP_SHARED;
	char perms[5], before[5];
	unsigned char *p;
	int fd;

	if (variant->mount != MOUNT_AS_IS) {
		ASSERT_EQ(0, remount_dev(variant->mount == MOUNT_NOEXEC));
		ASSERT_EQ(variant->mount == MOUNT_NOEXEC, device_noexec());
	}
	fd = open(DEVICE, variant->open_flags);
	ASSERT_LE(0, fd);
	if (variant->mount != MOUNT_AS_IS)
		ASSERT_LE(0, personality(READ_IMPLIES_EXEC));
	p = map(fd, page, variant->prot, variant->flags,
		variant->at_end ? self->size : 0);
	if (variant->error) {
		ASSERT_EQ(ADDR(MAP_FAILED), ADDR(p));
		ASSERT_EQ(variant->error, errno);
		ASSERT_EQ(0, nr_mappings(self->fd));
		return;
	}
	ASSERT_MAPPED(p);
	ASSERT_EQ(1, maps_scan(p, before));
	ASSERT_EQ('-', before[2]);
	if (variant->prot & PROT_WRITE) {
		p[3] = 'r';
		ASSERT_EQ(shared ? 'r' : 0, byte_at(self->fd, 3));
	}
	if (variant->mprotect) {
		ASSERT_EQ(-1, mprotect(p, page, variant->mprotect));
		ASSERT_EQ(EACCES, errno);
		ASSERT_EQ(1, maps_scan(p, perms));
		ASSERT_STREQ(before, perms);
	}
}

/*
 * mremap(2): VM_DONTEXPAND refuses growth (and MREMAP_DONTUNMAP); the
 * mapping that is shrunk or moved keeps its pages and its count.
 */
FIXTURE(remap) { int fd; size_t size; };
FIXTURE_SETUP(remap) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(remap) { close(self->fd); }

FIXTURE_VARIANT(remap) {
	int flags;
	size_t old_pages;
	size_t new_pages;
	int mremap_flags;	/* MREMAP_FIXED: to a reserved range */
	int error;
};

#define MAYMOVE		MREMAP_MAYMOVE
#define FIXED		(MREMAP_MAYMOVE | MREMAP_FIXED)
#define DONTUNMAP	(MREMAP_MAYMOVE | MREMAP_DONTUNMAP)
FIXTURE_VARIANT_ADD(remap, grow) { SH, 2, 3, MAYMOVE, EFAULT };
FIXTURE_VARIANT_ADD(remap, grow_private) { PR, 2, 3, MAYMOVE, EFAULT };
/* The range right after the mapping is free: still refused. */
FIXTURE_VARIANT_ADD(remap, grow_in_place) { SH, 2, 3, 0, EFAULT };
/* An old length of 0 asks for a second mapping: growth from nothing. */
FIXTURE_VARIANT_ADD(remap, duplicate) { SH, 0, 1, MAYMOVE, EFAULT };
FIXTURE_VARIANT_ADD(remap, dontunmap) { SH, 2, 2, DONTUNMAP, EINVAL };
FIXTURE_VARIANT_ADD(remap, shrink) { SH, 2, 1, 0 };
FIXTURE_VARIANT_ADD(remap, move) { SH, 2, 2, FIXED };
/* Moving keeps the private copies too. */
FIXTURE_VARIANT_ADD(remap, move_private) { PR, 2, 2, FIXED };

TEST_F(remap, mremap)
{
	unsigned char *hole = reserve(3 * page);
	unsigned char *to = reserve(2 * page);
	unsigned char *p, *q;

	ASSERT_MAPPED(hole);
	ASSERT_MAPPED(to);
	/* Free room after the mapping, for growth in place. */
	ASSERT_EQ(0, munmap(hole, 3 * page));
	p = mmap(hole, 2 * page, RW, variant->flags | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(ADDR(hole), ADDR(p));
	ASSERT_EQ(1, put_byte(self->fd, 1, 'b'));
	p[0] = 'm';
	q = mremap(p, variant->old_pages * page, variant->new_pages * page,
		   variant->mremap_flags, to);
	if (variant->error) {
		ASSERT_EQ(ADDR(MAP_FAILED), ADDR(q));
		ASSERT_EQ(variant->error, errno);
		q = p;
	} else {
		ASSERT_EQ(ADDR(variant->mremap_flags & MREMAP_FIXED ? to : p),
			  ADDR(q));
	}
	ASSERT_EQ(1, nr_mappings(self->fd));
	ASSERT_EQ(1, maps_scan(NULL, NULL));
	ASSERT_EQ('m', q[0]);
	ASSERT_EQ('b', q[1]);
}

/*
 * nr_mappings: each mmap(2), fork(2) or split adds one, each munmap(2) of
 * a whole VMA and each exit removes one. Each row starts from one mapping
 * of 3 pages whose first bytes are 'a', 'b', 'c', does one thing and
 * checks the count, that every page still mapped keeps its offset, and
 * that unmapping all brings the count to 0.
 */
enum count_op {
	OP_NONE, OP_MUNMAP, OP_HOLE, OP_MPROTECT, OP_MADVISE, OP_SHRINK,
	OP_MOVE, OP_CLOSE, OP_FORK,
};

FIXTURE(count) { int fd; size_t size; };
FIXTURE_SETUP(count) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(count) { close(self->fd); }

FIXTURE_VARIANT(count) {
	int flags;
	enum count_op op;
	int nr;			/* nr_mappings afterwards */
	unsigned int mapped;	/* bit i: page i is still mapped */
};

FIXTURE_VARIANT_ADD(count, mmap) { SH, OP_NONE, 1, 7 };
FIXTURE_VARIANT_ADD(count, mmap_private) { PR, OP_NONE, 1, 7 };
FIXTURE_VARIANT_ADD(count, munmap) { SH, OP_MUNMAP, 0, 0 };
FIXTURE_VARIANT_ADD(count, munmap_hole) { SH, OP_HOLE, 2, 5 };
FIXTURE_VARIANT_ADD(count, munmap_hole_private) { PR, OP_HOLE, 2, 5 };
/* The parts of a VM_DONTEXPAND mapping never merge again: three. */
FIXTURE_VARIANT_ADD(count, mprotect_split) { SH, OP_MPROTECT, 3, 7 };
FIXTURE_VARIANT_ADD(count, madvise_split) { SH, OP_MADVISE, 3, 7 };
FIXTURE_VARIANT_ADD(count, mremap_shrink) { SH, OP_SHRINK, 1, 3 };
FIXTURE_VARIANT_ADD(count, mremap_move) { PR, OP_MOVE, 1, 7 };
/* The mapping keeps working after its file is closed, and counts. */
FIXTURE_VARIANT_ADD(count, file_closed) { SH, OP_CLOSE, 1, 7 };
/* The child saw two; its copy went away with it. */
FIXTURE_VARIANT_ADD(count, fork_exit) { PR, OP_FORK, 1, 7 };

/* Do op to the mapping at p; return where it is then, NULL on failure. */
static unsigned char *count_op(int *fd, unsigned char *p, enum count_op op)
{
	unsigned char *to;
	int status;

	switch (op) {
	case OP_MUNMAP:
		return munmap(p, 3 * page) ? NULL : p;
	case OP_HOLE:
		return munmap(p + page, page) ? NULL : p;
	case OP_MPROTECT:
		return mprotect(p + page, page, PROT_READ) ||
		       mprotect(p + page, page, RW) ? NULL : p;
	case OP_MADVISE:
		return madvise(p + page, page, MADV_RANDOM) ||
		       madvise(p + page, page, MADV_NORMAL) ? NULL : p;
	case OP_SHRINK:
		return mremap(p, 3 * page, 2 * page, 0) == p ? p : NULL;
	case OP_MOVE:
		to = reserve(3 * page);
		return mremap(p, 3 * page, 3 * page,
			      MREMAP_MAYMOVE | MREMAP_FIXED, to) == to ?
		       to : NULL;
	case OP_CLOSE:
		close(*fd);
		*fd = open(DEVICE, O_RDWR);
		return *fd < 0 ? NULL : p;
	case OP_FORK:
		status = run_child(child_nr_mappings, fd);
		return WIFEXITED(status) && WEXITSTATUS(status) == 2 ?
		       p : NULL;
	default:
		return p;
	}
}

TEST_F(count, nr_mappings)
{
	unsigned char *p;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, put_byte(self->fd, i * page, 'a' + i));
	ASSERT_EQ(0, nr_mappings(self->fd));
	p = map(self->fd, 3 * page, RW, variant->flags, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(1, nr_mappings(self->fd));
	p = count_op(&self->fd, p, variant->op);
	ASSERT_NE(0, ADDR(p));
	ASSERT_EQ(variant->nr, nr_mappings(self->fd));
	ASSERT_EQ(variant->nr, maps_scan(NULL, NULL));
	for (i = 0; i < 3; i++)
		if (variant->mapped & (1 << i))
			ASSERT_EQ('a' + i, p[i * page]);
	/* A store through the mapping still reaches the buffer. */
	if (variant->flags == MAP_SHARED && variant->mapped & 1) {
		p[1] = 's';
		ASSERT_EQ('s', byte_at(self->fd, 1));
	}
	ASSERT_EQ(0, munmap(p, 3 * page));
	ASSERT_EQ(0, nr_mappings(self->fd));
}

/*
 * read(2) and write(2) at a position: up to the end of the buffer, 0 at
 * or past it for read, ENOSPC for write; a faulting user pointer gives
 * EFAULT or a short count; the access mode of the file is checked.
 * The buffer holds 0x5a; what is written is 'w'.
 */
enum io_op { IO_READ, IO_PREAD, IO_WRITE, IO_PWRITE };
enum user_mem { MEM_OK, MEM_HALF, MEM_BAD };

FIXTURE(io) { int fd; size_t size; };
FIXTURE_SETUP(io) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(io) { close(self->fd); }

FIXTURE_VARIANT(io) {
	enum io_op op;		/* IO_READ, IO_WRITE: after lseek(2) */
	long long pos;		/* plus the size if end */
	bool end;
	size_t count;
	ssize_t ret;
	int error;
	enum user_mem mem;	/* MEM_HALF: only 16 bytes accessible */
	bool wrong_mode;	/* the file open for the other access only */
};

#define FAR	(LLONG_MAX - 1)
FIXTURE_VARIANT_ADD(io, read) { IO_READ, 4096, false, 32, 32 };
FIXTURE_VARIANT_ADD(io, read_last_byte) { IO_PREAD, -1, true, 2, 1 };
FIXTURE_VARIANT_ADD(io, read_across_end) { IO_READ, -10, true, 16, 10 };
FIXTURE_VARIANT_ADD(io, read_at_end) { IO_READ, 0, true, 1, 0 };
FIXTURE_VARIANT_ADD(io, pread_past_end) { IO_PREAD, 4096, true, 1, 0 };
FIXTURE_VARIANT_ADD(io, pread_far_past_end) { IO_PREAD, FAR, false, 1, 0 };
FIXTURE_VARIANT_ADD(io, read_count_zero) { IO_READ, 0, false, 0, 0 };
FIXTURE_VARIANT_ADD(io, read_bad_pointer) {
	IO_PREAD, 0, false, 16, -1, EFAULT, MEM_BAD
};

FIXTURE_VARIANT_ADD(io, read_partial_fault) {
	IO_PREAD, 0, false, 32, 16, 0, MEM_HALF
};

FIXTURE_VARIANT_ADD(io, read_wronly) {
	IO_READ, 0, false, 1, -1, EBADF, MEM_OK, true
};

FIXTURE_VARIANT_ADD(io, write) { IO_WRITE, 4096, false, 32, 32 };
FIXTURE_VARIANT_ADD(io, write_last_byte) { IO_PWRITE, -1, true, 2, 1 };
FIXTURE_VARIANT_ADD(io, write_across_end) { IO_WRITE, -10, true, 16, 10 };
FIXTURE_VARIANT_ADD(io, write_at_end) { IO_WRITE, 0, true, 1, -1, ENOSPC };
FIXTURE_VARIANT_ADD(io, pwrite_past_end) {
	IO_PWRITE, 4096, true, 1, -1, ENOSPC
};

FIXTURE_VARIANT_ADD(io, pwrite_far_past_end) {
	IO_PWRITE, FAR, false, 1, -1, ENOSPC
};

FIXTURE_VARIANT_ADD(io, write_count_zero) { IO_WRITE, 0, false, 0, 0 };
FIXTURE_VARIANT_ADD(io, write_count_zero_at_end) { IO_WRITE, 0, true, 0, 0 };
FIXTURE_VARIANT_ADD(io, write_bad_pointer) {
	IO_PWRITE, 0, false, 16, -1, EFAULT, MEM_BAD
};

FIXTURE_VARIANT_ADD(io, write_partial_fault) {
	IO_PWRITE, 0, false, 32, 16, 0, MEM_HALF
};

FIXTURE_VARIANT_ADD(io, write_rdonly) {
	IO_WRITE, 0, false, 1, -1, EBADF, MEM_OK, true
};

TEST_F(io, up_to_end)
{
	off_t pos = variant->pos + (variant->end ? self->size : 0);
	bool out = variant->op >= IO_WRITE;
	bool seek = variant->op == IO_READ || variant->op == IO_WRITE;
	size_t count = variant->count, good = count, done, i;
	unsigned char *mem, *user;
	ssize_t ret;
	int fd;

	fd = open(DEVICE, !variant->wrong_mode ? O_RDWR :
		  out ? O_RDONLY : O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	/* Two pages, the second one inaccessible. */
	mem = map(-1, 2 * page, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	ASSERT_MAPPED(mem);
	ASSERT_EQ(0, mprotect(mem + page, page, PROT_NONE));
	memset(mem, out ? 'w' : 0, page);
	if (variant->mem != MEM_OK)
		good = variant->mem == MEM_HALF ? 16 : 0;
	user = variant->mem == MEM_OK ? mem : mem + page - good;
	if (seek)
		ASSERT_EQ(pos, lseek(fd, pos, SEEK_SET));
	if (out)
		ret = seek ? write(fd, user, count) :
			     pwrite(fd, user, count, pos);
	else
		ret = seek ? read(fd, user, count) :
			     pread(fd, user, count, pos);
	ASSERT_EQ(variant->ret, ret);
	if (ret < 0)
		ASSERT_EQ(variant->error, errno);
	done = ret > 0 ? ret : 0;
	if (seek)
		ASSERT_EQ(pos + done, lseek(fd, 0, SEEK_CUR));
	/* Exactly the bytes counted were copied, nothing around them. */
	for (i = 0; out && i < count; i++)
		if (pos + i < self->size)
			ASSERT_EQ(i < done ? 'w' : 0x5a,
				  byte_at(self->fd, pos + i));
	if (out && pos > 0 && pos <= (off_t)self->size)
		ASSERT_EQ(0x5a, byte_at(self->fd, pos - 1));
	for (i = 0; !out && i < good; i++)
		ASSERT_EQ(i < done ? 0x5a : 0, user[i]);
}

/*
 * lseek(2): SEEK_SET, SEEK_CUR and SEEK_END (from the size); a position
 * below 0 or past the end, or another whence, fails with EINVAL and
 * leaves the position (7) as it was.
 */
FIXTURE(seek) { int fd; size_t size; };
FIXTURE_SETUP(seek) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(seek) { close(self->fd); }

FIXTURE_VARIANT(seek) {
	long long off;		/* plus the size if off_end */
	bool off_end;
	int whence;
	long long pos;		/* plus the size if pos_end */
	bool pos_end;
	bool einval;
};

FIXTURE_VARIANT_ADD(seek, set) { 4099, false, SEEK_SET, 4099 };
FIXTURE_VARIANT_ADD(seek, set_end) { 0, true, SEEK_SET, 0, true };
FIXTURE_VARIANT_ADD(seek, cur_forward) { 5, false, SEEK_CUR, 12 };
FIXTURE_VARIANT_ADD(seek, cur_back) { -7, false, SEEK_CUR, 0 };
FIXTURE_VARIANT_ADD(seek, cur_report) { 0, false, SEEK_CUR, 7 };
FIXTURE_VARIANT_ADD(seek, end) { 0, false, SEEK_END, 0, true };
FIXTURE_VARIANT_ADD(seek, end_back) { -1, false, SEEK_END, -1, true };
FIXTURE_VARIANT_ADD(seek, set_past_end) { 1, true, SEEK_SET, .einval = true };
FIXTURE_VARIANT_ADD(seek, end_past_end) { 1, false, SEEK_END, .einval = true };
FIXTURE_VARIANT_ADD(seek, set_negative) { -1, false, SEEK_SET, .einval = true };
FIXTURE_VARIANT_ADD(seek, cur_below_zero) {
	-8, false, SEEK_CUR, .einval = true
};

FIXTURE_VARIANT_ADD(seek, bad_whence) { 0, false, 42, .einval = true };
FIXTURE_VARIANT_ADD(seek, seek_data) { 0, false, SEEK_DATA, .einval = true };
FIXTURE_VARIANT_ADD(seek, seek_hole) { 0, false, SEEK_HOLE, .einval = true };

TEST_F(seek, position)
{
	off_t pos = variant->pos + (variant->pos_end ? self->size : 0);
	off_t off = variant->off + (variant->off_end ? self->size : 0);

	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	if (variant->einval) {
		ASSERT_EQ(-1, lseek(self->fd, off, variant->whence));
		ASSERT_EQ(EINVAL, errno);
		pos = 7;
	} else {
		ASSERT_EQ(pos, lseek(self->fd, off, variant->whence));
	}
	ASSERT_EQ(pos, lseek(self->fd, 0, SEEK_CUR));
}

/*
 * ioctl(2) errors: unknown numbers, arguments that cannot be copied, a
 * file not open for writing. A refused ioctl leaves the buffer (0x5a)
 * and its size as they were.
 */
enum ioctl_arg { ARG_OK, ARG_NULL, ARG_BAD };

FIXTURE(ioctl) { int fd; size_t size; };
FIXTURE_SETUP(ioctl) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(ioctl) { close(self->fd); }

FIXTURE_VARIANT(ioctl) {
	unsigned long cmd;
	int open_flags;
	int error;		/* 0: INFO works */
	enum ioctl_arg arg;
	int reserved;		/* 1 + the index of a nonzero reserved byte */
	bool mapped;
};

#define IOC_FILL_R	_IOR(MAPBUF_IOC_MAGIC, 0x02, struct mapbuf_fill)
#define IOC_INFO_X	_IOR('x', 0x00, struct mapbuf_info)
#define IOC_INFO_U32	_IOR(MAPBUF_IOC_MAGIC, 0x00, __u32)
FIXTURE_VARIANT_ADD(ioctl, unknown) {
	_IO(MAPBUF_IOC_MAGIC, 0x7f), O_RDWR, ENOTTY
};

/* A known number with another size, direction or type is unknown too. */
FIXTURE_VARIANT_ADD(ioctl, info_wrong_size) { IOC_INFO_U32, O_RDWR, ENOTTY };
FIXTURE_VARIANT_ADD(ioctl, fill_wrong_direction) { IOC_FILL_R, O_RDWR, ENOTTY };
FIXTURE_VARIANT_ADD(ioctl, info_other_type) { IOC_INFO_X, O_RDWR, ENOTTY };
FIXTURE_VARIANT_ADD(ioctl, info_null) {
	MAPBUF_IOC_INFO, O_RDWR, EFAULT, ARG_NULL
};

FIXTURE_VARIANT_ADD(ioctl, info_bad_pointer) {
	MAPBUF_IOC_INFO, O_RDWR, EFAULT, ARG_BAD
};

/* INFO only reports: any access mode will do. */
FIXTURE_VARIANT_ADD(ioctl, info_rdonly) { MAPBUF_IOC_INFO, O_RDONLY, 0 };
FIXTURE_VARIANT_ADD(ioctl, info_wronly) { MAPBUF_IOC_INFO, O_WRONLY, 0 };
FIXTURE_VARIANT_ADD(ioctl, clear_rdonly) { MAPBUF_IOC_CLEAR, O_RDONLY, EBADF };
FIXTURE_VARIANT_ADD(ioctl, fill_rdonly) { MAPBUF_IOC_FILL, O_RDONLY, EBADF };
/* EBADF first: the argument is not even read. */
FIXTURE_VARIANT_ADD(ioctl, fill_rdonly_bad_pointer) {
	MAPBUF_IOC_FILL, O_RDONLY, EBADF, ARG_BAD
};

FIXTURE_VARIANT_ADD(ioctl, fill_bad_pointer) {
	MAPBUF_IOC_FILL, O_RDWR, EFAULT, ARG_BAD
};

FIXTURE_VARIANT_ADD(ioctl, fill_reserved_first) {
	MAPBUF_IOC_FILL, O_RDWR, EINVAL, ARG_OK, 1
};

FIXTURE_VARIANT_ADD(ioctl, fill_reserved_middle) {
	MAPBUF_IOC_FILL, O_RDWR, EINVAL, ARG_OK, 4
};

FIXTURE_VARIANT_ADD(ioctl, fill_reserved_last) {
	MAPBUF_IOC_FILL, O_RDWR, EINVAL, ARG_OK, 7
};

/* RESIZE rows: all ask for 2 pages. */
FIXTURE_VARIANT_ADD(ioctl, resize_rdonly) {
	MAPBUF_IOC_RESIZE, O_RDONLY, EBADF
};

FIXTURE_VARIANT_ADD(ioctl, resize_rdonly_bad_pointer) {
	MAPBUF_IOC_RESIZE, O_RDONLY, EBADF, ARG_BAD
};

FIXTURE_VARIANT_ADD(ioctl, resize_bad_pointer) {
	MAPBUF_IOC_RESIZE, O_RDWR, EFAULT, ARG_BAD
};

/* EFAULT comes before EBUSY. */
FIXTURE_VARIANT_ADD(ioctl, resize_mapped_null) {
	MAPBUF_IOC_RESIZE, O_RDWR, EFAULT, ARG_NULL, 0, true
};

TEST_F(ioctl, refused)
{
	union {
		struct mapbuf_info info;
		struct mapbuf_fill fill;
		struct mapbuf_resize resize;
	} arg;
	void *argp = &arg;
	int fd;

	memset(&arg, 0, sizeof(arg));
	if (variant->cmd == MAPBUF_IOC_RESIZE)
		arg.resize.size = 2 * page;
	else
		arg.fill.value = 0xff;
	if (variant->reserved)
		arg.fill.reserved[variant->reserved - 1] = 1;
	if (variant->arg != ARG_OK)
		argp = variant->arg == ARG_NULL ? NULL : reserve(page);
	ASSERT_MAPPED(argp);
	if (variant->mapped)
		ASSERT_MAPPED(map(self->fd, page, RW, MAP_SHARED, 0));
	fd = open(DEVICE, variant->open_flags);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	if (variant->error) {
		ASSERT_EQ(-1, ioctl(fd, variant->cmd, argp));
		ASSERT_EQ(variant->error, errno);
	} else {
		ASSERT_EQ(0, ioctl(fd, variant->cmd, argp));
		ASSERT_EQ(self->size, arg.info.size);
	}
	ASSERT_EQ(self->size, info_size(self->fd));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0x5a));
}

TEST_F(mapbuf, info)
{
	static const struct mapbuf_info zeroed;
	struct mapbuf_info info;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_INFO, &info));
	/* Filled in whole, whatever the caller held. */
	ASSERT_EQ(self->size, info.size);
	ASSERT_EQ(0, info.size % page);
	ASSERT_EQ(0, info.nr_mappings);
	/* Nothing of this program made a dma-buf of the buffer. */
	ASSERT_EQ(0, info.nr_exports);
	/* Only flags that the header defines; reserved space stays zero. */
	ASSERT_EQ(0, info.flags & ~(MAPBUF_INFO_PMD_MAPPINGS |
				    MAPBUF_INFO_EXPORT));
	ASSERT_NE(0, info.flags & MAPBUF_INFO_EXPORT);
	ASSERT_EQ(0, memcmp(zeroed.reserved, info.reserved,
			    sizeof(info.reserved)));
}

TEST_F(mapbuf, fill_and_clear)
{
	ASSERT_EQ(0, fill_buffer(self->fd, 0xa5));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0xa5));
	ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_CLEAR));
	ASSERT_TRUE(buffer_is(self->fd, self->size, 0));
}

/*
 * Module unload is refused (EWOULDBLOCK) while a file is open, and while
 * a mapping exists, even one whose file was closed.
 */
TEST_F(mapbuf, unload_ewouldblock)
{
	unsigned char *p;

	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	p = map(self->fd, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	p[0] = 'm';
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, nr_mappings(self->fd));
	ASSERT_EQ('m', byte_at(self->fd, 0));
}

/*
 * MAPBUF_IOC_RESIZE's refused arguments: EINVAL, also before EBUSY when
 * the buffer is mapped, and the buffer is kept with its bytes.
 */
static bool unchanged(int fd, size_t size)
{
	return info_size(fd) == size && buffer_is(fd, size, 0x5a);
}

FIXTURE(resize_einval) { int fd; size_t size; };
FIXTURE_SETUP(resize_einval) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(resize_einval) { close(self->fd); }

FIXTURE_VARIANT(resize_einval) {
	__u64 size;
	__u64 flags;
	bool mapped;
};

FIXTURE_VARIANT_ADD(resize_einval, size_zero) { 0 };
FIXTURE_VARIANT_ADD(resize_einval, size_zero_mapped) { 0, 0, true };
FIXTURE_VARIANT_ADD(resize_einval, above_1g) { (1ULL << 30) + 1 };
/* Cut to 32 bits, 1 << 32 would be 0 and 1 << 32 + 4096 one page. */
FIXTURE_VARIANT_ADD(resize_einval, size_4g) { 1ULL << 32 };
FIXTURE_VARIANT_ADD(resize_einval, size_4g_plus_4k) { (1ULL << 32) + 4096 };
/* Rounding these up to a page would wrap to 0. */
FIXTURE_VARIANT_ADD(resize_einval, u64_max) { UINT64_MAX };
FIXTURE_VARIANT_ADD(resize_einval, u64_max_minus_4k) { UINT64_MAX - 4096 + 2 };
/* No flag is defined yet: each one is refused, whatever the size. */
FIXTURE_VARIANT_ADD(resize_einval, flag_bit_0) { 4096, 1 };
FIXTURE_VARIANT_ADD(resize_einval, flag_bit_63) { 4096, 1ULL << 63 };
FIXTURE_VARIANT_ADD(resize_einval, flag_mapped) { 4096, 1, true };

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

/*
 * MAPBUF_IOC_RESIZE fails with EBUSY while any mapping of the buffer
 * exists, whichever file or process made it, and works once it is gone.
 */
enum holder { HOLD_SAME_FD, HOLD_OTHER_FD, HOLD_FD_CLOSED, HOLD_CHILD };

FIXTURE(resize_busy) { int fd; size_t size; };
FIXTURE_SETUP(resize_busy) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(resize_busy) { close(self->fd); }

FIXTURE_VARIANT(resize_busy) {
	int flags;
	enum holder holder;
	bool same_size;
};

FIXTURE_VARIANT_ADD(resize_busy, same_fd) { SH, HOLD_SAME_FD };
FIXTURE_VARIANT_ADD(resize_busy, same_fd_same_size) { SH, HOLD_SAME_FD, true };
FIXTURE_VARIANT_ADD(resize_busy, same_fd_private) { PR, HOLD_SAME_FD };
FIXTURE_VARIANT_ADD(resize_busy, other_fd) { SH, HOLD_OTHER_FD };
FIXTURE_VARIANT_ADD(resize_busy, fd_closed) { PR, HOLD_FD_CLOSED };
FIXTURE_VARIANT_ADD(resize_busy, forked_child) { SH, HOLD_CHILD };

TEST_F(resize_busy, ebusy)
{
	size_t size = variant->same_size ? self->size : 2 * page;
	int fd = open(DEVICE, O_RDWR), map_fd = self->fd, fds[2];
	unsigned char *p;
	pid_t child = -1;
	char c;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	if (variant->holder == HOLD_OTHER_FD)
		map_fd = fd;
	p = map(map_fd, page, RW, variant->flags, 0);
	ASSERT_MAPPED(p);
	if (variant->holder == HOLD_FD_CLOSED)
		ASSERT_EQ(0, close(self->fd));
	if (variant->holder == HOLD_CHILD) {
		/* Only the child's copy is left, until fds[1] is closed. */
		ASSERT_EQ(0, pipe(fds));
		child = fork();
		ASSERT_LE(0, child);
		if (child == 0) {
			close(fds[1]);
			_exit(read(fds[0], &c, 1));
		}
		close(fds[0]);
		ASSERT_EQ(0, munmap(p, page));
	}
	ASSERT_EQ(1, nr_mappings(fd));
	ASSERT_EQ(-1, resize(fd, size));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_TRUE(unchanged(fd, self->size));
	if (variant->holder == HOLD_CHILD) {
		close(fds[1]);
		ASSERT_EQ(child, waitpid(child, NULL, 0));
	} else {
		ASSERT_EQ(0x5a, p[0]);
		ASSERT_EQ(0, munmap(p, page));
	}
	ASSERT_EQ(0, nr_mappings(fd));
	ASSERT_EQ(0, resize(fd, 2 * page));
	ASSERT_EQ(2 * page, info_size(fd));
	if (variant->holder == HOLD_FD_CLOSED)
		self->fd = fd;
}

/*
 * A resize that works: a new zeroed buffer of the size rounded up to
 * pages, which every file of the device sees, and new mappings, read(2)
 * and write(2) are checked against.
 */
FIXTURE(resize) { int fd; size_t size; };
FIXTURE_SETUP(resize) { self->fd = buffer_fd(_metadata, &self->size); }
FIXTURE_TEARDOWN(resize) { close(self->fd); }

FIXTURE_VARIANT(resize) {
	int pages;		/* asked: pages and bytes, plus the size */
	int bytes;		/* if plus_size */
	bool plus_size;
	int expect;		/* pages, plus the size if plus_size */
};

FIXTURE_VARIANT_ADD(resize, one_byte) { 0, 1, false, 1 };
FIXTURE_VARIANT_ADD(resize, unaligned) { 3, 1, false, 4 };
FIXTURE_VARIANT_ADD(resize, shrink) { 3, 0, false, 3 };
FIXTURE_VARIANT_ADD(resize, same_size) { 0, 0, true, 0 };
FIXTURE_VARIANT_ADD(resize, grow) { 3, 0, true, 3 };

TEST_F(resize, new_buffer)
{
	size_t extra = variant->plus_size ? self->size : 0;
	size_t size = variant->expect * page + extra;
	int other = open(DEVICE, O_RDONLY);
	unsigned char *p;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, fill_buffer(self->fd, 0x5a));
	ASSERT_EQ(0, resize(self->fd, variant->pages * page + variant->bytes +
				 extra));
	ASSERT_EQ(size, info_size(other));
	ASSERT_EQ(size, lseek(other, 0, SEEK_END));
	ASSERT_TRUE(buffer_is(other, size, 0));
	ASSERT_TRUE(mapping_is(other, size, 0));
	ASSERT_EQ(ENXIO, map_errno(other, size + page, PROT_READ, MAP_SHARED,
				   0));
	ASSERT_EQ(ENXIO, map_errno(other, page, PROT_READ, MAP_SHARED, size));
	/* The new buffer is what is mapped, read and written, up to its end. */
	p = map(self->fd, size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(10, pwrite(self->fd, "0123456789abcdef", 16, size - 10));
	ASSERT_EQ('9', p[size - 1]);
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, size));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, pread(self->fd, p, 1, size));
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

TEST_HARNESS_MAIN
