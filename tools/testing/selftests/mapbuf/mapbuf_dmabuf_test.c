// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf rules of Documentation/userspace-api/mapbuf.rst, a table
 * each: MAPBUF_IOC_EXPORT's inputs and errors, mmap(2) of the dma-buf and
 * what it shares with the device, what keeps the buffer once the device
 * files are closed, and vivid capturing into it through vb2-vmalloc
 * (vmaps it) and vb2-dma-contig (needs its scatterlist in order).
 */
#define _GNU_SOURCE
/* 64-bit file offsets for 32-bit programs too. */
#define _FILE_OFFSET_BITS 64
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include <linux/dma-buf.h>
#include <linux/videodev2.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

/* What vivid captures: a frame of 24-bit RGB. */
#define FRAME_WIDTH	320
#define FRAME_HEIGHT	180
#define FRAME_SIZE	(3 * FRAME_WIDTH * FRAME_HEIGHT)
#define CAPTURE		V4L2_BUF_TYPE_VIDEO_CAPTURE

/*
 * Pattern seed, which shows a page at the wrong offset: each 8-byte word
 * holds its buffer offset plus seed. Store it at p for the buffer bytes
 * [off, off + len), or check that p holds it.
 */
static bool pattern(unsigned char *p, __u64 off, size_t len,
		    unsigned int seed, bool store)
{
	__u64 *w = (void *)p;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		if (store)
			w[i] = off + 8 * i + seed;
		else if (w[i] != off + 8 * i + seed)
			return false;
	}
	return true;
}

#define fill_pattern(p, off, len, seed)	pattern(p, off, len, seed, true)
#define has_pattern(p, off, len, seed)	pattern(p, off, len, seed, false)

/* pwrite(2) pattern seed to [off, off + len) of fd, or pread(2) it. */
static bool pio_pattern(int fd, __u64 off, size_t len, unsigned int seed,
			bool write)
{
	unsigned char *buf = malloc(len);
	bool ok;

	if (!buf)
		return false;
	fill_pattern(buf, off, len, seed);
	if (write)
		ok = pwrite(fd, buf, len, off) == (ssize_t)len;
	else
		ok = pread(fd, buf, len, off) == (ssize_t)len &&
		     has_pattern(buf, off, len, seed);
	free(buf);
	return ok;
}

#define write_pattern(fd, off, len, seed) pio_pattern(fd, off, len, seed, 1)
#define reads_pattern(fd, off, len, seed) pio_pattern(fd, off, len, seed, 0)

/* MAPBUF_IOC_EXPORT of fd: the dma-buf's fd, or -1 and errno. */
static int export_buffer(int fd, bool rdonly)
{
	struct mapbuf_export arg = { .flags = rdonly ? O_RDONLY : O_RDWR };

	return ioctl(fd, MAPBUF_IOC_EXPORT, &arg) ? -1 : arg.fd;
}

/* The lowest free file descriptor, which the next new file gets. */
static int next_fd(void)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int sync_dmabuf(int fd, __u64 flags)
{
	struct dma_buf_sync sync = { .flags = flags | DMA_BUF_SYNC_RW };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

/* /dev/mapbuf0 as open_buffer() leaves it, which can export. */
static int open_dev(struct __test_metadata *_metadata, size_t *size)
{
	int fd = open_buffer(_metadata, size);

	ASSERT_LE(0, fd) TH_LOG(DEVICE " is missing: load the mapbuf module");
	ASSERT_TRUE(info_flags(fd) & MAPBUF_INFO_EXPORT);
	return fd;
}

/* Where MAPBUF_IOC_EXPORT finds its argument. */
enum arg_at {
	ARG_WRITABLE,
	ARG_READ_ONLY,	/* read, but fd cannot be written back */
	ARG_UNMAPPED,
	ARG_STRADDLE,	/* flags and fd readable, reserved not */
};

FIXTURE(export) {
	int fd, dev;	/* read-write; the one the ioctl goes to */
	size_t size;
};

FIXTURE_VARIANT(export) {
	__u32 flags;		/* O_RDONLY is 0 */
	__u32 bits;		/* else each of these ORed into flags */
	__u64 reserved;
	int fd_in;		/* what fd holds on entry: ignored */
	bool ro_dev;		/* the device file is O_RDONLY */
	bool no_fd;		/* RLIMIT_NOFILE is reached */
	enum arg_at arg;
	int err;
};

#define OTHER_BITS	(~(O_ACCMODE | O_CLOEXEC))
#define EXPORT(name)	FIXTURE_VARIANT_ADD(export, name)

EXPORT(rdwr) { .flags = O_RDWR };
EXPORT(rdonly) { .flags = O_RDONLY };
EXPORT(rdwr_cloexec) { .flags = O_RDWR | O_CLOEXEC };
EXPORT(rdonly_cloexec) { .flags = O_RDONLY | O_CLOEXEC };
EXPORT(fd_in_ignored) { .flags = O_RDWR, .fd_in = -1 };
EXPORT(ro_dev_rdonly) { .flags = O_RDONLY, .ro_dev = 1 };
EXPORT(wronly_einval) { .flags = O_WRONLY, .err = EINVAL };
EXPORT(accmode_einval) { .flags = O_ACCMODE, .err = EINVAL };
EXPORT(rdwr_bit_einval) { .flags = O_RDWR, .bits = OTHER_BITS, .err = EINVAL };
EXPORT(rdonly_bit_einval) { .bits = OTHER_BITS, .err = EINVAL };
EXPORT(reserved_einval) { .flags = O_RDWR, .reserved = 1, .err = EINVAL };
EXPORT(reserved_63_einval) { .reserved = 1ULL << 63, .err = EINVAL };
EXPORT(ro_dev_rdwr_ebadf) { .flags = O_RDWR, .ro_dev = 1, .err = EBADF };
EXPORT(ro_dev_rdwr_cloexec_ebadf) {
	.flags = O_RDWR | O_CLOEXEC, .ro_dev = 1, .err = EBADF,
};

/* The order of the checks: the rst's table of errors, top down. */
EXPORT(ro_dev_einval_first) { .flags = O_WRONLY, .ro_dev = 1, .err = EINVAL };
EXPORT(ro_dev_reserved_einval_first) {
	.flags = O_RDWR, .reserved = 1, .ro_dev = 1, .err = EINVAL,
};

EXPORT(no_fd_emfile) { .flags = O_RDWR, .no_fd = 1, .err = EMFILE };
EXPORT(no_fd_einval_first) { .flags = O_WRONLY, .no_fd = 1, .err = EINVAL };
EXPORT(no_fd_ebadf_first) {
	.flags = O_RDWR, .ro_dev = 1, .no_fd = 1, .err = EBADF,
};

EXPORT(arg_unmapped_efault) { .arg = ARG_UNMAPPED, .err = EFAULT };
/* The whole argument is read before its bad flags are seen. */
EXPORT(arg_straddle_efault_first) {
	.flags = O_WRONLY, .arg = ARG_STRADDLE, .err = EFAULT,
};

/* Exported, but fd cannot be returned: the dma-buf goes again. */
EXPORT(arg_read_only_efault) { .arg = ARG_READ_ONLY, .err = EFAULT };

FIXTURE_SETUP(export)
{
	self->fd = open_dev(_metadata, &self->size);
	self->dev = variant->ro_dev ? open(DEVICE, O_RDONLY) : self->fd;
	ASSERT_LE(0, self->dev);
}

/* Each case's process exits: that closes and unmaps what it made. */
FIXTURE_TEARDOWN(export) {}

/* A copy of exp where at says, in two pages of its own. */
static void *place_arg(struct __test_metadata *_metadata, enum arg_at at,
		       const struct mapbuf_export *exp)
{
	size_t head = offsetof(struct mapbuf_export, reserved);
	unsigned char *p = map(-1, 2 * page, RW,
			       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	unsigned char *arg = at == ARG_STRADDLE ? p + page - head : p;

	ASSERT_MAPPED(p);
	memcpy(arg, exp, at == ARG_STRADDLE ? head : sizeof(*exp));
	if (at == ARG_STRADDLE)
		ASSERT_EQ(0, mprotect(p + page, page, PROT_NONE));
	if (at == ARG_READ_ONLY || at == ARG_UNMAPPED)
		ASSERT_EQ(0, mprotect(p, 2 * page, at == ARG_UNMAPPED ?
				      PROT_NONE : PROT_READ));
	return arg;
}

/* For a row with bits, each of them ORed into its flags in turn. */
TEST_F(export, ioctl)
{
	struct mapbuf_export exp = { 0, variant->fd_in, variant->reserved };
	struct mapbuf_export *arg;
	int next, err;
	struct rlimit old, none;
	__u32 bit = 1;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	do {
		if (variant->bits && !(variant->bits & bit))
			continue;
		exp.flags = variant->flags | (variant->bits & bit);
		arg = place_arg(_metadata, variant->arg, &exp);
		next = next_fd();
		none = old;
		none.rlim_cur = variant->no_fd ? next : old.rlim_cur;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &none));
		err = ioctl(self->dev, MAPBUF_IOC_EXPORT, arg) ? errno : 0;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
		ASSERT_EQ(variant->err, err)
			TH_LOG("flags %#x: %s", exp.flags, strerror(err));
		if (err) {
			/* No file descriptor and no dma-buf left behind. */
			ASSERT_EQ(next, next_fd());
			ASSERT_EQ(0, nr_exports(self->fd));
			continue;
		}
		ASSERT_EQ(next, arg->fd);
		ASSERT_EQ(exp.flags & O_ACCMODE,
			  fcntl(arg->fd, F_GETFL) & O_ACCMODE);
		ASSERT_EQ(exp.flags & O_CLOEXEC ? FD_CLOEXEC : 0,
			  fcntl(arg->fd, F_GETFD) & FD_CLOEXEC);
		/* The buffer's size. */
		ASSERT_EQ(self->size, lseek(arg->fd, 0, SEEK_END));
		ASSERT_EQ(1, nr_exports(self->fd));
		ASSERT_EQ(0, close(arg->fd));
		/* Its last file is gone, nothing mapped it: it is released. */
		ASSERT_EQ(0, nr_exports(self->fd));
	} while (variant->bits && (bit <<= 1));
}

FIXTURE(mapping) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(mapping) {
	bool rdonly;		/* an O_RDONLY dma-buf */
	int prot, flags;
	long off, len;		/* pages; off < 0 from the end, len 0 to it */
	__u64 resize;		/* the buffer's size, if not the loaded one */
	int mprotect;		/* to this after mmap(2) */
	int err;
};

#define SHARED(p)	.prot = (p), .flags = MAP_SHARED
#define PRIVATE(p)	.prot = (p), .flags = MAP_PRIVATE
#define BIG		((9 << 20) + 1)	/* several extents */
#define MAPPING(name)	FIXTURE_VARIANT_ADD(mapping, name)

MAPPING(whole) { SHARED(RW) };
MAPPING(middle) { SHARED(RW), .off = 3, .len = 5 };
MAPPING(last_page) { SHARED(RW), .off = -1 };
MAPPING(one_page_buffer) { SHARED(RW), .resize = 1 };
MAPPING(big_buffer) { SHARED(RW), .resize = BIG };
MAPPING(big_last_page) { SHARED(RW), .resize = BIG, .off = -1 };
MAPPING(rdonly) { .rdonly = true, SHARED(PROT_READ) };
MAPPING(rdonly_write_eacces) { .rdonly = true, SHARED(RW), .err = EACCES };
MAPPING(private_einval) { PRIVATE(RW), .err = EINVAL };
MAPPING(private_read_einval) { PRIVATE(PROT_READ), .err = EINVAL };
MAPPING(exec_eperm) { SHARED(PROT_READ | PROT_EXEC), .err = EPERM };
MAPPING(mprotect_exec_eacces) {
	SHARED(PROT_READ), .mprotect = PROT_READ | PROT_EXEC, .err = EACCES,
};

FIXTURE_SETUP(mapping)
{
	self->fd = open_dev(_metadata, &self->size);
	if (variant->resize) {
		ASSERT_EQ(0, resize(self->fd, variant->resize));
		self->size = info_size(self->fd);
	}
}

FIXTURE_TEARDOWN(mapping) {}

/* Copy len bytes at src to dst as get_user_pages() of src sees them. */
static ssize_t gup_copy(void *dst, void *src, size_t len)
{
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = src, .iov_len = len };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

TEST_F(mapping, mmap)
{
	long pages = variant->off < 0 ? self->size / page : 0;
	size_t off = (variant->off + pages) * page;
	size_t len = variant->len ? variant->len * page : self->size - off;
	int dmabuf = export_buffer(self->fd, variant->rdonly);
	unsigned char *p, *dev, *buf = malloc(len);
	struct rusage ru[2];

	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	p = map(dmabuf, len, variant->prot, variant->flags, off);
	if (variant->err && !variant->mprotect) {
		ASSERT_EQ(ADDR(MAP_FAILED), ADDR(p));
		ASSERT_EQ(variant->err, errno);
		return;
	}
	ASSERT_MAPPED(p);
	if (variant->mprotect) {
		ASSERT_EQ(-1, mprotect(p, len, variant->mprotect));
		ASSERT_EQ(variant->err, errno);
		return;
	}
	/* Mapped whole by mmap(2): copying all of it takes no fault. */
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &ru[0]));
	ASSERT_EQ(len, pwrite(self->fd, p, len, off));
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &ru[1]));
	ASSERT_EQ(ru[0].ru_minflt, ru[1].ru_minflt);
	ASSERT_TRUE(has_pattern(p, off, len, 1));
	/* The dma-buf is counted, not its mapping. */
	ASSERT_EQ(0, nr_mappings(self->fd));
	ASSERT_EQ(1, nr_exports(self->fd));
	dev = map(self->fd, len, RW, MAP_SHARED, off);
	ASSERT_MAPPED(dev);
	ASSERT_EQ(1, nr_mappings(self->fd));
	/* A PFN mapping refuses get_user_pages(); the device's serves it. */
	ASSERT_EQ(len, gup_copy(buf, dev, len));
	ASSERT_TRUE(has_pattern(buf, off, len, 1));
	ASSERT_EQ(-1, gup_copy(buf, p, len));
	ASSERT_EQ(EFAULT, errno);
	/* The same pages as write(2) and the device's mapping, both ways. */
	ASSERT_TRUE(write_pattern(self->fd, off, len, 2));
	ASSERT_TRUE(has_pattern(p, off, len, 2));
	fill_pattern(dev, off, len, 3);
	ASSERT_TRUE(has_pattern(p, off, len, 3));
	if (!(variant->prot & PROT_WRITE))
		return;
	ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_START));
	fill_pattern(p, off, len, 4);
	ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_END));
	ASSERT_TRUE(reads_pattern(self->fd, off, len, 4));
	ASSERT_TRUE(has_pattern(dev, off, len, 4));
}

FIXTURE(lifetime) {
	int fd;
	size_t size;
};

FIXTURE_VARIANT(lifetime) {
	bool mapped;	/* a mapping holds it, not its file */
	int exports;	/* each made after the device was reopened */
};

FIXTURE_VARIANT_ADD(lifetime, fd) { .exports = 1 };
FIXTURE_VARIANT_ADD(lifetime, mapping) { .mapped = true, .exports = 1 };
FIXTURE_VARIANT_ADD(lifetime, two_fds) { .exports = 2 };
FIXTURE_VARIANT_ADD(lifetime, two_mappings) { .mapped = true, .exports = 2 };

FIXTURE_SETUP(lifetime)
{
	self->fd = open_dev(_metadata, &self->size);
}

FIXTURE_TEARDOWN(lifetime) {}

TEST_F(lifetime, holds_buffer)
{
	int n = variant->exports, i, dmabuf[2];
	size_t size = self->size;
	unsigned char *p[2];

	ASSERT_TRUE(write_pattern(self->fd, 0, size, 1));
	for (i = 0; i < n; i++) {
		dmabuf[i] = export_buffer(self->fd, false);
		ASSERT_LE(0, dmabuf[i]);
		if (variant->mapped) {
			p[i] = map(dmabuf[i], size, RW, MAP_SHARED, 0);
			ASSERT_MAPPED(p[i]);
			ASSERT_EQ(0, close(dmabuf[i]));
		}
		/* No device file is open: the dma-buf holds the module. */
		ASSERT_EQ(0, close(self->fd));
		ASSERT_EQ(EWOULDBLOCK, unload_errno());
		self->fd = open(DEVICE, O_RDWR);
		ASSERT_LE(0, self->fd);
	}
	ASSERT_EQ(n, nr_exports(self->fd));
	/* An importer may use the buffer at any time: it stays. */
	ASSERT_EQ(-1, resize(self->fd, size));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(size, info_size(self->fd));
	/* Of one buffer: each sees what the one before stored. */
	for (i = 0; i < n; i++) {
		if (!variant->mapped)
			p[i] = map(dmabuf[i], size, RW, MAP_SHARED, 0);
		ASSERT_MAPPED(p[i]);
		ASSERT_TRUE(has_pattern(p[i], 0, size, i + 1));
		fill_pattern(p[i], 0, size, i + 2);
		if (!variant->mapped)
			ASSERT_EQ(0, munmap(p[i], size));
	}
	ASSERT_TRUE(reads_pattern(self->fd, 0, size, n + 1));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, variant->mapped ? munmap(p[i], size) :
			     close(dmabuf[i]));
		ASSERT_EQ(n - i - 1, nr_exports(self->fd));
	}
	ASSERT_EQ(0, resize(self->fd, size));
}

/* The video capture device of vivid instance n, open; or -1. */
static int open_vivid(int n)
{
	struct v4l2_capability cap;
	char path[32], bus[32];
	int i, fd;

	snprintf(bus, sizeof(bus), "platform:vivid-%03d", n);
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.bus_info, bus) &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE))
			return fd;
		close(fd);
	}
	return -1;
}

FIXTURE(capture) {
	int fd, video;
	size_t size;
};

/* The access mode rules the fd, not the importer that writes into it. */
FIXTURE_VARIANT(capture) {
	int instance;	/* vivid.allocators=0,1: vmalloc, dma-contig */
	bool rdonly;	/* an O_RDONLY dma-buf */
};

FIXTURE_VARIANT_ADD(capture, vmalloc) { .instance = 0 };
FIXTURE_VARIANT_ADD(capture, vmalloc_rdonly) { .instance = 0, .rdonly = 1 };
FIXTURE_VARIANT_ADD(capture, dma_contig) { .instance = 1 };
FIXTURE_VARIANT_ADD(capture, dma_contig_rdonly) { .instance = 1, .rdonly = 1 };

FIXTURE_SETUP(capture)
{
	struct v4l2_format fmt = {
		.type = CAPTURE,
		.fmt.pix = { FRAME_WIDTH, FRAME_HEIGHT, V4L2_PIX_FMT_RGB24 },
	};

	self->fd = open_dev(_metadata, &self->size);
	self->video = open_vivid(variant->instance);
	ASSERT_LE(0, self->video) TH_LOG("no vivid-%03d", variant->instance);
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(0, ioctl(self->video, VIDIOC_S_FMT, &fmt));
	ASSERT_EQ(FRAME_SIZE, fmt.fmt.pix.sizeimage);
}

FIXTURE_TEARDOWN(capture) {}

TEST_F(capture, frame)
{
	struct v4l2_requestbuffers req = { 1, CAPTURE, V4L2_MEMORY_DMABUF };
	struct v4l2_buffer buf = { .type = CAPTURE, .length = self->size };
	int type = CAPTURE, dmabuf, video = self->video;
	unsigned char *p;
	size_t i;

	/* What vivid does not write must stay as it was. */
	ASSERT_TRUE(write_pattern(self->fd, 0, self->size, 1));
	dmabuf = export_buffer(self->fd, variant->rdonly);
	ASSERT_LE(0, dmabuf);
	ASSERT_EQ(0, ioctl(video, VIDIOC_REQBUFS, &req));
	buf.memory = V4L2_MEMORY_DMABUF;
	buf.m.fd = dmabuf;
	ASSERT_EQ(0, ioctl(video, VIDIOC_QBUF, &buf)) TH_LOG("QBUF: %m");
	ASSERT_EQ(0, ioctl(video, VIDIOC_STREAMON, &type));
	ASSERT_EQ(0, ioctl(video, VIDIOC_DQBUF, &buf)) TH_LOG("DQBUF: %m");
	ASSERT_EQ(0, buf.flags & V4L2_BUF_FLAG_ERROR);
	ASSERT_EQ(FRAME_SIZE, buf.bytesused);
	/* Syncs the attachment vivid has mapped, and its vmap. */
	ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_START));
	ASSERT_EQ(0, sync_dmabuf(dmabuf, DMA_BUF_SYNC_END));
	/* Only the importer holds it now, and through it the module. */
	ASSERT_EQ(0, close(dmabuf));
	ASSERT_EQ(0, close(self->fd));
	ASSERT_EQ(EWOULDBLOCK, unload_errno());
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_EQ(1, nr_exports(self->fd));
	ASSERT_EQ(0, ioctl(video, VIDIOC_STREAMOFF, &type));
	req.count = 0;
	ASSERT_EQ(0, ioctl(video, VIDIOC_REQBUFS, &req));
	ASSERT_EQ(0, nr_exports(self->fd));
	/* Through the device: the frame replaced every word from offset 0. */
	p = map(self->fd, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	for (i = 0; i < FRAME_SIZE; i += 8)
		ASSERT_FALSE(has_pattern(p + i, i, 8, 1)) TH_LOG("at %zu", i);
	ASSERT_TRUE(has_pattern(p + i, i, self->size - i, 1));
}

TEST_HARNESS_MAIN
