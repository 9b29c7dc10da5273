// SPDX-License-Identifier: GPL-2.0
/*
 * uptr jobs: the submit ioctl, and the way from there to an engine.
 *
 * A job goes through five steps.  Validation copies the commands in,
 * checks every one of them and takes a reference on every BO it names,
 * and on the syncobjs; a job refused there has had no effect.  Fault-in
 * makes valid the pages of coherent userptrs that the commands touch, and
 * only those; a job that touches a page it cannot reach is refused there,
 * having written nothing.  Publication locks the BOs' reservation
 * objects, makes the job depend on the fences found there (the earlier
 * writers of what it reads, every earlier user of what it writes) and on
 * the in-syncobjs' fences, arms the job's scheduler fence and adds it to
 * every BO (as a writer where a command writes the BO, as a reader
 * otherwise) and to the out-syncobj, then queues the job on the file's
 * entity of its engine; a job whose submitter waits for it, with nothing
 * ahead of it, is not queued but executed on the submitter's thread (see
 * uptr_job_push()).  The DRM scheduler starts the job once its
 * dependencies signalled, on the engine's workqueue: execution, which
 * takes replayable faults (a page the CPU took away meanwhile is faulted
 * in again) and stops at the first page it cannot reach any more, at the
 * job's deadline, or when its file is closed.  Then the engine's fence is
 * signalled, the scheduler signals the job's fence and frees the job,
 * dropping its references.
 *
 * The MMU notifier never waits for a job, so fences play no part in
 * keeping pages alive: each page access is made under the userptr's own
 * lock (see uptr_engine.c and DOC: Locking in uptr_userptr.c).  From
 * publication on, the fence is signalled on every path, within the job's
 * time limit once the job started.  A job can fault, and so allocate
 * memory, before its fence signals: anyone who waits for a uptr fence
 * under memory pressure waits at most for that limit.
 */

#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/mm_types.h>
#include <linux/memcontrol.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/ww_mutex.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_syncobj.h>
#include <drm/uptr_drm.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"
#include "uptr_job.h"
#include "uptr_trace.h"

static unsigned int uptr_job_timeout_ms = 10000;
module_param_named(job_timeout_ms, uptr_job_timeout_ms, uint, 0600);
MODULE_PARM_DESC(job_timeout_ms, "time a job may run on its engine, in ms (default 10000)");

/* The time limit of a job starting now, as DRM_UPTR_PARAM_JOB_TIMEOUT_MS reports it. */
unsigned int uptr_job_timeout(void)
{
	return max(READ_ONCE(uptr_job_timeout_ms), 1U);
}

static struct uptr_job *to_uptr_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct uptr_job, base);
}

static const char *uptr_fence_get_driver_name(struct dma_fence *fence)
{
	return UPTR_DRIVER_NAME;
}

static const char *uptr_fence_get_timeline_name(struct dma_fence *fence)
{
	return container_of(fence, struct uptr_hw_fence, base)->engine->name;
}

/*
 * The last reference to the engine's fence: the job is gone, and so are
 * the scheduler's fences that pointed at it.
 */
static void uptr_fence_release(struct dma_fence *fence)
{
	struct uptr_hw_fence *hw = container_of(fence, struct uptr_hw_fence, base);

	atomic_dec(&uptr_live_objects);
	kfree_rcu(hw, base.rcu);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops uptr_fence_ops = {
	.get_driver_name = uptr_fence_get_driver_name,
	.get_timeline_name = uptr_fence_get_timeline_name,
	.release = uptr_fence_release,
};

/*
 * Drops what the job holds besides its fences: BOs, commands, syncobj.
 * With @keep_imports, the BOs imported from other drivers' dma-bufs stay
 * referenced (and the BO array with them): the engine calls this before
 * the job's fence signals, and freeing an imported BO detaches it from
 * its dma-buf under the reservation lock, whose holders may wait for
 * that very fence.  The scheduler's free_job, after the fence, drops
 * them with the rest.
 */
static void uptr_job_release(struct uptr_job *job, bool keep_imports)
{
	unsigned int i;

	for (i = 0; i < job->nr_bos; i++) {
		struct drm_gem_object *obj = job->bos[i];

		if (!obj || (keep_imports && uptr_bo_is_import(to_uptr_bo(obj))))
			continue;
		uptr_bo_active_put(to_uptr_bo(obj));
		drm_gem_object_put(obj);
		job->bos[i] = NULL;
	}
	kvfree(job->cmds);
	job->cmds = NULL;
	if (!keep_imports) {
		kvfree(job->bos);
		kvfree(job->bo_writes);
		job->bos = NULL;
		job->bo_writes = NULL;
		job->nr_bos = 0;
	}
	if (job->out_syncobj)
		drm_syncobj_put(job->out_syncobj);
	job->out_syncobj = NULL;
	mem_cgroup_put(job->memcg);
	job->memcg = NULL;
}

/*
 * Frees a job.  A job that started handed its module reference to its
 * engine fence, and lets go of its own reference on that; one that never
 * did gives the module back.
 */
static void uptr_job_free_struct(struct uptr_job *job)
{
	struct uptr_file *ufile = job->ufile;
	struct uptr_hw_fence *hw = job->hw;

	uptr_job_release(job, false);
	kfree(job);
	atomic_dec(&uptr_live_objects);
	uptr_file_put(ufile);
	if (hw && hw->base.ops) {
		dma_fence_put(&hw->base);
	} else {
		kfree(hw);
		module_put(THIS_MODULE);
	}
}

/* Takes a reference on the BO @handle names, once per job. */
static int uptr_job_add_bo(struct uptr_job *job, struct drm_file *file,
			   u32 handle, bool write, struct uptr_bo **out)
{
	struct drm_gem_object *obj;
	unsigned int i;

	obj = drm_gem_object_lookup(file, handle);
	if (!obj) {
		uptr_dbg(IOCTL, "unknown handle %u\n", handle);
		return -ENOENT;
	}
	for (i = 0; i < job->nr_bos; i++) {
		if (job->bos[i] == obj) {
			drm_gem_object_put(obj);
			job->bo_writes[i] |= write;
			*out = to_uptr_bo(obj);
			return 0;
		}
	}
	uptr_bo_active_get(to_uptr_bo(obj));
	job->bos[job->nr_bos] = obj;
	job->bo_writes[job->nr_bos] = write;
	job->nr_bos++;
	*out = to_uptr_bo(obj);
	return 0;
}

/* Whether [offset, offset + len) lies inside @bo. */
static bool uptr_range_ok(const struct uptr_bo *bo, u64 offset, u64 len)
{
	u64 end;

	return !check_add_overflow(offset, len, &end) && end <= bo->base.size;
}

/* The parts of a command that need no BO. */
static int uptr_cmd_check_shape(const struct drm_uptr_cmd *c)
{
	if (c->flags)
		return -EINVAL;
	if (!c->size)
		return -EINVAL;

	switch (c->op) {
	case DRM_UPTR_OP_COPY:
		if (c->value)
			return -EINVAL;
		return 0;
	case DRM_UPTR_OP_FILL:
		if (c->src_handle || c->src_offset || c->value > U32_MAX ||
		    !IS_ALIGNED(c->dst_offset, 4) || !IS_ALIGNED(c->size, 4))
			return -EINVAL;
		return 0;
	case DRM_UPTR_OP_STORE_DWORD:
		if (c->src_handle || c->src_offset || c->value > U32_MAX ||
		    c->size != 4 || !IS_ALIGNED(c->dst_offset, 4))
			return -EINVAL;
		return 0;
	case DRM_UPTR_OP_CHECKSUM:
		if (c->value || !IS_ALIGNED(c->dst_offset, 8))
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

static bool uptr_cmd_reads(u32 op)
{
	return op == DRM_UPTR_OP_COPY || op == DRM_UPTR_OP_CHECKSUM;
}

/* Bytes a command writes into its destination. */
static u64 uptr_cmd_dst_len(const struct drm_uptr_cmd *c)
{
	return c->op == DRM_UPTR_OP_CHECKSUM ? sizeof(u64) : c->size;
}

/* Refuses a userptr BO used from a process other than its creator. */
static int uptr_cmd_check_mm(const struct uptr_bo *bo)
{
	if (uptr_bo_is_userptr(bo) && uptr_userptr_mm(&bo->userptr) != current->mm) {
		uptr_dbg(IOCTL, "userptr used from another process\n");
		return -EFAULT;
	}
	return 0;
}

/*
 * Whether a COPY between two userptrs of one process, pinned or coherent,
 * reads and writes the same user addresses: the engine copies page by
 * page with memcpy(), which overlapping bytes would corrupt, as for an
 * overlap inside one BO.  A pinned userptr's pages were what its range
 * mapped when it was created; if the range was remapped since, the two
 * BOs may in fact hold different pages, and the copy is refused all the
 * same, so that the rule depends on the addresses alone.
 */
static bool uptr_cmd_user_overlap(const struct uptr_engine_cmd *cmd,
				  const struct drm_uptr_cmd *c)
{
	const struct uptr_userptr *d = &cmd->dst->userptr, *s = &cmd->src->userptr;
	u64 dstart, sstart;

	if (cmd->src == cmd->dst || !uptr_bo_is_userptr(cmd->dst) ||
	    !uptr_bo_is_userptr(cmd->src) || uptr_userptr_mm(d) != uptr_userptr_mm(s))
		return false;
	/* No overflow: both ranges lie inside the user address space. */
	dstart = uptr_userptr_start(d) + c->dst_offset;
	sstart = uptr_userptr_start(s) + c->src_offset;
	return sstart < dstart + c->size && dstart < sstart + c->size;
}

static int uptr_job_add_cmd(struct uptr_job *job, struct drm_file *file,
			    const struct drm_uptr_cmd *c, unsigned int idx)
{
	struct uptr_engine_cmd *cmd = &job->cmds[idx];
	u64 dst_len = uptr_cmd_dst_len(c);
	int ret;

	ret = uptr_cmd_check_shape(c);
	if (ret) {
		uptr_dbg(IOCTL, "cmd %u: bad op %u, flags, alignment or unused member\n",
			 idx, c->op);
		return ret;
	}

	ret = uptr_job_add_bo(job, file, c->dst_handle, true, &cmd->dst);
	if (ret)
		return ret;
	if (uptr_cmd_reads(c->op)) {
		ret = uptr_job_add_bo(job, file, c->src_handle, false, &cmd->src);
		if (ret)
			return ret;
	}

	if (!uptr_range_ok(cmd->dst, c->dst_offset, dst_len) ||
	    (cmd->src && !uptr_range_ok(cmd->src, c->src_offset, c->size))) {
		uptr_dbg(IOCTL, "cmd %u: range beyond its BO\n", idx);
		return -EINVAL;
	}
	if (c->op == DRM_UPTR_OP_COPY && cmd->src == cmd->dst &&
	    c->src_offset < c->dst_offset + c->size &&
	    c->dst_offset < c->src_offset + c->size) {
		uptr_dbg(IOCTL, "cmd %u: overlapping copy\n", idx);
		return -EINVAL;
	}
	if (c->op == DRM_UPTR_OP_COPY && uptr_cmd_user_overlap(cmd, c)) {
		uptr_dbg(IOCTL, "cmd %u: copy between userptrs over the same user memory\n",
			 idx);
		return -EINVAL;
	}

	ret = uptr_cmd_check_mm(cmd->dst);
	if (!ret && cmd->src)
		ret = uptr_cmd_check_mm(cmd->src);
	if (ret)
		return ret;

	if (uptr_bo_is_read_only(cmd->dst)) {
		uptr_dbg(IOCTL, "cmd %u: writes a read-only userptr\n", idx);
		return -EACCES;
	}

	cmd->op = c->op;
	cmd->dst_offset = c->dst_offset;
	cmd->src_offset = c->src_offset;
	cmd->size = c->size;
	cmd->dst_len = dst_len;
	cmd->value = lower_32_bits(c->value);
	return 0;
}

static int uptr_job_validate(struct uptr_job *job, struct drm_file *file,
			     const struct drm_uptr_submit *args)
{
	struct drm_uptr_cmd *ucmds;
	u64 bytes = 0;
	unsigned int i;
	int ret;

	ucmds = kvmalloc_array(args->count, sizeof(*ucmds), GFP_KERNEL);
	job->cmds = kvcalloc(args->count, sizeof(*job->cmds), GFP_KERNEL_ACCOUNT);
	job->bos = kvcalloc(2 * args->count, sizeof(*job->bos), GFP_KERNEL_ACCOUNT);
	job->bo_writes = kvcalloc(2 * args->count, sizeof(*job->bo_writes), GFP_KERNEL_ACCOUNT);
	if (!ucmds || !job->cmds || !job->bos || !job->bo_writes) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(ucmds, u64_to_user_ptr(args->commands),
			   array_size(args->count, sizeof(*ucmds)))) {
		uptr_dbg(IOCTL, "commands %#llx unreadable\n", args->commands);
		ret = -EFAULT;
		goto out;
	}

	for (i = 0; i < args->count; i++) {
		ret = uptr_job_add_cmd(job, file, &ucmds[i], i);
		if (ret)
			goto out;
		/*
		 * Bounds the work one ioctl does.  No overflow: sizes are
		 * checked against their BOs, and there are at most
		 * UPTR_MAX_COMMANDS.
		 */
		bytes += ucmds[i].size;
		if (bytes > UPTR_MAX_JOB_BYTES) {
			uptr_dbg(IOCTL, "commands cover more than %llu bytes\n",
				 UPTR_MAX_JOB_BYTES);
			ret = -E2BIG;
			goto out;
		}
	}
	job->nr_cmds = args->count;
	ret = 0;
out:
	kvfree(ucmds);
	return ret;
}

/**
 * struct uptr_job_span - pages of a coherent userptr that a command touches
 * @up: the userptr
 * @first: index of the first page
 * @count: number of pages
 * @write: the command writes them
 */
struct uptr_job_span {
	struct uptr_userptr *up;
	unsigned long first;
	unsigned long count;
	bool write;
};

/*
 * Steps *@pos, from 0, through the coherent userptr ranges of @job: the
 * source, then the destination, of each command.  Fills @s and returns
 * true for each, false at the end.
 */
static bool uptr_job_next_span(const struct uptr_job *job, unsigned int *pos,
			       struct uptr_job_span *s)
{
	while (*pos < 2 * job->nr_cmds) {
		const struct uptr_engine_cmd *cmd = &job->cmds[*pos / 2];
		bool write = *pos & 1;
		struct uptr_bo *bo = write ? cmd->dst : cmd->src;
		u64 offset = write ? cmd->dst_offset : cmd->src_offset;
		u64 len = write ? cmd->dst_len : cmd->size;

		(*pos)++;
		if (!bo || !uptr_bo_is_coherent(bo))
			continue;
		s->up = &bo->userptr;
		s->first = offset >> PAGE_SHIFT;
		s->count = ((offset + len - 1) >> PAGE_SHIFT) - s->first + 1;
		s->write = write;
		return true;
	}
	return false;
}

/* Makes valid the pages of coherent userptrs that the commands touch. */
static int uptr_job_fault(struct uptr_job *job)
{
	struct uptr_job_span s;
	unsigned int pos = 0;
	int ret;

	while (uptr_job_next_span(job, &pos, &s)) {
		ret = uptr_userptr_fault(s.up, s.first, s.count, s.write);
		if (ret)
			return ret;
	}
	return 0;
}

/* Makes the job wait for the fences of the in-syncobjs. */
static int uptr_job_add_in_syncobjs(struct uptr_job *job, struct drm_file *file,
				    const struct drm_uptr_submit *args)
{
	u32 __user *uhandles = u64_to_user_ptr(args->in_syncobjs);
	struct dma_fence *fence;
	unsigned int i;
	u32 handle;
	int ret;

	for (i = 0; i < args->in_syncobj_count; i++) {
		if (get_user(handle, &uhandles[i])) {
			uptr_dbg(IOCTL, "in_syncobjs %#llx unreadable\n", args->in_syncobjs);
			return -EFAULT;
		}
		ret = drm_syncobj_find_fence(file, handle, 0, 0, &fence);
		if (ret) {
			uptr_dbg(IOCTL, "in-syncobj %u: unknown handle or no fence: %d\n",
				 handle, ret);
			return ret;
		}
		/* Consumes the reference, even on failure. */
		ret = drm_sched_job_add_dependency(&job->base, fence);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Creates the engine fence of a job that starts now, on the timeline of
 * the file's lane of its engine.  Only the lane's owner calls it: the
 * engine's run_job, or a submitter that claimed the idle lane.
 */
static void uptr_job_init_hw(struct uptr_job *job)
{
	struct uptr_engine *engine = job->engine;
	struct uptr_file *ufile = job->ufile;

	/* The job's module reference, taken at submit, goes to this fence. */
	job->hw->engine = engine;
	dma_fence_init(&job->hw->base, &uptr_fence_ops, &engine->fence_lock,
		       ufile->fence_context + engine->index, ++ufile->seqno[engine->index]);
	atomic_inc(&uptr_live_objects);
}

/*
 * Claims the lane of the job's engine for the submitting thread, if the
 * job can run there at once: every fence it depends on signalled, and
 * nothing of its file ahead of it (no job of the file waiting in the
 * scheduler, on any engine; the lane idle, and the public fence of the
 * last job it ran signalled, so that fences signal in submission order).
 * Jobs the scheduler starts while the lane is claimed wait in it;
 * uptr_lane_unclaim() passes them on.
 */
static bool uptr_job_claim_lane(struct uptr_job *job)
{
	struct uptr_file *ufile = job->ufile;
	struct uptr_lane *lane = &ufile->lanes[job->engine->index];
	struct dma_fence *fence;
	unsigned long index;
	bool claimed = false;

	lockdep_assert_held(&ufile->submit_lock);
	xa_for_each(&job->base.dependencies, index, fence)
		if (!dma_fence_is_signaled(fence))
			return false;
	/*
	 * Pushes are made under submit_lock, held here; a pushed job has
	 * left the count once the scheduler started it and put it in the
	 * lane, whose lock orders that with the test below.
	 */
	if (atomic_read(&ufile->queued))
		return false;
	spin_lock(&lane->lock);
	if (!lane->busy && (!lane->last || dma_fence_is_signaled(lane->last))) {
		lane->busy = true;
		claimed = true;
	}
	spin_unlock(&lane->lock);
	return claimed;
}

/* The submitter is done with the lane it claimed: run what came meanwhile. */
static void uptr_lane_unclaim(struct uptr_file *ufile, struct uptr_lane *lane)
{
	spin_lock(&lane->lock);
	if (list_empty(&lane->jobs)) {
		lane->busy = false;
	} else {
		uptr_file_get(ufile);
		queue_work(ufile->udev->exec_wq, &lane->work);
	}
	spin_unlock(&lane->lock);
}

/*
 * Makes the job wait for the earlier users of its BOs, arms its fence,
 * publishes it on every BO and in the out-syncobj, and queues the job.
 * Nothing is published when this fails.  On success the caller gets a
 * reference on the job's fence in *@out.
 *
 * On entry *@here says whether the submitter waits for the job.  If so,
 * and the job can start at once (see uptr_job_claim_lane()), it is not
 * queued: its engine fence is its public fence, *@here stays true, and
 * the caller must run it with uptr_job_run_here().  That saves the
 * scheduler's thread and the lane's worker two wake-ups each way, which
 * are most of the cost of a small job, and charges the job's CPU time to
 * the process that asked for it.  Otherwise *@here is false and the job
 * belongs to the scheduler, which may complete and free it at once: the
 * caller must not touch it any more.
 */
static int uptr_job_push(struct uptr_job *job, struct dma_fence **out, bool *here)
{
	unsigned int i, nr_resv = job->no_implicit ? 0 : job->nr_bos;
	struct uptr_file *ufile = job->ufile;
	struct dma_fence *fence;
	struct ww_acquire_ctx ctx;
	int ret;

	ret = drm_gem_lock_reservations(job->bos, nr_resv, &ctx);
	if (ret)
		return ret;

	for (i = 0; i < nr_resv; i++) {
		ret = dma_resv_reserve_fences(job->bos[i]->resv, 1);
		if (ret)
			goto err_unlock;
		ret = drm_sched_job_add_implicit_dependencies(&job->base, job->bos[i],
							      job->bo_writes[i]);
		if (ret)
			goto err_unlock;
	}

	/* Arm and push under one lock, so that the file's jobs keep their order. */
	mutex_lock(&ufile->submit_lock);
	*here = *here && uptr_job_claim_lane(job);
	if (*here) {
		uptr_job_init_hw(job);
		fence = &job->hw->base;
	} else {
		drm_sched_job_arm(&job->base);
		fence = &job->base.s_fence->finished;
		/*
		 * Files' lanes on one engine run at the same time: a later
		 * job of this engine that depends on this one must wait for
		 * it to finish, not only to start, as the scheduler would
		 * assume of one ring.
		 */
		set_bit(DRM_SCHED_FENCE_DONT_PIPELINE, &fence->flags);
	}
	*out = dma_fence_get(fence);
	for (i = 0; i < nr_resv; i++)
		dma_resv_add_fence(job->bos[i]->resv, fence,
				   job->bo_writes[i] ? DMA_RESV_USAGE_WRITE :
						       DMA_RESV_USAGE_READ);
	if (job->out_syncobj)
		drm_syncobj_replace_fence(job->out_syncobj, fence);
	/*
	 * Unlocked before the push: once pushed, the job may complete and
	 * let its BOs go at any time.  Whoever finds the fence meanwhile
	 * waits for a job that is about to be queued.
	 */
	drm_gem_unlock_reservations(job->bos, nr_resv, &ctx);
	trace_uptr_job_queue(fence->context, fence->seqno, job->engine->index);
	if (*here) {
		mutex_unlock(&ufile->submit_lock);
		return 0;
	}
	atomic_inc(&ufile->queued);
	drm_sched_entity_push_job(&job->base);
	mutex_unlock(&ufile->submit_lock);
	return 0;

err_unlock:
	drm_gem_unlock_reservations(job->bos, nr_resv, &ctx);
	return ret;
}

struct uptr_fence_waiter {
	struct dma_fence_cb cb;
	struct completion done;
};

static void uptr_fence_waiter_wake(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	complete(&container_of(cb, struct uptr_fence_waiter, cb)->done);
}

/*
 * Waits for @fence, for DRM_UPTR_SUBMIT_WAIT: only a fatal signal ends
 * the wait early, since the job cannot be submitted twice (a restarted
 * ioctl would); the job's time limit bounds it.
 */
static int uptr_fence_wait_killable(struct dma_fence *fence)
{
	struct uptr_fence_waiter w;

	init_completion(&w.done);
	if (dma_fence_add_callback(fence, &w.cb, uptr_fence_waiter_wake))
		return fence->error;
	if (wait_for_completion_killable(&w.done)) {
		/* The callback may be running: then let it finish with @w. */
		if (!dma_fence_remove_callback(fence, &w.cb))
			wait_for_completion(&w.done);
		return -EINTR;
	}
	return fence->error;
}

/*
 * A new job of @ufile on engine @engine, holding the module and the
 * file, with its engine fence allocated (so that starting it cannot
 * fail); NULL without memory.  uptr_job_free_struct() undoes it.
 */
static struct uptr_job *uptr_job_alloc(struct uptr_file *ufile, u32 engine)
{
	struct uptr_job *job;

	job = kzalloc(sizeof(*job), GFP_KERNEL_ACCOUNT);
	if (!job)
		return NULL;
	/*
	 * The job holds the module until it is freed, or, once started,
	 * until its engine fence is: the open file holds it now.
	 */
	__module_get(THIS_MODULE);
	atomic_inc(&uptr_live_objects);
	job->engine = &ufile->udev->engines[engine];
	job->ufile = uptr_file_get(ufile);
	job->memcg = get_mem_cgroup_from_mm(current->mm);
	job->hw = kzalloc(sizeof(*job->hw), GFP_KERNEL_ACCOUNT);
	if (!job->hw) {
		uptr_job_free_struct(job);
		return NULL;
	}
	return job;
}

/**
 * uptr_job_prefetch() - queue a prefetch of a coherent userptr on an engine
 * @file: the file asking for it
 * @obj: a coherent userptr of the calling process, referenced by the
 *	caller; the reference goes to the job
 * @engine: engine index, below UPTR_ENGINE_COUNT
 * @offset: bytes into @obj
 * @size: bytes from @offset, non-zero, inside @obj
 * @flags: UPTR_PREFETCH_*, valid for @obj
 * @out_syncobj: NULL, or a syncobj to receive the job's fence, referenced
 *	by the caller; the reference goes to the job
 *
 * The prefetch runs on @engine behind the file's earlier jobs there, as
 * a one-command job with the same time limit and cancellation; it takes
 * no part in implicit synchronisation (struct uptr_job.no_implicit).
 *
 * Return: 0 once queued, or a negative errno; either way the caller's
 * references are gone.
 */
int uptr_job_prefetch(struct drm_file *file, struct drm_gem_object *obj, u32 engine,
		      u64 offset, u64 size, unsigned int flags,
		      struct drm_syncobj *out_syncobj)
{
	struct uptr_file *ufile = to_uptr_file(file);
	struct uptr_engine_cmd *cmd;
	struct dma_fence *fence;
	struct uptr_job *job;
	bool here = false;
	int ret;

	job = uptr_job_alloc(ufile, engine);
	if (job) {
		job->cmds = kvcalloc(1, sizeof(*job->cmds), GFP_KERNEL_ACCOUNT);
		job->bos = kvcalloc(1, sizeof(*job->bos), GFP_KERNEL_ACCOUNT);
		job->bo_writes = kvcalloc(1, sizeof(*job->bo_writes), GFP_KERNEL_ACCOUNT);
	}
	if (!job || !job->cmds || !job->bos || !job->bo_writes) {
		drm_gem_object_put(obj);
		if (out_syncobj)
			drm_syncobj_put(out_syncobj);
		ret = -ENOMEM;
		goto err_free;
	}
	uptr_bo_active_get(to_uptr_bo(obj));
	job->bos[0] = obj;
	job->bo_writes[0] = flags & UPTR_PREFETCH_WRITE;
	job->nr_bos = 1;
	job->out_syncobj = out_syncobj;
	job->no_implicit = true;
	cmd = &job->cmds[0];
	cmd->op = UPTR_ENGINE_OP_PREFETCH;
	cmd->dst = to_uptr_bo(obj);
	cmd->dst_offset = offset;
	cmd->size = size;
	cmd->value = flags;
	job->nr_cmds = 1;

	ret = uptr_sched_job_init(&job->base, &ufile->entities[engine], ufile, file);
	if (ret)
		goto err_free;
	ret = uptr_job_push(job, &fence, &here);
	if (ret) {
		drm_sched_job_cleanup(&job->base);
		goto err_free;
	}
	dma_fence_put(fence);
	return 0;

err_free:
	if (job)
		uptr_job_free_struct(job);
	return ret;
}

/*
 * Executes a job, in its lane or (@here) on its submitter's thread, then
 * signals the engine's fence.  @fence is the job's public fence: the
 * scheduler's finished fence, which lives until the engine's fence
 * signalled, or the engine's fence itself.
 */
static void uptr_job_exec(struct uptr_job *job, struct dma_fence *fence, bool here)
{
	struct uptr_engine_limits limits = {
		.deadline = jiffies + msecs_to_jiffies(uptr_job_timeout()),
		.cancel = &job->ufile->cancel,
		.killable = here,
	};
	struct uptr_engine *engine = job->engine;
	ktime_t start = ktime_get();
	unsigned int i;
	s64 busy;
	int err;

	trace_uptr_job_start(fence->context, fence->seqno, engine->index);
	/* A dependency failed, or the scheduler cancelled the job. */
	err = fence->error;
	if (!err) {
		/* A kernel thread charges no one unless told whom. */
		struct mem_cgroup *old = set_active_memcg(job->memcg);

		err = uptr_engine_run(job->cmds, job->nr_cmds, &limits);
		set_active_memcg(old);
	}

	busy = ktime_to_ns(ktime_sub(ktime_get(), start));
	atomic64_add(busy, &engine->busy_ns);
	atomic64_add(busy, &job->ufile->busy_ns[engine->index]);
	for (i = 0; i < job->nr_bos; i++)
		atomic64_inc(&to_uptr_bo(job->bos[i])->jobs);
	uptr_dbg(JOB, "job %llu on %s: %u commands, %d\n", job->hw->base.seqno,
		 engine->name, job->nr_cmds, err);
	/*
	 * The BOs go before the fence signals: whoever waited for the job
	 * finds them free of it (a userptr closed then is gone at once);
	 * imported BOs stay until the job is freed.
	 */
	uptr_job_release(job, true);

	trace_uptr_job_end(fence->context, fence->seqno, engine->index, err);
	if (err) {
		/* 6.1's scheduler does not pass the error on: set it on both. */
		if (!fence->error)
			dma_fence_set_error(fence, err);
		if (fence != &job->hw->base)
			dma_fence_set_error(&job->hw->base, err);
	}
	dma_fence_signal(&job->hw->base);
}

/*
 * Runs a job uptr_job_push() left to its submitter, on the submitter's
 * thread, then lets the lane go and frees the job, which was never
 * queued: its fence is signalled when this returns.
 */
static void uptr_job_run_here(struct uptr_job *job)
{
	struct uptr_file *ufile = job->ufile;

	uptr_job_exec(job, &job->hw->base, true);
	uptr_lane_unclaim(ufile, &ufile->lanes[job->engine->index]);
	drm_sched_job_cleanup(&job->base);
	uptr_job_free_struct(job);
}

/*
 * A lane's work: executes the lane's jobs in order until there is none
 * left, then drops the lane's reference on its file, which may be the
 * last one (the work item goes with the file: allowed, as the last thing
 * the work does).
 */
static void uptr_lane_work(struct work_struct *work)
{
	struct uptr_lane *lane = container_of(work, struct uptr_lane, work);
	struct uptr_file *ufile = lane->ufile;
	struct uptr_job *job;

	for (;;) {
		spin_lock(&lane->lock);
		job = list_first_entry_or_null(&lane->jobs, struct uptr_job, link);
		if (job)
			list_del(&job->link);
		else
			lane->busy = false;
		spin_unlock(&lane->lock);
		if (!job)
			break;
		uptr_job_exec(job, &job->base.s_fence->finished, false);
		cond_resched();
	}
	uptr_file_put(ufile);
}

/*
 * The scheduler starts the job: its dependencies signalled.  The engine
 * fence is created here, on the timeline of the file's lane, and the job
 * handed to the lane, which runs the file's jobs on that engine one at a
 * time in the order the scheduler starts them (the order of submission).
 * The scheduler calls this from one thread per engine at a time.
 */
static struct dma_fence *uptr_job_run(struct drm_sched_job *sched_job)
{
	struct uptr_job *job = to_uptr_job(sched_job);
	struct uptr_engine *engine = job->engine;
	struct uptr_file *ufile = job->ufile;
	struct uptr_lane *lane = &ufile->lanes[engine->index];
	struct dma_fence *last;

	uptr_job_init_hw(job);
	/* A closed file's jobs end without running. */
	if (atomic_read(&ufile->cancel) && !sched_job->s_fence->finished.error)
		dma_fence_set_error(&sched_job->s_fence->finished, -ECANCELED);

	spin_lock(&lane->lock);
	list_add_tail(&job->link, &lane->jobs);
	last = lane->last;
	lane->last = dma_fence_get(&sched_job->s_fence->finished);
	if (!lane->busy) {
		lane->busy = true;
		uptr_file_get(ufile);
		queue_work(ufile->udev->exec_wq, &lane->work);
	}
	spin_unlock(&lane->lock);
	dma_fence_put(last);

	if (atomic_dec_and_test(&ufile->queued))
		wake_up_all(&ufile->queue_wait);
	/* The scheduler takes the reference it is returned. */
	return dma_fence_get(&job->hw->base);
}

/* Never called: the scheduler has no timeout, engines end jobs themselves. */
static enum drm_gpu_sched_stat uptr_job_timedout(struct drm_sched_job *sched_job)
{
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

/* The job's fence signalled, or the scheduler dropped the job. */
static void uptr_job_free(struct drm_sched_job *sched_job)
{
	drm_sched_job_cleanup(sched_job);
	uptr_job_free_struct(to_uptr_job(sched_job));
}

static const struct drm_sched_backend_ops uptr_job_sched_ops = {
	.run_job = uptr_job_run,
	.timedout_job = uptr_job_timedout,
	.free_job = uptr_job_free,
};

/**
 * uptr_jobs_init() - set up the device's engines
 * @udev: the device
 *
 * Return: 0, or a negative errno.
 */
int uptr_jobs_init(struct uptr_device *udev)
{
	unsigned int i;
	int ret;

	/* Unbound: a busy lane is CPU work at normal priority, on any CPU. */
	udev->exec_wq = alloc_workqueue("uptr-exec", WQ_UNBOUND, WQ_UNBOUND_MAX_ACTIVE);
	if (!udev->exec_wq)
		return -ENOMEM;
	for (i = 0; i < UPTR_ENGINE_COUNT; i++) {
		ret = uptr_engine_init(&udev->engines[i], i, &uptr_job_sched_ops,
				       udev->drm.dev);
		if (ret)
			goto err_fini;
	}
	return 0;

err_fini:
	while (i--)
		uptr_engine_fini(&udev->engines[i]);
	destroy_workqueue(udev->exec_wq);
	return ret;
}

/**
 * uptr_jobs_fini() - tear the device's engines down
 * @udev: the device, with no file open and no job left (each job's
 *	engine fence holds the module)
 */
void uptr_jobs_fini(struct uptr_device *udev)
{
	unsigned int i;

	for (i = 0; i < UPTR_ENGINE_COUNT; i++)
		uptr_engine_fini(&udev->engines[i]);
	destroy_workqueue(udev->exec_wq);
}

/**
 * uptr_jobs_file_open() - set up a file's queues, one per engine
 * @ufile: the file
 *
 * Return: 0, or a negative errno.
 */
int uptr_jobs_file_open(struct uptr_file *ufile)
{
	struct drm_gpu_scheduler *sched;
	unsigned int i;
	int ret;

	mutex_init(&ufile->submit_lock);
	init_waitqueue_head(&ufile->queue_wait);
	ufile->fence_context = dma_fence_context_alloc(UPTR_ENGINE_COUNT);
	for (i = 0; i < UPTR_ENGINE_COUNT; i++) {
		struct uptr_lane *lane = &ufile->lanes[i];

		spin_lock_init(&lane->lock);
		INIT_LIST_HEAD(&lane->jobs);
		INIT_WORK(&lane->work, uptr_lane_work);
		lane->ufile = ufile;
		sched = &ufile->udev->engines[i].sched;
		ret = drm_sched_entity_init(&ufile->entities[i], DRM_SCHED_PRIORITY_NORMAL,
					    &sched, 1, NULL);
		if (ret)
			goto err_fini;
	}
	return 0;

err_fini:
	while (i--)
		drm_sched_entity_destroy(&ufile->entities[i]);
	mutex_destroy(&ufile->submit_lock);
	return ret;
}

/**
 * uptr_jobs_file_close() - cancel a closed file's jobs
 * @ufile: the file, closed: no submit runs on it any more
 *
 * Jobs that have not started end with -ECANCELED without running (the
 * scheduler still waits for their dependencies, which are fences, so
 * signal in bounded time); the running one stops at its next page, and
 * this returns once it has.  The jobs keep the file's state alive until
 * they are freed.
 */
void uptr_jobs_file_close(struct uptr_file *ufile)
{
	long left = msecs_to_jiffies(2 * uptr_job_timeout());
	unsigned int i;

	atomic_set(&ufile->cancel, 1);
	/*
	 * Let every queued job reach uptr_job_run(), which ends it: a job the
	 * scheduler dropped instead (drm_sched_entity_destroy() does for
	 * the jobs of a killed process) would end with -ESRCH.
	 */
	wait_event_timeout(ufile->queue_wait, !atomic_read(&ufile->queued), left);
	for (i = 0; i < UPTR_ENGINE_COUNT; i++) {
		drm_sched_entity_destroy(&ufile->entities[i]);
		/* Waits for what the lane holds: cancelled, each ends at once. */
		flush_work(&ufile->lanes[i].work);
		dma_fence_put(ufile->lanes[i].last);
		ufile->lanes[i].last = NULL;
	}
	mutex_destroy(&ufile->submit_lock);
}

int uptr_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct uptr_file *ufile = to_uptr_file(file);
	struct drm_uptr_submit *args = data;
	struct dma_fence *fence;
	struct uptr_job *job;
	bool here;
	int ret;

	ret = uptr_user_extensions(args->extensions);
	if (ret)
		return ret;
	if (args->pad || (args->flags & ~DRM_UPTR_SUBMIT_WAIT)) {
		uptr_dbg(IOCTL, "non-zero pad, or flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (args->engine >= UPTR_ENGINE_COUNT) {
		uptr_dbg(IOCTL, "engine %u: there are %u\n", args->engine, UPTR_ENGINE_COUNT);
		return -EINVAL;
	}
	if (!args->count || args->count > UPTR_MAX_COMMANDS ||
	    args->in_syncobj_count > UPTR_MAX_COMMANDS) {
		uptr_dbg(IOCTL, "count %u not in 1..%u or %u in-syncobjs\n", args->count,
			 UPTR_MAX_COMMANDS, args->in_syncobj_count);
		return -EINVAL;
	}

	job = uptr_job_alloc(ufile, args->engine);
	if (!job)
		return -ENOMEM;

	ret = uptr_job_validate(job, file, args);
	if (ret)
		goto err_free;
	if (args->out_syncobj) {
		job->out_syncobj = drm_syncobj_find(file, args->out_syncobj);
		if (!job->out_syncobj) {
			uptr_dbg(IOCTL, "unknown out-syncobj %u\n", args->out_syncobj);
			ret = -ENOENT;
			goto err_free;
		}
	}

	ret = uptr_sched_job_init(&job->base, &ufile->entities[args->engine], ufile,
				  file);
	if (ret)
		goto err_free;
	ret = uptr_job_add_in_syncobjs(job, file, args);
	if (ret)
		goto err_cleanup;

	/*
	 * Fault everything in first: a job that could not run at all is
	 * refused here, having written nothing, and a job that can runs in
	 * one fault pass unless the CPU changes its memory meanwhile.
	 */
	ret = uptr_job_fault(job);
	if (ret) {
		uptr_dbg(JOB, "job refused: %d\n", ret);
		goto err_cleanup;
	}

	here = args->flags & DRM_UPTR_SUBMIT_WAIT;
	ret = uptr_job_push(job, &fence, &here);
	if (ret)
		goto err_cleanup;
	/* Out of uptr_job_push()'s frame: the job may fault and reclaim. */
	if (here)
		uptr_job_run_here(job);
	if (args->flags & DRM_UPTR_SUBMIT_WAIT)
		ret = uptr_fence_wait_killable(fence);
	dma_fence_put(fence);
	return ret;

err_cleanup:
	drm_sched_job_cleanup(&job->base);
err_free:
	uptr_job_free_struct(job);
	return ret;
}
