/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr jobs: validated commands, the BOs they hold, their fences, and the
 * scheduling that takes them to an engine.
 */
#ifndef _UPTR_JOB_H_
#define _UPTR_JOB_H_

#include <linux/dma-fence.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

#include "uptr_engine.h"

/* Most commands one job may carry (DRM_UPTR_PARAM_MAX_COMMANDS). */
#define UPTR_MAX_COMMANDS	256
/*
 * Most bytes the commands of one job may cover in all
 * (DRM_UPTR_PARAM_MAX_JOB_BYTES): it bounds the work of one job.
 */
#define UPTR_MAX_JOB_BYTES	BIT_ULL(30)

struct drm_device;
struct drm_file;
struct mem_cgroup;
struct drm_gem_object;
struct drm_syncobj;
struct uptr_device;
struct uptr_file;

/**
 * struct uptr_hw_fence - the engine's fence of a job
 *
 * Apart from the job, so that a fence kept in a reservation object long
 * after the job holds a few bytes, not the job.  Each holds a reference
 * on the module, so that no fence of uptr, its timeline names included,
 * outlives the module's code.
 */
struct uptr_hw_fence {
	/** @base: the fence */
	struct dma_fence base;
	/** @engine: the engine, for the timeline's name */
	struct uptr_engine *engine;
};

/**
 * struct uptr_job - a job: commands, the BOs they use, its fences
 *
 * The scheduler's finished fence (@base.s_fence->finished) is the job's
 * fence for everyone else: it goes into the BOs' reservation objects and
 * the out-syncobj.  @hw is the engine's fence, initialised when the job
 * starts and signalled when the engine is done with it; the scheduler
 * signals the finished fence from it (and holds it until the finished
 * fence is released).  The BO references, the commands and the
 * out-syncobj are dropped when the engine is done with the job, before
 * any fence signals, so that a waiter finds the BOs free of it; the
 * references on imported BOs, the struct itself and the file reference
 * when the scheduler frees the job.
 */
struct uptr_job {
	/** @base: the scheduler's job */
	struct drm_sched_job base;
	/** @hw: the engine's fence, allocated at submit */
	struct uptr_hw_fence *hw;
	/** @link: in its lane's @jobs */
	struct list_head link;
	/** @engine: the engine the job runs on */
	struct uptr_engine *engine;
	/** @ufile: the file that submitted the job, referenced */
	struct uptr_file *ufile;
	/**
	 * @memcg: the submitter's memory cgroup, referenced: what the job
	 * allocates on its engine thread (page cache chunks, page tables,
	 * file pages it faults in) is charged there
	 */
	struct mem_cgroup *memcg;
	/** @cmds: @nr_cmds commands */
	struct uptr_engine_cmd *cmds;
	/** @nr_cmds: number of @cmds */
	unsigned int nr_cmds;
	/** @bos: the distinct BOs of the job, referenced */
	struct drm_gem_object **bos;
	/** @bo_writes: whether the job writes @bos[i] */
	bool *bo_writes;
	/** @nr_bos: number of @bos */
	unsigned int nr_bos;
	/** @out_syncobj: the syncobj that receives the fence, referenced, or NULL */
	struct drm_syncobj *out_syncobj;
	/**
	 * @no_implicit: a prefetch, which changes no data: it takes no part
	 * in implicit synchronisation (neither waits for the fences of its
	 * BOs' reservation objects nor adds its own there)
	 */
	bool no_implicit;
};

unsigned int uptr_job_timeout(void);
int uptr_jobs_init(struct uptr_device *udev);
void uptr_jobs_fini(struct uptr_device *udev);
int uptr_jobs_file_open(struct uptr_file *ufile);
void uptr_jobs_file_close(struct uptr_file *ufile);

int uptr_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_prefetch_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_job_prefetch(struct drm_file *file, struct drm_gem_object *obj, u32 engine,
		      u64 offset, u64 size, unsigned int flags,
		      struct drm_syncobj *out_syncobj);

#endif /* _UPTR_JOB_H_ */
