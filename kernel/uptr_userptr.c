// SPDX-License-Identifier: GPL-2.0
/*
 * uptr userptr core.
 */

#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/hugetlb.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/xarray.h>

#include "uptr_compat.h"
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
 *      locked memory the way RDMA does (``mm->pinned_vm`` against
 *      ``RLIMIT_MEMLOCK`` unless the caller has ``CAP_IPC_LOCK``) and
 *      DMA-maps them into &uptr_userptr.sgt;
 *    - for a coherent userptr, only registers an MMU interval notifier
 *      on the range: creation costs the same whatever the size.
 *
 * A pinned userptr keeps the pages it pinned for its whole life, whatever
 * the process later does to the mapping ("unsynchronized" semantics).
 *
 * A coherent userptr follows the process's page tables.  Before the
 * device uses a range of it, the driver calls uptr_userptr_fault(), which
 * makes the pages valid in the userptr's page cache (hmm_range_fault()),
 * faulting in only what is not valid already.  It then commits its work
 * under &uptr_userptr_mgr.notifier_lock, after checking with
 * __uptr_userptr_range_valid() that no invalidation took the pages away
 * in the meantime; from then on the device may use the pages through
 * uptr_userptr_page() until the work completes.  When the kernel changes
 * the mapping, the notifier waits for that work (&uptr_userptr_ops.wait_idle)
 * and drops the pages of the invalidated range only, synchronously: when
 * the notifier returns, the device will not touch those pages again.
 *
 * Either way uptr_userptr_fini() gives everything back.  The caller must
 * refuse to use a userptr from an mm other than &uptr_userptr.mm.
 *
 * Example, the submit path of a driver::
 *
 *	ret = uptr_userptr_fault(up, first, count, write);
 *	if (ret)
 *		return ret;
 *	mutex_lock(&mgr->notifier_lock);
 *	if (!__uptr_userptr_range_valid(up, first, count, write)) {
 *		mutex_unlock(&mgr->notifier_lock);
 *		goto retry;
 *	}
 *	publish_work(job);	// what ops->device_idle() and ->wait_idle() see
 *	mutex_unlock(&mgr->notifier_lock);
 *	run(job);		// pages from uptr_userptr_page()
 */

/**
 * DOC: Locking
 *
 * &uptr_userptr_mgr.notifier_lock, one per device, protects the page
 * cache and the counters of every coherent userptr of the device, and
 * orders the commit of device work against invalidations:
 *
 * - the invalidate callback takes it (or, when it may not block, tries
 *   to), sets the notifier sequence, waits for the device, then drops the
 *   invalidated pages;
 * - uptr_userptr_fault() takes it to store pages, and stores them only
 *   if mmu_interval_read_retry() shows no invalidation since it read
 *   them;
 * - the driver takes it to check that its pages are still valid and to
 *   publish its work in one step.
 *
 * A page that device work writes is marked so at the commit, and the
 * notifier marks it dirty when it drops it: the device writes through the
 * kernel mapping, which the CPU's dirty bits do not see.
 *
 * A page that device work uses is therefore valid from the commit until
 * the work completes: an invalidation of it waits for the work before
 * dropping it, and nothing else replaces a valid page.  That is what lets
 * uptr_userptr_page() read the cache without the lock.
 *
 * The callback runs in reclaim, so nothing may allocate memory that can
 * recurse into reclaim while holding the notifier lock; lockdep is taught
 * so at uptr_userptr_mgr_init().  The driver's reservation locks, if any,
 * nest outside it.  The cache holds no page references: it relies on the
 * notifier, like the CPU's own page tables.
 *
 * A pinned &struct uptr_userptr is immutable between uptr_userptr_init()
 * and uptr_userptr_fini(): readers need no lock, only a reference on the
 * embedding object.
 *
 * uptr_userptr_probe() and uptr_userptr_fault() take the mmap lock of the
 * mm for read; uptr_userptr_init() lets pin_user_pages_fast() or the
 * notifier registration take it.  None may be called with it held.
 */

/* Pages per chunk of a coherent userptr's page cache. */
#define UPTR_CHUNK_SHIFT	9
#define UPTR_CHUNK_PAGES	BIT(UPTR_CHUNK_SHIFT)

/* Low bits of a cached page pointer: the CPU mapping allows writes... */
#define UPTR_ENTRY_WRITABLE	1UL
/* ...and device work that writes the page was committed. */
#define UPTR_ENTRY_DIRTY	2UL
#define UPTR_ENTRY_FLAGS	(UPTR_ENTRY_WRITABLE | UPTR_ENTRY_DIRTY)

/* hmm_range_fault() rounds after which a busy range gives -EAGAIN. */
#define UPTR_FAULT_TRIES	64

/**
 * struct uptr_chunk - UPTR_CHUNK_PAGES pages of a coherent page cache
 * @entries: struct page pointer | UPTR_ENTRY_*, 0 if not valid
 * @dma: DMA address of each valid page
 */
struct uptr_chunk {
	unsigned long entries[UPTR_CHUNK_PAGES];
	dma_addr_t dma[UPTR_CHUNK_PAGES];
};

static inline struct page *uptr_entry_page(unsigned long entry)
{
	return (struct page *)(entry & ~UPTR_ENTRY_FLAGS);
}

static inline bool uptr_entry_ok(unsigned long entry, bool write)
{
	return entry && (!write || (entry & UPTR_ENTRY_WRITABLE));
}

/*
 * The chunk that holds page @idx, NULL if none was allocated; *@cend gets
 * the end of that chunk's part of [@idx, @end).  Loops over a range walk
 * it with "for (; idx < end; idx = cend)".
 */
static struct uptr_chunk *uptr_chunk_span(struct uptr_userptr *up, unsigned long idx,
					  unsigned long end, unsigned long *cend)
{
	*cend = min(end, round_down(idx, UPTR_CHUNK_PAGES) + UPTR_CHUNK_PAGES);
	return xa_load(&up->chunks, idx >> UPTR_CHUNK_SHIFT);
}

/**
 * uptr_userptr_mgr_init() - set up what the userptrs of a device share
 * @mgr: the manager, embedded in the driver's device
 * @dma_dev: device to DMA-map pages for
 * @ops: the driver's callbacks, kept for the manager's life
 */
void uptr_userptr_mgr_init(struct uptr_userptr_mgr *mgr, struct device *dma_dev,
			   const struct uptr_userptr_ops *ops)
{
	mgr->dma_dev = dma_dev;
	mgr->ops = ops;
	mutex_init(&mgr->notifier_lock);

	/* The notifier takes the lock in reclaim: tell lockdep at once. */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&mgr->notifier_lock);
	fs_reclaim_release(GFP_KERNEL);
}

/**
 * uptr_userptr_mgr_fini() - tear down a manager without userptrs
 * @mgr: the manager
 */
void uptr_userptr_mgr_fini(struct uptr_userptr_mgr *mgr)
{
	mutex_destroy(&mgr->notifier_lock);
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

/**
 * uptr_userptr_probe() - check that a range is backed by ordinary memory
 * @start: first address, checked by uptr_userptr_check_range()
 * @size: size in bytes, checked by uptr_userptr_check_range()
 * @flags: UPTR_USERPTR_* the userptr will be created with
 * @ops: the driver's callbacks, may be NULL
 *
 * Every page of the range must be mapped right now, readable (and
 * writable unless %UPTR_USERPTR_READ_ONLY), by a mapping that is not
 * %VM_IO, %VM_PFNMAP or %VM_MIXEDMAP and not one of the driver's own
 * buffer objects.  Context: process context of the creating process;
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
		if (!vma || (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)) ||
		    (vma->vm_flags & need) != need ||
		    (ops && ops->vma_is_device && ops->vma_is_device(vma))) {
			ret = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * The pages stay DMA-mapped while the CPU and the engine, which is the CPU
 * too, use them: no bounce-buffer copy or cache maintenance may run at map
 * or unmap time, or it would overwrite what was written since.  A device
 * that does real DMA syncs around each job instead.
 */
#define UPTR_DMA_ATTRS	DMA_ATTR_SKIP_CPU_SYNC

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

static int uptr_userptr_charge(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned;

	pinned = atomic64_add_return(npages, &mm->pinned_vm);
	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void uptr_userptr_uncharge(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
}

/*
 * 6.1 lets FOLL_LONGTERM pin the pages of any file, but a filesystem with
 * writeback may clean such a page and release its buffers while the
 * device keeps writing it, and unpinning then dirties a page it no longer
 * expects.  A read-write pinned userptr may cover shared mappings of
 * shmem and hugetlbfs only; private mappings get anonymous copies.
 */
static int uptr_userptr_check_pinnable(struct uptr_userptr *up)
{
	VMA_ITERATOR(vmi, up->mm, up->start);
	struct vm_area_struct *vma;
	int ret = 0;

	if (up->flags & UPTR_USERPTR_READ_ONLY)
		return 0;
	if (mmap_read_lock_killable(up->mm))
		return -EINTR;
	for_each_vma_range(vmi, vma, up->start + (up->npages << PAGE_SHIFT)) {
		if ((vma->vm_flags & VM_SHARED) && vma->vm_file &&
		    !shmem_mapping(vma->vm_file->f_mapping) &&
		    !is_vm_hugetlb_page(vma)) {
			ret = -EFAULT;
			break;
		}
	}
	mmap_read_unlock(up->mm);
	return ret;
}

static int uptr_userptr_pin(struct uptr_userptr *up)
{
	unsigned int gup = FOLL_LONGTERM;
	unsigned long done = 0;
	struct page **pages;
	int ret;

	if (!(up->flags & UPTR_USERPTR_READ_ONLY))
		gup |= FOLL_WRITE;

	ret = uptr_userptr_check_pinnable(up);
	if (ret)
		return ret;

	ret = uptr_userptr_charge(up->mm, up->npages);
	if (ret)
		return ret;

	/* Past INT_MAX bytes kvmalloc fails: say -ENOMEM without a warning. */
	pages = kvmalloc_array(up->npages, sizeof(*pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

	while (done < up->npages) {
		unsigned long n = min_t(unsigned long, up->npages - done, UPTR_PIN_BATCH);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_unpin;
		}
		ret = pin_user_pages_fast(up->start + (done << PAGE_SHIFT), n, gup,
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

	/* Contiguous pages, huge pages first of all, become one segment. */
	ret = sg_alloc_table_from_pages_segment(&up->sgt, pages, up->npages, 0,
						up->npages << PAGE_SHIFT,
						uptr_userptr_max_segment(up->mgr->dma_dev),
						GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unpin;

	ret = dma_map_sgtable(up->mgr->dma_dev, &up->sgt, uptr_userptr_dma_dir(up),
			      UPTR_DMA_ATTRS);
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
	uptr_userptr_uncharge(up->mm, up->npages);
	return ret;
}

/*
 * Drops the cached pages [first, last) of a coherent userptr.  Runs
 * before the CPU mapping of the pages goes away (from the notifier, or
 * at fini while the entries are still valid), so the pages are alive and
 * their mapping stable, as in zap_pte_range(), and a page the device
 * wrote can be marked dirty without its lock.  The device writes through
 * the kernel mapping, which leaves the CPU's dirty bits alone: without
 * this, reclaim could drop what it wrote.
 */
static void __uptr_userptr_drop(struct uptr_userptr *up, unsigned long first,
				unsigned long last)
{
	struct device *dev = up->mgr->dma_dev;
	enum dma_data_direction dir = uptr_userptr_dma_dir(up);
	unsigned long idx = first, cend;
	struct uptr_chunk *chunk;

	lockdep_assert_held(&up->mgr->notifier_lock);

	for (; idx < last; idx = cend) {
		chunk = uptr_chunk_span(up, idx, last, &cend);
		for (; chunk && idx < cend; idx++) {
			unsigned long i = idx & (UPTR_CHUNK_PAGES - 1);

			if (!chunk->entries[i])
				continue;
			if (chunk->entries[i] & UPTR_ENTRY_DIRTY)
				set_page_dirty(uptr_entry_page(chunk->entries[i]));
			dma_unmap_page_attrs(dev, chunk->dma[i], PAGE_SIZE, dir, UPTR_DMA_ATTRS);
			WRITE_ONCE(chunk->entries[i], 0);
			up->resident--;
		}
	}
}

/* Whether any page of [first, last) is cached. */
static bool __uptr_userptr_any_valid(struct uptr_userptr *up, unsigned long first,
				     unsigned long last)
{
	unsigned long idx = first, cend;
	struct uptr_chunk *chunk;

	lockdep_assert_held(&up->mgr->notifier_lock);

	if (!up->resident)
		return false;
	for (; idx < last; idx = cend) {
		chunk = uptr_chunk_span(up, idx, last, &cend);
		for (; chunk && idx < cend; idx++)
			if (chunk->entries[idx & (UPTR_CHUNK_PAGES - 1)])
				return true;
	}
	return false;
}

/*
 * The MMU notifier of a coherent userptr.  Runs in the context of
 * whatever changes the mapping (munmap, reclaim, migration, exit...),
 * with the mmap lock possibly held for write: it must finish the job
 * itself, synchronously.
 */
static bool uptr_userptr_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct uptr_userptr *up = container_of(mni, struct uptr_userptr, notifier);
	bool blockable = mmu_notifier_range_blockable(range);
	struct uptr_userptr_mgr *mgr = up->mgr;
	unsigned long first, last;
	bool busy;

	first = (max(range->start, up->start) - up->start) >> PAGE_SHIFT;
	last = (min(range->end, up->start + (up->npages << PAGE_SHIFT)) -
		up->start) >> PAGE_SHIFT;

	if (blockable)
		mutex_lock(&mgr->notifier_lock);
	else if (!mutex_trylock(&mgr->notifier_lock))
		return false;

	/*
	 * Device work only ever uses valid pages, and keeps them valid
	 * until it completes: with none in the range, none uses it.
	 */
	busy = __uptr_userptr_any_valid(up, first, last);
	if (busy && !blockable && !mgr->ops->device_idle(up)) {
		mutex_unlock(&mgr->notifier_lock);
		return false;
	}

	mmu_interval_set_seq(mni, cur_seq);
	if (busy) {
		/* Not blockable: device_idle() said there is nothing to wait for. */
		if (blockable)
			mgr->ops->wait_idle(up);
		__uptr_userptr_drop(up, first, last);
	}
	up->invalidations++;
	mutex_unlock(&mgr->notifier_lock);
	return true;
}

static const struct mmu_interval_notifier_ops uptr_userptr_notifier_ops = {
	.invalidate = uptr_userptr_invalidate,
};

/* The chunk that holds page @idx, allocated if need be (no lock held). */
static struct uptr_chunk *uptr_userptr_chunk(struct uptr_userptr *up, unsigned long idx)
{
	unsigned long ci = idx >> UPTR_CHUNK_SHIFT;
	struct uptr_chunk *chunk, *old;

	chunk = xa_load(&up->chunks, ci);
	if (chunk)
		return chunk;

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL_ACCOUNT);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&up->chunks, ci, NULL, chunk, GFP_KERNEL_ACCOUNT);
	if (old) {
		kfree(chunk);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
	}
	return chunk;
}

/* Stores what hmm_range_fault() found for pages [idx, end) of @chunk. */
static int __uptr_userptr_store(struct uptr_userptr *up, struct uptr_chunk *chunk,
				unsigned long idx, unsigned long end,
				const unsigned long *pfns)
{
	struct device *dev = up->mgr->dma_dev;
	enum dma_data_direction dir = uptr_userptr_dma_dir(up);

	lockdep_assert_held(&up->mgr->notifier_lock);

	for (; idx < end; idx++, pfns++) {
		unsigned long i = idx & (UPTR_CHUNK_PAGES - 1);
		struct page *page = hmm_pfn_to_page(*pfns);
		unsigned long entry = (unsigned long)page;
		dma_addr_t dma;

		if (*pfns & HMM_PFN_WRITE)
			entry |= UPTR_ENTRY_WRITABLE;
		/*
		 * A valid entry still maps the same page (any change would
		 * have invalidated it); only its write access may have grown.
		 */
		if (chunk->entries[i]) {
			WRITE_ONCE(chunk->entries[i], chunk->entries[i] | entry);
			continue;
		}
		dma = dma_map_page_attrs(dev, page, 0, PAGE_SIZE, dir, UPTR_DMA_ATTRS);
		if (dma_mapping_error(dev, dma))
			return -ENOMEM;
		chunk->dma[i] = dma;
		WRITE_ONCE(chunk->entries[i], entry);
		up->resident++;
		up->faulted++;
	}
	return 0;
}

/* Whether a VMA of [start, end) has userfaultfd armed.  mmap lock held. */
static bool uptr_userptr_uffd_armed(struct mm_struct *mm, unsigned long start,
				    unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	uptr_mmap_assert_locked(mm);
	for_each_vma_range(vmi, vma, end)
		if (userfaultfd_armed(vma))
			return true;
	return false;
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

	if (mmap_read_lock_killable(up->mm))
		return -EINTR;
	for (addr = start; addr < end && !ret; addr += PAGE_SIZE) {
		unlocked = false;
		ret = fixup_user_fault(up->mm, addr, flags, &unlocked);
	}
	mmap_read_unlock(up->mm);
	return ret;
}

/* Makes pages [idx, end), all in one chunk, valid. */
static int uptr_userptr_fault_chunk(struct uptr_userptr *up, unsigned long idx,
				    unsigned long end, bool write, unsigned long *pfns)
{
	struct hmm_range range = {
		.notifier = &up->notifier,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
		.hmm_pfns = pfns,
	};
	struct mutex *lock = &up->mgr->notifier_lock;
	struct uptr_chunk *chunk;
	unsigned int tries = 0;
	bool fixed_up = false;
	int ret;

	/* Only the span of pages not valid yet; rechecked under the lock. */
	chunk = xa_load(&up->chunks, idx >> UPTR_CHUNK_SHIFT);
	while (chunk && idx < end &&
	       uptr_entry_ok(READ_ONCE(chunk->entries[idx & (UPTR_CHUNK_PAGES - 1)]), write))
		idx++;
	while (chunk && end > idx &&
	       uptr_entry_ok(READ_ONCE(chunk->entries[(end - 1) & (UPTR_CHUNK_PAGES - 1)]),
			     write))
		end--;
	if (idx == end)
		return 0;
	range.start = up->start + (idx << PAGE_SHIFT);
	range.end = up->start + (end << PAGE_SHIFT);

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		if (++tries > UPTR_FAULT_TRIES)
			return -EAGAIN;

		range.notifier_seq = mmu_interval_read_begin(&up->notifier);
		if (mmap_read_lock_killable(up->mm))
			return -EINTR;
		if (!fixed_up && uptr_userptr_uffd_armed(up->mm, range.start, range.end)) {
			mmap_read_unlock(up->mm);
			ret = uptr_userptr_fixup(up, range.start, range.end, write);
			if (ret)
				return ret;
			fixed_up = true;
			continue;
		}
		ret = hmm_range_fault(&range);
		mmap_read_unlock(up->mm);
		if (ret == -EBUSY)
			continue;
		if (ret == -EFAULT && fixed_up) {
			/* Zapped again before hmm saw it: let the handler refill it. */
			fixed_up = false;
			continue;
		}
		if (ret)
			/* -EPERM: a write to a mapping without PROT_WRITE. */
			return ret == -EPERM ? -EFAULT : ret;

		/*
		 * Only now that the pages exist does the range get a chunk:
		 * failed jobs on a sparse range leave no memory behind.
		 */
		chunk = uptr_userptr_chunk(up, idx);
		if (IS_ERR(chunk))
			return PTR_ERR(chunk);

		mutex_lock(lock);
		if (mmu_interval_read_retry(&up->notifier, range.notifier_seq)) {
			mutex_unlock(lock);
			continue;
		}
		ret = __uptr_userptr_store(up, chunk, idx, end, pfns);
		mutex_unlock(lock);
		return ret;
	}
}

/**
 * uptr_userptr_fault() - make pages of a coherent userptr valid
 * @up: a coherent userptr
 * @first: index of the first page
 * @count: number of pages, @first + @count <= &uptr_userptr.npages
 * @write: the device will write them
 *
 * Faults in the pages of the range that are not valid yet (not writable
 * yet, if @write), as the CPU would: a device write to a copy-on-write
 * page gets the process its own copy first.  Pages already valid are not
 * faulted again.  The pages may be invalidated again at once, so the
 * caller checks with __uptr_userptr_range_valid() under the notifier lock
 * before it uses them.
 *
 * Context: process context of the userptr's mm, no mmap lock or notifier
 * lock held.
 *
 * Return: 0 on success; -EFAULT if a page cannot be accessed as asked
 * (unmapped, no permission, not ordinary memory, beyond the end of a
 * file) or the process is exiting; -EAGAIN if the range kept changing;
 * -EINTR on a fatal signal; -ENOMEM.
 */
int uptr_userptr_fault(struct uptr_userptr *up, unsigned long first,
		       unsigned long count, bool write)
{
	unsigned long idx = first, end = first + count;
	unsigned long *pfns;
	int ret = 0;

	lockdep_assert_not_held(&up->mgr->notifier_lock);
	if (WARN_ON_ONCE(!uptr_userptr_is_coherent(up) || end > up->npages || end < first))
		return -EINVAL;
	if (!mmget_not_zero(up->mm))
		return -EFAULT;

	pfns = kmalloc_array(UPTR_CHUNK_PAGES, sizeof(*pfns), GFP_KERNEL);
	if (!pfns) {
		ret = -ENOMEM;
		goto out;
	}
	while (idx < end && !ret) {
		unsigned long cend = min(end, round_down(idx, UPTR_CHUNK_PAGES) +
					 UPTR_CHUNK_PAGES);

		ret = uptr_userptr_fault_chunk(up, idx, cend, write, pfns);
		idx = cend;
		cond_resched();
	}
	kfree(pfns);
out:
	mmput(up->mm);
	return ret;
}

/**
 * __uptr_userptr_range_valid() - whether pages of a coherent userptr are valid
 * @up: a coherent userptr
 * @first: index of the first page
 * @count: number of pages
 * @write: they must also be writable
 *
 * Context: &uptr_userptr_mgr.notifier_lock held; the pages stay valid
 * until it is released, and, if device work that uses them is published
 * before that, until that work completes.
 *
 * Return: true if every page of the range is valid (and writable).
 */
bool __uptr_userptr_range_valid(struct uptr_userptr *up, unsigned long first,
				unsigned long count, bool write)
{
	unsigned long idx = first, end = first + count, cend;
	struct uptr_chunk *chunk;

	lockdep_assert_held(&up->mgr->notifier_lock);

	for (; idx < end; idx = cend) {
		chunk = uptr_chunk_span(up, idx, end, &cend);
		if (!chunk)
			return false;
		for (; idx < cend; idx++)
			if (!uptr_entry_ok(chunk->entries[idx & (UPTR_CHUNK_PAGES - 1)], write))
				return false;
	}
	return true;
}

/**
 * __uptr_userptr_mark_written() - note that device work writes pages
 * @up: a coherent userptr
 * @first: index of the first page
 * @count: number of pages, valid and writable
 *
 * Called when committing device work that writes the pages, so that they
 * are marked dirty before the CPU mapping lets them go.
 *
 * Context: &uptr_userptr_mgr.notifier_lock held, after
 * __uptr_userptr_range_valid() found the pages valid and writable.
 */
void __uptr_userptr_mark_written(struct uptr_userptr *up, unsigned long first,
				 unsigned long count)
{
	unsigned long idx = first, end = first + count, cend;
	struct uptr_chunk *chunk;

	lockdep_assert_held(&up->mgr->notifier_lock);

	for (; idx < end; idx = cend) {
		chunk = uptr_chunk_span(up, idx, end, &cend);
		for (; idx < cend; idx++) {
			unsigned long i = idx & (UPTR_CHUNK_PAGES - 1);

			WRITE_ONCE(chunk->entries[i], chunk->entries[i] | UPTR_ENTRY_DIRTY);
		}
	}
}

/**
 * uptr_userptr_page() - a page of a coherent userptr, for the device
 * @up: a coherent userptr
 * @idx: page index, inside a range that device work committed after
 *	__uptr_userptr_range_valid() and that has not completed yet
 *
 * Context: any; no lock needed, see DOC: Locking.
 *
 * Return: the page.
 */
struct page *uptr_userptr_page(struct uptr_userptr *up, unsigned long idx)
{
	struct uptr_chunk *chunk = xa_load(&up->chunks, idx >> UPTR_CHUNK_SHIFT);

	return uptr_entry_page(READ_ONCE(chunk->entries[idx & (UPTR_CHUNK_PAGES - 1)]));
}

/* Runs of virtually and physically contiguous pages in the cache. */
static u64 __uptr_userptr_segments(struct uptr_userptr *up)
{
	unsigned long ci, prev_idx = 0, prev_pfn = 0;
	struct uptr_chunk *chunk;
	u64 segments = 0;
	bool have = false;

	lockdep_assert_held(&up->mgr->notifier_lock);

	xa_for_each(&up->chunks, ci, chunk) {
		unsigned long i;

		for (i = 0; i < UPTR_CHUNK_PAGES; i++) {
			unsigned long idx = (ci << UPTR_CHUNK_SHIFT) + i, pfn;

			if (!chunk->entries[i])
				continue;
			pfn = page_to_pfn(uptr_entry_page(chunk->entries[i]));
			if (!have || idx != prev_idx + 1 || pfn != prev_pfn + 1)
				segments++;
			have = true;
			prev_idx = idx;
			prev_pfn = pfn;
		}
		cond_resched();
	}
	return segments;
}

/**
 * uptr_userptr_stats() - what a userptr holds and has seen
 * @up: the userptr
 * @st: filled in
 *
 * Context: process context; takes the notifier lock of a coherent
 * userptr.
 */
void uptr_userptr_stats(struct uptr_userptr *up, struct uptr_userptr_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!uptr_userptr_is_coherent(up)) {
		st->pinned = up->npages;
		st->resident = up->npages;
		st->segments = up->sgt.orig_nents;
		return;
	}
	mutex_lock(&up->mgr->notifier_lock);
	st->resident = up->resident;
	st->segments = __uptr_userptr_segments(up);
	st->faulted = up->faulted;
	st->invalidations = up->invalidations;
	mutex_unlock(&up->mgr->notifier_lock);
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

	up->mm = current->mm;
	mmgrab(up->mm);
	up->mgr = mgr;
	up->start = start;
	up->npages = size >> PAGE_SHIFT;
	up->flags = flags;

	if (uptr_userptr_is_coherent(up)) {
		xa_init(&up->chunks);
		ret = mmu_interval_notifier_insert(&up->notifier, up->mm, start, size,
						   &uptr_userptr_notifier_ops);
	} else {
		ret = uptr_userptr_pin(up);
	}
	if (ret) {
		mmdrop(up->mm);
		up->mm = NULL;
	}
	return ret;
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
	struct uptr_chunk *chunk;
	unsigned long ci;

	if (uptr_userptr_is_coherent(up)) {
		/*
		 * Drop the pages while the notifier still guarantees they
		 * are alive, then stop following the range.
		 */
		mutex_lock(&up->mgr->notifier_lock);
		__uptr_userptr_drop(up, 0, up->npages);
		mutex_unlock(&up->mgr->notifier_lock);
		mmu_interval_notifier_remove(&up->notifier);
		xa_for_each(&up->chunks, ci, chunk)
			kfree(chunk);
		xa_destroy(&up->chunks);
	} else {
		dma_unmap_sgtable(up->mgr->dma_dev, &up->sgt, uptr_userptr_dma_dir(up),
				  UPTR_DMA_ATTRS);
		sg_free_table(&up->sgt);
		unpin_user_pages_dirty_lock(up->pages, up->npages,
					    !(up->flags & UPTR_USERPTR_READ_ONLY));
		kvfree(up->pages);
		up->pages = NULL;
		uptr_userptr_uncharge(up->mm, up->npages);
	}
	mmdrop(up->mm);
	up->mm = NULL;
}
