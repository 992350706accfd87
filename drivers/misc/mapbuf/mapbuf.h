/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mapbuf internals, shared by the driver's files and its KUnit suite
 * (mapbuf_kunit.c).
 */
#ifndef _DRIVERS_MISC_MAPBUF_H
#define _DRIVERS_MISC_MAPBUF_H

#include <linux/atomic.h>
#include <linux/container_of.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/sizes.h>

#define MAPBUF_MAX_SIZE		SZ_1G
#define MAPBUF_MAX_DEVICES	64

/**
 * struct mapbuf_buf - a zeroed buffer that user space can map
 * @ref: one reference for the device, one for each VMA that maps the buffer,
 *	one for each dma-buf of it, one for each read, write, clear or fill
 *	copying to or from it
 * @nr_mappings: number of VMAs that map the buffer through the device
 * @nr_exports: number of dma-bufs of the buffer
 * @nr_pages: size of the buffer in pages
 * @pages: the pages of the buffer, in offset order; each folio of the
 *	buffer (one allocation) is a run of them that starts at an index
 *	that is a multiple of the folio's size
 */
struct mapbuf_buf {
	struct kref ref;
	atomic_t nr_mappings;
	atomic_t nr_exports;
	unsigned long nr_pages;
	struct page *pages[] __counted_by(nr_pages);
};

/**
 * struct mapbuf_dev - one /dev/mapbufN
 * @misc: the misc device; file->private_data points here after open
 * @lock: serialises replacing @buf with new mappings and exports of it and
 *	with other readers of it
 * @buf: the current buffer; the device holds one reference to it
 * @name: the device name, "mapbufN"
 */
struct mapbuf_dev {
	struct miscdevice misc;
	struct mutex lock; /* guards @buf */
	struct mapbuf_buf *buf;
	char name[sizeof("mapbuf4294967295")];
};

static inline size_t mapbuf_buf_size(const struct mapbuf_buf *buf)
{
	return buf->nr_pages << PAGE_SHIFT;
}

static inline struct mapbuf_dev *mapbuf_file_dev(const struct file *file)
{
	/* misc_open() points private_data at our miscdevice. */
	return container_of(file->private_data, struct mapbuf_dev, misc);
}

void mapbuf_buf_put(struct mapbuf_buf *buf);
long mapbuf_ioctl_export(struct file *file, void __user *argp);

#if IS_ENABLED(CONFIG_KUNIT)
struct dma_buf;
struct sg_table;

extern const struct file_operations mapbuf_fops;
struct page *mapbuf_alloc_extent(gfp_t gfp, unsigned int order);
bool mapbuf_fill_should_stop(void);
struct mapbuf_buf *mapbuf_buf_alloc(size_t size);
struct page *mapbuf_buf_page(const struct mapbuf_buf *buf,
			     unsigned long pgoff);
struct folio *mapbuf_buf_pmd_folio(const struct mapbuf_buf *buf,
				   const struct vm_area_struct *vma,
				   unsigned long addr, bool write);
int mapbuf_check_range(const struct mapbuf_buf *buf, unsigned long pgoff,
		       unsigned long nr_pages);
int mapbuf_dev_resize(struct mapbuf_dev *dev, u64 size, u64 flags);
struct mapbuf_info;
void mapbuf_dev_info(struct mapbuf_dev *dev, struct mapbuf_info *info);
int mapbuf_buf_sgt(const struct mapbuf_buf *buf, unsigned int max_seg,
		   struct sg_table *sgt);
struct dma_buf *mapbuf_dev_export(struct mapbuf_dev *dev, int flags);
#endif

#endif /* _DRIVERS_MISC_MAPBUF_H */
