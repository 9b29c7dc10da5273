// SPDX-License-Identifier: GPL-2.0
/*
 * Description: stale-range signals of pinned userptrs (NOTIFY): one
 * event per BO for each kind of mapping change, none for changes that
 * keep the pages (mprotect, fork), poll() wake-up, the lost-events
 * counter, the generation page read with no system call, slot reuse,
 * the page's protection, and every errno.
 */
#include "uptr_harness.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define PINNED		DRM_UPTR_USERPTR_PINNED
#define NOTIFY		(DRM_UPTR_USERPTR_PINNED | DRM_UPTR_USERPTR_NOTIFY)
#define EV_SIZE		sizeof(struct drm_uptr_event_stale)

/* A NOTIFY (or any) userptr, with its generation slot and value. */
static int nt_userptr(int fd, const void *p, __u64 size, __u32 flags,
		      __u32 *handle, __u32 *slot, __u64 *gen)
{
	struct drm_uptr_userptr u = {
		.user_ptr = (uintptr_t)p,
		.user_size = size,
		.flags = flags,
	};
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_USERPTR, &u);

	if (ret)
		return ret;
	*handle = u.handle;
	if (slot)
		*slot = u.gen_slot;
	if (gen)
		*gen = u.generation;
	return 0;
}

static int nt_query(int fd, struct drm_uptr_notify_query *q)
{
	memset(q, 0, sizeof(*q));
	return ut_ioctl(fd, DRM_IOCTL_UPTR_NOTIFY_QUERY, q);
}

/* The generation page of @fd, mapped read-only; NULL on failure. */
static const __u64 *nt_map_gen(int fd)
{
	struct drm_uptr_notify_query q;
	void *p;

	if (nt_query(fd, &q))
		return NULL;
	p = mmap(NULL, q.gen_size, PROT_READ, MAP_SHARED, fd, q.gen_offset);
	return p == MAP_FAILED ? NULL : p;
}

/* The reader's load: one 64-bit atomic load with acquire ordering. */
static __u64 nt_load(const __u64 *counter)
{
	return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

/* Reads the stale events pending on @fd (non-blocking): how many, or -errno. */
static int nt_read_events(int fd, struct drm_uptr_event_stale *ev, int max)
{
	int flags = fcntl(fd, F_GETFL);
	int n = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	while (n < max) {
		ssize_t got = read(fd, &ev[n], (size_t)(max - n) * EV_SIZE);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			n = -errno;
			break;
		}
		if (got == 0 || got % EV_SIZE) {
			n = -EIO;
			break;
		}
		n += got / EV_SIZE;
	}
	fcntl(fd, F_SETFL, flags);
	return n;
}

static int nt_stale(int fd, __u32 handle)
{
	struct drm_uptr_bo_info info;

	if (ut_bo_info(fd, handle, &info))
		return -1;
	return (int)info.stale;
}

/*
 * A NOTIFY userptr over @npages pages of small-page memory, written,
 * with the generation page mapped.
 */
struct nt_bo {
	unsigned char *p;
	size_t size;
	__u32 handle;
	__u32 slot;
	__u64 gen;
	const __u64 *page;
};

static int nt_bo_make(int fd, size_t page, unsigned int npages, struct nt_bo *b)
{
	int ret;

	b->size = npages * page;
	b->p = ut_alloc_small_pages(b->size);
	if (!b->p)
		return -ENOMEM;
	ut_pattern(b->p, b->size, npages);
	ret = nt_userptr(fd, b->p, b->size, NOTIFY, &b->handle, &b->slot, &b->gen);
	if (ret)
		return ret;
	b->page = nt_map_gen(fd);
	return b->page ? 0 : -errno;
}

/* Exactly one event, for @b, with @reason over [@start, @end). */
#define ASSERT_ONE_EVENT(b, reason_, start_, end_) do {				\
	struct drm_uptr_event_stale __ev[4];					\
										\
	ASSERT_EQ(1, nt_read_events(self->fd, __ev, 4));			\
	EXPECT_EQ(DRM_UPTR_EVENT_STALE, __ev[0].base.type);			\
	EXPECT_EQ(EV_SIZE, __ev[0].base.length);				\
	EXPECT_EQ((b)->handle, __ev[0].handle);					\
	EXPECT_EQ(reason_, (int)__ev[0].reason);					\
	EXPECT_EQ((uintptr_t)(start_), __ev[0].start);				\
	EXPECT_EQ((uintptr_t)(end_), __ev[0].end);				\
} while (0)

/* No event pending. */
#define ASSERT_NO_EVENT() do {							\
	struct drm_uptr_event_stale __ev[1];					\
										\
	ASSERT_EQ(0, nt_read_events(self->fd, __ev, 1));			\
} while (0)

/* @b is stale for @reason: BO_INFO, and its counter moved. */
#define ASSERT_STALE(b, reason_) do {						\
	EXPECT_EQ(reason_, nt_stale(self->fd, (b)->handle));			\
	EXPECT_NE((b)->gen, nt_load(&(b)->page[(b)->slot]));			\
} while (0)

#define ASSERT_FRESH(b) do {							\
	EXPECT_EQ(0, nt_stale(self->fd, (b)->handle));				\
	EXPECT_EQ((b)->gen, nt_load(&(b)->page[(b)->slot]));			\
} while (0)

/* NOTIFY without PINNED: -EINVAL, whatever else is set. */
TEST_F(uptr, notify_needs_pinned)
{
	unsigned char *p = ut_alloc(self->page);
	__u32 h;

	ASSERT_NE(NULL, p);
	memset(p, 1, self->page);
	EXPECT_EQ(-EINVAL, ut_userptr(self->fd, p, self->page, DRM_UPTR_USERPTR_NOTIFY, &h));
	EXPECT_EQ(-EINVAL, ut_userptr(self->fd, p, self->page,
				      DRM_UPTR_USERPTR_NOTIFY | DRM_UPTR_USERPTR_READ_ONLY |
				      DRM_UPTR_USERPTR_PROBE, &h));
}

/* A non-zero pad of struct drm_uptr_userptr: -EINVAL. */
TEST_F(uptr, userptr_pad_einval)
{
	unsigned char *p = ut_alloc(self->page);
	struct drm_uptr_userptr u = {
		.user_ptr = (uintptr_t)p,
		.user_size = self->page,
		.flags = NOTIFY,
		.pad = 1,
	};

	ASSERT_NE(NULL, p);
	memset(p, 1, self->page);
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_USERPTR, &u));
}

/* NOTIFY_QUERY: -EINVAL for flags or pad; otherwise the page's geometry. */
TEST_F(uptr, query)
{
	struct drm_uptr_notify_query q = { .flags = 1 };
	__u64 flags;

	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_NOTIFY_QUERY, &q));
	q = (struct drm_uptr_notify_query){ .pad = 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_NOTIFY_QUERY, &q));
	ASSERT_EQ(0, nt_query(self->fd, &q));
	EXPECT_EQ(self->page, q.gen_size);
	EXPECT_EQ(self->page / 8, q.gen_slots);
	EXPECT_NE(0ull, q.gen_offset);
	EXPECT_EQ(0ull, q.events_sent);
	EXPECT_EQ(0ull, q.events_lost);
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_USERPTR_FLAGS, &flags));
	EXPECT_TRUE(!!(flags & DRM_UPTR_USERPTR_NOTIFY));
}

/* A fresh NOTIFY BO: not stale, its counter at its generation, a plain PINNED BO has none. */
TEST_F(uptr, fresh_bo)
{
	struct nt_bo b;
	__u32 h, slot = 7;
	__u64 gen = 7;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_FRESH(&b);
	ASSERT_NO_EVENT();
	ASSERT_EQ(0, nt_userptr(self->fd, b.p, b.size, PINNED, &h, &slot, &gen));
	EXPECT_EQ(0u, slot);
	EXPECT_EQ(0ull, gen);
	EXPECT_EQ(0, nt_stale(self->fd, h));
}

/* munmap of one page: one UNMAP event for that page; a second change sends none. */
TEST_F(uptr, event_munmap)
{
	struct nt_bo b;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_EQ(0, munmap(b.p + self->page, self->page));
	ASSERT_STALE(&b, DRM_UPTR_STALE_UNMAP);
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_UNMAP, b.p + self->page, b.p + 2 * self->page);
	ASSERT_EQ(0, munmap(b.p + 3 * self->page, self->page));
	ASSERT_NO_EVENT();
	EXPECT_EQ(DRM_UPTR_STALE_UNMAP, nt_stale(self->fd, b.handle));
	EXPECT_EQ(b.gen + 1, nt_load(&b.page[b.slot]));
}

/* mmap(MAP_FIXED) over the range: UNMAP. */
TEST_F(uptr, event_map_fixed)
{
	struct nt_bo b;
	void *q;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	q = mmap(b.p + 2 * self->page, 2 * self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ((void *)(b.p + 2 * self->page), q);
	ASSERT_STALE(&b, DRM_UPTR_STALE_UNMAP);
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_UNMAP, b.p + 2 * self->page, b.p + 4 * self->page);
}

/* madvise(MADV_DONTNEED): ZAP. */
TEST_F(uptr, event_madvise_dontneed)
{
	struct nt_bo b;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_EQ(0, madvise(b.p, self->page, MADV_DONTNEED));
	ASSERT_STALE(&b, DRM_UPTR_STALE_ZAP);
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_ZAP, b.p, b.p + self->page);
	/* The process sees a new zero page; the BO keeps the old one. */
	EXPECT_EQ(-1, ut_find_not(b.p, self->page, 0));
}

/* mremap moving the mapping away: UNMAP over the whole range. */
TEST_F(uptr, event_mremap)
{
	struct nt_bo b;
	void *to, *q;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	to = ut_alloc(b.size);
	ASSERT_NE(NULL, to);
	q = mremap(b.p, b.size, b.size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, q);
	ASSERT_STALE(&b, DRM_UPTR_STALE_UNMAP);
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_UNMAP, b.p, b.p + b.size);
}

/*
 * A write breaking copy-on-write of a page the BO pinned shared: a
 * READ_ONLY pin of a private file mapping the process has only read
 * pins the file's page (the kernel unshares read-only pins of anonymous
 * pages only); the write gives the process a copy: ZAP.  Where the
 * kernel unshares file pages too at pin time, there is nothing to break:
 * no event, and the BO sees the write.  Either way the BO is never
 * silently stale.
 */
TEST_F(uptr, event_cow_break)
{
	unsigned char *buf = malloc(4 * self->page);
	struct drm_uptr_event_stale ev[2];
	char path[64];
	__u32 h, slot, dst;
	__u64 gen, sum, *out = NULL;
	const __u64 *page;
	unsigned char *p;
	int fd, n;

	ASSERT_NE(NULL, buf);
	fd = ut_make_tmpfile(path, sizeof(path));
	ASSERT_LE(0, fd);
	ut_pattern(buf, 4 * self->page, 5);
	ASSERT_EQ((ssize_t)(4 * self->page), write(fd, buf, 4 * self->page));
	p = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	unlink(path);
	EXPECT_EQ(-1, ut_find_diff(p, buf, 4 * self->page));

	ASSERT_EQ(0, nt_userptr(self->fd, p, 4 * self->page,
				NOTIFY | DRM_UPTR_USERPTR_READ_ONLY, &h, &slot, &gen));
	page = nt_map_gen(self->fd);
	ASSERT_NE(NULL, page);
	EXPECT_EQ(gen, nt_load(&page[slot]));
	ASSERT_EQ(0, nt_stale(self->fd, h));

	p[self->page] ^= 0xff;
	n = nt_read_events(self->fd, ev, 2);
	if (n == 1) {
		EXPECT_EQ(h, ev[0].handle);
		EXPECT_EQ(DRM_UPTR_STALE_ZAP, (int)ev[0].reason);
		EXPECT_EQ((uintptr_t)(p + self->page), ev[0].start);
		EXPECT_EQ((uintptr_t)(p + 2 * self->page), ev[0].end);
		EXPECT_EQ(DRM_UPTR_STALE_ZAP, nt_stale(self->fd, h));
		EXPECT_NE(gen, nt_load(&page[slot]));
		TH_LOG("the pin kept the file's page: the write broke copy-on-write");
		return;
	}
	ASSERT_EQ(0, n);
	TH_LOG("the pin unshared the page: no copy-on-write left to break");
	EXPECT_EQ(gen, nt_load(&page[slot]));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &dst, (void **)&out));
	ASSERT_EQ(0, ut_checksum(self->fd, dst, 0, h, 0, 4 * self->page));
	sum = ut_fnv1a(p, 4 * self->page);
	EXPECT_EQ(sum, out[0]);
}

/*
 * fork() keeps the parent's pinned pages mapped (the child gets copies):
 * no event, the counter stays, and a job on the BO reads what the parent
 * writes after the fork, whatever the child writes.
 */
TEST_F(uptr, fork_keeps_pages)
{
	__u64 sum, *out = NULL;
	struct nt_bo b;
	__u32 dst;
	pid_t pid;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(b.p, 0xc5, b.size);
		_exit(0);
	}
	ASSERT_EQ(0, ut_wait_child(pid));
	memset(b.p + self->page, 0x3c, self->page);
	ASSERT_NO_EVENT();
	ASSERT_FRESH(&b);
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &dst, (void **)&out));
	ASSERT_EQ(0, ut_checksum(self->fd, dst, 0, b.handle, 0, b.size));
	sum = ut_fnv1a(b.p, b.size);
	EXPECT_EQ(sum, out[0]);
}

/*
 * The pin itself breaking copy-on-write (of the zero page the process
 * only read, of pages still shared with a forked child) is no change of
 * the mapping for the BO: it pins the very pages the process then maps.
 */
TEST_F(uptr, pin_breaking_cow_is_fresh)
{
	size_t size = 4 * self->page;
	unsigned char *zero = ut_alloc_small_pages(size);
	unsigned char *shared = ut_alloc_small_pages(size);
	volatile unsigned char sink = 0;
	__u32 h1, h2, s1, s2, dst;
	__u64 g1, g2, *out = NULL;
	const __u64 *page;
	int pipefd[2];
	size_t i;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, zero);
	ASSERT_NE(NULL, shared);
	for (i = 0; i < size; i += self->page)
		sink += zero[i];
	ut_pattern(shared, size, 9);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Keep the pages shared until the parent has pinned them. */
		close(pipefd[1]);
		_exit(read(pipefd[0], &c, 1) == 0 ? 0 : 1);
	}
	close(pipefd[0]);

	ASSERT_EQ(0, nt_userptr(self->fd, zero, size, NOTIFY, &h1, &s1, &g1));
	ASSERT_EQ(0, nt_userptr(self->fd, shared, size, NOTIFY, &h2, &s2, &g2));
	close(pipefd[1]);
	ASSERT_EQ(0, ut_wait_child(pid));
	page = nt_map_gen(self->fd);
	ASSERT_NE(NULL, page);
	ASSERT_NO_EVENT();
	EXPECT_EQ(0, nt_stale(self->fd, h1));
	EXPECT_EQ(0, nt_stale(self->fd, h2));
	EXPECT_EQ(g1, nt_load(&page[s1]));
	EXPECT_EQ(g2, nt_load(&page[s2]));

	/* And the BOs do hold what the process maps. */
	memset(zero, 0x77, size);
	shared[5] ^= 0xff;
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &dst, (void **)&out));
	ASSERT_EQ(0, ut_checksum(self->fd, dst, 0, h1, 0, size));
	ASSERT_EQ(0, ut_checksum(self->fd, dst, 8, h2, 0, size));
	EXPECT_EQ(ut_fnv1a(zero, size), out[0]);
	EXPECT_EQ(ut_fnv1a(shared, size), out[1]);
	ASSERT_NO_EVENT();
}

/*
 * The creator's exit is no mapping change: a child creates a NOTIFY BO on
 * the fd it shares with its parent and exits; the parent finds no event
 * and the BO not stale.
 */
TEST_F(uptr, exit_sends_nothing)
{
	struct drm_uptr_notify_query q;
	const __u64 *page = nt_map_gen(self->fd);
	struct { __u32 handle, slot; __u64 gen; } r;
	int pipefd[2];
	pid_t pid;

	ASSERT_NE(NULL, page);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *p = ut_alloc_small_pages(4 * self->page);

		if (!p)
			_exit(1);
		memset(p, 1, 4 * self->page);
		if (nt_userptr(self->fd, p, 4 * self->page, NOTIFY, &r.handle, &r.slot, &r.gen))
			_exit(2);
		_exit(write(pipefd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 3);
	}
	ASSERT_EQ(0, ut_wait_child(pid));
	ASSERT_EQ((ssize_t)sizeof(r), read(pipefd[0], &r, sizeof(r)));
	ASSERT_NO_EVENT();
	EXPECT_EQ(0, nt_stale(self->fd, r.handle));
	EXPECT_EQ(r.gen, nt_load(&page[r.slot]));
	ASSERT_EQ(0, nt_query(self->fd, &q));
	EXPECT_EQ(0ull, q.events_sent);
	EXPECT_EQ(0ull, q.events_lost);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* mprotect() keeps the same pages: no event. */
TEST_F(uptr, mprotect_keeps_pages)
{
	struct nt_bo b;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_EQ(0, mprotect(b.p, b.size, PROT_READ));
	ASSERT_EQ(0, mprotect(b.p, b.size, PROT_NONE));
	ASSERT_EQ(0, mprotect(b.p, b.size, PROT_READ | PROT_WRITE));
	ASSERT_NO_EVENT();
	ASSERT_FRESH(&b);
}

/*
 * A NOTIFY BO works for jobs like a PINNED one, stale or not: after
 * munmap the engine still reaches the pinned (old) pages.
 */
TEST_F(uptr, jobs_use_pinned_pages)
{
	unsigned char *copy = malloc(4 * self->page);
	unsigned char *out = NULL;
	struct nt_bo b;
	__u32 dst;

	ASSERT_NE(NULL, copy);
	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	memcpy(copy, b.p, b.size);
	ASSERT_EQ(0, ut_bo_create_map(self->fd, b.size, &dst, (void **)&out));
	ASSERT_EQ(0, ut_copy(self->fd, dst, 0, b.handle, 0, b.size));
	EXPECT_EQ(-1, ut_find_diff(out, copy, b.size));
	ASSERT_EQ(0, ut_fill(self->fd, b.handle, 0, self->page, 0x5a5a5a5a));
	EXPECT_EQ(-1, ut_find_not(b.p, self->page, 0x5a));
	memset(copy, 0x5a, self->page);

	ASSERT_EQ(0, munmap(b.p, b.size));
	ASSERT_STALE(&b, DRM_UPTR_STALE_UNMAP);
	memset(out, 0, b.size);
	ASSERT_EQ(0, ut_copy(self->fd, dst, 0, b.handle, 0, b.size));
	EXPECT_EQ(-1, ut_find_diff(out, copy, b.size));
}

/* After its handle is closed, a BO sends nothing and its counter has moved. */
TEST_F(uptr, closed_handle_sends_nothing)
{
	struct drm_uptr_notify_query q;
	struct nt_bo b;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_EQ(0, ut_gem_close(self->fd, b.handle));
	EXPECT_EQ(b.gen + 1, nt_load(&b.page[b.slot]));
	ASSERT_EQ(0, munmap(b.p, b.size));
	ASSERT_NO_EVENT();
	ASSERT_EQ(0, nt_query(self->fd, &q));
	EXPECT_EQ(0ull, q.events_sent);
	EXPECT_EQ(0ull, q.events_lost);
}

/* An event queued before its handle is closed stays readable. */
TEST_F(uptr, event_outlives_handle)
{
	struct nt_bo b;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 2, &b));
	ASSERT_EQ(0, madvise(b.p, b.size, MADV_DONTNEED));
	ASSERT_EQ(0, ut_gem_close(self->fd, b.handle));
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_ZAP, b.p, b.p + b.size);
}

struct race_arg {
	unsigned char *p;
	size_t size;
	atomic_int stop;
	unsigned long zaps;
};

static void *zap_thread(void *data)
{
	struct race_arg *a = data;

	while (!atomic_load(&a->stop)) {
		if (madvise(a->p, a->size, MADV_DONTNEED))
			break;
		a->zaps++;
	}
	return NULL;
}

/*
 * Creating and closing NOTIFY BOs while another thread keeps zapping
 * their range: the callback races the pin, the arming, the handle's
 * release and the slot's reuse; every BO is either fresh or stale with
 * one event, nothing leaks (the kernel log and the unload check).
 */
TEST_F(uptr, create_close_race_zap)
{
	struct race_arg a = { .size = 8 * self->page };
	struct drm_uptr_event_stale ev[64];
	struct drm_uptr_notify_query q;
	double t0 = ut_now();
	unsigned long rounds = 0, stale = 0, events = 0;
	pthread_t t;
	int n;

	a.p = ut_alloc_small_pages(a.size);
	ASSERT_NE(NULL, a.p);
	ASSERT_EQ(0, pthread_create(&t, NULL, zap_thread, &a));
	while (ut_now() - t0 < 2.0) {
		__u32 h;

		ASSERT_EQ(0, ut_userptr(self->fd, a.p, a.size, NOTIFY, &h));
		stale += nt_stale(self->fd, h) != 0;
		ASSERT_EQ(0, ut_gem_close(self->fd, h));
		n = nt_read_events(self->fd, ev, 64);
		ASSERT_LE(0, n);
		events += n;
		rounds++;
	}
	atomic_store(&a.stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	n = nt_read_events(self->fd, ev, 64);
	ASSERT_LE(0, n);
	events += n;
	ASSERT_EQ(0, nt_query(self->fd, &q));
	TH_LOG("%lu rounds, %lu zaps, %lu seen stale, %lu events", rounds, a.zaps, stale, events);
	EXPECT_EQ(q.events_sent, (__u64)events);
	EXPECT_EQ(0ull, q.events_lost);
	EXPECT_LE(stale, events);
	EXPECT_LE(events, rounds);
	EXPECT_LT(0ul, rounds);
}

struct poll_arg {
	int fd;
	int ready;		/* pipe: the thread tells it is about to block */
	atomic_int changed;	/* set by the main thread just before munmap */
	int early;		/* poll(0) before the handshake: revents */
	int ret;		/* the blocking poll's result */
	int revents;
	int changed_seen;	/* @changed when the blocking poll returned */
};

static void *poll_thread(void *data)
{
	struct poll_arg *a = data;
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
	char c = 1;

	if (poll(&pfd, 1, 0) < 0)
		a->early = -1;
	else
		a->early = pfd.revents;
	if (write(a->ready, &c, 1) != 1)
		return NULL;
	pfd.revents = 0;
	a->ret = poll(&pfd, 1, 30000 * ut_time_scale());
	a->changed_seen = atomic_load(&a->changed);
	a->revents = pfd.revents;
	return NULL;
}

/* poll() has nothing before the change, blocks, and wakes with POLLIN after it. */
TEST_F(uptr, poll_wakes)
{
	struct poll_arg a = { .fd = self->fd };
	struct nt_bo b;
	pthread_t t;
	int pipefd[2];
	char c;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	ASSERT_EQ(0, pipe(pipefd));
	a.ready = pipefd[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &a));
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	atomic_store(&a.changed, 1);
	ASSERT_EQ(0, munmap(b.p, b.size));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, a.early);
	EXPECT_EQ(1, a.ret);
	EXPECT_TRUE(a.revents & POLLIN);
	EXPECT_EQ(1, a.changed_seen);
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_UNMAP, b.p, b.p + b.size);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * More stale BOs than the file's event space holds, none read: every BO
 * is stale, the events that fit are queued, the others counted lost;
 * once read, the space is free again.
 */
TEST_F(uptr, lost_events)
{
	enum { N = 160 };
	struct drm_uptr_event_stale ev[N];
	struct drm_uptr_notify_query q;
	unsigned char *p = ut_alloc_small_pages(N * self->page);
	bool seen[N] = { false };
	__u32 h[N], slot[N];
	__u64 gen[N];
	const __u64 *page;
	struct nt_bo b;
	int i, j, n;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, N * self->page);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, nt_userptr(self->fd, p + i * self->page, self->page,
					NOTIFY, &h[i], &slot[i], &gen[i]));
	page = nt_map_gen(self->fd);
	ASSERT_NE(NULL, page);
	ASSERT_EQ(0, munmap(p, N * self->page));

	for (i = 0; i < N; i++) {
		EXPECT_EQ(DRM_UPTR_STALE_UNMAP, nt_stale(self->fd, h[i]));
		EXPECT_NE(gen[i], nt_load(&page[slot[i]]));
	}
	ASSERT_EQ(0, nt_query(self->fd, &q));
	TH_LOG("%llu events sent, %llu lost", (unsigned long long)q.events_sent,
	       (unsigned long long)q.events_lost);
	EXPECT_EQ((__u64)N, q.events_sent + q.events_lost);
	/* DRM's event space: 4 KiB of unread events per file. */
	EXPECT_EQ(4096 / EV_SIZE, q.events_sent);
	EXPECT_EQ(N - 4096 / EV_SIZE, q.events_lost);

	n = nt_read_events(self->fd, ev, N);
	EXPECT_EQ((int)q.events_sent, n);
	for (j = 0; j < n; j++) {
		for (i = 0; i < N && h[i] != ev[j].handle; i++)
			;
		ASSERT_LT(i, N);
		EXPECT_FALSE(seen[i]);
		seen[i] = true;
		EXPECT_EQ((uintptr_t)(p + i * self->page), ev[j].start);
		EXPECT_EQ((uintptr_t)(p + (i + 1) * self->page), ev[j].end);
	}

	/* Read, the space is back. */
	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 1, &b));
	ASSERT_EQ(0, madvise(b.p, b.size, MADV_DONTNEED));
	ASSERT_ONE_EVENT(&b, DRM_UPTR_STALE_ZAP, b.p, b.p + b.size);
	ASSERT_EQ(0, nt_query(self->fd, &q));
	EXPECT_EQ(4096 / EV_SIZE + 1, q.events_sent);
	EXPECT_EQ(N - 4096 / EV_SIZE, q.events_lost);
}

struct spin_arg {
	const __u64 *counter;
	__u64 gen;
	int ready;		/* pipe: the thread has read the counter once */
	double bound;		/* seconds */
	int before;		/* the counter was at gen before the handshake */
	int seen;		/* the counter moved within the bound */
	__u64 loads;
};

/* Spins on the mapped counter, no system call between the handshake and the end. */
static void *spin_thread(void *data)
{
	struct spin_arg *a = data;
	struct timespec t0, t;
	char c = 1;

	a->before = nt_load(a->counter) == a->gen;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(a->ready, &c, 1) != 1)
		return NULL;
	for (;;) {
		a->loads++;
		if (nt_load(a->counter) != a->gen) {
			a->seen = 1;
			break;
		}
		/* vDSO clock: no system call; every 4096 loads. */
		if ((a->loads & 4095) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 > a->bound)
				break;
		}
	}
	return NULL;
}

/* A second thread sees the counter move by loads alone while the main thread munmaps. */
TEST_F(uptr, generation_seen_without_syscall)
{
	struct spin_arg a = { .bound = 20.0 * ut_time_scale() };
	struct nt_bo b;
	pthread_t t;
	int pipefd[2];
	char c;

	ASSERT_EQ(0, nt_bo_make(self->fd, self->page, 4, &b));
	a.counter = &b.page[b.slot];
	a.gen = b.gen;
	ASSERT_EQ(0, pipe(pipefd));
	a.ready = pipefd[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, spin_thread, &a));
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ(0, munmap(b.p, b.size));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, a.before);
	EXPECT_EQ(1, a.seen);
	TH_LOG("the counter moved after %llu loads", (unsigned long long)a.loads);
	ASSERT_STALE(&b, DRM_UPTR_STALE_UNMAP);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * A slot is reused by the next BO, and its counter never goes back: no
 * generation a BO was given ever matches the counter again once that BO
 * is destroyed, stale or not.
 */
TEST_F(uptr, slot_reuse_never_repeats)
{
	unsigned char *p = ut_alloc_small_pages(64 * self->page);
	const __u64 *page;
	__u32 h, slot, first = 0;
	__u64 gen, last = 0;
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 3, 64 * self->page);
	page = nt_map_gen(self->fd);
	ASSERT_NE(NULL, page);
	for (i = 0; i < 64; i++) {
		unsigned char *q = p + i * self->page;

		ASSERT_EQ(0, nt_userptr(self->fd, q, self->page, NOTIFY, &h, &slot, &gen));
		if (i == 0)
			first = slot;
		EXPECT_EQ(first, slot);
		if (i)
			EXPECT_LT(last, gen);
		EXPECT_EQ(gen, nt_load(&page[slot]));
		if (i & 1) {
			/* Stale first, then destroyed. */
			ASSERT_EQ(0, munmap(q, self->page));
			EXPECT_NE(gen, nt_load(&page[slot]));
		}
		ASSERT_EQ(0, ut_gem_close(self->fd, h));
		EXPECT_LT(gen, nt_load(&page[slot]));
		last = gen;
	}
}

/* -ENOSPC once every slot is taken; a closed BO's slot serves again. */
TEST_F(uptr, slots_full_enospc)
{
	struct drm_uptr_notify_query q;
	unsigned char *p;
	__u32 *h, extra, slot;
	__u64 gen, i;

	ASSERT_EQ(0, nt_query(self->fd, &q));
	h = calloc(q.gen_slots, sizeof(*h));
	ASSERT_NE(NULL, h);
	p = ut_alloc_small_pages((q.gen_slots + 1) * self->page);
	ASSERT_NE(NULL, p);
	memset(p, 9, (q.gen_slots + 1) * self->page);
	for (i = 0; i < q.gen_slots; i++)
		ASSERT_EQ(0, nt_userptr(self->fd, p + i * self->page, self->page,
					NOTIFY, &h[i], NULL, NULL));
	EXPECT_EQ(-ENOSPC, ut_userptr(self->fd, p + i * self->page, self->page,
				      NOTIFY, &extra));
	/* Plain PINNED userptrs take no slot. */
	ASSERT_EQ(0, ut_userptr(self->fd, p + i * self->page, self->page, PINNED, &extra));
	ASSERT_EQ(0, ut_gem_close(self->fd, h[5]));
	ASSERT_EQ(0, nt_userptr(self->fd, p + i * self->page, self->page,
				NOTIFY, &extra, &slot, &gen));
	EXPECT_EQ(5u, slot);
}

static sigjmp_buf segv_jmp;

static void segv_handler(int sig)
{
	siglongjmp(segv_jmp, sig);
}

/*
 * The page is read-only for good: a write faults, mprotect(PROT_WRITE)
 * fails with EACCES, and so do a writable or a private mapping, and a
 * mapping from another file of the device.
 */
TEST_F(uptr, generation_page_read_only)
{
	struct sigaction sa = { .sa_handler = segv_handler }, old;
	struct drm_uptr_notify_query q;
	volatile __u64 *page;
	void *w;
	int fd2, sig;

	ASSERT_EQ(0, nt_query(self->fd, &q));
	page = mmap(NULL, q.gen_size, PROT_READ, MAP_SHARED, self->fd, q.gen_offset);
	ASSERT_NE(MAP_FAILED, page);

	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, &old));
	sig = sigsetjmp(segv_jmp, 1);
	if (!sig)
		page[0] = 1;
	ASSERT_EQ(0, sigaction(SIGSEGV, &old, NULL));
	EXPECT_EQ(SIGSEGV, sig);
	EXPECT_EQ(0ull, page[0]);

	EXPECT_EQ(-1, mprotect((void *)page, q.gen_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);

	w = mmap(NULL, q.gen_size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, q.gen_offset);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EACCES, errno);
	w = mmap(NULL, q.gen_size, PROT_READ, MAP_PRIVATE, self->fd, q.gen_offset);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EINVAL, errno);
	w = mmap(NULL, 2 * q.gen_size, PROT_READ, MAP_SHARED, self->fd, q.gen_offset);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EINVAL, errno);

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	w = mmap(NULL, q.gen_size, PROT_READ, MAP_SHARED, fd2, q.gen_offset);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EACCES, errno);
	close(fd2);
}

/* A NOTIFY userptr cannot wrap the generation page itself. */
TEST_F(uptr, generation_page_not_pinnable)
{
	const __u64 *page = nt_map_gen(self->fd);
	__u32 h;

	ASSERT_NE(NULL, page);
	EXPECT_EQ(-EFAULT, ut_userptr(self->fd, page, self->page,
				      NOTIFY | DRM_UPTR_USERPTR_READ_ONLY, &h));
}

/*
 * A mapping of the page keeps its file open after close(), as any file
 * mapping does: the BOs live on and their counters still move; the
 * munmap() of the page releases the file, an event queued and never read
 * with it (the module's unload check finds nothing leaked).
 */
TEST_F(uptr, page_keeps_file_open)
{
	struct nt_bo b;
	int fd2 = ut_open();
	__u64 *out = NULL;
	__u32 dst;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, nt_bo_make(fd2, self->page, 2, &b));
	close(fd2);
	EXPECT_EQ(b.gen, nt_load(&b.page[b.slot]));
	ASSERT_EQ(0, munmap(b.p, self->page));
	EXPECT_EQ(b.gen + 1, nt_load(&b.page[b.slot]));
	ASSERT_EQ(0, munmap((void *)b.page, self->page));
	/* The device still works for this file. */
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &dst, (void **)&out));
	ASSERT_EQ(0, ut_fill(self->fd, dst, 0, self->page, 7));
	EXPECT_EQ(7ull, out[0] & 0xffffffff);
}

TEST_HARNESS_MAIN
