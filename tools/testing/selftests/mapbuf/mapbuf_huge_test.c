// SPDX-License-Identifier: GPL-2.0-only
/*
 * Huge mappings of /dev/mapbuf0 (Documentation/userspace-api/mapbuf.rst,
 * "Huge mappings"), as one table: each row maps part of a buffer of two
 * PMD-sized folios and three pages more, faults it in and states how many
 * folios are then mapped with a PMD where MAPBUF_IOC_INFO reports
 * MAPBUF_INFO_PMD_MAPPINGS; elsewhere every row expects PTEs only. Rows
 * by rule: fault_*, private_*, thp_*, addr_* (the address a 64-bit
 * program gets), split_* (of a PMD-mapped range) and gup_*
 * (get_user_pages() users on a range mapped with PMDs or PTEs). Each page
 * holds its own byte offset in its first 8 bytes, so a page mapped at the
 * wrong offset shows. mapbuf.sh loads the module; mapbuf_test gives back
 * the size that each test here resizes /dev/mapbuf0 to.
 */
#define _GNU_SOURCE
/* 64-bit file offsets for 32-bit programs too. */
#define _FILE_OFFSET_BITS 64
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

#define RAMDISK		"/dev/ram0"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_PMD_SIZE	"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"

/* What a gup_* row moves: 64 KiB across the boundary of the folios. */
#define GUP_LEN		(64 * 1024)

static size_t pmd, size;
/* Whether the kernel has THP: without, it has no huge-page advice. */
static bool thp;
/* MAPBUF_INFO_PMD_MAPPINGS: without it, every row expects PTEs only. */
static bool huge_mappings;

/* A size or offset of so many PMDs and pages; pages may be negative. */
struct span { int pmds, pages; };

static size_t bytes(struct span s)
{
	return (long)s.pmds * pmd + (long)s.pages * page;
}

/*
 * Whether each of the nr pages at p shows the tag of the buffer page at
 * byte offset off onwards. It reads the last page first, so that the
 * first fault in a PMD range is not at its start: a huge fault that took
 * the folio at the faulting address and not at the range's start shows.
 */
static bool tags_seen(const unsigned char *p, uint64_t off, size_t nr)
{
	while (nr--)
		if (*(const uint64_t *)(p + nr * page) != off + nr * page)
			return false;
	return true;
}

/* The same for [p, p + len) but the page at index hole, if not 0. */
static bool kept(const unsigned char *p, uint64_t off, size_t len, int hole)
{
	size_t rest = hole ? (hole + 1) * page : len;

	return tags_seen(p, off, (hole ? hole * page : len) / page) &&
	       tags_seen(p + rest, off + rest, (len - rest) / page);
}

/* Whether len bytes at p are the buffer's bytes at off, as pread(2) sees. */
static bool buffer_has(int fd, off_t off, const void *p, size_t len)
{
	static unsigned char buf[GUP_LEN];

	return pread(fd, buf, len, off) == (ssize_t)len && !memcmp(buf, p, len);
}

/*
 * mmap(2) with MAP_FIXED at a multiple of the PMD size plus off plus
 * apart pages: a 32-bit program gets no aligned address from the kernel.
 */
static unsigned char *map_at(int fd, size_t len, int flags, off_t off,
			     int apart)
{
	unsigned char *area = reserve(len + 2 * pmd), *p;

	if (area == MAP_FAILED)
		return area;
	p = area + pmd - ADDR(area) % pmd + (off + apart * page) % pmd;
	return mmap(p, len, RW, flags | MAP_FIXED, fd, off);
}

/*
 * Over the /proc/self/smaps entries of the VMAs that start in
 * [p, p + len): the sum of field, in kB, or with flag, how many of them
 * have flag in field.
 */
static long smaps_sum(const void *p, size_t len, const char *field,
		      const char *flag)
{
	size_t n = strlen(field);
	unsigned long start, end;
	bool in = false;
	char line[256];
	long sum = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* Both ends: "FilePmdMapped" starts with a hex digit too. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start >= ADDR(p) && start < ADDR(p) + len;
		else if (in && !strncmp(line, field, n) && line[n] == ':')
			sum += flag ? !!strstr(line + n, flag) :
				      strtol(line + n + 1, NULL, 10);
	}
	fclose(f);
	return sum;
}

/* The PMD-mapped kB of [p, p + len), if this kernel maps n folios huge. */
#define ASSERT_PMDS(n, p, len) \
	ASSERT_EQ(huge_mappings ? (long)((n) * pmd / 1024) : 0L, \
		  smaps_sum(p, len, "FilePmdMapped", NULL))

static int thp_set(const char *mode)
{
	FILE *f = fopen(THP_ENABLED, "w");

	if (!f)
		return -1;
	fputs(mode, f);
	return fclose(f);
}

/*
 * MADV_NOHUGEPAGE on [p, p + len). A kernel without THP has no such
 * advice (madvise() fails) and maps PTEs without it: the row is then
 * that of a mapping without the advice, one VMA.
 */
static int no_hugepage(void *p, size_t len)
{
	return thp ? madvise(p, len, MADV_NOHUGEPAGE) : 0;
}

enum split { NO_SPLIT, MUNMAP_PAGE, MPROTECT_PAGE, NOHUGEPAGE, SHRINK, MOVE };
/* The page that a split unmaps, or 0. */
#define HOLE(how)	((how) == MUNMAP_PAGE ? 5 : 0)

/* A get_user_pages() user of a mapping. */
enum gup { NO_GUP, VMSPLICE, PROCESS_VM_WRITEV, ODIRECT };

/*
 * 0 when the user moved GUP_LEN bytes between the mapping at m and the
 * anonymous memory at buf (page-aligned, as O_DIRECT needs), which holds
 * the bytes of the mapping then.
 */
static int gup_move(enum gup gup, unsigned char *m, unsigned char *buf)
{
	struct iovec iov = { .iov_base = m, .iov_len = GUP_LEN };
	struct iovec local = { .iov_base = buf, .iov_len = GUP_LEN };
	int fds[2], disk, ret;

	switch (gup) {
	case VMSPLICE:
		return pipe(fds) ||
		       fcntl(fds[1], F_SETPIPE_SZ, GUP_LEN) != GUP_LEN ||
		       vmsplice(fds[1], &iov, 1, 0) != GUP_LEN ||
		       read(fds[0], buf, GUP_LEN) != GUP_LEN;
	case PROCESS_VM_WRITEV:
		return process_vm_writev(getpid(), &local, 1, &iov, 1, 0) !=
		       GUP_LEN;
	default:
		/* A ramdisk into the mapping, then from it back again. */
		disk = open(RAMDISK, O_RDWR | O_DIRECT);
		ret = disk < 0 || pwrite(disk, buf, GUP_LEN, 0) != GUP_LEN ||
		      pread(disk, m, GUP_LEN, 0) != GUP_LEN ||
		      pwrite(disk, m, GUP_LEN, GUP_LEN) != GUP_LEN ||
		      pread(disk, buf, GUP_LEN, GUP_LEN) != GUP_LEN;
		close(disk);
		return ret;
	}
}

FIXTURE(huge) {
	int fd;
	char thp_saved[16];
};

enum store { NO_STORE, STORE_FIRST, STORE_AFTER_READ };

FIXTURE_VARIANT(huge) {
	/* Offset and length; a length of 0 is to the buffer's end. */
	struct span off, len;
	/* Pages by which the address's PMD alignment differs from off's. */
	int apart;
	/* any_addr: leave the address to the kernel (64-bit programs only). */
	bool any_addr, private, nohugepage, thp_disable;
	/* The THP setting; NULL for "madvise", where only mapbuf's hg acts. */
	const char *thp;
	/* A store a page into the mapping's second PMD range. */
	enum store store;
	enum split split;
	/* VMAs after the split. */
	int vmas;
	enum gup gup;
	/* Folios mapped with a PMD at the end, where mapbuf maps huge. */
	int pmds;
};

FIXTURE_SETUP(huge)
{
	char line[64];
	off_t off;
	FILE *f;

	page = sysconf(_SC_PAGESIZE);
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", DEVICE, strerror(errno));
	huge_mappings = info_flags(self->fd) & MAPBUF_INFO_PMD_MAPPINGS;
	f = fopen(THP_PMD_SIZE, "r");
	thp = f;
	if (!thp) {
		/*
		 * A kernel without THP (Debian's PREEMPT_RT one, say) has
		 * no THP setting and maps nothing huge: every row expects
		 * PTEs. The folios are still of PMD size: a page of 8-byte
		 * entries, whatever this program's word size.
		 */
		ASSERT_FALSE(huge_mappings);
		pmd = page / 8 * page;
		self->thp_saved[0] = '\0';
	} else {
		ASSERT_EQ(1, fscanf(f, "%zu", &pmd));
		fclose(f);
		f = fopen(THP_ENABLED, "r");
		ASSERT_NE(0, ADDR(f));
		ASSERT_NE(0, ADDR(fgets(line, sizeof(line), f)));
		fclose(f);
		/* "always [madvise] never": the one in brackets. */
		ASSERT_TRUE(sscanf(strchrnul(line, '['), "[%15[^]]",
				   self->thp_saved) == 1);
		ASSERT_EQ(0, thp_set(variant->thp ? variant->thp : "madvise"));
	}
	size = 2 * pmd + 3 * page;
	ASSERT_EQ(0, resize(self->fd, size));
	for (off = 0; off < size; off += page)
		ASSERT_EQ(8, pwrite(self->fd, &off, 8, off));
}

FIXTURE_TEARDOWN(huge)
{
	if (self->thp_saved[0])
		thp_set(self->thp_saved);
	close(self->fd);
}

/* The whole buffer at a PMD-aligned address: both folios map huge. */
FIXTURE_VARIANT_ADD(huge, fault_whole_buffer) { .pmds = 2 };
FIXTURE_VARIANT_ADD(huge, fault_write) { .store = STORE_FIRST, .pmds = 2 };
/* The second folio and the smaller ones after it, which map with PTEs. */
FIXTURE_VARIANT_ADD(huge, fault_2nd_folio_to_end) {
	.off = { 1, 0 }, .pmds = 1
};

/* Offset a page into the first folio: the second lies whole inside. */
FIXTURE_VARIANT_ADD(huge, fault_offset_inside_folio) {
	.off = { 0, 1 }, .len = { 2, 0 }, .pmds = 1
};

/* The PMD range of the second folio starts before the VMA, or ends past. */
FIXTURE_VARIANT_ADD(huge, fault_range_crosses_vma_start) {
	.off = { 1, 1 }, .len = { 1, 0 }, .pmds = 0
};

FIXTURE_VARIANT_ADD(huge, fault_range_crosses_vma_end) {
	.len = { 2, -1 }, .pmds = 1
};

/* Address and offset apart modulo the PMD size: no range fits a folio. */
FIXTURE_VARIANT_ADD(huge, fault_address_apart) {
	.len = { 2, 0 }, .apart = 1, .pmds = 0
};

/* Read faults share the buffer's folios; a store copies one page. */
FIXTURE_VARIANT_ADD(huge, private_read) { .private = true, .pmds = 2 };
FIXTURE_VARIANT_ADD(huge, private_store_first) {
	.private = true, .store = STORE_FIRST, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, private_store_after_read) {
	.private = true, .store = STORE_AFTER_READ, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, thp_always) { .thp = "always", .pmds = 2 };
FIXTURE_VARIANT_ADD(huge, thp_never) { .thp = "never", .pmds = 0 };
FIXTURE_VARIANT_ADD(huge, thp_madv_nohugepage) { .nohugepage = true };
FIXTURE_VARIANT_ADD(huge, thp_prctl_disable) { .thp_disable = true };
#ifdef __LP64__
FIXTURE_VARIANT_ADD(huge, addr_offset_0) {
	.len = { 2, 0 }, .any_addr = true, .pmds = 2
};

FIXTURE_VARIANT_ADD(huge, addr_offset_inside_folio) {
	.off = { 1, -1 }, .len = { 1, 1 }, .any_addr = true, .pmds = 1
};
#endif

/* After a zap, each part maps huge where it holds a whole folio. */
FIXTURE_VARIANT_ADD(huge, split_munmap_page) {
	.split = MUNMAP_PAGE, .vmas = 2, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, split_mprotect_page) {
	.split = MPROTECT_PAGE, .vmas = 3, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, split_madv_nohugepage_2nd_folio) {
	.split = NOHUGEPAGE, .vmas = 2, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, split_mremap_shrink) {
	.split = SHRINK, .vmas = 1, .pmds = 1
};

FIXTURE_VARIANT_ADD(huge, split_mremap_move) {
	.split = MOVE, .vmas = 1, .pmds = 2
};

FIXTURE_VARIANT_ADD(huge, gup_vmsplice) { .gup = VMSPLICE, .pmds = 2 };
FIXTURE_VARIANT_ADD(huge, gup_vmsplice_ptes) {
	.gup = VMSPLICE, .nohugepage = true
};

FIXTURE_VARIANT_ADD(huge, gup_process_vm_writev) {
	.gup = PROCESS_VM_WRITEV, .pmds = 2
};

FIXTURE_VARIANT_ADD(huge, gup_process_vm_writev_ptes) {
	.gup = PROCESS_VM_WRITEV, .nohugepage = true
};

FIXTURE_VARIANT_ADD(huge, gup_odirect) { .gup = ODIRECT, .pmds = 2 };
FIXTURE_VARIANT_ADD(huge, gup_odirect_ptes) {
	.gup = ODIRECT, .nohugepage = true
};

/*
 * Split the PMD-mapped mapping p of the whole buffer: the bytes stay
 * where they were. Then zap it to fault it in again. Return where it is
 * now, and its length in len.
 */
static unsigned char *split(struct __test_metadata *_metadata,
			    unsigned char *p, enum split how, size_t *len)
{
	int hole = HOLE(how);
	size_t rest = hole ? (hole + 1) * page : size;

	ASSERT_PMDS(2, p, size);
	switch (how) {
	case MUNMAP_PAGE:
		ASSERT_EQ(0, munmap(p + hole * page, page));
		break;
	case MPROTECT_PAGE:
		ASSERT_EQ(0, mprotect(p + page, page, PROT_READ));
		break;
	case NOHUGEPAGE:
		ASSERT_EQ(0, no_hugepage(p + pmd, size - pmd));
		break;
	case SHRINK:
		*len = rest = pmd + page;
		p = mremap(p, size, *len, 0);
		break;
	default:
		p = mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED,
			   map_at(-1, size, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0));
	}
	ASSERT_MAPPED(p);
	ASSERT_TRUE(kept(p, 0, *len, hole));
	ASSERT_EQ(0, madvise(p, hole ? hole * page : *len, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p + rest, *len - rest, MADV_DONTNEED));
	ASSERT_PMDS(0, p, *len);
	return p;
}

TEST_F(huge, mapping)
{
	size_t off = bytes(variant->off), len = bytes(variant->len);
	int flags = variant->private ? MAP_PRIVATE : MAP_SHARED;
	size_t store = pmd + page + 8, gup = pmd - GUP_LEN / 2;
	unsigned char *p, *buf;
	int vmas;

	if (!len)
		len = size - off;
	if (variant->thp_disable)
		ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	if (variant->any_addr)
		p = mmap(NULL, len, RW, flags, self->fd, off);
	else
		p = map_at(self->fd, len, flags, off, variant->apart);
	ASSERT_MAPPED(p);
	if (variant->any_addr && huge_mappings)
		ASSERT_EQ(off % pmd, ADDR(p) % pmd);
	if (variant->nohugepage)
		ASSERT_EQ(0, no_hugepage(p, len));
	if (variant->store == STORE_FIRST)
		p[store] = 'x';
	ASSERT_TRUE(tags_seen(p, off, len / page));
	if (variant->store == STORE_AFTER_READ)
		p[store] = 'x';
	if (variant->split)
		p = split(_metadata, p, variant->split, &len);
	/* Pages not stored to show later changes of the buffer. */
	ASSERT_EQ(1, pwrite(self->fd, "y", 1, off + 8));
	ASSERT_EQ('y', p[8]);
	ASSERT_TRUE(kept(p, off, len, HOLE(variant->split)));
	if (variant->store) {
		ASSERT_EQ('x', p[store]);
		ASSERT_TRUE(buffer_has(self->fd, off + store,
				       variant->private ? "" : "x", 1));
		ASSERT_EQ(variant->private ? (long)page / 1024 : 0,
			  smaps_sum(p, len, "Anonymous", NULL));
	}
	ASSERT_PMDS(variant->pmds, p, len);
	/* mapbuf asks for huge mappings as MADV_HUGEPAGE does. */
	ASSERT_EQ(huge_mappings && !variant->nohugepage,
		  smaps_sum(p, 1, "VmFlags", " hg"));
	vmas = variant->split ? variant->vmas : 1;
	if (variant->split == NOHUGEPAGE && !thp)
		vmas = 1;
	ASSERT_EQ(vmas, nr_mappings(self->fd));
	if (variant->gup) {
		buf = map(-1, GUP_LEN, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0);
		ASSERT_MAPPED(buf);
		/* Bytes that no tag holds. */
		memset(buf, 0x5a, GUP_LEN);
		ASSERT_EQ(0, gup_move(variant->gup, p + gup, buf))
			TH_LOG("%s", strerror(errno));
		ASSERT_TRUE(buffer_has(self->fd, gup, buf, GUP_LEN));
	}
}

TEST_HARNESS_MAIN
