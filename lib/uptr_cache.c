// SPDX-License-Identifier: MIT
/*
 * libuptr's registration cache: uptr_buf_get()/uptr_buf_put().
 *
 * Invariants:
 *  - The index holds coherent userptrs and NOTIFY pinned userptrs,
 *    sorted by start address.  A coherent userptr stays correct as an
 *    address range whatever the process does to the memory (the kernel
 *    re-faults after munmap, MAP_FIXED, mremap...), so it is never
 *    stale; it leaves the index only by the byte budget, a flush, a
 *    merge into a new BO covering it, or fork.
 *  - A pinned userptr keeps the pages it pinned, which stop being those
 *    mapped at its address after free() + malloc() there, MAP_FIXED,
 *    mremap, madvise(DONTNEED)...  The cache creates it with NOTIFY
 *    (uptr_userptr_create_notify()) and indexes it with its struct
 *    uptr_gen: every lookup that finds it checks that with one acquire
 *    load, no syscall (entry_fresh(), uptr_gen_check()), and takes it
 *    off the index when the counter moved (a stale eviction); a pinned
 *    miss also sweeps the index for stale pinned entries, so their pins
 *    go early.  Without NOTIFY
 *    (an older driver, or all slots taken) a pinned BO is not indexed:
 *    its last put destroys it.  Pinned BOs are never merged (a pin costs
 *    by the page).
 *  - An entry is on the LRU iff it is indexed and unreferenced.
 *  - An entry created before the last fork (fork_gen != ulib_fork_gen)
 *    belongs to another mm and its handle to the parent's BO: the child
 *    never destroys it, and drops it from its index on first use.
 *  - The lock is never held across an ioctl, so a slow pin in one thread
 *    does not stall lookups in others; two threads missing on the same
 *    range may both create a BO, and both stay indexed (harmless).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uptr_int.h"

#define UPTR_EXPORT	__attribute__((visibility("default")))
#define DEFAULT_BUDGET	(256ull << 20)
#define KNOWN_FLAGS	(DRM_UPTR_USERPTR_READ_ONLY | DRM_UPTR_USERPTR_PINNED | \
			 DRM_UPTR_USERPTR_PROBE)
/* Flags that make two BOs of the same range different. */
#define KEY_FLAGS	(DRM_UPTR_USERPTR_READ_ONLY | DRM_UPTR_USERPTR_PINNED)

struct uptr_buf {
	struct uptr_dev *dev;
	uintptr_t start;
	uint64_t len;
	uint32_t handle;
	uint32_t flags;		/* KEY_FLAGS it was created with */
	unsigned long fork_gen;	/* ulib_fork_gen at creation */
	bool notify;		/* pinned, created with NOTIFY: */
	struct uptr_gen gen;	/* its counter in the generation page */
	/* The fields below are protected by dev->cache.lock. */
	unsigned long refs;
	bool indexed;
	struct uptr_buf *lru_prev, *lru_next;
};

/*
 * Whether BOs of these flags may be looked up in the cache: coherent
 * ones always, pinned ones when the driver has NOTIFY (only NOTIFY
 * pinned BOs are indexed).
 */
static bool key_cacheable(const struct uptr_dev *dev, uint32_t key)
{
	return !(key & DRM_UPTR_USERPTR_PINNED) || (dev->uflags & DRM_UPTR_USERPTR_NOTIFY);
}

/*
 * Whether an indexed entry still gives the device what the CPU sees at
 * its address.  Coherent: always.  Pinned: while its counter in the
 * generation page is at the value its creation returned
 * (uptr_gen_check(): one acquire load, no system call; the kernel moves
 * the counter, with release, before the mapping changes, so this sees
 * every change that completed before the call).
 */
static bool entry_fresh(const struct uptr_buf *b)
{
	return !b->notify || uptr_gen_check(b->dev, &b->gen) == 0;
}

static bool entry_foreign(const struct uptr_buf *b)
{
	return b->fork_gen != ulib_fork_gen;
}

int ulib_cache_init(struct uptr_cache *c)
{
	int ret = pthread_mutex_init(&c->lock, NULL);

	if (ret)
		return -ret;
	c->budget = DEFAULT_BUDGET;
	c->fork_gen = ulib_fork_gen;
	return 0;
}

static void lru_del(struct uptr_cache *c, struct uptr_buf *b)
{
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		c->lru_head = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		c->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
	c->lru_bytes -= b->len;
}

static void lru_add_tail(struct uptr_cache *c, struct uptr_buf *b)
{
	b->lru_next = NULL;
	b->lru_prev = c->lru_tail;
	if (c->lru_tail)
		c->lru_tail->lru_next = b;
	else
		c->lru_head = b;
	c->lru_tail = b;
	c->lru_bytes += b->len;
}

/* First index position whose entry starts at or after @start. */
static size_t index_lower_bound(const struct uptr_cache *c, uintptr_t start)
{
	size_t lo = 0, hi = c->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->index[mid]->start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int index_insert(struct uptr_cache *c, struct uptr_buf *b)
{
	size_t pos;

	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct uptr_buf **n = realloc(c->index, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->index = n;
		c->cap = cap;
	}
	pos = index_lower_bound(c, b->start);
	memmove(&c->index[pos + 1], &c->index[pos],
		(c->count - pos) * sizeof(*c->index));
	c->index[pos] = b;
	c->count++;
	if (b->len > c->max_len)
		c->max_len = b->len;
	b->indexed = true;
	c->st.bytes_cached += b->len;
	return 0;
}

static void index_remove(struct uptr_cache *c, struct uptr_buf *b)
{
	size_t pos = index_lower_bound(c, b->start);

	while (pos < c->count && c->index[pos] != b)
		pos++;
	if (pos == c->count)
		return;
	memmove(&c->index[pos], &c->index[pos + 1],
		(c->count - pos - 1) * sizeof(*c->index));
	c->count--;
	b->indexed = false;
	c->st.bytes_cached -= b->len;
	if (!c->count)
		c->max_len = 0;
}

/*
 * Takes a stale entry off the index; an unreferenced one is added to
 * @list (through lru_next) for the caller to destroy outside the lock, a
 * referenced one is destroyed by its last put.  Returns the list.
 */
static struct uptr_buf *__cache_evict_stale(struct uptr_cache *c, struct uptr_buf *b,
					    struct uptr_buf *list)
{
	index_remove(c, b);
	c->st.stale_evictions++;
	if (b->refs)
		return list;
	lru_del(c, b);
	b->lru_next = list;
	return b;
}

/* Every stale pinned entry off the index, onto @list. */
static struct uptr_buf *__cache_sweep_stale(struct uptr_cache *c, struct uptr_buf *list)
{
	size_t i = c->count;

	while (i-- > 0) {
		struct uptr_buf *b = c->index[i];

		if (!entry_fresh(b))
			list = __cache_evict_stale(c, b, list);
	}
	return list;
}

/*
 * An indexed entry covering [@start, @end) with @flags, or NULL.  Only
 * entries starting at or after @end - max_len can cover the range, so
 * the walk back from the binary search is bounded by how many entries
 * start in that window.
 */
static struct uptr_buf *index_lookup(struct uptr_cache *c, uintptr_t start,
				     uintptr_t end, uint32_t flags)
{
	size_t pos = index_lower_bound(c, start + 1);

	while (pos-- > 0) {
		struct uptr_buf *b = c->index[pos];

		if (b->start + c->max_len < end)
			break;
		if (b->start + b->len >= end && b->flags == flags)
			return b;
	}
	return NULL;
}

/*
 * In a forked child, the first cache call drops every inherited entry
 * from the index without destroying it: the handle is the parent's BO
 * (the DRM file is shared) and its userptr is the parent's mm.
 * Referenced entries are freed by their last put.  The statistics start
 * from zero.
 */
static void __cache_check_fork(struct uptr_cache *c)
{
	size_t i;

	if (c->fork_gen == ulib_fork_gen)
		return;
	c->fork_gen = ulib_fork_gen;
	for (i = 0; i < c->count; i++) {
		struct uptr_buf *b = c->index[i];

		b->indexed = false;
		if (!b->refs) {
			lru_del(c, b);
			free(b);
		}
	}
	c->count = 0;
	c->max_len = 0;
	/* The child's statistics are its own, from zero. */
	memset(&c->st, 0, sizeof(c->st));
}

/*
 * Takes unreferenced entries off the index, least recently used first,
 * until the cache holds at most @budget bytes; returns them as a list
 * (through lru_next) for the caller to destroy outside the lock.
 */
static struct uptr_buf *__cache_shrink(struct uptr_cache *c, uint64_t budget)
{
	struct uptr_buf *victims = NULL;

	while (c->st.bytes_cached > budget && c->lru_head) {
		struct uptr_buf *b = c->lru_head;

		lru_del(c, b);
		index_remove(c, b);
		c->st.evictions++;
		b->lru_next = victims;
		victims = b;
	}
	return victims;
}

/*
 * Merging: a coherent userptr costs the same to create whatever its size,
 * so on a miss the new BO also covers the unreferenced cached BOs of the
 * same key that overlap or touch [@start, @end), which are taken off the
 * index and returned as a list (through lru_next) to be destroyed: one
 * BO instead of several, and later lookups spanning them hit.  The union
 * is bounded by MERGE_MAX_LEN and by a quarter of the budget; referenced
 * BOs are never merged away.  Not done with PROBE, which would then
 * check memory the caller did not ask about.
 */
#define MERGE_MAX_LEN	(64ull << 20)
#define MERGE_MAX	8

static struct uptr_buf *__cache_take_neighbours(struct uptr_cache *c, uint32_t key,
						uintptr_t start, uintptr_t end,
						uintptr_t *mstart, uintptr_t *mend)
{
	struct uptr_buf *cand[MERGE_MAX], *list = NULL;
	uint64_t limit = c->budget / 4 < MERGE_MAX_LEN ? c->budget / 4 : MERGE_MAX_LEN;
	uintptr_t s = start, e = end;
	size_t pos = index_lower_bound(c, end + 1);
	int n = 0, i;

	while (pos-- > 0 && n < MERGE_MAX) {
		struct uptr_buf *b = c->index[pos];
		uintptr_t bs = b->start, be = b->start + b->len;

		if (bs + c->max_len < start)
			break;
		if (be < start || b->refs || b->flags != key || entry_foreign(b))
			continue;
		if ((be > e ? be : e) - (bs < s ? bs : s) > limit)
			continue;
		if (bs < s)
			s = bs;
		if (be > e)
			e = be;
		cand[n++] = b;
	}
	for (i = 0; i < n; i++) {
		lru_del(c, cand[i]);
		index_remove(c, cand[i]);
		cand[i]->lru_next = list;
		list = cand[i];
		c->st.merges++;
	}
	*mstart = s;
	*mend = e;
	return list;
}

static int destroy_list(struct uptr_buf *b);

/*
 * Creates the BO of @b over [@b->start, @b->start + @b->len): a pinned
 * one with NOTIFY (@b->notify) when the driver has it, and without it
 * when it has not or every slot stays taken (then it is not cached).
 */
static int cache_create(struct uptr_dev *dev, struct uptr_buf *b, uint32_t flags)
{
	struct uptr_cache *c = &dev->cache;
	int tries;

	for (tries = 0; (flags & DRM_UPTR_USERPTR_PINNED) && tries < 4; tries++) {
		struct uptr_buf *victim;
		int ret = uptr_userptr_create_notify(dev, (void *)b->start, b->len, flags,
						     &b->handle, &b->gen);

		if (!ret) {
			b->notify = true;
			return 0;
		}
		if (ret == -EOPNOTSUPP)
			break;
		if (ret != -ENOSPC)
			return ret;
		/* Every slot is taken: the least recently used pinned BO gives one back. */
		pthread_mutex_lock(&c->lock);
		for (victim = c->lru_head; victim && !victim->notify; victim = victim->lru_next)
			;
		if (victim) {
			lru_del(c, victim);
			index_remove(c, victim);
			c->st.evictions++;
		}
		pthread_mutex_unlock(&c->lock);
		if (!victim)
			break;
		destroy_list(victim);
	}
	return uptr_userptr_create(dev, (void *)b->start, b->len, flags, &b->handle);
}

/* Destroys and frees a list from __cache_shrink(); the first error. */
static int destroy_list(struct uptr_buf *b)
{
	int ret = 0;

	while (b) {
		struct uptr_buf *next = b->lru_next;
		int r = uptr_bo_destroy(b->dev, b->handle);

		if (r && !ret)
			ret = r;
		free(b);
		b = next;
	}
	return ret;
}

UPTR_EXPORT int uptr_buf_get(struct uptr_dev *dev, const void *ptr, size_t len,
			     uint32_t flags, struct uptr_buf **bufp)
{
	struct uptr_cache *c = &dev->cache;
	uintptr_t p = (uintptr_t)ptr, start, end, mask = dev->page_size - 1;
	uint32_t key = flags & KEY_FLAGS;
	struct uptr_buf *b, *merged = NULL, *stale = NULL;
	uintptr_t mstart, mend;
	int ret;

	if (!len || (flags & ~KNOWN_FLAGS) || !bufp)
		return -EINVAL;
	if (p + len < p || p + len + mask < p + len)
		return -E2BIG;
	start = p & ~mask;
	end = (p + len + mask) & ~mask;

	pthread_mutex_lock(&c->lock);
	__cache_check_fork(c);
	if (key_cacheable(dev, key)) {
		while ((b = index_lookup(c, start, end, key)) && !entry_fresh(b))
			stale = __cache_evict_stale(c, b, stale);
		if (b) {
			if (!b->refs)
				lru_del(c, b);
			b->refs++;
			c->st.hits++;
			pthread_mutex_unlock(&c->lock);
			destroy_list(stale);
			*bufp = b;
			return 0;
		}
	}
	c->st.misses++;
	if (key & DRM_UPTR_USERPTR_PINNED)
		stale = __cache_sweep_stale(c, stale);
	else if (!(flags & DRM_UPTR_USERPTR_PROBE))
		merged = __cache_take_neighbours(c, key, start, end, &mstart, &mend);
	pthread_mutex_unlock(&c->lock);
	destroy_list(stale);

	b = calloc(1, sizeof(*b));
	if (!b) {
		destroy_list(merged);
		return -ENOMEM;
	}
	b->dev = dev;
	b->flags = key;
	b->refs = 1;
	b->fork_gen = ulib_fork_gen;
	ret = -ENOENT;
	if (merged) {
		b->start = mstart;
		b->len = mend - mstart;
		ret = cache_create(dev, b, flags);
		/* The neighbours are covered by the new BO, or given up. */
		destroy_list(merged);
	}
	if (ret) {
		b->start = start;
		b->len = end - start;
		ret = cache_create(dev, b, flags);
	}
	if (ret) {
		free(b);
		return ret;
	}
	if (!(key & DRM_UPTR_USERPTR_PINNED) || b->notify) {
		pthread_mutex_lock(&c->lock);
		__cache_check_fork(c);
		/* Not indexed on -ENOMEM: it then lives until its last put. */
		index_insert(c, b);
		pthread_mutex_unlock(&c->lock);
	}
	*bufp = b;
	return 0;
}

UPTR_EXPORT int uptr_buf_put(struct uptr_buf *b)
{
	struct uptr_cache *c;
	struct uptr_buf *victims;

	if (!b)
		return 0;
	c = &b->dev->cache;
	pthread_mutex_lock(&c->lock);
	__cache_check_fork(c);
	if (--b->refs) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (entry_foreign(b)) {
		/* The parent's BO: never destroyed from here. */
		pthread_mutex_unlock(&c->lock);
		free(b);
		return 0;
	}
	if (!b->indexed) {
		pthread_mutex_unlock(&c->lock);
		b->lru_next = NULL;
		return destroy_list(b);
	}
	lru_add_tail(c, b);
	victims = __cache_shrink(c, c->budget);
	pthread_mutex_unlock(&c->lock);
	return destroy_list(victims);
}

UPTR_EXPORT uint32_t uptr_buf_handle(const struct uptr_buf *b)
{
	return b->handle;
}

UPTR_EXPORT void *uptr_buf_addr(const struct uptr_buf *b)
{
	return (void *)b->start;
}

UPTR_EXPORT uint64_t uptr_buf_size(const struct uptr_buf *b)
{
	return b->len;
}

UPTR_EXPORT int64_t uptr_buf_offset(const struct uptr_buf *b, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;

	if (p < b->start || p - b->start >= b->len)
		return -ERANGE;
	return (int64_t)(p - b->start);
}

/* The first version of struct uptr_cache_stats ends after @merges. */
#define STATS_V1_SIZE	(offsetof(struct uptr_cache_stats, merges) + sizeof(uint64_t))

UPTR_EXPORT int uptr_cache_stats(struct uptr_dev *dev,
				 struct uptr_cache_stats *stats)
{
	struct uptr_cache *c = &dev->cache;
	struct uptr_cache_stats st;
	uint32_t size;

	if (!stats || stats->size < STATS_V1_SIZE)
		return -EINVAL;
	size = stats->size;
	pthread_mutex_lock(&c->lock);
	__cache_check_fork(c);
	st = c->st;
	st.entries = c->count;
	st.budget = c->budget;
	pthread_mutex_unlock(&c->lock);
	st.size = size < sizeof(st) ? size : sizeof(st);
	st.pad = 0;
	memcpy(stats, &st, st.size);
	stats->size = size;
	return 0;
}

UPTR_EXPORT int uptr_cache_set_budget(struct uptr_dev *dev, uint64_t bytes)
{
	struct uptr_cache *c = &dev->cache;
	struct uptr_buf *victims;

	pthread_mutex_lock(&c->lock);
	__cache_check_fork(c);
	c->budget = bytes;
	victims = __cache_shrink(c, c->budget);
	pthread_mutex_unlock(&c->lock);
	return destroy_list(victims);
}

UPTR_EXPORT int uptr_cache_flush(struct uptr_dev *dev)
{
	struct uptr_cache *c = &dev->cache;
	struct uptr_buf *victims, *b;
	int n = 0, ret;

	pthread_mutex_lock(&c->lock);
	__cache_check_fork(c);
	victims = __cache_shrink(c, 0);
	pthread_mutex_unlock(&c->lock);
	for (b = victims; b; b = b->lru_next)
		n++;
	ret = destroy_list(victims);
	return ret ? ret : n;
}

/*
 * At uptr_dev_close(): destroys the BOs this process created (in a
 * forked child the fd is shared with the parent, so closing it would
 * not) and frees the cache's memory; inherited entries are the parent's
 * BOs and are only freed.  Bufs still referenced are the caller's bug
 * (every get needs a put before close); they are freed too.
 */
void ulib_cache_fini(struct uptr_dev *dev)
{
	struct uptr_cache *c = &dev->cache;
	size_t i;

	for (i = 0; i < c->count; i++) {
		struct uptr_buf *b = c->index[i];

		if (!entry_foreign(b))
			uptr_bo_destroy(dev, b->handle);
		free(b);
	}
	free(c->index);
	pthread_mutex_destroy(&c->lock);
}
