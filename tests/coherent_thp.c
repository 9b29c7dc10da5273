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
 * again, invalidations.  A kernel without THP (PREEMPT_RT) skips them.
 * GPL-2.0: it builds on the kernel's kselftest_harness.h.
 */
#include "uptr_harness.h"

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

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 501);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map));

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

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 502);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map));
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

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 503);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map));
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

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	p = thp_region(_metadata, size, 505);
	ASSERT_NE(NULL, p);
	memcpy(ref, p, size);
	pfn0 = ut_pagemap(p) & ((1ull << 55) - 1);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &d, (void **)&map));
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

TEST_HARNESS_MAIN
