// SPDX-License-Identifier: GPL-2.0
/*
 * uptr userptr core.
 */

#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "uptr_userptr.h"

/**
 * DOC: Overview
 *
 * A userptr wraps a range of a process's address space so that a device
 * reads and writes those very pages.  This file is the device-independent
 * part: it validates a range, pins its pages, builds and DMA-maps the sg
 * table, and gives it all back.  It knows nothing of DRM or of the
 * driver's buffer objects; it depends on mm, scatterlist and the DMA API
 * only.
 *
 * A driver adopts it by embedding a &struct uptr_userptr in its buffer
 * object and calling, from the ioctl that creates the object and in the
 * context of the process whose memory is wrapped:
 *
 * 1. uptr_userptr_check_range() on the user's address and size, before
 *    it allocates anything;
 * 2. optionally uptr_userptr_probe(), to refuse a range that is not
 *    backed by ordinary memory right now;
 * 3. uptr_userptr_init(), which records the creating mm and, for a
 *    %UPTR_USERPTR_PINNED userptr, pins the pages with %FOLL_LONGTERM
 *    (never %FOLL_FORCE), charges them to the process's locked memory
 *    the way RDMA does (``mm->pinned_vm`` against ``RLIMIT_MEMLOCK``
 *    unless the caller has ``CAP_IPC_LOCK``) and DMA-maps them.
 *
 * The device then reaches the memory through &uptr_userptr.sgt only,
 * never through the user address.  uptr_userptr_fini() unmaps, unpins
 * (marking the pages dirty unless the userptr is read-only), uncharges
 * and drops the mm.
 *
 * A pinned userptr keeps the pages it pinned for its whole life, whatever
 * the process later does to the mapping: after munmap() or a MAP_FIXED
 * replacement the device still sees the old pages ("unsynchronized"
 * semantics).  The caller must refuse to use a userptr from an mm other
 * than &uptr_userptr.mm.
 */

/**
 * DOC: Locking
 *
 * A pinned &struct uptr_userptr is immutable between uptr_userptr_init()
 * and uptr_userptr_fini(): readers need no lock, only a reference on the
 * embedding object that keeps uptr_userptr_fini() from running.
 *
 * uptr_userptr_probe() takes the mmap lock of the current mm for read;
 * uptr_userptr_init() lets pin_user_pages_fast() take it.  Neither may be
 * called with the mmap lock held.
 */

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

static enum dma_data_direction uptr_userptr_dma_dir(const struct uptr_userptr *up)
{
	return up->flags & UPTR_USERPTR_READ_ONLY ? DMA_TO_DEVICE : DMA_BIDIRECTIONAL;
}

/* Largest sg segment @dev can map, a whole number of pages. */
static unsigned int uptr_userptr_max_segment(struct device *dev)
{
	return min_t(size_t, dma_max_mapping_size(dev), UINT_MAX) & PAGE_MASK;
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

static int uptr_userptr_pin(struct uptr_userptr *up)
{
	unsigned int gup = FOLL_LONGTERM;
	unsigned long done = 0;
	struct page **pages;
	int ret;

	if (!(up->flags & UPTR_USERPTR_READ_ONLY))
		gup |= FOLL_WRITE;

	ret = uptr_userptr_charge(up->mm, up->npages);
	if (ret)
		return ret;

	pages = kvmalloc_array(up->npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
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
						uptr_userptr_max_segment(up->dma_dev),
						GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unpin;

	ret = dma_map_sgtable(up->dma_dev, &up->sgt, uptr_userptr_dma_dir(up), 0);
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

/**
 * uptr_userptr_init() - wrap a range of the current process
 * @up: the userptr to set up, zeroed by the caller
 * @dma_dev: device to DMA-map the pages for
 * @start: first address, checked by uptr_userptr_check_range()
 * @size: size in bytes, checked by uptr_userptr_check_range()
 * @flags: UPTR_USERPTR_*; %UPTR_USERPTR_PINNED is required for now
 *
 * Context: process context of the process whose memory is wrapped, no
 * mmap lock held.  May sleep for a long time on a huge pinned range, but
 * returns -EINTR on a fatal signal.
 *
 * Return: 0 on success; -EOPNOTSUPP without %UPTR_USERPTR_PINNED;
 * -ENOMEM past RLIMIT_MEMLOCK or out of memory; -EFAULT if a page cannot
 * be pinned with the access asked for; -EINTR on a fatal signal.
 */
int uptr_userptr_init(struct uptr_userptr *up, struct device *dma_dev,
		      unsigned long start, unsigned long size, unsigned int flags)
{
	int ret;

	if (!(flags & UPTR_USERPTR_PINNED))
		return -EOPNOTSUPP;

	up->mm = current->mm;
	mmgrab(up->mm);
	up->dma_dev = dma_dev;
	up->start = start;
	up->npages = size >> PAGE_SHIFT;
	up->flags = flags;

	ret = uptr_userptr_pin(up);
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
 * Context: process context, may sleep.  Need not be the creating process.
 */
void uptr_userptr_fini(struct uptr_userptr *up)
{
	if (up->pages) {
		dma_unmap_sgtable(up->dma_dev, &up->sgt, uptr_userptr_dma_dir(up), 0);
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
