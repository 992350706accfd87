// SPDX-License-Identifier: GPL-2.0-only
/*
 * seedmap: the tutorials' way of sharing a kernel buffer, for make bench
 * to compare mapbuf with. Not part of the series.
 *
 * /dev/seedmap is one physically contiguous 4 MiB buffer, allocated at
 * load, and mmap() maps the requested range of it with a single
 * remap_pfn_range() (through mmap_action_remap_full(), 7.x's form of it),
 * as the seeds' hello_drv, scull and chrmem_dev do: no page faults
 * afterwards, but a VM_PFNMAP mapping that get_user_pages() refuses, and
 * no buffer larger than the page allocator's largest block.
 *
 * Unlike the tutorials it zeroes the buffer, checks the range and keeps
 * the mapping cached, which changes nothing the benchmark measures.
 */
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>

#define SEEDMAP_SIZE	SZ_4M
#define SEEDMAP_PAGES	(SEEDMAP_SIZE >> PAGE_SHIFT)

static struct page *seedmap_buf;

static int seedmap_mmap_prepare(struct vm_area_desc *desc)
{
	if (desc->pgoff >= SEEDMAP_PAGES ||
	    vma_desc_pages(desc) > SEEDMAP_PAGES - desc->pgoff)
		return -ENXIO;
	mmap_action_remap_full(desc, page_to_pfn(seedmap_buf) + desc->pgoff);
	return 0;
}

static const struct file_operations seedmap_fops = {
	.owner		= THIS_MODULE,
	.mmap_prepare	= seedmap_mmap_prepare,
};

static struct miscdevice seedmap_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "seedmap",
	.fops	= &seedmap_fops,
	.mode	= 0600,
};

static int __init seedmap_init(void)
{
	int ret;

	seedmap_buf = alloc_pages(GFP_KERNEL | __GFP_ZERO,
				  get_order(SEEDMAP_SIZE));
	if (!seedmap_buf)
		return -ENOMEM;
	ret = misc_register(&seedmap_misc);
	if (ret)
		__free_pages(seedmap_buf, get_order(SEEDMAP_SIZE));
	return ret;
}

/*
 * No mapping is left by now: each holds its file, and an open file holds
 * the module (.owner), so rmmod fails until the last one is gone.
 */
static void __exit seedmap_exit(void)
{
	misc_deregister(&seedmap_misc);
	__free_pages(seedmap_buf, get_order(SEEDMAP_SIZE));
}

module_init(seedmap_init);
module_exit(seedmap_exit);
MODULE_DESCRIPTION("The tutorials' remap_pfn_range() mmap, for mapbuf's benchmark");
MODULE_LICENSE("GPL");
