// SPDX-License-Identifier: GPL-2.0
/*
 * Description: libuptr's stale pinned userptrs: uptr_userptr_create_notify(),
 * the generation page read with uptr_gen_check()/uptr_gen_load() (one
 * load, no system call), stale events read without blocking with
 * uptr_stale_event_read() after munmap, MAP_FIXED, mremap and
 * madvise(DONTNEED), poll() on the device fd, several events buffered,
 * none for a coherent userptr or a pinned one without NOTIFY, the
 * cache's own BOs reported too, uptr_notify_query(), the structs' size
 * rules and every errno.  Links the kernel's GPL-2.0
 * kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

#include <poll.h>
#include <pthread.h>

#define SZ		(64 * 1024)
#define PINNED		DRM_UPTR_USERPTR_PINNED

/* Whether the device fd has something to read right now. */
static bool fd_readable(struct uptr_dev *dev)
{
	struct pollfd pfd = { .fd = uptr_dev_fd(dev), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static struct uptr_notify_info nt_info(struct uptr_dev *dev)
{
	struct uptr_notify_info in = { .size = sizeof(in) };

	if (uptr_notify_query(dev, &in))
		memset(&in, 0xff, sizeof(in));
	return in;
}

/* The next event, or a zeroed one with @ret holding the error. */
static struct uptr_stale_event nt_event(struct uptr_dev *dev, int *ret)
{
	struct uptr_stale_event ev = { .size = sizeof(ev) };

	*ret = uptr_stale_event_read(dev, &ev);
	return ev;
}

/* Expects exactly one pending event: @handle, @reason, [@start, @end). */
#define EXPECT_ONE_EVENT(handle_, reason_, start_, end_) do { \
	int _r; \
	struct uptr_stale_event _e = nt_event(self->dev, &_r); \
	ASSERT_EQ(0, _r); \
	EXPECT_EQ((uint32_t)sizeof(_e), _e.size); \
	EXPECT_EQ(handle_, _e.handle); \
	EXPECT_EQ((uint32_t)(reason_), _e.reason); \
	EXPECT_EQ(0u, _e.pad); \
	EXPECT_EQ((uint64_t)(uintptr_t)(start_), _e.start); \
	EXPECT_EQ((uint64_t)(uintptr_t)(end_), _e.end); \
	nt_event(self->dev, &_r); \
	EXPECT_EQ(-EAGAIN, _r); \
} while (0)

/* The engine's checksum of @len bytes of BO @h into *@sum. */
static int nt_sum(struct uptr_dev *dev, uint32_t res, const unsigned char *map,
		  uint32_t h, size_t len, uint64_t *sum)
{
	struct drm_uptr_cmd c = uptr_cmd_checksum(res, 0, h, 0, len);
	int ret = uptr_submit_cmds(dev, &c, 1);

	if (!ret)
		memcpy(sum, map, 8);
	return ret;
}

/*
 * munmap of a NOTIFY userptr: the counter moves, one UNMAP event over
 * the range, poll() says so; the BO still reads the pages it pinned.
 */
TEST_F(lib, event_after_munmap)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_gen gen;
	uint64_t v, old, sum = 0;
	uint32_t h;
	int ret;

	ASSERT_NE(NULL, p);
	ut_pattern(p, SZ, 1);
	old = ut_fnv1a(p, SZ);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, &gen));
	EXPECT_EQ(0u, gen.pad);
	EXPECT_EQ(0, uptr_gen_check(self->dev, &gen));
	ASSERT_EQ(0, uptr_gen_load(self->dev, gen.slot, &v));
	EXPECT_EQ(gen.generation, v);
	EXPECT_FALSE(fd_readable(self->dev));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);

	ASSERT_EQ(0, munmap(p, SZ));
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	ASSERT_EQ(0, uptr_gen_load(self->dev, gen.slot, &v));
	EXPECT_NE(gen.generation, v);
	EXPECT_TRUE(fd_readable(self->dev));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_UNMAP, p, p + SZ);
	EXPECT_FALSE(fd_readable(self->dev));
	EXPECT_EQ(1ull, nt_info(self->dev).events_sent);
	EXPECT_EQ(0ull, nt_info(self->dev).events_lost);

	/* Stale, still usable: the job reads the pages it pinned. */
	ASSERT_EQ(0, nt_sum(self->dev, self->res, self->map, h, SZ, &sum));
	EXPECT_EQ(old, sum);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);
}

/* mmap(MAP_FIXED) over part of the range: an UNMAP event for that part. */
TEST_F(lib, event_after_map_fixed)
{
	unsigned char *p = ut_alloc(SZ), *q;
	struct uptr_gen gen;
	uint32_t h;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, &gen));
	q = mmap(p + self->page, 2 * self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p + self->page, q);
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_UNMAP, q, q + 2 * self->page);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	munmap(p, SZ);
}

/* mremap() moving the range: an UNMAP event over all of it. */
TEST_F(lib, event_after_mremap)
{
	unsigned char *p = ut_alloc(SZ), *q = ut_alloc(SZ), *r;
	struct uptr_gen gen;
	uint32_t h;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	ut_pattern(p, SZ, 2);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, &gen));
	r = mremap(p, SZ, SZ, MREMAP_MAYMOVE | MREMAP_FIXED, q);
	ASSERT_EQ(q, r);
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_UNMAP, p, p + SZ);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	munmap(q, SZ);
}

/*
 * madvise(DONTNEED) of one page: a ZAP event for that page; a later
 * munmap sends no second event (one per BO); the counter moved once
 * and for good; destroying a fresh BO moves its counter, with no event.
 */
TEST_F(lib, generation_moves)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_gen gen, gen2;
	uint64_t v1, v2;
	uint32_t h, h2;
	int ret;

	ASSERT_NE(NULL, p);
	memset(p, 0x22, SZ);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ / 2, PINNED, &h, &gen));
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p + SZ / 2, SZ / 2, PINNED,
						&h2, &gen2));
	EXPECT_NE(gen.slot, gen2.slot);
	ASSERT_EQ(0, madvise(p + 2 * self->page, self->page, MADV_DONTNEED));
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	EXPECT_EQ(0, uptr_gen_check(self->dev, &gen2));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_ZAP, p + 2 * self->page, p + 3 * self->page);
	ASSERT_EQ(0, uptr_gen_load(self->dev, gen.slot, &v1));
	ASSERT_EQ(0, munmap(p, SZ / 2));
	ASSERT_EQ(0, uptr_gen_load(self->dev, gen.slot, &v2));
	EXPECT_EQ(v1, v2);
	EXPECT_EQ(0, uptr_gen_check(self->dev, &gen2));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);

	/* Destroyed while fresh: stale for good, no event. */
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h2));
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen2));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_EQ(1ull, nt_info(self->dev).events_sent);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	munmap(p + SZ / 2, SZ / 2);
}

/*
 * Several BOs made stale by one munmap: one event each, all read
 * (from one read() of the fd, handed out one by one), then -EAGAIN.
 */
TEST_F(lib, several_events)
{
	enum { N = 8 };
	unsigned char *p = ut_alloc(N * self->page);
	struct uptr_gen gen[N];
	uint32_t h[N];
	bool seen[N] = { false };
	int i, j, ret;

	ASSERT_NE(NULL, p);
	memset(p, 0x33, N * self->page);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p + i * self->page,
							self->page, PINNED, &h[i], &gen[i]));
	ASSERT_EQ(0, munmap(p, N * self->page));
	for (i = 0; i < N; i++) {
		struct uptr_stale_event ev = nt_event(self->dev, &ret);

		ASSERT_EQ(0, ret);
		EXPECT_EQ((uint32_t)DRM_UPTR_STALE_UNMAP, ev.reason);
		for (j = 0; j < N && h[j] != ev.handle; j++)
			;
		ASSERT_LT(j, N);
		EXPECT_FALSE(seen[j]);
		seen[j] = true;
		EXPECT_EQ((uint64_t)(uintptr_t)(p + j * self->page), ev.start);
		EXPECT_EQ(ev.start + self->page, ev.end);
		EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen[j]));
	}
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_FALSE(fd_readable(self->dev));
	for (i = 0; i < N; i++)
		EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h[i]));
}

/* A coherent userptr follows the CPU: no event, nothing to report. */
TEST_F(lib, no_event_coherent)
{
	unsigned char *p = ut_alloc(SZ);
	uint32_t h;
	int ret;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, 0, &h));
	ASSERT_EQ(0, munmap(p, SZ));
	EXPECT_FALSE(fd_readable(self->dev));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_EQ(0ull, nt_info(self->dev).events_sent);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
}

/* A pinned userptr created without NOTIFY reports nothing. */
TEST_F(lib, no_event_without_notify)
{
	unsigned char *p = ut_alloc(SZ);
	uint32_t h;
	int ret;

	ASSERT_NE(NULL, p);
	memset(p, 0x44, SZ);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, PINNED, &h));
	ASSERT_EQ(0, munmap(p, SZ));
	EXPECT_FALSE(fd_readable(self->dev));
	nt_event(self->dev, &ret);
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_EQ(0ull, nt_info(self->dev).events_sent);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
}

/*
 * The cache's pinned BOs are NOTIFY userptrs of the same fd: their
 * events come through uptr_stale_event_read() too, and the cache drops
 * them by the generation page alone.
 */
TEST_F(lib, cache_bo_events)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_cache_stats st;
	struct uptr_buf *b;
	uint32_t h;

	ASSERT_NE(NULL, p);
	memset(p, 0x55, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, PINNED, &b));
	h = uptr_buf_handle(b);
	EXPECT_EQ(0, uptr_buf_put(b));
	ASSERT_EQ(0, munmap(p, SZ));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_UNMAP, p, p + SZ);
	ASSERT_EQ(p, mmap(p, SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, PINNED, &b));
	st = lt_stats(self->dev);
	EXPECT_EQ(0ull, st.hits);
	EXPECT_EQ(1ull, st.stale_evictions);
	EXPECT_EQ(0, uptr_buf_put(b));
	munmap(p, SZ);
}

/*
 * uptr_notify_query(): the page's slots; -ENOSPC once all are taken.
 * Each userptr pins a page of its own: DMA-API debug tracks at most 7
 * mappings of one page.
 */
TEST_F(lib, slots_and_enospc)
{
	struct uptr_notify_info in = nt_info(self->dev);
	unsigned char *p;
	struct uptr_gen gen, last;
	uint32_t *h, extra;
	uint64_t i, n;

	ASSERT_GT(in.gen_slots, 0ull);
	ASSERT_LE(in.gen_slots, (uint64_t)self->page / 8);
	EXPECT_EQ(0u, in.pad);
	n = in.gen_slots;
	p = ut_alloc((n + 1) * self->page);
	h = calloc(n, sizeof(*h));
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, h);
	memset(p, 0x66, (n + 1) * self->page);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p + i * self->page,
							self->page, PINNED, &h[i], &gen));
		ASSERT_LT(gen.slot, n);
	}
	EXPECT_EQ(-ENOSPC, uptr_userptr_create_notify(self->dev, p + n * self->page,
						      self->page, PINNED, &extra, &gen));
	/* One destroyed gives its slot back, with a new generation. */
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h[0]));
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, self->page, PINNED,
						&h[0], &last));
	EXPECT_EQ(0, uptr_gen_check(self->dev, &last));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h[i]));
	free(h);
	munmap(p, (n + 1) * self->page);
}

/*
 * Structs with a size: a bigger one (a newer header) is filled as far
 * as the library knows and its size kept, the rest left alone.
 */
TEST_F(lib, struct_size_abi)
{
	struct {
		struct uptr_stale_event ev;
		uint64_t future;
	} bev;
	struct {
		struct uptr_notify_info in;
		uint64_t future;
	} bin;
	unsigned char *p = ut_alloc(SZ);
	struct uptr_gen gen;
	uint32_t h;

	ASSERT_NE(NULL, p);
	memset(p, 0x77, SZ);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, &gen));
	ASSERT_EQ(0, munmap(p, SZ));
	memset(&bev, 0, sizeof(bev));
	bev.ev.size = sizeof(bev);
	bev.future = 0x1234;
	ASSERT_EQ(0, uptr_stale_event_read(self->dev, &bev.ev));
	EXPECT_EQ((uint32_t)sizeof(bev), bev.ev.size);
	EXPECT_EQ(h, bev.ev.handle);
	EXPECT_EQ((uint64_t)(uintptr_t)(p + SZ), bev.ev.end);
	EXPECT_EQ(0x1234ull, bev.future);
	memset(&bin, 0, sizeof(bin));
	bin.in.size = sizeof(bin);
	bin.future = 0x5678;
	ASSERT_EQ(0, uptr_notify_query(self->dev, &bin.in));
	EXPECT_EQ((uint32_t)sizeof(bin), bin.in.size);
	EXPECT_EQ(1ull, bin.in.events_sent);
	EXPECT_EQ(0x5678ull, bin.future);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
}

/* Every -EINVAL the library documents, and the kernel's through it. */
TEST_F(lib, errors)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_stale_event ev = { .size = sizeof(ev) };
	struct uptr_notify_info in = { .size = sizeof(in) };
	struct uptr_gen gen, bad;
	uint64_t v;
	uint32_t h;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	/* uptr_userptr_create_notify() */
	EXPECT_EQ(-EINVAL, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, NULL, &gen));
	EXPECT_EQ(-EINVAL, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, NULL));
	EXPECT_EQ(-EINVAL, uptr_userptr_create_notify(self->dev, p, SZ, 0, &h, &gen));
	EXPECT_EQ(-EINVAL, uptr_userptr_create_notify(self->dev, p, SZ,
						      DRM_UPTR_USERPTR_READ_ONLY, &h, &gen));
	/* The kernel's: an unaligned start, a range not mapped. */
	EXPECT_EQ(-EINVAL, uptr_userptr_create_notify(self->dev, p + 1, SZ, PINNED, &h, &gen));
	EXPECT_EQ(-EFAULT, uptr_userptr_create_notify(self->dev, (void *)(uintptr_t)self->page,
						      SZ, PINNED, &h, &gen));
	/* NOTIFY in @flags is allowed (it is added anyway). */
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ,
						PINNED | DRM_UPTR_USERPTR_NOTIFY, &h, &gen));

	/* uptr_gen_check(), uptr_gen_load() */
	EXPECT_EQ(-EINVAL, uptr_gen_check(self->dev, NULL));
	EXPECT_EQ(-EINVAL, uptr_gen_load(self->dev, gen.slot, NULL));
	ASSERT_EQ(0, uptr_notify_query(self->dev, &in));
	bad = gen;
	bad.slot = (uint32_t)in.gen_slots;
	EXPECT_EQ(-EINVAL, uptr_gen_check(self->dev, &bad));
	EXPECT_EQ(-EINVAL, uptr_gen_load(self->dev, bad.slot, &v));
	bad.slot = UINT32_MAX;
	EXPECT_EQ(-EINVAL, uptr_gen_check(self->dev, &bad));
	EXPECT_EQ(0, uptr_gen_load(self->dev, in.gen_slots - 1, &v));

	/* uptr_stale_event_read(): -EINVAL leaves the event queued. */
	ASSERT_EQ(0, munmap(p, SZ));
	EXPECT_EQ(-EINVAL, uptr_stale_event_read(self->dev, NULL));
	ev.size = 0;
	EXPECT_EQ(-EINVAL, uptr_stale_event_read(self->dev, &ev));
	ev.size = sizeof(ev) - 1;
	EXPECT_EQ(-EINVAL, uptr_stale_event_read(self->dev, &ev));
	ev.size = sizeof(ev);
	EXPECT_EQ(0, uptr_stale_event_read(self->dev, &ev));
	EXPECT_EQ(h, ev.handle);
	EXPECT_EQ(-EAGAIN, uptr_stale_event_read(self->dev, &ev));

	/* uptr_notify_query() */
	EXPECT_EQ(-EINVAL, uptr_notify_query(self->dev, NULL));
	in.size = 8;
	EXPECT_EQ(-EINVAL, uptr_notify_query(self->dev, &in));
	in.size = sizeof(in) - 1;
	EXPECT_EQ(-EINVAL, uptr_notify_query(self->dev, &in));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
}

/*
 * A check sees a munmap made by another thread that synchronised with
 * this one (here: joined); before it, a million checks all say fresh.
 */
static void *unmap_thread(void *arg)
{
	void **a = arg;

	munmap(a[0], (size_t)(uintptr_t)a[1]);
	return NULL;
}

TEST_F(lib, check_sees_other_thread)
{
	unsigned char *p = ut_alloc(SZ);
	void *args[2] = { p, (void *)(uintptr_t)SZ };
	struct uptr_gen gen;
	pthread_t t;
	uint32_t h;
	int i, fresh = 0;

	ASSERT_NE(NULL, p);
	memset(p, 0x12, SZ);
	ASSERT_EQ(0, uptr_userptr_create_notify(self->dev, p, SZ, PINNED, &h, &gen));
	for (i = 0; i < 1000000; i++)
		fresh += uptr_gen_check(self->dev, &gen) == 0;
	EXPECT_EQ(1000000, fresh);
	ASSERT_EQ(0, pthread_create(&t, NULL, unmap_thread, args));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-ESTALE, uptr_gen_check(self->dev, &gen));
	EXPECT_ONE_EVENT(h, DRM_UPTR_STALE_UNMAP, p, p + SZ);
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
}

TEST_HARNESS_MAIN
