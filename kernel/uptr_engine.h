/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr software engines: what they execute, and the queues that feed them.
 */
#ifndef _UPTR_ENGINE_H_
#define _UPTR_ENGINE_H_

#include <linux/atomic.h>
#include <linux/sizes.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

struct device;
struct uptr_bo;
struct uptr_file;

/* Number of engines the device exposes. */
#define UPTR_ENGINE_COUNT	2

/*
 * An op of the driver's own, beside enum drm_uptr_op, never taken from
 * user space: make the pages of [@dst_offset, @dst_offset + @size) of
 * @dst, a coherent userptr, valid (uptr_userptr_prefetch() with the
 * UPTR_PREFETCH_* flags in @value).  It touches no data.
 */
#define UPTR_ENGINE_OP_PREFETCH		0x80000000u

/*
 * Pages a synchronous prefetch makes valid between two looks at pending
 * signals: 2 MiB.
 */
#define UPTR_PREFETCH_STEP_PAGES	(SZ_2M >> PAGE_SHIFT)
/*
 * Pages a prefetch job makes valid between two checks of its limits (time
 * limit, cancel): one fault batch of the userptr core, so that it stops
 * as soon after either as a job that reads or writes.
 */
#define UPTR_PREFETCH_JOB_STEP_PAGES	64

/**
 * struct uptr_engine_cmd - one validated command, as an engine sees it
 *
 * @dst and @src point to BOs that the caller holds referenced for as
 * long as the engine runs the command.
 */
struct uptr_engine_cmd {
	/** @op: enum drm_uptr_op */
	u32 op;
	/** @dst: the BO written */
	struct uptr_bo *dst;
	/** @src: the BO read, or NULL */
	struct uptr_bo *src;
	/** @dst_offset: bytes into @dst */
	u64 dst_offset;
	/** @src_offset: bytes into @src */
	u64 src_offset;
	/** @size: bytes covered (read from @src, or written) */
	u64 size;
	/** @dst_len: bytes written into @dst */
	u64 dst_len;
	/** @value: FILL pattern or STORE_DWORD value */
	u32 value;
};

/**
 * struct uptr_engine_limits - when an engine must stop a job early
 *
 * The engine checks both between any two pages it touches.
 */
struct uptr_engine_limits {
	/** @deadline: jiffies after which the job ends with -ETIMEDOUT */
	unsigned long deadline;
	/** @cancel: non-zero once the job's owner went away: -ECANCELED */
	const atomic_t *cancel;
	/**
	 * @killable: the job runs on its submitter's thread: a fatal signal
	 * ends it with -EINTR
	 */
	bool killable;
};

/**
 * struct uptr_engine - one engine of the device and the scheduler feeding it
 *
 * Jobs reach an engine through its DRM scheduler, which resolves their
 * dependencies and starts them.  Each open file has its own lane on each
 * engine: an ordered workqueue that executes the file's jobs one at a
 * time, in order, at normal priority, never in the scheduler's thread.
 * A synchronous job with nothing ahead of it skips the scheduler and runs
 * on its submitter's thread, the lane claimed meanwhile (uptr_job.c).
 * The lanes of different files run at the same time, so that one
 * process's long job never holds up another's.
 */
struct uptr_engine {
	/** @sched: the scheduler feeding the engine */
	struct drm_gpu_scheduler sched;
	/** @fence_lock: lock of the fences of every lane of the engine */
	spinlock_t fence_lock;
	/** @busy_ns: total time spent executing jobs */
	atomic64_t busy_ns;
	/** @index: the engine's number */
	unsigned int index;
	/** @name: "engine<index>", the name of its fences' timelines */
	char name[16];
};

/**
 * struct uptr_lane - one file's jobs on one engine, executed in order
 *
 * A lane is busy while its work item runs on the device's exec_wq: the
 * work executes the lane's jobs one after the other, then goes idle.
 * Busy, the lane holds a reference on its file.  A submitter that runs
 * its job on its own thread makes the lane busy for that time, without
 * a reference (it is in an ioctl of the file); jobs the scheduler starts
 * meanwhile wait in @jobs, and the submitter queues @work for them when
 * it is done.
 */
struct uptr_lane {
	/**
	 * @lock: protects @jobs, @busy and @last; a spinlock held for a list
	 * step or a fence check, taken by the scheduler's run_job, the
	 * lane's work and, under the file's submit_lock, by a submitter
	 * claiming the lane; file close drops @last without it, once the
	 * scheduler entity is destroyed and @work flushed
	 */
	spinlock_t lock;
	/** @jobs: jobs started by the scheduler, not executed yet */
	struct list_head jobs;
	/** @busy: @work is queued or running, or a submitter claimed the lane */
	bool busy;
	/**
	 * @last: the public fence of the last job the scheduler put in
	 * @jobs, referenced (dropped when the file is closed), or NULL: the
	 * scheduler signals it shortly after the job's engine fence
	 */
	struct dma_fence *last;
	/** @work: executes the jobs */
	struct work_struct work;
	/** @ufile: the file */
	struct uptr_file *ufile;
};

int uptr_engine_init(struct uptr_engine *engine, unsigned int index,
		     const struct drm_sched_backend_ops *ops, struct device *dev);
void uptr_engine_fini(struct uptr_engine *engine);

int uptr_engine_run(const struct uptr_engine_cmd *cmds, unsigned int nr_cmds,
		    const struct uptr_engine_limits *limits);

#endif /* _UPTR_ENGINE_H_ */
