// SPDX-License-Identifier: GPL-2.0
/*
 * uptr: stale-range signals for pinned userptrs.
 */

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_vma_manager.h>
#include <drm/uptr_drm.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_notify.h"

/**
 * DOC: Stale pinned userptrs
 *
 * A pinned userptr created with DRM_UPTR_USERPTR_NOTIFY has, besides its
 * pins, an MMU interval notifier of its own over its range, registered
 * here, in the driver: the userptr core knows nothing of it.  The
 * notifier never waits, never unpins and never allocates: at the first
 * change of the mapping that replaces or removes the pages the process
 * sees (MMU_NOTIFY_UNMAP, MMU_NOTIFY_CLEAR; other events keep the same
 * pages mapped; the teardown of the whole mm, with no user left, does
 * not count) it marks the BO stale, queues the DRM event allocated
 * when the BO was created, if the file's event space has room (else it
 * counts a lost event), and moves the BO's counter in the file's
 * generation page.  Later changes find the BO stale and return at once.
 *
 * The notifier is registered before the pages are pinned, so that no
 * change between the pin and the registration goes unseen, but it only
 * *arms* once the pin is done: a change it sees before (the pin itself
 * breaking copy-on-write or migrating a page out of a movable zone) is
 * remembered, and uptr_notify_arm() then compares what the range maps
 * with the pinned pages; the BO is stale only if they differ.
 *
 * The event names a GEM handle, which the notifier cannot find from the
 * object: the handle the BO was created with is recorded when the ioctl
 * has it (uptr_notify_attach()); a change before that is sent then.
 * When that handle is closed (or its file), uptr_notify_detach() removes
 * the notifier, gives the counter's slot back and frees an event never
 * sent; a BO kept alive by a job past that is no longer followed.
 */

/**
 * DOC: Locking
 *
 * &uptr_notify.lock, a spinlock of each NOTIFY userptr, protects its
 * state (armed, stale, attached, detached, the event not yet sent).  The
 * notifier takes it only while the BO is not stale, so at most a few
 * times per BO, and holds it for a few stores; it is taken in reclaim
 * (lockdep is told at creation), so nothing under it allocates or sleeps.
 *
 * Nested inside it, to queue the event, &drm_device.event_lock: the DRM
 * device's lock of every file's event list and event space, held with
 * interrupts off for a list insertion and a wake-up of the file's
 * pollers.  It is the one lock of this path that other processes take
 * too (their read() and poll() on their own files of the device, their
 * own notifiers): each hold is that short and bounded, and it is taken
 * once per BO at most.
 *
 * &uptr_notify_file.lock, a mutex, protects the file's generation page
 * pointer and its slot bitmap; only ioctls and the release of a handle
 * take it, never the notifier.  The notifier writes the BO's counter
 * without it: a slot is given back only after mmu_interval_notifier_remove()
 * has returned, when no callback of the BO runs any more.
 *
 * Counters are written with smp_store_release() after the BO's stale
 * state and its event, so a reader whose acquire load sees a counter
 * move also sees the BO stale in BO_INFO, and its event queued (or
 * counted lost).
 */

/**
 * struct uptr_notify_gen - the generation page of a DRM file
 * @base: a GEM object with no handle: it gives the page an mmap offset
 *	that only its file may map (drm_vma_node_allow())
 * @page: the page
 * @counters: @page in the kernel's address space
 */
struct uptr_notify_gen {
	struct drm_gem_object base;
	struct page *page;
	u64 *counters;
};

/**
 * struct uptr_notify_event - the event of one BO, sent at most once
 * @base: DRM's pending event; DRM frees it (kfree()) once read
 * @ev: what read() returns
 */
struct uptr_notify_event {
	struct drm_pending_event base;
	struct drm_uptr_event_stale ev;
};

/**
 * struct uptr_notify - the NOTIFY state of a pinned userptr BO
 *
 * Members above @lock are set at creation and never change.
 */
struct uptr_notify {
	/** @mni: follows [@start, @end) of the creator's mm */
	struct mmu_interval_notifier mni;
	/** @drm: the device */
	struct drm_device *drm;
	/** @file: the file the BO was created in (compared only, once detached) */
	struct drm_file *file;
	/** @nf: @file's NOTIFY state */
	struct uptr_notify_file *nf;
	/** @start: first address of the BO's range */
	unsigned long start;
	/** @end: end of the BO's range */
	unsigned long end;
	/** @counter: the BO's counter in the generation page */
	u64 *counter;
	/** @slot: index of @counter */
	u32 slot;
	/** @generation: the value of @counter while the BO is not stale */
	u64 generation;

	/** @lock: protects what follows */
	spinlock_t lock;
	/** @armed: the pin is done: a change makes the BO stale */
	bool armed;
	/** @attached: @handle is known */
	bool attached;
	/** @detached: the handle was closed: nothing is sent any more */
	bool detached;
	/** @registered: @mni is inserted (until detached) */
	bool registered;
	/** @early: reason of a change seen before @armed, 0 if none */
	u32 early;
	/** @early_start: start of that change */
	unsigned long early_start;
	/** @early_end: end of that change */
	unsigned long early_end;
	/** @reason: enum drm_uptr_stale_reason, 0 while not stale (READ_ONCE) */
	u32 reason;
	/** @stale_start: start of the first change, clamped to the range */
	unsigned long stale_start;
	/** @stale_end: end of that change */
	unsigned long stale_end;
	/** @handle: the GEM handle the BO was created with, once @attached */
	u32 handle;
	/** @event: the event, NULL once queued (DRM owns it then) */
	struct uptr_notify_event *event;
};

static void uptr_notify_gen_free(struct drm_gem_object *obj)
{
	struct uptr_notify_gen *gen = container_of(obj, struct uptr_notify_gen, base);

	drm_gem_object_release(obj);
	__free_page(gen->page);
	kfree(gen);
	atomic_dec(&uptr_live_objects);
}

static int uptr_notify_gen_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	struct uptr_notify_gen *gen = container_of(obj, struct uptr_notify_gen, base);

	if (vma->vm_flags & VM_WRITE) {
		uptr_dbg(IOCTL, "the generation page is read-only\n");
		return -EACCES;
	}
	if (!(vma->vm_flags & VM_SHARED)) {
		uptr_dbg(IOCTL, "the generation page can only be mapped shared\n");
		return -EINVAL;
	}
	/* Never writable: mprotect(PROT_WRITE) fails with EACCES. */
	uptr_vm_flags_clear(vma, VM_MAYWRITE);
	uptr_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);
	/* VM_PFNMAP: neither GUP nor a userptr can take the page. */
	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(gen->page), PAGE_SIZE,
			       vma->vm_page_prot);
}

static const struct vm_operations_struct uptr_notify_gen_vm_ops = {
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static const struct drm_gem_object_funcs uptr_notify_gen_funcs = {
	.free = uptr_notify_gen_free,
	.mmap = uptr_notify_gen_mmap,
	.vm_ops = &uptr_notify_gen_vm_ops,
};

/* The file's generation page, allocated on first use (@nf->lock held). */
static struct uptr_notify_gen *uptr_notify_gen_get(struct uptr_notify_file *nf,
						   struct drm_device *drm,
						   struct drm_file *file)
{
	struct uptr_notify_gen *gen;
	int ret;

	lockdep_assert_held(&nf->lock);
	if (nf->gen)
		return nf->gen;

	gen = kzalloc(sizeof(*gen), GFP_KERNEL_ACCOUNT);
	if (!gen)
		return ERR_PTR(-ENOMEM);
	gen->page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!gen->page) {
		kfree(gen);
		return ERR_PTR(-ENOMEM);
	}
	gen->counters = page_address(gen->page);
	gen->base.funcs = &uptr_notify_gen_funcs;
	drm_gem_private_object_init(drm, &gen->base, PAGE_SIZE);
	atomic_inc(&uptr_live_objects);

	ret = drm_gem_create_mmap_offset(&gen->base);
	if (!ret)
		ret = drm_vma_node_allow(&gen->base.vma_node, file);
	if (ret) {
		drm_gem_object_put(&gen->base);
		return ERR_PTR(ret);
	}
	nf->gen = gen;
	return gen;
}

/**
 * uptr_notify_file_init() - set up a file's NOTIFY state
 * @nf: the state, zeroed
 */
void uptr_notify_file_init(struct uptr_notify_file *nf)
{
	mutex_init(&nf->lock);
}

/**
 * uptr_notify_file_fini() - release a file's NOTIFY state
 * @nf: the state
 * @file: its file, whose handles DRM has released
 *
 * The last mapping of the generation page, which kept the file open,
 * is gone by now.
 */
void uptr_notify_file_fini(struct uptr_notify_file *nf, struct drm_file *file)
{
	struct drm_device *drm = file->minor->dev;
	struct drm_pending_event *e, *et;

	/*
	 * DRM frees a closing file's events before it releases its handles:
	 * an event a notifier queued in between (until the handle's release
	 * removed it) is still on the list.  Free it as DRM would.
	 */
	spin_lock_irq(&drm->event_lock);
	list_for_each_entry_safe(e, et, &file->event_list, link) {
		list_del(&e->link);
		kfree(e);
	}
	spin_unlock_irq(&drm->event_lock);

	WARN_ON(!bitmap_empty(nf->slots, UPTR_NOTIFY_SLOTS));
	if (nf->gen) {
		drm_vma_node_revoke(&nf->gen->base.vma_node, file);
		drm_gem_object_put(&nf->gen->base);
		nf->gen = NULL;
	}
	mutex_destroy(&nf->lock);
}

/* Queues @n's event, or counts it lost (@n->lock held, attached). */
static void uptr_notify_send(struct uptr_notify *n)
{
	struct uptr_notify_event *e = n->event;
	struct drm_device *drm = n->drm;
	unsigned long flags;

	lockdep_assert_held(&n->lock);
	e->ev.base.type = DRM_UPTR_EVENT_STALE;
	e->ev.base.length = sizeof(e->ev);
	e->ev.handle = n->handle;
	e->ev.reason = n->reason;
	e->ev.start = n->stale_start;
	e->ev.end = n->stale_end;

	spin_lock_irqsave(&drm->event_lock, flags);
	if (!drm_event_reserve_init_locked(drm, n->file, &e->base, &e->ev.base)) {
		drm_send_event_locked(drm, &e->base);
		n->event = NULL;
		n->nf->events_sent++;
	} else {
		n->nf->events_lost++;
	}
	spin_unlock_irqrestore(&drm->event_lock, flags);
}

/* The BO becomes stale (@n->lock held, not stale yet). */
static void uptr_notify_mark(struct uptr_notify *n, u32 reason,
			     unsigned long start, unsigned long end)
{
	lockdep_assert_held(&n->lock);
	WRITE_ONCE(n->reason, reason);
	n->stale_start = start;
	n->stale_end = end;
	if (n->attached && !n->detached)
		uptr_notify_send(n);
	/*
	 * Last, and paired with the reader's acquire load (see the uAPI
	 * header): a reader that sees the counter move sees all of the above.
	 */
	smp_store_release(n->counter, n->generation + 1);
}

static u32 uptr_notify_reason(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return DRM_UPTR_STALE_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return DRM_UPTR_STALE_ZAP;
	default:
		/*
		 * The same pages stay mapped: protection changes (mprotect,
		 * NUMA hinting, fork's and writeback's write-protection),
		 * soft-dirty tracking, device-private migration and
		 * exclusive access (which a pinned page refuses), and the
		 * release of the mm at exit.
		 */
		return 0;
	}
}

/*
 * Runs in the context of whatever changes the mapping, possibly in
 * reclaim or the OOM reaper: no sleeping, no allocation, the same whether
 * blockable or not; see DOC: Locking.
 */
static bool uptr_notify_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct uptr_notify *n = container_of(mni, struct uptr_notify, mni);
	u32 reason = uptr_notify_reason(range->event);
	unsigned long start, end;

	if (!reason || READ_ONCE(n->reason))
		return true;
	/*
	 * The address space is being torn down (exit, execve): no one
	 * will see the range again, and no job can use the BO any more.
	 */
	if (!atomic_read(&range->mm->mm_users))
		return true;

	start = max(range->start, n->start) & PAGE_MASK;
	end = PAGE_ALIGN(min(range->end, n->end));

	spin_lock(&n->lock);
	if (!n->armed) {
		if (!n->early) {
			n->early = reason;
			n->early_start = start;
			n->early_end = end;
		}
	} else if (!n->reason) {
		uptr_notify_mark(n, reason, start, end);
	}
	spin_unlock(&n->lock);
	return true;
}

static const struct mmu_interval_notifier_ops uptr_notify_ops = {
	.invalidate = uptr_notify_invalidate,
};

/* Gives @n's slot back, its counter moved past @n->generation. */
static void uptr_notify_put_slot(struct uptr_notify *n)
{
	struct uptr_notify_file *nf = n->nf;

	mutex_lock(&nf->lock);
	/*
	 * Pairs with the reader's acquire load, as in uptr_notify_mark():
	 * nothing is sent for the BO any more once it sees the move.  The
	 * next owner of the slot reads the counter under @nf->lock.
	 */
	smp_store_release(n->counter, n->generation + 1);
	clear_bit(n->slot, nf->slots);
	mutex_unlock(&nf->lock);
}

/**
 * uptr_notify_create() - start following a range for a new NOTIFY userptr
 * @file: the DRM file the BO is created in
 * @start: first address, page aligned, of the current process
 * @size: bytes
 * @slot: set to the index of the BO's counter in the generation page
 * @generation: set to the value of that counter while the BO is fresh
 *
 * Called before the pages are pinned; uptr_notify_arm() once they are.
 *
 * Context: the ioctl creating the BO, no mmap lock held.
 * Return: the state, or ERR_PTR(-ENOMEM), ERR_PTR(-ENOSPC) when the
 * file's slots are all taken.
 */
struct uptr_notify *uptr_notify_create(struct drm_file *file, unsigned long start,
				       unsigned long size, u32 *slot, u64 *generation)
{
	struct uptr_file *ufile = to_uptr_file(file);
	struct uptr_notify_file *nf = &ufile->notify;
	struct uptr_notify_gen *gen;
	struct uptr_notify *n;
	unsigned long s;
	int ret;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return ERR_PTR(-ENOMEM);
	n->event = kzalloc(sizeof(*n->event), GFP_KERNEL_ACCOUNT);
	if (!n->event) {
		kfree(n);
		return ERR_PTR(-ENOMEM);
	}
	n->drm = &ufile->udev->drm;
	n->file = file;
	n->nf = nf;
	n->start = start;
	n->end = start + size;
	spin_lock_init(&n->lock);
	/* The notifier takes the lock in reclaim: tell lockdep at once. */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&n->lock);
	fs_reclaim_release(GFP_KERNEL);

	mutex_lock(&nf->lock);
	gen = uptr_notify_gen_get(nf, n->drm, file);
	if (IS_ERR(gen)) {
		mutex_unlock(&nf->lock);
		ret = PTR_ERR(gen);
		goto err_free;
	}
	s = find_first_zero_bit(nf->slots, UPTR_NOTIFY_SLOTS);
	if (s >= UPTR_NOTIFY_SLOTS) {
		mutex_unlock(&nf->lock);
		uptr_dbg(IOCTL, "all %lu generation slots are taken\n", UPTR_NOTIFY_SLOTS);
		ret = -ENOSPC;
		goto err_free;
	}
	set_bit(s, nf->slots);
	n->slot = s;
	n->counter = &gen->counters[s];
	n->generation = READ_ONCE(*n->counter);
	mutex_unlock(&nf->lock);

	ret = mmu_interval_notifier_insert(&n->mni, current->mm, start, size,
					   &uptr_notify_ops);
	if (ret) {
		uptr_notify_put_slot(n);
		goto err_free;
	}
	n->registered = true;
	*slot = n->slot;
	*generation = n->generation;
	return n;

err_free:
	kfree(n->event);
	kfree(n);
	return ERR_PTR(ret);
}

/*
 * Whether [@n->start, @n->end) of the current process maps @pages.
 * Faults in what is not mapped (which then differs).
 */
static bool uptr_notify_maps(struct uptr_notify *n, struct page **pages)
{
	unsigned long npages = (n->end - n->start) >> PAGE_SHIFT;
	struct page *batch[16];
	unsigned long i, j;
	bool same = true;
	int got;

	for (i = 0; i < npages && same; i += got) {
		got = get_user_pages_fast(n->start + (i << PAGE_SHIFT),
					  min_t(unsigned long, npages - i, ARRAY_SIZE(batch)),
					  0, batch);
		if (got <= 0)
			return false;
		for (j = 0; j < got; j++) {
			if (batch[j] != pages[i + j])
				same = false;
			put_page(batch[j]);
		}
	}
	return same;
}

/**
 * uptr_notify_arm() - the pages are pinned: changes now make the BO stale
 * @n: the state from uptr_notify_create()
 * @pages: the pinned pages of the range
 *
 * Context: the ioctl creating the BO (the process whose range it is).
 */
void uptr_notify_arm(struct uptr_notify *n, struct page **pages)
{
	unsigned long start, end;
	u32 early;

	spin_lock(&n->lock);
	n->armed = true;
	early = n->early;
	start = n->early_start;
	end = n->early_end;
	spin_unlock(&n->lock);

	if (!early)
		return;
	/* A change during the pin: stale only if it left other pages mapped. */
	if (uptr_notify_maps(n, pages)) {
		uptr_dbg(BO, "%#lx+%#lx changed while pinned, still maps the pins\n",
			 n->start, n->end - n->start);
		return;
	}
	uptr_dbg(BO, "%#lx+%#lx changed while pinned: stale\n", n->start, n->end - n->start);
	spin_lock(&n->lock);
	if (!n->reason)
		uptr_notify_mark(n, early, start, end);
	spin_unlock(&n->lock);
}

/**
 * uptr_notify_attach() - record the handle the BO was created with
 * @n: the state
 * @handle: the GEM handle in the creating file
 *
 * Sends the event at once if the BO became stale before.
 */
void uptr_notify_attach(struct uptr_notify *n, u32 handle)
{
	spin_lock(&n->lock);
	if (!n->detached) {
		n->handle = handle;
		n->attached = true;
		if (n->reason)
			uptr_notify_send(n);
	}
	spin_unlock(&n->lock);
}

/**
 * uptr_notify_detach() - stop following the range
 * @n: the state
 * @file: the file whose handle is released; nothing happens unless it
 *	is the file the BO was created in
 *
 * The BO stays stale if it was; its counter moves past its generation
 * and its slot is free for another BO.
 *
 * Context: process context, may sleep (waits for a callback in progress).
 */
void uptr_notify_detach(struct uptr_notify *n, struct drm_file *file)
{
	bool registered;

	if (file != n->file)
		return;
	spin_lock(&n->lock);
	if (n->detached) {
		spin_unlock(&n->lock);
		return;
	}
	n->detached = true;
	registered = n->registered;
	n->registered = false;
	spin_unlock(&n->lock);

	if (registered) {
		mmu_interval_notifier_remove(&n->mni);
		uptr_notify_put_slot(n);
	}
	kfree(n->event);
	n->event = NULL;
}

/**
 * uptr_notify_free() - free the state of a BO being freed
 * @n: the state, or NULL
 *
 * Detaches first if the handle never was (the ioctl failed).
 */
void uptr_notify_free(struct uptr_notify *n)
{
	if (!n)
		return;
	uptr_notify_detach(n, n->file);
	kfree(n);
}

/**
 * uptr_notify_stale() - why the BO is stale
 * @n: the state
 *
 * Return: enum drm_uptr_stale_reason, or 0 while not stale.
 */
u32 uptr_notify_stale(struct uptr_notify *n)
{
	return READ_ONCE(n->reason);
}

int uptr_notify_query_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct uptr_notify_file *nf = &to_uptr_file(file)->notify;
	struct drm_uptr_notify_query *args = data;
	struct uptr_notify_gen *gen;

	if (args->flags || args->pad) {
		uptr_dbg(IOCTL, "non-zero flags %#x or pad\n", args->flags);
		return -EINVAL;
	}
	mutex_lock(&nf->lock);
	gen = uptr_notify_gen_get(nf, dev, file);
	if (!IS_ERR(gen))
		args->gen_offset = drm_vma_node_offset_addr(&gen->base.vma_node);
	mutex_unlock(&nf->lock);
	if (IS_ERR(gen))
		return PTR_ERR(gen);

	args->gen_size = PAGE_SIZE;
	args->gen_slots = UPTR_NOTIFY_SLOTS;
	spin_lock_irq(&dev->event_lock);
	args->events_sent = nf->events_sent;
	args->events_lost = nf->events_lost;
	spin_unlock_irq(&dev->event_lock);
	return 0;
}
