// SPDX-License-Identifier: GPL-2.0
/*
 * Description: coherent userptrs over transparent huge pages.  The
 * userptr core keeps a PMD-mapped huge page as one entry with one DMA
 * mapping, and drops all of it when the CPU changes any part of it: the
 * kernel invalidates the whole huge page when it splits it, so exactly
 * that huge page leaves the cache, its neighbours stay, and once the
 * CPU maps it with small pages each later change drops exactly its own
 * pages.  Each test checks the data on both sides (the user memory, a
 * mapped device BO) and the BO_INFO counters: pages resident, faulted
 * again, invalidations.  The huge fixture adds hugetlb pages (MAP_HUGETLB,
 * a MFD_HUGETLB memfd, from a pool the test grows and puts back),
 * read-only runs made writable after fork, the shrinker dropping written
 * huge pages, and device writes into MADV_FREE'd huge pages, which need
 * swap (vm/run --zram).  A kernel without THP (PREEMPT_RT) skips the THP
 * tests and runs the hugetlb ones; one that cannot reserve two hugetlb
 * pages skips those.
 * GPL-2.0: it builds on the kernel's kselftest_harness.h.
 */
#include "uptr_harness.h"

#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define HPAGE		(2 * UT_MIB)

/* @size bytes of 2 MiB-aligned anonymous memory, one more huge page mapped before and after. */
static unsigned char *thp_map(struct __test_metadata *_metadata, size_t size)
{
	unsigned char *raw, *p;

	raw = mmap(NULL, size + 3 * HPAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (unsigned char *)(((uintptr_t)raw + 2 * HPAGE - 1) & ~(HPAGE - 1));
	if (madvise(p, size, MADV_HUGEPAGE)) {
		TH_LOG("madvise(MADV_HUGEPAGE): %s", strerror(errno));
		return NULL;
	}
	return p;
}

/* THP-backed memory written with pattern @seed; fails the test unless THP backs all of it. */
static unsigned char *thp_region(struct __test_metadata *_metadata, size_t size, __u32 seed)
{
	unsigned char *p = thp_map(_metadata, size);
	long kb;

	if (!p)
		return NULL;
	ut_pattern(p, size, seed);
	kb = ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size);
	if (kb != (long)(size / 1024)) {
		TH_LOG("THP backs %ld kB of a %zu kB MADV_HUGEPAGE range", kb, size / 1024);
		return NULL;
	}
	return p;
}

#define INFO(h, i) ASSERT_EQ(0, ut_bo_info(self->fd, (h), &(i)))

/*
 * The start of most THP tests: @size bytes of THP written with pattern
 * @seed at p (a copy in ref), a coherent userptr u of all of it, and a
 * one-page device BO d mapped at map.
 */
#define THP_USERPTR(seed) do {						\
	UT_NEED_THP();							\
	ASSERT_NE(NULL, ref);						\
	p = thp_region(_metadata, size, (seed));			\
	ASSERT_NE(NULL, p);						\
	memcpy(ref, p, size);						\
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));		\
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map)); \
} while (0)

static void log_info(struct __test_metadata *_metadata, const char *when,
		     const struct drm_uptr_bo_info *i)
{
	TH_LOG("%s: jobs %llu, pages_faulted %llu, pages_resident %llu, sg_segments %llu, invalidations %llu",
	       when, (unsigned long long)i->jobs, (unsigned long long)i->pages_faulted,
	       (unsigned long long)i->pages_resident, (unsigned long long)i->sg_segments,
	       (unsigned long long)i->invalidations);
}

/* A job reads and writes huge pages right, and the cache holds them as a few runs. */
TEST_F(uptr, thp_job_data_and_stats)
{
	size_t size = 4 * HPAGE, n = size / self->page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i;
	__u32 u, d;

	THP_USERPTR(501);

	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	INFO(u, i);
	EXPECT_EQ(n, i.pages_faulted);
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_LE(1ull, i.sg_segments);
	EXPECT_GE(size / HPAGE, i.sg_segments);

	/* Reads that cross huge pages and end inside them. */
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, HPAGE - 12, HPAGE + 100));
	EXPECT_EQ(ut_fnv1a(ref + HPAGE - 12, HPAGE + 100), *(__u64 *)map);

	/* Device writes land in the huge pages, around bytes left alone. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 4, size - 8, 0x6b6c6d6e));
	EXPECT_EQ(-1, ut_find_diff(p, ref, 4));
	EXPECT_EQ(-1, ut_find_not_dword(p + 4, size - 8, 0x6b6c6d6e));
	EXPECT_EQ(-1, ut_find_diff(p + size - 4, ref + size - 4, 4));
	ASSERT_EQ(0, ut_store(self->fd, u, 3 * HPAGE + 40, 0x01020304));
	EXPECT_EQ(0x01020304u, *(__u32 *)(p + 3 * HPAGE + 40));
	EXPECT_EQ((long)(size / 1024), ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));
	INFO(u, i);
	EXPECT_EQ(n, i.pages_faulted) {
		TH_LOG("pages faulted again without a change of the mapping");
	}
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_EQ(0ull, i.invalidations);

	/* Destroying it with every page resident gives everything back. */
	ASSERT_EQ(0, ut_gem_close(self->fd, u));
	ASSERT_EQ(0, ut_gem_close(self->fd, d));
	free(ref);
}

/*
 * MADV_DONTNEED of one 4 KiB page inside a huge page: the kernel splits
 * it and invalidates all of it, the other huge pages stay resident; the
 * next job faults that huge page's pages again, and reads zeros where
 * the page was.  Once the CPU maps small pages there, a DONTNEED of
 * one of them drops exactly that page, and the next job faults it alone.
 */
TEST_F(uptr, thp_dontneed_one_page)
{
	size_t size = 2 * HPAGE, n = size / self->page, h = HPAGE / self->page;
	size_t hole = 5 * self->page, hole2 = 9 * self->page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1, i2;
	__u32 u, d;

	THP_USERPTR(502);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	/* No khugepaged collapse of the first huge page once it is split. */
	ASSERT_EQ(0, madvise(p, HPAGE, MADV_NOHUGEPAGE));
	INFO(u, i0);
	ASSERT_EQ(n, i0.pages_resident);

	ASSERT_EQ(0, madvise(p + hole, self->page, MADV_DONTNEED));
	memset(ref + hole, 0, self->page);
	INFO(u, i1);
	log_info(_metadata, "after DONTNEED in a huge page", &i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(n - h, i1.pages_resident) {
		TH_LOG("the split of one huge page dropped %llu pages, not the %zu of that huge page",
		       (unsigned long long)(n - i1.pages_resident), h);
	}

	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	INFO(u, i2);
	EXPECT_EQ(i1.pages_faulted + h, i2.pages_faulted);
	EXPECT_EQ(n, i2.pages_resident);
	EXPECT_EQ(0, ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + HPAGE));

	/* Small pages now: one page goes, one page comes back. */
	ASSERT_EQ(0, madvise(p + hole2, self->page, MADV_DONTNEED));
	memset(ref + hole2, 0, self->page);
	INFO(u, i1);
	EXPECT_EQ(n - 1, i1.pages_resident);
	ASSERT_EQ(0, ut_fill(self->fd, u, hole2 - 8, 16, 0x5e5e5e5e));
	memset(ref + hole2 - 8, 0x5e, 16);
	INFO(u, i2);
	EXPECT_EQ(i1.pages_faulted + 1, i2.pages_faulted);
	EXPECT_EQ(n, i2.pages_resident);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));

	/* The device writes where the page was, and the CPU sees it. */
	ASSERT_EQ(0, ut_store(self->fd, u, hole + 12, 0xa1b2c3d4));
	EXPECT_EQ(0xa1b2c3d4u, *(__u32 *)(p + hole + 12));
	*(__u32 *)(ref + hole + 12) = 0xa1b2c3d4;
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	free(ref);
}

/* munmap of half a huge page: that huge page leaves the cache, the hole fails, the rest works. */
TEST_F(uptr, thp_munmap_half)
{
	size_t size = 2 * HPAGE, n = size / self->page, h = HPAGE / self->page;
	size_t half = HPAGE / 2;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1, i2;
	__u32 u, d;

	THP_USERPTR(503);
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x3c3c3c3c));
	memset(ref, 0x3c, size);
	INFO(u, i0);
	ASSERT_EQ(n, i0.pages_resident);

	ASSERT_EQ(0, munmap(p + half, half));
	INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(n - h, i1.pages_resident);

	/* The hole fails, and nothing of the job runs. */
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, d, 0, u, half, self->page));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, size, 0x11111111));
	EXPECT_EQ(-1, ut_find_diff(p, ref, half));
	EXPECT_EQ(-1, ut_find_diff(p + HPAGE, ref + HPAGE, HPAGE));

	/* The device wrote the first half before it was split: still there. */
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, half));
	EXPECT_EQ(ut_fnv1a(ref, half), *(__u64 *)map);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, HPAGE, HPAGE));
	EXPECT_EQ(ut_fnv1a(ref + HPAGE, HPAGE), *(__u64 *)map);
	INFO(u, i2);
	EXPECT_EQ(i1.pages_faulted + h / 2, i2.pages_faulted);
	EXPECT_EQ(n - h / 2, i2.pages_resident);
	free(ref);
}

/*
 * A userptr that starts one page into a huge page: the cache keeps the
 * huge pages as runs inside its chunks; data stays right, and a split
 * drops exactly the pages of that huge page the userptr covers.
 */
TEST_F(uptr, thp_unaligned_userptr)
{
	size_t size = 3 * HPAGE, page = self->page, h = HPAGE / page;
	size_t len = size - 2 * page, n = len / page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	__u32 u, d;

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 504);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p + page, len, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, page, &d, (void **)&map));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(ut_fnv1a(ref + page, len), *(__u64 *)map);
	/* No khugepaged collapse of what the CPU splits below. */
	ASSERT_EQ(0, madvise(p, size, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, ut_fill(self->fd, u, HPAGE - 64, HPAGE + 128, 0x47474747));
	memset(ref + page + HPAGE - 64, 0x47, HPAGE + 128);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	INFO(u, i0);
	EXPECT_EQ(n, i0.pages_faulted);
	EXPECT_EQ(n, i0.pages_resident);
	EXPECT_GE(3ull, i0.sg_segments);

	/* The middle huge page: all of it inside the userptr. */
	ASSERT_EQ(0, madvise(p + HPAGE + 7 * page, page, MADV_DONTNEED));
	memset(ref + HPAGE + 7 * page, 0, page);
	INFO(u, i1);
	EXPECT_EQ(n - h, i1.pages_resident);
	/* The last one: the userptr has all of it but one page. */
	ASSERT_EQ(0, madvise(p + 2 * HPAGE + 3 * page, page, MADV_DONTNEED));
	memset(ref + 2 * HPAGE + 3 * page, 0, page);
	INFO(u, i1);
	EXPECT_EQ(n - h - (h - 1), i1.pages_resident);

	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(ut_fnv1a(ref + page, len), *(__u64 *)map);
	INFO(u, i1);
	EXPECT_EQ(i0.pages_faulted + h + h - 1, i1.pages_faulted);
	EXPECT_EQ(n, i1.pages_resident);
	free(ref);
}

/*
 * After fork, the huge page is shared copy-on-write: the device reads it
 * read-only.  Once the child is gone, a device write makes the CPU reuse
 * the page writable, without a new copy (and, on 6.1, without an
 * invalidation): the cached huge page becomes writable and the write
 * lands in the parent's memory.
 */
TEST_F(uptr, thp_write_after_fork)
{
	size_t size = HPAGE, n = size / self->page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	__u64 pfn0;
	pid_t pid;
	__u32 u, d;

	THP_USERPTR(505);
	pfn0 = ut_pagemap(p) & UT_PM_PFN_MASK;
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(p[100] == ref[100] ? 0 : 1);
	ASSERT_EQ(0, ut_wait_child(pid));

	/* Read-only now: a read faults it in as it is. */
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	INFO(u, i0);
	EXPECT_EQ(n, i0.pages_resident);

	ASSERT_EQ(0, ut_fill(self->fd, u, 8, size - 16, 0x29292929));
	memset(ref + 8, 0x29, size - 16);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	INFO(u, i1);
	log_info(_metadata, "after the write", &i1);
	EXPECT_EQ(n, i1.pages_resident);
	if (pfn0 && pfn0 == (ut_pagemap(p) & ((1ull << 55) - 1)))
		TH_LOG("the CPU reused the huge page: %llu invalidations for the write",
		       (unsigned long long)(i1.invalidations - i0.invalidations));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	free(ref);
}

/*
 * Device writes to huge pages survive MADV_PAGEOUT (to swap, when the
 * guest has some; else the pages stay): the CPU reads what the device
 * wrote, and so does the next job.
 */
TEST_F(uptr, thp_pageout_keeps_device_writes)
{
	size_t size = 2 * HPAGE;
	unsigned char *p, *map = NULL;
	struct drm_uptr_bo_info i0, i1;
	__u32 u, d;

	UT_NEED_THP();
	p = thp_region(_metadata, size, 506);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x71727374));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	INFO(u, i0);
	log_info(_metadata, "before MADV_PAGEOUT", &i0);

	ASSERT_EQ(0, madvise(p, size, MADV_PAGEOUT) ? -errno : 0);
	INFO(u, i1);
	log_info(_metadata, "after MADV_PAGEOUT", &i1);
	TH_LOG("%zu of %zu pages swapped out", ut_count_pagemap(p, size / self->page,
							       self->page, 1ull << 62),
	       size / self->page);
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0x71727374));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(p, size), *(__u64 *)map);
}

/* ---- hugetlb pages, read-only blocks, the shrinker, MADV_FREE ---- */

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/*
 * FIXTURE(uptr)'s device fd, plus what the tests below change in the
 * system, put back at teardown (which runs after a failed ASSERT too):
 * automatic NUMA balancing, off so that nothing but the test changes the
 * mappings (and the counters), and the hugetlb pool size.
 */
FIXTURE(huge) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page, the CPU's page size */
	char numa_balancing[32];	/* saved value, "" if untouched */
	long nr_hugepages;	/* saved value of NR_HUGEPAGES, -1 if untouched */
};

FIXTURE_SETUP(huge)
{
	self->nr_hugepages = -1;
	ut_coherent_setup(_metadata, &self->base);
	self->fd = self->base.fd;
	self->page = self->base.page;
	ASSERT_EQ(0, ut_numa_balancing_off(self->numa_balancing,
					   sizeof(self->numa_balancing)));
}

FIXTURE_TEARDOWN(huge)
{
	char v[32];

	if (self->nr_hugepages >= 0) {
		snprintf(v, sizeof(v), "%ld", self->nr_hugepages);
		ut_write_str(NR_HUGEPAGES, v);
	}
	ut_numa_balancing_restore(self->numa_balancing);
	uptr_teardown(_metadata, &self->base, NULL);
}

/*
 * Grows the hugetlb pool by @n pages of 2 MiB (the pool size is put back
 * at teardown).  Return: the free pages of the pool after that, -1 when
 * the kernel has no hugetlb pages of 2 MiB at all.
 */
static long hugetlb_reserve(FIXTURE_DATA(huge) *self, long n)
{
	long have = ut_read_long(NR_HUGEPAGES);
	char v[32];

	if (have < 0 || ut_proc_kb("/proc/meminfo", "Hugepagesize") != (long)(HPAGE / 1024))
		return -1;
	if (self->nr_hugepages < 0)
		self->nr_hugepages = have;
	snprintf(v, sizeof(v), "%ld", have + n);
	if (ut_write_str(NR_HUGEPAGES, v))
		return -1;
	return ut_proc_kb("/proc/meminfo", "HugePages_Free");
}

/* Skips the test, saying why, unless @n hugetlb pages of 2 MiB can be had. */
#define NEED_HUGETLB(n) do {							\
	long __free = hugetlb_reserve(self, (n));				\
										\
	if (__free < (long)(n))							\
		SKIP(return, "cannot reserve %ld hugetlb pages of 2 MiB (%ld free after growing %s)", \
		     (long)(n), __free, NR_HUGEPAGES);				\
} while (0)

/*
 * @n private anonymous hugetlb pages (MAP_HUGETLB) side by side, each
 * its own mapping (its own VMA, never merged: each has a file of its
 * own), so that the test unmaps one without splitting a hugetlb VMA
 * (which makes 6.1.192's hugetlb_split() warn under lockdep: it asserts
 * the file's i_mmap lock, which __vma_adjust() takes only later).
 * Return: the first, 2 MiB-aligned; NULL on failure (errno set).
 */
static unsigned char *hugetlb_map(size_t n)
{
	unsigned char *raw, *p;
	size_t k;

	raw = mmap(NULL, (n + 1) * HPAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (unsigned char *)(((uintptr_t)raw + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1));
	for (k = 0; k < n; k++)
		if (mmap(p + k * HPAGE, HPAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			return NULL;
	return p;
}

/* What a device fill of @len bytes at @off with dword @v leaves in @ref. */
static void ref_fill(unsigned char *ref, size_t off, size_t len, __u32 v)
{
	size_t k;

	for (k = 0; k + 4 <= len; k += 4)
		memcpy(ref + off + k, &v, 4);
}

/* EXPECTs BO_INFO @i to say pages_faulted @f, pages_resident @r, invalidations @inv. */
#define EXPECT_COUNTS(i, f, r, inv) do {					\
	EXPECT_EQ((__u64)(f), (i).pages_faulted);				\
	EXPECT_EQ((__u64)(r), (i).pages_resident);				\
	EXPECT_EQ((__u64)(inv), (i).invalidations);				\
} while (0)

/*
 * Private anonymous hugetlb pages (MAP_HUGETLB, 2 MiB, two mappings side
 * by side) under a coherent userptr: the fault path sees each as one huge mapping and caches it as
 * one run.  A job reads them and one writes them, byte for byte right,
 * every page resident, no page faulted twice; munmap of one huge page
 * invalidates it alone, a job there fails, the other still works from
 * the cache; munmap of the other leaves nothing resident.  Catches: a
 * hugetlb page taken apart or stored with the wrong pages (data, or more
 * segments than huge pages), an unmapped hugetlb page kept in the cache
 * (resident, or a job that still reaches it), writes that miss the pages
 * the CPU maps.  Runs where the kernel has no THP (PREEMPT_RT) too.
 */
TEST_F(huge, hugetlb_job_data_and_munmap)
{
	size_t size = 2 * HPAGE, page = self->page, n = size / page, h = HPAGE / page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1, i2;
	__u32 u, d;

	NEED_HUGETLB(2);
	ASSERT_NE(NULL, ref);
	p = hugetlb_map(2);
	ASSERT_NE(NULL, p) {
		TH_LOG("mmap(MAP_HUGETLB) of 2 reserved pages: %s", strerror(errno));
	}
	ut_pattern(p, size, 601);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);

	/* A job reads it all: one run per huge page. */
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	INFO(u, i0);
	log_info(_metadata, "after a read", &i0);
	EXPECT_COUNTS(i0, n, n, 0);
	EXPECT_LE(1ull, i0.sg_segments);
	EXPECT_GE(size / HPAGE, i0.sg_segments);

	/* A job writes across the two pages, around bytes left alone, and a store. */
	ASSERT_EQ(0, ut_fill(self->fd, u, HPAGE - 3 * page - 4, 5 * page, 0x5a6b7c8d));
	ref_fill(ref, HPAGE - 3 * page - 4, 5 * page, 0x5a6b7c8d);
	ASSERT_EQ(0, ut_store(self->fd, u, size - 4, 0xcafef00d));
	ref_fill(ref, size - 4, 4, 0xcafef00d);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("the CPU reads other bytes than the device wrote, first at %ld",
		       ut_find_diff(p, ref, size));
	}
	/* ...and the device reads back what it wrote and the CPU wrote since. */
	memset(p + 7, 0xee, 9);
	memset(ref + 7, 0xee, 9);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	INFO(u, i1);
	EXPECT_COUNTS(i1, n, n, 0);

	/* munmap of the second huge page: it alone leaves the cache. */
	ASSERT_EQ(0, munmap(p + HPAGE, HPAGE));
	INFO(u, i1);
	log_info(_metadata, "after munmap of one huge page", &i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(n - h, i1.pages_resident);
	EXPECT_EQ(n, i1.pages_faulted);
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, d, 0, u, HPAGE, page));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, size - 4, 0x1));
	memset(map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, HPAGE));
	EXPECT_EQ(-1, ut_find_diff(map, ref, HPAGE));
	INFO(u, i2);
	EXPECT_EQ(n, i2.pages_faulted) {
		TH_LOG("the huge page still mapped was faulted again");
	}

	/* munmap of the first: nothing left. */
	ASSERT_EQ(0, munmap(p, HPAGE));
	INFO(u, i2);
	EXPECT_LT(i1.invalidations, i2.invalidations);
	EXPECT_EQ(0ull, i2.pages_resident);
	EXPECT_EQ(0ull, i2.sg_segments);
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, d, 0, u, 0, page));
	free(ref);
}

/*
 * A shared hugetlb page (a MFD_HUGETLB memfd) mapped twice, the userptr
 * over one mapping: the CPU only reads it (clean), the device writes it,
 * the CPU reads the device's bytes through the other mapping, and the
 * device reads what the CPU wrote; after munmap of the userptr's mapping
 * (the page was marked dirty at the device's first write, the cache
 * drops it) the file still holds the device's bytes.  Catches: a device write that does not reach the
 * page the file holds, a page kept in the cache after munmap.
 */
TEST_F(huge, hugetlb_shared_device_write_cpu_read)
{
	size_t size = HPAGE, page = self->page, n = size / page;
	unsigned char *p, *q, *map = NULL, *ref = malloc(size), *buf = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	volatile unsigned char sum = 0;
	size_t k;
	__u32 u, d;
	int mfd;

	NEED_HUGETLB(1);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	mfd = memfd_create("uptr-thp-hugetlb", MFD_CLOEXEC | MFD_HUGETLB);
	ASSERT_LE(0, mfd) {
		TH_LOG("memfd_create(MFD_HUGETLB): %s", strerror(errno));
	}
	ASSERT_EQ(0, ftruncate(mfd, size));
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	q = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	for (k = 0; k < size; k += page)
		sum += p[k];
	EXPECT_EQ(0, sum);
	memset(ref, 0, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);

	ut_pattern(map, size, 602);
	memcpy(ref + page, map + page, size - 2 * page);
	ASSERT_EQ(0, ut_copy(self->fd, u, page, d, page, size - 2 * page));
	EXPECT_EQ(-1, ut_find_diff(q, ref, size)) {
		TH_LOG("the other mapping reads other bytes than the device wrote, first at %ld",
		       ut_find_diff(q, ref, size));
	}
	INFO(u, i0);
	log_info(_metadata, "after the write", &i0);
	EXPECT_COUNTS(i0, n - 2, n - 2, 0);
	EXPECT_EQ(1ull, i0.sg_segments);

	/* The CPU writes through the other mapping; the device reads it all. */
	memset(q + size - 100, 0x42, 100);
	memset(ref + size - 100, 0x42, 100);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));

	ASSERT_EQ(0, munmap(p, size));
	INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, size));
	EXPECT_EQ(-1, ut_find_diff(q, ref, size));
	munmap(q, size);
	close(mfd);
	free(ref);
	free(buf);
}

/*
 * A child forked with the THP mapped, alive until the parent closes
 * @wfd's pipe (it blocks reading the other end), then exits 0 if its own
 * copy of [@p, @p + @size) still equals @ref (what both had at fork),
 * 3 if not.  Return: the child's pid, in the parent; -1 on error.
 */
static pid_t fork_cow_child(const unsigned char *p, const unsigned char *ref, size_t size,
			    int *wfd)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (!pid) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 0)
			_exit(2);
		_exit(memcmp(p, ref, size) ? 3 : 0);
	}
	close(fds[0]);
	*wfd = fds[1];
	return pid;
}

/* What the two tests of read-only runs after fork share. */
struct ro_runs {
	size_t size, len, n;	/* two huge pages; the userptr: all but a page each end */
	unsigned char *p, *ref, *map;
	__u32 u, d;
	pid_t pid;		/* the child sharing the huge pages */
	int wfd;		/* its pipe: closing it lets the child check and exit */
	struct drm_uptr_bo_info i0;	/* after the device read them */
};

/*
 * Two huge pages with a pattern (@seed), a coherent userptr of all but
 * their first and last page (runs in chunks of small pages), a child
 * forked sharing them, and a device read of all of it while the child
 * lives: the cache holds read-only runs.
 */
static void ro_runs_setup(struct __test_metadata *_metadata, FIXTURE_DATA(huge) *self,
			  __u32 seed, struct ro_runs *r)
{
	size_t page = self->page;

	r->size = 2 * HPAGE;
	r->len = r->size - 2 * page;
	r->n = r->len / page;
	r->ref = malloc(r->size);
	ASSERT_NE(NULL, r->ref);
	r->p = thp_region(_metadata, r->size, seed);
	ASSERT_NE(NULL, r->p);
	memcpy(r->ref, r->p, r->size);
	UT_USERPTR(r->u, r->p + page, r->len, 0);
	UT_DEVICE_BO(r->d, r->map, r->len);

	r->pid = fork_cow_child(r->p, r->ref, r->size, &r->wfd);
	ASSERT_LE(0, r->pid);
	/* Read-only for both now (fork invalidated): the cache holds read-only runs. */
	ASSERT_EQ(0, ut_copy(self->fd, r->d, 0, r->u, 0, r->len));
	EXPECT_EQ(-1, ut_find_diff(r->map, r->ref + page, r->len));
	INFO(r->u, r->i0);
	EXPECT_EQ(r->n, r->i0.pages_faulted);
	EXPECT_EQ(r->n, r->i0.pages_resident);
}

/*
 * A userptr that starts one page into a huge page keeps its huge pages as
 * runs (blocks) in chunks of small pages.  While a forked child shares
 * them, the CPU maps them read-only and the device's read caches them so.
 * The child exits; a device write then needs them writable: the CPU
 * reuses the pages (or copies them after a split), the read-only run is
 * dropped and the write lands in the page the parent maps, be it one
 * dword, a 100-page span across chunks or all of it; the device then
 * reads back what it wrote.  Catches: a write through the read-only run
 * kept in the cache (a page the parent may no longer map: the parent
 * does not see the write), a run not dropped whole when upgraded (stale
 * entries: the read after the write differs), counters that lose pages.
 */
TEST_F(huge, thp_unaligned_ro_block_write_after_child_exit)
{
	size_t page = self->page, size, len, n;
	struct drm_uptr_bo_info i0, i1, i2;
	struct ro_runs r;
	unsigned char *p, *map, *ref;
	__u32 u, d;

	UT_NEED_THP();
	ro_runs_setup(_metadata, self, 611, &r);
	size = r.size, len = r.len, n = r.n;
	p = r.p, map = r.map, ref = r.ref, u = r.u, d = r.d;
	log_info(_metadata, "read while the child lives", &r.i0);
	EXPECT_EQ((long)(size / 1024), ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));

	close(r.wfd);
	ASSERT_EQ(0, ut_wait_child(r.pid));
	INFO(u, i0);

	/* One dword, one page of the first run. */
	ASSERT_EQ(0, ut_store(self->fd, u, 3 * page + 8, 0x13572468));
	ref_fill(ref, page + 3 * page + 8, 4, 0x13572468);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("the parent does not see the device's write (first difference at %ld)",
		       ut_find_diff(p, ref, size));
	}
	INFO(u, i1);
	log_info(_metadata, "after a one-page write", &i1);
	EXPECT_EQ(i0.pages_faulted + 1, i1.pages_faulted);
	/*
	 * The read-only run holding the page is dropped whole (the CPU
	 * reused the huge page, or split it: then all of it went); only the
	 * page written comes back.  A run is at most a chunk, 64 pages.
	 */
	EXPECT_LE(i0.invalidations == i1.invalidations ? n - 63 : n - HPAGE / page + 1,
		  i1.pages_resident);
	EXPECT_GE(n, i1.pages_resident);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(-1, ut_find_diff(map, ref + page, len));
	INFO(u, i1);
	EXPECT_EQ(n, i1.pages_resident);

	/* 100 pages across chunks, inside the first huge page, then a span across both. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 60 * page + 12, 100 * page, 0x2468ace0));
	ref_fill(ref, page + 60 * page + 12, 100 * page, 0x2468ace0);
	ASSERT_EQ(0, ut_fill(self->fd, u, HPAGE - 40 * page, 80 * page, 0x0badf00d));
	ref_fill(ref, page + HPAGE - 40 * page, 80 * page, 0x0badf00d);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("the parent does not see the device's writes (first difference at %ld)",
		       ut_find_diff(p, ref, size));
	}
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(-1, ut_find_diff(map, ref + page, len));

	/* All of it. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, len, 0x5c5c5c5c));
	ref_fill(ref, page, len, 0x5c5c5c5c);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(-1, ut_find_diff(map, ref + page, len));
	INFO(u, i2);
	log_info(_metadata, "after all the writes", &i2);
	EXPECT_EQ(n, i2.pages_resident);
	free(ref);
}

/*
 * As above, but the device writes while the child still shares the huge
 * pages: the CPU splits the huge page and copies the written pages for
 * the parent (an invalidation), the write lands in the parent's copy and
 * the child still reads what it had.  Catches: a read-only run upgraded
 * in place (the write reaches the shared page: the child sees it), or a
 * stale run after the split (the parent does not see the write).
 */
TEST_F(huge, thp_unaligned_ro_block_write_child_alive)
{
	size_t page = self->page, size, len, n;
	struct drm_uptr_bo_info i0, i1;
	struct ro_runs r;
	unsigned char *p, *map, *ref;
	__u32 u, d;

	UT_NEED_THP();
	ro_runs_setup(_metadata, self, 612, &r);
	size = r.size, len = r.len, n = r.n;
	p = r.p, map = r.map, ref = r.ref, u = r.u, d = r.d;
	i0 = r.i0;

	/* A few pages in the first huge page, then a span across both. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 5 * page - 4, 3 * page, 0x77665544));
	ASSERT_EQ(0, ut_fill(self->fd, u, HPAGE - 70 * page, 140 * page, 0x33221100));
	INFO(u, i1);
	log_info(_metadata, "after the writes, the child alive", &i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	close(r.wfd);
	EXPECT_EQ(0, ut_wait_child(r.pid)) {
		TH_LOG("the child's copy changed: the device wrote a page the child shares");
	}
	ref_fill(ref, page + 5 * page - 4, 3 * page, 0x77665544);
	ref_fill(ref, page + HPAGE - 70 * page, 140 * page, 0x33221100);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("the parent does not see the device's writes (first difference at %ld)",
		       ut_find_diff(p, ref, size));
	}
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, len));
	EXPECT_EQ(-1, ut_find_diff(map, ref + page, len));
	INFO(u, i1);
	EXPECT_EQ(n, i1.pages_resident);
	free(ref);
}

/*
 * The shrinker (drop_caches) empties idle userptrs whose huge pages the
 * device wrote: an aligned one (huge chunks) and one that starts a page
 * into a huge page (runs in chunks of small pages).  The huge pages were
 * MADV_FREEd before the device wrote them (lazyfree, clean in the page
 * tables), so the dirty mark that the device's first write put on each
 * folio is all that keeps reclaim from discarding them once the shrinker
 * dropped the entries: after it,
 * nothing is resident, no invalidation happened, the CPU reads the
 * device's bytes, and still does after MADV_PAGEOUT of all of it.
 * Catches: a shrinker that leaves huge chunks or runs (resident), or
 * drops a written one clean (the page-out discards it: zeros).
 */
TEST_F(huge, thp_shrinker_drops_dirty_huge_chunks)
{
	size_t page = self->page, size = 2 * HPAGE, lb = size - 2 * page;
	unsigned char *pa, *pb, *map = NULL, *ref = malloc(2 * size);
	struct drm_uptr_bo_info a0, b0, a1, b1;
	__u32 ua, ub, d;

	UT_NEED_THP();
	ut_need_swap(_metadata);
	ASSERT_NE(NULL, ref);
	pa = thp_region(_metadata, size, 621);
	pb = thp_region(_metadata, size, 622);
	ASSERT_NE(NULL, pa);
	ASSERT_NE(NULL, pb);
	memcpy(ref, pa, size);
	memcpy(ref + size, pb, size);
	UT_USERPTR(ua, pa, size, 0);
	UT_USERPTR(ub, pb + page, lb, 0);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, ua, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, ub, 0, lb));
	EXPECT_EQ(-1, ut_find_diff(map, ref + size + page, lb));

	ASSERT_EQ(0, madvise(pa, size, MADV_FREE));
	ASSERT_EQ(0, madvise(pb, size, MADV_FREE));
	EXPECT_EQ((long)(2 * size / 1024),
		  ut_anon_huge_kb((uintptr_t)pa, (uintptr_t)pa + size) +
		  ut_anon_huge_kb((uintptr_t)pb, (uintptr_t)pb + size));

	/* The device writes most of each huge page, and one dword of the last. */
	ASSERT_EQ(0, ut_fill(self->fd, ua, 0, size - HPAGE / 2, 0xa5a5a5a5));
	ASSERT_EQ(0, ut_store(self->fd, ua, size - 64, 0x1badb002));
	ASSERT_EQ(0, ut_fill(self->fd, ub, 0, lb - HPAGE / 2, 0x5a5a5a5a));
	ASSERT_EQ(0, ut_store(self->fd, ub, lb - 64, 0x2badb003));
	ref_fill(ref, 0, size - HPAGE / 2, 0xa5a5a5a5);
	ref_fill(ref, size - 64, 4, 0x1badb002);
	ref_fill(ref, size + page, lb - HPAGE / 2, 0x5a5a5a5a);
	ref_fill(ref, size + page + lb - 64, 4, 0x2badb003);
	INFO(ua, a0);
	INFO(ub, b0);
	log_info(_metadata, "aligned, before drop_caches", &a0);
	log_info(_metadata, "unaligned, before drop_caches", &b0);
	/* What the device wrote since MADV_FREE dropped it all: the fills and the stores' pages. */
	EXPECT_EQ((size - HPAGE / 2) / page + 1, a0.pages_resident);
	EXPECT_EQ((lb - HPAGE / 2) / page + 1, b0.pages_resident);

	ASSERT_EQ(0, ut_write_str("/proc/sys/vm/drop_caches", "2"));
	INFO(ua, a1);
	INFO(ub, b1);
	log_info(_metadata, "aligned, after drop_caches", &a1);
	log_info(_metadata, "unaligned, after drop_caches", &b1);
	EXPECT_COUNTS(a1, a0.pages_faulted, 0, a0.invalidations);
	EXPECT_COUNTS(b1, b0.pages_faulted, 0, b0.invalidations);
	EXPECT_EQ(-1, ut_find_diff(pa, ref, size));
	EXPECT_EQ(-1, ut_find_diff(pb, ref + size, size));

	EXPECT_EQ(0ul, ut_page_out_gone(pa, size / page, page));
	EXPECT_EQ(0ul, ut_page_out_gone(pb, size / page, page));
	INFO(ua, a1);
	EXPECT_EQ(a0.pages_faulted, a1.pages_faulted);
	EXPECT_EQ(-1, ut_find_diff(pa, ref, size)) {
		TH_LOG("aligned: device writes lost in a page-out after the shrinker dropped them, first at %ld (zero: %s)",
		       ut_find_diff(pa, ref, size), pa[ut_find_diff(pa, ref, size)] ? "no" : "yes");
	}
	EXPECT_EQ(-1, ut_find_diff(pb, ref + size, size)) {
		TH_LOG("unaligned: device writes lost in a page-out after the shrinker dropped them, first at %ld (zero: %s)",
		       ut_find_diff(pb, ref + size, size),
		       pb[ut_find_diff(pb, ref + size, size)] ? "no" : "yes");
	}
	/* And the device reads them back. */
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, ua, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	free(ref);
}

/*
 * MADV_FREE of huge pages, then the device writes one of them whole (a
 * huge chunk) and one dword of another, the CPU writes a third (the
 * control): MADV_PAGEOUT must keep every page written, the device's as
 * the CPU's, as swap_madv_free_device_write_survives checks for small
 * pages.  The page-out's split invalidates the cached huge pages; the
 * written folios were marked dirty at the device's first write through
 * them.  Catches: a written huge chunk or page of a huge page left
 * clean: reclaim discards it (zeros).
 */
TEST_F(huge, thp_madv_free_device_write_survives_pageout)
{
	size_t page = self->page, size = 3 * HPAGE;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	size_t k, zero;
	__u32 u, d;

	UT_NEED_THP();
	ut_need_swap(_metadata);
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 631);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));

	ASSERT_EQ(0, madvise(p, size, MADV_FREE));
	INFO(u, i0);
	EXPECT_EQ(0ull, i0.pages_resident);
	EXPECT_EQ((long)(size / 1024), ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));

	/* The CPU writes the first huge page, the device the second and a dword of the third. */
	memset(p, 0xc5, HPAGE);
	memset(ref, 0xc5, HPAGE);
	ASSERT_EQ(0, ut_fill(self->fd, u, HPAGE, HPAGE, 0xd6d6d6d6));
	ref_fill(ref, HPAGE, HPAGE, 0xd6d6d6d6);
	ASSERT_EQ(0, ut_store(self->fd, u, 2 * HPAGE + 77 * page + 16, 0xe7e7e7e7));
	ref_fill(ref, 2 * HPAGE + 77 * page + 16, 4, 0xe7e7e7e7);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	INFO(u, i0);
	log_info(_metadata, "before MADV_PAGEOUT", &i0);

	ASSERT_EQ(0ul, ut_page_out_gone(p, size / page, page));
	INFO(u, i1);
	log_info(_metadata, "after MADV_PAGEOUT", &i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);
	EXPECT_EQ(-1, ut_find_diff(p, ref, HPAGE)) {
		TH_LOG("the CPU's own writes were lost: the kernel, not the driver");
	}
	EXPECT_EQ(-1, ut_find_diff(p + HPAGE, ref + HPAGE, HPAGE)) {
		for (zero = 0, k = HPAGE; k < 2 * HPAGE; k += page)
			zero += ut_find_not(p + k, page, 0) < 0;
		TH_LOG("device writes to a lazyfree huge page lost in a page-out: %zu of %zu pages read back as zeros",
		       zero, (size_t)(HPAGE / page));
	}
	EXPECT_EQ(0xe7e7e7e7u, *(__u32 *)(p + 2 * HPAGE + 77 * page + 16)) {
		TH_LOG("a device write to one page of a lazyfree huge page lost in a page-out");
	}
	/* The rest of that huge page: kept with it, or at worst zeros, page by page. */
	for (k = 2 * HPAGE; k < size; k += page)
		if (ut_find_diff(p + k, ref + k, page) >= 0 && k != 2 * HPAGE + 77 * page)
			EXPECT_EQ(-1, ut_find_not(p + k, page, 0));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, HPAGE, HPAGE));
	EXPECT_EQ(-1, ut_find_diff(map, ref + HPAGE, HPAGE));
	free(ref);
}

TEST_HARNESS_MAIN
