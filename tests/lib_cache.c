// SPDX-License-Identifier: GPL-2.0
/*
 * Description: libuptr's registration cache (uptr_buf_get/put): hits
 * and misses counted, the offset of a pointer in its BO, and that no
 * lookup ever serves memory other than what the CPU has at the address
 * now: pinned BOs are cached with NOTIFY and checked against the
 * generation page on every lookup, so free() + malloc() at the same
 * address (libfabric's mr_cache_evict case), munmap + mmap, MAP_FIXED,
 * mremap and madvise(DONTNEED) get the new pages, while an unchanged
 * pinned range hits; all slots taken recycles the least recently used
 * pinned BO; a cached coherent BO follows MAP_FIXED and mremap (the
 * kernel re-faults); the byte budget evicts least recently used and
 * unreferenced BOs only; threads share one cache; a forked child never
 * uses or destroys the parent's BOs.  Links the kernel's GPL-2.0
 * kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

#include <malloc.h>
#include <pthread.h>

#define SZ	(64 * 1024)

/* The engine's checksum of [@ptr, @ptr + @len) through a cached buf. */
#define CHECK_SUM(buf, ptr, len) do { \
	uint64_t _s = 0; \
	ASSERT_EQ(0, lt_checksum(self->dev, self->res, self->map, buf, ptr, len, &_s)); \
	EXPECT_EQ(ut_fnv1a(ptr, len), _s); \
} while (0)

/* A second get of a covered range hits the cached BO; counters agree. */
TEST_F(lib, hit_and_offset)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a, *b, *c;
	struct uptr_cache_stats st;

	ASSERT_NE(NULL, p);
	ut_pattern(p, SZ, 1);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &a));
	EXPECT_EQ((void *)p, uptr_buf_addr(a));
	EXPECT_EQ((uint64_t)SZ, uptr_buf_size(a));
	/* A sub-range, unaligned: the same BO, at its offset. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + 100, 1000, 0, &b));
	EXPECT_EQ(a, b);
	EXPECT_EQ(100, uptr_buf_offset(b, p + 100));
	EXPECT_EQ(-ERANGE, uptr_buf_offset(b, p + SZ));
	EXPECT_EQ(-ERANGE, uptr_buf_offset(b, p - 1));
	CHECK_SUM(b, p + 104, 1000);
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(0, uptr_buf_put(a));
	/* Unreferenced, still cached: a hit again. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &c));
	EXPECT_EQ(a, c);
	st = lt_stats(self->dev);
	EXPECT_EQ(1ull, st.misses);
	EXPECT_EQ(2ull, st.hits);
	EXPECT_EQ(1ull, st.entries);
	EXPECT_EQ((uint64_t)SZ, st.bytes_cached);
	EXPECT_EQ(0ull, st.evictions);
	EXPECT_EQ(0ull, st.stale_evictions);
	/* A different kind or READ_ONLY is a different BO. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_READ_ONLY, &b));
	EXPECT_NE(a, b);
	EXPECT_EQ(0, uptr_buf_put(b));
	/* A range sticking out of the cached one is a miss, rounded to pages. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + 10, SZ, 0, &b));
	EXPECT_NE(a, b);
	EXPECT_EQ((uint64_t)SZ + self->page, uptr_buf_size(b));
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(0, uptr_buf_put(c));
	st = lt_stats(self->dev);
	EXPECT_EQ(3ull, st.misses);
	EXPECT_EQ(3ull, st.entries);
	EXPECT_EQ(3, uptr_cache_flush(self->dev));
	st = lt_stats(self->dev);
	EXPECT_EQ(0ull, st.entries);
	EXPECT_EQ(0ull, st.bytes_cached);
	EXPECT_EQ(3ull, st.evictions);
	munmap(p, SZ);
}

/* Bad arguments come back as -errno and change nothing. */
TEST_F(lib, errors)
{
	struct uptr_cache_stats st = { .size = 4 };
	struct uptr_buf *b = NULL;
	char x[64];

	EXPECT_EQ(-EINVAL, uptr_buf_get(self->dev, x, 0, 0, &b));
	EXPECT_EQ(-EINVAL, uptr_buf_get(self->dev, x, 1, 1u << 30, &b));
	EXPECT_EQ(-EINVAL, uptr_buf_get(self->dev, x, 1, 0, NULL));
	EXPECT_EQ(-E2BIG, uptr_buf_get(self->dev, (void *)(UINTPTR_MAX - 10), 100, 0, &b));
	EXPECT_EQ(-EFAULT, uptr_buf_get(self->dev, (void *)(1ull << 62), 100, 0, &b));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0, uptr_buf_put(NULL));
	EXPECT_EQ(-EINVAL, uptr_cache_stats(self->dev, &st));
	st = lt_stats(self->dev);
	EXPECT_EQ(0ull, st.entries);
	EXPECT_EQ(0ull, st.hits);
}

/*
 * libfabric's mr_cache_evict scenario: free() then malloc() returning
 * the same address with new pages under it.  free() unmapped the block,
 * so the cached pinned BO's counter moved: every round is a miss whose
 * job checksums the new contents, and the previous round's BO is evicted
 * as stale; the test refuses to pass unless an address was actually
 * reused.
 */
TEST_F(lib, pinned_free_malloc_reuse)
{
	void *prev = NULL;
	int i, reused = 0, rounds = 16;
	struct uptr_cache_stats st;

	/* Every 1 MiB block mmap'd by malloc and munmap'd by free. */
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 128 * 1024));
	for (i = 0; i < rounds; i++) {
		unsigned char *p = malloc(1 << 20);
		struct uptr_buf *b;

		ASSERT_NE(NULL, p);
		reused += p == prev;
		ut_pattern(p, 1 << 20, i);
		ASSERT_EQ(0, uptr_buf_get(self->dev, p, 1 << 20, DRM_UPTR_USERPTR_PINNED, &b));
		CHECK_SUM(b, p, 1 << 20);
		EXPECT_EQ(0, uptr_buf_put(b));
		prev = p;
		free(p);
	}
	TH_LOG("%d of %d rounds reused the previous address", reused, rounds - 1);
	EXPECT_LE(1, reused);
	st = lt_stats(self->dev);
	EXPECT_EQ((uint64_t)rounds, st.misses);
	EXPECT_EQ(0ull, st.hits);
	EXPECT_EQ((uint64_t)rounds - 1, st.stale_evictions);
	/* The last BO stays indexed, stale, until a lookup or a sweep. */
	EXPECT_EQ(1ull, st.entries);
}

/* The same with munmap + mmap at exactly the same address. */
TEST_F(lib, pinned_remap_same_address)
{
	static unsigned char old[SZ];
	unsigned char *p = ut_alloc(SZ), *q;
	struct uptr_buf *a, *b, *held;
	struct drm_uptr_cmd c;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &a));
	/* The range did not change: a hit. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &held));
	EXPECT_EQ(a, held);
	EXPECT_EQ(0, uptr_buf_put(a));
	ASSERT_EQ(0, munmap(p, SZ));
	q = mmap(p, SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ((void *)p, (void *)q);
	memset(q, 0x22, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, q, SZ, DRM_UPTR_USERPTR_PINNED, &b));
	EXPECT_NE(uptr_buf_handle(held), uptr_buf_handle(b));
	CHECK_SUM(b, q, SZ);
	c = uptr_cmd_checksum(self->res, 0, uptr_buf_handle(held), 0, SZ);
	memset(old, 0x11, SZ);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(ut_fnv1a(old, SZ), *(uint64_t *)self->map);
	EXPECT_EQ(0, uptr_buf_put(b));
	/* A BO still referenced keeps the old pages (pinned semantics). */
	EXPECT_EQ(0, uptr_buf_put(held));
	EXPECT_EQ(2ull, lt_stats(self->dev).misses);
	EXPECT_EQ(1ull, lt_stats(self->dev).hits);
	EXPECT_EQ(1ull, lt_stats(self->dev).stale_evictions);
	munmap(q, SZ);
}

/*
 * A pinned range that does not change hits, checked by one load of the
 * generation page; MAP_FIXED or madvise(DONTNEED) over it makes the next
 * lookup a miss that sees the new memory.
 */
TEST_F(lib, pinned_cached_until_stale)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a, *b;
	uint32_t h;
	int round;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &a));
	h = uptr_buf_handle(a);
	EXPECT_EQ(0, uptr_buf_put(a));
	for (round = 0; round < 8; round++) {
		memset(p, round, SZ);
		ASSERT_EQ(0, uptr_buf_get(self->dev, p + 4096, 100, DRM_UPTR_USERPTR_PINNED, &a));
		EXPECT_EQ(h, uptr_buf_handle(a));
		CHECK_SUM(a, p, SZ);
		EXPECT_EQ(0, uptr_buf_put(a));
	}
	EXPECT_EQ(8ull, lt_stats(self->dev).hits);

	ASSERT_EQ((void *)p, mmap(p, SZ, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	memset(p, 0x22, SZ);
	/* (The stale BO is destroyed first: its handle number may come back.) */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &a));
	CHECK_SUM(a, p, SZ);
	EXPECT_EQ(0, uptr_buf_put(a));
	EXPECT_EQ(1ull, lt_stats(self->dev).stale_evictions);

	ASSERT_EQ(0, madvise(p, SZ, MADV_DONTNEED));
	memset(p, 0x33, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &b));
	CHECK_SUM(b, p, SZ);
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(2ull, lt_stats(self->dev).stale_evictions);
	EXPECT_EQ(8ull, lt_stats(self->dev).hits);
	EXPECT_EQ(3ull, lt_stats(self->dev).misses);
	munmap(p, SZ);
}

/*
 * More pinned ranges than the generation page has slots: each get still
 * works, the least recently used pinned BO giving its slot back, and
 * the most recent ones hit.
 */
TEST_F(lib, pinned_more_than_slots)
{
	const int n = 600;
	unsigned char *p = ut_alloc((size_t)n * 4096);
	struct uptr_buf *b;
	uint32_t h = 0;
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, (size_t)n * 4096);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, uptr_buf_get(self->dev, p + (size_t)i * 4096, 4096,
					  DRM_UPTR_USERPTR_PINNED, &b)) {
			TH_LOG("get %d", i);
		}
		h = uptr_buf_handle(b);
		EXPECT_EQ(0, uptr_buf_put(b));
	}
	EXPECT_EQ((uint64_t)n, lt_stats(self->dev).misses);
	EXPECT_LE((uint64_t)(n - 512), lt_stats(self->dev).evictions);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + (size_t)(n - 1) * 4096, 4096,
				  DRM_UPTR_USERPTR_PINNED, &b));
	EXPECT_EQ(h, uptr_buf_handle(b));
	CHECK_SUM(b, p + (size_t)(n - 1) * 4096, 4096);
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(1ull, lt_stats(self->dev).hits);
	munmap(p, (size_t)n * 4096);
}

/*
 * Coherent: after munmap + mmap(MAP_FIXED) of new memory at the same
 * address, the lookup hits the cached BO and its job sees the NEW
 * memory (the kernel dropped the old pages and re-faults).
 */
TEST_F(lib, coherent_map_fixed_hit_sees_new)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a, *b;
	uint32_t h;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &a));
	h = uptr_buf_handle(a);
	CHECK_SUM(a, p, SZ);
	EXPECT_EQ(0, uptr_buf_put(a));
	/* Replace in place... */
	ASSERT_EQ((void *)p, mmap(p, SZ, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	memset(p, 0x22, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &b));
	EXPECT_EQ(h, uptr_buf_handle(b));
	CHECK_SUM(b, p, SZ);
	EXPECT_EQ(0, uptr_buf_put(b));
	/* ...and unmap, then map again at the same address. */
	ASSERT_EQ(0, munmap(p, SZ));
	ASSERT_EQ((void *)p, mmap(p, SZ, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	memset(p, 0x33, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &b));
	EXPECT_EQ(h, uptr_buf_handle(b));
	CHECK_SUM(b, p, SZ);
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(1ull, lt_stats(self->dev).misses);
	EXPECT_EQ(2ull, lt_stats(self->dev).hits);
	munmap(p, SZ);
}

/* Coherent: malloc/free reuse of an address is a hit on the new pages. */
TEST_F(lib, coherent_free_malloc_reuse)
{
	void *prev = NULL;
	int i, reused = 0, rounds = 16;

	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 128 * 1024));
	for (i = 0; i < rounds; i++) {
		unsigned char *p = malloc(1 << 20);
		struct uptr_buf *b;

		ASSERT_NE(NULL, p);
		reused += p == prev;
		ut_pattern(p, 1 << 20, i);
		ASSERT_EQ(0, uptr_buf_get(self->dev, p, 1 << 20, 0, &b));
		CHECK_SUM(b, p, 1 << 20);
		EXPECT_EQ(0, uptr_buf_put(b));
		prev = p;
		free(p);
	}
	EXPECT_LE(1, reused);
	EXPECT_EQ((uint64_t)rounds, lt_stats(self->dev).misses +
				    lt_stats(self->dev).hits);
	EXPECT_LE((uint64_t)reused, lt_stats(self->dev).hits);
}

/*
 * mremap moves memory away: a lookup at the new address is a miss that
 * sees the moved data; the old address, mapped again, hits the old BO
 * and sees what is mapped there now.  Pinned: always a fresh BO.
 */
TEST_F(lib, mremap_coherent_and_pinned)
{
	unsigned char *p, *q, *r;
	struct uptr_buf *a, *b;
	uint32_t h;
	int kind;

	for (kind = 0; kind < 2; kind++) {
		uint32_t f = kind ? DRM_UPTR_USERPTR_PINNED : 0;
		uint64_t miss0 = lt_stats(self->dev).misses;
		uint64_t hit0 = lt_stats(self->dev).hits;

		p = ut_alloc(SZ);
		/* A destination for the move, never touching [p, p + SZ). */
		r = ut_alloc(3 * SZ);
		ASSERT_NE(NULL, p);
		ASSERT_NE(NULL, r);
		ut_pattern(p, SZ, 5 + kind);
		ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, f, &a));
		h = uptr_buf_handle(a);
		CHECK_SUM(a, p, SZ);
		EXPECT_EQ(0, uptr_buf_put(a));
		q = mremap(p, SZ, SZ, MREMAP_MAYMOVE | MREMAP_FIXED, r + SZ);
		ASSERT_EQ((void *)(r + SZ), (void *)q);
		ASSERT_EQ(0, uptr_buf_get(self->dev, q, SZ, f, &b));
		CHECK_SUM(b, q, SZ);
		EXPECT_EQ(0, uptr_buf_put(b));
		ASSERT_EQ((void *)p, mmap(p, SZ, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
					  -1, 0));
		memset(p, 0x44, SZ);
		ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, f, &a));
		/* Coherent: the cached BO; pinned: a new one (a miss below). */
		if (!kind) {
			EXPECT_EQ(h, uptr_buf_handle(a));
		}
		CHECK_SUM(a, p, SZ);
		EXPECT_EQ(0, uptr_buf_put(a));
		EXPECT_EQ(miss0 + (kind ? 3 : 2), lt_stats(self->dev).misses);
		EXPECT_EQ(hit0 + (kind ? 0 : 1), lt_stats(self->dev).hits);
		munmap(p, SZ);
		munmap(r, 3 * SZ);
	}
}

/* The budget evicts the least recently used unreferenced BO only. */
TEST_F(lib, budget_lru)
{
	unsigned char *m[4], *base = ut_alloc(8 * SZ);
	struct uptr_buf *b[4], *x;
	struct drm_uptr_bo_info info;
	uint32_t ha;
	int i;

	ASSERT_EQ(0, uptr_cache_set_budget(self->dev, 3 * SZ));
	EXPECT_EQ((uint64_t)3 * SZ, lt_stats(self->dev).budget);
	/* Ranges with gaps between them, so that none merges with another. */
	ASSERT_NE(NULL, base);
	for (i = 0; i < 4; i++)
		m[i] = base + 2 * i * SZ;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, uptr_buf_get(self->dev, m[i], SZ, 0, &b[i]));
		EXPECT_EQ(0, uptr_buf_put(b[i]));
	}
	ha = uptr_buf_handle(b[0]);
	/* Use 0 again: 1 is now the least recently used. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, m[0], SZ, 0, &x));
	EXPECT_EQ(0, uptr_buf_put(x));
	ASSERT_EQ(0, uptr_buf_get(self->dev, m[3], SZ, 0, &b[3]));
	EXPECT_EQ(0, uptr_buf_put(b[3]));
	EXPECT_EQ(1ull, lt_stats(self->dev).evictions);
	EXPECT_EQ((uint64_t)3 * SZ, lt_stats(self->dev).bytes_cached);
	ASSERT_EQ(0, uptr_buf_get(self->dev, m[0], SZ, 0, &x));
	EXPECT_EQ(ha, uptr_buf_handle(x));
	EXPECT_EQ(4ull, lt_stats(self->dev).misses);
	EXPECT_EQ(2ull, lt_stats(self->dev).hits);
	/* Budget 0 with 0 held: the others go, 0 stays until put. */
	ASSERT_EQ(0, uptr_cache_set_budget(self->dev, 0));
	EXPECT_EQ(1ull, lt_stats(self->dev).entries);
	EXPECT_EQ(3ull, lt_stats(self->dev).evictions);
	CHECK_SUM(x, m[0], SZ);
	EXPECT_EQ(0, uptr_buf_put(x));
	EXPECT_EQ(0ull, lt_stats(self->dev).entries);
	EXPECT_EQ(4ull, lt_stats(self->dev).evictions);
	/* Evicted means destroyed. */
	EXPECT_EQ(-ENOENT, uptr_bo_info(self->dev, ha, &info));
	EXPECT_EQ(0ull, lt_stats(self->dev).merges);
	munmap(base, 8 * SZ);
}

/*
 * Coherent misses next to unreferenced cached BOs replace them with one
 * BO over the union (creating a coherent userptr costs the same for any
 * size); a referenced BO is never merged away, and PROBE never merges.
 */
TEST_F(lib, adjacent_ranges_merge)
{
	unsigned char *p = ut_alloc(4 * SZ);
	struct uptr_buf *a, *b, *c;
	struct drm_uptr_bo_info info;
	uint32_t ha;

	ASSERT_NE(NULL, p);
	ut_pattern(p, 4 * SZ, 3);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &a));
	ha = uptr_buf_handle(a);
	EXPECT_EQ(0, uptr_buf_put(a));
	/* Touches [p, p + SZ): one BO over [p, p + 2 SZ) replaces it. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + SZ, SZ, 0, &b));
	EXPECT_EQ((void *)p, uptr_buf_addr(b));
	EXPECT_EQ((uint64_t)2 * SZ, uptr_buf_size(b));
	EXPECT_EQ(SZ, uptr_buf_offset(b, p + SZ));
	EXPECT_EQ(1ull, lt_stats(self->dev).merges);
	EXPECT_EQ(1ull, lt_stats(self->dev).entries);
	EXPECT_EQ((uint64_t)2 * SZ, lt_stats(self->dev).bytes_cached);
	EXPECT_EQ(-ENOENT, uptr_bo_info(self->dev, ha, &info));
	CHECK_SUM(b, p + SZ, SZ);
	/* Held: the next neighbour's miss does not take it away. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + 2 * SZ, SZ, 0, &c));
	EXPECT_EQ((void *)(p + 2 * SZ), uptr_buf_addr(c));
	EXPECT_EQ(1ull, lt_stats(self->dev).merges);
	EXPECT_EQ(0, uptr_buf_put(c));
	EXPECT_EQ(0, uptr_buf_put(b));
	/* A span of both now: a miss that merges both into one BO. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + 100, 3 * SZ - 200, 0, &a));
	EXPECT_EQ((void *)p, uptr_buf_addr(a));
	EXPECT_EQ((uint64_t)3 * SZ, uptr_buf_size(a));
	EXPECT_EQ(3ull, lt_stats(self->dev).merges);
	EXPECT_EQ(1ull, lt_stats(self->dev).entries);
	CHECK_SUM(a, p + 100, 3 * SZ - 200);
	EXPECT_EQ(0, uptr_buf_put(a));
	/* Then the whole span hits. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + SZ, 2 * SZ, 0, &b));
	EXPECT_EQ(a, b);
	EXPECT_EQ(0, uptr_buf_put(b));
	/* PROBE: a BO of exactly the range asked for. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p + 3 * SZ, SZ, DRM_UPTR_USERPTR_PROBE, &c));
	EXPECT_EQ((uint64_t)SZ, uptr_buf_size(c));
	EXPECT_EQ(3ull, lt_stats(self->dev).merges);
	EXPECT_EQ(0, uptr_buf_put(c));
	EXPECT_EQ(0ull, lt_stats(self->dev).evictions);
	EXPECT_EQ(1ull, lt_stats(self->dev).hits);
	munmap(p, 4 * SZ);
}

/*
 * Flags are part of the key: a READ_ONLY get over a PROT_READ mapping
 * works and is cached apart; a read-write get there with PROBE fails
 * with -EFAULT, counts as a miss and caches nothing.
 */
TEST_F(lib, flags_probe_read_only)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a, *b;
	struct drm_uptr_cmd c;
	uint64_t entries;

	ASSERT_NE(NULL, p);
	memset(p, 0x3c, SZ);
	ASSERT_EQ(0, mprotect(p, SZ, PROT_READ));
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_READ_ONLY |
				  DRM_UPTR_USERPTR_PROBE, &a));
	CHECK_SUM(a, p, SZ);
	c = uptr_cmd_fill(uptr_buf_handle(a), 0, 4, 0);
	EXPECT_EQ(-EACCES, uptr_submit_cmds(self->dev, &c, 1));
	entries = lt_stats(self->dev).entries;
	EXPECT_EQ(-EFAULT, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PROBE, &b));
	EXPECT_EQ(entries, lt_stats(self->dev).entries);
	EXPECT_EQ(2ull, lt_stats(self->dev).misses);
	/* PROBE is not part of the key: a READ_ONLY get without it hits. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_READ_ONLY, &b));
	EXPECT_EQ(a, b);
	EXPECT_EQ(0, uptr_buf_put(b));
	EXPECT_EQ(0, uptr_buf_put(a));
	EXPECT_EQ(1ull, lt_stats(self->dev).hits);
	munmap(p, SZ);
}

/*
 * struct uptr_cache_stats carries its size: a larger struct of a newer
 * header gets the known members and its size back, its tail untouched.
 */
TEST_F(lib, stats_struct_abi)
{
	struct {
		struct uptr_cache_stats st;
		uint64_t future;
	} big;
	struct uptr_buf *b;
	char x[8];

	ASSERT_EQ(0, uptr_buf_get(self->dev, x, sizeof(x), 0, &b));
	EXPECT_EQ(0, uptr_buf_put(b));
	memset(&big, 0, sizeof(big));
	big.st.size = sizeof(big);
	big.future = 0x1234;
	ASSERT_EQ(0, uptr_cache_stats(self->dev, &big.st));
	EXPECT_EQ((uint32_t)sizeof(big), big.st.size);
	EXPECT_EQ(1ull, big.st.misses);
	EXPECT_EQ(1ull, big.st.entries);
	EXPECT_EQ(self->page, big.st.bytes_cached);
	EXPECT_EQ(256ull << 20, big.st.budget);
	EXPECT_EQ(0x1234ull, big.future);
}

struct thread_arg {
	struct uptr_dev *dev;
	unsigned char *shared, *own;
	int iters, errors;
};

static void *thread_fn(void *p)
{
	struct thread_arg *a = p;
	int i;

	for (i = 0; i < a->iters; i++) {
		struct uptr_buf *b, *c;

		if (uptr_buf_get(a->dev, a->shared, SZ, 0, &b)) {
			a->errors++;
			continue;
		}
		if (uptr_buf_get(a->dev, a->own + (i % 4) * 4096, 100, 0, &c)) {
			a->errors++;
		} else {
			struct drm_uptr_cmd cmd = uptr_cmd_store_dword(uptr_buf_handle(c),
				uptr_buf_offset(c, a->own + (i % 4) * 4096), i);

			if (uptr_submit_cmds(a->dev, &cmd, 1) ||
			    *(uint32_t *)(a->own + (i % 4) * 4096) != (uint32_t)i)
				a->errors++;
			uptr_buf_put(c);
		}
		uptr_buf_put(b);
	}
	return NULL;
}

/* Threads share one cache: every get counted once, data right. */
TEST_F(lib, threads)
{
	enum { T = 4, ITERS = 200 };
	struct thread_arg a[T];
	pthread_t th[T];
	unsigned char *shared = ut_alloc(SZ);
	struct uptr_cache_stats st;
	int i;

	ASSERT_NE(NULL, shared);
	for (i = 0; i < T; i++) {
		a[i] = (struct thread_arg){ .dev = self->dev, .shared = shared,
					    .own = ut_alloc(4 * 4096), .iters = ITERS };
		ASSERT_NE(NULL, a[i].own);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, thread_fn, &a[i]));
	}
	for (i = 0; i < T; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
		EXPECT_EQ(0, a[i].errors);
	}
	st = lt_stats(self->dev);
	EXPECT_EQ((uint64_t)2 * T * ITERS, st.hits + st.misses);
	/* Most gets hit; each miss made one BO, kept or merged away. */
	EXPECT_LE((uint64_t)T * ITERS, st.hits);
	EXPECT_EQ(0ull, st.evictions);
	EXPECT_EQ(st.misses, st.entries + st.merges);
}

TEST_HARNESS_MAIN
