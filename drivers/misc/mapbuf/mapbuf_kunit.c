// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mapbuf: buffer setup, the offset-to-page lookup and its
 * bounds check, real mappings of the driver's file operations, and the
 * dma-buf export: its scatterlist, its lifetime, its mapping, an import.
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

#define MAPBUF_TEST_PAGES	4

static struct mapbuf_buf *mapbuf_test_buf(struct kunit *test, size_t size)
{
	struct mapbuf_buf *buf = mapbuf_buf_alloc(size);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	ret = kunit_add_action_or_reset(test, mapbuf_test_put_buf, buf);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return buf;
}

static u8 *mapbuf_test_kaddr(struct mapbuf_buf *buf, unsigned long pgoff)
{
	return page_address(mapbuf_buf_page(buf, pgoff));
}

/* ---- buffer setup ---- */

struct mapbuf_size_case {
	size_t size;
	unsigned long nr_pages;
};

static const struct mapbuf_size_case mapbuf_size_cases[] = {
	{ 1,			1 },
	{ PAGE_SIZE - 1,	1 },
	{ PAGE_SIZE,		1 },
	{ PAGE_SIZE + 1,	2 },
	{ 3 * PAGE_SIZE,	3 },
	{ SZ_2M + 1,		SZ_2M / PAGE_SIZE + 1 },
};

static void mapbuf_size_case_desc(const struct mapbuf_size_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "size %zu", c->size);
}

KUNIT_ARRAY_PARAM(mapbuf_size, mapbuf_size_cases, mapbuf_size_case_desc);

/* A size rounds up to whole pages, and every page exists. */
static void mapbuf_alloc_rounds_size(struct kunit *test)
{
	const struct mapbuf_size_case *c = test->param_value;
	struct mapbuf_buf *buf = mapbuf_test_buf(test, c->size);

	KUNIT_EXPECT_EQ(test, buf->nr_pages, c->nr_pages);
	KUNIT_EXPECT_NOT_NULL(test, mapbuf_buf_page(buf, c->nr_pages - 1));
	KUNIT_EXPECT_NULL(test, mapbuf_buf_page(buf, c->nr_pages));
}

/* Fresh pages must never show what an earlier owner left in them. */
static void mapbuf_alloc_zeroed(struct kunit *test)
{
	struct mapbuf_buf *buf = mapbuf_test_buf(test, SZ_2M + PAGE_SIZE);
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		KUNIT_ASSERT_NULL(test, memchr_inv(mapbuf_test_kaddr(buf, i),
						   0, PAGE_SIZE));
}

/* Sizes outside 1..MAPBUF_MAX_SIZE are refused before any allocation. */
static void mapbuf_alloc_rejects_bad_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, PTR_ERR(mapbuf_buf_alloc(0)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(mapbuf_buf_alloc(MAPBUF_MAX_SIZE + 1)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(mapbuf_buf_alloc(SIZE_MAX)), -EINVAL);
}

/*
 * A fake extent allocator: only order 0 succeeds, and only @budget times.
 * It keeps a reference of its own on every page it hands out, so the test
 * can tell afterwards whether mapbuf dropped its reference. @gfp keeps the
 * flags that every call had; @stop_after makes a fatal signal look pending
 * once that many pages were handed out.
 */
struct mapbuf_fake_alloc {
	unsigned int budget;
	unsigned int stop_after;
	unsigned int nr_calls;
	unsigned int nr_pages;
	gfp_t gfp;
	struct page *pages[8];
};

static struct page *mapbuf_fake_alloc_extent(gfp_t gfp, unsigned int order)
{
	struct kunit *test = kunit_get_current_test();
	struct mapbuf_fake_alloc *fake = test->priv;
	struct page *page;

	fake->nr_calls++;
	fake->gfp &= gfp;
	if (order || fake->nr_pages == fake->budget)
		return NULL;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return NULL;
	get_page(page);
	fake->pages[fake->nr_pages++] = page;
	return page;
}

static struct mapbuf_fake_alloc *mapbuf_fake_start(struct kunit *test,
						   unsigned int budget)
{
	struct mapbuf_fake_alloc *fake;

	fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fake);
	fake->budget = budget;
	fake->stop_after = UINT_MAX;
	fake->gfp = ~(gfp_t)0;
	test->priv = fake;
	kunit_activate_static_stub(test, mapbuf_alloc_extent,
				   mapbuf_fake_alloc_extent);
	return fake;
}

static bool mapbuf_fake_fill_should_stop(void)
{
	struct mapbuf_fake_alloc *fake = kunit_get_current_test()->priv;

	return fake->nr_pages >= fake->stop_after;
}

/* Make a fatal signal look pending once @nr_pages pages were allocated. */
static void mapbuf_fake_kill_after(struct kunit *test,
				   struct mapbuf_fake_alloc *fake,
				   unsigned int nr_pages)
{
	fake->stop_after = nr_pages;
	kunit_activate_static_stub(test, mapbuf_fill_should_stop,
				   mapbuf_fake_fill_should_stop);
}

/* Drop the fake allocator's references, checking mapbuf holds none. */
static void mapbuf_fake_expect_released(struct kunit *test,
					struct mapbuf_fake_alloc *fake)
{
	unsigned int i;

	for (i = 0; i < fake->nr_pages; i++) {
		KUNIT_EXPECT_EQ(test, page_ref_count(fake->pages[i]), 1);
		put_page(fake->pages[i]);
	}
}

/* No high-order memory at all: fall back to single pages and succeed. */
static void mapbuf_alloc_falls_back_to_pages(struct kunit *test)
{
	struct mapbuf_fake_alloc *fake = mapbuf_fake_start(test, 8);
	struct mapbuf_buf *buf = mapbuf_buf_alloc(8 * PAGE_SIZE);
	unsigned int i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, fake->nr_pages, 8);
	/* 8 pages: orders 3, 2, 1 fail once, then 8 single pages. */
	KUNIT_EXPECT_EQ(test, fake->nr_calls, 3 + 8);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_PTR_EQ(test, mapbuf_buf_page(buf, i),
				    fake->pages[i]);
	mapbuf_buf_put(buf);
	mapbuf_fake_expect_released(test, fake);
}

/* Running out half way fails with -ENOMEM and gives back every page. */
static void mapbuf_alloc_failure_unwinds(struct kunit *test)
{
	struct mapbuf_fake_alloc *fake = mapbuf_fake_start(test, 5);

	KUNIT_EXPECT_EQ(test, PTR_ERR(mapbuf_buf_alloc(8 * PAGE_SIZE)),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, fake->nr_pages, 5);
	mapbuf_fake_expect_released(test, fake);
}

/* A killed task stops between extents: -EINTR, every page given back. */
static void mapbuf_alloc_interrupted_unwinds(struct kunit *test)
{
	struct mapbuf_fake_alloc *fake = mapbuf_fake_start(test, 8);
	struct mapbuf_buf *buf;

	mapbuf_fake_kill_after(test, fake, 3);
	buf = mapbuf_buf_alloc(8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, PTR_ERR(buf), -EINTR);
	if (!IS_ERR(buf))
		mapbuf_buf_put(buf);
	KUNIT_EXPECT_EQ(test, fake->nr_pages, 3);
	mapbuf_fake_expect_released(test, fake);
}

/* The buffer's pages are charged to the caller's memory cgroup. */
static void mapbuf_alloc_charges_memcg(struct kunit *test)
{
	struct mapbuf_fake_alloc *fake = mapbuf_fake_start(test, 2);
	struct mapbuf_buf *buf = mapbuf_buf_alloc(2 * PAGE_SIZE);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	mapbuf_buf_put(buf);
	mapbuf_fake_expect_released(test, fake);
	KUNIT_EXPECT_TRUE(test, fake->gfp & __GFP_ACCOUNT);
	KUNIT_EXPECT_TRUE(test, fake->gfp & __GFP_ZERO);
}

/* ---- the offset-to-page lookup and its bounds check ---- */

struct mapbuf_range_case {
	const char *name;
	unsigned long pgoff;
	unsigned long nr_pages;
	int err;
};

/* Against a buffer of MAPBUF_TEST_PAGES pages. */
static const struct mapbuf_range_case mapbuf_range_cases[] = {
	{ "first page",		0, 1, 0 },
	{ "middle page",	MAPBUF_TEST_PAGES / 2, 1, 0 },
	{ "last page",		MAPBUF_TEST_PAGES - 1, 1, 0 },
	{ "whole buffer",	0, MAPBUF_TEST_PAGES, 0 },
	{ "empty range",	0, 0, -ENXIO },
	{ "one past the end",	MAPBUF_TEST_PAGES, 1, -ENXIO },
	{ "one page too long",	0, MAPBUF_TEST_PAGES + 1, -ENXIO },
	{ "runs past the end",	MAPBUF_TEST_PAGES - 1, 2, -ENXIO },
	{ "offset ULONG_MAX",	ULONG_MAX, 1, -ENXIO },
	{ "length wraps",	1, ULONG_MAX, -ENXIO },
	{ "sum wraps to 0",	MAPBUF_TEST_PAGES - 1,
				ULONG_MAX - MAPBUF_TEST_PAGES + 2, -ENXIO },
	/* In bytes, these wrap to ranges inside the buffer. */
	{ "offset in bytes wraps", (ULONG_MAX >> PAGE_SHIFT) + 1, 1, -ENXIO },
	{ "length in bytes wraps", 0, (ULONG_MAX >> PAGE_SHIFT) + 2, -ENXIO },
};

static void mapbuf_range_case_desc(const struct mapbuf_range_case *c,
				   char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mapbuf_range, mapbuf_range_cases, mapbuf_range_case_desc);

/* Every range inside the buffer is allowed, every other one refused. */
static void mapbuf_check_range_cases(struct kunit *test)
{
	const struct mapbuf_range_case *c = test->param_value;
	struct mapbuf_buf *buf;

	buf = mapbuf_test_buf(test, MAPBUF_TEST_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, mapbuf_check_range(buf, c->pgoff, c->nr_pages),
			c->err);
}

/*
 * The lookup returns the page that holds the bytes at pgoff * PAGE_SIZE:
 * tag each page with its index and read the tag back through the lookup.
 */
static void mapbuf_page_lookup(struct kunit *test)
{
	struct mapbuf_buf *buf;
	unsigned long i;

	buf = mapbuf_test_buf(test, MAPBUF_TEST_PAGES * PAGE_SIZE);
	for (i = 0; i < MAPBUF_TEST_PAGES; i++)
		*mapbuf_test_kaddr(buf, i) = i + 1;
	for (i = 0; i < MAPBUF_TEST_PAGES; i++)
		KUNIT_EXPECT_EQ(test, *mapbuf_test_kaddr(buf, i), i + 1);
	KUNIT_EXPECT_NULL(test, mapbuf_buf_page(buf, MAPBUF_TEST_PAGES));
	KUNIT_EXPECT_NULL(test, mapbuf_buf_page(buf, ULONG_MAX));
}

/* Pass-through extent allocator that records what it handed out. */
struct mapbuf_extent_log {
	unsigned int nr;
	struct page *first[16];
	unsigned int order[16];
};

static struct page *mapbuf_logged_alloc_extent(gfp_t gfp, unsigned int order)
{
	struct kunit *test = kunit_get_current_test();
	struct mapbuf_extent_log *log = test->priv;
	struct page *page;

	if (log->nr == ARRAY_SIZE(log->first))
		return NULL;
	page = alloc_pages(gfp, order);
	if (page) {
		log->first[log->nr] = page;
		log->order[log->nr++] = order;
	}
	return page;
}

/*
 * Each extent lands in the buffer as consecutive pages with consecutive
 * pfns, in offset order, whatever orders the allocator could give.
 */
static void mapbuf_extents_in_order(struct kunit *test)
{
	struct mapbuf_extent_log *log;
	unsigned long pgoff = 0, pfn;
	struct mapbuf_buf *buf;
	unsigned int i, n;

	log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, log);
	test->priv = log;
	kunit_activate_static_stub(test, mapbuf_alloc_extent,
				   mapbuf_logged_alloc_extent);
	buf = mapbuf_test_buf(test, 7 * PAGE_SIZE);

	for (i = 0; i < log->nr; i++) {
		pfn = page_to_pfn(log->first[i]);
		for (n = 0; n < 1U << log->order[i]; n++, pgoff++)
			KUNIT_EXPECT_EQ(test,
					page_to_pfn(mapbuf_buf_page(buf, pgoff)),
					pfn + n);
	}
	KUNIT_EXPECT_EQ(test, pgoff, 7);
}

/* ---- the folio layout, and which folio one PMD may map ---- */

/* Pages in a PMD-order folio. */
#define MAPBUF_PMD_PAGES	BIT(PMD_ORDER)

/*
 * A pass-through extent allocator whose first @nr_any extents may be of
 * any order and every later one at most of order @cap: the layouts that a
 * fragmented memory gives. It checks that each extent it hands out is a
 * folio of the order asked for.
 */
struct mapbuf_capped_alloc {
	unsigned int nr_any;
	unsigned int cap;
	unsigned int nr;
};

static struct page *mapbuf_capped_alloc_extent(gfp_t gfp, unsigned int order)
{
	struct kunit *test = kunit_get_current_test();
	struct mapbuf_capped_alloc *capped = test->priv;
	struct page *page;

	if (capped->nr >= capped->nr_any && order > capped->cap)
		return NULL;
	page = alloc_pages(gfp, order);
	if (page) {
		KUNIT_EXPECT_EQ(test, folio_order(page_folio(page)), order);
		capped->nr++;
	}
	return page;
}

/* A buffer of @nr_pages pages laid out by mapbuf_capped_alloc_extent(). */
static struct mapbuf_buf *mapbuf_test_capped_buf(struct kunit *test,
						 unsigned long nr_pages,
						 unsigned int nr_any,
						 unsigned int cap)
{
	struct mapbuf_capped_alloc *capped;
	struct mapbuf_buf *buf;

	capped = kunit_kzalloc(test, sizeof(*capped), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, capped);
	capped->nr_any = nr_any;
	capped->cap = cap;
	test->priv = capped;
	kunit_activate_static_stub(test, mapbuf_alloc_extent,
				   mapbuf_capped_alloc_extent);
	buf = mapbuf_test_buf(test, nr_pages * PAGE_SIZE);
	kunit_deactivate_static_stub(test, mapbuf_alloc_extent);
	return buf;
}

/* The buffer layouts of the cases below. */
enum mapbuf_layout {
	/* One PMD-order folio: physically contiguous. */
	MAPBUF_ONE_PMD,
	/* Two PMD-order folios, then one of order 1 and one of order 0. */
	MAPBUF_TWO_PMDS_AND_3,
	/* One PMD-order folio, then single pages only. */
	MAPBUF_FRAGMENTED,
	/* No PMD-order folio: two of the order below. */
	MAPBUF_NO_PMD,
};

static struct mapbuf_buf *mapbuf_test_layout(struct kunit *test,
					     enum mapbuf_layout layout)
{
	switch (layout) {
	case MAPBUF_ONE_PMD:
		return mapbuf_test_capped_buf(test, MAPBUF_PMD_PAGES, UINT_MAX,
					      0);
	case MAPBUF_TWO_PMDS_AND_3:
		return mapbuf_test_capped_buf(test, 2 * MAPBUF_PMD_PAGES + 3,
					      UINT_MAX, 0);
	case MAPBUF_FRAGMENTED:
		return mapbuf_test_capped_buf(test, 2 * MAPBUF_PMD_PAGES, 1, 0);
	default:
		return mapbuf_test_capped_buf(test, MAPBUF_PMD_PAGES, 0,
					      PMD_ORDER - 1);
	}
}

/*
 * Each folio of the buffer starts at an offset that is a multiple of its
 * size and holds the buffer's pages in offset order, whatever orders the
 * allocator gave: the invariant that a PMD mapping of a whole folio needs.
 */
static void mapbuf_folios_aligned(struct kunit *test)
{
	enum mapbuf_layout layout = MAPBUF_ONE_PMD;
	unsigned long i, index;
	struct mapbuf_buf *buf;
	struct folio *folio;
	struct page *page;

	for (; layout <= MAPBUF_NO_PMD; layout++) {
		buf = mapbuf_test_layout(test, layout);
		for (i = 0; i < buf->nr_pages; i++) {
			page = mapbuf_buf_page(buf, i);
			folio = page_folio(page);
			index = i % folio_nr_pages(folio);
			KUNIT_ASSERT_PTR_EQ_MSG(test, page,
						folio_page(folio, index),
						"layout %d, page %lu", layout, i);
		}
	}
}

/* A PMD-aligned base address for the VMAs of the cases below. */
#define MAPBUF_TEST_VA(pages)	(16 * PMD_SIZE + (pages) * PAGE_SIZE)
#define MAPBUF_NO_FOLIO		ULONG_MAX

struct mapbuf_pmd_case {
	const char *name;
	enum mapbuf_layout layout;
	/* The VMA, in pages from a PMD-aligned base, and its offset. */
	unsigned long start, end, pgoff;
	/* The faulting address, in pages from the base. */
	unsigned long addr;
	vm_flags_t flags;
	bool write;
	/* The first buffer page of the folio to map, or MAPBUF_NO_FOLIO. */
	unsigned long folio;
};

#define P	MAPBUF_PMD_PAGES
static const struct mapbuf_pmd_case mapbuf_pmd_cases[] = {
	{ "first folio",		MAPBUF_TWO_PMDS_AND_3,
	  0, 2 * P, 0,		5,	VM_SHARED, false, 0 },
	{ "second folio, last page",	MAPBUF_TWO_PMDS_AND_3,
	  0, 2 * P, 0,	2 * P - 1,	VM_SHARED, false, P },
	{ "shared write",		MAPBUF_TWO_PMDS_AND_3,
	  0, P, 0,		0,	VM_SHARED, true, 0 },
	{ "private read",		MAPBUF_TWO_PMDS_AND_3,
	  0, P, 0,		0,	0, false, 0 },
	{ "private write copies",	MAPBUF_TWO_PMDS_AND_3,
	  0, P, 0,		0,	0, true, MAPBUF_NO_FOLIO },
	{ "offset of one folio",	MAPBUF_TWO_PMDS_AND_3,
	  0, P, P,		3,	VM_SHARED, false, P },
	{ "offset not a multiple",	MAPBUF_TWO_PMDS_AND_3,
	  0, P, 1,		0,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "address and offset apart",	MAPBUF_TWO_PMDS_AND_3,
	  1, 2 * P + 1, 0,	P + 1,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "starts before the VMA",	MAPBUF_TWO_PMDS_AND_3,
	  1, 2 * P, 1,		2,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "ends after the VMA",	MAPBUF_TWO_PMDS_AND_3,
	  0, P - 1, 0,		0,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "VMA of exactly one folio",	MAPBUF_TWO_PMDS_AND_3,
	  P, 2 * P, P,	2 * P - 1,	VM_SHARED, false, P },
	{ "short last folio",		MAPBUF_TWO_PMDS_AND_3,
	  0, P, 2 * P,		0,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "offset past the buffer",	MAPBUF_TWO_PMDS_AND_3,
	  0, P, 3 * P,		0,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "fragmented: its PMD folio",	MAPBUF_FRAGMENTED,
	  0, 2 * P, 0,		7,	VM_SHARED, false, 0 },
	{ "fragmented: single pages",	MAPBUF_FRAGMENTED,
	  0, 2 * P, 0,		P + 7,	VM_SHARED, false, MAPBUF_NO_FOLIO },
	{ "no PMD-order folio",		MAPBUF_NO_PMD,
	  0, P, 0,		0,	VM_SHARED, false, MAPBUF_NO_FOLIO },
};

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
		.vm_flags = c->flags,
	};
	struct mapbuf_buf *buf = mapbuf_test_layout(test, c->layout);
	struct folio *want = NULL;

	if (c->folio != MAPBUF_NO_FOLIO)
		want = page_folio(mapbuf_buf_page(buf, c->folio));
	KUNIT_EXPECT_PTR_EQ(test,
			    mapbuf_buf_pmd_folio(buf, &vma,
						 MAPBUF_TEST_VA(c->addr),
						 c->write),
			    want);
}

/* ---- real mappings ---- */

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

static unsigned long mapbuf_map(struct kunit *test, struct mapbuf_map_ctx *ctx,
				unsigned long len, unsigned long prot,
				unsigned long flags, unsigned long offset)
{
	return kunit_vm_mmap(test, ctx->file, 0, len, prot, flags, offset);
}

static void mapbuf_expect_mapped(struct kunit *test, unsigned long addr)
{
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "mmap: %ld",
			       (long)addr);
}

/* A store through a shared mapping lands in the buffer itself. */
static void mapbuf_map_shared_store(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	addr = mapbuf_map(test, ctx, MAPBUF_TEST_PAGES * PAGE_SIZE,
			  PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr + PAGE_SIZE,
					   "new", 4), 0);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(ctx->dev.buf, 1), "new");
}

/* A shared mapping shows what the kernel writes into the buffer. */
static void mapbuf_map_shared_load(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;
	char seen[4];

	addr = mapbuf_map(test, ctx, MAPBUF_TEST_PAGES * PAGE_SIZE, PROT_READ,
			  MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	strscpy(mapbuf_test_kaddr(ctx->dev.buf, 3), "old", 4);
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr +
					     3 * PAGE_SIZE, 4), 0);
	KUNIT_EXPECT_STREQ(test, seen, "old");
}

/* A store through a private mapping goes to a copy, never the buffer. */
static void mapbuf_map_private_store(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;
	char seen[4];

	strscpy(mapbuf_test_kaddr(ctx->dev.buf, 0), "old", 4);
	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "new", 4), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr, 4), 0);
	KUNIT_EXPECT_STREQ(test, seen, "new");
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(ctx->dev.buf, 0), "old");
}

/* The file offset selects the first buffer page of the mapping. */
static void mapbuf_map_offset(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, (MAPBUF_TEST_PAGES - 1) * PAGE_SIZE);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "end", 4), 0);
	KUNIT_EXPECT_STREQ(test,
			   mapbuf_test_kaddr(ctx->dev.buf,
					     MAPBUF_TEST_PAGES - 1), "end");
	KUNIT_EXPECT_EQ(test, *mapbuf_test_kaddr(ctx->dev.buf, 0), 0);
}

/* Tag each page of the buffer with its index, in its first word. */
static void mapbuf_test_tag(struct mapbuf_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		*(unsigned long *)mapbuf_test_kaddr(buf, i) = i;
}

/* Whether each page i of the mapping at @addr shows tag i. */
static bool mapbuf_tags_seen(struct kunit *test, unsigned long addr,
			     unsigned long nr_pages)
{
	unsigned long i, tag;

	for (i = 0; i < nr_pages; i++) {
		if (copy_from_user(&tag, (void __user *)addr + i * PAGE_SIZE,
				   sizeof(tag)) || tag != i) {
			kunit_info(test, "page %lu shows %lu", i, tag);
			return false;
		}
	}
	return true;
}

#define MAPBUF_HUGE_TEST_PAGES	(2 * MAPBUF_PMD_PAGES + 3)
#define MAPBUF_HUGE_TEST_PAGE	(MAPBUF_PMD_PAGES + 1)

/*
 * A mapping of a tagged buffer of two PMD-sized folios and three pages,
 * mapped whole where the kernel maps it so, which must show every tag,
 * with "new" then stored at byte 8 of MAPBUF_HUGE_TEST_PAGE through it.
 * Return its address; the test device is in *@ctx.
 */
static unsigned long mapbuf_map_huge(struct kunit *test, unsigned long flags,
				     struct mapbuf_map_ctx **ctx)
{
	unsigned long addr, len = MAPBUF_HUGE_TEST_PAGES * PAGE_SIZE;

	*ctx = mapbuf_map_ctx(test, MAPBUF_HUGE_TEST_PAGES);
	mapbuf_test_tag((*ctx)->dev.buf);
	addr = mapbuf_map(test, *ctx, len, PROT_READ | PROT_WRITE, flags, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_EXPECT_TRUE(test, mapbuf_tags_seen(test, addr,
						 MAPBUF_HUGE_TEST_PAGES));
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr +
					   MAPBUF_HUGE_TEST_PAGE * PAGE_SIZE +
					   8, "new", 4), 0);
	return addr;
}

/* Every page of a shared mapping is the buffer page at its offset. */
static void mapbuf_map_huge_shared(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx;

	mapbuf_map_huge(test, MAP_SHARED, &ctx);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(ctx->dev.buf,
						   MAPBUF_HUGE_TEST_PAGE) + 8,
			   "new");
}

/*
 * A store into a private mapping that read faults mapped whole copies one
 * page: the buffer keeps its bytes, and every other page still shows it.
 */
static void mapbuf_map_huge_private(struct kunit *test)
{
	unsigned long i = MAPBUF_HUGE_TEST_PAGE, addr;
	struct mapbuf_map_ctx *ctx;
	char seen[4];

	addr = mapbuf_map_huge(test, MAP_PRIVATE, &ctx);
	KUNIT_EXPECT_NULL(test, memchr_inv(mapbuf_test_kaddr(ctx->dev.buf, i) +
					   8, 0, 4));
	KUNIT_EXPECT_TRUE(test, mapbuf_tags_seen(test, addr,
						 MAPBUF_HUGE_TEST_PAGES));
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr +
					     i * PAGE_SIZE + 8, 4), 0);
	KUNIT_EXPECT_STREQ(test, seen, "new");
}

struct mapbuf_geometry_case {
	const char *name;
	unsigned long pgoff;
	unsigned long nr_pages;
};

static const struct mapbuf_geometry_case mapbuf_geometry_cases[] = {
	{ "one page too long",	0, MAPBUF_TEST_PAGES + 1 },
	{ "offset at the end",	MAPBUF_TEST_PAGES, 1 },
	{ "runs past the end",	MAPBUF_TEST_PAGES - 1, 2 },
	{ "offset past any buffer", MAPBUF_MAX_SIZE / PAGE_SIZE, 1 },
};

static void mapbuf_geometry_case_desc(const struct mapbuf_geometry_case *c,
				      char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mapbuf_geometry, mapbuf_geometry_cases,
		  mapbuf_geometry_case_desc);

/* mmap refuses any range that is not inside the buffer with -ENXIO. */
static void mapbuf_map_refuses_geometry(struct kunit *test)
{
	const struct mapbuf_geometry_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	addr = mapbuf_map(test, ctx, c->nr_pages * PAGE_SIZE, PROT_READ,
			  MAP_SHARED, c->pgoff * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, (long)addr, -ENXIO);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->dev.buf->nr_mappings), 0);
}

/* The buffer is data: an executable mapping is refused. */
static void mapbuf_map_refuses_exec(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ | PROT_EXEC,
			  MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -EPERM);
}

/* Each VMA holds a buffer reference and counts as one mapping. */
static void mapbuf_map_counts_vmas(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	unsigned long addr;

	addr = mapbuf_map(test, ctx, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 2);

	/* Unmapping the middle page splits the VMA in two. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 3);

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 1);
}

/*
 * MAPBUF_IOC_INFO's report: the buffer's state, only flags that the uAPI
 * defines, and every reserved field zero whatever the caller's struct held.
 */
static void mapbuf_info_reports(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_info info;
	unsigned long addr;

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	memset(&info, 0xa5, sizeof(info));
	mapbuf_dev_info(&ctx->dev, &info);
	KUNIT_EXPECT_EQ(test, info.size, MAPBUF_TEST_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.nr_mappings, 1);
	KUNIT_EXPECT_EQ(test, info.nr_exports, 0);
	KUNIT_EXPECT_EQ(test, info.flags & ~(MAPBUF_INFO_PMD_MAPPINGS |
					     MAPBUF_INFO_EXPORT), 0);
	KUNIT_EXPECT_TRUE(test, info.flags & MAPBUF_INFO_EXPORT);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(info.reserved, 0,
					     sizeof(info.reserved)), NULL);
}

/*
 * A mapping keeps the buffer alive after the device lets go of it: tear
 * the test device down, which drops its reference, and only then fault
 * the mapping in. Without a reference of the VMA's own, that fault would
 * read a freed buffer (a use-after-free that KASAN reports).
 */
static void mapbuf_map_outlives_device(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	unsigned long addr;
	char seen[4];

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, kref_read(&buf->ref), 2);
	kunit_release_action(test, mapbuf_test_dev_exit, &ctx->dev);
	KUNIT_ASSERT_EQ(test, kref_read(&buf->ref), 1);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "abc", 4), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr, 4), 0);
	KUNIT_EXPECT_STREQ(test, seen, "abc");
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(buf, 0), "abc");
}

/*
 * A resize between ->mmap_prepare and ->mapped: ->mapped checks the range
 * again, against the new buffer, and a refused mapping takes nothing, so
 * the ->close that the core calls when it unmaps it drops nothing either.
 */
static void mapbuf_mapped_rechecks_range(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct vm_area_desc desc = {
		.file = ctx->file,
		.end = MAPBUF_TEST_PAGES * PAGE_SIZE,
	};
	struct vm_area_struct *vma;

	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	KUNIT_ASSERT_EQ(test, mapbuf_fops.mmap_prepare(&desc), 0);
	KUNIT_ASSERT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, desc.vm_ops->mapped(desc.start, desc.end, 0,
						  ctx->file,
						  &vma->vm_private_data),
			-ENXIO);
	KUNIT_EXPECT_NULL(test, vma->vm_private_data);
	desc.vm_ops->close(vma);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->dev.buf->nr_mappings), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&ctx->dev.buf->ref), 1);
}

/* After such a resize, ->mapped references and maps the new buffer. */
static void mapbuf_mapped_takes_new_buffer(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct vm_area_desc desc = {
		.file = ctx->file,
		.end = PAGE_SIZE,
	};
	struct vm_area_struct *vma;
	struct mapbuf_buf *buf;

	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	KUNIT_ASSERT_EQ(test, mapbuf_fops.mmap_prepare(&desc), 0);
	KUNIT_ASSERT_EQ(test, mapbuf_dev_resize(&ctx->dev, 2 * PAGE_SIZE, 0), 0);
	buf = ctx->dev.buf;
	KUNIT_ASSERT_EQ(test, desc.vm_ops->mapped(desc.start, desc.end, 0,
						  ctx->file,
						  &vma->vm_private_data),
			0);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_private_data, buf);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 2);
	desc.vm_ops->close(vma);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 0);
}

/* ---- resize ---- */

static bool mapbuf_test_zeroed(struct mapbuf_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		if (memchr_inv(mapbuf_test_kaddr(buf, i), 0, PAGE_SIZE))
			return false;
	return true;
}

/* A resize installs a new, zeroed buffer of the rounded-up size. */
static void mapbuf_resize_replaces_buffer(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *old = ctx->dev.buf;

	memset(mapbuf_test_kaddr(old, 0), 0xa5, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test,
			mapbuf_dev_resize(&ctx->dev, 2 * PAGE_SIZE + 1, 0), 0);
	KUNIT_EXPECT_PTR_NE(test, ctx->dev.buf, old);
	KUNIT_EXPECT_EQ(test, ctx->dev.buf->nr_pages, 3);
	KUNIT_EXPECT_TRUE(test, mapbuf_test_zeroed(ctx->dev.buf));
}

struct mapbuf_resize_case {
	const char *name;
	u64 size;
	u64 flags;
};

static const struct mapbuf_resize_case mapbuf_resize_cases[] = {
	{ "zero",		0 },
	{ "one byte too big",	MAPBUF_MAX_SIZE + 1ULL },
	/* On 32-bit these would be one page and 0 as a size_t. */
	{ "2^32 + 4096",	(1ULL << 32) + 4096 },
	{ "2^32",		1ULL << 32 },
	{ "U64_MAX",		U64_MAX },
	/* No flag is defined yet: every one is refused. */
	{ "flag bit 0",		PAGE_SIZE, 1ULL << 0 },
	{ "flag bit 63",	PAGE_SIZE, 1ULL << 63 },
};

static void mapbuf_resize_case_desc(const struct mapbuf_resize_case *c,
				    char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mapbuf_resize, mapbuf_resize_cases,
		  mapbuf_resize_case_desc);

/* A bad size or flag is refused with -EINVAL, the buffer kept as it was. */
static void mapbuf_resize_rejects_bad_arg(struct kunit *test)
{
	const struct mapbuf_resize_case *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *old = ctx->dev.buf;

	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, c->size, c->flags),
			-EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, old);
}

/* Mapped memory is never replaced: -EBUSY until the last VMA is gone. */
static void mapbuf_resize_busy_while_mapped(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *old = ctx->dev.buf;
	unsigned long addr;

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ, MAP_PRIVATE, 0);
	mapbuf_expect_mapped(test, addr);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), -EBUSY);
	KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, old);

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, ctx->dev.buf->nr_pages, 1);
}

/* A resize that fails half way: the old buffer stays, with its bytes. */
struct mapbuf_resize_failure {
	const char *desc;
	unsigned int budget;		/* pages the allocator hands out */
	unsigned int kill_after;	/* pages before a fatal signal, or 0 */
	int ret;
};

static const struct mapbuf_resize_failure mapbuf_resize_failures[] = {
	{ "out of memory", 2, 0, -ENOMEM },
	{ "fatal signal", 4, 1, -EINTR },
};

KUNIT_ARRAY_PARAM_DESC(mapbuf_resize_failure, mapbuf_resize_failures, desc);

static void mapbuf_resize_failure_keeps_buffer(struct kunit *test)
{
	const struct mapbuf_resize_failure *c = test->param_value;
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *old = ctx->dev.buf;
	struct mapbuf_fake_alloc *fake;
	int ret;

	strscpy(mapbuf_test_kaddr(old, 1), "old", 4);
	fake = mapbuf_fake_start(test, c->budget);
	if (c->kill_after)
		mapbuf_fake_kill_after(test, fake, c->kill_after);
	ret = mapbuf_dev_resize(&ctx->dev, 4 * PAGE_SIZE, 0);
	mapbuf_fake_expect_released(test, fake);
	/* Had it succeeded, the old buffer would be gone. */
	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, old);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(old, 1), "old");
}

/* A mapping made after a resize sees the new buffer, bounds included. */
static void mapbuf_resize_then_map(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	unsigned long addr;

	KUNIT_ASSERT_EQ(test, mapbuf_dev_resize(&ctx->dev, 2 * PAGE_SIZE, 0), 0);
	addr = mapbuf_map(test, ctx, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -ENXIO);

	addr = mapbuf_map(test, ctx, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, PAGE_SIZE);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "new", 4), 0);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(ctx->dev.buf, 1), "new");
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->dev.buf->nr_mappings), 1);
}

/* ---- dma-buf export ---- */

KUNIT_DEFINE_ACTION_WRAPPER(mapbuf_test_put_dmabuf, dma_buf_put,
			    struct dma_buf *);

struct mapbuf_sgt_case {
	const char *name;
	enum mapbuf_layout layout;
	unsigned int max_seg;
	unsigned int nents;
};

#define P	MAPBUF_PMD_PAGES
#define PMD_IN(seg)	(P * PAGE_SIZE / (seg))
static const struct mapbuf_sgt_case mapbuf_sgt_cases[] = {
	{ "one folio",		MAPBUF_ONE_PMD,	UINT_MAX,	1 },
	{ "one folio, 64 KiB entries",	MAPBUF_ONE_PMD,	SZ_64K,
	  PMD_IN(SZ_64K) },
	{ "one folio, 3.5 pages",	MAPBUF_ONE_PMD,	7 * PAGE_SIZE / 2,
	  DIV_ROUND_UP(P, 3) },
	{ "one folio, less than a page", MAPBUF_ONE_PMD, 1,	P },
	{ "short last folios",	MAPBUF_TWO_PMDS_AND_3,	UINT_MAX,	4 },
	{ "short last folios, 64 KiB entries",	MAPBUF_TWO_PMDS_AND_3,
	  SZ_64K,	2 * PMD_IN(SZ_64K) + 2 },
	{ "fragmented",		MAPBUF_FRAGMENTED,	UINT_MAX,	1 + P },
	{ "no PMD-order folio",	MAPBUF_NO_PMD,	UINT_MAX,	2 },
};

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
	struct scatterlist *sg;
	struct sg_table sgt;
	unsigned long pgoff = 0, n;
	struct page *page;
	int i;

	KUNIT_ASSERT_EQ(test, mapbuf_buf_sgt(buf, c->max_seg, &sgt), 0);
	KUNIT_EXPECT_EQ(test, sgt.orig_nents, c->nents);
	for_each_sgtable_sg(&sgt, sg, i) {
		page = mapbuf_buf_page(buf, pgoff);
		KUNIT_ASSERT_NOT_NULL_MSG(test, page, "entry %d past the end", i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, sg_page(sg), page, "entry %d", i);
		KUNIT_EXPECT_EQ(test, sg->offset, 0);
		KUNIT_EXPECT_TRUE_MSG(test, sg->length &&
				      PAGE_ALIGNED(sg->length) &&
				      sg->length <= max,
				      "entry %d: %u bytes", i, sg->length);
		for (n = 1; n < sg->length >> PAGE_SHIFT; n++)
			KUNIT_ASSERT_PTR_EQ_MSG(test,
						mapbuf_buf_page(buf, pgoff + n),
						folio_page(page_folio(page),
							   folio_page_idx(page_folio(page),
									  page) + n),
						"entry %d, page %lu", i, n);
		pgoff += sg->length >> PAGE_SHIFT;
	}
	KUNIT_EXPECT_EQ(test, pgoff, buf->nr_pages);
	sg_free_table(&sgt);
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

/*
 * Put the dma-buf now. A kthread's last fput() is deferred to a work
 * item: run it, so that release has run when this returns.
 */
static void mapbuf_test_release(struct kunit *test, struct dma_buf *dmabuf)
{
	kunit_release_action(test, mapbuf_test_put_dmabuf, dmabuf);
	flush_delayed_fput();
}

/*
 * A dma-buf holds the buffer and counts as an export until its release,
 * which gives both back: a release that dropped no reference, or one too
 * many, shows in the count.
 */
static void mapbuf_export_holds_buffer(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);

	KUNIT_EXPECT_EQ(test, dmabuf->size, MAPBUF_TEST_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_exports), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_mappings), 0);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), -EBUSY);
	KUNIT_EXPECT_PTR_EQ(test, ctx->dev.buf, buf);

	mapbuf_test_release(test, dmabuf);
	KUNIT_EXPECT_EQ(test, kref_read(&buf->ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&buf->nr_exports), 0);
	KUNIT_EXPECT_EQ(test, mapbuf_dev_resize(&ctx->dev, PAGE_SIZE, 0), 0);
}

/*
 * The dma-buf keeps the buffer alive after the device lets go of it: its
 * kernel mapping still reaches the buffer's pages.
 */
static void mapbuf_export_outlives_device(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct mapbuf_buf *buf = ctx->dev.buf;
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	struct iosys_map map;

	mapbuf_test_tag(buf);
	kunit_release_action(test, mapbuf_test_dev_exit, &ctx->dev);
	KUNIT_ASSERT_EQ(test, kref_read(&buf->ref), 1);
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
}

/*
 * The dma-buf's own mapping, made through the dma-buf core as for any
 * importer's user: shared, showing and changing the buffer's pages at the
 * offset asked for.
 */
static void mapbuf_export_mmap_shared(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_HUGE_TEST_PAGES);
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	unsigned long addr, len = (MAPBUF_HUGE_TEST_PAGES - 1) * PAGE_SIZE;
	unsigned long tag;

	mapbuf_test_tag(ctx->dev.buf);
	addr = kunit_vm_mmap(test, dmabuf->file, 0, len,
			     PROT_READ | PROT_WRITE, MAP_SHARED, PAGE_SIZE);
	mapbuf_expect_mapped(test, addr);
	KUNIT_ASSERT_EQ(test, copy_from_user(&tag, (void __user *)addr +
					     MAPBUF_PMD_PAGES * PAGE_SIZE,
					     sizeof(tag)), 0);
	KUNIT_EXPECT_EQ(test, tag, MAPBUF_PMD_PAGES + 1);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr + len - 8,
					   "new", 4), 0);
	KUNIT_EXPECT_STREQ(test, mapbuf_test_kaddr(ctx->dev.buf,
						   MAPBUF_HUGE_TEST_PAGES - 1) +
			   PAGE_SIZE - 8, "new");
	/* It is counted as an export, not as a mapping of the device. */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->dev.buf->nr_mappings), 0);
}

/* Private copies of a dma-buf make no sense to its importers: refused. */
static void mapbuf_export_mmap_refuses_private(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_TEST_PAGES);
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	unsigned long addr;

	addr = kunit_vm_mmap(test, dmabuf->file, 0, PAGE_SIZE, PROT_READ,
			     MAP_PRIVATE, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -EINVAL);
	addr = kunit_vm_mmap(test, dmabuf->file, 0, PAGE_SIZE,
			     PROT_READ | PROT_EXEC, MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -EPERM);
}

/*
 * What an importer does: attach a device, DMA-map the buffer for it, sync
 * for the CPU and back, unmap, detach. The device takes 64 KiB entries at
 * most (no dma_parms), so the buffer of two PMD folios and three pages
 * needs many: each one page-aligned, together the whole buffer.
 */
static void mapbuf_export_attach_map(struct kunit *test)
{
	struct mapbuf_map_ctx *ctx = mapbuf_map_ctx(test, MAPBUF_HUGE_TEST_PAGES);
	struct dma_buf *dmabuf = mapbuf_test_export(test, ctx);
	struct dma_buf_attachment *attach;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	size_t total = 0;
	int i;

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
	KUNIT_CASE_PARAM(mapbuf_alloc_rounds_size, mapbuf_size_gen_params),
	KUNIT_CASE(mapbuf_alloc_zeroed),
	KUNIT_CASE(mapbuf_alloc_rejects_bad_size),
	KUNIT_CASE(mapbuf_alloc_falls_back_to_pages),
	KUNIT_CASE(mapbuf_alloc_failure_unwinds),
	KUNIT_CASE(mapbuf_alloc_interrupted_unwinds),
	KUNIT_CASE(mapbuf_alloc_charges_memcg),
	KUNIT_CASE_PARAM(mapbuf_check_range_cases, mapbuf_range_gen_params),
	KUNIT_CASE(mapbuf_page_lookup),
	KUNIT_CASE(mapbuf_extents_in_order),
	KUNIT_CASE(mapbuf_folios_aligned),
	KUNIT_CASE_PARAM(mapbuf_pmd_folio_cases, mapbuf_pmd_gen_params),
	KUNIT_CASE(mapbuf_map_shared_store),
	KUNIT_CASE(mapbuf_map_shared_load),
	KUNIT_CASE(mapbuf_map_private_store),
	KUNIT_CASE(mapbuf_map_offset),
	KUNIT_CASE(mapbuf_map_huge_shared),
	KUNIT_CASE(mapbuf_map_huge_private),
	KUNIT_CASE_PARAM(mapbuf_map_refuses_geometry,
			 mapbuf_geometry_gen_params),
	KUNIT_CASE(mapbuf_map_refuses_exec),
	KUNIT_CASE(mapbuf_map_counts_vmas),
	KUNIT_CASE(mapbuf_info_reports),
	KUNIT_CASE(mapbuf_map_outlives_device),
	KUNIT_CASE(mapbuf_mapped_rechecks_range),
	KUNIT_CASE(mapbuf_mapped_takes_new_buffer),
	KUNIT_CASE(mapbuf_resize_replaces_buffer),
	KUNIT_CASE_PARAM(mapbuf_resize_rejects_bad_arg,
			 mapbuf_resize_gen_params),
	KUNIT_CASE(mapbuf_resize_busy_while_mapped),
	KUNIT_CASE_PARAM(mapbuf_resize_failure_keeps_buffer,
			 mapbuf_resize_failure_gen_params),
	KUNIT_CASE(mapbuf_resize_then_map),
	KUNIT_CASE_PARAM(mapbuf_sgt_cases_test, mapbuf_sgt_gen_params),
	KUNIT_CASE(mapbuf_export_holds_buffer),
	KUNIT_CASE(mapbuf_export_outlives_device),
	KUNIT_CASE(mapbuf_export_mmap_shared),
	KUNIT_CASE(mapbuf_export_mmap_refuses_private),
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
