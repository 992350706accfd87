// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mapbuf: one case per rule, and the inputs of a rule as
 * the named rows of one table, so that a new input is a new row.
 *
 * The mapping tests wrap mapbuf_fops in an anonymous-inode file whose
 * private_data points at a test device, and map it with kunit_vm_mmap()
 * into a test mm, so the driver's real mmap and fault paths run and the
 * test can reach the mapping with copy_to_user()/copy_from_user().
 */

#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/mapbuf.h>

#include "mapbuf.h"

MODULE_IMPORT_NS("DMA_BUF");
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

KUNIT_DEFINE_ACTION_WRAPPER(mapbuf_test_put_buf, mapbuf_buf_put,
			    struct mapbuf_buf *);
KUNIT_DEFINE_ACTION_WRAPPER(mapbuf_test_fput, fput, struct file *);
KUNIT_DEFINE_ACTION_WRAPPER(mapbuf_test_put_dmabuf, dma_buf_put,
			    struct dma_buf *);

#define MAPBUF_TEST_PAGES	4
/* Pages in a PMD-order folio. */
#define MAPBUF_PMD_PAGES	BIT(PMD_ORDER)
/* Two PMD-order folios, then one of order 1 and one of order 0. */
#define MAPBUF_HUGE_TEST_PAGES	(2 * MAPBUF_PMD_PAGES + 3)

static struct mapbuf_buf *mapbuf_test_buf(struct kunit *test, size_t size)
{
	struct mapbuf_buf *buf = mapbuf_buf_alloc(size);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	ret = kunit_add_action_or_reset(test, mapbuf_test_put_buf, buf);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return buf;
}

/* Straight from the array, not through the lookup under test. */
static u8 *mapbuf_test_kaddr(struct mapbuf_buf *buf, unsigned long pgoff)
{
	return page_address(buf->pages[pgoff]);
}

static bool mapbuf_test_zeroed(struct mapbuf_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		if (memchr_inv(mapbuf_test_kaddr(buf, i), 0, PAGE_SIZE))
			return false;
	return true;
}

/* Tag each page of the buffer with its index, in its first word. */
static void mapbuf_test_tag(struct mapbuf_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		*(unsigned long *)mapbuf_test_kaddr(buf, i) = i;
}

/* Whether the @nr_pages pages at @addr show the tags from @first on. */
static bool mapbuf_tags_seen(struct kunit *test, unsigned long addr,
			     unsigned long first, unsigned long nr_pages)
{
	unsigned long i, tag;

	for (i = 0; i < nr_pages; i++) {
		if (copy_from_user(&tag, (void __user *)addr + i * PAGE_SIZE,
				   sizeof(tag)) || tag != first + i) {
			kunit_info(test, "page %lu shows %lu", i, tag);
			return false;
		}
	}
	return true;
}

/* ---- a test device, and mappings of it ---- */

struct mapbuf_map_ctx {
	struct mapbuf_dev dev;
	struct file *file;
};

/* Drop the device's reference to whichever buffer it has by now. */
static void mapbuf_test_dev_exit(void *data)
{
	struct mapbuf_dev *dev = data;

	mapbuf_buf_put(dev->buf);
	mutex_destroy(&dev->lock);
}

/* A file on mapbuf_fops backed by a fresh buffer of @nr_pages pages. */
static struct mapbuf_map_ctx *mapbuf_map_ctx(struct kunit *test,
					     unsigned long nr_pages)
{
	struct mapbuf_map_ctx *ctx;
	int ret;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev.buf = mapbuf_buf_alloc(nr_pages * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->dev.buf);
	mutex_init(&ctx->dev.lock);
	ret = kunit_add_action_or_reset(test, mapbuf_test_dev_exit, &ctx->dev);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ctx->file = anon_inode_getfile("[mapbuf]", &mapbuf_fops,
				       &ctx->dev.misc, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->file);
	ret = kunit_add_action_or_reset(test, mapbuf_test_fput, ctx->file);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return ctx;
}

static void mapbuf_expect_mapped(struct kunit *test, unsigned long addr)
{
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "mmap: %ld",
			       (long)addr);
}

/*
 * MAPBUF_IOC_INFO reports the buffer's size and users, only flags that the
 * uAPI defines, and every reserved field zero whatever the caller's struct
 * held; the buffer holds one reference per user, the device's included.
 */
static void mapbuf_expect_users(struct kunit *test, struct mapbuf_dev *dev,
				unsigned int nr_mappings, unsigned int refs)
{
	struct mapbuf_info info;

	memset(&info, 0xa5, sizeof(info));
	mapbuf_dev_info(dev, &info);
	KUNIT_EXPECT_EQ(test, info.size, dev->buf->nr_pages * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.nr_mappings, nr_mappings);
	KUNIT_EXPECT_EQ(test, info.nr_exports,
			atomic_read(&dev->buf->nr_exports));
	KUNIT_EXPECT_EQ(test, info.flags & ~(MAPBUF_INFO_PMD_MAPPINGS |
					     MAPBUF_INFO_EXPORT), 0);
	KUNIT_EXPECT_TRUE(test, info.flags & MAPBUF_INFO_EXPORT);
	KUNIT_EXPECT_NULL(test, memchr_inv(info.reserved, 0,
					   sizeof(info.reserved)));
	KUNIT_EXPECT_EQ(test, kref_read(&dev->buf->ref), refs);
}

/* A dma-buf of the test device's buffer, put at the end of the test. */
static struct dma_buf *mapbuf_test_export(struct kunit *test,
					  struct mapbuf_map_ctx *ctx)
{
	struct dma_buf *dmabuf = mapbuf_dev_export(&ctx->dev, O_RDWR);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	ret = kunit_add_action_or_reset(test, mapbuf_test_put_dmabuf, dmabuf);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return dmabuf;
}

/* ---- buffer setup ---- */

/*
 * A pass-through extent allocator that logs the extents it hands out, each
 * of which must be one folio of the order asked for. Once @nr_any extents
 * were handed out (at once unless set), it refuses every order above @cap:
 * the layouts that a fragmented memory gives. After @budget extents it
 * refuses all, and after @kill_after a fatal signal looks pending. It
 * holds a reference of its own on each extent, dropped at the end of the
 * test after checking that mapbuf dropped its own. @gfp keeps the flags
 * that every call had. The first call maps @map_file if set.
 */
struct mapbuf_test_alloc {
	struct kunit *test;
	unsigned int nr_any, cap, budget, kill_after;
	unsigned int nr, nr_calls;
	gfp_t gfp;
	struct file *map_file;
	struct {
		struct page *page;
		unsigned int order;
	} log[];
};

static struct page *mapbuf_test_alloc_extent(gfp_t gfp, unsigned int order)
{
	struct mapbuf_test_alloc *a = kunit_get_current_test()->priv;
	unsigned long addr;
	struct page *page;

	/* Map @map_file once, while its buffer is being replaced. */
	if (a->map_file) {
		addr = kunit_vm_mmap(a->test, a->map_file, 0, PAGE_SIZE,
				     PROT_READ, MAP_SHARED, 0);
		KUNIT_EXPECT_FALSE(a->test, IS_ERR_VALUE(addr));
		a->map_file = NULL;
	}
	a->nr_calls++;
	a->gfp &= gfp;
	if (a->nr == a->budget || (a->nr >= a->nr_any && order > a->cap))
		return NULL;
	page = alloc_pages(gfp, order);
	if (!page)
		return NULL;
	KUNIT_EXPECT_EQ(a->test, folio_order(page_folio(page)), order);
	get_page(page);
	a->log[a->nr].page = page;
	a->log[a->nr++].order = order;
	return page;
}

static bool mapbuf_test_fill_should_stop(void)
{
	struct mapbuf_test_alloc *a = kunit_get_current_test()->priv;

	return a->nr >= a->kill_after;
}

static void mapbuf_test_alloc_release(void *data)
{
	struct mapbuf_test_alloc *a = data;
	unsigned int i;

	for (i = 0; i < a->nr; i++) {
		KUNIT_EXPECT_EQ(a->test, page_ref_count(a->log[i].page), 1);
		put_page(a->log[i].page);
	}
}

/*
 * Allocate buffers of up to @nr_pages pages through the allocator above,
 * @budget extents, and a fatal signal after @kill_after if not 0.
 */
static struct mapbuf_test_alloc *mapbuf_test_alloc(struct kunit *test,
						   unsigned long nr_pages,
						   unsigned int budget,
						   unsigned int kill_after)
{
	struct mapbuf_test_alloc *a;
	int ret;

	a = kunit_kzalloc(test, struct_size(a, log, nr_pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	a->test = test;
	a->budget = budget;
	a->kill_after = kill_after ?: UINT_MAX;
	a->gfp = ~(gfp_t)0;
	test->priv = a;
	ret = kunit_add_action_or_reset(test, mapbuf_test_alloc_release, a);
	KUNIT_ASSERT_EQ(test, ret, 0);
	kunit_activate_static_stub(test, mapbuf_alloc_extent,
				   mapbuf_test_alloc_extent);
	kunit_activate_static_stub(test, mapbuf_fill_should_stop,
				   mapbuf_test_fill_should_stop);
	return a;
}

struct mapbuf_alloc_case {
	const char *name;
	size_t size;
	unsigned long nr_pages;
	int err;
	/* If @budget is not 0, see mapbuf_test_alloc(); the calls it gets. */
	unsigned int budget, kill_after, nr_calls;
};

#define E	(8 * PAGE_SIZE)
static const struct mapbuf_alloc_case mapbuf_alloc_cases[] = {
	{ "one byte",		1,		1 },
	{ "one page less a byte", PAGE_SIZE - 1, 1 },
	{ "one page",		PAGE_SIZE,	1 },
	{ "one page and a byte", PAGE_SIZE + 1, 2 },
	{ "three pages",	3 * PAGE_SIZE,	3 },
	{ "2 MiB and a byte",	SZ_2M + 1,	SZ_2M / PAGE_SIZE + 1 },
	{ "zero",		0,		.err = -EINVAL },
	{ "one byte too big",	MAPBUF_MAX_SIZE + 1, .err = -EINVAL },
	{ "SIZE_MAX",		SIZE_MAX,	.err = -EINVAL },
	/* 8 pages: orders 3, 2 and 1 fail once each, then only 0 is tried. */
	{ "no high-order memory", E, 8, 0,	8, 0, 3 + 8 },
	{ "out of memory half way", E, 0, -ENOMEM, 5, 0, 3 + 6 },
	{ "fatal signal half way", E, 0, -EINTR, 8, 3, 3 + 3 },
};

#undef E

KUNIT_ARRAY_PARAM_DESC(mapbuf_alloc, mapbuf_alloc_cases, name);

/*
 * A size rounds up to whole pages, every one zeroed (fresh pages never
 * show what an earlier owner left), the last one the last that the lookup
 * finds. Sizes outside 1..MAPBUF_MAX_SIZE are
 * refused. Filling falls back to smaller extents, never retrying a larger
 * order, and keeps the pages in the order it got them; running out or a
 * fatal signal fails it and gives back every page. Every allocation is
 * zeroed and charged to the caller's memory cgroup.
 */
static void mapbuf_alloc_cases_test(struct kunit *test)
{
	const struct mapbuf_alloc_case *c = test->param_value;
	struct mapbuf_test_alloc *fake = NULL;
	struct mapbuf_buf *buf;
	unsigned long i;

	if (c->budget)
		fake = mapbuf_test_alloc(test, 8, c->budget, c->kill_after);
	buf = mapbuf_buf_alloc(c->size);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), c->err);
	if (!IS_ERR(buf)) {
		KUNIT_EXPECT_EQ(test, buf->nr_pages, c->nr_pages);
		KUNIT_EXPECT_TRUE(test, mapbuf_test_zeroed(buf));
		/* Small buffers leave no slack after pages[] to hide a read. */
		KUNIT_EXPECT_PTR_EQ(test, mapbuf_buf_page(buf, c->nr_pages - 1),
				    buf->pages[c->nr_pages - 1]);
		KUNIT_EXPECT_NULL(test, mapbuf_buf_page(buf, c->nr_pages));
		for (i = 0; fake && i < c->nr_pages; i++)
			KUNIT_EXPECT_PTR_EQ(test, buf->pages[i],
					    fake->log[i].page);
		mapbuf_buf_put(buf);
	}
	if (!fake)
		return;
	KUNIT_EXPECT_EQ(test, fake->nr_calls, c->nr_calls);
	KUNIT_EXPECT_TRUE(test, fake->gfp & __GFP_ACCOUNT);
	KUNIT_EXPECT_TRUE(test, fake->gfp & __GFP_ZERO);
}

/* ---- buffer layouts, and the offset-to-page lookup ---- */

/* The buffer layouts of the tables below. */
enum mapbuf_layout {
	/* One PMD-order folio: physically contiguous. */
	MAPBUF_ONE_PMD,
	/* MAPBUF_HUGE_TEST_PAGES: two PMD-order folios and three pages. */
	MAPBUF_TWO_PMDS_AND_3,
	/* One PMD-order folio, then single pages only. */
	MAPBUF_FRAGMENTED,
	/* No PMD-order folio: two of the order below. */
	MAPBUF_NO_PMD,
};

/* A buffer of @layout; test->priv logs its extents. */
static struct mapbuf_buf *mapbuf_test_layout(struct kunit *test,
					     enum mapbuf_layout layout)
{
	static const struct {
		unsigned long nr_pages;
		unsigned int nr_any, cap;
	} layouts[] = {
		[MAPBUF_ONE_PMD] = { MAPBUF_PMD_PAGES, UINT_MAX, 0 },
		[MAPBUF_TWO_PMDS_AND_3] = {
			MAPBUF_HUGE_TEST_PAGES, UINT_MAX, 0 },
		[MAPBUF_FRAGMENTED] = { 2 * MAPBUF_PMD_PAGES, 1, 0 },
		[MAPBUF_NO_PMD] = { MAPBUF_PMD_PAGES, 0, PMD_ORDER - 1 },
	};
	struct mapbuf_test_alloc *a;

	a = mapbuf_test_alloc(test, layouts[layout].nr_pages, UINT_MAX, 0);
	a->nr_any = layouts[layout].nr_any;
	a->cap = layouts[layout].cap;
	return mapbuf_test_buf(test, layouts[layout].nr_pages * PAGE_SIZE);
}

struct mapbuf_page_case {
	const char *name;
	enum mapbuf_layout layout;
	unsigned long pgoff;
};

#define P	MAPBUF_PMD_PAGES
#define L	MAPBUF_TWO_PMDS_AND_3
static const struct mapbuf_page_case mapbuf_page_cases[] = {
	{ "first page",			L, 0 },
	{ "inside a PMD folio",		L, 5 },
	{ "last of a PMD folio",	L, P - 1 },
	{ "first of the next folio",	L, P },
	{ "in the order-1 folio",	L, 2 * P + 1 },
	{ "last page",			L, 2 * P + 2 },
	{ "one past the end",		L, 2 * P + 3 },
	{ "offset ULONG_MAX",		L, ULONG_MAX },
	{ "fragmented: a single page",	MAPBUF_FRAGMENTED, P + 7 },
	{ "no PMD-order folio",		MAPBUF_NO_PMD, P - 1 },
};

#undef L
#undef P

KUNIT_ARRAY_PARAM_DESC(mapbuf_page, mapbuf_page_cases, name);

/*
 * Page pgoff of the buffer is the page that the allocator handed out for
 * it: the extents in the order allocated, each a run of consecutive pfns
 * at an offset that is a multiple of its size. Past the end there is none.
 */
static void mapbuf_page_lookup(struct kunit *test)
{
	const struct mapbuf_page_case *c = test->param_value;
	struct mapbuf_buf *buf = mapbuf_test_layout(test, c->layout);
	struct page *page = mapbuf_buf_page(buf, c->pgoff);
	struct mapbuf_test_alloc *a = test->priv;
	unsigned long start = 0, size;
	unsigned int i;

	for (i = 0; i < a->nr; i++, start += size) {
		size = 1UL << a->log[i].order;
		KUNIT_EXPECT_EQ(test, start % size, 0);
		if (c->pgoff - start >= size)
			continue;
		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_to_pfn(page),
				page_to_pfn(a->log[i].page) +
				c->pgoff - start);
		return;
	}
	KUNIT_EXPECT_EQ(test, start, buf->nr_pages);
	KUNIT_EXPECT_NULL(test, page);
}

/* ---- which folio one PMD may map ---- */

/* A PMD-aligned base address for the VMAs of the cases below. */
#define MAPBUF_TEST_VA(pages)	(16 * PMD_SIZE + (pages) * PAGE_SIZE)
#define MAPBUF_NO_FOLIO		ULONG_MAX

/* How the VMA maps, and how it faults. */
#define MAPBUF_SHARED	BIT(0)
#define MAPBUF_WRITE	BIT(1)

struct mapbuf_pmd_case {
	const char *name;
	enum mapbuf_layout layout;
	/* The VMA, in pages from a PMD-aligned base, and its offset. */
	unsigned long start, end, pgoff;
	/* The faulting address, in pages from the base. */
	unsigned long addr;
	unsigned int fault;
	/* The first buffer page of the folio to map, or MAPBUF_NO_FOLIO. */
	unsigned long folio;
};

#define P	MAPBUF_PMD_PAGES
#define L	MAPBUF_TWO_PMDS_AND_3
#define F	MAPBUF_FRAGMENTED
#define N	MAPBUF_NO_PMD
#define S	MAPBUF_SHARED
#define W	MAPBUF_WRITE
#define NONE	MAPBUF_NO_FOLIO
static const struct mapbuf_pmd_case mapbuf_pmd_cases[] = {
	{ "first folio",		L, 0, 2 * P, 0, 5, S, 0 },
	{ "second folio, last page",	L, 0, 2 * P, 0, 2 * P - 1, S, P },
	{ "shared write",		L, 0, P, 0, 0, S | W, 0 },
	{ "private read",		L, 0, P, 0, 0, 0, 0 },
	{ "private write copies",	L, 0, P, 0, 0, W, NONE },
	{ "offset of one folio",	L, 0, P, P, 3, S, P },
	{ "offset not a multiple",	L, 0, P, 1, 0, S, NONE },
	{ "address and offset apart", L, 1, 2 * P + 1, 0, P + 1, S, NONE },
	{ "starts before the VMA",	L, 1, 2 * P, 1, 2, S, NONE },
	{ "ends after the VMA",		L, 0, P - 1, 0, 0, S, NONE },
	{ "VMA of exactly one folio",	L, P, 2 * P, P, 2 * P - 1, S, P },
	{ "short last folio",		L, 0, P, 2 * P, 0, S, NONE },
	{ "offset past the buffer",	L, 0, P, 3 * P, 0, S, NONE },
	{ "fragmented: its PMD folio",	F, 0, 2 * P, 0, 7, S, 0 },
	{ "fragmented: single pages",	F, 0, 2 * P, 0, P + 7, S, NONE },
	{ "no PMD-order folio",		N, 0, P, 0, 0, S, NONE },
};

#undef NONE
#undef W
#undef S
#undef N
#undef F
#undef L
#undef P

KUNIT_ARRAY_PARAM_DESC(mapbuf_pmd, mapbuf_pmd_cases, name);

/* One PMD maps exactly the folio that holds the range, or nothing. */
static void mapbuf_pmd_folio_cases(struct kunit *test)
{
	const struct mapbuf_pmd_case *c = test->param_value;
	struct vm_area_struct vma = {
		.vm_start = MAPBUF_TEST_VA(c->start),
		.vm_end = MAPBUF_TEST_VA(c->end),
		.vm_pgoff = c->pgoff,
		.vm_flags = c->fault & MAPBUF_SHARED ? VM_SHARED : 0,
	};
	struct mapbuf_buf *buf = mapbuf_test_layout(test, c->layout);
	struct folio *want = NULL;

	if (c->folio != MAPBUF_NO_FOLIO)
		want = page_folio(buf->pages[c->folio]);
	KUNIT_EXPECT_PTR_EQ(test,
			    mapbuf_buf_pmd_folio(buf, &vma,
						 MAPBUF_TEST_VA(c->addr),
						 c->fault & MAPBUF_WRITE),
			    want);
}

/* ---- the range check ---- */

struct mapbuf_range_case {
	const char *name;
	unsigned long pgoff;
	unsigned long nr_pages;
	int err;
	bool mmap;	/* mmap(2) can ask for it: map it too */
};

/* Against a buffer of MAPBUF_TEST_PAGES pages. */
static const struct mapbuf_range_case mapbuf_range_cases[] = {
	{ "first page",		0, 1, 0, true },
	{ "middle page",	MAPBUF_TEST_PAGES / 2, 1, 0, true },
	{ "last page",		MAPBUF_TEST_PAGES - 1, 1, 0, true },
	{ "whole buffer",	0, MAPBUF_TEST_PAGES, 0, true },
	{ "empty range",	0, 0, -ENXIO },
	{ "one past the end",	MAPBUF_TEST_PAGES, 1, -ENXIO, true },
	{ "one page too long",	0, MAPBUF_TEST_PAGES + 1, -ENXIO, true },
	{ "runs past the end",	MAPBUF_TEST_PAGES - 1, 2, -ENXIO, true },
	{ "past any buffer", MAPBUF_MAX_SIZE / PAGE_SIZE, 1, -ENXIO, true },
	{ "offset ULONG_MAX",	ULONG_MAX, 1, -ENXIO },
	{ "length wraps",	1, ULONG_MAX, -ENXIO },
	{ "sum wraps to 0",	MAPBUF_TEST_PAGES - 1,
				ULONG_MAX - MAPBUF_TEST_PAGES + 2, -ENXIO },
	/* In bytes, these wrap to ranges inside the buffer. */
	{ "offset in bytes wraps", (ULONG_MAX >> PAGE_SHIFT) + 1, 1, -ENXIO },
	{ "length in bytes wraps", 0, (ULONG_MAX >> PAGE_SHIFT) + 2, -ENXIO },
};

KUNIT_ARRAY_PARAM_DESC(mapbuf_range, mapbuf_range_cases, name);

/*
 * A range is allowed only if every page of it lies inside the buffer, and
 * mmap(2) maps exactly the ranges allowed: a refused one takes nothing.
 */
static void mapbuf_check_range_cases(struct kunit *test)
{
	const struct mapbuf_range_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	KUNIT_EXPECT_EQ(test, mapbuf_check_range(ctx->dev.buf, c->pgoff,
						 c->nr_pages), c->err);
	if (!c->mmap)
		return;
	addr = kunit_vm_mmap(test, ctx->file, 0, c->nr_pages * PAGE_SIZE,
			     PROT_READ, MAP_SHARED, c->pgoff * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, IS_ERR_VALUE(addr) ? (long)addr : 0, c->err);
	mapbuf_expect_users(test, &ctx->dev, !c->err, 1 + !c->err);
}

/* ---- real mappings ---- */

/* Each folio of the buffer is held by the buffer alone, once unmapped. */
static void mapbuf_expect_folios_unused(struct kunit *test,
					struct mapbuf_buf *buf)
{
	struct folio *folio;
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i += folio_nr_pages(folio)) {
		folio = page_folio(buf->pages[i]);
		KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	}
}

struct mapbuf_map_case {
	const char *name;
	unsigned long buf_pages;
	unsigned long pgoff, nr_pages;	/* the mapping */
	unsigned long prot, flags;
	unsigned long store;	/* the page of the mapping to store to */
	bool dmabuf;		/* map the buffer's dma-buf instead */
	int err;
};

#define T	MAPBUF_TEST_PAGES
#define H	MAPBUF_HUGE_TEST_PAGES
#define RW	(PROT_READ | PROT_WRITE)
static const struct mapbuf_map_case mapbuf_map_cases[] = {
	{ "shared",		T, 0, T,	RW, MAP_SHARED, 1 },
	{ "shared at an offset", T, T - 1, 1,	RW, MAP_SHARED, 0 },
	{ "private",		T, 0, T,	RW, MAP_PRIVATE, 1 },
	{ "private at an offset", T, 2, 2,	RW, MAP_PRIVATE, 1 },
	/* Read faults may map the PMD folios whole: a store splits them. */
	{ "shared, PMD folios",	H, 0, H,	RW, MAP_SHARED, H / 2 },
	{ "private, PMD folios", H, 0, H,	RW, MAP_PRIVATE, H / 2 },
	{ "dma-buf at an offset", H, 1, H - 1, RW, MAP_SHARED, H - 2, true },
	{ "dma-buf private",	T, 0, 1, PROT_READ, MAP_PRIVATE, 0, true,
	  -EINVAL },
};

#undef RW
#undef H
#undef T

KUNIT_ARRAY_PARAM_DESC(mapbuf_map, mapbuf_map_cases, name);

/*
 * A mapping shows the buffer pages from its file offset on, which the
 * kernel wrote before the fault. A store lands in the buffer if the
 * mapping is shared, in a private copy of that one page if not; once
 * unmapped, no folio reference is left over or missing. The device's
 * mappings are page-backed (never VM_PFNMAP), never grow, ask for huge
 * mappings where mapbuf makes them, and count as mappings; the dma-buf's
 * are VM_PFNMAP, shared only, and count as the export only. The files'
 * noexec mounts refuse exec before mapbuf sees it.
 */
static void mapbuf_map_cases_test(struct kunit *test)
{
	const struct mapbuf_map_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, c->buf_pages);
	vm_flags_t set = VM_DONTEXPAND, clear = VM_PFNMAP;
	struct mapbuf_buf *buf = ctx->dev.buf;
	struct file *file = ctx->file;
	struct vm_area_struct *vma;
	struct mapbuf_info info;
	unsigned long addr;
	u8 *kaddr;

	mapbuf_dev_info(&ctx->dev, &info);
	if (info.flags & MAPBUF_INFO_PMD_MAPPINGS)
		set |= VM_HUGEPAGE;
	if (c->dmabuf) {
		file = mapbuf_test_export(test, ctx)->file;
		set = VM_PFNMAP;
		clear = 0;
	}
	mapbuf_test_tag(buf);
	addr = kunit_vm_mmap(test, file, 0, c->nr_pages * PAGE_SIZE, c->prot,
			     c->flags, c->pgoff * PAGE_SIZE);
	if (c->err) {
		KUNIT_EXPECT_EQ(test, (long)addr, c->err);
		KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 0);
		return;
	}
	mapbuf_expect_mapped(test, addr);
	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	KUNIT_EXPECT_EQ(test, vma ? vma->vm_flags & (set | clear) : 0, set);
	mmap_read_unlock(current->mm);
	KUNIT_EXPECT_TRUE(test, mapbuf_tags_seen(test, addr, c->pgoff,
						 c->nr_pages));
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr +
					   c->store * PAGE_SIZE + 8, "new", 4),
			0);
	kaddr = mapbuf_test_kaddr(buf, c->pgoff + c->store) + 8;
	if (c->flags & MAP_SHARED)
		KUNIT_EXPECT_STREQ(test, kaddr, "new");
	else
		KUNIT_EXPECT_NULL(test, memchr_inv(kaddr, 0, 4));
	KUNIT_EXPECT_TRUE(test, mapbuf_tags_seen(test, addr, c->pgoff,
						 c->nr_pages));
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), !c->dmabuf);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, c->nr_pages * PAGE_SIZE), 0);
	mapbuf_expect_folios_unused(test, buf);
}

/* ---- the buffer's lifetime ---- */

/*
 * Each VMA holds a buffer reference and counts as one mapping, and keeps
 * the buffer alive after the device lets go of it: tear the test device
 * down, which drops its reference, and only then fault the mapping in.
 * Without a reference of the VMA's own, that fault would use a freed
 * buffer (a use-after-free that KASAN reports).
 */
static void mapbuf_map_holds_buffer(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	unsigned long addr;
	char seen[4];

	addr = kunit_vm_mmap(test, ctx->file, 0, 3 * PAGE_SIZE,
			     PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	mapbuf_expect_users(test, &ctx->dev, 1, 2);
	/* Unmapping the middle page splits the VMA in two. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + PAGE_SIZE, PAGE_SIZE), 0);
	mapbuf_expect_users(test, &ctx->dev, 2, 3);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);
	mapbuf_expect_users(test, &ctx->dev, 1, 2);

	kunit_release_action(test, mapbuf_test_dev_exit, &ctx->dev);
	KUNIT_ASSERT_EQ(test, kref_read(&buf->ref), 1);
	addr += 2 * PAGE_SIZE;
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "abc", 4), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr, 4), 0);
	KUNIT_EXPECT_STREQ(test, seen, "abc");
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(buf, 2), "abc");
}

/* ---- resize ---- */

struct mapbuf_mapped_case {
	const char *name;
	unsigned long nr_pages;		/* the mapping's length */
	unsigned long resize_pages;	/* the buffer's size after resize */
	int err;
};

static const struct mapbuf_mapped_case mapbuf_mapped_cases[] = {
	{ "resized, still inside",	1, 2, 0 },
	{ "resized to less",		MAPBUF_TEST_PAGES, 1, -ENXIO },
};

KUNIT_ARRAY_PARAM_DESC(mapbuf_mapped, mapbuf_mapped_cases, name);

/*
 * A resize between ->mmap_prepare and ->mapped: ->mapped checks the range
 * again, against the new buffer, and maps that one; or it takes nothing,
 * so that the ->close that the core calls when it unmaps the refused VMA
 * drops nothing either.
 */
static void mapbuf_mapped_after_resize(struct kunit *test)
{
	const struct mapbuf_mapped_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct vm_area_desc desc = {
		.file = ctx->file,
		.end = c->nr_pages * PAGE_SIZE,
	};
	struct vm_area_struct *vma;

	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	KUNIT_ASSERT_EQ(test, mapbuf_fops.mmap_prepare(&desc), 0);
	KUNIT_ASSERT_EQ(test, mapbuf_dev_resize(&ctx->dev,
						c->resize_pages * PAGE_SIZE,
						0), 0);
	KUNIT_EXPECT_EQ(test, desc.vm_ops->mapped(desc.start, desc.end, 0,
						  ctx->file,
						  &vma->vm_private_data),
			c->err);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_private_data,
			    c->err ? NULL : ctx->dev.buf);
	mapbuf_expect_users(test, &ctx->dev, !c->err, 1 + !c->err);
	desc.vm_ops->close(vma);
	mapbuf_expect_users(test, &ctx->dev, 0, 1);
}

struct mapbuf_resize_case {
	const char *name;
	u64 size;
	u64 flags;
	unsigned int budget;		/* pages to allocate, or 0: any */
	unsigned int kill_after;	/* pages before a fatal signal, or 0 */
	int err;
	unsigned long nr_pages;		/* of the new buffer */
	bool mapped;			/* map the old buffer first, */
	bool meanwhile;			/* or while allocating */
};

static const struct mapbuf_resize_case mapbuf_resize_cases[] = {
	{ "one byte",		1, .nr_pages = 1 },
	{ "two pages and a byte", 2 * PAGE_SIZE + 1, .nr_pages = 3 },
	{ "zero",		0, .err = -EINVAL },
	{ "one byte too big",	MAPBUF_MAX_SIZE + 1ULL, .err = -EINVAL },
	/* On 32-bit these would be one page and 0 as a size_t. */
	{ "2^32 + 4096",	(1ULL << 32) + 4096, .err = -EINVAL },
	{ "2^32",		1ULL << 32, .err = -EINVAL },
	{ "U64_MAX",		U64_MAX, .err = -EINVAL },
	/* No flag is defined yet: every one is refused. */
	{ "flag bit 0",		PAGE_SIZE, 1ULL << 0, .err = -EINVAL },
	{ "flag bit 63",	PAGE_SIZE, 1ULL << 63, .err = -EINVAL },
	{ "out of memory",	4 * PAGE_SIZE, .budget = 2, .err = -ENOMEM },
	{ "fatal signal",	4 * PAGE_SIZE, .budget = 4, .kill_after = 1,
	  .err = -EINTR },
	/* Mapped memory is never replaced. */
	{ "while mapped",	PAGE_SIZE, .mapped = true, .err = -EBUSY },
	{ "mapped while allocating", 4 * PAGE_SIZE, .budget = 4, .mapped = true,
	  .meanwhile = true, .err = -EBUSY },
};

KUNIT_ARRAY_PARAM_DESC(mapbuf_resize, mapbuf_resize_cases, name);

/*
 * A resize installs a new, zeroed buffer of the size rounded up, that new
 * mappings map and are checked against, and lets go of the old one. A bad
 * size or flag, or an allocation that fails half way, keeps the old
 * buffer with its bytes and frees whatever it allocated.
 */
static void mapbuf_resize_cases_test(struct kunit *test)
{
	const struct mapbuf_resize_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *old = ctx->dev.buf;
	struct mapbuf_test_alloc *a;
	unsigned long len, addr;
	int ret;

	strscpy(mapbuf_test_kaddr(old, 1), "old", 4);
	/* A reference of the test's own shows whether the device let go. */
	kref_get(&old->ref);
	ret = kunit_add_action_or_reset(test, mapbuf_test_put_buf, old);
	KUNIT_ASSERT_EQ(test, ret, 0);
	if (c->mapped && !c->meanwhile)
		mapbuf_expect_mapped(test, kunit_vm_mmap(test, ctx->file, 0,
							 PAGE_SIZE, PROT_READ,
							 MAP_PRIVATE, 0));
	if (c->budget) {
		a = mapbuf_test_alloc(test, 4, c->budget, c->kill_after);
		if (c->meanwhile)
			a->map_file = ctx->file;
	}
	ret = mapbuf_dev_resize(&ctx->dev, c->size, c->flags);
	KUNIT_ASSERT_EQ(test, ret, c->err);
	if (ret) {
		KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, old);
		KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(old, 1), "old");
		KUNIT_EXPECT_EQ(test, kref_read(&old->ref), 2 + c->mapped);
		return;
	}
	KUNIT_EXPECT_EQ(test, kref_read(&old->ref), 1);
	KUNIT_ASSERT_EQ(test, ctx->dev.buf->nr_pages, c->nr_pages);
	KUNIT_EXPECT_TRUE(test, mapbuf_test_zeroed(ctx->dev.buf));
	mapbuf_test_tag(ctx->dev.buf);
	len = c->nr_pages * PAGE_SIZE;
	addr = kunit_vm_mmap(test, ctx->file, 0, len + PAGE_SIZE, PROT_READ,
			     MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -ENXIO);
	addr = kunit_vm_mmap(test, ctx->file, 0, len, PROT_READ, MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_EXPECT_TRUE(test, mapbuf_tags_seen(test, addr, 0, c->nr_pages));
	mapbuf_expect_users(test, &ctx->dev, 1, 2);
}

/* ---- dma-buf export ---- */

struct mapbuf_sgt_case {
	const char *name;
	enum mapbuf_layout layout;
	unsigned int max_seg;
	unsigned int nents;
};

#define P	MAPBUF_PMD_PAGES
#define PMD_IN(seg)	(P * PAGE_SIZE / (seg))
#define ONE	MAPBUF_ONE_PMD
#define L	MAPBUF_TWO_PMDS_AND_3
static const struct mapbuf_sgt_case mapbuf_sgt_cases[] = {
	{ "one folio",			ONE, UINT_MAX,		1 },
	{ "one folio, 64 KiB entries",	ONE, SZ_64K, PMD_IN(SZ_64K) },
	{ "one folio, 3.5 pages",	ONE, 7 * PAGE_SIZE / 2,
	  DIV_ROUND_UP(P, 3) },
	{ "one folio, less than a page", ONE, 1,		P },
	{ "short last folios",		L, UINT_MAX,		4 },
	{ "short last folios, 64 KiB entries", L, SZ_64K,
	  2 * PMD_IN(SZ_64K) + 2 },
	{ "fragmented",		MAPBUF_FRAGMENTED, UINT_MAX, 1 + P },
	{ "no PMD-order folio",		MAPBUF_NO_PMD, UINT_MAX, 2 },
};

#undef L
#undef ONE
#undef PMD_IN
#undef P

KUNIT_ARRAY_PARAM_DESC(mapbuf_sgt, mapbuf_sgt_cases, name);

/*
 * The table walks the buffer in offset order, each entry one physically
 * contiguous run of whole pages inside one folio, at most max_seg long
 * (whole pages, at least one), as many entries as the folios and the
 * limit make.
 */
static void mapbuf_sgt_cases_test(struct kunit *test)
{
	const struct mapbuf_sgt_case *c = test->param_value;
	struct mapbuf_buf *buf = mapbuf_test_layout(test, c->layout);
	size_t max = max_t(size_t, round_down(c->max_seg, PAGE_SIZE),
			   PAGE_SIZE);
	unsigned long pgoff = 0, first, n, nr;
	struct scatterlist *sg;
	struct sg_table sgt;
	struct folio *folio;
	int i;

	KUNIT_ASSERT_EQ(test, mapbuf_buf_sgt(buf, c->max_seg, &sgt), 0);
	KUNIT_EXPECT_EQ(test, sgt.orig_nents, c->nents);
	for_each_sgtable_sg(&sgt, sg, i) {
		nr = sg->length >> PAGE_SHIFT;
		folio = page_folio(sg_page(sg));
		first = folio_page_idx(folio, sg_page(sg));
		KUNIT_EXPECT_EQ(test, sg->offset, 0);
		KUNIT_ASSERT_TRUE_MSG(test, sg->length &&
				      PAGE_ALIGNED(sg->length) &&
				      sg->length <= max &&
				      first + nr <= folio_nr_pages(folio) &&
				      pgoff + nr <= buf->nr_pages,
				      "entry %d: %u bytes", i, sg->length);
		for (n = 0; n < nr; n++)
			KUNIT_ASSERT_PTR_EQ_MSG(test, buf->pages[pgoff + n],
						folio_page(folio, first + n),
						"entry %d, page %lu", i, n);
		pgoff += nr;
	}
	KUNIT_EXPECT_EQ(test, pgoff, buf->nr_pages);
	sg_free_table(&sgt);
}

/*
 * A dma-buf holds the buffer and counts as an export until its release,
 * which gives both back: a release that dropped no reference, or one too
 * many, shows in the count. Meanwhile its kernel mapping reaches the
 * buffer's pages. A kthread's last fput() is deferred to a work item: run
 * it, so that release has run.
 */
static void mapbuf_export_holds_buffer(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	struct iosys_map map;

	KUNIT_EXPECT_EQ(test, dmabuf->size, MAPBUF_TEST_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_exports), 1);
	mapbuf_expect_users(test, &ctx->dev, 0, 2);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0),
			-EBUSY);
	KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, buf);

	mapbuf_test_tag(buf);
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	KUNIT_EXPECT_EQ(test, *(unsigned long *)(map.vaddr + 3 * PAGE_SIZE),
			3);
	strscpy(map.vaddr + PAGE_SIZE + 8, "vmap", 5);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf,
						       DMA_BIDIRECTIONAL), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf,
						     DMA_BIDIRECTIONAL), 0);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(buf, 1) + 8, "vmap");
	dma_buf_vunmap_unlocked(dmabuf, &map);

	kunit_release_action(test, mapbuf_test_put_dmabuf, dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_exports), 0);
	mapbuf_expect_users(test, &ctx->dev, 0, 1);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), 0);
}

/*
 * The dma-buf's ->mmap refuses an executable mapping: called by hand, as
 * mmap(2) of the dma-buf's file, on a noexec mount, never gets so far.
 */
static void mapbuf_export_mmap_refuses_exec(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	struct vm_area_struct vma = {
		.vm_end = PAGE_SIZE,
		.vm_flags = VM_READ | VM_EXEC | VM_SHARED | VM_MAYSHARE,
	};

	KUNIT_EXPECT_EQ(test, dmabuf->ops->mmap(dmabuf, &vma), -EPERM);
}

/*
 * What an importer does: attach a device, DMA-map the buffer for it, sync
 * for the CPU and back, unmap, detach. The device takes 64 KiB entries at
 * most (no dma_parms), so the buffer of two PMD folios and three pages
 * needs many: each one page-aligned, together the whole buffer.
 */
static void mapbuf_export_attach_map(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	size_t total = 0;
	int i;

	ctx = mapbuf_map_ctx(test, MAPBUF_HUGE_TEST_PAGES);
	dmabuf = mapbuf_test_export(test, ctx);
	dev = kunit_device_register(test, "mapbuf-importer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);
	attach = dma_buf_attach(dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, attach);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(sg_dma_address(sg)));
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(sg_dma_len(sg)));
		KUNIT_EXPECT_LE(test, sg_dma_len(sg), SZ_64K);
		total += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, total, MAPBUF_HUGE_TEST_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE),
			0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE), 0);
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, attach);
}

static struct kunit_case mapbuf_test_cases[] = {
	KUNIT_CASE_PARAM(mapbuf_alloc_cases_test, mapbuf_alloc_gen_params),
	KUNIT_CASE_PARAM(mapbuf_page_lookup, mapbuf_page_gen_params),
	KUNIT_CASE_PARAM(mapbuf_pmd_folio_cases, mapbuf_pmd_gen_params),
	KUNIT_CASE_PARAM(mapbuf_check_range_cases, mapbuf_range_gen_params),
	KUNIT_CASE_PARAM(mapbuf_map_cases_test, mapbuf_map_gen_params),
	KUNIT_CASE(mapbuf_map_holds_buffer),
	KUNIT_CASE_PARAM(mapbuf_mapped_after_resize, mapbuf_mapped_gen_params),
	KUNIT_CASE_PARAM(mapbuf_resize_cases_test, mapbuf_resize_gen_params),
	KUNIT_CASE_PARAM(mapbuf_sgt_cases_test, mapbuf_sgt_gen_params),
	KUNIT_CASE(mapbuf_export_holds_buffer),
	KUNIT_CASE(mapbuf_export_mmap_refuses_exec),
	KUNIT_CASE(mapbuf_export_attach_map),
	{}
};

static struct kunit_suite mapbuf_test_suite = {
	.name = "mapbuf",
	.test_cases = mapbuf_test_cases,
};

kunit_test_suite(mapbuf_test_suite);

MODULE_DESCRIPTION("KUnit tests for mapbuf");
MODULE_LICENSE("GPL");
