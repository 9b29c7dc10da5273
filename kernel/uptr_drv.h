/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr: the DRM device, its debug output and its object accounting.
 */
#ifndef _UPTR_DRV_H_
#define _UPTR_DRV_H_

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/printk.h>
#include <linux/spinlock.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>

#include "uptr_engine.h"
#include "uptr_notify.h"
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
	/** @engines: the engines that execute jobs */
	struct uptr_engine engines[UPTR_ENGINE_COUNT];
	/** @exec_wq: where the files' lanes run (unbound, one work per busy lane) */
	struct workqueue_struct *exec_wq;
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
 * Allocated at open.  At postclose, after DRM has released the file's GEM
 * handles and syncobjs, its jobs are cancelled and its queues torn down;
 * the struct itself lives on until the last of its jobs is freed.
 */
struct uptr_file {
	/** @udev: the device */
	struct uptr_device *udev;
	/** @ref: one for the open file, one per job */
	struct kref ref;

	/* Jobs (uptr_job.c). */
	/** @entities: the file's queue on each engine */
	struct drm_sched_entity entities[UPTR_ENGINE_COUNT];
	/** @lanes: where each engine executes the file's jobs, in order */
	struct uptr_lane lanes[UPTR_ENGINE_COUNT];
	/** @fence_context: first of the lanes' fence timelines, one per engine */
	u64 fence_context;
	/** @seqno: last seqno of each lane (written by the lane's owner: uptr_job_init_hw()) */
	u64 seqno[UPTR_ENGINE_COUNT];
	/** @submit_lock: orders arming and queueing of the file's jobs */
	struct mutex submit_lock;
	/** @queued: jobs queued that have not reached their engine */
	atomic_t queued;
	/** @queue_wait: woken when @queued drops to 0 */
	wait_queue_head_t queue_wait;
	/** @cancel: set at close: the file's jobs end with -ECANCELED */
	atomic_t cancel;
	/** @busy_ns: time each engine spent on the file's jobs */
	atomic64_t busy_ns[UPTR_ENGINE_COUNT];

	/* Usage statistics (uptr_stats.c) */

	/**
	 * @client_id: what fdinfo's drm-client-id and the debugfs listing
	 * call the file: unique among open files, set at open
	 */
	u64 client_id;

	/* Stale-range signals of pinned userptrs (uptr_notify.c). */
	/** @notify: the generation page and the event counters */
	struct uptr_notify_file notify;

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

static inline struct uptr_file *uptr_file_get(struct uptr_file *ufile)
{
	kref_get(&ufile->ref);
	return ufile;
}

void uptr_file_put(struct uptr_file *ufile);

int uptr_user_extensions(u64 extensions);

/*
 * Objects alive module-wide (buffer objects and jobs): the module
 * reports them at unload, where the count must be 0.
 */
extern atomic_t uptr_live_objects;

#endif /* _UPTR_DRV_H_ */
