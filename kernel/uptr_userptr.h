/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr userptr core: wrap a range of a process's address space for a
 * device.  Depends on mm, scatterlist and DMA only; see uptr_userptr.c.
 */
#ifndef _UPTR_USERPTR_H_
#define _UPTR_USERPTR_H_

#include <linux/scatterlist.h>
#include <linux/types.h>

struct device;
struct mm_struct;
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
 * @vma_is_device: optional; returns true for a VMA that maps the
 *	driver's own buffer objects, which may not back a userptr.
 *	Called with the mmap lock held for read.
 */
struct uptr_userptr_ops {
	bool (*vma_is_device)(const struct vm_area_struct *vma);
};

/**
 * struct uptr_userptr - a range of a process's address space
 *
 * Embedded by the driver in its buffer object.  For a pinned userptr
 * every member is set by uptr_userptr_init() and never changes until
 * uptr_userptr_fini(): no lock is needed to read them, only a
 * reference on the embedding object.
 */
struct uptr_userptr {
	/** @mm: the creator's mm, held with mmgrab() */
	struct mm_struct *mm;
	/** @dma_dev: device the sg table is DMA-mapped for */
	struct device *dma_dev;
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
};

int uptr_userptr_check_range(u64 user_ptr, u64 user_size);
int uptr_userptr_probe(unsigned long start, unsigned long size,
		       unsigned int flags, const struct uptr_userptr_ops *ops);
int uptr_userptr_init(struct uptr_userptr *up, struct device *dma_dev,
		      unsigned long start, unsigned long size,
		      unsigned int flags);
void uptr_userptr_fini(struct uptr_userptr *up);

/**
 * uptr_userptr_pinned_pages() - pages @up holds pinned
 * @up: the userptr
 *
 * Return: the number of pinned pages.
 */
static inline unsigned long uptr_userptr_pinned_pages(const struct uptr_userptr *up)
{
	return up->pages ? up->npages : 0;
}

#endif /* _UPTR_USERPTR_H_ */
