// SPDX-License-Identifier: GPL-2.0
/*
 * uptr software engine.
 *
 * The engine executes a job's commands on the CPU, as a DMA engine would:
 * it reaches a BO's memory only through the BO's sg table (device BOs,
 * pinned userptrs) or the userptr core's page cache (coherent userptrs),
 * one page at a time through kmap_local_page(), or, for a BO imported
 * from another driver's dma-buf, through the kernel mapping the exporter
 * gave (uptr_prime.c), a page at a time too; never through a user
 * address.  A userptr whose bookkeeping were wrong would therefore show
 * wrong data in the tests, not silently right data.
 *
 * For a coherent userptr it is a device with replayable page faults.
 * Each step touches a few pages of each BO (UPTR_ENGINE_STEP_PAGES at
 * most), inside the critical section of the userptr's lock, after
 * checking that each page is valid (writable, for the destination); the
 * MMU notifier takes the same lock to drop pages, so it waits for that
 * one step and never for the job.
 * A page found invalid is faulted in again outside the lock, and the
 * step is retried; a page that cannot be reached the way the command
 * needs ends the job there with -EFAULT, what it wrote before staying
 * written.
 *
 * An engine runs in a workqueue of its own, not in the context of the
 * process that submitted the job: it needs nothing from that context but
 * the commands, whose BOs the caller holds (so no BO is freed under it),
 * and it reaches a coherent userptr's pages through the BO's mm.  Every
 * UPTR_ENGINE_STEP_PAGES pages at most it checks the job's limits: its
 * deadline and whether its owner went away.
 */

#include <linux/dma-fence.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/scatterlist.h>
#include <linux/string.h>

#include <drm/uptr_drm.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"

#define UPTR_FNV64_OFFSET	0xcbf29ce484222325ULL
#define UPTR_FNV64_PRIME	0x100000001b3ULL

/**
 * struct uptr_cursor - a position in a BO
 * @bo: the BO
 * @sg: BO with an sg table: current segment; unused for a coherent userptr
 *	or an imported BO
 * @off: bytes into @sg, or into the BO for a coherent userptr or an
 *	imported BO
 * @end: coherent userptr: end of the bytes the command touches in the BO
 * @write: the command writes through this cursor
 * @view: coherent userptr: where the command reached the BO last, kept
 *	from one step to the next (attached to the BO until
 *	uptr_cursor_fini())
 */
struct uptr_cursor {
	struct uptr_bo *bo;
	struct scatterlist *sg;
	u64 off;
	u64 end;
	bool write;
	struct uptr_bo_view view;
};

/* Positions @c at byte @offset of @bo for @len bytes; the caller validated them. */
static void uptr_cursor_init(struct uptr_cursor *c, struct uptr_bo *bo, u64 offset,
			     u64 len, bool write)
{
	struct sg_table *sgt = uptr_bo_sgt(bo);
	struct scatterlist *sg;
	unsigned int i;

	c->bo = bo;
	c->sg = NULL;
	c->off = offset;
	c->end = offset + len;
	c->write = write;
	if (uptr_bo_is_coherent(bo))
		uptr_bo_view_attach(bo, &c->view);
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

/* Done with the cursor of uptr_cursor_init(). */
static void uptr_cursor_fini(struct uptr_cursor *c)
{
	if (uptr_bo_is_coherent(c->bo))
		uptr_bo_view_detach(c->bo, &c->view);
}

/* Whether the cursor is in a coherent userptr, by the BO's kind. */
static bool uptr_cursor_coherent(const struct uptr_cursor *c)
{
	return uptr_bo_is_coherent(c->bo);
}

/* The coherent userptr under the cursor, or NULL. */
static struct uptr_userptr *uptr_cursor_userptr(const struct uptr_cursor *c)
{
	return c && uptr_cursor_coherent(c) ? &c->bo->userptr : NULL;
}

/* Whether the cursor is in an imported BO, reached through its kernel mapping. */
static bool uptr_cursor_mapped(const struct uptr_cursor *c)
{
	return uptr_bo_is_import(c->bo);
}

/* Bytes from the cursor that are contiguous in one page, at most @max. */
static u64 uptr_cursor_contig(const struct uptr_cursor *c, u64 max)
{
	if (!c)
		return max;
	if (uptr_cursor_coherent(c) || uptr_cursor_mapped(c))
		return min(max, (u64)(PAGE_SIZE - offset_in_page(c->off)));
	return min3(max, (u64)(PAGE_SIZE - offset_in_page(c->sg->offset + c->off)),
		    (u64)c->sg->length - c->off);
}

/*
 * The page under the cursor; for a coherent userptr, with its lock held,
 * NULL when the page is not valid (writable, if the cursor writes).
 */
static struct page *uptr_cursor_page(struct uptr_cursor *c)
{
	struct uptr_userptr *up = uptr_cursor_userptr(c);

	if (up)
		return __uptr_userptr_page(up, c->off >> PAGE_SHIFT, c->write, &c->view.hint);
	return nth_page(sg_page(c->sg), (c->sg->offset + c->off) >> PAGE_SHIFT);
}

/* Kernel address of the byte under the cursor in @page. */
static void *uptr_cursor_kmap(const struct uptr_cursor *c, struct page *page)
{
	u64 pos = uptr_cursor_coherent(c) ? c->off : c->sg->offset + c->off;

	return kmap_local_page(page) + offset_in_page(pos);
}

/*
 * Kernel address of the byte under the cursor: in @page, mapped until
 * the caller's kunmap_local(), or in an imported BO's kernel mapping,
 * which lives as long as the BO (@page is NULL then).
 */
static void *uptr_cursor_map(const struct uptr_cursor *c, struct page *page)
{
	if (uptr_cursor_mapped(c))
		return uptr_bo_vaddr(c->bo, c->off);
	return uptr_cursor_kmap(c, page);
}

/* Faults in again the page under a coherent cursor, and what follows it. */
static int uptr_cursor_fault(const struct uptr_cursor *c)
{
	unsigned long idx = c->off >> PAGE_SHIFT;
	unsigned long last = (c->end - 1) >> PAGE_SHIFT;

	return uptr_userptr_replay(&c->bo->userptr, idx, last - idx + 1, c->write);
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
 * Takes the locks of the coherent userptrs under @a and @b (either may be
 * NULL or not coherent, and both may be the same userptr): the lower
 * address first, so that two steps in opposite directions between the
 * same two userptrs cannot deadlock.
 */
static void uptr_engine_lock(struct uptr_userptr *a, struct uptr_userptr *b)
	__acquires(a) __acquires(b)
{
	if (b == a)
		b = NULL;
	if (!a)
		swap(a, b);
	else if (b && a > b)
		swap(a, b);
	/* sparse counts two acquisitions on every path. */
	if (a)
		uptr_userptr_notifier_lock(a);
	else
		__acquire(a);
	if (b)
		uptr_userptr_notifier_lock_nested(b);
	else
		__acquire(b);
}

/* Releases what uptr_engine_lock() took for the same @a and @b. */
static void uptr_engine_unlock(struct uptr_userptr *a, struct uptr_userptr *b)
	__releases(a) __releases(b)
{
	if (a)
		uptr_userptr_notifier_unlock(a);
	else
		__release(a);
	if (b && b != a)
		uptr_userptr_notifier_unlock(b);
	else
		__release(b);
}

/*
 * A job never waits for anything, but it may be long: it stops between
 * two steps once its time is up or its owner went away.
 */
static int uptr_engine_yield(const struct uptr_engine_limits *lim)
{
	cond_resched();
	if (atomic_read(lim->cancel))
		return -ECANCELED;
	if (lim->killable && fatal_signal_pending(current))
		return -EINTR;
	if (time_after(jiffies, lim->deadline))
		return -ETIMEDOUT;
	return 0;
}

/**
 * typedef uptr_engine_fn - what one step of a command does
 * @dst: kernel address of the destination bytes, NULL without destination
 * @src: kernel address of the source bytes, NULL without source
 * @len: bytes, all in one page of each
 * @ctx: the command's state
 *
 * Runs with the userptr locks of the step held: must not sleep.
 */
typedef void (*uptr_engine_fn)(void *dst, const void *src, size_t len, void *ctx);

/*
 * Pages one step covers at most: for a coherent userptr, under one hold
 * of its lock, which the invalidate callback may spin on for that long.
 * Small enough to keep that wait in microseconds, large enough to spread
 * the lock and the limit checks over a few pages.
 */
#define UPTR_ENGINE_STEP_PAGES	16

/*
 * The pages under the cursors, for a step that found them valid: for a
 * coherent userptr with its lock held.  Return: the cursor whose page is
 * not valid (not writable, for the destination), or NULL when both are.
 */
static struct uptr_cursor *uptr_engine_pages(struct uptr_cursor *dst, struct uptr_cursor *src,
					     struct page **dpage, struct page **spage)
{
	*spage = NULL;
	*dpage = NULL;
	if (src && !uptr_cursor_mapped(src)) {
		*spage = uptr_cursor_page(src);
		if (!*spage)
			return src;
	}
	if (dst && !uptr_cursor_mapped(dst)) {
		*dpage = uptr_cursor_page(dst);
		if (!*dpage)
			return dst;
	}
	return NULL;
}

/*
 * One step: at most UPTR_ENGINE_STEP_PAGES pages of @dst and of @src
 * (either may be NULL), and at most @max bytes.  For a coherent userptr
 * the step runs inside the critical section of its lock, each page once
 * it was found valid; the first page found invalid is faulted in again,
 * outside the lock, for as long as HMM_RANGE_DEFAULT_TIMEOUT lets the CPU
 * keep taking it away; a later one ends the step, and the next step
 * faults it.
 *
 * Return: bytes done, or -EFAULT (a page cannot be reached as the
 * command needs), -EAGAIN (it kept changing), -ETIMEDOUT or -ECANCELED
 * (see uptr_engine_yield()), -ENOMEM.
 */
static s64 uptr_engine_step(struct uptr_cursor *dst, struct uptr_cursor *src, u64 max,
			    uptr_engine_fn fn, void *ctx, const struct uptr_engine_limits *lim)
{
	struct uptr_userptr *dup = uptr_cursor_userptr(dst);
	struct uptr_userptr *sup = uptr_cursor_userptr(src);
	unsigned long timeout = 0;
	struct page *dpage, *spage;
	unsigned int pages = 0;
	u64 len, done = 0;
	int ret;

	for (;;) {
		struct uptr_cursor *invalid;

		uptr_engine_lock(dup, sup);
		invalid = uptr_engine_pages(dst, src, &dpage, &spage);
		if (!invalid)
			break;
		uptr_engine_unlock(dup, sup);

		/*
		 * The deadline is checked here, after a failed check and
		 * before the next replay, never after a replay: every replay
		 * that succeeds gets one more check of the page it made valid.
		 */
		if (!timeout)
			timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
		else if (time_after(jiffies, timeout))
			return -EAGAIN;

		/* The replayable fault: no lock held, the job's BOs referenced. */
		ret = uptr_cursor_fault(invalid);
		if (ret)
			return ret;
		ret = uptr_engine_yield(lim);
		if (ret)
			return ret;
	}

	for (;;) {
		void *d = NULL, *s = NULL;

		len = uptr_cursor_contig(src, uptr_cursor_contig(dst, max - done));
		if (src)
			s = uptr_cursor_map(src, spage);
		if (dst)
			d = uptr_cursor_map(dst, dpage);
		fn(d, s, len, ctx);
		/* In the reverse order of the maps, as kmap_local wants. */
		if (dpage)
			kunmap_local(d);
		if (spage)
			kunmap_local(s);
		if (src)
			uptr_cursor_advance(src, len);
		if (dst)
			uptr_cursor_advance(dst, len);
		done += len;
		/* The cursors' BOs, hence the locks held, stay the same. */
		if (done == max || ++pages == UPTR_ENGINE_STEP_PAGES ||
		    uptr_engine_pages(dst, src, &dpage, &spage))
			break;
	}
	uptr_engine_unlock(dup, sup);
	return done;
}

/* Runs @fn over @size bytes of @dst and/or @src, a step at a time. */
static int uptr_engine_walk(struct uptr_cursor *dst, struct uptr_cursor *src, u64 size,
			    uptr_engine_fn fn, void *ctx, const struct uptr_engine_limits *lim)
{
	int ret;

	while (size) {
		s64 n = uptr_engine_step(dst, src, size, fn, ctx, lim);

		if (n < 0)
			return n;
		size -= n;
		ret = uptr_engine_yield(lim);
		if (ret)
			return ret;
	}
	return 0;
}

static void uptr_engine_copy_fn(void *dst, const void *src, size_t len, void *ctx)
{
	memcpy(dst, src, len);
}

static int uptr_engine_copy(const struct uptr_engine_cmd *cmd,
			    const struct uptr_engine_limits *lim)
{
	struct uptr_cursor src, dst;
	int ret;

	uptr_cursor_init(&src, cmd->src, cmd->src_offset, cmd->size, false);
	uptr_cursor_init(&dst, cmd->dst, cmd->dst_offset, cmd->size, true);
	ret = uptr_engine_walk(&dst, &src, cmd->size, uptr_engine_copy_fn, NULL, lim);
	uptr_cursor_fini(&dst);
	uptr_cursor_fini(&src);
	return ret;
}

static void uptr_engine_fill_fn(void *dst, const void *src, size_t len, void *ctx)
{
	/* Offset and size are multiples of 4: len is too. */
	memset32(dst, *(const u32 *)ctx, len / sizeof(u32));
}

static int uptr_engine_fill(const struct uptr_engine_cmd *cmd,
			    const struct uptr_engine_limits *lim)
{
	struct uptr_cursor dst;
	u32 value = cmd->value;
	int ret;

	uptr_cursor_init(&dst, cmd->dst, cmd->dst_offset, cmd->size, true);
	ret = uptr_engine_walk(&dst, NULL, cmd->size, uptr_engine_fill_fn, &value, lim);
	uptr_cursor_fini(&dst);
	return ret;
}

static void uptr_engine_store_fn(void *dst, const void *src, size_t len, void *ctx)
{
	memcpy(dst, ctx, len);
}

/* Writes @len bytes (4 or 8, naturally aligned: within one page). */
static int uptr_engine_write(struct uptr_bo *bo, u64 offset, const void *val, size_t len,
			     const struct uptr_engine_limits *lim)
{
	struct uptr_cursor dst;
	int ret;

	uptr_cursor_init(&dst, bo, offset, len, true);
	ret = uptr_engine_walk(&dst, NULL, len, uptr_engine_store_fn, (void *)val, lim);
	uptr_cursor_fini(&dst);
	return ret;
}

/* Where a checksum step copies the bytes it read: up to a page of them. */
struct uptr_engine_readbuf {
	u8 *buf;
	size_t len;
};

static void uptr_engine_read_fn(void *dst, const void *src, size_t len, void *ctx)
{
	struct uptr_engine_readbuf *rb = ctx;

	memcpy(rb->buf + rb->len, src, len);
	rb->len += len;
}

/*
 * The hash is slow, byte by byte: each page's worth of bytes is copied
 * out inside the critical section, as a DMA engine would read it, and
 * hashed after it, so that an invalidation waits for a memcpy, not for
 * the hash.
 */
static int uptr_engine_checksum(const struct uptr_engine_cmd *cmd,
				const struct uptr_engine_limits *lim)
{
	u64 hash = UPTR_FNV64_OFFSET, left = cmd->size;
	struct uptr_engine_readbuf rb;
	struct uptr_cursor src;
	int ret = 0;

	rb.buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!rb.buf)
		return -ENOMEM;
	uptr_cursor_init(&src, cmd->src, cmd->src_offset, cmd->size, false);
	while (left) {
		s64 n, i;

		/* At most a page of bytes, which may straddle two pages. */
		rb.len = 0;
		n = uptr_engine_step(NULL, &src, min_t(u64, left, PAGE_SIZE),
				     uptr_engine_read_fn, &rb, lim);
		if (n < 0) {
			ret = n;
			break;
		}
		for (i = 0; i < n; i++) {
			hash ^= rb.buf[i];
			hash *= UPTR_FNV64_PRIME;
		}
		left -= n;
		ret = uptr_engine_yield(lim);
		if (ret)
			break;
	}
	uptr_cursor_fini(&src);
	kfree(rb.buf);
	if (ret)
		return ret;
	return uptr_engine_write(cmd->dst, cmd->dst_offset, &hash, sizeof(hash), lim);
}

/*
 * A prefetch: the pages of the range made valid,
 * UPTR_PREFETCH_JOB_STEP_PAGES at a time, the job's limits checked
 * between two steps.
 */
static int uptr_engine_prefetch(const struct uptr_engine_cmd *cmd,
				const struct uptr_engine_limits *lim)
{
	struct uptr_userptr *up = &cmd->dst->userptr;
	unsigned long idx = cmd->dst_offset >> PAGE_SHIFT;
	unsigned long end = (cmd->dst_offset + cmd->size - 1) / PAGE_SIZE + 1;
	int ret = 0;

	while (idx < end && !ret) {
		unsigned long n = min_t(unsigned long, end - idx, UPTR_PREFETCH_JOB_STEP_PAGES);

		ret = uptr_userptr_prefetch(up, idx, n, cmd->value);
		idx += n;
		if (!ret && idx < end)
			ret = uptr_engine_yield(lim);
	}
	return ret;
}

/**
 * uptr_engine_run() - execute commands, in order
 * @cmds: validated commands, whose BOs the caller holds referenced
 * @nr_cmds: number of @cmds
 * @limits: when to stop early
 *
 * Context: process context, may sleep; any thread (the engine reaches
 * coherent userptrs through their BOs' mm, never through current's).
 *
 * Return: 0 once every command ran.  Otherwise the job stopped early,
 * having run its commands in part (what it wrote stays written): -EFAULT
 * at the first page of a coherent userptr it could no longer reach the
 * way the command needs; -EAGAIN if such a page kept being taken away
 * for HMM_RANGE_DEFAULT_TIMEOUT; -ETIMEDOUT past @limits' deadline;
 * -ECANCELED once @limits says so; -EINTR on a fatal signal, if @limits
 * is killable; -ENOMEM.
 */
int uptr_engine_run(const struct uptr_engine_cmd *cmds, unsigned int nr_cmds,
		    const struct uptr_engine_limits *limits)
{
	unsigned int i;
	int ret = uptr_engine_yield(limits);

	for (i = 0; i < nr_cmds && !ret; i++) {
		const struct uptr_engine_cmd *cmd = &cmds[i];

		switch (cmd->op) {
		case DRM_UPTR_OP_COPY:
			ret = uptr_engine_copy(cmd, limits);
			break;
		case DRM_UPTR_OP_FILL:
			ret = uptr_engine_fill(cmd, limits);
			break;
		case DRM_UPTR_OP_STORE_DWORD:
			ret = uptr_engine_write(cmd->dst, cmd->dst_offset, &cmd->value,
						sizeof(cmd->value), limits);
			break;
		case DRM_UPTR_OP_CHECKSUM:
			ret = uptr_engine_checksum(cmd, limits);
			break;
		case UPTR_ENGINE_OP_PREFETCH:
			ret = uptr_engine_prefetch(cmd, limits);
			break;
		}
	}
	return ret;
}

/*
 * Jobs the scheduler may have started on one engine and not completed:
 * no limit.  The files' lanes throttle execution; a limit shared by all
 * files would let one file's backlog hold up another's jobs.
 */
#define UPTR_ENGINE_CREDITS	INT_MAX

/**
 * uptr_engine_init() - set up an engine and its scheduler
 * @engine: the engine, zeroed
 * @index: its number
 * @ops: the job callbacks its scheduler calls
 * @dev: the device, for the scheduler's messages
 *
 * The scheduler has no timeout: the engine ends a job itself at its
 * deadline (see struct uptr_engine_limits), between two steps, so that
 * no job outlives its limit by more than one step or one fault.
 * It starts every job whose dependencies signalled: they wait in their
 * files' lanes.
 *
 * Return: 0, or a negative errno.
 */
int uptr_engine_init(struct uptr_engine *engine, unsigned int index,
		     const struct drm_sched_backend_ops *ops, struct device *dev)
{
	struct drm_sched_init_args args = {
		.ops = ops,
		.credit_limit = UPTR_ENGINE_CREDITS,
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = engine->name,
		.dev = dev,
	};

	engine->index = index;
	snprintf(engine->name, sizeof(engine->name), "engine%u", index);
	spin_lock_init(&engine->fence_lock);
	uptr_sched_init_args(&args);
	return drm_sched_init(&engine->sched, &args);
}

/**
 * uptr_engine_fini() - tear an engine down
 * @engine: an engine set up by uptr_engine_init(), with no job left
 */
void uptr_engine_fini(struct uptr_engine *engine)
{
	drm_sched_fini(&engine->sched);
}
