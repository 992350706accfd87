// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of huge mappings of /dev/mapbuf0 and of the get_user_pages() users
 * on its mappings, against Documentation/userspace-api/mapbuf.rst:
 *
 * - fixture "huge": a buffer of two PMD-sized folios and three pages more,
 *   mapped at PMD-aligned addresses: which ranges are mapped with one PMD
 *   (/proc/self/smaps FilePmdMapped, the fault count), and that partial
 *   munmap, mprotect, mremap, fork, MADV_DONTNEED, MAP_PRIVATE stores,
 *   MADV_NOHUGEPAGE and the THP setting "never" keep every byte and the
 *   nr_mappings count right;
 * - fixture "gup", on a range that is mapped with PMDs (variant huge) and
 *   one mapped with PTEs (variant ptes): vmsplice(2), process_vm_readv(2)
 *   and process_vm_writev(2), /proc/PID/mem, PTRACE_PEEKDATA, O_DIRECT
 *   I/O to a brd ramdisk, io_uring fixed buffers and shared futexes.
 *
 * Each page of the buffer holds its own byte offset in its first 8 bytes,
 * so a page mapped at the wrong offset shows. mapbuf.sh loads the module;
 * each test resizes /dev/mapbuf0, which mapbuf_test gives back its size.
 */
#define _GNU_SOURCE
/* 64-bit file offsets for 32-bit programs too. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/mapbuf.h>

#include "../kselftest_harness.h"
#include "mapbuf_util.h"

#define RAMDISK		"/dev/ram0"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_PMD_SIZE	"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"

/* What the get_user_pages() tests move: 64 KiB across a folio boundary. */
#define GUP_LEN		(64 * 1024)

static size_t pmd;
/*
 * Whether this kernel's mapbuf maps whole folios with one PMD and aligns
 * addresses for that (MAPBUF_INFO_PMD_MAPPINGS); if not, it maps every
 * page with a PTE, and the tests check that instead.
 */
static bool huge_mappings;

/* The PMD size as the kernel reports it, or 0 without THP. */
static size_t pmd_size(void)
{
	unsigned long size = 0;
	FILE *f = fopen(THP_PMD_SIZE, "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &size) != 1)
		size = 0;
	fclose(f);
	return size;
}

/* The tag of the page at byte offset off: the offset itself. */
static void tag_buffer(int fd, size_t size)
{
	uint64_t off;

	for (off = 0; off < size; off += page)
		if (pwrite(fd, &off, sizeof(off), off) != sizeof(off))
			abort();
}

/*
 * Whether each of the nr pages at p shows the tag of the buffer page at
 * byte offset off onwards; reading them faults them in.
 */
static bool tags_seen(const unsigned char *p, uint64_t off, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (*(const uint64_t *)(p + i * page) != off + i * page)
			return false;
	return true;
}

/* Whether len bytes at p are the buffer's bytes at off, as pread(2) sees. */
static bool buffer_has(int fd, off_t off, const void *p, size_t len)
{
	void *buf = malloc(len);
	bool same;

	if (!buf)
		return false;
	same = pread(fd, buf, len, off) == (ssize_t)len &&
	       !memcmp(buf, p, len);
	free(buf);
	return same;
}

/*
 * An inaccessible range of len bytes whose address is a multiple of the
 * PMD size plus align, for a mapping to replace with MAP_FIXED. It does
 * not rely on the kernel's choice of address, which a 32-bit program
 * does not get aligned.
 */
static unsigned char *reserve_aligned(size_t len, size_t align)
{
	size_t span = len + 2 * pmd;
	unsigned char *area, *p;

	area = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	p = (unsigned char *)((ADDR(area) + pmd - 1) / pmd * pmd + align);
	munmap(area, p - area);
	munmap(p + len, area + span - (p + len));
	return p;
}

/* mmap(2) at a reserve_aligned() address that keeps off's PMD alignment. */
static unsigned char *map_aligned(int fd, size_t len, int prot, int flags,
				  off_t off)
{
	unsigned char *p = reserve_aligned(len, off % pmd);

	if (p == MAP_FAILED)
		return p;
	return mmap(p, len, prot, flags | MAP_FIXED, fd, off);
}

/* A field of the /proc/self/smaps entry of the mapping at addr, in kB. */
static long smaps_kb(const void *addr, const char *field)
{
	size_t n = strlen(field);
	bool in = false;
	char line[256];
	unsigned long start, end;
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (kb < 0 && fgets(line, sizeof(line), f)) {
		/* Both ends: "FilePmdMapped" starts with a hex digit too. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start == ADDR(addr);
		else if (in && !strncmp(line, field, n) && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	}
	fclose(f);
	return kb;
}

static long pmd_mapped_kb(const void *addr)
{
	return smaps_kb(addr, "FilePmdMapped");
}

/* The program's own code, from the linker's symbols. */
extern char __executable_start[], etext[];

/*
 * Minor faults of this process so far. A test runs in a forked child,
 * which faults in again, on first use, every page of the program's code
 * (fork does not copy the page tables of a file mapping) and of its stack
 * (copy-on-write), so that which code and stack pages the measured code
 * happens to share with what ran before would add faults that come and
 * go with the build and with the stack's random start. It first maps all
 * of the code and writes to the 16 KiB of stack below it, which the code
 * measured between two calls uses.
 */
static long minor_faults(void)
{
	uintptr_t code = ADDR(__executable_start) & ~(uintptr_t)(page - 1);
	char stack[16384];
	struct rusage ru;

	if (madvise((void *)code, ADDR(etext) - code, MADV_POPULATE_READ))
		abort();
	memset(stack, 0, sizeof(stack));
	/* The stores must happen although nothing reads them. */
	asm volatile("" : : "r" (stack) : "memory");
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* The selected THP setting into mode, or "" if there is none. */
static void thp_get(char *mode, size_t len)
{
	char line[128], *start = NULL, *end = NULL;
	FILE *f = fopen(THP_ENABLED, "r");

	mode[0] = '\0';
	if (!f)
		return;
	/* "always [madvise] never": the one in brackets. */
	if (fgets(line, sizeof(line), f))
		start = strchr(line, '[');
	if (start)
		end = strchr(start, ']');
	if (end)
		snprintf(mode, len, "%.*s", (int)(end - start - 1), start + 1);
	fclose(f);
}

static int thp_set(const char *mode)
{
	int fd = open(THP_ENABLED, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, mode, strlen(mode));
	close(fd);
	return n == (ssize_t)strlen(mode) ? 0 : -1;
}

/*
 * The buffer of both fixtures: two PMD-sized folios, then three pages in
 * smaller ones, so its end is not a multiple of the PMD size.
 */
static int open_tagged(struct __test_metadata *_metadata, size_t *size)
{
	int fd;

	page = sysconf(_SC_PAGESIZE);
	pmd = pmd_size();
	/* THP is in the kselftest's config: without it, nothing maps huge. */
	ASSERT_NE(0, pmd) TH_LOG("no %s: the kernel lacks THP", THP_PMD_SIZE);
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", DEVICE, strerror(errno));
	huge_mappings = info_flags(fd) & MAPBUF_INFO_PMD_MAPPINGS;
	*size = 2 * pmd + 3 * page;
	ASSERT_EQ(0, resize(fd, *size));
	tag_buffer(fd, *size);
	return fd;
}

FIXTURE(huge) {
	int fd;
	size_t size;
	size_t nr_pages;
	char thp[16];
};

FIXTURE_SETUP(huge)
{
	self->fd = open_tagged(_metadata, &self->size);
	self->nr_pages = self->size / page;
	self->thp[0] = '\0';
}

FIXTURE_TEARDOWN(huge)
{
	if (self->thp[0])
		thp_set(self->thp);
	close(self->fd);
}

/* The PMD-mapped kB of the two folios, where the kernel maps huge. */
#define PMDS_KB(n)	(huge_mappings ? (long)((n) * pmd / 1024) : 0L)

/*
 * A shared mapping of the whole buffer at a PMD-aligned address: each
 * folio is mapped with one PMD in one fault, the three pages after them
 * with PTEs.
 */
TEST_F(huge, shared_pmd_mapped)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);
	long faults;

	ASSERT_MAPPED(p);
	faults = minor_faults();
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	faults = minor_faults() - faults;
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
	/* One fault per PMD and per PTE: no fault-around for device files. */
	ASSERT_EQ(huge_mappings ? 2 + 3 : (long)self->nr_pages, faults);
	p[pmd + 5 * page + 9] = 'x';
	ASSERT_TRUE(buffer_has(self->fd, pmd + 5 * page + 9, "x", 1));
	ASSERT_EQ(1, nr_mappings(self->fd));
}

/*
 * Read faults of a private mapping may map whole folios too; a store
 * copies one page, and the buffer keeps its bytes.
 */
TEST_F(huge, private_store_copies_one_page)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_PRIVATE,
				       0);
	unsigned char *q = p + pmd + page;

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
	memcpy(q + 8, "new", 4);
	ASSERT_EQ(0, memcmp(q + 8, "new", 4));
	ASSERT_TRUE(buffer_has(self->fd, pmd + page + 8, "\0\0\0\0", 4));
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ((long)page / 1024, smaps_kb(p, "Anonymous"));
	/* The folio with the copy is mapped with PTEs from now on. */
	ASSERT_EQ(PMDS_KB(1), pmd_mapped_kb(p));
}

/*
 * At an offset that is not a multiple of the PMD size, at an address that
 * follows it, the folio that lies whole inside the mapping is mapped with
 * a PMD, the part of the other one with PTEs.
 */
TEST_F(huge, offset_not_multiple_maps_inner_folio)
{
	unsigned char *p = map_aligned(self->fd, 2 * pmd, RW, MAP_SHARED, page);

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, page, 2 * pmd / page));
	ASSERT_EQ(PMDS_KB(1), pmd_mapped_kb(p));
}

/* An address whose PMD alignment differs from the offset's gets PTEs. */
TEST_F(huge, address_apart_maps_ptes)
{
	unsigned char *p = reserve_aligned(2 * pmd, page);

	ASSERT_MAPPED(p);
	p = mmap(p, 2 * pmd, RW, MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, 2 * pmd / page));
	ASSERT_EQ(0, pmd_mapped_kb(p));
}

/*
 * Unmapping a page splits the mapping: the folio around it falls back to
 * PTEs, the other one stays whole, and every byte stays where it was.
 */
TEST_F(huge, partial_munmap)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, munmap(p + 5 * page, page));
	ASSERT_EQ(2, nr_mappings(self->fd));
	ASSERT_TRUE(tags_seen(p, 0, 5));
	ASSERT_TRUE(tags_seen(p + 6 * page, 6 * page, self->nr_pages - 6));
	ASSERT_EQ(PMDS_KB(1), pmd_mapped_kb(p + 6 * page));
}

/* mprotect(2) of one page splits the mapping in three, bytes kept. */
TEST_F(huge, mprotect_part)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, mprotect(p + page, page, PROT_READ));
	ASSERT_EQ(3, nr_mappings(self->fd));
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(PMDS_KB(1), pmd_mapped_kb(p + 2 * page));
	p[pmd + 3] = 'm';
	ASSERT_TRUE(buffer_has(self->fd, pmd + 3, "m", 1));
}

/* mremap(2) moves the PMDs as they are to an aligned address. */
TEST_F(huge, mremap_move)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);
	unsigned char *to = reserve_aligned(self->size, 0);

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(to);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(ADDR(to), ADDR(mremap(p, self->size, self->size,
					MREMAP_MAYMOVE | MREMAP_FIXED, to)));
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(to));
	ASSERT_TRUE(tags_seen(to, 0, self->nr_pages));
	ASSERT_EQ(1, nr_mappings(self->fd));
}

/* A child sees and changes the buffer through its copy of a mapping. */
static int child_check_and_store(unsigned char *p, size_t nr, uint64_t at)
{
	if (!tags_seen(p, 0, nr))
		return 1;
	p[at] = 'c';
	return 0;
}

static void fork_store(struct __test_metadata *_metadata, int fd, int flags,
		       size_t size)
{
	unsigned char *p = map_aligned(fd, size, RW, flags, 0);
	int status;
	pid_t pid;

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, size / page));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_check_and_store(p, size / page, pmd + 16));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(flags == MAP_SHARED ? 'c' : 0, p[pmd + 16]);
	ASSERT_TRUE(buffer_has(fd, pmd + 16, flags == MAP_SHARED ? "c" : "",
			       1));
	ASSERT_EQ(1, nr_mappings(fd));
}

TEST_F(huge, fork_shared)
{
	fork_store(_metadata, self->fd, MAP_SHARED, self->size);
}

TEST_F(huge, fork_private)
{
	fork_store(_metadata, self->fd, MAP_PRIVATE, self->size);
}

/* MAP_POPULATE maps the folios whole up front: no fault later. */
TEST_F(huge, populate)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW,
				       MAP_SHARED | MAP_POPULATE, 0);
	long faults;

	ASSERT_MAPPED(p);
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
	faults = minor_faults();
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, minor_faults() - faults);
}

/*
 * mlock(2) of a huge mapping populates it, whole folios included, and
 * locks nothing (the mappings are VM_SPECIAL, as for every mapbuf
 * mapping); the buffer is freed cleanly after.
 */
TEST_F(huge, mlock)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);
	long faults;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, mlock(p, self->size));
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
	ASSERT_EQ(0, smaps_kb(p, "Locked"));
	faults = minor_faults();
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, minor_faults() - faults);
	ASSERT_EQ(0, munlock(p, self->size));
	ASSERT_EQ(0, munmap(p, self->size));
	ASSERT_EQ(0, resize(self->fd, page));
}

/* MADV_DONTNEED drops the PMDs; the next access maps them again. */
TEST_F(huge, madv_dontneed)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);

	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, madvise(p, self->size, MADV_DONTNEED));
	ASSERT_EQ(0, pmd_mapped_kb(p));
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
}

/* MADV_NOHUGEPAGE gives PTEs, one fault per page, the same bytes. */
TEST_F(huge, madv_nohugepage_maps_ptes)
{
	unsigned char *p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);
	long faults;

	ASSERT_MAPPED(p);
	ASSERT_EQ(0, madvise(p, self->size, MADV_NOHUGEPAGE));
	faults = minor_faults();
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_LE((long)self->nr_pages, minor_faults() - faults);
	ASSERT_EQ(0, pmd_mapped_kb(p));
}

/* So does the THP setting "never", for the whole system. */
TEST_F(huge, thp_never_maps_ptes)
{
	unsigned char *p;

	thp_get(self->thp, sizeof(self->thp));
	ASSERT_NE(0, self->thp[0]);
	ASSERT_EQ(0, thp_set("never"));
	p = map_aligned(self->fd, self->size, RW, MAP_SHARED, 0);
	ASSERT_MAPPED(p);
	ASSERT_TRUE(tags_seen(p, 0, self->nr_pages));
	ASSERT_EQ(0, pmd_mapped_kb(p));
}

#ifdef __LP64__
/*
 * A 64-bit program gets an address that is PMD-aligned where the offset
 * is (mapbuf's get_unmapped_area), where mapbuf maps huge; a 32-bit
 * program gets no such promise. Without huge mappings, PTEs map it all.
 */
TEST_F(huge, address_follows_offset)
{
	unsigned char *p = mmap(NULL, 2 * pmd, RW, MAP_SHARED, self->fd, 0);
	unsigned char *q = mmap(NULL, pmd + page, RW, MAP_SHARED, self->fd,
				pmd - page);

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(q);
	if (huge_mappings) {
		ASSERT_EQ(0, ADDR(p) % pmd);
		ASSERT_EQ(pmd - page, ADDR(q) % pmd);
	}
	ASSERT_TRUE(tags_seen(p, 0, 2 * pmd / page));
	ASSERT_TRUE(tags_seen(q, pmd - page, pmd / page + 1));
	ASSERT_EQ(PMDS_KB(2), pmd_mapped_kb(p));
}
#endif

/*
 * The get_user_pages() users, on a shared mapping of the whole buffer
 * whose folios are mapped with PMDs (huge) or PTEs (ptes).
 */
FIXTURE(gup) {
	int fd;
	size_t size;
	unsigned char *map;
	/* GUP_LEN bytes across the boundary of the two folios. */
	unsigned char *at;
	off_t off;
};

FIXTURE_VARIANT(gup) {
	bool huge;
};

FIXTURE_VARIANT_ADD(gup, huge) {
	.huge = true,
};

FIXTURE_VARIANT_ADD(gup, ptes) {
	.huge = false,
};

/* Map len bytes at offset 0, huge or not, and fault them all in. */
static unsigned char *gup_map(struct __test_metadata *_metadata, bool huge,
			      int fd, size_t len, int prot, int flags)
{
	unsigned char *p = map_aligned(fd, len, prot, flags, 0);

	ASSERT_MAPPED(p) TH_LOG("mmap: %s", strerror(errno));
	if (!huge)
		ASSERT_EQ(0, madvise(p, len, MADV_NOHUGEPAGE));
	ASSERT_TRUE(tags_seen(p, 0, len / page));
	ASSERT_EQ(huge ? PMDS_KB(2) : 0, pmd_mapped_kb(p));
	return p;
}

FIXTURE_SETUP(gup)
{
	self->fd = open_tagged(_metadata, &self->size);
	self->map = gup_map(_metadata, variant->huge, self->fd, self->size, RW,
			    MAP_SHARED);
	self->off = pmd - GUP_LEN / 2;
	self->at = self->map + self->off;
}

FIXTURE_TEARDOWN(gup)
{
	close(self->fd);
}

/* GUP_LEN bytes of anonymous memory, page-aligned as O_DIRECT needs. */
static unsigned char *gup_buffer(struct __test_metadata *_metadata)
{
	unsigned char *buf = mmap(NULL, GUP_LEN, RW,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(buf);
	return buf;
}

/* The same, holding a pattern that differs from every tag. */
static unsigned char *gup_pattern(struct __test_metadata *_metadata)
{
	unsigned char *buf = gup_buffer(_metadata);
	size_t i;

	for (i = 0; i < GUP_LEN; i++)
		buf[i] = i % 251 + 1;
	return buf;
}

/* vmsplice(2) takes the mapping's pages into a pipe. */
TEST_F(gup, vmsplice)
{
	struct iovec iov = { .iov_base = self->at, .iov_len = GUP_LEN };
	unsigned char *buf = gup_buffer(_metadata);
	int fds[2];

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(GUP_LEN, fcntl(fds[1], F_SETPIPE_SZ, GUP_LEN));
	ASSERT_EQ(GUP_LEN, vmsplice(fds[1], &iov, 1, 0));
	ASSERT_EQ(GUP_LEN, read(fds[0], buf, GUP_LEN));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
}

TEST_F(gup, process_vm_readv)
{
	unsigned char *buf = gup_buffer(_metadata);
	struct iovec local = { .iov_base = buf, .iov_len = GUP_LEN };
	struct iovec remote = { .iov_base = self->at, .iov_len = GUP_LEN };

	ASSERT_EQ(GUP_LEN,
		  process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
}

TEST_F(gup, process_vm_writev)
{
	unsigned char *buf = gup_pattern(_metadata);
	struct iovec local = { .iov_base = buf, .iov_len = GUP_LEN };
	struct iovec remote = { .iov_base = self->at, .iov_len = GUP_LEN };

	ASSERT_EQ(GUP_LEN,
		  process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
}

TEST_F(gup, proc_mem_read)
{
	unsigned char *buf = gup_buffer(_metadata);
	int mem = open("/proc/self/mem", O_RDONLY);

	ASSERT_LE(0, mem);
	ASSERT_EQ(GUP_LEN, pread(mem, buf, GUP_LEN, ADDR(self->at)));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
	close(mem);
}

/* A child of ours, traced by us and stopped, with copies of our mappings. */
static pid_t traced_child(struct __test_metadata *_metadata)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* /proc/PID/mem of a traced child, opened as a debugger does. */
static int child_mem(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	return open(path, O_RDWR);
}

/*
 * A debugger's write into a read-only private mapping of the process it
 * traces (FOLL_FORCE) makes private copies: the mapping shows the new
 * bytes, the buffer keeps its own.
 */
TEST_F(gup, proc_mem_write_private)
{
	unsigned char *p = gup_map(_metadata, variant->huge, self->fd,
				   self->size, PROT_READ, MAP_PRIVATE);
	unsigned char *buf = gup_pattern(_metadata), *seen = gup_buffer(_metadata);
	pid_t pid = traced_child(_metadata);
	int mem = child_mem(pid);

	ASSERT_LE(0, mem);
	ASSERT_EQ(GUP_LEN, pwrite(mem, buf, GUP_LEN, ADDR(p + self->off)))
		TH_LOG("write of /proc/%d/mem: %s", pid, strerror(errno));
	ASSERT_EQ(GUP_LEN, pread(mem, seen, GUP_LEN, ADDR(p + self->off)));
	ASSERT_EQ(0, memcmp(seen, buf, GUP_LEN));
	ASSERT_TRUE(tags_seen(self->at, self->off, GUP_LEN / page));
	ASSERT_TRUE(tags_seen(p, 0, self->size / page));
	close(mem);
	end_child(pid);
}

/* PTRACE_PEEKDATA reads a traced child's mapping. */
TEST_F(gup, ptrace_peekdata)
{
	uint64_t *tag = (uint64_t *)(self->map + pmd);
	pid_t pid = traced_child(_metadata);
	long word;

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, tag, NULL);
	ASSERT_EQ(0, errno);
	/* The tag's first word: its low half on a 32-bit little-endian. */
	ASSERT_EQ((long)*tag, word);
	end_child(pid);
}

/*
 * O_DIRECT I/O between the mapping and a ramdisk: the block layer reads
 * from and writes into the mapping's pages, and read(2) on the device
 * sees what the I/O wrote.
 */
TEST_F(gup, odirect)
{
	unsigned char *buf = gup_pattern(_metadata);
	int disk = open(RAMDISK, O_RDWR | O_DIRECT);

	ASSERT_LE(0, disk) TH_LOG("%s: %s", RAMDISK, strerror(errno));
	/* The mapping to the disk, and back into anonymous memory. */
	ASSERT_EQ(GUP_LEN, pwrite(disk, self->at, GUP_LEN, 0));
	ASSERT_EQ(GUP_LEN, pread(disk, buf, GUP_LEN, 0));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
	/* A pattern to the disk, and from there into the mapping. */
	buf[0] ^= 0xff;
	ASSERT_EQ(GUP_LEN, pwrite(disk, buf, GUP_LEN, GUP_LEN));
	ASSERT_EQ(GUP_LEN, pread(disk, self->at, GUP_LEN, GUP_LEN));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
	close(disk);
}

/* An io_uring with one entry, in the raw system call interface. */
struct ring {
	int fd;
	unsigned int *sq_tail, *sq_array, *cq_head, *cq_tail, cq_mask;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params params = {};
	size_t sq_len, cq_len;
	unsigned char *sq, *cq;

	r->fd = syscall(__NR_io_uring_setup, 1, &params);
	if (r->fd < 0)
		return -1;
	sq_len = params.sq_off.array + params.sq_entries * sizeof(unsigned int);
	cq_len = params.cq_off.cqes +
		 params.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, RW, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, RW, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_CQ_RING);
	r->sqe = mmap(NULL, sizeof(*r->sqe), RW, MAP_SHARED | MAP_POPULATE,
		      r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqe == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned int *)(sq + params.sq_off.tail);
	r->sq_array = (unsigned int *)(sq + params.sq_off.array);
	r->cq_head = (unsigned int *)(cq + params.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + params.cq_off.tail);
	r->cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
	r->cq_mask = *(unsigned int *)(cq + params.cq_off.ring_mask);
	return 0;
}

/* One READ_FIXED or WRITE_FIXED of buffer 0; its result. */
static int ring_rw_fixed(struct ring *r, int op, int fd, void *addr,
			 unsigned int len, __u64 off)
{
	int res;

	memset(r->sqe, 0, sizeof(*r->sqe));
	r->sqe->opcode = op;
	r->sqe->fd = fd;
	r->sqe->addr = ADDR(addr);
	r->sqe->len = len;
	r->sqe->off = off;
	r->sqe->buf_index = 0;
	/* One entry: the ring's mask is 0, every slot is slot 0. */
	r->sq_array[0] = 0;
	__atomic_store_n(r->sq_tail, *r->sq_tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) != 1)
		return -errno;
	if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) == *r->cq_head)
		return -EIO;
	res = r->cqes[*r->cq_head & r->cq_mask].res;
	__atomic_store_n(r->cq_head, *r->cq_head + 1, __ATOMIC_RELEASE);
	return res;
}

/*
 * The mapping registered as an io_uring fixed buffer (a long-term pin),
 * then written to a memfd and read back into it.
 */
TEST_F(gup, io_uring_fixed)
{
	struct iovec iov = { .iov_base = self->map, .iov_len = self->size };
	unsigned char *buf = gup_pattern(_metadata);
	int memfd = memfd_create("mapbuf", 0);
	struct ring r;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ring_init(&r)) TH_LOG("io_uring: %s", strerror(errno));
	ASSERT_EQ(0, syscall(__NR_io_uring_register, r.fd,
			     IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	ASSERT_EQ(GUP_LEN, ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, memfd,
					 self->at, GUP_LEN, 0));
	ASSERT_TRUE(tags_seen(self->at, self->off, GUP_LEN / page));
	ASSERT_EQ(GUP_LEN, pread(memfd, buf, GUP_LEN, 0));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
	/* Now a pattern, from the memfd into the buffer. */
	memset(buf, 0x5a, GUP_LEN);
	ASSERT_EQ(GUP_LEN, pwrite(memfd, buf, GUP_LEN, GUP_LEN));
	ASSERT_EQ(GUP_LEN, ring_rw_fixed(&r, IORING_OP_READ_FIXED, memfd,
					 self->at, GUP_LEN, GUP_LEN));
	ASSERT_TRUE(buffer_has(self->fd, self->off, buf, GUP_LEN));
	close(r.fd);
	close(memfd);
}

/*
 * A process-shared futex needs a page-cache or anonymous page for its
 * key, and the buffer is neither: FUTEX_WAIT fails with EFAULT. A private
 * futex (FUTEX_PRIVATE_FLAG) works: here it finds another value than it
 * was told to wait for and returns EAGAIN at once.
 */
TEST_F(gup, futex)
{
	uint32_t *word = (uint32_t *)(self->map + pmd);
	uint32_t other = *word + 1;

	ASSERT_EQ(-1, syscall(__NR_futex, word, FUTEX_WAIT, other, NULL,
			      NULL, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, syscall(__NR_futex, word, FUTEX_WAIT_PRIVATE, other,
			      NULL, NULL, 0));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_HARNESS_MAIN
