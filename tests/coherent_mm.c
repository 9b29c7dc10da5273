// SPDX-License-Identifier: GPL-2.0
/*
 * Description: coherent userptrs (the default kind, no PINNED) while the
 * kernel's memory management moves the pages under them: NUMA migration
 * (move_pages, mbind, compaction), swap (MADV_PAGEOUT to zram), KSM
 * merging and its copy-on-write break, transparent huge pages, their
 * splitting and collapsing, userfaultfd-missing pages, and migration or page-out racing
 * a stream of jobs.  Device writes must be as durable as CPU writes: a
 * page the device wrote is dirty, so reclaim never drops its data (shmem
 * pages the CPU only read, MADV_FREE).  Each test checks the data on both
 * sides (CPU and device) and the BO_INFO counters.
 *
 * Needs the guest of "vm/run --numa --zram 512M": two NUMA nodes, swap,
 * KSM, THP and userfaultfd; a missing one is a failure, not a skip.
 * Automatic NUMA balancing is switched off while a test runs (and
 * restored after) so that nothing but the test changes the mappings.
 */
#include "uptr_harness.h"

#include <dirent.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define RO		DRM_UPTR_USERPTR_READ_ONLY


#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define COMPACT_MEMORY	"/proc/sys/vm/compact_memory"

/* How long a test waits for something that should take milliseconds. */
#define WAIT_S		10.0
/* How long KSM may take to merge two identical pages. */
#define KSM_WAIT_S	30.0
/* How long the stream tests race jobs against the mm. */
#define STREAM_S	2.0

static const char *const ksm_knobs[] = {
	"pages_to_scan", "sleep_millisecs", "run",
};

/*
 * The uptr render node (ut_coherent_setup()) and the mm knobs a test
 * changed, put back at teardown.
 */
FIXTURE(coherent_mm) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page, the CPU's page size */
	char numa_balancing[32];	/* saved value, "" if untouched */
	char ksm[ARRAY_SIZE(ksm_knobs)][32];	/* saved values, "" if untouched */
};

/* ---- small helpers: sysfs, procfs ---- */

static long ksm_long(const char *knob)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_DIR "%s", knob);
	return ut_read_long(path);
}

static int ksm_set(const char *knob, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_DIR "%s", knob);
	return ut_write_str(path, val);
}

/* Number of NUMA nodes with memory (node* directories under sysfs). */
static int numa_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) &&
		    e->d_name[4] >= '0' && e->d_name[4] <= '9')
			n++;
	closedir(d);
	return n;
}

/* ---- page-table views: pagemap, move_pages ---- */

/* Page frame of the page at @addr (needs CAP_SYS_ADMIN); 0 if not present. */
static __u64 pfn_of(const void *addr)
{
	__u64 e = ut_pagemap(addr);

	return (e & UT_PM_PRESENT) ? (e & UT_PM_PFN_MASK) : 0;
}

/* Fills @status with the node of each of the @n pages at @p; 0 or -errno. */
static int query_nodes(void *p, size_t n, size_t page, int *status)
{
	void *pages[n];
	size_t i;

	for (i = 0; i < n; i++)
		pages[i] = (char *)p + i * page;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) < 0)
		return -errno;
	return 0;
}

/* The node of the page at @p, or -errno. */
static int node_of(void *p)
{
	int status;
	int ret = query_nodes(p, 1, 4096, &status);

	return ret ? ret : status;
}

/* How many of the @n pages at @p are on @node (move_pages query). */
static size_t pages_on_node(void *p, size_t n, size_t page, int node)
{
	int status[n];
	size_t i, c = 0;

	if (query_nodes(p, n, page, status))
		return 0;
	for (i = 0; i < n; i++)
		if (status[i] == node)
			c++;
	return c;
}

/*
 * move_pages(2) the @n pages at @p to @node, retrying a few times for
 * pages that were transiently busy.
 * Return: how many of them are on @node afterwards.
 */
static size_t move_to_node(void *p, size_t n, size_t page, int node)
{
	void *pages[n];
	int nodes[n], status[n];
	size_t i, on = 0;
	int attempt;

	for (i = 0; i < n; i++) {
		pages[i] = (char *)p + i * page;
		nodes[i] = node;
	}
	for (attempt = 0; attempt < 5; attempt++) {
		syscall(SYS_move_pages, 0, n, pages, nodes, status,
			MPOL_MF_MOVE);
		on = pages_on_node(p, n, page, node);
		if (on == n)
			break;
		usleep(10 * 1000);
	}
	return on;
}

/* mbind(MPOL_BIND, MPOL_MF_MOVE | MPOL_MF_STRICT) of [@p, @p + @len) to @node. */
static int bind_to_node(void *p, size_t len, int node)
{
	unsigned long mask = 1ul << node;

	if (syscall(SYS_mbind, p, len, MPOL_BIND, &mask,
		    sizeof(mask) * 8 + 1, MPOL_MF_MOVE | MPOL_MF_STRICT))
		return -errno;
	return 0;
}

/* Reads every page at @p (faulting them in for reading). */
static unsigned int touch_read(const unsigned char *p, size_t n, size_t page)
{
	unsigned int sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += ((const volatile unsigned char *)p)[i * page];
	return sum;
}

/* ---- fixture ---- */

FIXTURE_SETUP(coherent_mm)
{
	ut_coherent_setup(_metadata, &self->base);
	self->fd = self->base.fd;
	self->page = self->base.page;

	/* NUMA balancing would unmap and migrate pages behind the tests' back. */
	ASSERT_EQ(0, ut_numa_balancing_off(self->numa_balancing,
					   sizeof(self->numa_balancing)));
}

FIXTURE_TEARDOWN(coherent_mm)
{
	unsigned int i;

	/* Unmerge everything (run=2), then put the knobs back. */
	if (self->ksm[0][0]) {
		ksm_set("run", "2");
		for (i = 0; i < ARRAY_SIZE(ksm_knobs); i++)
			if (strcmp(ksm_knobs[i], "run") ||
			    strcmp(self->ksm[i], "2"))
				ksm_set(ksm_knobs[i], self->ksm[i]);
	}
	ut_numa_balancing_restore(self->numa_balancing);
	uptr_teardown(_metadata, &self->base, NULL);
}

static void log_info(struct __test_metadata *_metadata, const char *when,
		     const struct drm_uptr_bo_info *i)
{
	TH_LOG("%s: jobs %llu, pages_faulted %llu, pages_resident %llu, sg_segments %llu, invalidations %llu",
	       when, (unsigned long long)i->jobs,
	       (unsigned long long)i->pages_faulted,
	       (unsigned long long)i->pages_resident,
	       (unsigned long long)i->sg_segments,
	       (unsigned long long)i->invalidations);
}

/*
 * Checks the counters of a coherent userptr right after a job that
 * touched all its @n pages, on a quiet mm: every page resident, in 1 to
 * @n runs.
 */
static void check_all_resident(struct __test_metadata *_metadata, int fd,
			       __u32 u, size_t n)
{
	struct drm_uptr_bo_info i;

	ASSERT_EQ(0, ut_bo_info(fd, u, &i));
	EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, i.kind);
	EXPECT_EQ(0ull, i.pages_pinned);
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_LE(1ull, i.sg_segments);
	EXPECT_GE(n, i.sg_segments);
	if (!_metadata->passed)
		log_info(_metadata, "after a job over every page", &i);
}

/* Fails the test unless the machine has two NUMA nodes with memory. */
static void need_two_nodes(struct __test_metadata *_metadata)
{
	int n = numa_nodes();

	ASSERT_LE(2, n) {
		TH_LOG("%d NUMA node(s): migration needs two (vm/run --numa)", n);
	}
}

/* ---- 8. migration ---- */

/*
 * Moves the @n pages at @p (pattern @ref) to the other node with @move,
 * then checks the device follows them: invalidated, re-faulted, reading
 * and writing the pages now on the new node.
 */
static void check_after_move(struct __test_metadata *_metadata, int fd,
			     __u32 u, __u32 d, unsigned char *map,
			     unsigned char *p, unsigned char *ref, size_t n,
			     size_t page, int to,
			     const struct drm_uptr_bo_info *before)
{
	size_t size = n * page;
	struct drm_uptr_bo_info i;

	ASSERT_EQ(0, ut_bo_info(fd, u, &i));
	EXPECT_LT(before->invalidations, i.invalidations) {
		TH_LOG("the userptr's pages moved to node %d without an invalidation",
		       to);
	}
	EXPECT_EQ(0ull, i.pages_resident) {
		TH_LOG("%llu pages still resident after all %zu moved",
		       (unsigned long long)i.pages_resident, n);
	}

	/* The device reads the moved pages. */
	memset(map, 0, size);
	ASSERT_EQ(0, ut_copy(fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	ASSERT_EQ(0, ut_bo_info(fd, u, &i));
	EXPECT_LE(before->pages_faulted + n, i.pages_faulted) {
		TH_LOG("the moved pages were not faulted in again");
	}
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_EQ(before->jobs + 1, i.jobs);

	/* Its writes land in them, and it sees the CPU's. */
	ASSERT_EQ(0, ut_fill(fd, u, page, 2 * page, 0x6d16a7e0));
	ASSERT_EQ(0, ut_store(fd, u, size - 4, 0x0ddba11));
	EXPECT_EQ(-1, ut_find_not_dword(p + page, 2 * page, 0x6d16a7e0));
	EXPECT_EQ(0x0ddba11u, *(__u32 *)(p + size - 4));
	EXPECT_EQ(-1, ut_find_diff(p, ref, page));
	ut_pattern(p, page, 0x5eed);
	ASSERT_EQ(0, ut_copy(fd, d, 0, u, 0, page));
	EXPECT_EQ(-1, ut_find_diff(map, p, page));
	memcpy(ref, p, size);

	/* Faulting them in did not move them back. */
	EXPECT_EQ(n, pages_on_node(p, n, page, to));
}

/*
 * Pattern @seed in the @n pages at @p (a copy in @ref), a coherent
 * userptr *@u over them and a device BO *@d mapped at *@map, warmed by one
 * whole-range copy checked on the CPU: every page resident.
 */
static void warm_copy(struct __test_metadata *_metadata, int fd, unsigned char *p,
		      unsigned char *ref, size_t n, size_t page, int seed,
		      __u32 *u, __u32 *d, unsigned char **map)
{
	size_t size = n * page;
	int ret;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, seed);
	memcpy(ref, p, size);
	ret = ut_userptr(fd, p, size, 0, u);
	ASSERT_EQ(0, ret) {
		TH_LOG("creating a coherent userptr: %s", strerror(-ret));
	}
	ASSERT_EQ(0, ut_bo_create_map(fd, size, d, (void **)map));
	ASSERT_EQ(0, ut_copy(fd, *d, 0, *u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(*map, ref, size));
	check_all_resident(_metadata, fd, *u, n);
}

/* move_pages(2) to the other node between jobs: the device follows the pages. */
TEST_F(coherent_mm, migrate_move_pages)
{
	size_t n = 32, size = n * self->page;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0;
	int from, to, back;
	__u32 u, d;

	need_two_nodes(_metadata);
	warm_copy(_metadata, self->fd, p, ref, n, self->page, 801, &u, &d, &map);
	UT_BO_INFO(u, i0);
	EXPECT_EQ(1ull, i0.jobs);
	EXPECT_EQ(n, i0.pages_faulted);
	EXPECT_EQ(0ull, i0.invalidations);

	from = node_of(p);
	ASSERT_LE(0, from);
	to = from == 0 ? 1 : 0;
	ASSERT_EQ(n, move_to_node(p, n, self->page, to)) {
		TH_LOG("move_pages could not move every page to node %d (does the driver hold page references?)",
		       to);
	}
	check_after_move(_metadata, self->fd, u, d, map, p, ref, n,
			 self->page, to, &i0);

	/* And back again. */
	UT_BO_INFO(u, i0);
	back = from;
	ASSERT_EQ(n, move_to_node(p, n, self->page, back));
	check_after_move(_metadata, self->fd, u, d, map, p, ref, n,
			 self->page, back, &i0);
	free(ref);
}

/* mbind(MPOL_MF_MOVE) to the other node between jobs: the device follows the pages. */
TEST_F(coherent_mm, migrate_mbind)
{
	size_t n = 32, size = n * self->page;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0;
	int from, to, ret;
	__u32 u, d;

	need_two_nodes(_metadata);
	warm_copy(_metadata, self->fd, p, ref, n, self->page, 802, &u, &d, &map);
	UT_BO_INFO(u, i0);

	from = node_of(p);
	ASSERT_LE(0, from);
	to = from == 0 ? 1 : 0;
	ret = bind_to_node(p, size, to);
	ASSERT_EQ(0, ret) {
		TH_LOG("mbind(MPOL_BIND, node %d, MPOL_MF_MOVE | MPOL_MF_STRICT): %s",
		       to, strerror(-ret));
	}
	ASSERT_EQ(n, pages_on_node(p, n, self->page, to));
	check_after_move(_metadata, self->fd, u, d, map, p, ref, n,
			 self->page, to, &i0);

	UT_BO_INFO(u, i0);
	ASSERT_EQ(0, bind_to_node(p, size, from));
	ASSERT_EQ(n, pages_on_node(p, n, self->page, from));
	check_after_move(_metadata, self->fd, u, d, map, p, ref, n,
			 self->page, from, &i0);
	free(ref);
}

/* Fills @pfns with the page frames of the @n pages at @p. */
static void get_pfns(const unsigned char *p, size_t n, size_t page,
		     __u64 *pfns)
{
	size_t i;

	for (i = 0; i < n; i++)
		pfns[i] = pfn_of(p + i * page);
}

static size_t count_moved(const __u64 *a, const __u64 *b, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			c++;
	return c;
}

/*
 * Leaves @len bytes of anonymous memory with one page in four in use: free
 * pages in partly used page blocks, where compaction moves pages to.
 */
static void *fragment(size_t len, size_t page)
{
	unsigned char *f = ut_alloc_small_pages(len);
	size_t off;

	if (!f)
		return NULL;
	memset(f, 0x3f, len);
	for (off = 0; off < len; off += 4 * page)
		madvise(f + off + page, 3 * page, MADV_DONTNEED);
	return f;
}

/* Memory compaction between jobs keeps the data right; moved pages are invalidated. */
TEST_F_TIMEOUT(coherent_mm, migrate_compact, 90)
{
	size_t n = 128, size = n * self->page, moved, total = 0;
	size_t flen = 16 * UT_MIB;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *ref = malloc(size);
	__u64 *pfn0 = calloc(n, 8), *pfn1 = calloc(n, 8);
	struct drm_uptr_bo_info i0, i1;
	int round, ret;
	void *filler;
	size_t k;
	__u32 u, d;

	ASSERT_NE(NULL, pfn0);
	ASSERT_NE(NULL, pfn1);
	warm_copy(_metadata, self->fd, p, ref, n, self->page, 803, &u, &d, &map);

	for (round = 0; round < 3; round++) {
		filler = fragment(flen, self->page);
		ASSERT_NE(NULL, filler);
		get_pfns(p, n, self->page, pfn0);
		ASSERT_NE(0ull, pfn0[0]) {
			TH_LOG("/proc/self/pagemap shows no page frames (not root?)");
		}
		UT_BO_INFO(u, i0);
		ret = ut_write_str(COMPACT_MEMORY, "1");
		ASSERT_EQ(0, ret) {
			TH_LOG("writing 1 to %s: %s", COMPACT_MEMORY,
			       strerror(-ret));
		}
		get_pfns(p, n, self->page, pfn1);
		munmap(filler, flen);
		moved = count_moved(pfn0, pfn1, n);
		total += moved;
		UT_BO_INFO(u, i1);
		if (moved) {
			EXPECT_LT(i0.invalidations, i1.invalidations) {
				TH_LOG("compaction moved %zu pages under the device without an invalidation",
				       moved);
			}
			EXPECT_GE(n - moved, i1.pages_resident);
		}

		/* The device reads what the CPU wrote, wherever it is now. */
		memset(map, 0, size);
		ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
		EXPECT_EQ(-1, ut_find_diff(map, ref, size));
		UT_BO_INFO(u, i1);
		EXPECT_LE(i0.pages_faulted + moved, i1.pages_faulted);
		EXPECT_EQ(n, i1.pages_resident);

		/* Its writes reach the CPU, after another compaction too. */
		ASSERT_EQ(0, ut_fill(self->fd, u, round * size / 4, size / 4,
				     0xc0 + round));
		for (k = 0; k < size / 4; k += 4)
			*(__u32 *)(ref + round * size / 4 + k) = 0xc0 + round;
		ASSERT_EQ(0, ut_write_str(COMPACT_MEMORY, "1"));
		EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	}
	TH_LOG("compaction moved %zu of the %zu pages in %d rounds", total, n,
	       round);
	free(ref);
	free(pfn0);
	free(pfn1);
}

/* ---- 9. swap ---- */

/* After MADV_PAGEOUT the device reads swapped-out pages back in, with the right data. */
TEST_F(coherent_mm, swap_read_back)
{
	size_t n = 32, size = n * self->page, swapped;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	__u32 u, d;

	ut_need_swap(_metadata);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 901);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	check_all_resident(_metadata, self->fd, u, n);
	UT_BO_INFO(u, i0);

	swapped = ut_page_out(p, n, self->page);
	ASSERT_EQ(n, swapped) {
		TH_LOG("MADV_PAGEOUT swapped out %zu of %zu pages (does the driver hold page references?)",
		       swapped, n);
	}
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);

	/* The device swaps them in, without the CPU touching them. */
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	EXPECT_EQ(n, ut_count_pagemap(p, n, self->page, UT_PM_PRESENT)) {
		TH_LOG("the job did not fault the swapped-out pages back in");
	}
	UT_BO_INFO(u, i1);
	EXPECT_LE(i0.pages_faulted + n, i1.pages_faulted);
	EXPECT_EQ(n, i1.pages_resident);
	EXPECT_EQ(2ull, i1.jobs);

	/* A partial read after another page-out. */
	ASSERT_EQ(n, ut_page_out(p, n, self->page));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 5 * self->page + 100,
				 3 * self->page));
	EXPECT_EQ(ut_fnv1a(ref + 5 * self->page + 100, 3 * self->page),
		  *(__u64 *)map);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	free(ref);
}

/* Device writes survive a page-out: the CPU reads them back from swap. */
TEST_F(coherent_mm, swap_device_write_survives)
{
	size_t n = 32, size = n * self->page;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	__u32 u, d;

	ut_need_swap(_metadata);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 902);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);

	/*
	 * Swapped in by a device read, the pages are mapped read-only: the
	 * device write must fault them in for writing first.
	 */
	ASSERT_EQ(n, ut_page_out(p, n, self->page));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	ut_pattern(map, size, 903);
	memcpy(ref, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, u, 0, d, 0, size));
	UT_BO_INFO(u, i0);
	ASSERT_EQ(n, ut_page_out(p, n, self->page)) {
		TH_LOG("the pages did not go to swap after the device wrote them");
	}
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("device writes lost in a page-out");
	}

	/* Again with writes into pages the device itself swapped in for writing. */
	ASSERT_EQ(n, ut_page_out(p, n, self->page));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size / 2, 0xfeedf00d));
	ASSERT_EQ(0, ut_store(self->fd, u, size - 8, 0x600dcafe));
	memset(ref, 0, size / 2);
	for (size_t k = 0; k < size / 2; k += 4)
		*(__u32 *)(ref + k) = 0xfeedf00d;
	*(__u32 *)(ref + size - 8) = 0x600dcafe;
	ASSERT_EQ(n, ut_page_out(p, n, self->page));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("device writes lost in a page-out");
	}
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	UT_BO_INFO(u, i1);
	EXPECT_EQ(5ull, i1.jobs);
	free(ref);
}

/* Device writes into memfd pages the CPU only read (writable, clean) survive a page-out. */
TEST_F(coherent_mm, swap_shmem_device_write_survives)
{
	size_t n = 16, page = self->page, size = n * page;
	unsigned char *p, *map = NULL, *ref = malloc(size), *buf = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	__u32 u, d;
	int mfd;

	ut_need_swap(_metadata);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	mfd = ut_memfd("uptr-coherent-mm", size);
	ASSERT_LE(0, mfd);
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0u, touch_read(p, n, page));
	ASSERT_EQ(n, ut_count_pagemap(p, n, page, UT_PM_PRESENT));

	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);
	ut_pattern(map, size, 904);
	memcpy(ref, map, size);
	/* The CPU writes page 0 itself: the control. */
	ut_pattern(ref, page, 905);
	ASSERT_EQ(0, ut_copy(self->fd, u, page, d, page, size - page));
	memcpy(p, ref, page);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	UT_BO_INFO(u, i0);

	ASSERT_EQ(0ul, ut_page_out_gone(p, n, page)) {
		TH_LOG("MADV_PAGEOUT left pages of the memfd mapped");
	}
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, page)) {
		TH_LOG("the CPU's own write was lost: the kernel, not the driver");
	}
	EXPECT_EQ(-1, ut_find_diff(buf + page, ref + page, size - page)) {
		long off = ut_find_diff(buf + page, ref + page, size - page);

		TH_LOG("device writes lost in a page-out, first at page %ld (zero: %s): the written pages were not dirtied",
		       1 + off / (long)page,
		       ut_find_not(buf + page + off / (long)page * (long)page, page, 0) < 0 ?
		       "yes" : "no");
	}
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	close(mfd);
	free(ref);
	free(buf);
}

/*
 * The pinned counterpart: a read-write pinned userptr over memfd pages
 * the CPU only read (clean).  Its destroy unpins them marked dirty, so a
 * page-out writes the device's data to swap instead of dropping it.
 */
TEST_F(coherent_mm, swap_shmem_pinned_device_write_survives_destroy)
{
	size_t n = 16, page = self->page, size = n * page;
	unsigned char *p, *map = NULL, *ref = malloc(size), *buf = malloc(size);
	long pinned0 = ut_pinned_kb();
	double t0;
	__u32 u, d;
	int mfd;

	ut_need_swap(_metadata);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	mfd = ut_memfd("uptr-pinned-mm", size);
	ASSERT_LE(0, mfd);
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0u, touch_read(p, n, page));

	UT_USERPTR(u, p, size, DRM_UPTR_USERPTR_PINNED);
	UT_DEVICE_BO(d, map, size);
	ut_pattern(map, size, 906);
	memcpy(ref, map, size);
	ut_pattern(ref, page, 907);
	ASSERT_EQ(0, ut_copy(self->fd, u, page, d, page, size - page));
	/* The CPU writes page 0 itself: the control. */
	memcpy(p, ref, page);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));

	/* Destroyed once the job lets it go: its pages are unpinned then. */
	ASSERT_EQ(0, ut_gem_close(self->fd, u));
	for (t0 = ut_now(); ut_pinned_kb() > pinned0 && ut_now() - t0 < 10 * ut_time_scale();)
		usleep(1000);
	ASSERT_EQ(pinned0, ut_pinned_kb());

	ASSERT_EQ(0ul, ut_page_out_gone(p, n, page)) {
		TH_LOG("MADV_PAGEOUT left pages of the memfd mapped");
	}
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, page)) {
		TH_LOG("the CPU's own write was lost: the kernel, not the driver");
	}
	EXPECT_EQ(-1, ut_find_diff(buf + page, ref + page, size - page)) {
		TH_LOG("device writes lost in a page-out after destroy: the pages were unpinned clean");
	}
	munmap(p, size);
	close(mfd);
	free(ref);
	free(buf);
}

/* After MADV_FREE a device write keeps the page, as a CPU write does: reclaim keeps its data. */
TEST_F(coherent_mm, swap_madv_free_device_write_survives)
{
	size_t n = 16, page = self->page, size = n * page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	size_t k;
	__u32 u;

	ut_need_swap(_metadata);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 906);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x01010101));

	ASSERT_EQ(0, madvise(p, size, MADV_FREE));
	UT_BO_INFO(u, i0);
	/* The CPU writes the first half, the device the second. */
	memset(p, 0xc5, size / 2);
	ASSERT_EQ(0, ut_fill(self->fd, u, size / 2, size / 2, 0xd6d6d6d6));
	memset(ref, 0xc5, size / 2);
	memset(ref + size / 2, 0xd6, size / 2);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));

	ASSERT_EQ(0ul, ut_page_out_gone(p, n, page));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ(0ull, i1.pages_resident);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size / 2)) {
		TH_LOG("the CPU's own writes were lost: the kernel, not the driver");
	}
	EXPECT_EQ(-1, ut_find_diff(p + size / 2, ref + size / 2, size / 2)) {
		size_t zero = 0;

		for (k = size / 2; k < size; k += page)
			zero += ut_find_not(p + k, page, 0) < 0;
		TH_LOG("device writes after MADV_FREE lost in a page-out: %zu of %zu pages read back as zeros (the written pages were not dirtied)",
		       zero, n / 2);
	}
}

/* ---- 10. KSM ---- */

/* Saves the KSM knobs (restored at teardown) and starts ksmd at full speed. */
static void ksm_start(struct __test_metadata *_metadata,
		      FIXTURE_DATA(coherent_mm) *self)
{
	unsigned int i;

	ASSERT_EQ(0, access(KSM_DIR "run", W_OK)) {
		TH_LOG("no KSM (%srun): CONFIG_KSM is needed", KSM_DIR);
	}
	for (i = 0; i < ARRAY_SIZE(ksm_knobs); i++) {
		char path[128];

		snprintf(path, sizeof(path), KSM_DIR "%s", ksm_knobs[i]);
		ASSERT_EQ(0, ut_read_line(path, self->ksm[i],
				       sizeof(self->ksm[i])));
	}
	ASSERT_EQ(0, ksm_set("pages_to_scan", "1000"));
	ASSERT_EQ(0, ksm_set("sleep_millisecs", "0"));
	ASSERT_EQ(0, ksm_set("run", "1"));
}

/*
 * Waits (bounded) until KSM merged the pages at @a and @b into one page.
 * Return: its page frame, 0 on timeout.
 */
static __u64 ksm_wait_merged(const void *a, const void *b)
{
	double end = ut_now() + KSM_WAIT_S;

	do {
		__u64 pa = pfn_of(a), pb = pfn_of(b);

		if (pa && pa == pb && ksm_long("pages_sharing") > 0)
			return pa;
		usleep(20 * 1000);
	} while (ut_now() < end);
	return 0;
}

/* Two identical pages, merged by KSM: a region of @n pages with pages 0 and 1 equal. */
static unsigned char *ksm_region(size_t n, size_t page, __u32 seed)
{
	unsigned char *p = ut_alloc_small_pages(n * page);

	if (!p)
		return NULL;
	ut_pattern(p, n * page, seed);
	memcpy(p + page, p, page);
	if (madvise(p, n * page, MADV_MERGEABLE)) {
		munmap(p, n * page);
		return NULL;
	}
	return p;
}

/* A device write into a KSM-merged page breaks the sharing: the twin keeps its data. */
TEST_F_TIMEOUT(coherent_mm, ksm_write_breaks_sharing, 90)
{
	size_t n = 4, page = self->page, size = n * page;
	unsigned char *p = ksm_region(n, page, 1001), *ref = malloc(size);
	unsigned char *map = NULL;
	struct drm_uptr_bo_info i0, i1;
	__u64 kpfn;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, page);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	check_all_resident(_metadata, self->fd, u, n);
	UT_BO_INFO(u, i0);

	ksm_start(_metadata, self);
	kpfn = ksm_wait_merged(p, p + page);
	ASSERT_NE(0ull, kpfn) {
		TH_LOG("KSM did not merge two identical pages in %.0f s (pages_sharing %ld, full_scans %ld; does the driver hold page references?)",
		       KSM_WAIT_S, ksm_long("pages_sharing"),
		       ksm_long("full_scans"));
	}
	/* Stop scanning, keep what is merged. */
	ASSERT_EQ(0, ksm_set("run", "0"));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations) {
		TH_LOG("KSM replaced pages the device had resident without an invalidation");
	}
	EXPECT_GE(n - 2, i1.pages_resident);

	/* The device writes into page 0: it gets its own copy, as a CPU write would. */
	ASSERT_EQ(kpfn, pfn_of(p));
	ASSERT_EQ(0, ut_store(self->fd, u, 16, 0xdeadbeef));
	EXPECT_EQ(0xdeadbeefu, *(__u32 *)(p + 16));
	EXPECT_EQ(-1, ut_find_diff(p, ref, 16));
	EXPECT_EQ(-1, ut_find_diff(p + 20, ref + 20, page - 20));
	EXPECT_EQ(-1, ut_find_diff(p + page, ref + page, page)) {
		TH_LOG("a device write into a KSM page reached its twin");
	}
	EXPECT_NE(kpfn, pfn_of(p));
	EXPECT_EQ(kpfn, pfn_of(p + page)) {
		TH_LOG("page 1 no longer maps the KSM page");
	}
	EXPECT_EQ(-1, ut_find_diff(p + 2 * page, ref + 2 * page, 2 * page));

	/* The device sees its write in page 0. */
	*(__u32 *)(ref + 16) = 0xdeadbeef;
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, page));
	EXPECT_EQ(ut_fnv1a(ref, page), *(__u64 *)map);
	UT_BO_INFO(u, i1);
	EXPECT_EQ(3ull, i1.jobs);
	EXPECT_LT(i0.pages_faulted, i1.pages_faulted);
	free(ref);
}

/* A READ_ONLY coherent userptr reads KSM-merged pages without breaking the sharing. */
TEST_F_TIMEOUT(coherent_mm, ksm_readonly_keeps_sharing, 90)
{
	size_t n = 4, page = self->page, size = n * page;
	unsigned char *p = ksm_region(n, page, 1002), *ref = malloc(size);
	unsigned char *map = NULL;
	struct drm_uptr_bo_info i0, i1;
	__u64 kpfn;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, RO);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	UT_BO_INFO(u, i0);

	ksm_start(_metadata, self);
	kpfn = ksm_wait_merged(p, p + page);
	ASSERT_NE(0ull, kpfn) {
		TH_LOG("KSM did not merge two identical pages in %.0f s (pages_sharing %ld, full_scans %ld)",
		       KSM_WAIT_S, ksm_long("pages_sharing"),
		       ksm_long("full_scans"));
	}
	ASSERT_EQ(0, ksm_set("run", "0"));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_GE(n - 2, i1.pages_resident);

	memset(map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, page, page));
	EXPECT_EQ(ut_fnv1a(ref + page, page), *(__u64 *)map);
	EXPECT_EQ(kpfn, pfn_of(p)) {
		TH_LOG("a read-only device read broke KSM sharing of page 0");
	}
	EXPECT_EQ(kpfn, pfn_of(p + page)) {
		TH_LOG("a read-only device read broke KSM sharing of page 1");
	}
	UT_BO_INFO(u, i1);
	EXPECT_EQ(n, i1.pages_resident);
	EXPECT_EQ(3ull, i1.jobs);
	free(ref);
}

/* ---- 11. THP ---- */

/*
 * @size bytes of 2 MiB-aligned anonymous memory with MADV_HUGEPAGE,
 * written with pattern @seed, for a test that passed UT_NEED_THP().
 * Fails the test unless THP backs all of it.
 */
static unsigned char *thp_region(struct __test_metadata *_metadata,
				 size_t size, __u32 seed)
{
	unsigned char *p = ut_alloc_thp(size);

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, seed);
	ut_check_thp_kb(_metadata, p, size, size / 1024);
	return p;
}

/* A coherent userptr over huge pages: every page resident in a few contiguous runs. */
TEST_F(coherent_mm, thp_sg_segments)
{
	size_t size = 2 * UT_HPAGE, n = size / self->page;
	unsigned char *p, *map = NULL;
	struct drm_uptr_bo_info i;
	__u32 u, d;

	UT_NEED_THP();

	ASSERT_LE(size, self->base.max_userptr);
	p = thp_region(_metadata, size, 1101);
	UT_USERPTR(u, p, size, 0);
	UT_BO_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident) {
		TH_LOG("creating a coherent userptr made pages resident");
	}
	EXPECT_EQ(0ull, i.sg_segments);
	EXPECT_EQ(0ull, i.pages_faulted);
	UT_DEVICE_BO(d, map, self->page);

	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(p, size), *(__u64 *)map);
	UT_BO_INFO(u, i);
	EXPECT_EQ(n, i.pages_faulted);
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_LE(1ull, i.sg_segments);
	EXPECT_GE(size / UT_HPAGE, i.sg_segments) {
		TH_LOG("%llu runs for %zu pages in %zu huge pages: contiguous pages not merged",
		       (unsigned long long)i.sg_segments, n,
		       (size_t)(size / UT_HPAGE));
	}
	EXPECT_EQ(0ull, i.invalidations);

	/* Device writes over all of it, then a read across the 2 MiB boundary. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x7a7b7c7d));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0x7a7b7c7d));
	ut_pattern(p + UT_HPAGE - 4096, 8192, 1102);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, UT_HPAGE - 4096, 8192));
	EXPECT_EQ(ut_fnv1a(p + UT_HPAGE - 4096, 8192), *(__u64 *)map);
	EXPECT_EQ((long)(size / 1024),
		  ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));
	UT_BO_INFO(u, i);
	EXPECT_EQ(n, i.pages_resident);
	EXPECT_GE(size / UT_HPAGE, i.sg_segments);
	EXPECT_EQ(3ull, i.jobs);
}

/* mprotect of 4 KiB inside a huge page splits it: the rest works, writes to that page fail. */
TEST_F(coherent_mm, thp_split_mprotect)
{
	size_t size = 2 * UT_HPAGE, page = self->page, hole = UT_HPAGE / 2;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	struct drm_uptr_cmd cmds[2];
	__u32 u, d;

	UT_NEED_THP();

	ASSERT_NE(NULL, ref);
	ASSERT_LE(size, self->base.max_userptr);
	p = thp_region(_metadata, size, 1103);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, page);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	UT_BO_INFO(u, i0);
	EXPECT_GE(size / UT_HPAGE, i0.sg_segments);

	ASSERT_EQ(0, mprotect(p + hole, page, PROT_READ));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations) {
		TH_LOG("mprotect split a huge page under the device without an invalidation");
	}

	/* Reads still work everywhere, the read-only page included. */
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);

	/* A write touching the read-only page fails, and nothing of the job runs. */
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, size, 0x11111111));
	cmds[0] = ut_cmd_fill(u, 0, page, 0x22222222);
	cmds[1] = ut_cmd_store(u, hole + 8, 0x33333333);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, cmds, 2));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("a job that failed with -EFAULT wrote to the userptr");
	}

	/* Writes around it work, and the data around it stays right. */
	cmds[0] = ut_cmd_fill(u, 0, hole, 0x44444444);
	cmds[1] = ut_cmd_fill(u, hole + page, size - hole - page, 0x55555555);
	ASSERT_EQ(0, ut_submit(self->fd, cmds, 2));
	EXPECT_EQ(-1, ut_find_not_dword(p, hole, 0x44444444));
	EXPECT_EQ(-1, ut_find_diff(p + hole, ref + hole, page));
	EXPECT_EQ(-1, ut_find_not_dword(p + hole + page, size - hole - page,
					0x55555555));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, hole - 8, page + 16));
	EXPECT_EQ(ut_fnv1a(p + hole - 8, page + 16), *(__u64 *)map);
	UT_BO_INFO(u, i1);
	log_info(_metadata, "after the split", &i1);
	EXPECT_EQ(size / page, i1.pages_resident);
	/* The split changed the mapping, not the pages: still a few runs. */
	EXPECT_GE(4ull, i1.sg_segments);

	/* Writable again: the device writes the page. */
	ASSERT_EQ(0, mprotect(p + hole, page, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, ut_store(self->fd, u, hole + 8, 0x66666666));
	EXPECT_EQ(0x66666666u, *(__u32 *)(p + hole + 8));
	free(ref);
}

/* munmap of 4 KiB inside a huge page: the hole fails with -EFAULT, the rest stays right. */
TEST_F(coherent_mm, thp_split_munmap)
{
	size_t size = 2 * UT_HPAGE, page = self->page, hole = UT_HPAGE + UT_HPAGE / 2;
	unsigned char *p, *q, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	struct drm_uptr_cmd cmds[2];
	__u32 u, d;

	UT_NEED_THP();

	ASSERT_NE(NULL, ref);
	ASSERT_LE(size, self->base.max_userptr);
	p = thp_region(_metadata, size, 1104);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, page);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	UT_BO_INFO(u, i0);

	ASSERT_EQ(0, munmap(p + hole, page));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_GE(size / page - 1, i1.pages_resident);

	/* The rest reads right. */
	cmds[0] = ut_cmd_checksum(d, 0, u, 0, hole);
	cmds[1] = ut_cmd_checksum(d, 8, u, hole + page, size - hole - page);
	ASSERT_EQ(0, ut_submit(self->fd, cmds, 2));
	EXPECT_EQ(ut_fnv1a(ref, hole), ((__u64 *)map)[0]);
	EXPECT_EQ(ut_fnv1a(ref + hole + page, size - hole - page),
		  ((__u64 *)map)[1]);

	/* The hole fails, reading or writing, and nothing of the job runs. */
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, d, 16, u, hole, page));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, d, 16, u, 0, size));
	cmds[0] = ut_cmd_fill(u, 0, page, 0x12345678);
	cmds[1] = ut_cmd_store(u, hole + page - 4, 0x9abcdef0);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, cmds, 2));
	EXPECT_EQ(-1, ut_find_diff(p, ref, hole));
	EXPECT_EQ(-1, ut_find_diff(p + hole + page, ref + hole + page,
				   size - hole - page));

	/* The BO stays usable around the hole... */
	ASSERT_EQ(0, ut_fill(self->fd, u, hole + page, page, 0x77777777));
	EXPECT_EQ(-1, ut_find_not_dword(p + hole + page, page, 0x77777777));
	memset(ref + hole + page, 0x77, page);

	/* ...and over it once memory is mapped there again. */
	q = mmap(p + hole, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p + hole, q);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 16, u, hole, page));
	memset(ref + hole, 0, page);
	EXPECT_EQ(ut_fnv1a(ref + hole, page), ((__u64 *)map)[2]);
	ASSERT_EQ(0, ut_store(self->fd, u, hole + 4, 0x0badf00d));
	EXPECT_EQ(0x0badf00du, *(__u32 *)(q + 4));
	*(__u32 *)(ref + hole + 4) = 0x0badf00d;
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	UT_BO_INFO(u, i1);
	log_info(_metadata, "after the hole was mapped again", &i1);
	EXPECT_LE(5ull, i1.jobs);
	free(ref);
}

/* MADV_COLLAPSE replaces small pages by a huge page: the device follows, then sees one run. */
TEST_F(coherent_mm, thp_collapse)
{
	size_t size = UT_HPAGE, page = self->page, n = size / page;
	unsigned char *p, *map = NULL, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1;
	int attempt, ret = 0;
	__u64 pfn0;
	__u32 u, d;

	UT_NEED_THP();

	ASSERT_NE(NULL, ref);
	p = ut_alloc_thp(size);
	ASSERT_NE(NULL, p);
	/* Small pages first... */
	ASSERT_EQ(0, madvise(p, size, MADV_NOHUGEPAGE));
	ut_pattern(p, size, 1105);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));
	ASSERT_EQ(0, madvise(p, size, MADV_HUGEPAGE));

	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, page);
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	check_all_resident(_metadata, self->fd, u, n);
	UT_BO_INFO(u, i0);
	pfn0 = pfn_of(p);

	/* ...then collapsed into a huge page, a copy at another place. */
	for (attempt = 0; attempt < 5; attempt++) {
		ret = madvise(p, size, MADV_COLLAPSE) ? -errno : 0;
		if (ret != -EAGAIN)
			break;
		usleep(20 * 1000);
	}
	ASSERT_EQ(0, ret) {
		TH_LOG("MADV_COLLAPSE: %s (does the driver hold page references?)",
		       strerror(-ret));
	}
	ASSERT_EQ((long)(size / 1024),
		  ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));
	EXPECT_NE(pfn0, pfn_of(p));
	UT_BO_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations) {
		TH_LOG("the pages were replaced by a huge page without an invalidation");
	}
	EXPECT_EQ(0ull, i1.pages_resident);

	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)map);
	UT_BO_INFO(u, i1);
	EXPECT_LE(i0.pages_faulted + n, i1.pages_faulted);
	EXPECT_EQ(n, i1.pages_resident);
	EXPECT_EQ(1ull, i1.sg_segments) {
		TH_LOG("%llu runs over one huge page",
		       (unsigned long long)i1.sg_segments);
	}

	/* Device writes land in the huge page. */
	ASSERT_EQ(0, ut_fill(self->fd, u, page, size - 2 * page, 0x1e1e1e1e));
	EXPECT_EQ(-1, ut_find_diff(p, ref, page));
	EXPECT_EQ(-1, ut_find_not_dword(p + page, size - 2 * page, 0x1e1e1e1e));
	EXPECT_EQ(-1, ut_find_diff(p + size - page, ref + size - page, page));
	EXPECT_EQ((long)(size / 1024),
		  ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size));
	free(ref);
}

/* ---- 13. userfaultfd ---- */

struct uffd_handler {
	int uffd;
	unsigned char *base;
	size_t npages, page;
	__u32 seed;
	atomic_bool stop;
	atomic_bool hold;		/* leave faults pending while set */
	atomic_int faults;		/* fault messages read */
	atomic_int served;		/* pages UFFDIO_COPY'd */
	atomic_int errors;
	int last_errno;
	int served_per_page[64];
};

/* Serves missing faults with UFFDIO_COPY of ut_pattern(seed + page index). */
static void *uffd_handler_fn(void *arg)
{
	struct uffd_handler *h = arg;
	unsigned char *src = malloc(h->page);

	if (!src) {
		h->errors++;
		return NULL;
	}
	while (!h->stop) {
		struct pollfd pfd = { .fd = h->uffd, .events = POLLIN };
		struct uffdio_copy copy;
		struct uffd_msg msg;
		unsigned long addr;
		size_t idx;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			h->errors++;
			continue;
		}
		addr = msg.arg.pagefault.address & ~(h->page - 1);
		idx = (addr - (uintptr_t)h->base) / h->page;
		if (addr < (uintptr_t)h->base || idx >= h->npages ||
		    idx >= ARRAY_SIZE(h->served_per_page)) {
			h->errors++;
			continue;
		}
		h->faults++;
		while (h->hold && !h->stop)
			usleep(1000);
		ut_pattern(src, h->page, h->seed + idx);
		copy = (struct uffdio_copy) {
			.dst = addr, .src = (uintptr_t)src, .len = h->page,
		};
		if (ioctl(h->uffd, UFFDIO_COPY, &copy)) {
			struct uffdio_range wake = { .start = addr,
						     .len = h->page };

			if (errno != EEXIST) {
				h->last_errno = errno;
				h->errors++;
			}
			ioctl(h->uffd, UFFDIO_WAKE, &wake);
			continue;
		}
		h->served_per_page[idx]++;
		h->served++;
	}
	free(src);
	return NULL;
}

/* Registers [@p, @p + @len) for missing faults with a new userfaultfd. */
static int uffd_register(void *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (uffd < 0)
		return -errno;
	if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		int ret = -errno;

		close(uffd);
		return ret;
	}
	return uffd;
}

struct job_thread {
	int fd;
	struct drm_uptr_cmd cmds[4];
	__u32 count;
	atomic_bool done;
	int ret;
};

static void *job_thread_fn(void *arg)
{
	struct job_thread *j = arg;

	j->ret = ut_submit(j->fd, j->cmds, j->count);
	j->done = true;
	return NULL;
}

/* Waits until @flag is set, at most @seconds; true if it was. */
static bool wait_flag(atomic_bool *flag, double seconds)
{
	double end = ut_now() + seconds;

	while (!*flag && ut_now() < end)
		usleep(1000);
	return *flag;
}

static bool wait_count(atomic_int *count, int n, double seconds)
{
	double end = ut_now() + seconds;

	while (*count < n && ut_now() < end)
		usleep(1000);
	return *count >= n;
}

/* A job reading a missing page waits for the userfaultfd handler, then sees its data. */
TEST_F_TIMEOUT(coherent_mm, uffd_missing_blocks, 60)
{
	size_t n = 4, page = self->page, size = n * page;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *want = malloc(page);
	struct uffd_handler h = { .page = page, .npages = n, .seed = 1301 };
	struct job_thread j = { .fd = self->fd, .count = 1 };
	struct drm_uptr_bo_info i;
	pthread_t ht, jt;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, want);
	h.base = p;
	h.uffd = uffd_register(p, size);
	ASSERT_LE(0, h.uffd) {
		TH_LOG("userfaultfd: %s", strerror(-h.uffd));
	}
	h.hold = true;
	ASSERT_EQ(0, pthread_create(&ht, NULL, uffd_handler_fn, &h));

	/* Creating the userptr faults nothing in. */
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, page);
	usleep(50 * 1000);
	EXPECT_EQ(0, h.faults);

	j.cmds[0] = ut_cmd_copy(d, 0, u, 2 * page, page);
	ASSERT_EQ(0, pthread_create(&jt, NULL, job_thread_fn, &j));
	if (!wait_count(&h.faults, 1, WAIT_S))
		wait_flag(&j.done, 1.0);
	EXPECT_EQ(1, h.faults) {
		TH_LOG("the job raised no userfault (job %s, returned %d)",
		       j.done ? "done" : "still running", j.ret);
	}
	/* The fault is pending: the job must be waiting for it. */
	usleep(300 * 1000);
	EXPECT_FALSE(j.done) {
		TH_LOG("the job completed (%d: %s) before its userfault was resolved",
		       j.ret, strerror(-j.ret));
	}
	h.hold = false;
	if (!wait_flag(&j.done, WAIT_S)) {
		TH_LOG("deadlock: the job is still blocked %.0f s after UFFDIO_COPY (%d served, %d errors)",
		       WAIT_S, h.served, h.errors);
		/* Closing the userfaultfd lets the fault go through. */
		h.stop = true;
		pthread_join(ht, NULL);
		close(h.uffd);
		h.uffd = -1;
		wait_flag(&j.done, WAIT_S);
		ASSERT_TRUE(j.done);
	}
	pthread_join(jt, NULL);
	h.stop = true;
	pthread_join(ht, NULL);

	ASSERT_EQ(0, j.ret) {
		TH_LOG("the job over a userfaultfd-missing page failed: %s",
		       strerror(-j.ret));
	}
	EXPECT_EQ(0, h.errors) {
		TH_LOG("handler: last errno %d", h.last_errno);
	}
	EXPECT_EQ(1, h.served);
	EXPECT_EQ(1, h.served_per_page[2]);
	ut_pattern(want, page, h.seed + 2);
	EXPECT_EQ(-1, ut_find_diff(map, want, page));
	EXPECT_EQ(-1, ut_find_diff(p + 2 * page, want, page));
	UT_BO_INFO(u, i);
	EXPECT_EQ(1ull, i.jobs);
	EXPECT_EQ(1ull, i.pages_faulted);
	EXPECT_EQ(1ull, i.pages_resident);
	if (h.uffd >= 0)
		close(h.uffd);
	free(want);
}

/* A job over several missing pages, reading some and writing others, completes with their data. */
TEST_F_TIMEOUT(coherent_mm, uffd_missing_several, 60)
{
	size_t n = 8, page = self->page, size = n * page, k;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL, *want = malloc(size);
	struct uffd_handler h = { .page = page, .npages = n, .seed = 1310 };
	struct job_thread j = { .fd = self->fd, .count = 2 };
	struct drm_uptr_bo_info i;
	pthread_t ht, jt;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, want);
	h.base = p;
	h.uffd = uffd_register(p, size);
	ASSERT_LE(0, h.uffd) {
		TH_LOG("userfaultfd: %s", strerror(-h.uffd));
	}
	ASSERT_EQ(0, pthread_create(&ht, NULL, uffd_handler_fn, &h));
	UT_USERPTR(u, p, size, 0);
	UT_DEVICE_BO(d, map, size);

	/* Reads the first half; fills the second (a write into missing pages). */
	j.cmds[0] = ut_cmd_copy(d, 0, u, 0, size / 2);
	j.cmds[1] = ut_cmd_fill(u, size / 2, size / 2, 0x5eed5eed);
	ASSERT_EQ(0, pthread_create(&jt, NULL, job_thread_fn, &j));
	if (!wait_flag(&j.done, 2 * WAIT_S)) {
		TH_LOG("deadlock: the job is still blocked after %.0f s (%d faults, %d served)",
		       2 * WAIT_S, h.faults, h.served);
		h.stop = true;
		pthread_join(ht, NULL);
		close(h.uffd);
		h.uffd = -1;
		wait_flag(&j.done, WAIT_S);
		ASSERT_TRUE(j.done);
	}
	pthread_join(jt, NULL);
	h.stop = true;
	pthread_join(ht, NULL);

	ASSERT_EQ(0, j.ret) {
		TH_LOG("the job over userfaultfd-missing pages failed: %s (%d faults served)",
		       strerror(-j.ret), h.served);
	}
	EXPECT_EQ(0, h.errors);
	EXPECT_EQ((int)n, h.served);
	for (k = 0; k < n; k++)
		EXPECT_EQ(1, h.served_per_page[k]);
	for (k = 0; k < n / 2; k++)
		ut_pattern(want + k * page, page, h.seed + k);
	EXPECT_EQ(-1, ut_find_diff(map, want, size / 2));
	EXPECT_EQ(-1, ut_find_diff(p, want, size / 2));
	EXPECT_EQ(-1, ut_find_not_dword(p + size / 2, size / 2, 0x5eed5eed));
	UT_BO_INFO(u, i);
	EXPECT_EQ(1ull, i.jobs);
	EXPECT_LE(n, i.pages_faulted);
	EXPECT_EQ(n, i.pages_resident);
	if (h.uffd >= 0)
		close(h.uffd);
	free(want);
}

/* ---- jobs racing migration and page-out ---- */

struct stream {
	int fd;
	__u32 u, d;
	unsigned char *p, *map, *model;
	size_t npages, page;
	atomic_bool stop;
	unsigned long ok, eagain, other, bad;
	int other_err;
	long bad_off;
};

/*
 * Submits jobs until told to stop: each stores a dword into the userptr
 * then copies all of it to the device BO, which must then equal the
 * model (the stores that ran: all of a job that succeeded, maybe the
 * store of one that failed with -EAGAIN in its copy).
 */
static void *stream_fn(void *arg)
{
	struct stream *s = arg;
	size_t size = s->npages * s->page;
	__u32 i;

	for (i = 1; !s->stop; i++) {
		size_t off = (i * 7 % s->npages) * s->page + (i % 64) * 4;
		__u32 val = i * 2654435761u;
		struct drm_uptr_cmd cmds[2] = {
			ut_cmd_store(s->u, off, val),
			ut_cmd_copy(s->d, 0, s->u, 0, size),
		};
		long diff;
		int ret;

		memset(s->map, 0, size);
		ret = ut_submit(s->fd, cmds, 2);
		if (ret == -EAGAIN) {
			__u32 now, old;

			/*
			 * A failed job's commands that ran stay done: the
			 * store ran or not, and nothing else wrote there.
			 */
			s->eagain++;
			memcpy(&now, s->p + off, 4);
			memcpy(&old, s->model + off, 4);
			if (now == val)
				memcpy(s->model + off, &val, 4);
			else if (now != old && !s->bad++)
				s->bad_off = off;
			continue;
		}
		if (ret) {
			s->other++;
			s->other_err = ret;
			continue;
		}
		s->ok++;
		memcpy(s->model + off, &val, 4);
		diff = ut_find_diff(s->map, s->model, size);
		if (diff >= 0 && !s->bad++)
			s->bad_off = diff;
	}
	return NULL;
}

static void stream_check(struct __test_metadata *_metadata, struct stream *s,
			 unsigned long rounds,
			 const struct drm_uptr_bo_info *i0,
			 const struct drm_uptr_bo_info *i1)
{
	size_t size = s->npages * s->page;

	TH_LOG("%lu rounds that took the pages away: %lu jobs ok, %lu -EAGAIN, %lu other; %llu invalidations",
	       rounds, s->ok, s->eagain, s->other,
	       (unsigned long long)(i1->invalidations - i0->invalidations));
	EXPECT_EQ(0ul, s->other) {
		TH_LOG("a job failed with %d (%s): only -EAGAIN is allowed",
		       s->other_err, strerror(-s->other_err));
	}
	EXPECT_EQ(0ul, s->bad) {
		TH_LOG("%lu jobs copied wrong data, first at offset %ld",
		       s->bad, s->bad_off);
	}
	EXPECT_LE(5ul, s->ok);
	EXPECT_LE(1ul, rounds);
	EXPECT_LT(i0->invalidations, i1->invalidations);
	EXPECT_LE(i0->jobs + s->ok, i1->jobs);
	/* The CPU sees exactly the stores of the jobs that ran them. */
	EXPECT_EQ(-1, ut_find_diff(s->p, s->model, size)) {
		TH_LOG("the CPU does not see the device's stores");
	}
}

/*
 * Sets up a stream over a fresh userptr, takes the "before" snapshot of
 * its BO_INFO into @i0, then starts the stream thread (@t): the snapshot
 * must come first, or jobs that complete before it count twice.
 */
static void stream_start(struct __test_metadata *_metadata,
			 FIXTURE_DATA(coherent_mm) *self, struct stream *s,
			 size_t n, struct drm_uptr_bo_info *i0, pthread_t *t)
{
	size_t size = n * self->page;

	memset(s, 0, sizeof(*s));
	s->fd = self->fd;
	s->page = self->page;
	s->npages = n;
	s->p = ut_alloc_small_pages(size);
	s->model = malloc(size);
	ASSERT_NE(NULL, s->p);
	ASSERT_NE(NULL, s->model);
	ut_pattern(s->p, size, 1401);
	memcpy(s->model, s->p, size);
	UT_USERPTR(s->u, s->p, size, 0);
	UT_DEVICE_BO(s->d, s->map, size);
	UT_BO_INFO(s->u, *i0);
	ASSERT_EQ(0, pthread_create(t, NULL, stream_fn, s));
}

static void stream_stop(struct __test_metadata *_metadata, struct stream *s,
			pthread_t t)
{
	struct timespec ts;

	s->stop = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)WAIT_S;
	ASSERT_EQ(0, pthread_timedjoin_np(t, NULL, &ts)) {
		TH_LOG("the job thread is stuck (deadlock?)");
	}
}

/* Jobs keep running right while their pages migrate between nodes. */
TEST_F(coherent_mm, stream_migrate)
{
	struct drm_uptr_bo_info i0, i1;
	unsigned long rounds = 0;
	struct stream s;
	pthread_t t;
	double end;
	int node;

	need_two_nodes(_metadata);
	stream_start(_metadata, self, &s, 32, &i0, &t);
	node = node_of(s.p);
	ASSERT_LE(0, node);
	end = ut_now() + STREAM_S;
	while (ut_now() < end) {
		node = node == 0 ? 1 : 0;
		if (move_to_node(s.p, s.npages, s.page, node) == s.npages)
			rounds++;
	}
	stream_stop(_metadata, &s, t);
	UT_BO_INFO(s.u, i1);
	stream_check(_metadata, &s, rounds, &i0, &i1);
}

/* Jobs keep running right while their pages are paged out again and again. */
TEST_F(coherent_mm, stream_pageout)
{
	struct drm_uptr_bo_info i0, i1;
	unsigned long rounds = 0;
	struct stream s;
	pthread_t t;
	double end;

	ut_need_swap(_metadata);
	stream_start(_metadata, self, &s, 32, &i0, &t);
	end = ut_now() + STREAM_S;
	while (ut_now() < end) {
		struct drm_uptr_bo_info a, b;

		/*
		 * A round took pages away if they are still swapped out, or
		 * if the userptr saw an invalidation meanwhile: a job running
		 * at that moment may have swapped them in again already.
		 */
		UT_BO_INFO(s.u, a);
		ASSERT_EQ(0, madvise(s.p, s.npages * s.page, MADV_PAGEOUT));
		UT_BO_INFO(s.u, b);
		if (ut_count_pagemap(s.p, s.npages, s.page, UT_PM_SWAP) ||
		    b.invalidations > a.invalidations)
			rounds++;
		usleep(5 * 1000);
	}
	stream_stop(_metadata, &s, t);
	UT_BO_INFO(s.u, i1);
	stream_check(_metadata, &s, rounds, &i0, &i1);
}

TEST_HARNESS_MAIN
