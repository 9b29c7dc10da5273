/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr userptr core: wrap a range of a process's address space for a
 * device.  Depends on mm, mmu_notifier, scatterlist and DMA only; see
 * uptr_userptr.c.
 */
#ifndef _UPTR_USERPTR_H_
#define _UPTR_USERPTR_H_

#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mmu_notifier.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct device;
struct mm_struct;
struct page;
struct shrinker;
struct user_struct;
struct uptr_userptr;
struct uptr_userptr_cache;
struct vm_area_struct;

/* The device only reads the range; its pages are never made writable. */
#define UPTR_USERPTR_READ_ONLY		BIT(0)
/* Pin every page at creation (FOLL_LONGTERM), charged to RLIMIT_MEMLOCK. */
#define UPTR_USERPTR_PINNED		BIT(1)
/*
 * Flags from this bit up are the driver's: the core keeps them in
 * &uptr_userptr.flags as they were passed and looks at none of them.
 */
#define UPTR_USERPTR_DRIVER_SHIFT	16

/* uptr_userptr_prefetch(): fault the pages in for device writes... */
#define UPTR_PREFETCH_WRITE		BIT(0)
/* ...or take only what the CPU maps already, faulting nothing in. */
#define UPTR_PREFETCH_NO_FAULT		BIT(1)

/*
 * Largest range the core wraps.  A page count of this range fits the
 * unsigned int that scatterlist helpers take, with room to spare.
 */
#define UPTR_USERPTR_MAX_SIZE		BIT_ULL(40)

/**
 * struct uptr_userptr_ops - what the core asks of the driver
 */
struct uptr_userptr_ops {
	/**
	 * @vma_is_device: optional; returns true for a VMA that maps the
	 * driver's own buffer objects, which may not back a userptr.
	 * Called with the mmap lock held for read.
	 */
	bool (*vma_is_device)(const struct vm_area_struct *vma);
	/**
	 * @invalidate: optional; zaps the device's own translations of
	 * pages [@first, @first + @count) of coherent userptr @up: its page
	 * tables and TLBs, anything it kept past a critical section of what
	 * __uptr_userptr_page() or __uptr_userptr_dma_addr() gave it.  The
	 * core calls it with the userptr's lock held, in the same hold in
	 * which it then drops those pages (unmaps their DMA addresses): from
	 * the invalidate callback, in the context of whatever changes the
	 * mapping (reclaim, writeback, migration, the OOM reaper...); from
	 * the shrinker; from a fault that replaces a cached page or maps it
	 * again; and from uptr_userptr_fini().  It may be called for pages
	 * of which the device has no translation.  Like the critical
	 * section it runs in, it must not sleep, allocate or wait for device
	 * work: it only makes the device fault again.  Besides the
	 * userptr's lock, the core may hold the xarray lock of its page
	 * cache (the notifier and fini) or &uptr_userptr_mgr.lru_lock (the
	 * shrinker) around it: it takes no lock that nests outside those.
	 */
	void (*invalidate)(struct uptr_userptr *up, unsigned long first, unsigned long count);
};

/**
 * struct uptr_userptr_mgr - what the userptrs of one device share
 */
struct uptr_userptr_mgr {
	/** @dma_dev: device the pages are DMA-mapped for */
	struct device *dma_dev;
	/** @ops: the driver's callbacks */
	const struct uptr_userptr_ops *ops;
	/**
	 * @dma_attrs: DMA_ATTR_* the driver chose, for every map and unmap
	 * of the userptrs' pages
	 */
	unsigned long dma_attrs;
	/**
	 * @lru_lock: protects @lru, @nr_lru and each userptr's
	 * &uptr_userptr_cache.lru; a spinlock held for one list step and at most
	 * one chunk dropped by the shrinker, never taken by the invalidate
	 * callback (see DOC: Locking)
	 */
	spinlock_t lru_lock;
	/** @lru: coherent userptrs that may have cached pages, oldest first */
	struct list_head lru;
	/** @nr_lru: userptrs on @lru */
	unsigned long nr_lru;
	/** @cached: pages cached by all the coherent userptrs, for the shrinker */
	atomic_long_t cached;
	/** @shrinker: drops cached pages of idle userptrs under memory pressure */
	struct shrinker *shrinker;
	/**
	 * @notifier_ops: the MMU notifier callbacks of the coherent
	 * userptrs, one copy per manager, so that a coherent userptr finds
	 * its manager through its notifier (uptr_userptr_mgr())
	 */
	struct mmu_interval_notifier_ops notifier_ops;
};

/**
 * struct uptr_userptr - a range of a process's address space
 *
 * Embedded by the driver in its buffer object.  Its range, mm and
 * manager, read with uptr_userptr_start(), uptr_userptr_npages(),
 * uptr_userptr_mm() and uptr_userptr_mgr(), and @flags are set by
 * uptr_userptr_init() and never change; so are @pages and @sgt of a
 * pinned userptr.  A coherent userptr keeps them in its MMU notifier
 * only, a pinned one in members of its own.  The page cache and the
 * counters of a coherent userptr are protected by its own @lock, taken
 * through uptr_userptr_notifier_lock() (see DOC: Locking).  The members
 * of the two kinds share memory: a cold userptr costs one small object.
 */
struct uptr_userptr {
	/** @flags: UPTR_USERPTR_*, and the driver's from UPTR_USERPTR_DRIVER_SHIFT up */
	unsigned int flags;
	/**
	 * @lock: coherent: protects the entries of the page cache (@cache), the chunks
	 * themselves (inserted and freed under it), the counters below and
	 * the notifier sequence checks; held around each device step of a
	 * few page accesses, by the fault path to store (and DMA-map) one
	 * chunk, and
	 * by the invalidate callback, the shrinker and the statistics and
	 * release walks for about one chunk's work (see DOC: Locking)
	 */
	spinlock_t lock;
	union {
		/* pinned */
		struct {
			/** @pin_mm: pinned: the creator's mm, held with mmgrab() */
			struct mm_struct *pin_mm;
			/** @pin_mgr: pinned: the device's manager */
			struct uptr_userptr_mgr *pin_mgr;
			/** @pin_start: pinned: first user address, page aligned */
			unsigned long pin_start;
			/** @pin_npages: pinned: pages of the range */
			unsigned long pin_npages;
			/** @pages: pinned: the pinned pages, @pin_npages of them */
			struct page **pages;
			/** @sgt: pinned: the pages, coalesced and DMA-mapped */
			struct sg_table sgt;
			/**
			 * @user: pinned: the user charged for the pages
			 * (RLIMIT_MEMLOCK), a reference held; NULL when the
			 * creator had CAP_IPC_LOCK
			 */
			struct user_struct *user;
			/** @priv: pinned: the driver's, NULL until it sets it */
			void *priv;
		};
		/* coherent */
		struct {
			/**
			 * @notifier: coherent: follows the range in its mm;
			 * its range, its mm (held with mmgrab() until it is
			 * removed) and its ops (the manager's) are the
			 * userptr's
			 */
			struct mmu_interval_notifier notifier;
			/**
			 * @cache: coherent: the page cache's index and its
			 * link on the shrinker's list, allocated by the
			 * first fault that finds a page to store (set
			 * once, under @lock) and freed by
			 * uptr_userptr_fini(): NULL while the userptr is
			 * cold
			 */
			struct uptr_userptr_cache *cache;
			/** @faulted: coherent: pages made valid so far (@lock) */
			u64 faulted;
			/** @invalidations: coherent: invalidations seen (@lock) */
			u64 invalidations;
			/** @resident: coherent: valid pages in the page cache (@lock) */
			unsigned int resident;
			/**
			 * @active: coherent: device work using the userptr
			 * now (uptr_userptr_active_get()); the shrinker
			 * leaves such a userptr alone
			 */
			atomic_t active;
		};
	};
};

/**
 * struct uptr_userptr_stats - what uptr_userptr_stats() reports
 * @pinned: pages held pinned
 * @resident: pages the device can reach without faulting
 * @segments: runs of virtually and physically contiguous pages
 * @faulted: coherent: pages made valid so far
 * @invalidations: coherent: invalidations seen so far
 */
struct uptr_userptr_stats {
	u64 pinned;
	u64 resident;
	u64 segments;
	u64 faulted;
	u64 invalidations;
};

int uptr_userptr_mgr_init(struct uptr_userptr_mgr *mgr, struct device *dma_dev,
			  const struct uptr_userptr_ops *ops, unsigned long dma_attrs);
void uptr_userptr_mgr_fini(struct uptr_userptr_mgr *mgr);

int uptr_userptr_check_range(u64 user_ptr, u64 user_size);
int uptr_userptr_probe(unsigned long start, unsigned long size,
		       unsigned int flags, const struct uptr_userptr_ops *ops);
int uptr_userptr_init(struct uptr_userptr *up, struct uptr_userptr_mgr *mgr,
		      unsigned long start, unsigned long size,
		      unsigned int flags);
void uptr_userptr_fini(struct uptr_userptr *up);

int uptr_userptr_fault(struct uptr_userptr *up, unsigned long first,
		       unsigned long count, bool write);
u64 uptr_userptr_faulted(struct uptr_userptr *up);
int uptr_userptr_prefetch(struct uptr_userptr *up, unsigned long first,
			  unsigned long count, unsigned int flags);
int uptr_userptr_replay(struct uptr_userptr *up, unsigned long idx,
			unsigned long count, bool write);
/**
 * struct uptr_userptr_hint - where a device step found its last page
 * @chunk: the page cache's chunk of that page (private to the core)
 * @first: index of the chunk's first page
 * @count: pages of the chunk
 *
 * Lets a step of consecutive page accesses under one hold of the lock
 * look each page up in the chunk of the one before, instead of in the
 * page cache's index.  Chunks are freed only under the lock, so a hint
 * is good only until the lock is released: uptr_userptr_hint_init() it
 * each time after uptr_userptr_notifier_lock().  Or keep it across
 * holds as a device translation, and zap it in the driver's
 * &uptr_userptr_ops.invalidate (uptr_userptr_hint_zap()): the core calls
 * that, in the same hold, before it drops any page of a chunk, and it
 * frees a chunk only once its last page is dropped.
 */
struct uptr_userptr_hint {
	void *chunk;
	unsigned long first;
	unsigned long count;
};

/**
 * uptr_userptr_hint_init() - a hint that knows no chunk yet
 * @hint: the hint
 */
static inline void uptr_userptr_hint_init(struct uptr_userptr_hint *hint)
{
	hint->chunk = NULL;
}

/**
 * uptr_userptr_hint_zap() - forget a hint's chunk if it holds given pages
 * @hint: the hint
 * @first: first page index
 * @count: pages
 *
 * For a driver that keeps a hint across holds of the lock, as a device
 * translation: from its &uptr_userptr_ops.invalidate, which the core
 * calls before it drops those pages and, with its last page, their
 * chunk.
 */
static inline void uptr_userptr_hint_zap(struct uptr_userptr_hint *hint,
					 unsigned long first, unsigned long count)
{
	if (hint->chunk && first < hint->first + hint->count && hint->first < first + count)
		hint->chunk = NULL;
}

struct page *__uptr_userptr_page(struct uptr_userptr *up, unsigned long idx,
				 bool write, struct uptr_userptr_hint *hint);
bool __uptr_userptr_dma_addr(struct uptr_userptr *up, unsigned long idx, bool write,
			     dma_addr_t *addr, bool *writable);
void uptr_userptr_stats(struct uptr_userptr *up, struct uptr_userptr_stats *st);

/**
 * uptr_userptr_notifier_lock() - take the lock of a coherent userptr
 * @up: a coherent userptr
 *
 * While it is held, the page cache of @up does not change: a valid page
 * stays valid and alive, because the invalidate callback takes it
 * before it lets the CPU mapping go.  Hold it only around one page
 * access (or a small bounded batch): the invalidate callback, in reclaim
 * or in the OOM reaper, spins on it.  Nothing that sleeps may run under
 * it, and no GFP_KERNEL allocation; the DMA layer's locks (and its
 * GFP_ATOMIC allocations) and the page-dirtying locks of
 * set_page_dirty() nest inside it (see DOC: Locking), and a second
 * userptr's lock only through uptr_userptr_notifier_lock_nested(), in
 * address order.
 *
 * Context: any context that may take a spinlock.
 */
static inline void uptr_userptr_notifier_lock(struct uptr_userptr *up)
{
	spin_lock(&up->lock);
}

/**
 * uptr_userptr_notifier_lock_nested() - take a second userptr's lock
 * @up: a coherent userptr at a higher address than the one whose lock
 *	the caller holds
 *
 * For a device access that reaches two userptrs at once (a copy between
 * them).  Taking them in address order keeps two such accesses from
 * deadlocking; the invalidate callback only ever takes one.
 */
static inline void uptr_userptr_notifier_lock_nested(struct uptr_userptr *up)
{
	spin_lock_nested(&up->lock, SINGLE_DEPTH_NESTING);
}

/**
 * uptr_userptr_notifier_unlock() - release a coherent userptr's lock
 * @up: a coherent userptr whose lock the caller holds
 */
static inline void uptr_userptr_notifier_unlock(struct uptr_userptr *up)
{
	spin_unlock(&up->lock);
}

/**
 * uptr_userptr_is_coherent() - whether @up follows the page tables
 * @up: the userptr
 *
 * Return: true for a coherent userptr, false for a pinned one.
 */
static inline bool uptr_userptr_is_coherent(const struct uptr_userptr *up)
{
	return !(up->flags & UPTR_USERPTR_PINNED);
}

/**
 * uptr_userptr_mm() - the address space a userptr wraps a range of
 * @up: an initialised userptr
 *
 * Return: the creator's mm, held (mmgrab()) for @up's life.
 */
static inline struct mm_struct *uptr_userptr_mm(const struct uptr_userptr *up)
{
	return uptr_userptr_is_coherent(up) ? up->notifier.mm : up->pin_mm;
}

/**
 * uptr_userptr_mgr() - the manager of a userptr's device
 * @up: an initialised userptr
 *
 * Return: the manager passed to uptr_userptr_init().
 */
static inline struct uptr_userptr_mgr *uptr_userptr_mgr(const struct uptr_userptr *up)
{
	if (uptr_userptr_is_coherent(up))
		return container_of(up->notifier.ops, struct uptr_userptr_mgr, notifier_ops);
	return up->pin_mgr;
}

/**
 * uptr_userptr_start() - the first user address of a userptr
 * @up: an initialised userptr
 *
 * Return: the address, page aligned.
 */
static inline unsigned long uptr_userptr_start(const struct uptr_userptr *up)
{
	return uptr_userptr_is_coherent(up) ? up->notifier.interval_tree.start : up->pin_start;
}

/**
 * uptr_userptr_end() - the user address just past a userptr's range
 * @up: an initialised userptr
 *
 * Return: the address, page aligned.
 */
static inline unsigned long uptr_userptr_end(const struct uptr_userptr *up)
{
	if (uptr_userptr_is_coherent(up))
		return up->notifier.interval_tree.last + 1;
	return up->pin_start + (up->pin_npages << PAGE_SHIFT);
}

/**
 * uptr_userptr_npages() - the pages of a userptr's range
 * @up: an initialised userptr
 *
 * Return: the number of pages.
 */
static inline unsigned long uptr_userptr_npages(const struct uptr_userptr *up)
{
	if (uptr_userptr_is_coherent(up))
		return (up->notifier.interval_tree.last + 1 -
			up->notifier.interval_tree.start) >> PAGE_SHIFT;
	return up->pin_npages;
}

/**
 * uptr_userptr_active_get() - say that device work uses a userptr now
 * @up: a userptr
 *
 * While the count is raised, the shrinker does not drop the userptr's
 * cached pages: work that faulted them in would only fault them again.
 * The invalidate callback ignores it.  Raise it before faulting the
 * work's pages in (uptr_userptr_fault()) and drop it with
 * uptr_userptr_active_put() once the work is over.  A no-op for a
 * pinned userptr.
 *
 * Context: any.
 */
static inline void uptr_userptr_active_get(struct uptr_userptr *up)
{
	if (uptr_userptr_is_coherent(up))
		atomic_inc(&up->active);
}

/**
 * uptr_userptr_active_put() - the device work that used a userptr is over
 * @up: a userptr whose count uptr_userptr_active_get() raised
 *
 * Context: any.
 */
static inline void uptr_userptr_active_put(struct uptr_userptr *up)
{
	if (uptr_userptr_is_coherent(up))
		WARN_ON_ONCE(atomic_dec_return(&up->active) < 0);
}

#endif /* _UPTR_USERPTR_H_ */
