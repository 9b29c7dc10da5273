/* SPDX-License-Identifier: MIT */
/*
 * libuptr internals shared by its source files; never installed.
 */
#ifndef LIBUPTR_UPTR_INT_H
#define LIBUPTR_UPTR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "uptr.h"

struct uptr_buf;

/* The registration cache of one device; see uptr_cache.c. */
struct uptr_cache {
	pthread_mutex_t lock;
	/* Entries sorted by start address; protected by @lock. */
	struct uptr_buf **index;
	size_t count, cap;
	uint64_t max_len;	/* longest entry ever indexed: bounds a lookup */
	/* Unreferenced indexed entries, least recently used first. */
	struct uptr_buf *lru_head, *lru_tail;
	uint64_t lru_bytes;	/* bytes of the entries on the LRU */
	uint64_t budget;
	unsigned long fork_gen;	/* ulib_fork_gen when the cache was last used */
	struct uptr_cache_stats st;
	/* protects the above */
};

struct uptr_dev {
	int fd;
	char *path;
	char *drv_name, *drv_desc;
	int drv_major, drv_minor, drv_patch;
	uint64_t page_size, kinds, uflags, max_commands;
	struct uptr_cache cache;
	/*
	 * NOTIFY (uptr_notify.c): the fd's generation page, read-only, NULL
	 * until first needed; set once under @notify_lock with a release
	 * store, read with an acquire load and no lock; @gen_size and
	 * @gen_slots are set before it and never change.
	 */
	const uint64_t *gen_page;
	uint64_t gen_size, gen_slots;
	/* Stale events read from the fd, not yet handed out: [@evpos, @evlen). */
	unsigned char evbuf[4096];
	size_t evpos, evlen;
	/*
	 * Protects the above (@gen_page's store).  Nests inside
	 * @cache.lock, never the other way round (the fork handlers take
	 * both, in that order); held across the mapping of the page (an
	 * ioctl and an mmap, once per device) and a zero-timeout poll and
	 * read of the fd, nothing that waits for another thread.
	 */
	pthread_mutex_t notify_lock;
	/* Link in the list of open devices (fork handlers); see uptr.c. */
	struct uptr_dev *next, *prev;
};

/*
 * Internal symbols are named ulib_: hidden (-fvisibility=hidden) and
 * outside the version script's uptr_* pattern.
 */

/* Bumped in every forked child (pthread_atfork); read without a lock. */
extern volatile unsigned long ulib_fork_gen;

int ulib_ioctl(int fd, unsigned long request, void *arg);
int ulib_cache_init(struct uptr_cache *c);
void ulib_cache_fini(struct uptr_dev *dev);
void ulib_notify_fini(struct uptr_dev *dev);

/*
 * Copies a struct with a size member out to a caller that has @size
 * bytes of it: the library's @len bytes at most (members of a newer
 * header the library does not know are left alone), the caller's @size
 * kept.
 */
static inline void ulib_copy_out(void *dst, const void *src, size_t len, uint32_t size)
{
	memcpy(dst, src, size < len ? size : len);
	memcpy(dst, &size, sizeof(size));
}

#endif /* LIBUPTR_UPTR_INT_H */
