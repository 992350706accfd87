// SPDX-License-Identifier: GPL-2.0-only
/*
 * mapbuf: the buffer exported as a dma-buf (MAPBUF_IOC_EXPORT).
 *
 * The dma-buf holds a buffer reference, counted in nr_exports so that a
 * resize fails while it exists, and one to the module through its owner.
 * Each attachment gets its own scatterlist, built for the device's
 * segment limit. The callbacks follow dma-buf's rules: the core holds the
 * dma-buf's reservation lock around map, unmap, vmap and vunmap; the CPU
 * access callbacks take it themselves to walk the attachments.
 */

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <kunit/visibility.h>
#include <uapi/linux/mapbuf.h>

#include "mapbuf.h"

/**
 * struct mapbuf_attachment - a device's attachment to a mapbuf dma-buf
 * @sgt: the buffer as a scatterlist whose entries fit the device
 * @dir: the direction @sgt is DMA-mapped for, DMA_NONE while it is not;
 *	guarded by the dma-buf's reservation lock
 */
struct mapbuf_attachment {
	struct sg_table sgt;
	enum dma_data_direction dir;
};

/*
 * The bytes from page @pgoff of @buf to the end of its folio, at most
 * @max: one physically contiguous run.
 */
static size_t mapbuf_buf_run(const struct mapbuf_buf *buf,
			     unsigned long pgoff, size_t max)
{
	struct page *page = buf->pages[pgoff];
	struct folio *folio = page_folio(page);

	return min_t(size_t, max, folio_size(folio) -
		     folio_page_idx(folio, page) * PAGE_SIZE);
}

/**
 * mapbuf_buf_sgt() - describe a buffer as a scatterlist
 * @buf: the buffer
 * @max_seg: the longest entry the device takes, in bytes
 * @sgt: the table to allocate and fill
 *
 * One entry per folio of @buf, in offset order, split where the folio is
 * longer than @max_seg rounded down to whole pages (at least one page).
 * Folios that happen to be physically adjacent stay separate entries: an
 * IOMMU merges them anyway, and the table then does not depend on where
 * the allocator put them.
 *
 * Return: 0, or -ENOMEM.
 */
VISIBLE_IF_KUNIT int mapbuf_buf_sgt(const struct mapbuf_buf *buf,
				    unsigned int max_seg, struct sg_table *sgt)
{
	size_t seg = max_t(size_t, round_down(max_seg, PAGE_SIZE), PAGE_SIZE);
	unsigned int nents = 0;
	struct scatterlist *sg;
	unsigned long i;
	size_t len;
	int ret;

	for (i = 0; i < buf->nr_pages; i += len >> PAGE_SHIFT, nents++)
		len = mapbuf_buf_run(buf, i, seg);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	sg = sgt->sgl;
	for (i = 0; i < buf->nr_pages; i += len >> PAGE_SHIFT) {
		len = mapbuf_buf_run(buf, i, seg);
		sg_set_page(sg, buf->pages[i], len, 0);
		sg = sg_next(sg);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_buf_sgt);

/* The table is built here, where the device's segment limit is known. */
static int mapbuf_dma_buf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct mapbuf_attachment *a;
	int ret;

	a = kzalloc_obj(*a);
	if (!a)
		return -ENOMEM;
	ret = mapbuf_buf_sgt(dmabuf->priv, dma_get_max_seg_size(attach->dev),
			     &a->sgt);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dir = DMA_NONE;
	attach->priv = a;
	return 0;
}

static void mapbuf_dma_buf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct mapbuf_attachment *a = attach->priv;

	sg_free_table(&a->sgt);
	kfree(a);
}

/* Called with the reservation lock held, as is the unmap below. */
static struct sg_table *mapbuf_dma_buf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct mapbuf_attachment *a = attach->priv;
	int ret;

	/* The core maps an attachment once; one table cannot serve two. */
	if (a->dir != DMA_NONE)
		return ERR_PTR(-EBUSY);
	ret = dma_map_sgtable(attach->dev, &a->sgt, dir, 0);
	if (ret)
		return ERR_PTR(ret);
	a->dir = dir;
	return &a->sgt;
}

static void mapbuf_dma_buf_unmap(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct mapbuf_attachment *a = attach->priv;

	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	a->dir = DMA_NONE;
}

/*
 * Hand the buffer to the CPU (@for_cpu) or back to the devices: sync every
 * DMA-mapped attachment in the direction it was mapped with, as the DMA
 * API wants, and the kernel mapping of dma_buf_vmap(). The CPU's own
 * direction does not matter to either.
 */
static int mapbuf_dma_buf_sync(struct dma_buf *dmabuf, bool for_cpu)
{
	struct dma_buf_attachment *attach;
	struct mapbuf_attachment *a;
	int ret;

	/* It guards the attachment list, their mappings and the vmap. */
	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		return ret;
	if (dmabuf->vmapping_counter && for_cpu)
		invalidate_kernel_vmap_range(dmabuf->vmap_ptr.vaddr,
					     dmabuf->size);
	else if (dmabuf->vmapping_counter)
		flush_kernel_vmap_range(dmabuf->vmap_ptr.vaddr, dmabuf->size);
	list_for_each_entry(attach, &dmabuf->attachments, node) {
		a = attach->priv;
		if (a->dir == DMA_NONE)
			continue;
		if (for_cpu)
			dma_sync_sgtable_for_cpu(attach->dev, &a->sgt, a->dir);
		else
			dma_sync_sgtable_for_device(attach->dev, &a->sgt,
						    a->dir);
	}
	dma_resv_unlock(dmabuf->resv);
	return 0;
}

static int mapbuf_dma_buf_begin_cpu_access(struct dma_buf *dmabuf,
					   enum dma_data_direction dir)
{
	return mapbuf_dma_buf_sync(dmabuf, true);
}

static int mapbuf_dma_buf_end_cpu_access(struct dma_buf *dmabuf,
					 enum dma_data_direction dir)
{
	return mapbuf_dma_buf_sync(dmabuf, false);
}

/*
 * What dma-buf asks of its mappings: shared only, and no struct page
 * behind them (VM_PFNMAP: no get_user_pages(), so no importer's pages
 * leak to user space through it); the device's own mapping is the
 * page-backed one. Mapped whole here, one remap per run, so that it never
 * faults. The core has checked the range against the size.
 */
static int mapbuf_dma_buf_mmap(struct dma_buf *dmabuf,
			       struct vm_area_struct *vma)
{
	struct mapbuf_buf *buf = dmabuf->priv;
	unsigned long addr = vma->vm_start;
	unsigned long pgoff = vma->vm_pgoff;
	size_t len;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* As for the device: data that writers change never becomes code. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);
	for (; addr < vma->vm_end; addr += len, pgoff += len >> PAGE_SHIFT) {
		len = mapbuf_buf_run(buf, pgoff, vma->vm_end - addr);
		ret = remap_pfn_range(vma, addr, page_to_pfn(buf->pages[pgoff]),
				      len, vma->vm_page_prot);
		if (ret)
			return ret;
	}
	return 0;
}

/* Called with the reservation lock held; the core counts the users. */
static int mapbuf_dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct mapbuf_buf *buf = dmabuf->priv;
	void *vaddr;

	vaddr = vmap(buf->pages, buf->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		return -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void mapbuf_dma_buf_vunmap(struct dma_buf *dmabuf,
				  struct iosys_map *map)
{
	vunmap(map->vaddr);
}

/* The last reference to the dma-buf is gone: no importer is left. */
static void mapbuf_dma_buf_release(struct dma_buf *dmabuf)
{
	struct mapbuf_buf *buf = dmabuf->priv;

	atomic_dec(&buf->nr_exports);
	mapbuf_buf_put(buf);
}

static const struct dma_buf_ops mapbuf_dma_buf_ops = {
	.attach		= mapbuf_dma_buf_attach,
	.detach		= mapbuf_dma_buf_detach,
	.map_dma_buf	= mapbuf_dma_buf_map,
	.unmap_dma_buf	= mapbuf_dma_buf_unmap,
	.release	= mapbuf_dma_buf_release,
	.begin_cpu_access = mapbuf_dma_buf_begin_cpu_access,
	.end_cpu_access	= mapbuf_dma_buf_end_cpu_access,
	.mmap		= mapbuf_dma_buf_mmap,
	.vmap		= mapbuf_dma_buf_vmap,
	.vunmap		= mapbuf_dma_buf_vunmap,
};

/**
 * mapbuf_dev_export() - export a device's buffer as a dma-buf
 * @dev: the device
 * @flags: O_RDWR or O_RDONLY: the access mode of the dma-buf's file
 *
 * The dma-buf holds a reference to the buffer, counted in nr_exports so
 * that a resize fails while it exists, and one to the module, so that
 * rmmod fails too: no importer is ever left with freed memory.
 *
 * Return: the dma-buf, or an ERR_PTR() (-ENOMEM, ...).
 */
VISIBLE_IF_KUNIT struct dma_buf *mapbuf_dev_export(struct mapbuf_dev *dev,
						   int flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct mapbuf_buf *buf;
	struct dma_buf *dmabuf;

	scoped_guard(mutex, &dev->lock) {
		buf = dev->buf;
		kref_get(&buf->ref);
		atomic_inc(&buf->nr_exports);
	}
	info.ops = &mapbuf_dma_buf_ops;
	info.size = mapbuf_buf_size(buf);
	info.flags = flags;
	info.priv = buf;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		atomic_dec(&buf->nr_exports);
		mapbuf_buf_put(buf);
	}
	return dmabuf;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_dev_export);

/* The flags that MAPBUF_IOC_EXPORT takes from a file opened @f_mode. */
static int mapbuf_check_export(const struct mapbuf_export *exp,
			       fmode_t f_mode)
{
	if ((exp->flags & ~(O_ACCMODE | O_CLOEXEC)) || exp->reserved)
		return -EINVAL;
	switch (exp->flags & O_ACCMODE) {
	case O_RDONLY:
		return 0;
	case O_RDWR:
		/* A read-only file never hands out write access. */
		return f_mode & FMODE_WRITE ? 0 : -EBADF;
	default:
		return -EINVAL;
	}
}

/*
 * The fd is reserved first and installed last, once nothing can fail:
 * an error leaves no fd behind, and no dma-buf either.
 */
long mapbuf_ioctl_export(struct file *file, void __user *argp)
{
	struct mapbuf_export exp;
	struct dma_buf *dmabuf;
	int fd, ret;

	if (copy_from_user(&exp, argp, sizeof(exp)))
		return -EFAULT;
	ret = mapbuf_check_export(&exp, file->f_mode);
	if (ret)
		return ret;
	fd = get_unused_fd_flags(exp.flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	dmabuf = mapbuf_dev_export(mapbuf_file_dev(file),
				   exp.flags & O_ACCMODE);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_fd;
	}
	exp.fd = fd;
	if (copy_to_user(argp, &exp, sizeof(exp))) {
		ret = -EFAULT;
		goto err_put_dmabuf;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_put_dmabuf:
	dma_buf_put(dmabuf);
err_put_fd:
	put_unused_fd(fd);
	return ret;
}

MODULE_IMPORT_NS("DMA_BUF");
