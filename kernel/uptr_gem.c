// SPDX-License-Identifier: GPL-2.0
/*
 * uptr buffer objects.
 *
 * Two kinds share &struct uptr_bo: device-local BOs, whose pages come
 * from a shmem file and stay allocated for the BO's life, and userptr
 * BOs, which wrap a range of the creating process through the userptr
 * core.  Either way the engine sees a BO only as an sg table.
 */

#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
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

#define UPTR_USERPTR_UAPI_FLAGS	(DRM_UPTR_USERPTR_READ_ONLY |		\
				 DRM_UPTR_USERPTR_PINNED |		\
				 DRM_UPTR_USERPTR_PROBE |		\
				 DRM_UPTR_USERPTR_NOTIFY)

static const struct vm_operations_struct uptr_device_bo_vm_ops;

static void uptr_bo_free(struct drm_gem_object *obj)
{
	struct uptr_bo *bo = to_uptr_bo(obj);

	uptr_dbg(BO, "bo %p kind %d size %zu\n", bo, bo->kind, obj->size);
	if (uptr_bo_is_userptr(bo)) {
		uptr_notify_free(bo->notify);
		uptr_userptr_fini(&bo->userptr);
	} else {
		dma_unmap_sgtable(obj->dev->dev, bo->sgt, DMA_BIDIRECTIONAL,
				  DMA_ATTR_SKIP_CPU_SYNC);
		sg_free_table(bo->sgt);
		kfree(bo->sgt);
		drm_gem_put_pages(obj, bo->pages, true, true);
	}
	/* Drops the fences of the reservation object, hence the jobs. */
	drm_gem_object_release(obj);
	kfree(bo);
	atomic_dec(&uptr_live_objects);
}

static vm_fault_t uptr_device_bo_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct uptr_bo *bo = to_uptr_bo(vma->vm_private_data);
	/* The offset counts from the BO's fake offset, also after a split. */
	pgoff_t pgoff = vmf->pgoff - drm_vma_node_start(&bo->base.vma_node);

	if (pgoff >= bo->base.size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address, page_to_pfn(bo->pages[pgoff]));
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

/*
 * No BO is exported as a dma-buf yet: that needs jobs to honour the
 * fences other drivers add, and the job fences to outlive the module.
 */
static struct dma_buf *uptr_bo_export(struct drm_gem_object *obj, int flags)
{
	uptr_dbg(IOCTL, "BOs cannot be exported\n");
	return ERR_PTR(-EINVAL);
}

static const struct drm_gem_object_funcs uptr_device_bo_funcs = {
	.free = uptr_bo_free,
	.export = uptr_bo_export,
	.mmap = uptr_device_bo_mmap,
	.vm_ops = &uptr_device_bo_vm_ops,
};

/* The handle the BO was created with goes: stop the stale-range signals. */
static void uptr_userptr_bo_close(struct drm_gem_object *obj, struct drm_file *file)
{
	struct uptr_bo *bo = to_uptr_bo(obj);

	if (bo->notify)
		uptr_notify_detach(bo->notify, file);
}

static const struct drm_gem_object_funcs uptr_userptr_bo_funcs = {
	.free = uptr_bo_free,
	.close = uptr_userptr_bo_close,
	.export = uptr_bo_export,
};

static bool uptr_vma_is_device(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &uptr_device_bo_vm_ops;
}

const struct uptr_userptr_ops uptr_bo_userptr_ops = {
	.vma_is_device = uptr_vma_is_device,
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

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return -ENOMEM;
	bo->kind = UPTR_BO_DEVICE;
	bo->base.funcs = &uptr_device_bo_funcs;

	ret = drm_gem_object_init(dev, &bo->base, args->size);
	if (ret)
		goto err_free;

	bo->pages = drm_gem_get_pages(&bo->base);
	if (IS_ERR(bo->pages)) {
		ret = PTR_ERR(bo->pages);
		goto err_release;
	}

	bo->sgt = drm_prime_pages_to_sg(dev, bo->pages, args->size >> PAGE_SHIFT);
	if (IS_ERR(bo->sgt)) {
		ret = PTR_ERR(bo->sgt);
		goto err_put_pages;
	}

	/* The engine is the CPU: no bounce buffer or cache sync is wanted. */
	ret = dma_map_sgtable(dev->dev, bo->sgt, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_free_sgt;

	uptr_dbg(BO, "device bo %p size %llu\n", bo, args->size);
	return uptr_bo_publish(file, bo, &args->handle);

err_free_sgt:
	sg_free_table(bo->sgt);
	kfree(bo->sgt);
err_put_pages:
	drm_gem_put_pages(&bo->base, bo->pages, false, false);
err_release:
	drm_gem_object_release(&bo->base);
err_free:
	kfree(bo);
	return ret;
}

int uptr_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_userptr *args = data;
	unsigned int core_flags = 0;
	struct uptr_bo *bo;
	int ret;

	if (args->flags & ~UPTR_USERPTR_UAPI_FLAGS) {
		uptr_dbg(IOCTL, "unknown flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (args->extensions || args->pad) {
		uptr_dbg(IOCTL, "non-zero extensions or pad\n");
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

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return -ENOMEM;
	bo->kind = UPTR_BO_USERPTR;
	bo->uapi_flags = args->flags;
	bo->base.funcs = &uptr_userptr_bo_funcs;
	args->gen_slot = 0;
	args->generation = 0;

	/* Before the pin: no change after it may go unseen. */
	if (args->flags & DRM_UPTR_USERPTR_NOTIFY) {
		bo->notify = uptr_notify_create(file, args->user_ptr, args->user_size,
						&args->gen_slot, &args->generation);
		if (IS_ERR(bo->notify)) {
			ret = PTR_ERR(bo->notify);
			kfree(bo);
			return ret;
		}
	}

	ret = uptr_userptr_init(&bo->userptr, &to_uptr_device(dev)->userptr_mgr,
				args->user_ptr, args->user_size, core_flags);
	if (ret) {
		uptr_dbg(IOCTL, "userptr %#llx+%#llx: %d\n",
			 args->user_ptr, args->user_size, ret);
		uptr_notify_free(bo->notify);
		kfree(bo);
		return ret;
	}
	if (bo->notify)
		uptr_notify_arm(bo->notify, bo->userptr.pages);
	drm_gem_private_object_init(dev, &bo->base, args->user_size);

	uptr_dbg(BO, "userptr bo %p %#llx+%#llx flags %#x\n", bo,
		 args->user_ptr, args->user_size, args->flags);
	atomic_inc(&uptr_live_objects);
	ret = drm_gem_handle_create(file, &bo->base, &args->handle);
	if (!ret && bo->notify)
		uptr_notify_attach(bo->notify, args->handle);
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

	if (uptr_bo_is_userptr(bo)) {
		uptr_dbg(IOCTL, "userptr BOs have no mmap offset\n");
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
		args->flags = bo->uapi_flags;
		args->user_ptr = bo->userptr.start;
		args->pages_pinned = st.pinned;
		args->pages_resident = st.resident;
		args->sg_segments = st.segments;
		args->invalidations = st.invalidations;
		args->pages_faulted = st.faulted;
		if (bo->notify)
			args->stale = uptr_notify_stale(bo->notify);
	} else {
		args->kind = DRM_UPTR_BO_KIND_DEVICE;
		args->pages_resident = bo->base.size >> PAGE_SHIFT;
		args->sg_segments = bo->sgt->orig_nents;
	}
	drm_gem_object_put(&bo->base);
	return 0;
}
