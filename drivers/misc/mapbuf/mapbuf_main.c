// SPDX-License-Identifier: GPL-2.0-only
/*
 * mapbuf: a zeroed kernel buffer shared with user space.
 *
 * Each /dev/mapbufN owns one buffer. User space reaches the same bytes
 * through mmap(2), read(2)/write(2)/lseek(2) and a few ioctls:
 *
 *     fd = open("/dev/mapbuf0", O_RDWR);
 *     ioctl(fd, MAPBUF_IOC_INFO, &info);
 *     p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *     p[0] = 'x';              // pread(fd, &c, 1, 0) now reads 'x'
 *
 * The buffer is made of zeroed folios, as large as the allocator gives up
 * to PMD size, each at a page offset that is a multiple of its size.
 * Mappings are page-backed: the fault handler hands out the buffer's pages
 * with a reference of their own, so the core mm gives MAP_PRIVATE its
 * copy-on-write semantics, fork() and mremap() need nothing from the
 * driver, and get_user_pages() works on a mapping. remap_pfn_range() would
 * give none of that.
 *
 * Lifetime: the buffer is refcounted. The device holds one reference to
 * its current buffer, every VMA holds one to the buffer it maps, and
 * read(), write(), MAPBUF_IOC_CLEAR and MAPBUF_IOC_FILL hold one while
 * they copy, so the pages outlive every user even if the device lets go
 * first. MAPBUF_IOC_EXPORT hands the buffer to other drivers as a dma-buf
 * (mapbuf_dmabuf.c), which holds a reference of its own until its last
 * user lets go.
 * MAPBUF_IOC_RESIZE installs a new buffer, and only while nothing maps
 * the old one and no dma-buf of it exists, so no memory that a program or
 * a device may still reach is ever freed or shrunk. A VMA holds its file,
 * an open file holds the module (fops.owner), and so does a dma-buf (its
 * owner): rmmod fails with EWOULDBLOCK while any of them exists.
 *
 * Locking: dev->lock guards dev->buf. A new mapping checks its range and
 * takes its reference and mapping count under it, an export its reference
 * and export count; a resize replaces the buffer under it, and only while
 * both counts are 0. mmap takes it under mmap_lock; copies to and from
 * user memory, which may fault and take mmap_lock, run without it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cleanup.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <uapi/linux/mapbuf.h>

#include "mapbuf.h"

/* Largest extent: one PMD, the size of a transparent huge page. */
#define MAPBUF_MAX_ORDER	min_t(unsigned int, MAX_PAGE_ORDER, PMD_ORDER)

/* MAPBUF_INFO_PMD_MAPPINGS: vmf_insert_folio_pmd() needs THP. */
#define MAPBUF_INFO_HUGE	(IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) ? \
				 MAPBUF_INFO_PMD_MAPPINGS : 0)

static unsigned int mapbuf_nr_devices = 1;
module_param_named(nr_devices, mapbuf_nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "number of devices /dev/mapbufN (1-64, default 1)");

static unsigned long mapbuf_size = SZ_1M;
module_param_named(size, mapbuf_size, ulong, 0444);
MODULE_PARM_DESC(size, "bytes per buffer, rounded up to whole pages (one page to 1 GiB, default 1 MiB)");

static struct mapbuf_dev *mapbuf_devs;

static gfp_t mapbuf_extent_gfp(unsigned int order)
{
	/*
	 * User space picks the size: charge it to the caller's memcg. An
	 * extent stays one compound folio, which a PMD can map whole.
	 */
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN | __GFP_COMP;

	/*
	 * Big extents are only an optimisation: give up on them quickly and
	 * let the caller fall back to smaller ones. The size comes from the
	 * user, so running out must fail the request, not wake the OOM killer.
	 */
	return gfp | (order ? __GFP_NORETRY : __GFP_RETRY_MAYFAIL);
}

/**
 * mapbuf_alloc_extent() - allocate one extent of 2^@order pages
 * @gfp: the allocation flags
 * @order: the allocation order
 *
 * Return: the first page of a physically contiguous block, a compound
 * folio of that order if @gfp has __GFP_COMP, or NULL.
 */
VISIBLE_IF_KUNIT struct page *mapbuf_alloc_extent(gfp_t gfp, unsigned int order)
{
	KUNIT_STATIC_STUB_REDIRECT(mapbuf_alloc_extent, gfp, order);
	return alloc_pages(gfp, order);
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_alloc_extent);

/**
 * mapbuf_fill_should_stop() - whether to give up filling a buffer
 *
 * Filling a buffer of 1 GiB takes up to 262144 allocations. A task that
 * was killed meanwhile will never use the buffer: stop, and give back
 * what was allocated, rather than take the rest of the memory first.
 *
 * Return: true if the current task has a fatal signal pending.
 */
VISIBLE_IF_KUNIT bool mapbuf_fill_should_stop(void)
{
	KUNIT_STATIC_STUB_REDIRECT(mapbuf_fill_should_stop);
	return fatal_signal_pending(current);
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_fill_should_stop);

/* Drop the buffer's reference to each folio among its first @nr_pages pages. */
static void mapbuf_put_folios(struct page **pages, unsigned long nr_pages)
{
	struct folio *folio;
	unsigned long i = 0;

	/* A pinned folio (get_user_pages()) is freed by its last user. */
	while (i < nr_pages) {
		folio = page_folio(pages[i]);
		/* The size first: the folio may be gone after the put. */
		i += folio_nr_pages(folio);
		folio_put(folio);
		cond_resched();
	}
}

/* Store an extent at @buf->pages[@i]; return the index after it. */
static unsigned long mapbuf_buf_add_extent(struct mapbuf_buf *buf,
					   unsigned long i, struct page *page,
					   unsigned int order)
{
	unsigned long n;

	for (n = 0; n < 1UL << order; n++)
		buf->pages[i++] = page + n;
	return i;
}

/*
 * Fill @buf->pages with extents as large as the allocator gives, largest
 * first, never retrying a larger order after a smaller one was needed.
 * Orders that never grow keep every extent at an offset that is a
 * multiple of its size, as a PMD mapping of a whole folio needs.
 */
static int mapbuf_buf_fill_pages(struct mapbuf_buf *buf)
{
	unsigned int order = MAPBUF_MAX_ORDER;
	unsigned long i = 0;
	struct page *page;
	int ret = -ENOMEM;

	while (i < buf->nr_pages) {
		if (mapbuf_fill_should_stop()) {
			ret = -EINTR;
			goto err_put_pages;
		}
		order = min_t(unsigned int, order, ilog2(buf->nr_pages - i));
		page = mapbuf_alloc_extent(mapbuf_extent_gfp(order), order);
		if (!page && order) {
			order--;
			continue;
		}
		if (!page)
			goto err_put_pages;
		i = mapbuf_buf_add_extent(buf, i, page, order);
		cond_resched();
	}
	return 0;

err_put_pages:
	mapbuf_put_folios(buf->pages, i);
	return ret;
}

/**
 * mapbuf_buf_alloc() - allocate a zeroed buffer
 * @size: size in bytes, rounded up to whole pages
 *
 * The memory is charged to the caller's memory cgroup. A fatal signal
 * stops the allocation between two extents; -EINTR then, as the dma-buf
 * system heap returns: the task is dying, nothing will restart the call.
 *
 * Return: the buffer with one reference, ERR_PTR(-EINVAL) if @size is 0 or
 * above MAPBUF_MAX_SIZE, ERR_PTR(-EINTR) on a fatal signal, or
 * ERR_PTR(-ENOMEM).
 */
VISIBLE_IF_KUNIT struct mapbuf_buf *mapbuf_buf_alloc(size_t size)
{
	struct mapbuf_buf *buf;
	unsigned long nr_pages;
	int ret;

	if (!size || size > MAPBUF_MAX_SIZE)
		return ERR_PTR(-EINVAL);

	nr_pages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	buf = kvzalloc(struct_size(buf, pages, nr_pages), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return ERR_PTR(-ENOMEM);

	buf->nr_pages = nr_pages;
	kref_init(&buf->ref);
	atomic_set(&buf->nr_mappings, 0);
	ret = mapbuf_buf_fill_pages(buf);
	if (ret) {
		kvfree(buf);
		return ERR_PTR(ret);
	}
	return buf;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_buf_alloc);

static void mapbuf_buf_release(struct kref *ref)
{
	struct mapbuf_buf *buf = container_of(ref, struct mapbuf_buf, ref);

	mapbuf_put_folios(buf->pages, buf->nr_pages);
	kvfree(buf);
}

/**
 * mapbuf_buf_put() - drop a reference to a buffer, freeing it on the last
 * @buf: the buffer
 */
void mapbuf_buf_put(struct mapbuf_buf *buf)
{
	kref_put(&buf->ref, mapbuf_buf_release);
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_buf_put);

/**
 * mapbuf_buf_page() - the page at a page offset of a buffer
 * @buf: the buffer
 * @pgoff: offset into the buffer, in pages
 *
 * Return: the page, or NULL when @pgoff is at or past the end.
 */
VISIBLE_IF_KUNIT struct page *mapbuf_buf_page(const struct mapbuf_buf *buf,
					      unsigned long pgoff)
{
	if (pgoff >= buf->nr_pages)
		return NULL;
	return buf->pages[pgoff];
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_buf_page);

/**
 * mapbuf_buf_pmd_folio() - the folio that one PMD may map at a fault
 * @buf: the buffer that @vma maps
 * @vma: the faulting VMA
 * @addr: the faulting address
 * @write: whether the fault is a write
 *
 * A PMD maps the PMD-aligned range of PMD_SIZE around @addr, and the core
 * checks neither that the range lies inside @vma nor which pages the
 * folio holds: a mistake here maps the buffer at the wrong offset, or
 * memory that is not the buffer's.
 *
 * Return: the folio of exactly PMD order that holds the buffer pages of
 * that range, first to last, or NULL when the range must be mapped with
 * PTEs: it crosses an end of @vma, it starts at a buffer offset that is
 * not a multiple of the folio size, a smaller folio backs it (the
 * allocator gave no PMD-order block there, or it is the end of the
 * buffer), or @write needs a private copy, which copy-on-write makes page
 * by page.
 */
VISIBLE_IF_KUNIT struct folio *
mapbuf_buf_pmd_folio(const struct mapbuf_buf *buf,
		     const struct vm_area_struct *vma, unsigned long addr,
		     bool write)
{
	unsigned long start = addr & PMD_MASK;
	struct folio *folio;
	struct page *page;

	if (write && !(vma->vm_flags & VM_SHARED))
		return NULL;
	if (start < vma->vm_start || start + PMD_SIZE > vma->vm_end)
		return NULL;
	page = mapbuf_buf_page(buf, vma->vm_pgoff +
			       ((start - vma->vm_start) >> PAGE_SHIFT));
	if (!page)
		return NULL;
	folio = page_folio(page);
	/* Its first page at @start means its last one at the range's end. */
	if (folio_order(folio) != PMD_ORDER || &folio->page != page)
		return NULL;
	return folio;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_buf_pmd_folio);

/**
 * mapbuf_check_range() - check that a page range lies inside a buffer
 * @buf: the buffer
 * @pgoff: first page of the range
 * @nr_pages: length of the range in pages
 *
 * Written so that no sum can overflow, whatever the inputs.
 *
 * Return: 0, or -ENXIO if the range is empty or any page of it is outside.
 */
VISIBLE_IF_KUNIT int mapbuf_check_range(const struct mapbuf_buf *buf,
					unsigned long pgoff,
					unsigned long nr_pages)
{
	if (!nr_pages || pgoff >= buf->nr_pages ||
	    nr_pages > buf->nr_pages - pgoff)
		return -ENXIO;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_check_range);

/* Copy between @iter and the buffer at *@ppos, up to the end of the buffer. */
static ssize_t mapbuf_buf_copy(struct mapbuf_buf *buf, loff_t *ppos,
			       struct iov_iter *iter)
{
	size_t size = mapbuf_buf_size(buf);
	loff_t pos = *ppos;
	ssize_t done = 0;

	while (iov_iter_count(iter) && pos < size) {
		struct page *page = buf->pages[pos >> PAGE_SHIFT];
		size_t offset = offset_in_page(pos);
		size_t len = min(PAGE_SIZE - offset, iov_iter_count(iter));
		size_t copied;

		if (iov_iter_rw(iter) == READ)
			copied = copy_page_to_iter(page, offset, len, iter);
		else
			copied = copy_page_from_iter(page, offset, len, iter);
		pos += copied;
		done += copied;
		if (copied < len)
			break;
		cond_resched();
	}
	/* Nothing copied although there was room: the user pointer faulted. */
	if (!done && iov_iter_count(iter) && pos < size)
		return -EFAULT;
	*ppos = pos;
	return done;
}

static void mapbuf_buf_memset(struct mapbuf_buf *buf, u8 value)
{
	unsigned long i;

	/* GFP_KERNEL pages are never highmem: page_address() is valid. */
	for (i = 0; i < buf->nr_pages; i++) {
		memset(page_address(buf->pages[i]), value, PAGE_SIZE);
		cond_resched();
	}
}

/* The device's current buffer, with a reference for the caller. */
static struct mapbuf_buf *mapbuf_dev_get_buf(struct mapbuf_dev *dev)
{
	guard(mutex)(&dev->lock);
	kref_get(&dev->buf->ref);
	return dev->buf;
}

/* Whether something that a resize must not free uses the buffer. */
static bool mapbuf_dev_is_busy(struct mapbuf_dev *dev)
{
	lockdep_assert_held(&dev->lock);
	return atomic_read(&dev->buf->nr_mappings) ||
	       atomic_read(&dev->buf->nr_exports);
}

/*
 * A new mapping's reference and count, if the range lies inside the
 * buffer. A resize swaps the buffer under dev->lock only while the count
 * is 0, so either the mapping counts first and the resize fails with
 * -EBUSY, or the resize does and the mapping gets the new buffer or fails.
 */
static struct mapbuf_buf *mapbuf_dev_map(struct mapbuf_dev *dev,
					 unsigned long pgoff,
					 unsigned long nr_pages)
{
	int ret;

	guard(mutex)(&dev->lock);
	ret = mapbuf_check_range(dev->buf, pgoff, nr_pages);
	if (ret)
		return ERR_PTR(ret);
	kref_get(&dev->buf->ref);
	atomic_inc(&dev->buf->nr_mappings);
	return dev->buf;
}

/*
 * Runs once the VMA is certain (VM_DONTEXPAND, a VM_SPECIAL flag, keeps it
 * from merging, which would skip this), so the reference taken here is
 * dropped by ->close. mapbuf_dev_map() checks the range again, against the
 * buffer that it takes the reference to. No page is mapped before: the
 * fault handler needs vm_private_data, set only here, and mmap_lock keeps
 * faults out until the mapping is complete. On error the core unmaps the
 * VMA, calling ->close with vm_private_data NULL.
 */
static int mapbuf_vm_mapped(unsigned long start, unsigned long end,
			    pgoff_t pgoff, const struct file *file,
			    void **vm_private_data)
{
	struct mapbuf_buf *buf;

	buf = mapbuf_dev_map(mapbuf_file_dev(file), pgoff,
			     (end - start) >> PAGE_SHIFT);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	*vm_private_data = buf;
	return 0;
}

static void mapbuf_vm_open(struct vm_area_struct *vma)
{
	struct mapbuf_buf *buf = vma->vm_private_data;

	kref_get(&buf->ref);
	atomic_inc(&buf->nr_mappings);
}

static void mapbuf_vm_close(struct vm_area_struct *vma)
{
	struct mapbuf_buf *buf = vma->vm_private_data;

	/* vm_private_data is set only together with a reference. */
	if (!buf)
		return;
	atomic_dec(&buf->nr_mappings);
	mapbuf_buf_put(buf);
}

static vm_fault_t mapbuf_vm_fault(struct vm_fault *vmf)
{
	struct mapbuf_buf *buf = vmf->vma->vm_private_data;
	struct page *page;

	/*
	 * vm_private_data is set only together with a reference, and the
	 * range was checked against that buffer, VM_DONTEXPAND keeping the
	 * VMA inside it. Checking again costs nothing and keeps a bug from
	 * mapping memory that is not ours.
	 */
	if (!buf)
		return VM_FAULT_SIGBUS;
	page = mapbuf_buf_page(buf, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;

	/* The core mm maps the page (or copies it for MAP_PRIVATE). */
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * Where a whole PMD-order folio lies inside the mapping at a PMD-aligned
 * address, map it with one PMD: one fault and one TLB entry per 2 MiB
 * instead of 512. mapbuf_buf_pmd_folio() decides; otherwise the core falls
 * back to PTEs and ->fault. The core calls this only where the THP
 * settings allow huge mappings of the VMA.
 */
static vm_fault_t mapbuf_vm_huge_fault(struct vm_fault *vmf,
				       unsigned int order)
{
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	struct mapbuf_buf *buf = vmf->vma->vm_private_data;
	struct folio *folio;

	/* vmf_insert_folio_pmd() exists only with THP. */
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || order != PMD_ORDER ||
	    !buf)
		return VM_FAULT_FALLBACK;
	folio = mapbuf_buf_pmd_folio(buf, vmf->vma, vmf->address, write);
	if (!folio)
		return VM_FAULT_FALLBACK;
	/* It takes a folio reference for the PMD, as ->fault does per page. */
	return vmf_insert_folio_pmd(vmf, folio, write);
}

static const struct vm_operations_struct mapbuf_vm_ops = {
	.mapped	= mapbuf_vm_mapped,
	.open	= mapbuf_vm_open,
	.close	= mapbuf_vm_close,
	.fault	= mapbuf_vm_fault,
	.huge_fault = mapbuf_vm_huge_fault,
};

static int mapbuf_mmap_flags(struct vm_area_desc *desc)
{
	/*
	 * Ask for huge mappings as MADV_HUGEPAGE would, so that they happen
	 * under the common THP setting "madvise" too: the memory is already
	 * there in PMD-sized folios, and mapping it whole costs nothing
	 * more. THP "never" and MADV_NOHUGEPAGE still turn them off. Without
	 * THP, MADV_HUGEPAGE fails and so the flag would only be a lie.
	 */
	if (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		vma_desc_set_flags(desc, VMA_HUGEPAGE_BIT);
	/*
	 * The buffer is data that any writer of the file can change: never
	 * let it become code, now or later through mprotect().
	 */
	if (vma_desc_test(desc, VMA_EXEC_BIT))
		return -EPERM;
	vma_desc_clear_flags(desc, VMA_MAYEXEC_BIT);
	/*
	 * The buffer has a fixed size: keep mremap() from growing the VMA
	 * past it. A read-only file needs nothing here: do_mmap() already
	 * cleared VM_MAYWRITE on its shared mappings.
	 */
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT);
	return 0;
}

/*
 * Stateless: it only refuses what cannot be mapped, before a VMA exists.
 * mapbuf_vm_mapped() checks the range again and takes the reference and
 * the count.
 */
static int mapbuf_mmap_prepare(struct vm_area_desc *desc)
{
	struct mapbuf_dev *dev = mapbuf_file_dev(desc->file);
	int ret;

	ret = mapbuf_mmap_flags(desc);
	if (ret)
		return ret;
	scoped_guard(mutex, &dev->lock)
		ret = mapbuf_check_range(dev->buf, desc->pgoff,
					 vma_desc_pages(desc));
	if (ret)
		return ret;
	desc->vm_ops = &mapbuf_vm_ops;
	return 0;
}

/*
 * The copy runs on a reference, not under dev->lock: the user buffer may
 * be a mapping of this device, and faulting it in takes mmap_lock, which
 * mmap holds while it takes dev->lock. A resize meanwhile leaves the
 * copy on the buffer it started with.
 */
static ssize_t mapbuf_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct mapbuf_dev *dev = mapbuf_file_dev(iocb->ki_filp);
	struct mapbuf_buf *buf = mapbuf_dev_get_buf(dev);
	ssize_t ret;

	ret = mapbuf_buf_copy(buf, &iocb->ki_pos, to);
	mapbuf_buf_put(buf);
	return ret;
}

static ssize_t mapbuf_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct mapbuf_dev *dev = mapbuf_file_dev(iocb->ki_filp);
	struct mapbuf_buf *buf = mapbuf_dev_get_buf(dev);
	ssize_t ret = -ENOSPC;

	/* Like a full disk: writing never grows the buffer. */
	if (!iov_iter_count(from) || iocb->ki_pos < mapbuf_buf_size(buf))
		ret = mapbuf_buf_copy(buf, &iocb->ki_pos, from);
	mapbuf_buf_put(buf);
	return ret;
}

static loff_t mapbuf_llseek(struct file *file, loff_t offset, int whence)
{
	struct mapbuf_dev *dev = mapbuf_file_dev(file);
	loff_t size;

	scoped_guard(mutex, &dev->lock)
		size = mapbuf_buf_size(dev->buf);
	return fixed_size_llseek(file, offset, whence, size);
}

/**
 * mapbuf_dev_resize() - replace a device's buffer with a new, zeroed one
 * @dev: the device
 * @size: the new size in bytes, rounded up to whole pages
 * @flags: flags of struct mapbuf_resize; none is defined yet
 *
 * Memory that is still mapped, or that a dma-buf importer may still use,
 * is never freed, so the buffer is only replaced while nothing maps it and
 * no dma-buf of it exists. On any error the old buffer stays, with its
 * contents.
 *
 * Return: 0, -EINVAL if @size is 0 or above MAPBUF_MAX_SIZE or @flags is
 * not 0, -EBUSY while
 * the buffer is mapped or exported, -EINTR on a fatal signal (see
 * mapbuf_buf_alloc()), or -ENOMEM.
 */
VISIBLE_IF_KUNIT int mapbuf_dev_resize(struct mapbuf_dev *dev, u64 size,
				       u64 flags)
{
	struct mapbuf_buf *buf, *old;

	/* Unknown flags are refused, so that they can get a meaning later. */
	if (flags)
		return -EINVAL;
	/* Check the u64: on 32-bit a size_t would lose the high bits. */
	if (!size || size > MAPBUF_MAX_SIZE)
		return -EINVAL;
	/* Do not allocate up to 1 GiB only to find the buffer in use. */
	scoped_guard(mutex, &dev->lock) {
		if (mapbuf_dev_is_busy(dev))
			return -EBUSY;
	}

	buf = mapbuf_buf_alloc(size);
	if (IS_ERR(buf))
		return PTR_ERR(buf);

	mutex_lock(&dev->lock);
	/* Mapped or exported while we allocated. */
	if (mapbuf_dev_is_busy(dev)) {
		mutex_unlock(&dev->lock);
		mapbuf_buf_put(buf);
		return -EBUSY;
	}
	old = dev->buf;
	dev->buf = buf;
	mutex_unlock(&dev->lock);

	mapbuf_buf_put(old);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_dev_resize);

/**
 * mapbuf_dev_info() - what MAPBUF_IOC_INFO reports of a device
 * @dev: the device
 * @info: filled in whole, reserved fields zeroed
 */
VISIBLE_IF_KUNIT void mapbuf_dev_info(struct mapbuf_dev *dev,
				      struct mapbuf_info *info)
{
	memset(info, 0, sizeof(*info));
	info->flags = MAPBUF_INFO_EXPORT | MAPBUF_INFO_HUGE;
	guard(mutex)(&dev->lock);
	info->size = mapbuf_buf_size(dev->buf);
	info->nr_mappings = atomic_read(&dev->buf->nr_mappings);
	info->nr_exports = atomic_read(&dev->buf->nr_exports);
}
EXPORT_SYMBOL_IF_KUNIT(mapbuf_dev_info);

static long mapbuf_ioctl_info(struct mapbuf_dev *dev, void __user *argp)
{
	struct mapbuf_info info;

	mapbuf_dev_info(dev, &info);
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

static void mapbuf_dev_memset(struct mapbuf_dev *dev, u8 value)
{
	struct mapbuf_buf *buf = mapbuf_dev_get_buf(dev);

	mapbuf_buf_memset(buf, value);
	mapbuf_buf_put(buf);
}

static long mapbuf_ioctl_fill(struct mapbuf_dev *dev, void __user *argp)
{
	struct mapbuf_fill fill;

	if (copy_from_user(&fill, argp, sizeof(fill)))
		return -EFAULT;
	/* Reserved bytes must be zero so that they can get a meaning later. */
	if (memchr_inv(fill.reserved, 0, sizeof(fill.reserved)))
		return -EINVAL;
	mapbuf_dev_memset(dev, fill.value);
	return 0;
}

static long mapbuf_ioctl_resize(struct mapbuf_dev *dev, void __user *argp)
{
	struct mapbuf_resize resize;

	if (copy_from_user(&resize, argp, sizeof(resize)))
		return -EFAULT;
	return mapbuf_dev_resize(dev, resize.size, resize.flags);
}

static long mapbuf_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct mapbuf_dev *dev = mapbuf_file_dev(file);
	void __user *argp = (void __user *)arg;

	/* Changing the buffer takes the same right as write(2). */
	if ((cmd == MAPBUF_IOC_CLEAR || cmd == MAPBUF_IOC_FILL ||
	     cmd == MAPBUF_IOC_RESIZE) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;

	switch (cmd) {
	case MAPBUF_IOC_INFO:
		return mapbuf_ioctl_info(dev, argp);
	case MAPBUF_IOC_CLEAR:
		mapbuf_dev_memset(dev, 0);
		return 0;
	case MAPBUF_IOC_FILL:
		return mapbuf_ioctl_fill(dev, argp);
	case MAPBUF_IOC_RESIZE:
		return mapbuf_ioctl_resize(dev, argp);
	case MAPBUF_IOC_EXPORT:
		return mapbuf_ioctl_export(file, argp);
	default:
		return -ENOTTY;
	}
}

VISIBLE_IF_KUNIT const struct file_operations mapbuf_fops = {
	.owner		= THIS_MODULE,
	.llseek		= mapbuf_llseek,
	.read_iter	= mapbuf_read_iter,
	.write_iter	= mapbuf_write_iter,
	.mmap_prepare	= mapbuf_mmap_prepare,
	.unlocked_ioctl	= mapbuf_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	/* PMD-aligned addresses where it can, for huge mappings. */
	.get_unmapped_area = thp_get_unmapped_area,
};
EXPORT_SYMBOL_IF_KUNIT(mapbuf_fops);

static int mapbuf_dev_init(struct mapbuf_dev *dev, unsigned int index)
{
	int ret;

	dev->buf = mapbuf_buf_alloc(mapbuf_size);
	if (IS_ERR(dev->buf)) {
		pr_err("cannot allocate %lu bytes for mapbuf%u\n",
		       mapbuf_size, index);
		return PTR_ERR(dev->buf);
	}

	mutex_init(&dev->lock);
	snprintf(dev->name, sizeof(dev->name), "mapbuf%u", index);
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = dev->name;
	dev->misc.fops = &mapbuf_fops;
	dev->misc.mode = 0600;
	ret = misc_register(&dev->misc);
	if (ret)
		goto err_put_buf;
	return 0;

err_put_buf:
	mutex_destroy(&dev->lock);
	mapbuf_buf_put(dev->buf);
	return ret;
}

static void mapbuf_dev_exit(struct mapbuf_dev *dev)
{
	misc_deregister(&dev->misc);
	mapbuf_buf_put(dev->buf);
	mutex_destroy(&dev->lock);
}

static int __init mapbuf_check_params(void)
{
	if (!mapbuf_nr_devices || mapbuf_nr_devices > MAPBUF_MAX_DEVICES) {
		pr_err("nr_devices=%u is outside 1..%u\n", mapbuf_nr_devices,
		       MAPBUF_MAX_DEVICES);
		return -EINVAL;
	}
	if (!mapbuf_size || mapbuf_size > MAPBUF_MAX_SIZE) {
		pr_err("size=%lu is outside 1..%lu bytes\n", mapbuf_size,
		       (unsigned long)MAPBUF_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

static int __init mapbuf_init(void)
{
	unsigned int i;
	int ret;

	ret = mapbuf_check_params();
	if (ret)
		return ret;

	mapbuf_devs = kcalloc(mapbuf_nr_devices, sizeof(*mapbuf_devs),
			      GFP_KERNEL);
	if (!mapbuf_devs)
		return -ENOMEM;

	for (i = 0; i < mapbuf_nr_devices; i++) {
		ret = mapbuf_dev_init(&mapbuf_devs[i], i);
		if (ret)
			goto err_exit_devs;
	}
	return 0;

err_exit_devs:
	while (i--)
		mapbuf_dev_exit(&mapbuf_devs[i]);
	kfree(mapbuf_devs);
	return ret;
}

static void __exit mapbuf_exit(void)
{
	unsigned int i;

	for (i = 0; i < mapbuf_nr_devices; i++)
		mapbuf_dev_exit(&mapbuf_devs[i]);
	kfree(mapbuf_devs);
}

module_init(mapbuf_init);
module_exit(mapbuf_exit);

MODULE_DESCRIPTION("Zeroed kernel buffer shared with user space through mmap");
MODULE_LICENSE("GPL");
