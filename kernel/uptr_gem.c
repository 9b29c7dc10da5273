// SPDX-License-Identifier: GPL-2.0
/*
 * uptr buffer objects.
 *
 * Two kinds share &struct uptr_bo: device-local BOs, whose pages come
 * from a shmem file and stay allocated for the BO's life, and userptr
 * BOs, which wrap a range of the creating process through the userptr
 * core.  Either way the engine sees a BO only as an sg table.  A third
 * kind, a buffer imported from another driver's dma-buf, is in
 * uptr_prime.c, as is the export of the first two.
 */

#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_utils.h>
#include <drm/drm_prime.h>
#include <drm/drm_vma_manager.h>
#include <drm/uptr_drm.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_gem.h"
#include "uptr_notify.h"
#include "uptr_prime.h"

#define UPTR_USERPTR_UAPI_FLAGS	(DRM_UPTR_USERPTR_READ_ONLY |		\
				 DRM_UPTR_USERPTR_PINNED |		\
				 DRM_UPTR_USERPTR_PROBE |		\
				 DRM_UPTR_USERPTR_NOTIFY)

/*
 * Device BOs are memory the kernel allocates for a user: each file may
 * hold at most this much of it through its handles.  0 means half of
 * the machine's memory.  The user's memory cgroup bounds it too: the
 * pages and every structure of a BO are charged to it.
 */
static unsigned int uptr_max_file_bo_mib;
module_param_named(max_file_bo_mib, uptr_max_file_bo_mib, uint, 0644);
MODULE_PARM_DESC(max_file_bo_mib,
		 "most MiB of device BOs one open file may hold (0: half of RAM)");

/*
 * Every BO, the userptr core's state of a userptr BO included, in a
 * cache of its own: a cold userptr costs its struct and no rounding up
 * to a power of two.  Charged to the creator's memory cgroup.
 */
static struct kmem_cache *uptr_bo_cache;

/**
 * uptr_gem_init() - set up what the BOs of the module share
 *
 * Return: 0, or -ENOMEM.
 */
int uptr_gem_init(void)
{
	uptr_bo_cache = kmem_cache_create("uptr_bo", sizeof(struct uptr_bo), 0,
					  SLAB_ACCOUNT, NULL);
	return uptr_bo_cache ? 0 : -ENOMEM;
}

/**
 * uptr_bo_alloc() - a zeroed BO, charged to the caller's memory cgroup
 *
 * Return: the BO, or NULL.
 */
struct uptr_bo *uptr_bo_alloc(void)
{
	return kmem_cache_zalloc(uptr_bo_cache, GFP_KERNEL_ACCOUNT);
}

/**
 * uptr_bo_free_struct() - free what uptr_bo_alloc() gave, once published
 * @bo: the BO, released, counted in uptr_live_objects
 */
void uptr_bo_free_struct(struct uptr_bo *bo)
{
	kmem_cache_free(uptr_bo_cache, bo);
	atomic_dec(&uptr_live_objects);
}

/**
 * uptr_gem_fini() - tear down what uptr_gem_init() set up, once no BO is left
 */
void uptr_gem_fini(void)
{
	kmem_cache_destroy(uptr_bo_cache);
}

static u64 uptr_max_file_bo_bytes(void)
{
	u64 mib = READ_ONCE(uptr_max_file_bo_mib);

	return mib ? mib << 20 : (u64)totalram_pages() << PAGE_SHIFT >> 1;
}

static const struct vm_operations_struct uptr_device_bo_vm_ops;

/* Largest sg segment @dev can map, a whole number of pages. */
static unsigned int uptr_max_segment(struct device *dev)
{
	size_t max = min_t(size_t, dma_max_mapping_size(dev), dma_get_max_seg_size(dev));

	return min_t(size_t, max, UINT_MAX) & PAGE_MASK;
}

/* Releases the first @n of a device BO's pages, as if never used. */
static void uptr_device_bo_put_pages(struct uptr_bo *bo, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		put_page(bo->pages[i]);
	mapping_clear_unevictable(bo->base.filp->f_mapping);
	kvfree(bo->pages);
	bo->pages = NULL;
}

/*
 * Allocates the pages of a device BO from its shmem file, as
 * drm_gem_get_pages() does, but so that running out of memory is an
 * errno: __GFP_RETRY_MAYFAIL lets the allocation and the memory cgroup
 * charge fail instead of invoking the OOM killer, __GFP_NOWARN keeps the
 * failure out of the kernel log.  No GFP_MOVABLE: the pages are held for
 * the BO's life.  The pages, their array and the sg table are charged
 * to the caller's memory cgroup.
 *
 * Return: 0; -ENOMEM; -EINTR on a fatal signal.
 */
static int uptr_device_bo_get_pages(struct uptr_bo *bo)
{
	const gfp_t gfp = GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	struct address_space *mapping = bo->base.filp->f_mapping;
	unsigned long i, npages = bo->base.size >> PAGE_SHIFT;
	struct page *page;
	int ret;

	bo->pages = kvmalloc_array(npages, sizeof(*bo->pages),
				   GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!bo->pages)
		return -ENOMEM;
	mapping_set_gfp_mask(mapping, gfp);
	mapping_set_unevictable(mapping);
	for (i = 0; i < npages; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err;
		}
		page = shmem_read_mapping_page_gfp(mapping, i, gfp);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			goto err;
		}
		bo->pages[i] = page;
		cond_resched();
	}
	return 0;

err:
	uptr_device_bo_put_pages(bo, i);
	return ret;
}

static void uptr_bo_free(struct drm_gem_object *obj)
{
	struct uptr_bo *bo = to_uptr_bo(obj);

	uptr_dbg(BO, "bo %p %s size %zu\n", bo, uptr_bo_is_userptr(bo) ? "userptr" : "device",
		 obj->size);
	if (uptr_bo_is_userptr(bo)) {
		uptr_notify_free(uptr_bo_notify(bo));
		/* Every command that used it was over before the last reference went. */
		WARN_ON_ONCE(bo->views);
		uptr_userptr_fini(&bo->userptr);
	} else if (bo->pages) {
		if (bo->sgt) {
			dma_unmap_sgtable(obj->dev->dev, bo->sgt, DMA_BIDIRECTIONAL,
					  DMA_ATTR_SKIP_CPU_SYNC);
			sg_free_table(bo->sgt);
			kfree(bo->sgt);
		}
		drm_gem_put_pages(obj, bo->pages, true, true);
	}
	/* Drops the fences of the reservation object, hence the jobs. */
	drm_gem_object_release(obj);
	uptr_bo_free_struct(bo);
}

/*
 * A handle of a device BO counts its size against the file's bound; the
 * handle's creation fails with -ENOMEM past it.
 */
static int uptr_device_bo_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct uptr_file *ufile = to_uptr_file(file);

	if (atomic64_add_return(obj->size, &ufile->device_bo_bytes) > uptr_max_file_bo_bytes()) {
		atomic64_sub(obj->size, &ufile->device_bo_bytes);
		uptr_dbg(IOCTL, "the file would hold more than %llu bytes of device BOs\n",
			 uptr_max_file_bo_bytes());
		return -ENOMEM;
	}
	return 0;
}

static void uptr_device_bo_close(struct drm_gem_object *obj, struct drm_file *file)
{
	atomic64_sub(obj->size, &to_uptr_file(file)->device_bo_bytes);
}

/*
 * A CPU mapping of a device BO (on the DRM fd or its dma-buf) or of an
 * exported pinned userptr (on its dma-buf): pages the BO holds for its
 * life, which the mapping keeps by its GEM reference.
 */
static vm_fault_t uptr_device_bo_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct uptr_bo *bo = to_uptr_bo(vma->vm_private_data);
	/*
	 * The offset counts from the BO's fake offset, also after a split;
	 * the DRM core adds it to a dma-buf's mapping too.
	 */
	pgoff_t pgoff = vmf->pgoff - drm_vma_node_start(&bo->base.vma_node);

	if (pgoff >= bo->base.size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address, page_to_pfn(uptr_bo_pages(bo)[pgoff]));
}

static const struct vm_operations_struct uptr_device_bo_vm_ops = {
	.fault = uptr_device_bo_fault,
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static int uptr_device_bo_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	/* A private mapping would copy device pages on write: refuse it. */
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	uptr_vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);
	return 0;
}

static const struct drm_gem_object_funcs uptr_device_bo_funcs = {
	.free = uptr_bo_free,
	.open = uptr_device_bo_open,
	.close = uptr_device_bo_close,
	.export = uptr_prime_export,
	.get_sg_table = uptr_prime_get_sg_table,
	.vmap = uptr_prime_vmap,
	.vunmap = uptr_prime_vunmap,
	.mmap = uptr_device_bo_mmap,
	.vm_ops = &uptr_device_bo_vm_ops,
};

/* The handle the BO was created with goes: stop the stale-range signals. */
static void uptr_bo_userptr_close(struct drm_gem_object *obj, struct drm_file *file)
{
	struct uptr_notify *notify = uptr_bo_notify(to_uptr_bo(obj));

	if (notify)
		uptr_notify_detach(notify, file);
}

/*
 * The sg table, vmap and mmap serve the dma-buf of a pinned userptr, the
 * only kind uptr_prime_export() lets out; the DRM fd has no mmap offset
 * for a userptr.
 */
const struct drm_gem_object_funcs uptr_bo_userptr_funcs = {
	.free = uptr_bo_free,
	.close = uptr_bo_userptr_close,
	.export = uptr_prime_export,
	.get_sg_table = uptr_prime_get_sg_table,
	.vmap = uptr_prime_vmap,
	.vunmap = uptr_prime_vunmap,
	.mmap = uptr_device_bo_mmap,
	.vm_ops = &uptr_device_bo_vm_ops,
};

static bool uptr_vma_is_device(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &uptr_device_bo_vm_ops;
}

/**
 * uptr_bo_view_attach() - keep a command's view of a coherent userptr
 * @bo: a coherent userptr BO, referenced by the caller
 * @view: the command's view, which knows no page yet
 *
 * Until uptr_bo_view_detach(), @view may keep its hint across holds of
 * the userptr's lock: uptr_bo_userptr_invalidate() zaps it before the
 * core drops a page of the chunk it points to.
 */
void uptr_bo_view_attach(struct uptr_bo *bo, struct uptr_bo_view *view)
{
	uptr_userptr_hint_init(&view->hint);
	uptr_userptr_notifier_lock(&bo->userptr);
	view->next = bo->views;
	bo->views = view;
	uptr_userptr_notifier_unlock(&bo->userptr);
}

/**
 * uptr_bo_view_detach() - the command is done with its view
 * @bo: the BO of uptr_bo_view_attach()
 * @view: the view attached to it
 */
void uptr_bo_view_detach(struct uptr_bo *bo, struct uptr_bo_view *view)
{
	struct uptr_bo_view **p;

	uptr_userptr_notifier_lock(&bo->userptr);
	/* As many views as commands running on the BO at once: a few. */
	for (p = &bo->views; *p && *p != view; p = &(*p)->next)
		;
	if (!WARN_ON_ONCE(!*p))
		*p = view->next;
	uptr_userptr_notifier_unlock(&bo->userptr);
}

/*
 * The engine's page tables, so to speak: the views of the commands
 * running on the BO forget any chunk that holds pages the core is about
 * to drop.  Called by the core with the userptr's lock held, from the
 * notifier among others: a walk of a few views, nothing else.
 */
static void uptr_bo_userptr_invalidate(struct uptr_userptr *up, unsigned long first,
				       unsigned long count)
{
	struct uptr_bo *bo = container_of(up, struct uptr_bo, userptr);
	struct uptr_bo_view *view;

	lockdep_assert_held(&up->lock);

	for (view = bo->views; view; view = view->next)
		uptr_userptr_hint_zap(&view->hint, first, count);
}

const struct uptr_userptr_ops uptr_bo_userptr_ops = {
	.vma_is_device = uptr_vma_is_device,
	.invalidate = uptr_bo_userptr_invalidate,
};

/**
 * uptr_bo_lookup() - find a BO by handle
 * @file: the DRM file the handle belongs to
 * @handle: GEM handle
 *
 * Return: the BO with a reference the caller drops with
 * drm_gem_object_put(), or NULL if there is none.
 */
struct uptr_bo *uptr_bo_lookup(struct drm_file *file, u32 handle)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);

	return obj ? to_uptr_bo(obj) : NULL;
}

/* Publishes a fully constructed BO under a new handle; drops our reference. */
static int uptr_bo_publish(struct drm_file *file, struct uptr_bo *bo, u32 *handle)
{
	int ret;

	atomic_inc(&uptr_live_objects);
	ret = drm_gem_handle_create(file, &bo->base, handle);
	drm_gem_object_put(&bo->base);
	return ret;
}

int uptr_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_bo_create *args = data;
	struct uptr_bo *bo;
	int ret;

	if (args->flags || args->pad) {
		uptr_dbg(IOCTL, "non-zero flags %#x or pad\n", args->flags);
		return -EINVAL;
	}
	if (!args->size || !PAGE_ALIGNED(args->size)) {
		uptr_dbg(IOCTL, "size %llu zero or not page aligned\n", args->size);
		return -EINVAL;
	}
	if (args->size > UPTR_MAX_BO_SIZE) {
		uptr_dbg(IOCTL, "size %llu above %llu\n", args->size, UPTR_MAX_BO_SIZE);
		return -E2BIG;
	}

	/* Checked again, exactly, when the handle is created. */
	if (atomic64_read(&to_uptr_file(file)->device_bo_bytes) + args->size >
	    uptr_max_file_bo_bytes()) {
		uptr_dbg(IOCTL, "the file would hold more than %llu bytes of device BOs\n",
			 uptr_max_file_bo_bytes());
		return -ENOMEM;
	}

	bo = uptr_bo_alloc();
	if (!bo)
		return -ENOMEM;
	bo->base.funcs = &uptr_device_bo_funcs;

	ret = drm_gem_object_init(dev, &bo->base, args->size);
	if (ret)
		goto err_free;

	ret = uptr_device_bo_get_pages(bo);
	if (ret)
		goto err_release;

	bo->sgt = kzalloc(sizeof(*bo->sgt), GFP_KERNEL_ACCOUNT);
	if (!bo->sgt) {
		ret = -ENOMEM;
		goto err_put_pages;
	}
	ret = sg_alloc_table_from_pages_segment(bo->sgt, bo->pages, args->size >> PAGE_SHIFT, 0,
						args->size, uptr_max_segment(dev->dev),
						GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
						__GFP_NOWARN);
	if (ret)
		goto err_free_sgt;

	/* The engine is the CPU: no bounce buffer or cache sync is wanted. */
	ret = dma_map_sgtable(dev->dev, bo->sgt, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_free_table;

	uptr_dbg(BO, "device bo %p size %llu\n", bo, args->size);
	return uptr_bo_publish(file, bo, &args->handle);

err_free_table:
	sg_free_table(bo->sgt);
err_free_sgt:
	kfree(bo->sgt);
err_put_pages:
	uptr_device_bo_put_pages(bo, args->size >> PAGE_SHIFT);
err_release:
	drm_gem_object_release(&bo->base);
err_free:
	kmem_cache_free(uptr_bo_cache, bo);
	if (ret == -ENOMEM)
		uptr_dbg(IOCTL, "out of memory for a device BO of %llu bytes\n", args->size);
	return ret;
}

int uptr_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_userptr *args = data;
	struct uptr_notify *notify = NULL;
	unsigned int core_flags = 0;
	struct uptr_bo *bo;
	int ret;

	/* The uAPI flags are kept above the core's (uptr_bo_uapi_flags()). */
	BUILD_BUG_ON(UPTR_USERPTR_UAPI_FLAGS >> (32 - UPTR_USERPTR_DRIVER_SHIFT));
	ret = uptr_user_extensions(args->extensions);
	if (ret)
		return ret;
	if (args->flags & ~UPTR_USERPTR_UAPI_FLAGS) {
		uptr_dbg(IOCTL, "unknown flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (args->pad) {
		uptr_dbg(IOCTL, "non-zero pad\n");
		return -EINVAL;
	}
	if ((args->flags & DRM_UPTR_USERPTR_NOTIFY) &&
	    !(args->flags & DRM_UPTR_USERPTR_PINNED)) {
		uptr_dbg(IOCTL, "NOTIFY without PINNED\n");
		return -EINVAL;
	}
	ret = uptr_userptr_check_range(args->user_ptr, args->user_size);
	if (ret) {
		uptr_dbg(IOCTL, "range %#llx+%#llx refused: %d\n",
			 args->user_ptr, args->user_size, ret);
		return ret;
	}
	if (args->flags & DRM_UPTR_USERPTR_READ_ONLY)
		core_flags |= UPTR_USERPTR_READ_ONLY;
	if (args->flags & DRM_UPTR_USERPTR_PINNED)
		core_flags |= UPTR_USERPTR_PINNED;

	if (args->flags & DRM_UPTR_USERPTR_PROBE) {
		ret = uptr_userptr_probe(args->user_ptr, args->user_size,
					 core_flags, &uptr_bo_userptr_ops);
		if (ret) {
			uptr_dbg(IOCTL, "probe of %#llx+%#llx failed: %d\n",
				 args->user_ptr, args->user_size, ret);
			return ret;
		}
	}

	bo = uptr_bo_alloc();
	if (!bo)
		return -ENOMEM;
	bo->base.funcs = &uptr_bo_userptr_funcs;
	args->gen_slot = 0;
	args->generation = 0;

	/* Before the pin: no change after it may go unseen. */
	if (args->flags & DRM_UPTR_USERPTR_NOTIFY) {
		notify = uptr_notify_create(file, args->user_ptr, args->user_size,
					    &args->gen_slot, &args->generation);
		if (IS_ERR(notify)) {
			kmem_cache_free(uptr_bo_cache, bo);
			return PTR_ERR(notify);
		}
	}

	ret = uptr_userptr_init(&bo->userptr, &to_uptr_device(dev)->userptr_mgr,
				args->user_ptr, args->user_size,
				core_flags | args->flags << UPTR_USERPTR_DRIVER_SHIFT);
	if (ret) {
		uptr_dbg(IOCTL, "userptr %#llx+%#llx: %d\n",
			 args->user_ptr, args->user_size, ret);
		uptr_notify_free(notify);
		kmem_cache_free(uptr_bo_cache, bo);
		return ret;
	}
	if (notify) {
		bo->userptr.priv = notify;
		uptr_notify_arm(notify, bo->userptr.pages);
	}
	drm_gem_private_object_init(dev, &bo->base, args->user_size);

	uptr_dbg(BO, "userptr bo %p %#llx+%#llx flags %#x\n", bo,
		 args->user_ptr, args->user_size, args->flags);
	atomic_inc(&uptr_live_objects);
	ret = drm_gem_handle_create(file, &bo->base, &args->handle);
	if (!ret && notify)
		uptr_notify_attach(notify, args->handle);
	drm_gem_object_put(&bo->base);
	return ret;
}

int uptr_bo_mmap_offset_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_bo_mmap_offset *args = data;
	struct uptr_bo *bo;
	int ret;

	if (args->pad) {
		uptr_dbg(IOCTL, "non-zero pad\n");
		return -EINVAL;
	}
	bo = uptr_bo_lookup(file, args->handle);
	if (!bo)
		return -ENOENT;

	if (uptr_bo_is_userptr(bo) || uptr_bo_is_import(bo)) {
		uptr_dbg(IOCTL, "userptr and imported BOs have no mmap offset\n");
		ret = -ENODEV;
		goto out;
	}
	ret = drm_gem_create_mmap_offset(&bo->base);
	if (!ret)
		args->offset = drm_vma_node_offset_addr(&bo->base.vma_node);
out:
	drm_gem_object_put(&bo->base);
	return ret;
}

int uptr_bo_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_bo_wait *args = data;
	struct uptr_bo *bo;
	long timeout;
	int ret = 0;

	if (args->flags || args->deadline_ns < 0) {
		uptr_dbg(IOCTL, "flags %#x or deadline %lld\n", args->flags, args->deadline_ns);
		return -EINVAL;
	}
	/*
	 * Not drm_gem_dma_resv_wait(), which reports an unknown handle as
	 * -EINVAL; the uAPI says -ENOENT, as every other ioctl of uptr.
	 */
	bo = uptr_bo_lookup(file, args->handle);
	if (!bo)
		return -ENOENT;

	/* An absolute deadline: a wait restarted after a signal ends on time. */
	timeout = drm_timeout_abs_to_jiffies(args->deadline_ns);
	/* USAGE_READ covers every job, those writing the BO and those reading it. */
	if (!timeout) {
		if (!dma_resv_test_signaled(bo->base.resv, DMA_RESV_USAGE_READ))
			ret = -ETIME;
	} else {
		timeout = dma_resv_wait_timeout(bo->base.resv, DMA_RESV_USAGE_READ,
						true, timeout);
		if (!timeout)
			ret = -ETIME;
		else if (timeout < 0)
			ret = timeout;
	}
	drm_gem_object_put(&bo->base);
	return ret;
}

int uptr_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_bo_info *args = data;
	u32 handle = args->handle;
	struct uptr_bo *bo;

	if (args->pad) {
		uptr_dbg(IOCTL, "non-zero pad\n");
		return -EINVAL;
	}
	bo = uptr_bo_lookup(file, handle);
	if (!bo)
		return -ENOENT;

	/* Every output member is written: nothing the caller left leaks back. */
	memset(args, 0, sizeof(*args));
	args->handle = handle;
	args->size = bo->base.size;
	args->jobs = atomic64_read(&bo->jobs);
	if (uptr_bo_is_userptr(bo)) {
		struct uptr_userptr_stats st;

		uptr_userptr_stats(&bo->userptr, &st);
		args->kind = DRM_UPTR_BO_KIND_USERPTR;
		args->flags = uptr_bo_uapi_flags(bo);
		args->user_ptr = uptr_userptr_start(&bo->userptr);
		args->pages_pinned = st.pinned;
		args->pages_resident = st.resident;
		args->sg_segments = st.segments;
		args->invalidations = st.invalidations;
		args->pages_faulted = st.faulted;
		if (uptr_bo_notify(bo))
			args->stale = uptr_notify_stale(uptr_bo_notify(bo));
	} else if (uptr_bo_is_import(bo)) {
		args->kind = DRM_UPTR_BO_KIND_IMPORT;
	} else {
		args->kind = DRM_UPTR_BO_KIND_DEVICE;
		args->pages_resident = bo->base.size >> PAGE_SHIFT;
		args->sg_segments = bo->sgt->orig_nents;
	}
	drm_gem_object_put(&bo->base);
	return 0;
}
