// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of MAPBUF_IOC_EXPORT, the buffer of /dev/mapbuf0 as a dma-buf,
 * against Documentation/userspace-api/mapbuf.rst:
 *
 * - fixture "flags", one variant per accepted flags value: the dma-buf's
 *   file (access mode, close-on-exec, /proc/self/fdinfo), its mappings and
 *   the nr_exports count;
 * - fixture "export": refused flags, reserved field and argument pointer,
 *   a read-only device file, fd exhaustion under RLIMIT_NOFILE and the
 *   order of those checks, each refusal leaving nothing behind; mmap(2) of
 *   the dma-buf against the device's mapping, read(2) and write(2) both
 *   ways at every page offset, and its errors; DMA_BUF_IOCTL_SYNC; two
 *   dma-bufs at once; the lifetime rules: a dma-buf (or a mapping of it)
 *   keeps the buffer after every device file is closed, refuses
 *   MAPBUF_IOC_RESIZE and module unload; buffers of one page and of many
 *   megabytes;
 * - fixture "importer": real importers: vgem (PRIME import, and the
 *   dma-buf it hands back) and a V4L2 capture into the dma-buf on each
 *   vivid instance (vb2-vmalloc vmaps it; an instance loaded with
 *   vivid.allocators=1 DMA-maps it through vb2-dma-contig); each skips
 *   when its driver is missing (CONFIG_DRM_VGEM, CONFIG_VIDEO_VIVID).
 *
 * Every page of the buffer carries its own pattern: its byte offset in
 * its first 8 bytes, so a page shown at the wrong offset shows. The tests
 * start from the size the module was loaded with, which mapbuf.sh sets,
 * and a cleared buffer; each runs in a process of its own, whose exit
 * closes what a failed test left open. They skip when the device is
 * missing.
 */
#define _GNU_SOURCE
/* 64-bit file offsets for 32-bit programs too. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <drm/drm.h>
#include <linux/dma-buf.h>
#include <linux/mapbuf.h>
#include <linux/videodev2.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

/* The size of the "multi-MiB" buffer: a page more than 9 MiB. */
#define BIG_SIZE	(9 * 1024 * 1024 + page)

/* What vivid captures: a solid red frame of 24-bit RGB. */
#define FRAME_WIDTH	320
#define FRAME_HEIGHT	180

/*
 * Byte off of the buffer in pattern seed: the first 8 bytes of a page
 * hold its offset plus seed, the rest a sequence that does not repeat at
 * any power-of-two distance. Patterns of different seeds differ in every
 * byte but the high ones of the offset.
 */
static unsigned char pattern_byte(__u64 off, unsigned int seed)
{
	__u64 in_page = off % page;

	if (in_page < sizeof(__u64))
		return (off - in_page + seed) >> (8 * in_page);
	return (off + seed) % 251 + 1;
}

/* Store pattern seed for buffer offsets [off, off + len) at p. */
static void fill_pattern(unsigned char *p, __u64 off, size_t len,
			 unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(off + i, seed);
}

/* Whether p holds pattern seed for buffer offsets [off, off + len). */
static bool has_pattern(const unsigned char *p, __u64 off, size_t len,
			unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(off + i, seed))
			return false;
	return true;
}

/* write(2) pattern seed to [off, off + len) of the buffer. */
static bool write_pattern(int fd, __u64 off, size_t len, unsigned int seed)
{
	unsigned char *buf = malloc(len);
	bool ok;

	if (!buf)
		return false;
	fill_pattern(buf, off, len, seed);
	ok = pwrite(fd, buf, len, off) == (ssize_t)len;
	free(buf);
	return ok;
}

/* Whether read(2) sees pattern seed in [off, off + len) of the buffer. */
static bool reads_pattern(int fd, __u64 off, size_t len, unsigned int seed)
{
	unsigned char *buf = malloc(len);
	bool ok;

	if (!buf)
		return false;
	ok = pread(fd, buf, len, off) == (ssize_t)len &&
	     has_pattern(buf, off, len, seed);
	free(buf);
	return ok;
}

/* MAPBUF_IOC_EXPORT of fd with flags: the dma-buf's fd, or -1 and errno. */
static int export_buffer(int fd, __u32 flags)
{
	struct mapbuf_export arg = { .flags = flags, .fd = -1 };

	if (ioctl(fd, MAPBUF_IOC_EXPORT, &arg))
		return -1;
	return arg.fd;
}

/* The lowest free file descriptor, which the next new file gets; or -1. */
static int next_fd(void)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/*
 * The errno of MAPBUF_IOC_EXPORT with arg on fd, or 0 if it exported (the
 * dma-buf is closed again), or -1 if a refusal left a file descriptor or
 * a count of nr_exports behind.
 */
static int export_errno(int fd, struct mapbuf_export *arg)
{
	int exports = nr_exports(fd), next = next_fd(), err;

	if (!ioctl(fd, MAPBUF_IOC_EXPORT, arg)) {
		close(arg->fd);
		return 0;
	}
	err = errno;
	if (nr_exports(fd) != exports || next_fd() != next)
		return -1;
	return err;
}

/* export_errno() of the flags alone. */
static int flags_errno(int fd, __u32 flags)
{
	struct mapbuf_export arg = { .flags = flags };

	return export_errno(fd, &arg);
}

/* Whether /proc/self/fdinfo of fd has the line (newline included). */
static bool fdinfo_has(int fd, const char *want)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strcmp(line, want);
	fclose(f);
	return found;
}

/* Whether fd is a dma-buf of mapbuf of size bytes, as fdinfo tells. */
static bool is_mapbuf_dmabuf(int fd, size_t size)
{
	char line[64];

	snprintf(line, sizeof(line), "size:\t%zu\n", size);
	return fdinfo_has(fd, "exp_name:\tmapbuf\n") && fdinfo_has(fd, line);
}

/* The inode number of fd's file, which tells two dma-bufs apart; or 0. */
static ino_t inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static int sync_dmabuf(int fd, __u64 flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

/* Each accepted flags value, and what the dma-buf's file gets from it. */
FIXTURE(flags) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(flags) {
	__u32 flags;
	int mode;		/* the file's access mode */
	bool cloexec;
};

FIXTURE_VARIANT_ADD(flags, rdwr) {
	.flags = O_RDWR,
	.mode = O_RDWR,
};

FIXTURE_VARIANT_ADD(flags, rdonly) {
	.flags = O_RDONLY,
	.mode = O_RDONLY,
};

FIXTURE_VARIANT_ADD(flags, rdwr_cloexec) {
	.flags = O_RDWR | O_CLOEXEC,
	.mode = O_RDWR,
	.cloexec = true,
};

FIXTURE_VARIANT_ADD(flags, rdonly_cloexec) {
	.flags = O_RDONLY | O_CLOEXEC,
	.mode = O_RDONLY,
	.cloexec = true,
};

FIXTURE_SETUP(flags)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(flags)
{
	close(self->fd);
}

TEST_F(flags, file)
{
	int dmabuf = export_buffer(self->fd, variant->flags);

	ASSERT_LE(0, dmabuf) TH_LOG("export: %s", strerror(errno));
	/* A new file: not the device's, with the asked access mode. */
	ASSERT_NE(self->fd, dmabuf);
	ASSERT_EQ(variant->mode, fcntl(dmabuf, F_GETFL) & O_ACCMODE);
	/* Close-on-exec as asked: what a fork-exec child inherits. */
	ASSERT_EQ(variant->cloexec ? FD_CLOEXEC : 0,
		  fcntl(dmabuf, F_GETFD) & FD_CLOEXEC);
	ASSERT_TRUE(is_mapbuf_dmabuf(dmabuf, self->size));
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_EQ(0, close(dmabuf));
	/* The last file is gone and nothing mapped it: the dma-buf is freed. */
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(flags, mapping)
{
	int dmabuf = export_buffer(self->fd, variant->flags);
	unsigned char *p;

	ASSERT_LE(0, dmabuf) TH_LOG("export: %s", strerror(errno));
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	p = map(dmabuf, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	ASSERT_EQ(0, munmap(p, self->size));
	/* A writable shared mapping needs a file open for writing. */
	ASSERT_EQ(variant->mode == O_RDWR ? 0 : EACCES,
		  map_errno(dmabuf, self->size, RW, MAP_SHARED, 0));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, nr_exports(self->fd));
}

/* The buffer's dma-bufs, made by the tests from /dev/mapbuf0. */
FIXTURE(export) {
	int fd;
	size_t size;
};

FIXTURE_SETUP(export)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(export)
{
	close(self->fd);
}

TEST_F(export, flags_einval)
{
	static const __u32 bad[] = {
		O_WRONLY, O_ACCMODE, O_WRONLY | O_CLOEXEC,
		O_RDWR | O_NONBLOCK, O_RDONLY | O_NONBLOCK, O_RDWR | O_APPEND,
		O_RDWR | O_CREAT, O_RDWR | O_TRUNC, O_RDWR | O_SYNC,
	};
	unsigned int i, bit;

	/* Only the access mode and O_CLOEXEC mean something to an export. */
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ASSERT_EQ(EINVAL, flags_errno(self->fd, bad[i]))
			TH_LOG("flags %#x", bad[i]);
	/* Any other bit, next to O_RDWR and O_RDONLY. */
	for (bit = 0; bit < 32; bit++) {
		__u32 flag = 1U << bit;

		if (flag == O_RDWR || flag == O_CLOEXEC)
			continue;
		ASSERT_EQ(EINVAL, flags_errno(self->fd, O_RDWR | flag))
			TH_LOG("flags O_RDWR | %#x", flag);
		ASSERT_EQ(EINVAL, flags_errno(self->fd, O_RDONLY | flag))
			TH_LOG("flags O_RDONLY | %#x", flag);
	}
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, reserved_einval)
{
	static const __u64 bad[] = { 1, 1ULL << 32, 1ULL << 63, ~0ULL };
	struct mapbuf_export arg = { .flags = O_RDWR };
	unsigned int i;

	/* Every bit of reserved must be 0. */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		arg.reserved = bad[i];
		ASSERT_EQ(EINVAL, export_errno(self->fd, &arg))
			TH_LOG("reserved %#llx", (unsigned long long)bad[i]);
	}
}

TEST_F(export, fd_field_ignored)
{
	static const int fds[] = { -1, 0, INT_MAX, INT_MIN };
	struct mapbuf_export arg = { .flags = O_RDWR };
	unsigned int i;
	int next;

	/* What fd holds on entry changes nothing: it only returns the fd. */
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		next = next_fd();
		arg.fd = fds[i];
		ASSERT_EQ(0, ioctl(self->fd, MAPBUF_IOC_EXPORT, &arg))
			TH_LOG("fd %d on entry: %s", fds[i], strerror(errno));
		ASSERT_EQ(next, arg.fd);
		ASSERT_TRUE(is_mapbuf_dmabuf(arg.fd, self->size));
		ASSERT_EQ(0, close(arg.fd));
	}
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, bad_pointer_efault)
{
	unsigned char *bad = reserve(page), *half = reserve(2 * page);
	struct mapbuf_export arg = { .flags = O_WRONLY };
	struct mapbuf_export *straddle;
	int next = next_fd();

	ASSERT_MAPPED(bad);
	ASSERT_MAPPED(half);
	ASSERT_EQ(0, mprotect(half, page, RW));
	ASSERT_EQ(EFAULT, export_errno(self->fd, (void *)bad));
	ASSERT_EQ(-1, ioctl(self->fd, MAPBUF_IOC_EXPORT, NULL));
	ASSERT_EQ(EFAULT, errno);
	/*
	 * flags and fd readable, reserved not: the whole argument is read
	 * before anything in it is checked, so the bad flags do not count.
	 */
	straddle = (void *)(half + page - offsetof(struct mapbuf_export,
						      reserved));
	memcpy(straddle, &arg, offsetof(struct mapbuf_export, reserved));
	ASSERT_EQ(EFAULT, export_errno(self->fd, straddle));
	ASSERT_EQ(0, nr_exports(self->fd));
	ASSERT_EQ(next, next_fd());
}

TEST_F(export, read_only_arg_efault)
{
	struct mapbuf_export *arg = (void *)map(-1, page, RW,
						MAP_PRIVATE | MAP_ANONYMOUS, 0);

	ASSERT_MAPPED(arg);
	arg->flags = O_RDWR;
	ASSERT_EQ(0, mprotect(arg, page, PROT_READ));
	/*
	 * The argument is read, the dma-buf made, but the fd cannot be
	 * returned: the dma-buf goes again, and the fd with it.
	 */
	ASSERT_EQ(EFAULT, export_errno(self->fd, arg));
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, rdonly_device_rdwr_ebadf)
{
	struct mapbuf_export arg = { .flags = O_RDWR, .reserved = 1 };
	int fd = open(DEVICE, O_RDONLY);

	ASSERT_LE(0, fd);
	/* A read-only device file can never give a writable dma-buf. */
	ASSERT_EQ(EBADF, flags_errno(fd, O_RDWR));
	ASSERT_EQ(EBADF, flags_errno(fd, O_RDWR | O_CLOEXEC));
	/* The bad flags and reserved field are found first. */
	ASSERT_EQ(EINVAL, flags_errno(fd, O_WRONLY));
	ASSERT_EQ(EINVAL, flags_errno(fd, O_ACCMODE));
	ASSERT_EQ(EINVAL, export_errno(fd, &arg));
	ASSERT_EQ(0, nr_exports(fd));
	ASSERT_EQ(0, close(fd));
}

TEST_F(export, rdonly_device_rdonly_export)
{
	int fd = open(DEVICE, O_RDONLY), dmabuf;
	unsigned char *p;

	ASSERT_LE(0, fd);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	dmabuf = export_buffer(fd, O_RDONLY);
	ASSERT_LE(0, dmabuf) TH_LOG("export: %s", strerror(errno));
	ASSERT_EQ(O_RDONLY, fcntl(dmabuf, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(1, nr_exports(fd));
	/* The kernel refuses a writable shared mapping of a read-only file. */
	ASSERT_EQ(EACCES, map_errno(dmabuf, page, RW, MAP_SHARED, 0));
	ASSERT_EQ(EACCES, map_errno(dmabuf, page, PROT_WRITE, MAP_SHARED, 0));
	p = map(dmabuf, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	/* And it still follows what the writable device file writes. */
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 2));
	ASSERT_TRUE(has_pattern(p, 0, self->size, 2));
	ASSERT_EQ(0, munmap(p, self->size));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, nr_exports(fd));
	ASSERT_EQ(0, close(fd));
}

TEST_F(export, rlimit_nofile_emfile)
{
	int rdonly = open(DEVICE, O_RDONLY), held, next, dmabuf;
	struct rlimit old, low;

	ASSERT_LE(0, rdonly);
	held = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, held) TH_LOG("export: %s", strerror(errno));
	next = next_fd();
	ASSERT_LE(0, next);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	/* Every descriptor below next is in use: no new one is allowed. */
	low = old;
	low.rlim_cur = next;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
	ASSERT_EQ(-1, export_buffer(self->fd, O_RDWR));
	ASSERT_EQ(EMFILE, errno);
	ASSERT_EQ(-1, export_buffer(self->fd, O_RDONLY | O_CLOEXEC));
	ASSERT_EQ(EMFILE, errno);
	/* Bad flags and a read-only device file are found first. */
	ASSERT_EQ(-1, export_buffer(self->fd, O_WRONLY));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, export_buffer(rdonly, O_RDWR));
	ASSERT_EQ(EBADF, errno);
	/* The refused exports left no dma-buf behind: only the held one. */
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(next, next_fd());
	dmabuf = export_buffer(self->fd, O_RDWR);
	ASSERT_EQ(next, dmabuf);
	ASSERT_EQ(2, nr_exports(self->fd));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, close(held));
	ASSERT_EQ(0, nr_exports(self->fd));
	ASSERT_EQ(0, close(rdonly));
}

TEST_F(export, two_at_once)
{
	int a = export_buffer(self->fd, O_RDWR);
	int b = export_buffer(self->fd, O_RDWR);
	unsigned char *pa, *pb;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	/* Two dma-bufs, not two files of one: each is counted. */
	ASSERT_NE(inode(a), inode(b));
	ASSERT_EQ(2, nr_exports(self->fd));
	pa = map(a, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(pa);
	pb = map(b, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(pb);
	/* Of the same buffer. */
	fill_pattern(pa, 0, self->size, 1);
	ASSERT_TRUE(has_pattern(pb, 0, self->size, 1));
	fill_pattern(pb, 0, self->size, 2);
	ASSERT_TRUE(has_pattern(pa, 0, self->size, 2));
	ASSERT_EQ(0, munmap(pa, self->size));
	ASSERT_EQ(0, close(a));
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_TRUE(has_pattern(pb, 0, self->size, 2));
	ASSERT_EQ(0, munmap(pb, self->size));
	ASSERT_EQ(0, close(b));
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, write_seen_through_mapping)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *dev, *p;

	ASSERT_LE(0, dmabuf);
	dev = map(self->fd, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(dev);
	p = map(dmabuf, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* The dma-buf's mapping shows the buffer's pages, not copies. */
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	ASSERT_EQ(0, memcmp(dev, p, self->size));
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 2));
	ASSERT_TRUE(has_pattern(p, 0, self->size, 2));
}

TEST_F(export, store_seen_by_read_and_device)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *dev, *p;

	ASSERT_LE(0, dmabuf);
	dev = map(self->fd, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(dev);
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	fill_pattern(p, 0, self->size, 1);
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 1));
	ASSERT_TRUE(has_pattern(dev, 0, self->size, 1));
	/* And the other way round. */
	fill_pattern(dev, 0, self->size, 2);
	ASSERT_TRUE(has_pattern(p, 0, self->size, 2));
}

TEST_F(export, every_page_offset)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p;
	size_t off;

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	/* One page mapped at each offset shows that page of the buffer. */
	for (off = 0; off < self->size; off += page) {
		p = map(dmabuf, page, RW, MAP_SHARED, off);
		ASSERT_MAPPED(p) TH_LOG("offset %zu: %s", off, strerror(errno));
		ASSERT_TRUE(has_pattern(p, off, page, 1))
			TH_LOG("offset %zu", off);
		fill_pattern(p, off, page, 2);
		ASSERT_EQ(0, munmap(p, page));
		ASSERT_TRUE(reads_pattern(self->fd, off, page, 2))
			TH_LOG("offset %zu", off);
	}
}

TEST_F(export, offset_mapping)
{
	size_t off = 3 * page, len = 5 * page;
	unsigned char *dev, *p;
	int dmabuf;

	/* Exported while an offset range of the device is mapped. */
	dev = map(self->fd, len, RW, MAP_SHARED, off);
	ASSERT_MAPPED(dev);
	dmabuf = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, dmabuf);
	p = map(dmabuf, len, RW, MAP_SHARED, off);
	ASSERT_MAPPED(p);
	fill_pattern(dev, off, len, 1);
	ASSERT_TRUE(has_pattern(p, off, len, 1));
	fill_pattern(p, off, len, 2);
	ASSERT_TRUE(has_pattern(dev, off, len, 2));
	ASSERT_TRUE(reads_pattern(self->fd, off, len, 2));
	ASSERT_EQ(1, nr_mappings(self->fd));
}

TEST_F(export, mmap_errors)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);

	ASSERT_LE(0, dmabuf);
	/* Private copies of a buffer that devices share make no sense. */
	ASSERT_EQ(EINVAL, map_errno(dmabuf, page, RW, MAP_PRIVATE, 0));
	ASSERT_EQ(EINVAL, map_errno(dmabuf, page, PROT_READ, MAP_PRIVATE, 0));
	/* Nothing of the buffer is executed. */
	ASSERT_EQ(EPERM, map_errno(dmabuf, page, PROT_READ | PROT_EXEC,
				   MAP_SHARED, 0));
	ASSERT_EQ(EPERM, map_errno(dmabuf, page, PROT_EXEC, MAP_SHARED, 0));
	/* dma-buf's own check of the range. */
	ASSERT_EQ(EINVAL, map_errno(dmabuf, self->size + page, RW,
				    MAP_SHARED, 0));
	ASSERT_EQ(EINVAL, map_errno(dmabuf, page, RW, MAP_SHARED, self->size));
	ASSERT_EQ(EINVAL, map_errno(dmabuf, 2 * page, RW, MAP_SHARED,
				    self->size - page));
	/* The whole buffer and its last page are fine. */
	ASSERT_EQ(0, map_errno(dmabuf, self->size, RW, MAP_SHARED, 0));
	ASSERT_EQ(0, map_errno(dmabuf, page, RW, MAP_SHARED,
			       self->size - page));
}

TEST_F(export, mapping_not_counted)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p, *dev;

	ASSERT_LE(0, dmabuf);
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* nr_mappings counts the device's mappings; nr_exports the dma-buf. */
	ASSERT_EQ(0, nr_mappings(self->fd));
	dev = map(self->fd, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(dev);
	ASSERT_EQ(1, nr_mappings(self->fd));
	ASSERT_EQ(1, nr_exports(self->fd));
}

TEST_F(export, sync)
{
	static const __u64 modes[] = {
		DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW,
	};
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned int i, seed = 1;
	unsigned char *p;

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, seed));
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	/* begin/end_cpu_access around each kind of CPU access. */
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_START | modes[i]))
			TH_LOG("start %#llx: %s", (unsigned long long)modes[i],
			       strerror(errno));
		if (modes[i] & DMA_BUF_SYNC_WRITE)
			fill_pattern(p, 0, self->size, ++seed);
		ASSERT_TRUE(has_pattern(p, 0, self->size, seed));
		ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_END | modes[i]))
			TH_LOG("end %#llx: %s", (unsigned long long)modes[i],
			       strerror(errno));
		ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, seed));
	}
}

TEST_F(export, mapping_holds_export)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p;

	ASSERT_LE(0, dmabuf);
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(dmabuf));
	/* The mapping holds the dma-buf, and so the export. */
	ASSERT_EQ(1, nr_exports(self->fd));
	fill_pattern(p, 0, self->size, 1);
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 1));
	ASSERT_EQ(0, munmap(p, self->size));
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, device_closed_keeps_buffer)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p;

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(self->fd));
	/* No device file is open: the dma-buf still holds the buffer. */
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	ASSERT_EQ(0, close(dmabuf));
	/* Nor any dma-buf file: its mapping holds it. */
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	fill_pattern(p, 0, self->size, 2);
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 2));
	ASSERT_EQ(0, munmap(p, self->size));
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, reexport_after_reopen)
{
	int a = export_buffer(self->fd, O_RDWR), b;
	unsigned char *pa, *pb;

	ASSERT_LE(0, a);
	ASSERT_EQ(0, close(self->fd));
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd);
	/* A second dma-buf of the buffer that the first one kept. */
	b = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_NE(inode(a), inode(b));
	ASSERT_EQ(2, nr_exports(self->fd));
	pa = map(a, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(pa);
	pb = map(b, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(pb);
	fill_pattern(pa, 0, self->size, 1);
	ASSERT_TRUE(has_pattern(pb, 0, self->size, 1));
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 1));
}

TEST_F(export, resize_ebusy)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	/* An importer may use the buffer at any time: it stays. */
	ASSERT_EQ(-1, resize(self->fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, resize(self->fd, self->size));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(self->size, info_size(self->fd));
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 1));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, resize(self->fd, 2 * page));
	ASSERT_EQ(2 * page, info_size(self->fd));
}

TEST_F(export, resize_ebusy_mapping)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p;

	ASSERT_LE(0, dmabuf);
	p = map(dmabuf, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(dmabuf));
	/* The mapping keeps the dma-buf, which keeps the buffer. */
	ASSERT_EQ(-1, resize(self->fd, 2 * page));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, munmap(p, page));
	ASSERT_EQ(0, resize(self->fd, 2 * page));
	ASSERT_EQ(0, nr_exports(self->fd));
}

TEST_F(export, rmmod_ewouldblock)
{
	int dmabuf = export_buffer(self->fd, O_RDWR);
	unsigned char *p;

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	ASSERT_EQ(0, close(self->fd));
	/* No device file is open, but the dma-buf holds the module. */
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	p = map(dmabuf, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_EQ(0, close(dmabuf));
	/* And so does a mapping of it. */
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, nr_exports(self->fd));
}

TEST_F(export, one_page_buffer)
{
	unsigned char *p;
	int dmabuf;

	ASSERT_EQ(0, resize(self->fd, page));
	ASSERT_TRUE(write_pattern(self->fd, 0, page, 1));
	dmabuf = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(is_mapbuf_dmabuf(dmabuf, page));
	ASSERT_EQ(EINVAL, map_errno(dmabuf, 2 * page, RW, MAP_SHARED, 0));
	ASSERT_EQ(EINVAL, map_errno(dmabuf, page, RW, MAP_SHARED, page));
	p = map(dmabuf, page, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, 0, page, 1));
	fill_pattern(p, 0, page, 2);
	ASSERT_TRUE(reads_pattern(self->fd, 0, page, 2));
}

TEST_F(export, big_buffer)
{
	unsigned char *p;
	int dmabuf;

	/* Made of several extents, where one sg entry per run shows. */
	ASSERT_EQ(0, resize(self->fd, BIG_SIZE));
	ASSERT_TRUE(write_pattern(self->fd, 0, BIG_SIZE, 1));
	dmabuf = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(is_mapbuf_dmabuf(dmabuf, BIG_SIZE));
	p = map(dmabuf, BIG_SIZE, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, 0, BIG_SIZE, 1));
	fill_pattern(p, 0, BIG_SIZE, 2);
	ASSERT_TRUE(reads_pattern(self->fd, 0, BIG_SIZE, 2));
	ASSERT_EQ(0, munmap(p, BIG_SIZE));
	p = map(dmabuf, page, RW, MAP_SHARED, BIG_SIZE - page);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, BIG_SIZE - page, page, 2));
}

/* The card of vgem, open; or -1. */
static int open_vgem(void)
{
	char name[16], path[32];
	int i, fd;

	for (i = 0; i < 64; i++) {
		struct drm_version v = {
			.name = name,
			.name_len = sizeof(name) - 1,
		};

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * The next video capture device of vivid from /dev/video*n on, open, with
 * *n moved past it; or -1. Each vivid instance has one.
 */
static int open_vivid(int *n)
{
	struct v4l2_capability cap;
	char path[32];
	__u32 caps;
	int fd;

	for (; *n < 64; ++*n) {
		snprintf(path, sizeof(path), "/dev/video%d", *n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid")) {
			caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ?
			       cap.device_caps : cap.capabilities;
			if ((caps & V4L2_CAP_VIDEO_CAPTURE) &&
			    (caps & V4L2_CAP_STREAMING)) {
				++*n;
				return fd;
			}
		}
		close(fd);
	}
	return -1;
}

/* Set the menu control called name of fd to its item called item. */
static int set_menu(int fd, const char *name, const char *item)
{
	struct v4l2_queryctrl qc = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };
	struct v4l2_querymenu qm;
	struct v4l2_control ctrl;
	int i;

	while (!ioctl(fd, VIDIOC_QUERYCTRL, &qc)) {
		if (qc.type == V4L2_CTRL_TYPE_MENU &&
		    !strcmp((char *)qc.name, name)) {
			for (i = qc.minimum; i <= qc.maximum; i++) {
				memset(&qm, 0, sizeof(qm));
				qm.id = qc.id;
				qm.index = i;
				if (ioctl(fd, VIDIOC_QUERYMENU, &qm) ||
				    strcmp((char *)qm.name, item))
					continue;
				ctrl.id = qc.id;
				ctrl.value = i;
				return ioctl(fd, VIDIOC_S_CTRL, &ctrl);
			}
			return -1;
		}
		qc.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return -1;
}

/* Whether each of the pixels of 24-bit RGB at p is r, g, b. */
static bool rgb24_is(const unsigned char *p, size_t pixels,
		     unsigned char r, unsigned char g, unsigned char b)
{
	size_t i;

	for (i = 0; i < pixels; i++, p += 3)
		if (p[0] != r || p[1] != g || p[2] != b)
			return false;
	return true;
}

/* Drivers that import the dma-buf, where the kernel has them. */
FIXTURE(importer) {
	int fd;
	size_t size;
};

FIXTURE_SETUP(importer)
{
	self->fd = open_buffer(_metadata, &self->size);
	if (self->fd < 0)
		SKIP(return, DEVICE " is missing: load the mapbuf module");
}

FIXTURE_TEARDOWN(importer)
{
	close(self->fd);
}

TEST_F(importer, vgem_prime)
{
	struct drm_prime_handle import = { .flags = 0 }, again, back;
	struct drm_mode_map_dumb dumb = { 0 };
	struct drm_gem_close gem_close = { 0 };
	int card = open_vgem(), dmabuf;
	unsigned char *p;

	if (card < 0)
		SKIP(return, "no vgem device: build the kernel with CONFIG_DRM_VGEM");
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	dmabuf = export_buffer(self->fd, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dmabuf);
	/* vgem attaches to the dma-buf and makes a GEM object of it. */
	import.fd = dmabuf;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &import))
		TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(errno));
	ASSERT_NE(0, import.handle);
	/* vgem hands back the dma-buf it imported, not a new one. */
	back = (struct drm_prime_handle){
		.handle = import.handle,
		.flags = DRM_CLOEXEC | DRM_RDWR,
		.fd = -1,
	};
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &back))
		TH_LOG("PRIME_HANDLE_TO_FD: %s", strerror(errno));
	ASSERT_LE(0, back.fd);
	ASSERT_EQ(inode(dmabuf), inode(back.fd));
	ASSERT_TRUE(is_mapbuf_dmabuf(back.fd, self->size));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, close(back.fd));
	/* The GEM object holds the dma-buf. */
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_EQ(-1, resize(self->fd, page));
	ASSERT_EQ(EBUSY, errno);
	/* DRM does not map imported objects through its own offsets. */
	dumb.handle = import.handle;
	ASSERT_EQ(-1, ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &dumb));
	ASSERT_EQ(EINVAL, errno);
	back.fd = -1;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &back));
	ASSERT_TRUE(is_mapbuf_dmabuf(back.fd, self->size));
	again = (struct drm_prime_handle){ .fd = back.fd };
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &again));
	ASSERT_EQ(import.handle, again.handle);
	/* What comes back from the importer maps the buffer. */
	p = map(back.fd, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(has_pattern(p, 0, self->size, 1));
	fill_pattern(p, 0, self->size, 2);
	ASSERT_TRUE(reads_pattern(self->fd, 0, self->size, 2));
	ASSERT_EQ(0, munmap(p, self->size));
	ASSERT_EQ(0, close(back.fd));
	ASSERT_EQ(1, nr_exports(self->fd));
	/* Closing the GEM handle detaches vgem and drops the last reference. */
	gem_close.handle = import.handle;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_GEM_CLOSE, &gem_close));
	ASSERT_EQ(0, nr_exports(self->fd));
	ASSERT_EQ(0, close(card));
	ASSERT_EQ(0, resize(self->fd, page));
}

TEST_F(importer, vgem_close_card)
{
	struct drm_prime_handle import = { .flags = 0 };
	int card = open_vgem(), dmabuf;

	if (card < 0)
		SKIP(return, "no vgem device: build the kernel with CONFIG_DRM_VGEM");
	dmabuf = export_buffer(self->fd, O_RDWR);
	ASSERT_LE(0, dmabuf);
	import.fd = dmabuf;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &import));
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, close(self->fd));
	/* Only vgem holds the dma-buf, and through it the module. */
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, nr_exports(self->fd));
	/* Closing the card closes its handles. */
	ASSERT_EQ(0, close(card));
	ASSERT_EQ(0, nr_exports(self->fd));
}

/*
 * Capture one frame of vivid's video device into a dma-buf of the buffer
 * of fd, of size bytes, and check it through the device. vivid's default
 * vb2-vmalloc vmaps the dma-buf; with vivid.allocators=1 vb2-dma-contig
 * DMA-maps it instead.
 */
static void capture(struct __test_metadata *_metadata, int fd, size_t size,
		    int video)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers req = {
		.count = 1,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer buf = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, input = 0, dmabuf;
	size_t frame;
	unsigned char *p;

	ASSERT_EQ(0, ioctl(video, VIDIOC_S_INPUT, &input));
	fmt.fmt.pix.width = FRAME_WIDTH;
	fmt.fmt.pix.height = FRAME_HEIGHT;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(0, ioctl(video, VIDIOC_S_FMT, &fmt));
	ASSERT_EQ(V4L2_PIX_FMT_RGB24, fmt.fmt.pix.pixelformat);
	ASSERT_EQ(FRAME_WIDTH, fmt.fmt.pix.width);
	ASSERT_EQ(FRAME_HEIGHT, fmt.fmt.pix.height);
	ASSERT_EQ(3 * FRAME_WIDTH, fmt.fmt.pix.bytesperline);
	frame = fmt.fmt.pix.sizeimage;
	ASSERT_EQ(3 * FRAME_WIDTH * FRAME_HEIGHT, frame);
	ASSERT_LT(frame, size);
	/* A frame of one colour, without vivid's text on it. */
	ASSERT_EQ(0, set_menu(video, "Test Pattern", "100% Red"));
	ASSERT_EQ(0, set_menu(video, "OSD Text Mode", "None"));

	/* What vivid does not write must stay as it was. */
	ASSERT_TRUE(write_pattern(fd, 0, size, 1));
	dmabuf = export_buffer(fd, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dmabuf);
	ASSERT_EQ(0, ioctl(video, VIDIOC_REQBUFS, &req))
		TH_LOG("REQBUFS: %s", strerror(errno));
	ASSERT_LE(1, req.count);
	buf.index = 0;
	buf.m.fd = dmabuf;
	buf.length = size;
	ASSERT_EQ(0, ioctl(video, VIDIOC_QBUF, &buf))
		TH_LOG("QBUF: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(video, VIDIOC_STREAMON, &type));
	memset(&buf, 0, sizeof(buf));
	buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	buf.memory = V4L2_MEMORY_DMABUF;
	ASSERT_EQ(0, ioctl(video, VIDIOC_DQBUF, &buf))
		TH_LOG("DQBUF: %s", strerror(errno));
	ASSERT_EQ(0, buf.index);
	ASSERT_EQ(0, buf.flags & V4L2_BUF_FLAG_ERROR);
	ASSERT_EQ(frame, buf.bytesused);
	ASSERT_EQ(0, ioctl(video, VIDIOC_STREAMOFF, &type));
	req.count = 0;
	ASSERT_EQ(0, ioctl(video, VIDIOC_REQBUFS, &req));
	ASSERT_EQ(0, close(dmabuf));
	/* vivid let go of the dma-buf. */
	ASSERT_EQ(0, nr_exports(fd));

	/* The frame, read back through the device: every pixel red. */
	p = map(fd, size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(rgb24_is(p, frame / 3, 0xff, 0, 0))
		TH_LOG("first pixel %02x %02x %02x", p[0], p[1], p[2]);
	ASSERT_TRUE(has_pattern(p + frame, frame, size - frame, 1));
	ASSERT_EQ(0, munmap(p, size));
}

TEST_F(importer, vivid_capture)
{
	int n = 0, video, devices = 0;

	while ((video = open_vivid(&n)) >= 0) {
		capture(_metadata, self->fd, self->size, video);
		ASSERT_EQ(0, close(video));
		devices++;
	}
	if (!devices)
		SKIP(return, "no vivid capture device: build the kernel with CONFIG_VIDEO_VIVID");
}

TEST_HARNESS_MAIN
