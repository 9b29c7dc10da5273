/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr: the DRM device, its debug output and its object accounting.
 */
#ifndef _UPTR_DRV_H_
#define _UPTR_DRV_H_

#include <linux/atomic.h>
#include <linux/printk.h>
#include <linux/spinlock.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>

#include "uptr_userptr.h"

#define UPTR_DRIVER_NAME	"uptr"

/* Largest device-local BO. */
#define UPTR_MAX_BO_SIZE	BIT_ULL(30)

/* Categories of uptr_dbg(), bits of the "debug" module parameter. */
#define UPTR_DBG_IOCTL		BIT(0)	/* why an ioctl refused its input */
#define UPTR_DBG_BO		BIT(1)	/* buffer object life */
#define UPTR_DBG_JOB		BIT(2)	/* jobs and the engine */

extern unsigned int uptr_debug;

#define uptr_dbg(cat, fmt, ...)							\
	do {									\
		if (unlikely(uptr_debug & UPTR_DBG_##cat))			\
			pr_info("uptr: %s: " fmt, __func__, ##__VA_ARGS__);	\
	} while (0)

/**
 * struct uptr_device - the uptr DRM device
 */
struct uptr_device {
	/** @drm: the DRM device */
	struct drm_device drm;
	/** @fence_lock: lock of every job fence of the engine */
	spinlock_t fence_lock;
	/** @userptr_mgr: what the userptrs of the device share */
	struct uptr_userptr_mgr userptr_mgr;
};

static inline struct uptr_device *to_uptr_device(struct drm_device *drm)
{
	return container_of(drm, struct uptr_device, drm);
}

/**
 * struct uptr_file - what the driver keeps per open file (drm_file.driver_priv)
 *
 * Allocated at open, freed at postclose, after DRM has released the
 * file's GEM handles and syncobjs.
 */
struct uptr_file {
	/** @udev: the device */
	struct uptr_device *udev;
	/**
	 * @device_bo_bytes: bytes of device BOs the file's handles hold,
	 * at most the max_file_bo_mib module parameter (uptr_gem.c)
	 */
	atomic64_t device_bo_bytes;
};

static inline struct uptr_file *to_uptr_file(struct drm_file *file)
{
	return file->driver_priv;
}

/*
 * Objects alive module-wide (buffer objects and jobs): the module
 * reports them at unload, where the count must be 0.
 */
extern atomic_t uptr_live_objects;

#endif /* _UPTR_DRV_H_ */
