/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr userptr core: wrap a range of a process's address space for a
 * device.  Depends on mm, mmu_notifier, scatterlist and DMA only; see
 * uptr_userptr.c.
 */
#ifndef _UPTR_USERPTR_H_
#define _UPTR_USERPTR_H_

#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct device;
struct mm_struct;
struct page;
struct uptr_userptr;
struct vm_area_struct;

/* The device only reads the range; its pages are never made writable. */
#define UPTR_USERPTR_READ_ONLY		BIT(0)
/* Pin every page at creation (FOLL_LONGTERM), charged to RLIMIT_MEMLOCK. */
#define UPTR_USERPTR_PINNED		BIT(1)

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
	 * @device_idle: required for coherent userptrs; returns true when
	 * no device work that can touch @up's pages is pending.  Called
	 * with &uptr_userptr_mgr.notifier_lock held, from a notifier that
	 * may not block: must not sleep.
	 */
	bool (*device_idle)(struct uptr_userptr *up);
	/**
	 * @wait_idle: required for coherent userptrs; waits until every
	 * piece of device work that can touch @up's pages has completed.
	 * Called with &uptr_userptr_mgr.notifier_lock held, from the MMU
	 * notifier, possibly in direct reclaim: must not allocate memory
	 * that can recurse into reclaim nor take a lock held around such
	 * an allocation, and the work waited for must complete without
	 * faulting user memory or taking the notifier lock.
	 */
	void (*wait_idle)(struct uptr_userptr *up);
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
	 * @notifier_lock: protects the page cache, the counters and the
	 * notifier sequence checks of every coherent userptr of the
	 * manager; the driver holds it to commit a job (see DOC: Locking).
	 */
	struct mutex notifier_lock;
};

/**
 * struct uptr_userptr - a range of a process's address space
 *
 * Embedded by the driver in its buffer object.  @mm, @mgr, @start,
 * @npages and @flags are set by uptr_userptr_init() and never change;
 * so are @pages and @sgt of a pinned userptr.  The page cache and the
 * counters of a coherent userptr are protected by
 * &uptr_userptr_mgr.notifier_lock.
 */
struct uptr_userptr {
	/** @mm: the creator's mm, held with mmgrab() */
	struct mm_struct *mm;
	/** @mgr: the device's manager */
	struct uptr_userptr_mgr *mgr;
	/** @start: first user address, page aligned */
	unsigned long start;
	/** @npages: pages of the range */
	unsigned long npages;
	/** @flags: UPTR_USERPTR_* */
	unsigned int flags;
	/** @pages: pinned: the pinned pages, @npages of them */
	struct page **pages;
	/** @sgt: pinned: the pages, coalesced and DMA-mapped */
	struct sg_table sgt;
	/** @notifier: coherent: follows the range in @mm */
	struct mmu_interval_notifier notifier;
	/**
	 * @chunks: coherent: the page cache, struct uptr_chunk by page
	 * index / UPTR_CHUNK_PAGES, allocated on first use and kept until
	 * uptr_userptr_fini()
	 */
	struct xarray chunks;
	/** @resident: coherent: valid pages in @chunks (notifier lock) */
	unsigned long resident;
	/** @faulted: coherent: pages made valid so far (notifier lock) */
	u64 faulted;
	/** @invalidations: coherent: invalidations seen (notifier lock) */
	u64 invalidations;
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

void uptr_userptr_mgr_init(struct uptr_userptr_mgr *mgr, struct device *dma_dev,
			   const struct uptr_userptr_ops *ops);
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
bool __uptr_userptr_range_valid(struct uptr_userptr *up, unsigned long first,
				unsigned long count, bool write);
void __uptr_userptr_mark_written(struct uptr_userptr *up, unsigned long first,
				 unsigned long count);
struct page *uptr_userptr_page(struct uptr_userptr *up, unsigned long idx);
void uptr_userptr_stats(struct uptr_userptr *up, struct uptr_userptr_stats *st);

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

#endif /* _UPTR_USERPTR_H_ */
