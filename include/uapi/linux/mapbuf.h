/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * mapbuf: a zeroed kernel buffer shared with user space through mmap(2),
 * read(2) and write(2), and exported as a dma-buf. Its contract is
 * Documentation/userspace-api/mapbuf.rst.
 */
#ifndef _UAPI_LINUX_MAPBUF_H
#define _UAPI_LINUX_MAPBUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Flags of struct mapbuf_info: what this kernel's mapbuf can do. A flag
 * that is clear means the feature is absent, so that a program written
 * for a newer kernel finds out what an older one lacks.
 */
/* MAPBUF_IOC_EXPORT exports the buffer as a dma-buf. */
#define MAPBUF_INFO_EXPORT		(1ULL << 0)
/* A mapping maps each PMD-order folio that it covers whole with one PMD. */
#define MAPBUF_INFO_PMD_MAPPINGS	(1ULL << 1)

/**
 * struct mapbuf_info - what MAPBUF_IOC_INFO reports
 * @size: size of the buffer in bytes, a multiple of the page size
 * @nr_mappings: number of live mappings (VMAs) of the buffer made through
 *	the device; mappings of its dma-bufs are not counted
 * @nr_exports: number of dma-bufs of the buffer that still exist (see
 *	MAPBUF_IOC_EXPORT); each keeps the buffer from being resized
 * @flags: MAPBUF_INFO_* flags, what this kernel's mapbuf can do
 * @reserved: zero, room for what later kernels report
 */
struct mapbuf_info {
	__u64 size;
	__u32 nr_mappings;
	__u32 nr_exports;
	__u64 flags;
	__u64 reserved[5];
};

/**
 * struct mapbuf_fill - argument of MAPBUF_IOC_FILL
 * @value: the byte every byte of the buffer is set to
 * @reserved: must be zero
 */
struct mapbuf_fill {
	__u8 value;
	__u8 reserved[7];
};

/**
 * struct mapbuf_resize - argument of MAPBUF_IOC_RESIZE
 * @size: the new size in bytes, rounded up to whole pages
 * @flags: must be zero; the kind of buffer to allocate, in later kernels
 */
struct mapbuf_resize {
	__u64 size;
	__u64 flags;
};

/**
 * struct mapbuf_export - argument of MAPBUF_IOC_EXPORT
 * @flags: O_RDWR or O_RDONLY, optionally with O_CLOEXEC, as in <fcntl.h>:
 *	the access mode and close-on-exec flag of the new dma-buf file
 *	descriptor; O_RDWR needs a device file descriptor open for writing
 * @fd: returns the dma-buf file descriptor; its value on entry is ignored
 * @reserved: must be zero
 */
struct mapbuf_export {
	__u32 flags;
	__s32 fd;
	__u64 reserved;
};

#define MAPBUF_IOC_MAGIC	0xB9

#define MAPBUF_IOC_INFO		_IOR(MAPBUF_IOC_MAGIC, 0x00, struct mapbuf_info)
#define MAPBUF_IOC_CLEAR	_IO(MAPBUF_IOC_MAGIC, 0x01)
#define MAPBUF_IOC_FILL		_IOW(MAPBUF_IOC_MAGIC, 0x02, struct mapbuf_fill)
#define MAPBUF_IOC_RESIZE	_IOW(MAPBUF_IOC_MAGIC, 0x03, struct mapbuf_resize)
#define MAPBUF_IOC_EXPORT	_IOWR(MAPBUF_IOC_MAGIC, 0x04, struct mapbuf_export)

#endif /* _UAPI_LINUX_MAPBUF_H */
