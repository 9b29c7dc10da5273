// SPDX-License-Identifier: GPL-2.0
/*
 * uptr jobs: the submit ioctl.
 *
 * A job goes through four steps.  Validation copies the commands in,
 * checks every one of them and takes a reference on every BO it names;
 * a job refused there has had no effect.  Fault-in makes valid the pages
 * of coherent userptrs that the commands touch, and only those; a job
 * that touches a page it cannot reach is refused there, having written
 * nothing.  Publication locks the BOs' reservation objects and adds the
 * job's fence to every BO (as a writer where a command writes the BO, as
 * a reader otherwise), for DRM_IOCTL_UPTR_BO_WAIT.  Execution runs the
 * commands on the engine, which takes replayable faults: a page the CPU
 * took away meanwhile is faulted in again, and the job stops at the
 * first page it cannot reach any more.  Then the fence is signalled and
 * the BO references dropped.
 *
 * The MMU notifier never waits for a job, so the fence plays no part in
 * keeping pages alive: each page access is made under the userptr's own
 * lock (see uptr_engine.c and DOC: Locking in uptr_userptr.c).  From
 * publication on, the fence is signalled on every path.
 */

#include <linux/dma-resv.h>
#include <linux/mm_types.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/ww_mutex.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/uptr_drm.h>

#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"
#include "uptr_job.h"

static const char *uptr_fence_get_driver_name(struct dma_fence *fence)
{
	return UPTR_DRIVER_NAME;
}

static const char *uptr_fence_get_timeline_name(struct dma_fence *fence)
{
	return "engine0";
}

static void uptr_fence_release(struct dma_fence *fence)
{
	struct uptr_job *job = container_of(fence, struct uptr_job, fence);

	kfree_rcu(job, fence.rcu);
	atomic_dec(&uptr_live_objects);
}

static const struct dma_fence_ops uptr_fence_ops = {
	.get_driver_name = uptr_fence_get_driver_name,
	.get_timeline_name = uptr_fence_get_timeline_name,
	.release = uptr_fence_release,
};

/* Frees what the job holds besides its fence, and the BO references. */
static void uptr_job_release_bos(struct uptr_job *job)
{
	unsigned int i;

	for (i = 0; i < job->nr_bos; i++) {
		uptr_bo_active_put(to_uptr_bo(job->bos[i]));
		drm_gem_object_put(job->bos[i]);
	}
	kvfree(job->cmds);
	kvfree(job->bos);
	kvfree(job->bo_writes);
	job->cmds = NULL;
	job->bos = NULL;
	job->bo_writes = NULL;
	job->nr_bos = 0;
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
	if (uptr_bo_is_userptr(bo) && bo->userptr.mm != current->mm) {
		uptr_dbg(IOCTL, "userptr used from another process\n");
		return -EFAULT;
	}
	return 0;
}

/*
 * Whether a COPY between two coherent userptrs of one process reads and
 * writes the same user memory: the engine copies page by page with
 * memcpy(), which overlapping bytes would corrupt, as for an overlap
 * inside one BO.
 */
static bool uptr_cmd_user_overlap(const struct uptr_job_cmd *cmd,
				  const struct drm_uptr_cmd *c)
{
	const struct uptr_userptr *d = &cmd->dst->userptr, *s = &cmd->src->userptr;
	u64 dstart, sstart;

	if (cmd->src == cmd->dst || !uptr_bo_is_coherent(cmd->dst) ||
	    !uptr_bo_is_coherent(cmd->src) || d->mm != s->mm)
		return false;
	/* No overflow: both ranges lie inside the user address space. */
	dstart = d->start + c->dst_offset;
	sstart = s->start + c->src_offset;
	return sstart < dstart + c->size && dstart < sstart + c->size;
}

static int uptr_job_add_cmd(struct uptr_job *job, struct drm_file *file,
			    const struct drm_uptr_cmd *c, unsigned int idx)
{
	struct uptr_job_cmd *cmd = &job->cmds[idx];
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
		uptr_dbg(IOCTL, "cmd %u: copy between coherent userptrs over the same user memory\n",
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
	job->cmds = kvcalloc(args->count, sizeof(*job->cmds), GFP_KERNEL);
	job->bos = kvcalloc(2 * args->count, sizeof(*job->bos), GFP_KERNEL);
	job->bo_writes = kvcalloc(2 * args->count, sizeof(*job->bo_writes), GFP_KERNEL);
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
		 * DRM_UPTR_MAX_COMMANDS.
		 */
		bytes += ucmds[i].size;
		if (bytes > DRM_UPTR_MAX_JOB_BYTES) {
			uptr_dbg(IOCTL, "commands cover more than %llu bytes\n",
				 DRM_UPTR_MAX_JOB_BYTES);
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
		const struct uptr_job_cmd *cmd = &job->cmds[*pos / 2];
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

/*
 * Adds the job's fence to every BO's reservation object, for BO_WAIT and
 * for the BO's other users; the MMU notifier does not look at it.
 * Nothing is published when this fails, and the fence is then left
 * uninitialised.
 */
static int uptr_job_publish(struct uptr_job *job)
{
	struct uptr_device *udev = job->udev;
	struct ww_acquire_ctx ctx;
	unsigned int i;
	int ret;

	ret = drm_gem_lock_reservations(job->bos, job->nr_bos, &ctx);
	if (ret)
		return ret;

	for (i = 0; i < job->nr_bos; i++) {
		ret = dma_resv_reserve_fences(job->bos[i]->resv, 1);
		if (ret)
			goto out_unlock;
	}

	/*
	 * Jobs run in their submitters' threads and complete in any order,
	 * so each is a timeline of its own: on a shared context,
	 * dma_resv_add_fence() would let a later job's fence replace a
	 * running one's, and waiters would stop seeing the running job.
	 */
	dma_fence_init(&job->fence, &uptr_fence_ops, &udev->fence_lock,
		       dma_fence_context_alloc(1), 1);
	atomic_inc(&uptr_live_objects);
	for (i = 0; i < job->nr_bos; i++)
		dma_resv_add_fence(job->bos[i]->resv, &job->fence,
				   job->bo_writes[i] ? DMA_RESV_USAGE_WRITE :
						       DMA_RESV_USAGE_READ);
out_unlock:
	drm_gem_unlock_reservations(job->bos, job->nr_bos, &ctx);
	return ret;
}

/* Signals the fence whatever the outcome, then lets the BOs go. */
static void uptr_job_complete(struct uptr_job *job, int err)
{
	unsigned int i;

	for (i = 0; i < job->nr_bos; i++)
		atomic64_inc(&to_uptr_bo(job->bos[i])->jobs);
	if (err)
		dma_fence_set_error(&job->fence, err);
	dma_fence_signal(&job->fence);
	uptr_job_release_bos(job);
	dma_fence_put(&job->fence);
}

int uptr_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_submit *args = data;
	struct uptr_job *job;
	int ret;

	if (args->extensions || args->flags || args->pad[0] || args->pad[1]) {
		uptr_dbg(IOCTL, "non-zero extensions, flags %#x or pad\n", args->flags);
		return -EINVAL;
	}
	if (!args->count || args->count > DRM_UPTR_MAX_COMMANDS) {
		uptr_dbg(IOCTL, "count %u not in 1..%u\n", args->count,
			 DRM_UPTR_MAX_COMMANDS);
		return -EINVAL;
	}

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	job->udev = to_uptr_device(dev);

	ret = uptr_job_validate(job, file, args);
	if (ret)
		goto err_free;

	/*
	 * Fault everything in first: a job that could not run at all is
	 * refused here, having written nothing, and a job that can runs in
	 * one fault pass unless the CPU changes its memory meanwhile.
	 */
	ret = uptr_job_fault(job);
	if (!ret)
		ret = uptr_job_publish(job);
	if (ret) {
		uptr_dbg(JOB, "job refused: %d\n", ret);
		goto err_free;
	}

	ret = uptr_engine_run(job);
	uptr_job_complete(job, ret);
	return ret;

err_free:
	uptr_job_release_bos(job);
	kfree(job);
	return ret;
}
