// SPDX-License-Identifier: GPL-2.0
/*
 * uptr userptr core.
 */

#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/hugetlb.h>
#include <linux/lockdep.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/xarray.h>

#include "uptr_compat.h"
#include "uptr_trace.h"
#include "uptr_userptr.h"

/**
 * DOC: Overview
 *
 * A userptr wraps a range of a process's address space so that a device
 * reads and writes those very pages.  This file is the device-independent
 * part: it validates a range, pins it or mirrors it, DMA-maps the pages,
 * and gives it all back.  It knows nothing of DRM or of the driver's
 * buffer objects; it depends on mm, mmu_notifier, scatterlist and the DMA
 * API only.
 *
 * A driver adopts it with one &struct uptr_userptr_mgr per device, set up
 * by uptr_userptr_mgr_init() with the driver's &struct uptr_userptr_ops,
 * and a &struct uptr_userptr embedded in each of its buffer objects.
 * From the ioctl that creates the object, in the context of the process
 * whose memory is wrapped, it calls:
 *
 * 1. uptr_userptr_check_range() on the user's address and size, before
 *    it allocates anything;
 * 2. optionally uptr_userptr_probe(), to refuse a range that is not
 *    backed by ordinary memory right now;
 * 3. uptr_userptr_init(), which records the creating mm and then
 *
 *    - for a %UPTR_USERPTR_PINNED userptr, pins the pages with
 *      %FOLL_LONGTERM and never forces access the mapping does not
 *      grant, charges them to the process's
 *      locked memory the way io_uring and iommufd do (the creating
 *      user's ``locked_vm`` against ``RLIMIT_MEMLOCK`` unless the caller
 *      has ``CAP_IPC_LOCK``, and the creating mm's ``pinned_vm``) and
 *      DMA-maps them into &uptr_userptr.sgt;
 *    - for a coherent userptr, only registers an MMU interval notifier
 *      on the range: creation costs the same whatever the size.
 *
 * A pinned userptr keeps the pages it pinned for its whole life, whatever
 * the process later does to the mapping ("unsynchronized" semantics).
 *
 * A coherent userptr follows the process's page tables, the way a device
 * with replayable page faults does (and as KVM's gfn_to_pfn_cache does
 * for a CPU reading guest memory).  Before the device uses a range of it,
 * the driver may call uptr_userptr_fault(), which makes the pages valid
 * in the userptr's page cache (hmm_range_fault()), faulting in only what
 * is not valid already: it is what makes the common case one fault pass,
 * and what lets the driver refuse work that could not run at all.
 * uptr_userptr_prefetch() takes the same path ahead of any work, for
 * reads or writes, or without faulting (only what the CPU maps now).  The
 * device then reaches each page inside a short critical section of the
 * userptr's lock: uptr_userptr_notifier_lock(), __uptr_userptr_page(),
 * one page access (or a few, a small bounded batch, each checked),
 * uptr_userptr_notifier_unlock().  When the page is not valid (any
 * more), the driver leaves the critical section, calls
 * uptr_userptr_replay() and tries again.  When the kernel changes the
 * mapping, the notifier takes the same lock and drops the pages of the
 * invalidated range, synchronously: it waits for the access in progress,
 * never for device work, and when it returns the device will not touch
 * those pages again.
 *
 * Either way uptr_userptr_fini() gives everything back.  The caller must
 * refuse to use a userptr from an mm other than uptr_userptr_mm().
 *
 * See DOC: Examples for the submit path and the fault path of a driver.
 */

/**
 * DOC: Examples
 *
 * A device that reaches memory through the CPU, as uptr's engine does
 * (&uptr_userptr_mgr.dma_attrs %DMA_ATTR_SKIP_CPU_SYNC)::
 *
 *	// submit: fault everything in once; refuse work that cannot run
 *	ret = uptr_userptr_fault(up, first, count, write);
 *	if (ret)
 *		return ret;
 *	publish_work(job);	// only for the driver's own waiters
 *
 *	// execution, for each page idx the work touches
 *	for (;;) {
 *		uptr_userptr_notifier_lock(up);
 *		page = __uptr_userptr_page(up, idx, write, NULL);
 *		if (page)
 *			break;
 *		uptr_userptr_notifier_unlock(up);
 *		ret = uptr_userptr_replay(up, idx, left, write);
 *		if (ret)
 *			return ret;	// the work stops at this page
 *	}
 *	access_one_page(page);	// kmap_local_page(), no sleeping
 *	uptr_userptr_notifier_unlock(up);
 *
 * A device that does real DMA (&uptr_userptr_mgr.dma_attrs 0) has the
 * same shape with DMA addresses: it programs one page (or a small
 * bounded batch) inside the critical section and waits for that
 * transfer there, without sleeping.  The pages stay mapped while the CPU
 * writes them, so without %DMA_ATTR_SKIP_CPU_SYNC it syncs around each
 * transfer::
 *
 *	// submit: as above, uptr_userptr_fault(), then publish the work
 *
 *	// execution, for each page idx the work touches
 *	for (;;) {
 *		uptr_userptr_notifier_lock(up);
 *		if (__uptr_userptr_dma_addr(up, idx, write, &addr, &rw))
 *			break;
 *		uptr_userptr_notifier_unlock(up);
 *		ret = uptr_userptr_replay(up, idx, left, write);
 *		if (ret)
 *			return ret;	// the work stops at this page
 *	}
 *	dir = rw ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
 *	dma_sync_single_for_device(dev, addr, PAGE_SIZE, dir);
 *	dma_one_page_and_poll(addr);		// bounded, no sleeping
 *	if (write)
 *		dma_sync_single_for_cpu(dev, addr, PAGE_SIZE, dir);
 *	uptr_userptr_notifier_unlock(up);
 *
 * The address is valid only until the lock is released: the invalidate
 * callback unmaps it under the same lock.  A device that keeps DMA
 * addresses in its own page tables past the critical section zaps them
 * in its &uptr_userptr_ops.invalidate, which the core calls under the
 * lock before it unmaps any cached page (from the invalidate callback,
 * the shrinker, a fault that maps a page again, and fini)::
 *
 *	static void drv_invalidate(struct uptr_userptr *up,
 *				   unsigned long first, unsigned long count)
 *	{
 *		struct drv_bo *bo = container_of(up, struct drv_bo, up);
 *
 *		// no sleeping, no allocation, no waiting for the device
 *		drv_clear_ptes(bo, first, count);
 *		drv_flush_tlb_and_poll(bo);	// bounded
 *	}
 *
 * and fills its page tables only in a critical section of the lock, from
 * what __uptr_userptr_dma_addr() returns there.  uptr's own engine keeps
 * across holds only where it looked its last page up (a
 * &struct uptr_userptr_hint per command and userptr), zapped that way
 * (uptr_userptr_hint_zap()).
 */

/**
 * DOC: Locking
 *
 * Each coherent userptr has a lock of its own, &uptr_userptr.lock, a
 * spinlock taken through uptr_userptr_notifier_lock().  It protects the
 * entries of the page cache, the counters, and orders stores into the
 * cache against the notifier sequence.  No lock is shared between
 * userptrs: an invalidation of one process's memory never waits for
 * anything another process's userptrs hold.  (Device work uses a userptr
 * only from the mm that created it; another process holding a handle to
 * it can take the lock only for statistics or the final release, one
 * chunk at a time.)
 *
 * Who takes it, and for how long:
 *
 * - the device (the driver's engine), around each step of a small bounded
 *   batch of page accesses (uptr's engine: UPTR_ENGINE_STEP_PAGES, 16):
 *   for each page, check the entry is valid (and writable, for a write)
 *   with __uptr_userptr_page(), which marks the page dirty at the first
 *   write through its entry, then copy the page through
 *   kmap_local_page().  A copy between two coherent userptrs holds both
 *   locks, the lower address first (uptr_userptr_notifier_lock_nested());
 * - the fault path, to store what hmm_range_fault() found for one chunk
 *   (at most UPTR_FAULT_PAGES pages stored one by one, or one block of a
 *   huge page, or one huge chunk: one DMA mapping each), and only if
 *   mmu_interval_read_retry() shows no invalidation since it read them;
 * - the invalidate callback, to call mmu_interval_set_seq() and then to
 *   drop the entries of the invalidated range, about a chunk's worth of
 *   work per hold: UPTR_CHUNK_PAGES steps, a step being a chunk visited,
 *   a page dropped, or a block (a huge page) dropped whole (a DMA unmap;
 *   the pages themselves are not touched).  Before it drops pages of a
 *   chunk, in the same hold, it calls the driver's
 *   &uptr_userptr_ops.invalidate for them, so that the device forgets
 *   its own translations first; so do the shrinker, a fault that
 *   replaces a cached page or maps it again, and uptr_userptr_fini();
 * - the shrinker, with spin_trylock() under the manager's list lock, to
 *   drop one chunk of an idle userptr;
 * - uptr_userptr_fini(), as the invalidate callback; uptr_userptr_stats(),
 *   one chunk per hold.
 *
 * Who waits for whom: the invalidate callback, for each hold, waits for
 * the lock, that is for at most one device step (a few page copies), one
 * store of a chunk or one such hold of another path, and then drops a chunk's worth of valid
 * entries: its worst case is the pages cached in the range plus one such
 * critical section per hold, whatever device work is running.  That
 * critical section may itself be waiting: the engine, copying between
 * two userptrs, holds A's lock while it spins on B's, so an invalidation
 * of A waits for B's holder too.  The chain is one link long (a second
 * lock is only ever taken nested in a first, in address order, and nothing nests in the
 * second) and every section in it is bounded, so the wait stays bounded.
 * The callback never waits for device work to complete, takes no other
 * lock of the driver (the driver's &uptr_userptr_ops.invalidate runs
 * under this lock, by the same rules) and does not sleep, so it behaves
 * the same when the
 * range is not blockable (the OOM reaper), only without yielding between
 * chunks: it spins for those short whiles and always succeeds.
 * The device, in turn, finds a page the callback dropped invalid and
 * faults it in again (uptr_userptr_replay()) outside the lock, with the
 * mmap lock for read and no lock of this file held; like a CPU fault, it
 * may wait in mmu_interval_read_begin() for the mapping change in
 * progress to end.  If the page cannot be reached the way the work
 * needs, the work stops there.
 *
 * Why a spinlock rather than a mutex: the critical sections are a page
 * copy at most, and a non-blockable invalidation must not fail just
 * because the device is working, which a mutex_trylock() would make it
 * do.  On PREEMPT_RT the spinlock sleeps (with priority inheritance),
 * which non-blockable notifiers may do there too.
 *
 * The device writes through the kernel mapping, which the CPU's dirty
 * bits do not see, hence set_page_dirty() at the device's first write
 * through an entry, under the lock, while the CPU maps the page; whatever
 * cleans a page the CPU maps goes through the notifier first, which drops
 * the entry, so a later write needs a new entry and marks the page again
 * (__uptr_entry_mark_written()).  The invalidate callback therefore
 * touches no page: it only unmaps DMA addresses and clears entries.
 *
 * A page is valid from a store until the invalidate callback drops it,
 * and the callback runs before the CPU mapping lets the page go; so a
 * page found valid under the lock is alive until the lock is released.
 * The cache holds no page references: like the CPU's own page tables, it
 * relies on the notifier.
 *
 * Chunks: a chunk of the cache is inserted into &uptr_userptr_cache.chunks by
 * the fault path and erased and freed at once (no RCU) by whoever drops
 * its last valid entry (the invalidate callback, the shrinker, fini, or
 * a fault that replaces a huge chunk or whose store emptied the chunk
 * it was given), always with the userptr's lock held; a
 * huge chunk, one multi-index entry over UPTR_HUGE_CHUNK_SLOTS indexes
 * (xa_store_range()), is inserted and erased whole the same way.
 * So a chunk pointer is valid only while the lock is held: every path
 * looks the chunk up under the lock it uses it under (xa_load(), or
 * xa_find() or xas_find() after taking it), and none keeps a chunk
 * pointer across an unlock.  The device sees a chunk only as an opaque
 * &struct uptr_userptr_hint; one it keeps across holds is one of its
 * translations, which its &uptr_userptr_ops.invalidate zaps: the core
 * calls that in the hold in which it drops pages of the chunk, and frees
 * a chunk only once it has dropped its last page.  A coherent userptr
 * gets the index of its chunks (&struct uptr_userptr_cache) from the
 * first fault that stores a page, and keeps it until
 * uptr_userptr_fini().  The xarray's own lock nests inside the
 * userptr's.  Under the userptr's lock a fault inserts with
 * GFP_NOWAIT only; if that fails it drops the lock, reserves the slot
 * with GFP_KERNEL (xa_reserve()) and tries again, or, for a huge chunk,
 * stores the pages in chunks of small pages instead.  A reserved slot is
 * no chunk: a huge chunk may take its place, and the reservation is then
 * released for nothing.  Erasing allocates nothing.  No chunk is ever
 * left empty once the lock is released.
 *
 * The shrinker: each manager keeps its coherent userptrs that may have
 * cached pages on a list (&uptr_userptr_mgr.lru) under a spinlock of its
 * own, &uptr_userptr_mgr.lru_lock, the only lock shared by the userptrs
 * of a device.  The invalidate callback never takes it.  The shrinker
 * holds it for one list step and at most one chunk dropped: it takes the
 * userptr's lock inside it with spin_trylock() only (a holder is using
 * or invalidating the userptr: skip it), and skips a userptr whose
 * &uptr_userptr.active count is raised (device work in progress).  The
 * fault path puts a userptr on the list after a store, with the list
 * lock alone; uptr_userptr_fini() takes it off, with the list lock alone,
 * before it frees anything, so the shrinker never sees a userptr being
 * destroyed.  A userptr leaves the list only with both locks held and
 * nothing resident, so one that has cached pages is always on it.
 * Like the notifier, the shrinker drops an entry only while it is valid
 * under the lock, hence while the CPU still maps its page.
 *
 * What may run under the lock: nothing that sleeps, and no allocation
 * that can recurse into reclaim (GFP_KERNEL): the lock is taken in
 * reclaim, and lockdep is taught so when each userptr is created.  It is
 * not innermost: the DMA layer may take its own locks and allocate with
 * GFP_ATOMIC under it (IOMMU page tables, swiotlb, DMA-API debug), and
 * set_page_dirty() takes the page's mapping locks (the i_pages lock,
 * private_lock, the inode's i_lock, the writeback list lock, memcg
 * locks); a second userptr's lock nests in it, as above.  The xarray's
 * lock nests in it too, and, as the notifier and fini drop a range under
 * both, the DMA layer's locks nest in the xarray's.  None of them is
 * held while taking a userptr's lock.  The driver's reservation locks and
 * the mmap lock are never taken under it.
 *
 * A pinned &struct uptr_userptr is immutable between uptr_userptr_init()
 * and uptr_userptr_fini(): readers need no lock, only a reference on the
 * embedding object.
 *
 * uptr_userptr_probe(), uptr_userptr_fault(), uptr_userptr_replay() and
 * uptr_userptr_prefetch() take the mmap lock of the mm for read;
 * uptr_userptr_init() lets pin_user_pages_fast() or the notifier
 * registration take it.  None may be called with it held.
 */

/*
 * Pages per chunk of a coherent userptr's page cache: 16 bytes a page
 * plus a 24-byte header, in one object of its own slab cache.  A userptr
 * smaller than a chunk, and the last chunk of a larger one, get a chunk
 * of their own size from kmalloc(): a one-page userptr costs 40 bytes.
 * As many pages as the fault path stores per hold of the lock.
 */
#define UPTR_CHUNK_SHIFT	6
#define UPTR_CHUNK_PAGES	BIT(UPTR_CHUNK_SHIFT)

/*
 * A huge chunk: the pages of one PMD-sized huge CPU mapping, aligned in
 * the userptr as in the address space (a userptr that starts on a
 * PMD_SIZE boundary), stored by one fault as one block.  It holds the
 * UPTR_HUGE_CHUNK_SLOTS indexes of &uptr_userptr_cache.chunks its pages span
 * (one multi-index entry) and only its block: no per-page arrays, so it
 * costs a few bytes for PMD_SIZE, and storing, looking up and dropping
 * it costs one step.  A change that would store any other page in it
 * drops it first.
 */
#define UPTR_HUGE_CHUNK_PAGES	(PMD_SIZE >> PAGE_SHIFT)
#define UPTR_HUGE_CHUNK_SLOTS	(UPTR_HUGE_CHUNK_PAGES >> UPTR_CHUNK_SHIFT)
#define UPTR_HUGE_CHUNKS	(IS_ENABLED(CONFIG_XARRAY_MULTI) &&		\
				 UPTR_HUGE_CHUNK_SLOTS > 1 &&			\
				 UPTR_HUGE_CHUNK_PAGES <= U16_MAX)

/*
 * Pages stored per hold of the userptr lock, and faulted per
 * hmm_range_fault() call once the CPU changed a larger batch under the
 * walk.  Each call must succeed within HMM_RANGE_DEFAULT_TIMEOUT while
 * the CPU keeps changing the range (NUMA balancing migrates each page it
 * faults, each migration restarts the walk): a small batch keeps that
 * bound reachable on a slow (debug) kernel, and keeps the critical
 * section of a store short.
 */
#define UPTR_FAULT_PAGES	UPTR_CHUNK_PAGES

/*
 * Pages faulted per hmm_range_fault() call until the CPU changes a batch
 * under the walk: one PMD, aligned.  Walking a huge mapping (PMD-mapped
 * THP, hugetlb) costs one step whatever its pages, so the walk is done
 * once for all of it; over small pages one walk instead of eight saves
 * the set-up of seven (sequence, mmap lock, VMA checks).  What it found
 * is still stored one chunk (UPTR_FAULT_PAGES) per hold of the lock.
 */
#define UPTR_FAULT_HUGE_PAGES	max_t(unsigned long, UPTR_FAULT_PAGES, PMD_SIZE >> PAGE_SHIFT)

/*
 * Low bits of a cached page pointer: the CPU mapping allows writes and the
 * userptr is not read-only, so the page is DMA-mapped both ways...
 */
#define UPTR_ENTRY_WRITABLE	1UL
/* ...and the device wrote the page (set under the lock, at its first write). */
#define UPTR_ENTRY_DIRTY	2UL
#define UPTR_ENTRY_FLAGS	(UPTR_ENTRY_WRITABLE | UPTR_ENTRY_DIRTY)

/**
 * struct uptr_userptr_cache - what a coherent userptr has once it caches
 * @chunks: the page cache, chunks of entries by page index /
 *	UPTR_CHUNK_PAGES; a chunk is allocated when a fault stores its
 *	first page and freed when its last page is dropped, both under
 *	&uptr_userptr.lock, so a chunk pointer is only used with it held
 * @lru: on &uptr_userptr_mgr.lru while pages may be cached
 *	(&uptr_userptr_mgr.lru_lock; emptied also under &uptr_userptr.lock)
 * @up: the userptr, for the shrinker
 *
 * Allocated by the first fault that has a page to store, so that a cold
 * userptr, which may never be used, costs none of it; freed with the
 * userptr.
 */
struct uptr_userptr_cache {
	struct xarray chunks;
	struct list_head lru;
	struct uptr_userptr *up;
};

/**
 * struct uptr_chunk - up to UPTR_CHUNK_PAGES pages of a coherent page cache
 * @valid: entries that are valid; the chunk is freed when it drops to 0
 * @writable: of those, the ones with %UPTR_ENTRY_WRITABLE (the pages of
 *	the block count if its entry has it), so that a chunk whose every
 *	page is valid, and writable, is known so at one look
 * @capacity: pages of the chunk, UPTR_CHUNK_PAGES except in a userptr
 *	smaller than that and in the last chunk of a larger one
 * @blk_first: first page of the chunk's block, if @blk_count
 * @blk_count: pages of the block: valid pages [@blk_first, @blk_first +
 *	@blk_count) of one huge CPU mapping (a PMD-mapped THP, a hugetlb
 *	page), physically contiguous, which share one DMA mapping, made at
 *	@dma[@blk_first] for all of them; 0 if the chunk has no block
 * @blk_entry: the entry of the block's first page; %UPTR_ENTRY_DIRTY in
 *	it says the device wrote some page of the block
 * @dma: DMA address of each valid page outside the block; followed by
 *	@capacity entries, struct page pointer | UPTR_ENTRY_*, 0 if not
 *	valid or in the block (uptr_chunk_entries(); uptr_chunk_entry()
 *	gives any page's entry)
 *
 * Allocated by a fault that stores a page in it, freed when its last
 * page is dropped; inserted into and erased from &uptr_userptr_cache.chunks
 * with &uptr_userptr.lock held, so a pointer to it is only valid while
 * that lock is held (see DOC: Locking).
 *
 * Huge pages: a run of pages that hmm_range_fault() reports mapped by
 * one huge CPU mapping (hmm_pfn_to_map_order()), physically contiguous,
 * is stored as one block per chunk: one entry and one DMA mapping for
 * the run, whatever its length, so that storing, dropping and unmapping
 * it costs one step (the engine looks its pages up as any other).  The
 * device's first write to any page of it marks the block, and its folio
 * dirty, once.  The block is stored and dropped as a whole: dropping any
 * page of it drops all of it.  That drops no more than the CPU does: a
 * change to part of a huge mapping splits it first, and the split
 * invalidates the whole huge range (__split_huge_pmd()), so the pages
 * come back one by one, each with its own mapping, at the next fault.
 * A chunk holds at most one block; a run that starts in a chunk that
 * already has one is stored page by page.  A huge chunk (see
 * UPTR_HUGE_CHUNK_PAGES) is nothing but its block.
 */
struct uptr_chunk {
	u32 valid;
	u32 capacity;
	u16 blk_first;
	u16 blk_count;
	u32 writable;
	unsigned long blk_entry;
	dma_addr_t dma[];
};

/* The chunks of UPTR_CHUNK_PAGES pages, shared by every manager. */
static DEFINE_MUTEX(uptr_chunk_cache_mutex);
static struct kmem_cache *uptr_chunk_cache;
static unsigned int uptr_chunk_cache_users;

static inline size_t uptr_chunk_size(unsigned long capacity)
{
	return sizeof(struct uptr_chunk) +
	       capacity * (sizeof(dma_addr_t) + sizeof(unsigned long));
}

static inline unsigned long *uptr_chunk_entries(struct uptr_chunk *chunk)
{
	return (unsigned long *)&chunk->dma[chunk->capacity];
}

static inline bool uptr_chunk_is_huge(const struct uptr_chunk *chunk)
{
	return UPTR_HUGE_CHUNKS && chunk->capacity > UPTR_CHUNK_PAGES;
}

/* Index of the first page of @chunk, which holds page @idx. */
static inline unsigned long uptr_chunk_start(const struct uptr_chunk *chunk, unsigned long idx)
{
	return round_down(idx, uptr_chunk_is_huge(chunk) ? UPTR_HUGE_CHUNK_PAGES :
			  UPTR_CHUNK_PAGES);
}

/* The index of &uptr_userptr_cache.chunks after those @chunk, holding page @idx, spans. */
static inline unsigned long uptr_chunk_next(const struct uptr_chunk *chunk, unsigned long idx)
{
	return (uptr_chunk_start(chunk, idx) >> UPTR_CHUNK_SHIFT) +
	       (uptr_chunk_is_huge(chunk) ? UPTR_HUGE_CHUNK_SLOTS : 1);
}

/* Pages of chunk @ci of @up. */
static inline unsigned long uptr_chunk_capacity(const struct uptr_userptr *up,
						unsigned long ci)
{
	return min_t(unsigned long, UPTR_CHUNK_PAGES,
		     uptr_userptr_npages(up) - (ci << UPTR_CHUNK_SHIFT));
}

/*
 * A new, empty chunk @ci of @up, charged to the caller's memory cgroup.
 * Context: process context, no userptr lock held.
 */
static struct uptr_chunk *uptr_chunk_alloc(struct uptr_userptr *up, unsigned long ci)
{
	unsigned long capacity = uptr_chunk_capacity(up, ci);
	struct uptr_chunk *chunk;

	if (capacity == UPTR_CHUNK_PAGES)
		chunk = kmem_cache_zalloc(uptr_chunk_cache, GFP_KERNEL_ACCOUNT);
	else
		chunk = kzalloc(uptr_chunk_size(capacity), GFP_KERNEL_ACCOUNT);
	if (chunk)
		chunk->capacity = capacity;
	return chunk;
}

/* A new huge chunk, empty.  Context: process context, no userptr lock held. */
static struct uptr_chunk *uptr_huge_chunk_alloc(void)
{
	struct uptr_chunk *chunk;

	chunk = kzalloc(sizeof(*chunk) + sizeof(chunk->dma[0]), GFP_KERNEL_ACCOUNT);
	if (chunk)
		chunk->capacity = UPTR_HUGE_CHUNK_PAGES;
	return chunk;
}

/* Frees a chunk no xarray holds.  Context: any; allocates nothing. */
static void uptr_chunk_free(struct uptr_chunk *chunk)
{
	if (chunk->capacity == UPTR_CHUNK_PAGES)
		kmem_cache_free(uptr_chunk_cache, chunk);
	else
		kfree(chunk);
}

static inline struct page *uptr_entry_page(unsigned long entry)
{
	return (struct page *)(entry & ~UPTR_ENTRY_FLAGS);
}

static inline bool uptr_entry_ok(unsigned long entry, bool write)
{
	return entry && (!write || (entry & UPTR_ENTRY_WRITABLE));
}

static inline bool uptr_chunk_in_block(const struct uptr_chunk *chunk, unsigned long i)
{
	return i - chunk->blk_first < chunk->blk_count;
}

/* The entry of page @i of @chunk, in its block or not. */
static inline unsigned long uptr_chunk_entry(struct uptr_chunk *chunk, unsigned long i)
{
	unsigned long k = i - chunk->blk_first;

	if (k < chunk->blk_count)
		return (unsigned long)nth_page(uptr_entry_page(chunk->blk_entry), k) |
		       (chunk->blk_entry & UPTR_ENTRY_FLAGS);
	return uptr_chunk_entries(chunk)[i];
}

/* The DMA address of valid page @i of @chunk. */
static inline dma_addr_t uptr_chunk_dma(const struct uptr_chunk *chunk, unsigned long i)
{
	unsigned long k = i - chunk->blk_first;

	if (k < chunk->blk_count)
		return chunk->dma[chunk->blk_first] + (k << PAGE_SHIFT);
	return chunk->dma[i];
}

static int uptr_chunk_cache_get(void)
{
	int ret = 0;

	mutex_lock(&uptr_chunk_cache_mutex);
	if (!uptr_chunk_cache_users) {
		uptr_chunk_cache = kmem_cache_create("uptr_chunk",
						     uptr_chunk_size(UPTR_CHUNK_PAGES),
						     0, SLAB_ACCOUNT, NULL);
		if (!uptr_chunk_cache)
			ret = -ENOMEM;
	}
	if (!ret)
		uptr_chunk_cache_users++;
	mutex_unlock(&uptr_chunk_cache_mutex);
	return ret;
}

static void uptr_chunk_cache_put(void)
{
	mutex_lock(&uptr_chunk_cache_mutex);
	if (!--uptr_chunk_cache_users) {
		kmem_cache_destroy(uptr_chunk_cache);
		uptr_chunk_cache = NULL;
	}
	mutex_unlock(&uptr_chunk_cache_mutex);
}

static unsigned long uptr_userptr_shrink_count(struct shrinker *shrinker,
					       struct shrink_control *sc);
static unsigned long uptr_userptr_shrink_scan(struct shrinker *shrinker,
					      struct shrink_control *sc);

static bool uptr_userptr_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq);

/**
 * uptr_userptr_mgr_init() - set up what the userptrs of a device share
 * @mgr: the manager, embedded in the driver's device
 * @dma_dev: device to DMA-map pages for
 * @ops: the driver's callbacks, kept for the manager's life
 * @dma_attrs: DMA_ATTR_* for every map and unmap of the userptrs' pages,
 *	pinned (the sg table) and coherent (each cached page) alike
 *
 * A device that does real DMA passes 0 (or what its platform needs), and
 * syncs the pages around each use of them: they stay mapped while the
 * CPU writes them.  One that reaches memory through the CPU passes
 * %DMA_ATTR_SKIP_CPU_SYNC.  Registers the shrinker that drops the cached
 * pages of idle coherent userptrs under memory pressure.
 *
 * Context: process context.
 *
 * Return: 0, or -ENOMEM.
 */
int uptr_userptr_mgr_init(struct uptr_userptr_mgr *mgr, struct device *dma_dev,
			  const struct uptr_userptr_ops *ops, unsigned long dma_attrs)
{
	struct shrinker *shrinker;
	int ret;

	mgr->dma_dev = dma_dev;
	mgr->ops = ops;
	mgr->dma_attrs = dma_attrs;
	/*
	 * Written once, before any userptr of the manager exists; the
	 * manager lives in the device, which outlives them all.
	 */
	mgr->notifier_ops.invalidate = uptr_userptr_invalidate;
	spin_lock_init(&mgr->lru_lock);
	INIT_LIST_HEAD(&mgr->lru);
	mgr->nr_lru = 0;
	atomic_long_set(&mgr->cached, 0);

	ret = uptr_chunk_cache_get();
	if (ret)
		return ret;
	shrinker = uptr_shrinker_create(uptr_userptr_shrink_count, uptr_userptr_shrink_scan,
					mgr, "uptr-userptr");
	if (IS_ERR(shrinker)) {
		uptr_chunk_cache_put();
		return PTR_ERR(shrinker);
	}
	mgr->shrinker = shrinker;
	return 0;
}

/**
 * uptr_userptr_mgr_fini() - tear down a manager without userptrs
 * @mgr: the manager
 */
void uptr_userptr_mgr_fini(struct uptr_userptr_mgr *mgr)
{
	uptr_shrinker_destroy(mgr->shrinker);
	WARN_ON(!list_empty(&mgr->lru) || atomic_long_read(&mgr->cached));
	uptr_chunk_cache_put();
}

/* Pages pinned per call, so that a huge range can be interrupted. */
#define UPTR_PIN_BATCH	(PAGE_SIZE / sizeof(struct page *))

/**
 * uptr_userptr_check_range() - validate a user range before any work
 * @user_ptr: start address as the user passed it
 * @user_size: size in bytes as the user passed it
 *
 * Does not allocate and does not look at the mm's mappings.
 *
 * Return: 0 if the range may be wrapped; -EINVAL if @user_size is 0 or
 * either value is not page aligned; -E2BIG if the range wraps around or
 * is larger than %UPTR_USERPTR_MAX_SIZE; -EFAULT if it is not inside the
 * user address space.
 */
int uptr_userptr_check_range(u64 user_ptr, u64 user_size)
{
	if (!user_size || !PAGE_ALIGNED(user_ptr) || !PAGE_ALIGNED(user_size))
		return -EINVAL;
	if (user_ptr + user_size < user_ptr || user_size > UPTR_USERPTR_MAX_SIZE)
		return -E2BIG;
	if (!access_ok(u64_to_user_ptr(user_ptr), user_size))
		return -EFAULT;
	return 0;
}

/*
 * Whether @vma may back a userptr: ordinary memory the kernel reaches
 * through struct page and its direct map.  Not VM_IO, VM_PFNMAP or
 * VM_MIXEDMAP (pages without a struct page, or with one nobody may use),
 * not the driver's own buffer objects, and not memfd_secret(2) memory,
 * whose pages are removed from the direct map: kmap_local_page() of one
 * would oops.  GUP refuses secretmem itself, but 6.1's hmm_range_fault()
 * does not.  vma_is_secretmem() and secretmem_aops are not exported to
 * modules (6.1 to 6.12); the filesystem magic of the file says the same.
 * Context: mmap lock held.
 */
static bool uptr_vma_ok(struct vm_area_struct *vma, const struct uptr_userptr_ops *ops)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP))
		return false;
	if (vma->vm_file && file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC)
		return false;
	return !(ops && ops->vma_is_device && ops->vma_is_device(vma));
}

/**
 * uptr_userptr_probe() - check that a range is backed by ordinary memory
 * @start: first address, checked by uptr_userptr_check_range()
 * @size: size in bytes, checked by uptr_userptr_check_range()
 * @flags: UPTR_USERPTR_* the userptr will be created with
 * @ops: the driver's callbacks, may be NULL
 *
 * Every page of the range must be mapped right now, readable (and
 * writable unless %UPTR_USERPTR_READ_ONLY), by a mapping that is not
 * %VM_IO, %VM_PFNMAP or %VM_MIXEDMAP, not memfd_secret(2) memory and not
 * one of the driver's own buffer objects.  Context: process context of the creating process;
 * takes the mmap lock for read.
 *
 * Return: 0 if so, -EFAULT if not, -EINTR on a fatal signal.
 */
int uptr_userptr_probe(unsigned long start, unsigned long size,
		       unsigned int flags, const struct uptr_userptr_ops *ops)
{
	unsigned long need = VM_READ, end = start + size, addr = start;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret = 0;

	if (!(flags & UPTR_USERPTR_READ_ONLY))
		need |= VM_WRITE;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !uptr_vma_ok(vma, ops) || (vma->vm_flags & need) != need) {
			ret = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

static enum dma_data_direction uptr_userptr_dma_dir(const struct uptr_userptr *up)
{
	return up->flags & UPTR_USERPTR_READ_ONLY ? DMA_TO_DEVICE : DMA_BIDIRECTIONAL;
}

/*
 * Largest sg segment @dev can map, a whole number of pages: within both
 * what the DMA layer can map at once and the segment size the device
 * declared (dma_set_max_seg_size(); 64 KiB when it declared none).
 */
static unsigned int uptr_userptr_max_segment(struct device *dev)
{
	size_t max = min_t(size_t, dma_max_mapping_size(dev), dma_get_max_seg_size(dev));

	return min_t(size_t, max, UINT_MAX) & PAGE_MASK;
}

/*
 * Charges a pinned userptr's pages as io_uring and iommufd do: against
 * RLIMIT_MEMLOCK in the creating user's locked_vm, which every process
 * of that user shares, so that processes which each pin up to the limit
 * and pass their handles to one another (a shared fd, SCM_RIGHTS) cannot
 * multiply it; and in the creating mm's pinned_vm, where /proc shows it
 * (VmPin).  A caller with CAP_IPC_LOCK is not limited, and its user is
 * not charged.  The charge stays with that user and mm until the BO is
 * freed, whoever holds the handle by then.
 */
static int uptr_userptr_charge(struct uptr_userptr *up)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user;
	unsigned long cur, new;

	up->user = NULL;
	if (!capable(CAP_IPC_LOCK)) {
		user = get_current_user();
		cur = atomic_long_read(&user->locked_vm);
		do {
			new = cur + uptr_userptr_npages(up);
			if (new < cur || new > limit) {
				free_uid(user);
				return -ENOMEM;
			}
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
		up->user = user;
	}
	atomic64_add(uptr_userptr_npages(up), &uptr_userptr_mm(up)->pinned_vm);
	return 0;
}

static void uptr_userptr_uncharge(struct uptr_userptr *up)
{
	atomic64_sub(uptr_userptr_npages(up), &uptr_userptr_mm(up)->pinned_vm);
	if (up->user) {
		atomic_long_sub(uptr_userptr_npages(up), &up->user->locked_vm);
		free_uid(up->user);
		up->user = NULL;
	}
}

/*
 * 6.1 lets FOLL_LONGTERM pin the pages of any file, but a filesystem with
 * writeback may clean such a page and release its buffers while the
 * device keeps writing it, and unpinning then dirties a page it no longer
 * expects.  A read-write pinned userptr may cover shared mappings of
 * shmem and hugetlbfs only; private mappings get anonymous copies.  Any
 * pinned userptr is refused the mappings a coherent one is
 * (uptr_vma_ok()); GUP refuses most of them itself, not the driver's.
 */
static int uptr_userptr_check_pinnable(struct uptr_userptr *up)
{
	VMA_ITERATOR(vmi, uptr_userptr_mm(up), uptr_userptr_start(up));
	struct vm_area_struct *vma;
	int ret = 0;

	if (mmap_read_lock_killable(uptr_userptr_mm(up)))
		return -EINTR;
	for_each_vma_range(vmi, vma, uptr_userptr_end(up)) {
		if (!uptr_vma_ok(vma, uptr_userptr_mgr(up)->ops)) {
			ret = -EFAULT;
			break;
		}
		if (up->flags & UPTR_USERPTR_READ_ONLY)
			continue;
		if ((vma->vm_flags & VM_SHARED) && vma->vm_file &&
		    !shmem_mapping(vma->vm_file->f_mapping) &&
		    !is_vm_hugetlb_page(vma)) {
			ret = -EFAULT;
			break;
		}
	}
	mmap_read_unlock(uptr_userptr_mm(up));
	return ret;
}

/*
 * The pages a read-write pinned userptr may keep: anonymous, shmem or
 * hugetlb ones, the pages of the mappings uptr_userptr_check_pinnable()
 * accepts.  A page truncated from its file meanwhile has no mapping and
 * is refused too.
 */
static bool uptr_page_rw_pinnable(struct page *page)
{
	struct folio *folio = page_folio(page);
	struct address_space *mapping;

	bool ok;

	if (folio_test_anon(folio) || folio_test_hugetlb(folio))
		return true;
	/* A shmem inode truncated meanwhile is freed after a grace period. */
	rcu_read_lock();
	mapping = folio_mapping(folio);
	ok = mapping && shmem_mapping(mapping);
	rcu_read_unlock();
	return ok;
}

static int uptr_userptr_pin(struct uptr_userptr *up)
{
	unsigned int gup = FOLL_LONGTERM;
	unsigned long done = 0, i;
	struct page **pages;
	int ret;

	if (!(up->flags & UPTR_USERPTR_READ_ONLY))
		gup |= FOLL_WRITE;

	ret = uptr_userptr_check_pinnable(up);
	if (ret)
		return ret;

	ret = uptr_userptr_charge(up);
	if (ret)
		return ret;

	/* Past INT_MAX bytes kvmalloc fails: say -ENOMEM without a warning. */
	pages = kvmalloc_array(uptr_userptr_npages(up), sizeof(*pages),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

	while (done < uptr_userptr_npages(up)) {
		unsigned long n = min_t(unsigned long, uptr_userptr_npages(up) - done,
					UPTR_PIN_BATCH);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_unpin;
		}
		ret = pin_user_pages_fast(uptr_userptr_start(up) + (done << PAGE_SHIFT), n, gup,
					  pages + done);
		if (ret <= 0) {
			/* -EFAULT for a hole, a mapping without the access or
			 * one that cannot be pinned long-term; 0 is not expected
			 * but must not loop forever.
			 */
			ret = ret ? ret : -EFAULT;
			if (ret == -ERESTARTSYS)
				ret = -EINTR;
			goto err_unpin;
		}
		done += ret;
		cond_resched();
	}

	/*
	 * uptr_userptr_check_pinnable() looked at the VMAs with mmap_lock
	 * dropped before pinning: a thread may have mapped a file over the
	 * range in between.  What counts is what was pinned.
	 */
	if (!(up->flags & UPTR_USERPTR_READ_ONLY)) {
		for (i = 0; i < uptr_userptr_npages(up); i++) {
			if (!uptr_page_rw_pinnable(pages[i])) {
				ret = -EFAULT;
				goto err_unpin;
			}
			if (!(i & 1023))
				cond_resched();
		}
	}

	/* Contiguous pages, huge pages first of all, become one segment. */
	ret = sg_alloc_table_from_pages_segment(&up->sgt, pages, uptr_userptr_npages(up), 0,
						uptr_userptr_npages(up) << PAGE_SHIFT,
						uptr_userptr_max_segment(up->pin_mgr->dma_dev),
						GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unpin;

	ret = dma_map_sgtable(uptr_userptr_mgr(up)->dma_dev, &up->sgt, uptr_userptr_dma_dir(up),
			      uptr_userptr_mgr(up)->dma_attrs);
	if (ret)
		goto err_free_sgt;

	up->pages = pages;
	return 0;

err_free_sgt:
	sg_free_table(&up->sgt);
err_unpin:
	unpin_user_pages(pages, done);
	kvfree(pages);
err_uncharge:
	uptr_userptr_uncharge(up);
	return ret;
}

/*
 * The DMA direction of a cached page: a page the CPU maps writable, of a
 * userptr the device may write, is mapped both ways; any other page only
 * to the device.  The zero page, a KSM page, a page shared copy-on-write
 * after fork or a private file page reach the cache read-only, and a
 * device that may not write them must not be told it may (the DMA API
 * debug code counts overlapping writable mappings of one page).
 */
static enum dma_data_direction uptr_entry_dma_dir(unsigned long entry)
{
	return entry & UPTR_ENTRY_WRITABLE ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/*
 * Drops entry @i of @chunk: unmaps its DMA address and clears it, without
 * touching its page, which a page the device wrote needs no more (see
 * __uptr_entry_mark_written()).  The caller accounts for it in
 * &uptr_userptr.resident and &uptr_userptr_mgr.cached.
 */
static void __uptr_entry_drop(struct uptr_userptr *up, struct uptr_chunk *chunk,
			      unsigned long i)
{
	unsigned long *entries = uptr_chunk_entries(chunk);
	unsigned long entry = entries[i];

	lockdep_assert_held(&up->lock);

	dma_unmap_page_attrs(uptr_userptr_mgr(up)->dma_dev, chunk->dma[i], PAGE_SIZE,
			     uptr_entry_dma_dir(entry), uptr_userptr_mgr(up)->dma_attrs);
	WRITE_ONCE(entries[i], 0);
	chunk->valid--;
	if (entry & UPTR_ENTRY_WRITABLE)
		chunk->writable--;
}

/* Takes @n dropped pages off the counts of @up and of its manager. */
static void __uptr_userptr_uncount(struct uptr_userptr *up, unsigned long n)
{
	lockdep_assert_held(&up->lock);

	up->resident -= n;
	atomic_long_sub(n, &uptr_userptr_mgr(up)->cached);
}

/*
 * Tells the driver that pages [@first, @first + @count) of @up are about
 * to be dropped, in this hold of the lock, so that the device forgets
 * its own translations of them first (&uptr_userptr_ops.invalidate).
 */
static void __uptr_userptr_zap(struct uptr_userptr *up, unsigned long first,
			       unsigned long count)
{
	const struct uptr_userptr_ops *ops = uptr_userptr_mgr(up)->ops;

	lockdep_assert_held(&up->lock);

	if (ops && ops->invalidate)
		ops->invalidate(up, first, count);
}

/*
 * Drops the block of @chunk (see &struct uptr_chunk): unmaps its one DMA
 * mapping, without touching its pages, as __uptr_entry_drop().  The
 * caller accounts for the pages, returned, in &uptr_userptr.resident and
 * &uptr_userptr_mgr.cached, and frees the chunk if it is empty.
 */
static unsigned long __uptr_block_drop(struct uptr_userptr *up, struct uptr_chunk *chunk)
{
	unsigned long n = chunk->blk_count, entry = chunk->blk_entry;
	struct uptr_userptr_mgr *mgr = uptr_userptr_mgr(up);

	lockdep_assert_held(&up->lock);

	dma_unmap_page_attrs(mgr->dma_dev, chunk->dma[chunk->blk_first], n << PAGE_SHIFT,
			     uptr_entry_dma_dir(entry), mgr->dma_attrs);
	chunk->valid -= n;
	if (entry & UPTR_ENTRY_WRITABLE)
		chunk->writable -= n;
	chunk->blk_count = 0;
	chunk->blk_entry = 0;
	return n;
}

/*
 * Takes @chunk, which holds index @ci of &uptr_userptr_cache.chunks and has no
 * valid page left, out of @up and frees it.  Allocates nothing.
 */
static void __uptr_chunk_remove(struct uptr_userptr *up, struct uptr_chunk *chunk,
				unsigned long ci)
{
	lockdep_assert_held(&up->lock);

	/* Erasing any index of a multi-index entry erases all of it. */
	xa_erase(&up->cache->chunks, ci);
	uptr_chunk_free(chunk);
}

/*
 * Drops the valid entries of pages [idx, end) of chunk @ci, @chunk, and
 * leaves the chunk to the caller, to free if it has no valid entry left.
 * A block the range touches is dropped whole.  Returns the pages
 * dropped; adds to *@steps the work it did: one for the chunk and its
 * block, one per other page.
 */
static unsigned long __uptr_chunk_drop_entries(struct uptr_userptr *up, unsigned long ci,
					       struct uptr_chunk *chunk, unsigned long idx,
					       unsigned long end, unsigned long *steps)
{
	unsigned long cstart = uptr_chunk_start(chunk, ci << UPTR_CHUNK_SHIFT);
	unsigned long dropped = 0, blk = 0, zfirst = idx, zend = end, *entries;
	bool in_blk = false;

	lockdep_assert_held(&up->lock);

	if (chunk->blk_count) {
		unsigned long bstart = cstart + chunk->blk_first;
		unsigned long bend = bstart + chunk->blk_count;

		/* A block goes whole, and so does the device's view of it. */
		in_blk = idx < bend && bstart < end;
		if (in_blk) {
			zfirst = min(idx, bstart);
			zend = max(end, bend);
		}
	}
	__uptr_userptr_zap(up, zfirst, zend - zfirst);
	if (in_blk) {
		blk = __uptr_block_drop(up, chunk);
		dropped = blk;
	}
	/* A huge chunk has no page outside its block, and no entries. */
	entries = uptr_chunk_is_huge(chunk) ? NULL : uptr_chunk_entries(chunk);
	for (; entries && idx < end && chunk->valid; idx++) {
		unsigned long i = idx - cstart;

		if (entries[i]) {
			__uptr_entry_drop(up, chunk, i);
			dropped++;
		}
	}
	__uptr_userptr_uncount(up, dropped);
	*steps += 1 + dropped - blk;
	return dropped;
}

/*
 * Drops every valid entry of chunk @ci, @chunk, and frees it.  Returns
 * the pages dropped.
 */
static unsigned long __uptr_chunk_drop(struct uptr_userptr *up, unsigned long ci,
				       struct uptr_chunk *chunk)
{
	unsigned long cstart = uptr_chunk_start(chunk, ci << UPTR_CHUNK_SHIFT), steps = 0;
	unsigned long dropped = __uptr_chunk_drop_entries(up, ci, chunk, cstart,
							  cstart + chunk->capacity, &steps);

	if (!chunk->valid)
		__uptr_chunk_remove(up, chunk, ci);
	return dropped;
}

/*
 * Drops the cached pages [first, last) of a coherent userptr, about a
 * chunk's worth of work per hold of its lock (UPTR_CHUNK_PAGES steps of
 * __uptr_chunk_drop_entries(): one chunk of small pages, or as many chunks of
 * huge-page blocks), so that a device access waits at most for that;
 * @can_sleep lets it yield between holds.  Only chunks that
 * exist are visited, in one walk of the xarray per hold, which erases
 * each emptied chunk where it stands; at each unlock the walk is reset
 * to the chunk it had not dropped yet and starts again there, from the
 * tree's root, under the next hold (another path may have freed chunks
 * meanwhile), and it stops as soon as nothing
 * is resident.  Entries not dropped yet may still be used by the device
 * meanwhile: their pages stay alive until the caller (the notifier)
 * returns.
 */
static void uptr_userptr_drop(struct uptr_userptr *up, unsigned long first,
			      unsigned long last, bool can_sleep)
{
	XA_STATE(xas, &up->cache->chunks, first >> UPTR_CHUNK_SHIFT);
	struct uptr_chunk *chunk;
	unsigned long cmax;

	if (first >= last)
		return;
	cmax = (last - 1) >> UPTR_CHUNK_SHIFT;
	for (;;) {
		unsigned long cstart, steps = 0;
		bool done = true;

		uptr_userptr_notifier_lock(up);
		xas_lock(&xas);
		/*
		 * Nothing resident, nothing left to drop: the notifier has
		 * moved the sequence on, so no fault that began before can
		 * store any more.
		 */
		while (up->resident && (chunk = xas_find(&xas, cmax))) {
			/* A reserved slot (xa_reserve()) is no chunk. */
			if (xas_retry(&xas, chunk))
				continue;
			if (steps >= UPTR_CHUNK_PAGES) {
				done = false;
				break;
			}
			cstart = uptr_chunk_start(chunk, xas.xa_index << UPTR_CHUNK_SHIFT);
			__uptr_chunk_drop_entries(up, xas.xa_index, chunk, max(first, cstart),
						  min(last, cstart + chunk->capacity), &steps);
			if (!chunk->valid) {
				/* Storing at any index of a multi-index entry erases all of it. */
				xas_store(&xas, NULL);
				uptr_chunk_free(chunk);
			}
		}
		/*
		 * Start again at the chunk it stopped at, not after it: xas_set()
		 * (xas_pause() would skip that chunk).
		 */
		if (!done)
			xas_set(&xas, xas.xa_index);
		xas_unlock(&xas);
		uptr_userptr_notifier_unlock(up);
		if (done)
			break;
		if (can_sleep)
			cond_resched();
	}
}

/*
 * The MMU notifier of a coherent userptr.  Runs in the context of
 * whatever changes the mapping (munmap, reclaim, writeback, migration,
 * the OOM reaper, exit...), with the mmap lock possibly held for write:
 * it finishes the job itself, synchronously, and waits for nothing but
 * the userptr's lock, whose every hold is short and bounded.  So
 * it never fails, blockable or not.  It frees the chunks it empties and
 * allocates nothing.
 */
static bool uptr_userptr_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct uptr_userptr *up = container_of(mni, struct uptr_userptr, notifier);
	unsigned long end = uptr_userptr_end(up);
	unsigned long first, last;
	u64 t0 = ktime_get_ns();
	bool cached;

	/* Round out: a partial page is a page the CPU changes. */
	first = (max(range->start, uptr_userptr_start(up)) - uptr_userptr_start(up)) >> PAGE_SHIFT;
	last = DIV_ROUND_UP(min(range->end, end) - uptr_userptr_start(up), PAGE_SIZE);

	/*
	 * From here on, a fault that read the page tables before cannot
	 * store (mmu_interval_read_retry() under the lock), and no fault
	 * reads them again until the CPU change is over
	 * (mmu_interval_read_begin() waits for it).  So with nothing
	 * resident now, nothing can become resident until it returns.
	 */
	uptr_userptr_notifier_lock(up);
	mmu_interval_set_seq(mni, cur_seq);
	up->invalidations++;
	cached = up->resident;
	uptr_userptr_notifier_unlock(up);

	if (cached)
		uptr_userptr_drop(up, first, last, mmu_notifier_range_blockable(range));
	trace_uptr_userptr_invalidate(up, range, ktime_get_ns() - t0);
	return true;
}

/* The entry hmm_range_fault()'s @hmm_pfn makes, flags but the dirty mark. */
static inline unsigned long uptr_pfn_entry(const struct uptr_userptr *up,
					   unsigned long hmm_pfn)
{
	unsigned long entry = (unsigned long)hmm_pfn_to_page(hmm_pfn);

	if (!(up->flags & UPTR_USERPTR_READ_ONLY) && (hmm_pfn & HMM_PFN_WRITE))
		entry |= UPTR_ENTRY_WRITABLE;
	return entry;
}

static inline bool uptr_pfn_valid(unsigned long hmm_pfn)
{
	return (hmm_pfn & HMM_PFN_VALID) && !(hmm_pfn & HMM_PFN_ERROR);
}

/*
 * How many pages from @idx (at most @end - @idx, @max) can be stored as
 * one block: pages of one huge CPU mapping, physically contiguous, with
 * the same access, whose entries are not valid yet.  0 or 1 if none.
 */
static unsigned long uptr_pfns_block(const struct uptr_userptr *up, u32 chunk_valid,
				     const unsigned long *entries, unsigned long idx,
				     unsigned long end, const unsigned long *pfns,
				     unsigned long max)
{
	const unsigned long mask = UPTR_CHUNK_PAGES - 1;
	unsigned long first = pfns[0], n, span;
	unsigned int order;

	if (!uptr_pfn_valid(first) || entries[idx & mask])
		return 0;
	order = hmm_pfn_to_map_order(first);
	if (!order)
		return 0;
	/* Not past the end of the huge mapping @idx is in. */
	span = BIT(order) - (((uptr_userptr_start(up) >> PAGE_SHIFT) + idx) & (BIT(order) - 1));
	max = min3(max, span, end - idx);
	/*
	 * The flags (valid, write, order) in the high bits, the pfn in the
	 * low ones: the same flags and the next pfn, or the run ends.  One
	 * walk read one huge mapping, so the last page says for all of them
	 * in a chunk with nothing stored yet.
	 */
	if (!chunk_valid && pfns[max - 1] == first + max - 1)
		return max;
	for (n = 1; n < max && pfns[n] == first + n; n++)
		if (entries[(idx + n) & mask])
			break;
	return n;
}

/*
 * Stores what hmm_range_fault() found for pages [idx, end) of @chunk:
 * a run of pages of one huge mapping as the chunk's block, if it has
 * none yet, one DMA mapping for all of it; other pages one by one.
 * Return: the pages stored, or -ENOMEM if a mapping failed (those
 * before it are stored).
 */
static long __uptr_userptr_store(struct uptr_userptr *up, struct uptr_chunk *chunk,
				 unsigned long idx, unsigned long end,
				 const unsigned long *pfns)
{
	unsigned long *entries = uptr_chunk_entries(chunk);
	struct uptr_userptr_mgr *mgr = uptr_userptr_mgr(up);
	struct device *dev = mgr->dma_dev;
	unsigned long max_blk = min_t(unsigned long, U16_MAX,
				      uptr_userptr_max_segment(dev) >> PAGE_SHIFT);
	long stored = 0, forgotten = 0, ret = 0;

	lockdep_assert_held(&up->lock);

	while (idx < end) {
		unsigned long i = idx & (UPTR_CHUNK_PAGES - 1);
		unsigned long old = entries[i], entry, n;
		struct page *page;
		dma_addr_t dma;

		/* A no-fault walk leaves what the CPU does not map out. */
		if (!uptr_pfn_valid(*pfns)) {
			idx++;
			pfns++;
			continue;
		}
		page = hmm_pfn_to_page(*pfns);
		entry = uptr_pfn_entry(up, *pfns);
		if (uptr_chunk_in_block(chunk, i)) {
			old = uptr_chunk_entry(chunk, i);
			/*
			 * As below, for a page of the block; but the block has
			 * one mapping: any change maps it all again.
			 */
			if (uptr_entry_page(old) == page &&
			    ((old & UPTR_ENTRY_WRITABLE) || !(entry & UPTR_ENTRY_WRITABLE))) {
				idx++;
				pfns++;
				continue;
			}
			WARN_ON_ONCE(uptr_entry_page(old) != page);
			__uptr_userptr_zap(up, idx - i + chunk->blk_first, chunk->blk_count);
			n = __uptr_block_drop(up, chunk);
			forgotten += n;
			continue;
		}

		n = chunk->blk_count ? 0 : uptr_pfns_block(up, chunk->valid, entries, idx, end,
								   pfns, max_blk);
		if (n > 1) {
			dma = dma_map_page_attrs(dev, page, 0, n << PAGE_SHIFT,
						 uptr_entry_dma_dir(entry), mgr->dma_attrs);
			if (dma_mapping_error(dev, dma)) {
				ret = -ENOMEM;
				break;
			}
			chunk->dma[i] = dma;
			chunk->blk_entry = entry;
			chunk->blk_first = i;
			chunk->blk_count = n;
			chunk->valid += n;
			if (entry & UPTR_ENTRY_WRITABLE)
				chunk->writable += n;
			stored += n;
			idx += n;
			pfns += n;
			continue;
		}

		if (old) {
			/*
			 * A valid entry still maps the same page: any change
			 * would have invalidated it.  Only its write access
			 * may have grown, and then it is mapped again, for
			 * device writes this time.
			 */
			if (WARN_ON_ONCE(uptr_entry_page(old) != page)) {
				__uptr_userptr_zap(up, idx, 1);
				__uptr_entry_drop(up, chunk, i);
				forgotten++;
				old = 0;
			} else if ((old & UPTR_ENTRY_WRITABLE) ||
				   !(entry & UPTR_ENTRY_WRITABLE)) {
				idx++;
				pfns++;
				continue;
			}
		}
		dma = dma_map_page_attrs(dev, page, 0, PAGE_SIZE,
					 uptr_entry_dma_dir(entry), mgr->dma_attrs);
		if (dma_mapping_error(dev, dma)) {
			ret = -ENOMEM;
			break;
		}
		if (old) {
			/* The device forgets the address it may have of it. */
			__uptr_userptr_zap(up, idx, 1);
			dma_unmap_page_attrs(dev, chunk->dma[i], PAGE_SIZE,
					     uptr_entry_dma_dir(old), mgr->dma_attrs);
			entry |= old & UPTR_ENTRY_DIRTY;
			/* Mapped again only to become writable. */
			chunk->writable++;
		} else {
			chunk->valid++;
			if (entry & UPTR_ENTRY_WRITABLE)
				chunk->writable++;
			stored++;
		}
		chunk->dma[i] = dma;
		WRITE_ONCE(entries[i], entry);
		idx++;
		pfns++;
	}
	__uptr_userptr_uncount(up, forgotten);
	up->resident += stored;
	up->faulted += stored;
	atomic_long_add(stored, &uptr_userptr_mgr(up)->cached);
	return ret ? ret : stored;
}

/*
 * Whether huge chunk @chunk, index @ci of &uptr_userptr_cache.chunks, already
 * holds what hmm_range_fault() found for its pages [idx, end): 0 if so;
 * else drops it, and returns 1 so that the pages are stored in a chunk
 * of small pages.  Only its write access may have grown (the block is
 * mapped again), or, a bug, its pages changed without an invalidation.
 */
static long __uptr_huge_chunk_keep(struct uptr_userptr *up, struct uptr_chunk *chunk,
				   unsigned long ci, unsigned long idx, unsigned long end,
				   const unsigned long *pfns)
{
	unsigned long head = page_to_pfn(uptr_entry_page(chunk->blk_entry));
	unsigned long k = idx - uptr_chunk_start(chunk, idx), n;
	bool same = true, upgrade = false;

	lockdep_assert_held(&up->lock);

	for (; idx < end; idx++, k++, pfns++) {
		if (!uptr_pfn_valid(*pfns))
			continue;
		if ((*pfns & ~HMM_PFN_FLAGS) != head + k)
			same = false;
		if ((uptr_pfn_entry(up, *pfns) & UPTR_ENTRY_WRITABLE) &&
		    !(chunk->blk_entry & UPTR_ENTRY_WRITABLE))
			upgrade = true;
	}
	if (same && !upgrade)
		return 0;
	WARN_ON_ONCE(!same);
	__uptr_userptr_zap(up, uptr_chunk_start(chunk, end - 1), chunk->capacity);
	n = __uptr_block_drop(up, chunk);
	__uptr_userptr_uncount(up, n);
	__uptr_chunk_remove(up, chunk, ci);
	return 1;
}

/*
 * Stores pages [idx, idx + UPTR_HUGE_CHUNK_PAGES), what one walk found
 * for one huge CPU mapping, as huge chunk *@spare, if the range has not
 * changed since it was read (@seq) and no chunk of small pages holds any
 * of its pages.  A huge chunk there already is kept if it holds the
 * same, else dropped (__uptr_huge_chunk_keep()).  Under the lock the
 * xarray may only allocate GFP_NOWAIT.
 *
 * Return: the pages stored or kept; 0 if they are to be stored in chunks
 * of small pages; -EBUSY if the range changed (fault again).
 */
static long uptr_userptr_commit_huge(struct uptr_userptr *up, unsigned long seq,
				     unsigned long idx, const unsigned long *pfns,
				     struct uptr_chunk **spare)
{
	unsigned long ci = idx >> UPTR_CHUNK_SHIFT, last = ci + UPTR_HUGE_CHUNK_SLOTS - 1, at = ci;
	unsigned long entry = uptr_pfn_entry(up, pfns[0]), n = UPTR_HUGE_CHUNK_PAGES;
	struct uptr_userptr_mgr *mgr = uptr_userptr_mgr(up);
	struct device *dev = mgr->dma_dev;
	struct uptr_chunk *chunk, *old;
	dma_addr_t dma;
	long ret = 0;

	if (!UPTR_HUGE_CHUNKS)
		return 0;
	if (!*spare)
		*spare = uptr_huge_chunk_alloc();
	if (!*spare)
		return 0;
	chunk = *spare;

	uptr_userptr_notifier_lock(up);
	if (mmu_interval_read_retry(&up->notifier, seq)) {
		ret = -EBUSY;
		goto out;
	}
	old = xa_load(&up->cache->chunks, ci);
	if (old && uptr_chunk_is_huge(old) &&
	    !__uptr_huge_chunk_keep(up, old, ci, idx, idx + n, pfns)) {
		ret = n;
		goto out;
	}
	if (xa_find(&up->cache->chunks, &at, last, XA_PRESENT))
		goto out;
	dma = dma_map_page_attrs(dev, hmm_pfn_to_page(pfns[0]), 0, n << PAGE_SHIFT,
				 uptr_entry_dma_dir(entry), uptr_userptr_mgr(up)->dma_attrs);
	if (dma_mapping_error(dev, dma))
		goto out;
	if (xa_is_err(xa_store_range(&up->cache->chunks, ci, last, chunk,
				     GFP_NOWAIT | __GFP_NOWARN))) {
		/* Whatever was stored goes: only this path inserts there now. */
		xa_store_range(&up->cache->chunks, ci, last, NULL, 0);
		dma_unmap_page_attrs(dev, dma, n << PAGE_SHIFT, uptr_entry_dma_dir(entry),
				     uptr_userptr_mgr(up)->dma_attrs);
		goto out;
	}
	*spare = NULL;
	chunk->dma[0] = dma;
	chunk->blk_entry = entry;
	chunk->blk_first = 0;
	chunk->blk_count = n;
	chunk->valid = n;
	chunk->writable = entry & UPTR_ENTRY_WRITABLE ? n : 0;
	up->resident += n;
	up->faulted += n;
	atomic_long_add(n, &uptr_userptr_mgr(up)->cached);
	ret = n;
out:
	uptr_userptr_notifier_unlock(up);
	return ret;
}

/* Whether @pfns, for pages [idx, idx + UPTR_HUGE_CHUNK_PAGES), fill a huge chunk. */
static bool uptr_pfns_huge(const struct uptr_userptr *up, unsigned long idx,
			   const unsigned long *pfns)
{
	const unsigned long n = UPTR_HUGE_CHUNK_PAGES;

	return UPTR_HUGE_CHUNKS && IS_ALIGNED(idx, n) &&
	       IS_ALIGNED((uptr_userptr_start(up) >> PAGE_SHIFT) + idx, n) &&
	       idx + n <= uptr_userptr_npages(up) &&
	       uptr_pfn_valid(pfns[0]) && BIT(hmm_pfn_to_map_order(pfns[0])) >= n &&
	       pfns[n - 1] == pfns[0] + n - 1 &&
	       (uptr_userptr_max_segment(uptr_userptr_mgr(up)->dma_dev) >> PAGE_SHIFT) >= n;
}

/*
 * Stores what hmm_range_fault() found for pages [idx, end), all in one
 * chunk, if the range has not changed since it was read (@seq).  The
 * chunk is looked up under the lock and, if it does not exist, inserted
 * from *@spare, which the caller frees if it is left over.  Under the
 * lock the insertion may only allocate GFP_NOWAIT; if that fails, the
 * lock is dropped to reserve the xarray slot with GFP_KERNEL, which
 * makes the next insertion allocate nothing.
 *
 * Return: the pages stored; -EBUSY if the range changed (fault again);
 * -ENOMEM.
 */
static long uptr_userptr_commit(struct uptr_userptr *up, unsigned long seq,
				unsigned long idx, unsigned long end,
				const unsigned long *pfns, struct uptr_chunk **spare)
{
	unsigned long ci = idx >> UPTR_CHUNK_SHIFT;
	struct uptr_chunk *chunk;
	bool reserved = false;
	long ret;

	/* A spare left over by the commit of another chunk may not fit. */
	if (*spare && (*spare)->capacity != uptr_chunk_capacity(up, ci)) {
		uptr_chunk_free(*spare);
		*spare = NULL;
	}
	/*
	 * Allocated ahead when the chunk looks missing: only a hint (the
	 * chunk is looked up again under the lock), which saves a round of
	 * the lock for each new chunk.
	 */
	if (!*spare && !xa_load(&up->cache->chunks, ci))
		*spare = uptr_chunk_alloc(up, ci);
	for (;;) {
		uptr_userptr_notifier_lock(up);
		if (mmu_interval_read_retry(&up->notifier, seq)) {
			uptr_userptr_notifier_unlock(up);
			ret = -EBUSY;
			break;
		}
		chunk = xa_load(&up->cache->chunks, ci);
		if (chunk && uptr_chunk_is_huge(chunk)) {
			ret = __uptr_huge_chunk_keep(up, chunk, ci, idx, end, pfns);
			if (ret <= 0) {
				uptr_userptr_notifier_unlock(up);
				break;
			}
			/* Dropped: store the pages in a chunk of small pages. */
			chunk = NULL;
		}
		if (!chunk && *spare &&
		    !xa_is_err(xa_store(&up->cache->chunks, ci, *spare,
					GFP_NOWAIT | __GFP_NOWARN))) {
			chunk = *spare;
			*spare = NULL;
		}
		if (chunk) {
			ret = __uptr_userptr_store(up, chunk, idx, end, pfns);
			if (!chunk->valid) {
				/* Nothing stored: no empty chunk stays. */
				__uptr_chunk_remove(up, chunk, ci);
			}
			uptr_userptr_notifier_unlock(up);
			break;
		}
		uptr_userptr_notifier_unlock(up);

		if (!*spare) {
			*spare = uptr_chunk_alloc(up, ci);
			if (!*spare) {
				ret = -ENOMEM;
				break;
			}
		} else {
			ret = xa_reserve(&up->cache->chunks, ci, GFP_KERNEL_ACCOUNT);
			if (ret)
				break;
			reserved = true;
		}
	}
	/* A reservation nobody used (another fault inserted the chunk). */
	if (reserved)
		xa_release(&up->cache->chunks, ci);
	return ret;
}

/*
 * Gives @up its &struct uptr_userptr_cache, the first time a fault has
 * pages to store.  It is published once, under the lock, and stays until
 * uptr_userptr_fini(): a path that finds it may use it from then on,
 * with the lock for what the lock protects.
 */
static int uptr_userptr_cache_get(struct uptr_userptr *up)
{
	struct uptr_userptr_cache *cache;

	/* Pairs with the release below: a cache found is initialised. */
	if (smp_load_acquire(&up->cache))
		return 0;
	cache = kmalloc(sizeof(*cache), GFP_KERNEL_ACCOUNT);
	if (!cache)
		return -ENOMEM;
	xa_init_flags(&cache->chunks, XA_FLAGS_ACCOUNT);
	INIT_LIST_HEAD(&cache->lru);
	cache->up = up;
	uptr_userptr_notifier_lock(up);
	if (!up->cache) {
		/* For the lockless check above; readers under the lock need not. */
		smp_store_release(&up->cache, cache);
		cache = NULL;
	}
	uptr_userptr_notifier_unlock(up);
	kfree(cache);
	return 0;
}

/*
 * Puts a userptr that has cached pages on its manager's list, for the
 * shrinker; called after a store, without the userptr's lock.  The
 * shrinker takes a userptr off the list only with its lock held and
 * nothing resident, so either it saw the store and left the userptr
 * on the list, or its removal is visible here and the userptr goes back.
 */
static void uptr_userptr_lru_add(struct uptr_userptr *up)
{
	struct uptr_userptr_mgr *mgr = uptr_userptr_mgr(up);

	if (!list_empty(&up->cache->lru))
		return;
	spin_lock(&mgr->lru_lock);
	if (list_empty(&up->cache->lru)) {
		list_add_tail(&up->cache->lru, &mgr->lru);
		mgr->nr_lru++;
	}
	spin_unlock(&mgr->lru_lock);
}

/*
 * Checks the VMAs of [start, end) before hmm_range_fault() walks them:
 * -EFAULT if one may not back a userptr (uptr_vma_ok()), else 0 with
 * *@uffd telling whether one has userfaultfd armed.  Holes are left to
 * hmm_range_fault().  The mmap lock is held, so what hmm_range_fault()
 * then finds is what was checked.
 */
static int uptr_userptr_check_vmas(struct uptr_userptr *up, unsigned long start,
				   unsigned long end, bool *uffd)
{
	VMA_ITERATOR(vmi, uptr_userptr_mm(up), start);
	struct vm_area_struct *vma;

	uptr_mmap_assert_locked(uptr_userptr_mm(up));
	*uffd = false;
	for_each_vma_range(vmi, vma, end) {
		if (!uptr_vma_ok(vma, uptr_userptr_mgr(up)->ops))
			return -EFAULT;
		if (userfaultfd_armed(vma))
			*uffd = true;
	}
	return 0;
}

/*
 * Faults [start, end) in the way the CPU would, page by page, for what
 * hmm_range_fault() cannot do itself: it does not let a fault drop the
 * mmap lock, so a fault that userfaultfd must resolve fails there, while
 * here it waits for the handler.  Return: 0, or the page's errno.
 */
static int uptr_userptr_fixup(struct uptr_userptr *up, unsigned long start,
			      unsigned long end, bool write)
{
	unsigned int flags = write ? FAULT_FLAG_WRITE : 0;
	unsigned long addr;
	bool unlocked;
	int ret = 0;

	if (mmap_read_lock_killable(uptr_userptr_mm(up)))
		return -EINTR;
	for (addr = start; addr < end && !ret; addr += PAGE_SIZE) {
		unlocked = false;
		ret = fixup_user_fault(uptr_userptr_mm(up), addr, flags, &unlocked);
	}
	mmap_read_unlock(uptr_userptr_mm(up));
	return ret;
}

/* Whether page @idx of @up is valid (writable, for @write).  Lock held. */
static bool __uptr_userptr_ok(struct uptr_userptr *up, unsigned long idx, bool write,
			      struct uptr_chunk **chunk, unsigned long *ci)
{
	if (*ci != idx >> UPTR_CHUNK_SHIFT) {
		*ci = idx >> UPTR_CHUNK_SHIFT;
		*chunk = xa_load(&up->cache->chunks, *ci);
	}
	return *chunk &&
	       uptr_entry_ok(uptr_chunk_entry(*chunk, idx - uptr_chunk_start(*chunk, idx)), write);
}

/* Whether every page of @chunk is valid (and writable, for @write).  Lock held. */
static bool __uptr_chunk_full(const struct uptr_chunk *chunk, bool write)
{
	return chunk->valid == chunk->capacity && (!write || chunk->writable == chunk->valid);
}

/*
 * Narrows [*idx, *end) to the span of pages not valid yet (not writable
 * yet, for @write).  At most UPTR_FAULT_HUGE_PAGES pages.
 */
static void uptr_userptr_missing(struct uptr_userptr *up, unsigned long *idx,
				 unsigned long *end, bool write)
{
	struct uptr_chunk *chunk = NULL;
	unsigned long ci = ULONG_MAX;

	uptr_userptr_notifier_lock(up);
	if (up->resident) {
		/* A chunk whose every page is valid (writable) is passed at once. */
		while (*idx < *end && __uptr_userptr_ok(up, *idx, write, &chunk, &ci)) {
			if (__uptr_chunk_full(chunk, write))
				*idx = min(*end, uptr_chunk_start(chunk, *idx) + chunk->capacity);
			else
				(*idx)++;
		}
		while (*end > *idx && __uptr_userptr_ok(up, *end - 1, write, &chunk, &ci)) {
			if (__uptr_chunk_full(chunk, write))
				*end = max(*idx, uptr_chunk_start(chunk, *end - 1));
			else
				(*end)--;
		}
	}
	uptr_userptr_notifier_unlock(up);
}

static bool uptr_pfns_any_valid(const unsigned long *pfns, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (pfns[i] & HMM_PFN_VALID)
			return true;
	return false;
}

/*
 * Stores what one walk found for pages [*idx, end), one chunk per commit.
 * Return: 0; -EBUSY if the range changed since @seq, with *@idx the
 * first page not stored (fault again from there); -ENOMEM.  *@stored
 * tells whether anything was stored.
 */
static long uptr_userptr_commit_range(struct uptr_userptr *up, unsigned long seq,
				      unsigned long *idx, unsigned long end,
				      const unsigned long *pfns, struct uptr_chunk **spare,
				      bool *stored)
{
	unsigned long first = *idx, cend;
	struct uptr_chunk *huge = NULL;
	long ret = 0;

	for (; *idx < end; *idx = cend) {
		if (end - *idx >= UPTR_HUGE_CHUNK_PAGES &&
		    uptr_pfns_huge(up, *idx, pfns + (*idx - first))) {
			ret = uptr_userptr_commit_huge(up, seq, *idx, pfns + (*idx - first), &huge);
			if (ret < 0)
				break;
			if (ret) {
				*stored = true;
				cend = *idx + UPTR_HUGE_CHUNK_PAGES;
				continue;
			}
		}
		cend = min(end, round_down(*idx, UPTR_CHUNK_PAGES) + UPTR_CHUNK_PAGES);
		/* Only now that the pages exist does their chunk come. */
		if (!uptr_pfns_any_valid(pfns + (*idx - first), cend - *idx))
			continue;
		ret = uptr_userptr_commit(up, seq, *idx, cend, pfns + (*idx - first), spare);
		if (ret < 0)
			break;
		if (ret)
			*stored = true;
	}
	kfree(huge);
	return ret < 0 ? ret : 0;
}

/*
 * Makes pages [idx, end), at most UPTR_FAULT_HUGE_PAGES, valid; without
 * @fault, only those the CPU page tables map now, with the access they
 * grant.  A batch of more than UPTR_FAULT_PAGES that the CPU changes
 * under the walk, or before its pages are stored, sets *@small and ends
 * with -EBUSY (what was stored stays): the caller goes on in small
 * batches, which a change restarts only in part.
 */
static int uptr_userptr_fault_chunk(struct uptr_userptr *up, unsigned long idx,
				    unsigned long end, bool write, bool fault,
				    unsigned long *pfns, bool *small)
{
	struct hmm_range range = {
		.notifier = &up->notifier,
		.default_flags = !fault ? 0 :
				 HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
		.hmm_pfns = pfns,
	};
	unsigned long timeout = 0, rounds = 0;
	struct uptr_chunk *spare = NULL;
	bool fixed_up = false, uffd, stored = false;
	long ret;

	/* Only the span of pages not valid yet; what changes meanwhile is faulted again. */
	uptr_userptr_missing(up, &idx, &end, write);
	if (idx == end)
		return 0;
	range.start = uptr_userptr_start(up) + (idx << PAGE_SHIFT);
	range.end = uptr_userptr_start(up) + (end << PAGE_SHIFT);

	for (;;) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/*
		 * Bounded in time, not in rounds, as hmm_range_fault() users
		 * are, from the first retry on, userfaultfd rounds included:
		 * a first round that waited for the mmap lock while a long
		 * munmap or mprotect ran is not the range "changing" yet.
		 */
		if (rounds++ == 1) {
			timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
		} else if (rounds > 2 && time_after(jiffies, timeout)) {
			ret = -EAGAIN;
			break;
		}

		range.notifier_seq = mmu_interval_read_begin(&up->notifier);
		if (mmap_read_lock_killable(uptr_userptr_mm(up))) {
			ret = -EINTR;
			break;
		}
		ret = uptr_userptr_check_vmas(up, range.start, range.end, &uffd);
		if (ret) {
			mmap_read_unlock(uptr_userptr_mm(up));
			break;
		}
		if (!fixed_up && uffd && fault) {
			mmap_read_unlock(uptr_userptr_mm(up));
			ret = uptr_userptr_fixup(up, range.start, range.end, write);
			if (ret)
				break;
			/*
			 * The deadline runs from the round after this one: a
			 * handler that fills the range while another thread
			 * zaps it again would otherwise keep this loop, and
			 * the job, going forever.
			 */
			fixed_up = true;
			continue;
		}
		ret = hmm_range_fault(&range);
		mmap_read_unlock(uptr_userptr_mm(up));
		if (ret == -EBUSY && range.end - range.start > UPTR_FAULT_PAGES << PAGE_SHIFT) {
			*small = true;
			break;
		}
		if (ret == -EBUSY)
			continue;
		if (ret == -EFAULT && fixed_up) {
			/* Zapped again before hmm saw it: let the handler refill it. */
			fixed_up = false;
			continue;
		}
		if (ret) {
			/* -EPERM: a write to a mapping without PROT_WRITE. */
			if (ret == -EPERM)
				ret = -EFAULT;
			break;
		}

		/*
		 * Only now that the pages exist does the range get chunks:
		 * failed jobs on a sparse range leave no memory behind.
		 */
		if (uptr_pfns_any_valid(pfns, (range.end - range.start) >> PAGE_SHIFT)) {
			ret = uptr_userptr_cache_get(up);
			if (ret)
				break;
		}
		ret = uptr_userptr_commit_range(up, range.notifier_seq, &idx, end, pfns,
						&spare, &stored);
		if (ret == -EBUSY && range.end - range.start > UPTR_FAULT_PAGES << PAGE_SHIFT) {
			*small = true;
			break;
		}
		if (ret == -EBUSY) {
			/* What was stored stays: walk the rest again. */
			range.start = uptr_userptr_start(up) + (idx << PAGE_SHIFT);
			continue;
		}
		break;
	}
	if (stored)
		uptr_userptr_lru_add(up);
	if (spare)
		uptr_chunk_free(spare);
	return ret < 0 ? ret : 0;
}

/*
 * Faults [first, first + count) in (@fault) or takes what is mapped,
 * UPTR_FAULT_HUGE_PAGES at a time, aligned, until the CPU changes a
 * batch under the walk, then UPTR_FAULT_PAGES at a time and never across
 * a chunk; mm referenced.
 */
static int uptr_userptr_fault_range(struct uptr_userptr *up, unsigned long first,
				    unsigned long count, bool write, bool fault)
{
	unsigned long idx = first, end = first + count;
	unsigned long *pfns;
	int ret = 0;

	const unsigned long huge = UPTR_FAULT_HUGE_PAGES;
	/* Huge batches, small ones once the CPU changed one under the walk. */
	bool small = false;

	pfns = kmalloc_array(min_t(unsigned long, count, huge),
			     sizeof(*pfns), GFP_KERNEL_ACCOUNT);
	if (!pfns)
		return -ENOMEM;
	while (idx < end && !ret) {
		unsigned long va = (uptr_userptr_start(up) >> PAGE_SHIFT) + idx, cend;

		if (!small && count >= huge)
			cend = min(end, idx + huge - (va & (huge - 1)));
		else
			cend = min3(end, idx + UPTR_FAULT_PAGES,
				    round_down(idx, UPTR_CHUNK_PAGES) + UPTR_CHUNK_PAGES);
		ret = uptr_userptr_fault_chunk(up, idx, cend, write, fault, pfns, &small);
		if (ret == -EBUSY && small) {
			/* Again in small batches; what was stored is skipped. */
			ret = 0;
			continue;
		}
		idx = cend;
		cond_resched();
	}
	kfree(pfns);
	return ret;
}

/**
 * uptr_userptr_fault() - make pages of a coherent userptr valid
 * @up: a coherent userptr
 * @first: index of the first page
 * @count: number of pages, @first + @count <= uptr_userptr_npages()
 * @write: the device will write them
 *
 * Faults in the pages of the range that are not valid yet (not writable
 * yet, if @write), as the CPU would: a device write to a copy-on-write
 * page gets the process its own copy first.  Pages already valid are not
 * faulted again.  The pages may be invalidated again at once: the device
 * checks each page under the lock (__uptr_userptr_page()) when it uses
 * it, and faults it again with uptr_userptr_replay() if need be.
 *
 * Context: process context, no mmap lock and no userptr lock held.
 *
 * Return: 0 on success; -EFAULT if a page cannot be accessed as asked
 * (unmapped, no permission, not ordinary memory, beyond the end of a
 * file) or the process is exiting; -EAGAIN if the range kept changing
 * for HMM_RANGE_DEFAULT_TIMEOUT; -EINTR on a fatal signal; -ENOMEM.
 */
int uptr_userptr_fault(struct uptr_userptr *up, unsigned long first,
		       unsigned long count, bool write)
{
	unsigned long end = first + count;
	u64 t0 = ktime_get_ns();
	int ret;

	lockdep_assert_not_held(&up->lock);
	if (WARN_ON_ONCE(!uptr_userptr_is_coherent(up) || end > uptr_userptr_npages(up) ||
			 end < first))
		return -EINVAL;
	if (!count)
		return 0;
	if (!mmget_not_zero(uptr_userptr_mm(up)))
		return -EFAULT;
	ret = uptr_userptr_fault_range(up, first, count, write, true);
	mmput(uptr_userptr_mm(up));
	trace_uptr_userptr_fault(up, first, count, write, ret, ktime_get_ns() - t0);
	return ret;
}

/**
 * uptr_userptr_faulted() - how many pages a coherent userptr made valid so far
 * @up: a coherent userptr
 *
 * Context: no userptr lock held.
 * Return: &uptr_userptr.faulted, which only grows.
 */
u64 uptr_userptr_faulted(struct uptr_userptr *up)
{
	u64 n;

	spin_lock(&up->lock);
	n = up->faulted;
	spin_unlock(&up->lock);
	return n;
}

/**
 * uptr_userptr_prefetch() - make pages of a coherent userptr valid ahead of device work
 * @up: a coherent userptr
 * @first: index of the first page
 * @count: number of pages, @first + @count <= uptr_userptr_npages()
 * @flags: %UPTR_PREFETCH_WRITE to fault the pages in for device writes
 *	(else for reads), %UPTR_PREFETCH_NO_FAULT to take only the pages
 *	the CPU page tables map now, with the access they grant, and fault
 *	nothing in (not with %UPTR_PREFETCH_WRITE)
 *
 * The fault path of uptr_userptr_fault(), without work to follow: the
 * pages are stored in the cache, counted in &uptr_userptr.faulted, and
 * stay valid until an invalidation or the shrinker drops them, as the
 * pages of any job do.  Pages already valid (writable, for
 * %UPTR_PREFETCH_WRITE) are not faulted again.  Works through the range
 * as a job's fault-in does (uptr_userptr_fault_range(): a PMD per walk,
 * UPTR_FAULT_PAGES once the CPU changed a walk), yielding the CPU and
 * checking for a fatal signal between walks; a caller that wants to
 * stop earlier (on any signal, at a job's deadline) calls it on pieces
 * of the range.
 *
 * Without %UPTR_PREFETCH_NO_FAULT, a page that cannot be accessed as
 * asked ends the prefetch there, the pages before it staying valid.
 * With it, pages the CPU does not map are skipped; only a mapping that
 * may never back a userptr fails.
 *
 * Context: process context (any thread: the pages are @up's mm's), no
 * mmap lock and no userptr lock held.
 *
 * Return: 0; -EINVAL for bad @flags; -EACCES for %UPTR_PREFETCH_WRITE on
 * a %UPTR_USERPTR_READ_ONLY userptr; otherwise as uptr_userptr_fault().
 */
int uptr_userptr_prefetch(struct uptr_userptr *up, unsigned long first,
			  unsigned long count, unsigned int flags)
{
	bool write = flags & UPTR_PREFETCH_WRITE, fault = !(flags & UPTR_PREFETCH_NO_FAULT);
	unsigned long end = first + count;
	u64 t0 = ktime_get_ns();
	int ret;

	lockdep_assert_not_held(&up->lock);
	if (WARN_ON_ONCE(!uptr_userptr_is_coherent(up) || end > uptr_userptr_npages(up) ||
			 end < first))
		return -EINVAL;
	if ((flags & ~(UPTR_PREFETCH_WRITE | UPTR_PREFETCH_NO_FAULT)) || (write && !fault))
		return -EINVAL;
	if (write && (up->flags & UPTR_USERPTR_READ_ONLY))
		return -EACCES;
	if (!count)
		return 0;
	if (!mmget_not_zero(uptr_userptr_mm(up)))
		return -EFAULT;
	ret = uptr_userptr_fault_range(up, first, count, write, fault);
	mmput(uptr_userptr_mm(up));
	trace_uptr_userptr_prefetch(up, first, count, flags, ret, ktime_get_ns() - t0);
	return ret;
}

/**
 * uptr_userptr_replay() - fault a page in again for device work that runs
 * @up: a coherent userptr
 * @idx: the page the device found invalid (or read-only, for @write)
 * @count: pages from @idx the work will touch next, at least 1
 * @write: the device will write them
 *
 * The replayable fault of the device: faults in @idx and, to save rounds,
 * the pages after it up to @count, UPTR_FAULT_PAGES or the end of @idx's
 * chunk.  If that
 * range cannot all be reached, faults @idx alone, so that work stops at
 * the first page it cannot reach, not before.
 *
 * Context: process context, no mmap lock and no userptr lock held.
 *
 * Return: as uptr_userptr_fault(), for page @idx.
 */
int uptr_userptr_replay(struct uptr_userptr *up, unsigned long idx,
			unsigned long count, bool write)
{
	unsigned long cend = round_down(idx, UPTR_CHUNK_PAGES) + UPTR_CHUNK_PAGES;
	u64 t0 = ktime_get_ns();
	int ret;

	lockdep_assert_not_held(&up->lock);
	if (WARN_ON_ONCE(!uptr_userptr_is_coherent(up) || idx >= uptr_userptr_npages(up) || !count))
		return -EINVAL;
	count = min3(count, uptr_userptr_npages(up) - idx, cend - idx);
	count = min_t(unsigned long, count, UPTR_FAULT_PAGES);
	if (!mmget_not_zero(uptr_userptr_mm(up)))
		return -EFAULT;
	ret = uptr_userptr_fault_range(up, idx, count, write, true);
	if (ret == -EFAULT && count > 1)
		ret = uptr_userptr_fault_range(up, idx, 1, write, true);
	mmput(uptr_userptr_mm(up));
	trace_uptr_userptr_replay(up, idx, count, write, ret, ktime_get_ns() - t0);
	return ret;
}

/*
 * Marks valid entry @i of @chunk, @entry, written, and its page dirty, at
 * the device's first write to it: the device writes through the kernel
 * mapping, which the CPU's dirty bits do not see, and without the mark
 * reclaim or writeback could drop or miss what it wrote.  Marking before
 * the writes rather than when the entry goes is as safe, and keeps the
 * invalidate callback away from the pages: whatever cleans a page the
 * CPU maps (writeback, swap-out, MADV_FREE, migration) first write-
 * protects or unmaps it, through the notifier, which drops the entry, so
 * the device writes again only after a new fault, a new entry and a new
 * mark.  That holds because nothing cleans a page the CPU maps without
 * the notifier: writeback cleans through folio_clear_dirty_for_io() ->
 * folio_mkclean(), swap-out calls pageout() only after try_to_unmap(),
 * MADV_FREE clears the PTEs under an invalidation first, and migration
 * unmaps before it copies.  A page of a block marks the whole block, and
 * each of its folios (one, for one huge mapping) once.  The page is
 * valid, hence mapped by the CPU, so it is alive and its mapping stable,
 * as in zap_pte_range(): no page lock is needed (set_page_dirty_lock()
 * would sleep, and the page may be locked by whoever is invalidating).
 */
static void __uptr_entry_mark_written(struct uptr_userptr *up, struct uptr_chunk *chunk,
				      unsigned long i, unsigned long entry)
{
	unsigned long k;

	lockdep_assert_held(&up->lock);

	if (!uptr_chunk_in_block(chunk, i)) {
		set_page_dirty(uptr_entry_page(entry));
		WRITE_ONCE(uptr_chunk_entries(chunk)[i], entry | UPTR_ENTRY_DIRTY);
		return;
	}
	for (k = 0; k < chunk->blk_count;) {
		struct page *page = nth_page(uptr_entry_page(chunk->blk_entry), k);
		struct folio *folio = page_folio(page);

		folio_mark_dirty(folio);
		k += folio_nr_pages(folio) - (page_to_pfn(page) - folio_pfn(folio));
	}
	WRITE_ONCE(chunk->blk_entry, chunk->blk_entry | UPTR_ENTRY_DIRTY);
}

/*
 * The entry of page @idx if it is valid (writable, for @write), marked
 * written for @write; 0 if not.  Its chunk and index in *@chunkp, *@ip.
 */
static unsigned long __uptr_userptr_entry(struct uptr_userptr *up, unsigned long idx,
					  bool write, struct uptr_userptr_hint *hint,
					  struct uptr_chunk **chunkp, unsigned long *ip)
{
	unsigned long i, entry;
	struct uptr_chunk *chunk;

	lockdep_assert_held(&up->lock);

	if (WARN_ON_ONCE(!uptr_userptr_is_coherent(up) || idx >= uptr_userptr_npages(up)))
		return 0;
	/* Looked up under the lock: chunks come and go under it. */
	if (hint && hint->chunk && idx - hint->first < hint->count) {
		chunk = hint->chunk;
	} else {
		if (!up->cache)
			return 0;
		chunk = xa_load(&up->cache->chunks, idx >> UPTR_CHUNK_SHIFT);
		if (!chunk)
			return 0;
		if (hint) {
			hint->chunk = chunk;
			hint->first = uptr_chunk_start(chunk, idx);
			hint->count = chunk->capacity;
		}
	}
	i = idx - uptr_chunk_start(chunk, idx);
	entry = uptr_chunk_entry(chunk, i);
	if (!uptr_entry_ok(entry, write))
		return 0;
	if (write && !(entry & UPTR_ENTRY_DIRTY))
		__uptr_entry_mark_written(up, chunk, i, entry);
	*chunkp = chunk;
	*ip = i;
	return entry;
}

/**
 * __uptr_userptr_page() - a valid page of a coherent userptr, for the device
 * @up: a coherent userptr
 * @idx: page index, below uptr_userptr_npages()
 * @write: the device will write the page
 * @hint: NULL, or where the caller's step found its last page (see
 *	struct uptr_userptr_hint)
 *
 * The check a device access makes as the last step before it touches
 * the page through the CPU (kmap_local_page()).  For @write, the page is
 * marked dirty, at the first write through its entry.
 *
 * Context: the userptr's lock held (uptr_userptr_notifier_lock()); the
 * page stays valid and alive until it is released.
 *
 * Return: the page, or NULL if it is not valid (or not writable, for
 * @write): the caller releases the lock and faults it in again.
 */
struct page *__uptr_userptr_page(struct uptr_userptr *up, unsigned long idx,
				 bool write, struct uptr_userptr_hint *hint)
{
	struct uptr_chunk *chunk;
	unsigned long i;

	return uptr_entry_page(__uptr_userptr_entry(up, idx, write, hint, &chunk, &i));
}

/**
 * __uptr_userptr_dma_addr() - DMA address of a valid page of a coherent userptr
 * @up: a coherent userptr
 * @idx: page index, below uptr_userptr_npages()
 * @write: the device will write the page
 * @addr: set to the page's DMA address for &uptr_userptr_mgr.dma_dev
 * @writable: if not NULL, set to whether the page is mapped for device
 *	writes (%DMA_BIDIRECTIONAL) rather than only for reads
 *	(%DMA_TO_DEVICE); always true when @write succeeds
 *
 * What a device that does real DMA programs into its translations, as
 * drm_gpusvm exposes its DMA addresses: the check a device mapping makes
 * as the last step before it is committed.  For @write, the page is
 * marked written, as by __uptr_userptr_page().  The address stays valid
 * until the lock is released, and no longer: the invalidate callback
 * unmaps it under the same lock, so the device's use of it must be over
 * by then (see DOC: Examples).
 *
 * Context: the userptr's lock held (uptr_userptr_notifier_lock()); call
 * with it held, the address is valid until it is released.
 *
 * Return: true with *@addr (and *@writable) set, or false if the page is
 * not valid (or not writable, for @write): the caller releases the lock
 * and faults it in again (uptr_userptr_replay()).
 */
bool __uptr_userptr_dma_addr(struct uptr_userptr *up, unsigned long idx, bool write,
			     dma_addr_t *addr, bool *writable)
{
	struct uptr_chunk *chunk;
	unsigned long i, entry;

	entry = __uptr_userptr_entry(up, idx, write, NULL, &chunk, &i);
	if (!entry)
		return false;
	*addr = uptr_chunk_dma(chunk, i);
	if (writable)
		*writable = entry & UPTR_ENTRY_WRITABLE;
	return true;
}

/*
 * Runs of virtually and physically contiguous pages in the cache: a walk
 * of the chunks that exist, one per hold of the lock, each looked up
 * again under it.
 */
static u64 uptr_userptr_segments(struct uptr_userptr *up)
{
	unsigned long ci = 0, prev_idx = 0, prev_pfn = 0;
	struct uptr_chunk *chunk;
	u64 segments = 0;
	bool have = false;

	for (;;) {
		unsigned long i, cstart;

		uptr_userptr_notifier_lock(up);
		chunk = NULL;
		if (up->resident)
			chunk = xa_find(&up->cache->chunks, &ci, ULONG_MAX, XA_PRESENT);
		if (!chunk) {
			uptr_userptr_notifier_unlock(up);
			break;
		}
		cstart = uptr_chunk_start(chunk, ci << UPTR_CHUNK_SHIFT);
		for (i = 0; i < chunk->capacity; i++) {
			unsigned long idx = cstart + i, pfn;
			unsigned long entry = uptr_chunk_entry(chunk, i);

			if (!entry)
				continue;
			pfn = page_to_pfn(uptr_entry_page(entry));
			if (!have || idx != prev_idx + 1 || pfn != prev_pfn + 1)
				segments++;
			have = true;
			prev_idx = idx;
			prev_pfn = pfn;
		}
		ci = uptr_chunk_next(chunk, cstart);
		uptr_userptr_notifier_unlock(up);
		cond_resched();
	}
	return segments;
}

/**
 * uptr_userptr_stats() - what a userptr holds and has seen
 * @up: the userptr
 * @st: filled in
 *
 * Context: process context; takes the lock of a coherent userptr, one
 * chunk at a time; costs the chunks that exist, nothing when no page is
 * cached.  The figures of a userptr that changes meanwhile are each
 * exact at some moment, not all at the same one.
 */
void uptr_userptr_stats(struct uptr_userptr *up, struct uptr_userptr_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!uptr_userptr_is_coherent(up)) {
		st->pinned = uptr_userptr_npages(up);
		st->resident = uptr_userptr_npages(up);
		st->segments = up->sgt.orig_nents;
		return;
	}
	uptr_userptr_notifier_lock(up);
	st->resident = up->resident;
	st->faulted = up->faulted;
	st->invalidations = up->invalidations;
	uptr_userptr_notifier_unlock(up);
	if (st->resident)
		st->segments = uptr_userptr_segments(up);
}

/*
 * The shrinker.  Cached pages hold no page references: dropping them
 * gives back the chunks (16 bytes a page) and the DMA mappings (IOMMU
 * page tables, swiotlb slots), and the next device access faults the
 * pages in again.  A userptr in use by device work
 * (uptr_userptr_active_get()) is skipped.
 */
static unsigned long uptr_userptr_shrink_count(struct shrinker *shrinker,
					       struct shrink_control *sc)
{
	struct uptr_userptr_mgr *mgr = uptr_shrinker_private(shrinker);

	return atomic_long_read(&mgr->cached);
}

/*
 * Drops the first chunk of @up if it is idle, or takes it off the list
 * if it has nothing cached.  Returns the pages dropped.  Only tries the
 * userptr's lock: a holder is using it, or invalidating it.
 */
static unsigned long uptr_userptr_shrink_one(struct uptr_userptr_mgr *mgr,
					     struct uptr_userptr *up)
{
	struct uptr_chunk *chunk;
	unsigned long ci = 0, dropped = 0;

	lockdep_assert_held(&mgr->lru_lock);

	if (atomic_read(&up->active) || !spin_trylock(&up->lock))
		return 0;
	if (!up->resident) {
		/* Under the userptr's lock: see uptr_userptr_lru_add(). */
		list_del_init(&up->cache->lru);
		mgr->nr_lru--;
	} else {
		chunk = xa_find(&up->cache->chunks, &ci, ULONG_MAX, XA_PRESENT);
		if (!WARN_ON_ONCE(!chunk))
			dropped = __uptr_chunk_drop(up, ci, chunk);
	}
	spin_unlock(&up->lock);
	return dropped;
}

/*
 * Visits the userptrs of the list in turn, oldest first, one chunk per
 * visit and per hold of the list lock, until it has dropped what it was
 * asked to or a whole turn dropped nothing.
 */
static unsigned long uptr_userptr_shrink_scan(struct shrinker *shrinker,
					      struct shrink_control *sc)
{
	struct uptr_userptr_mgr *mgr = uptr_shrinker_private(shrinker);
	unsigned long freed = 0, idle = 0, n;
	struct uptr_userptr *up;

	while (freed < sc->nr_to_scan) {
		spin_lock(&mgr->lru_lock);
		if (idle >= mgr->nr_lru) {
			spin_unlock(&mgr->lru_lock);
			break;
		}
		up = list_first_entry(&mgr->lru, struct uptr_userptr_cache, lru)->up;
		list_move_tail(&up->cache->lru, &mgr->lru);
		n = uptr_userptr_shrink_one(mgr, up);
		spin_unlock(&mgr->lru_lock);
		freed += n;
		idle = n ? 0 : idle + 1;
		cond_resched();
	}
	return freed ?: SHRINK_STOP;
}

/**
 * uptr_userptr_init() - wrap a range of the current process
 * @up: the userptr to set up, zeroed by the caller
 * @mgr: the device's manager
 * @start: first address, checked by uptr_userptr_check_range()
 * @size: size in bytes, checked by uptr_userptr_check_range()
 * @flags: UPTR_USERPTR_*
 *
 * Context: process context of the process whose memory is wrapped, no
 * mmap lock held.  May sleep for a long time on a huge pinned range, but
 * returns -EINTR on a fatal signal.  A coherent userptr costs the same
 * whatever its size.
 *
 * Return: 0 on success; -ENOMEM past RLIMIT_MEMLOCK or out of memory;
 * -EFAULT if a page cannot be pinned with the access asked for; -EINTR on
 * a fatal signal.
 */
int uptr_userptr_init(struct uptr_userptr *up, struct uptr_userptr_mgr *mgr,
		      unsigned long start, unsigned long size, unsigned int flags)
{
	int ret;

	up->flags = flags;
	if (uptr_userptr_is_coherent(up)) {
		spin_lock_init(&up->lock);
		/* The notifier takes the lock in reclaim: tell lockdep at once. */
		fs_reclaim_acquire(GFP_KERNEL);
		might_lock(&up->lock);
		fs_reclaim_release(GFP_KERNEL);
		atomic_set(&up->active, 0);
		/* The notifier keeps the range, the mm (mmgrab()) and the manager. */
		ret = mmu_interval_notifier_insert(&up->notifier, current->mm, start, size,
						   &mgr->notifier_ops);
	} else {
		up->pin_mm = current->mm;
		mmgrab(up->pin_mm);
		up->pin_mgr = mgr;
		up->pin_start = start;
		up->pin_npages = size >> PAGE_SHIFT;
		ret = uptr_userptr_pin(up);
		if (ret) {
			mmdrop(up->pin_mm);
			up->pin_mm = NULL;
		}
	}
	if (ret)
		return ret;
	trace_uptr_userptr_create(up);
	return 0;
}

/**
 * uptr_userptr_fini() - give back everything uptr_userptr_init() took
 * @up: an initialised userptr no device work uses any more
 *
 * Context: process context, may sleep, not from the MMU notifier.  Need
 * not be the creating process.
 */
void uptr_userptr_fini(struct uptr_userptr *up)
{
	struct uptr_userptr_mgr *mgr = uptr_userptr_mgr(up);

	trace_uptr_userptr_destroy(up);
	if (uptr_userptr_is_coherent(up)) {
		/*
		 * Out of the shrinker's reach first: it visits a userptr
		 * only with the list lock held.  Then drop the pages while
		 * the notifier still guarantees they are alive, which frees
		 * every chunk, and stop following the range.
		 */
		WARN_ON_ONCE(atomic_read(&up->active));
		if (up->cache) {
			spin_lock(&mgr->lru_lock);
			if (!list_empty(&up->cache->lru)) {
				list_del_init(&up->cache->lru);
				mgr->nr_lru--;
			}
			spin_unlock(&mgr->lru_lock);
			uptr_userptr_drop(up, 0, uptr_userptr_npages(up), true);
		}
		mmu_interval_notifier_remove(&up->notifier);
		if (up->cache) {
			WARN_ON_ONCE(up->resident || !xa_empty(&up->cache->chunks));
			xa_destroy(&up->cache->chunks);
			kfree(up->cache);
		}
	} else {
		bool dirty = !(up->flags & UPTR_USERPTR_READ_ONLY);
		struct scatterlist *sg;
		unsigned int i;

		dma_unmap_sgtable(uptr_userptr_mgr(up)->dma_dev, &up->sgt, uptr_userptr_dma_dir(up),
				  uptr_userptr_mgr(up)->dma_attrs);
		/*
		 * Each segment is a run of physically contiguous pages:
		 * unpinned a folio at a time, without a look at each page.
		 */
		for_each_sgtable_sg(&up->sgt, sg, i)
			unpin_user_page_range_dirty_lock(sg_page(sg),
							 DIV_ROUND_UP(sg->offset + sg->length,
								      PAGE_SIZE),
							 dirty);
		sg_free_table(&up->sgt);
		kvfree(up->pages);
		up->pages = NULL;
		uptr_userptr_uncharge(up);
		mmdrop(up->pin_mm);
		up->pin_mm = NULL;
	}
}
