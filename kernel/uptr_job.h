/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr jobs: validated commands, the BOs they hold and their fence.
 */
#ifndef _UPTR_JOB_H_
#define _UPTR_JOB_H_

#include <linux/dma-fence.h>
#include <linux/types.h>

struct drm_device;
struct drm_file;
struct drm_gem_object;
struct uptr_bo;
struct uptr_device;

/**
 * struct uptr_job_cmd - one validated command
 *
 * @dst and @src point to BOs that &uptr_job.bos holds referenced.
 */
struct uptr_job_cmd {
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
 * struct uptr_job - a job: commands, the BOs they use, a fence
 *
 * The job holds a reference on every BO it names from validation until
 * it completes; its fence is published on every one of those BOs before
 * the engine starts and is signalled, on success and on error alike,
 * when the engine is done.  The fence's refcount governs the lifetime of
 * the struct itself; everything else is freed at completion, so that a
 * fence kept in a BO's reservation object holds no BO.
 */
struct uptr_job {
	/** @fence: signalled when the job completes */
	struct dma_fence fence;
	/** @udev: the device */
	struct uptr_device *udev;
	/** @cmds: @nr_cmds commands */
	struct uptr_job_cmd *cmds;
	/** @nr_cmds: number of @cmds */
	unsigned int nr_cmds;
	/** @bos: the distinct BOs of the job, referenced */
	struct drm_gem_object **bos;
	/** @bo_writes: whether the job writes @bos[i] */
	bool *bo_writes;
	/** @nr_bos: number of @bos */
	unsigned int nr_bos;
};

int uptr_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* _UPTR_JOB_H_ */
