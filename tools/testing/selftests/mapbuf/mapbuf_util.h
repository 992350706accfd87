/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the mapbuf test programs: /dev/mapbuf0 at its load
 * size, its ioctls, mappings and unload. After kselftest_harness.h.
 */
#ifndef MAPBUF_UTIL_H
#define MAPBUF_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/mapbuf.h>

#define DEVICE	"/dev/mapbuf0"
#define MODULE	"mapbuf"
#define RW	(PROT_READ | PROT_WRITE)

/* The harness compares integers: addresses as uintptr_t, for 32-bit too. */
#define ADDR(p)			((uintptr_t)(p))
#define ASSERT_MAPPED(p)	ASSERT_NE(ADDR(MAP_FAILED), ADDR(p))

/* The page size; open_buffer() sets it. */
static size_t page;

static inline int resize_flags(int fd, __u64 size, __u64 flags)
{
	struct mapbuf_resize arg = { .size = size, .flags = flags };

	return ioctl(fd, MAPBUF_IOC_RESIZE, &arg);
}

static inline int resize(int fd, __u64 size)
{
	return resize_flags(fd, size, 0);
}

/* The size the module was loaded with, in whole pages; 0 if unknown. */
static inline size_t module_size(void)
{
	unsigned long long size;
	FILE *f;
	int n;

	f = fopen("/sys/module/" MODULE "/parameters/size", "r");
	if (!f)
		return 0;
	n = fscanf(f, "%llu", &size);
	fclose(f);
	if (n != 1)
		return 0;
	return (size + page - 1) / page * page;
}

/*
 * Open the device read-write, give it back the size it was loaded with if
 * a test resized it, check that it holds at least 16 pages and clear it.
 * Return -1 when the device does not exist.
 */
static inline int open_buffer(struct __test_metadata *_metadata,
			      size_t *size)
{
	struct mapbuf_info info;
	size_t loaded;
	int fd;

	page = sysconf(_SC_PAGESIZE);
	fd = open(DEVICE, O_RDWR);
	if (fd < 0 && errno == ENOENT)
		return -1;
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MAPBUF_IOC_INFO, &info));
	/* Each test runs in a new process: nothing of it maps the buffer. */
	loaded = module_size();
	if (loaded && info.size != loaded) {
		ASSERT_EQ(0, resize(fd, loaded));
		info.size = loaded;
	}
	ASSERT_LE(16 * page, info.size);
	ASSERT_EQ(0, ioctl(fd, MAPBUF_IOC_CLEAR));
	*size = info.size;
	return fd;
}

/* mmap(2) len bytes of fd at off; MAP_FAILED with errno set on failure. */
static inline unsigned char *map(int fd, size_t len, int prot, int flags,
				 off_t off)
{
	return mmap(NULL, len, prot, flags, fd, off);
}

/* The errno of a refused mmap(2), or 0 (and no mapping) if it succeeds. */
static inline int map_errno(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/* An inaccessible anonymous range: a bad user pointer or a place to move to. */
static inline unsigned char *reserve(size_t len)
{
	return map(-1, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
}

/* The buffer size as MAPBUF_IOC_INFO reports it, or 0. */
static inline __u64 info_size(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		return 0;
	return info.size;
}

/* nr_mappings as MAPBUF_IOC_INFO reports it, or -1. */
static inline int nr_mappings(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		return -1;
	return info.nr_mappings;
}

/* MAPBUF_IOC_INFO's flags: what this kernel's mapbuf can do; 0 if unknown. */
static inline __u64 info_flags(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		return 0;
	return info.flags;
}

/* nr_exports as MAPBUF_IOC_INFO reports it, or -1. */
static inline int nr_exports(int fd)
{
	struct mapbuf_info info;

	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		return -1;
	return info.nr_exports;
}

/* delete_module(2) as rmmod calls it; the errno, or 0 if it unloaded. */
static inline int unload_errno(void)
{
	if (syscall(__NR_delete_module, MODULE, O_NONBLOCK))
		return errno;
	return 0;
}

#endif /* MAPBUF_UTIL_H */
