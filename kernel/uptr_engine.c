// SPDX-License-Identifier: GPL-2.0
/*
 * uptr software engine.
 *
 * The engine executes a job's commands on the CPU, as a DMA engine would:
 * it reaches a BO's memory only through the BO's sg table (device BOs,
 * pinned userptrs) or the userptr core's page cache (coherent userptrs),
 * one page at a time through kmap_local_page(), and never through a user
 * address.  A userptr whose bookkeeping were wrong would therefore show
 * wrong data in the tests, not silently right data.  The pages of a
 * coherent userptr stay valid while the job runs: an invalidation waits
 * for the job's fence before it drops them.
 *
 * It runs in the context of the submitting thread for now; it needs
 * nothing from that context but the job, which holds its BOs, so that it
 * can move to a thread of its own.
 */

#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/string.h>

#include <drm/uptr_drm.h>

#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"
#include "uptr_job.h"

#define UPTR_FNV64_OFFSET	0xcbf29ce484222325ULL
#define UPTR_FNV64_PRIME	0x100000001b3ULL

/**
 * struct uptr_cursor - a position in a BO
 * @bo: the BO
 * @sg: BO with an sg table: current segment; NULL for a coherent userptr
 * @off: bytes into @sg, or into the BO for a coherent userptr
 */
struct uptr_cursor {
	struct uptr_bo *bo;
	struct scatterlist *sg;
	u64 off;
};

/* Positions @c at byte @offset of @bo; the caller validated the offset. */
static void uptr_cursor_init(struct uptr_cursor *c, struct uptr_bo *bo, u64 offset)
{
	struct sg_table *sgt = uptr_bo_sgt(bo);
	struct scatterlist *sg;
	unsigned int i;

	c->bo = bo;
	c->sg = NULL;
	c->off = offset;
	if (!sgt)
		return;
	for_each_sgtable_sg(sgt, sg, i) {
		if (offset < sg->length) {
			c->sg = sg;
			c->off = offset;
			return;
		}
		offset -= sg->length;
	}
}

/*
 * Maps the page under the cursor; *len gets how many bytes from there
 * are contiguous in that page, at most @max.  Undo with kunmap_local().
 */
static void *uptr_cursor_map(const struct uptr_cursor *c, u64 max, size_t *len)
{
	struct page *page;
	size_t in_page;
	u64 pos;

	if (!c->sg) {
		page = uptr_userptr_page(&c->bo->userptr, c->off >> PAGE_SHIFT);
		in_page = offset_in_page(c->off);
		*len = min(max, (u64)(PAGE_SIZE - in_page));
		return kmap_local_page(page) + in_page;
	}
	pos = c->sg->offset + c->off;
	page = nth_page(sg_page(c->sg), pos >> PAGE_SHIFT);
	in_page = offset_in_page(pos);
	*len = min3(max, (u64)(PAGE_SIZE - in_page), (u64)c->sg->length - c->off);
	return kmap_local_page(page) + in_page;
}

static void uptr_cursor_advance(struct uptr_cursor *c, size_t len)
{
	c->off += len;
	if (c->sg && c->off == c->sg->length) {
		c->sg = sg_next(c->sg);
		c->off = 0;
	}
}

/*
 * A job never waits for anything, but it may be long: a process being
 * killed stops its job between pages, with the fence still signalled.
 */
static int uptr_engine_yield(void)
{
	cond_resched();
	return fatal_signal_pending(current) ? -EINTR : 0;
}

static int uptr_engine_copy(const struct uptr_job_cmd *cmd)
{
	struct uptr_cursor src, dst;
	u64 left = cmd->size;

	uptr_cursor_init(&src, cmd->src, cmd->src_offset);
	uptr_cursor_init(&dst, cmd->dst, cmd->dst_offset);
	while (left) {
		size_t slen, dlen, n;
		void *s, *d;

		s = uptr_cursor_map(&src, left, &slen);
		d = uptr_cursor_map(&dst, slen, &dlen);
		n = dlen;
		memcpy(d, s, n);
		kunmap_local(d);
		kunmap_local(s);
		uptr_cursor_advance(&src, n);
		uptr_cursor_advance(&dst, n);
		left -= n;
		if (uptr_engine_yield())
			return -EINTR;
	}
	return 0;
}

static int uptr_engine_fill(const struct uptr_job_cmd *cmd)
{
	struct uptr_cursor dst;
	u64 left = cmd->size;

	uptr_cursor_init(&dst, cmd->dst, cmd->dst_offset);
	while (left) {
		size_t n;
		void *d;

		/* Offset and size are multiples of 4: n is too. */
		d = uptr_cursor_map(&dst, left, &n);
		memset32(d, cmd->value, n / sizeof(u32));
		kunmap_local(d);
		uptr_cursor_advance(&dst, n);
		left -= n;
		if (uptr_engine_yield())
			return -EINTR;
	}
	return 0;
}

/* Writes @len bytes (4 or 8, naturally aligned: within one page). */
static void uptr_engine_write(struct uptr_bo *bo, u64 offset, const void *val, size_t len)
{
	struct uptr_cursor dst;
	size_t n;
	void *d;

	uptr_cursor_init(&dst, bo, offset);
	d = uptr_cursor_map(&dst, len, &n);
	memcpy(d, val, n);
	kunmap_local(d);
}

static int uptr_engine_checksum(const struct uptr_job_cmd *cmd, u64 *sum)
{
	u64 hash = UPTR_FNV64_OFFSET;
	struct uptr_cursor src;
	u64 left = cmd->size;

	uptr_cursor_init(&src, cmd->src, cmd->src_offset);
	while (left) {
		const u8 *s;
		size_t n, i;

		s = uptr_cursor_map(&src, left, &n);
		for (i = 0; i < n; i++) {
			hash ^= s[i];
			hash *= UPTR_FNV64_PRIME;
		}
		kunmap_local(s);
		uptr_cursor_advance(&src, n);
		left -= n;
		if (uptr_engine_yield())
			return -EINTR;
	}
	*sum = hash;
	return 0;
}

/**
 * uptr_engine_run() - execute a job's commands, in order
 * @job: a validated job whose fence is published
 *
 * Context: process context, may sleep.
 *
 * Return: 0 once every command ran; -EINTR if a fatal signal stopped the
 * job early, having run its commands in part.
 */
int uptr_engine_run(struct uptr_job *job)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < job->nr_cmds && !ret; i++) {
		const struct uptr_job_cmd *cmd = &job->cmds[i];
		u64 sum;

		switch (cmd->op) {
		case DRM_UPTR_OP_COPY:
			ret = uptr_engine_copy(cmd);
			break;
		case DRM_UPTR_OP_FILL:
			ret = uptr_engine_fill(cmd);
			break;
		case DRM_UPTR_OP_STORE_DWORD:
			uptr_engine_write(cmd->dst, cmd->dst_offset, &cmd->value,
					  sizeof(cmd->value));
			break;
		case DRM_UPTR_OP_CHECKSUM:
			ret = uptr_engine_checksum(cmd, &sum);
			if (!ret)
				uptr_engine_write(cmd->dst, cmd->dst_offset, &sum, sizeof(sum));
			break;
		}
	}
	uptr_dbg(JOB, "job on context %llu: %u commands, %d\n", job->fence.context,
		 job->nr_cmds, ret);
	return ret;
}
