// SPDX-License-Identifier: GPL-2.0
/*
 * uptr prefetch: DRM_IOCTL_UPTR_PREFETCH.
 *
 * A prefetch makes pages of a coherent userptr valid in the userptr
 * core's page cache ahead of the jobs that will use them, through the
 * very path a job's fault-in takes (uptr_userptr_prefetch()), so that
 * the pages stay valid until an invalidation or the shrinker drops them,
 * as a job's do.  Synchronously, in the caller's context, 2 MiB at a
 * time with a signal check between two steps; or as a job on an engine
 * (uptr_job_prefetch()), ordered with the file's jobs there, whose
 * fence the caller may get.
 */

#include <linux/overflow.h>
#include <linux/sched/signal.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_syncobj.h>
#include <drm/uptr_drm.h>

#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"
#include "uptr_job.h"
#include "uptr_userptr.h"

#define UPTR_PREFETCH_FLAGS \
	(DRM_UPTR_PREFETCH_WRITE | DRM_UPTR_PREFETCH_NO_FAULT | DRM_UPTR_PREFETCH_ASYNC)

/* What the ioctl's members say, with no BO: see struct drm_uptr_prefetch. */
static int uptr_prefetch_check_args(const struct drm_uptr_prefetch *args)
{
	int ret = uptr_user_extensions(args->extensions);

	if (ret)
		return ret;
	if (args->flags & ~UPTR_PREFETCH_FLAGS) {
		uptr_dbg(IOCTL, "unknown flags %#x\n", args->flags);
		return -EINVAL;
	}
	if ((args->flags & DRM_UPTR_PREFETCH_NO_FAULT) && (args->flags & DRM_UPTR_PREFETCH_WRITE)) {
		uptr_dbg(IOCTL, "NO_FAULT takes pages with the access the CPU has: no WRITE\n");
		return -EINVAL;
	}
	if (!args->size) {
		uptr_dbg(IOCTL, "size 0\n");
		return -EINVAL;
	}
	if (args->flags & DRM_UPTR_PREFETCH_ASYNC) {
		if (args->engine >= UPTR_ENGINE_COUNT) {
			uptr_dbg(IOCTL, "engine %u: there are %u\n", args->engine,
				 UPTR_ENGINE_COUNT);
			return -EINVAL;
		}
	} else if (args->engine || args->out_syncobj) {
		uptr_dbg(IOCTL, "engine or out_syncobj without ASYNC\n");
		return -EINVAL;
	}
	return 0;
}

/* What the BO must be for the prefetch; see struct drm_uptr_prefetch. */
static int uptr_prefetch_check_bo(const struct uptr_bo *bo,
				  const struct drm_uptr_prefetch *args)
{
	u64 end;

	if (!uptr_bo_is_coherent(bo)) {
		uptr_dbg(IOCTL, "handle %u is always resident: not a coherent userptr\n",
			 args->handle);
		return -EINVAL;
	}
	if (check_add_overflow(args->offset, args->size, &end) || end > bo->base.size) {
		uptr_dbg(IOCTL, "range %#llx+%#llx beyond the BO\n", args->offset, args->size);
		return -EINVAL;
	}
	if (uptr_userptr_mm(&bo->userptr) != current->mm) {
		uptr_dbg(IOCTL, "userptr used from another process\n");
		return -EFAULT;
	}
	if ((args->flags & DRM_UPTR_PREFETCH_WRITE) && uptr_bo_is_read_only(bo)) {
		uptr_dbg(IOCTL, "WRITE prefetch of a read-only userptr\n");
		return -EACCES;
	}
	return 0;
}

/*
 * The synchronous prefetch, UPTR_PREFETCH_STEP_PAGES at a time: a signal
 * stops it after a step that made pages valid, and a restarted call
 * finds them still valid (unless the CPU changed them).  A step over
 * pages valid already does not stop it: a restart could otherwise spend
 * each interval between two signals walking what an earlier call did,
 * and never get further.
 */
static int uptr_prefetch_sync(struct uptr_bo *bo, u64 offset, u64 size, unsigned int flags)
{
	struct uptr_userptr *up = &bo->userptr;
	unsigned long idx = offset >> PAGE_SHIFT;
	unsigned long end = (offset + size - 1) / PAGE_SIZE + 1;
	int ret = 0;

	uptr_bo_active_get(bo);
	while (idx < end) {
		unsigned long n = min_t(unsigned long, end - idx, UPTR_PREFETCH_STEP_PAGES);
		u64 faulted = uptr_userptr_faulted(up);

		ret = uptr_userptr_prefetch(up, idx, n, flags);
		if (ret)
			break;
		idx += n;
		if (idx < end && uptr_userptr_faulted(up) != faulted &&
		    signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
	}
	uptr_bo_active_put(bo);
	return ret;
}

int uptr_prefetch_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_prefetch *args = data;
	struct drm_syncobj *out = NULL;
	unsigned int flags = 0;
	struct uptr_bo *bo;
	int ret;

	ret = uptr_prefetch_check_args(args);
	if (ret)
		return ret;
	bo = uptr_bo_lookup(file, args->handle);
	if (!bo) {
		uptr_dbg(IOCTL, "unknown handle %u\n", args->handle);
		return -ENOENT;
	}
	ret = uptr_prefetch_check_bo(bo, args);
	if (ret)
		goto out_put;

	if (args->flags & DRM_UPTR_PREFETCH_WRITE)
		flags |= UPTR_PREFETCH_WRITE;
	if (args->flags & DRM_UPTR_PREFETCH_NO_FAULT)
		flags |= UPTR_PREFETCH_NO_FAULT;

	if (!(args->flags & DRM_UPTR_PREFETCH_ASYNC)) {
		ret = uptr_prefetch_sync(bo, args->offset, args->size, flags);
		if (ret)
			uptr_dbg(IOCTL, "prefetch of handle %u: %d\n", args->handle, ret);
		goto out_put;
	}

	if (args->out_syncobj) {
		out = drm_syncobj_find(file, args->out_syncobj);
		if (!out) {
			uptr_dbg(IOCTL, "unknown out-syncobj %u\n", args->out_syncobj);
			ret = -ENOENT;
			goto out_put;
		}
	}
	/* The BO and syncobj references go to the job. */
	return uptr_job_prefetch(file, &bo->base, args->engine, args->offset, args->size,
				 flags, out);

out_put:
	drm_gem_object_put(&bo->base);
	return ret;
}
