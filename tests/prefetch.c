// SPDX-License-Identifier: GPL-2.0
/*
 * Description: DRM_IOCTL_UPTR_PREFETCH.  A read or write prefetch makes
 * the pages of a coherent userptr resident (BO_INFO pages_resident,
 * pages_faulted) so that the job that follows faults nothing; a write
 * prefetch populates fresh memory and breaks copy-on-write as a device
 * write would (/proc/self/pagemap); NO_FAULT takes only the pages the
 * CPU maps; ASYNC queues it on an engine behind the file's earlier jobs
 * there, its fence in the out-syncobj, with the error the prefetch met;
 * a signal interrupts a synchronous one, which a restart completes; and
 * each errno of the ioctl.
 *
 * Where a test must see a job not run yet, the job waits for a fence
 * the test signals itself: a vgem fence (Debian's vgem module, loaded on
 * first use), imported into a uptr syncobj, as in tests/engine.c.
 */
#include "uptr_harness.h"

#include <signal.h>
#include <sys/time.h>

#include <linux/dma-buf.h>

#define WRITE		DRM_UPTR_PREFETCH_WRITE
#define NO_FAULT	DRM_UPTR_PREFETCH_NO_FAULT
#define ASYNC		DRM_UPTR_PREFETCH_ASYNC
#define NPAGES		16


/* DRM_IOCTL_UPTR_PREFETCH; 0 or -errno. */
static int prefetch(int fd, __u32 handle, __u64 offset, __u64 size, __u32 flags,
		    __u32 engine, __u32 out)
{
	struct drm_uptr_prefetch p = {
		.handle = handle,
		.flags = flags,
		.offset = offset,
		.size = size,
		.engine = engine,
		.out_syncobj = out,
	};

	return ut_ioctl(fd, DRM_IOCTL_UPTR_PREFETCH, &p);
}

/* The same, once, without restarting on a signal: -errno as the ioctl gives it. */
static int prefetch_once(int fd, __u32 handle, __u64 size, __u32 flags)
{
	struct drm_uptr_prefetch p = { .handle = handle, .flags = flags, .size = size };

	return ioctl(fd, DRM_IOCTL_UPTR_PREFETCH, &p) ? -errno : 0;
}

static int prefetch_ext(int fd, __u32 handle, __u64 size, __u64 extensions)
{
	struct drm_uptr_prefetch p = { .extensions = extensions, .handle = handle, .size = size };

	return ut_ioctl(fd, DRM_IOCTL_UPTR_PREFETCH, &p);
}

static bool present(const void *addr)
{
	__u64 e = 0;

	return !ut_pagemap_entry(addr, &e) && (e & UT_PM_PRESENT);
}

/* A job's out-syncobj, exported as a sync_file; the poll bound in ms. */
static int export_fence(int fd, __u32 syncobj, int *sync_file)
{
	return ut_syncobj_export(fd, syncobj, sync_file);
}

/* Waits, within a bound, for the fence of @sync_file; its status and time. */
static int fence_wait(int sync_file, int *status, __u64 *ts)
{
	int ret = ut_sync_file_poll(sync_file, 60000 * ut_time_scale());

	if (ret != 1)
		return ret < 0 ? ret : -ETIME;
	return ut_sync_file_info(sync_file, status, ts);
}

/*
 * A job held by @g on @engine: a FILL of a one-page device BO, waiting
 * for the gate's syncobj; its fence in a sync_file at *@sync_file.
 */
static int held_job(int fd, size_t page, __u32 engine, struct ut_gate *g, int *sync_file)
{
	struct drm_uptr_cmd c;
	__u32 x, out;
	int ret;

	ret = ut_bo_create(fd, page, &x);
	if (!ret)
		ret = ut_syncobj_create(fd, &out);
	if (ret)
		return ret;
	c = ut_cmd_fill(x, 0, page, 0x600d600d);
	ret = ut_submit_async(fd, engine, &c, 1, &g->syncobj, 1, out);
	return ret ? ret : export_fence(fd, out, sync_file);
}

/* A read prefetch makes every page resident; the read job after it faults nothing. */
TEST_F(uptr, read_prefetch_makes_pages_resident)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size), *map = NULL;
	struct drm_uptr_bo_info i;
	__u32 u, dev;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 7);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	UT_BO_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0ull, i.pages_faulted);

	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, 0, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);
	EXPECT_EQ(0ull, i.jobs);

	/* Again: nothing left to fault. */
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, 0, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);

	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &dev, (void **)&map));
	ASSERT_EQ(0, ut_copy(self->fd, dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, p, size));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	EXPECT_EQ(1ull, i.jobs);
	munmap(map, size);
	munmap(p, size);
}

/*
 * A byte range is rounded out to whole pages: the two pages a range
 * across a page boundary touches, and no other.
 */
TEST_F(uptr, prefetch_rounds_out_to_pages)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 8);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, prefetch(self->fd, u, 3 * self->page - 1, 2, 0, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ(2ull, i.pages_resident);
	munmap(p, size);
}

/*
 * A read prefetch of memory never written takes the pages a CPU read
 * would (the zero page): a write job then faults them again for writing.
 */
TEST_F(uptr, read_prefetch_of_fresh_memory_is_read_only)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, 0, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x11223344));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0x11223344));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)(2 * NPAGES), i.pages_faulted);
	munmap(p, size);
}

/*
 * A write prefetch of fresh anonymous memory populates it (pagemap shows
 * every page present), and the write job after it faults nothing.
 */
TEST_F(uptr, write_prefetch_populates_fresh_memory)
{
	size_t size = NPAGES * self->page, k;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	for (k = 0; k < NPAGES; k++)
		ASSERT_FALSE(present(p + k * self->page));

	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, WRITE, 0, 0));
	for (k = 0; k < NPAGES; k++)
		EXPECT_TRUE(present(p + k * self->page)) {
			TH_LOG("page %zu not present after a write prefetch", k);
		}
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);

	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0xfeedf00d));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0xfeedf00d));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	munmap(p, size);
}

/*
 * A write prefetch after fork breaks copy-on-write as a device write
 * would: the parent gets pages of its own (pagemap's exclusive bit and a
 * new PFN), a write job then faults nothing, and the child's pages keep
 * what they held.
 */
TEST_F(uptr, write_prefetch_breaks_cow_after_fork)
{
	size_t size = NPAGES * self->page, k;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_bo_info i;
	__u64 e, pfn[NPAGES];
	int go[2], status;
	pid_t pid;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 9);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(ut_find_diff(p, ref, size) == -1 ? 0 : 1);
	}
	close(go[0]);
	for (k = 0; k < NPAGES; k++) {
		ASSERT_EQ(0, ut_pagemap_entry(p + k * self->page, &e));
		ASSERT_EQ(0ull, e & UT_PM_EXCLUSIVE);
		pfn[k] = e & UT_PM_PFN_MASK;
	}

	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, WRITE, 0, 0));
	for (k = 0; k < NPAGES; k++) {
		ASSERT_EQ(0, ut_pagemap_entry(p + k * self->page, &e));
		EXPECT_NE(0ull, e & UT_PM_EXCLUSIVE) {
			TH_LOG("page %zu still shared with the child after a write prefetch", k);
		}
		if (pfn[k])
			EXPECT_NE(pfn[k], e & UT_PM_PFN_MASK);
	}
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);

	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0xc0c0c0c0));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0xc0c0c0c0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);

	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("the child's pages changed under the parent's device write");
	}
	free(ref);
	munmap(p, size);
}

/*
 * NO_FAULT takes the pages the CPU touched and no other: every other
 * page written, half resident, the untouched ones still not present.
 */
TEST_F(uptr, no_fault_takes_only_mapped_pages)
{
	size_t size = NPAGES * self->page, k;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	for (k = 0; k < NPAGES; k += 2)
		p[k * self->page] = 1;
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, NO_FAULT, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES / 2, i.pages_resident);
	EXPECT_EQ((__u64)NPAGES / 2, i.pages_faulted);
	for (k = 0; k < NPAGES; k++)
		EXPECT_EQ(!(k & 1), present(p + k * self->page)) {
			TH_LOG("page %zu: present %d", k, present(p + k * self->page));
		}

	/* The pages taken are writable, as the CPU maps them: a FILL of them faults nothing. */
	for (k = 0; k < NPAGES; k += 2)
		ASSERT_EQ(0, ut_store(self->fd, u, k * self->page, 0x5a5a5a5a));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES / 2, i.pages_faulted);
	EXPECT_EQ(0x5a5a5a5au, *(__u32 *)p);
	munmap(p, size);
}

/* NO_FAULT over unmapped and PROT_NONE memory takes nothing and is no error. */
TEST_F(uptr, no_fault_skips_unmapped_memory)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, munmap(p, size / 2));
	ASSERT_EQ(0, mprotect(p + size / 2, self->page, PROT_NONE));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, NO_FAULT, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES / 2 - 1, i.pages_resident);
	munmap(p + size / 2, size / 2);
}

/*
 * An asynchronous prefetch runs after the file's earlier job on its
 * engine: held by a gate, the job keeps the prefetch's fence unsignalled
 * and its pages not resident; once the gate opens, both signal, in order.
 */
TEST_F(uptr, async_prefetch_is_ordered_after_earlier_job)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_bo_info i;
	int job_fence = -1, pf_fence = -1, st = 0;
	__u64 job_ts = 0, pf_ts = 0;
	__u32 u, out;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, held_job(self->fd, self->page, 1, &g, &job_fence));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, WRITE | ASYNC, 1, out));
	ASSERT_EQ(0, export_fence(self->fd, out, &pf_fence));

	EXPECT_EQ(0, ut_sync_file_poll(pf_fence, 0));
	EXPECT_EQ(-ETIME, ut_syncobj_wait(self->fd, out, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_FALSE(present(p));

	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, fence_wait(pf_fence, &st, &pf_ts));
	EXPECT_EQ(1, st);
	ASSERT_EQ(0, fence_wait(job_fence, &st, &job_ts));
	EXPECT_EQ(1, st);
	EXPECT_LE(job_ts, pf_ts);
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	EXPECT_EQ((__u64)NPAGES, i.pages_faulted);
	EXPECT_TRUE(present(p + size - self->page));
	close(job_fence);
	close(pf_fence);
	ut_gate_fini(&g);
	munmap(p, size);
}

/* An asynchronous prefetch over memory unmapped before it ran ends with -EFAULT. */
TEST_F(uptr, async_prefetch_of_unmapped_memory_fails)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct ut_gate g = { .vgem = -1 };
	int job_fence = -1, pf_fence = -1, st = 0;
	__u32 u, out;
	__u64 ts;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, held_job(self->fd, self->page, 0, &g, &job_fence));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, ASYNC, 0, out));
	ASSERT_EQ(0, export_fence(self->fd, out, &pf_fence));
	EXPECT_EQ(0, ut_sync_file_poll(pf_fence, 0));
	ASSERT_EQ(0, munmap(p, size));

	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, fence_wait(pf_fence, &st, &ts));
	EXPECT_EQ(-EFAULT, st);
	close(job_fence);
	close(pf_fence);
	ut_gate_fini(&g);
}

/*
 * Closing the file cancels an asynchronous prefetch that has not run:
 * queued behind 100 GiB of FILL jobs on its engine, it ends with
 * -ECANCELED, its pages untouched.
 */
TEST_F_TIMEOUT(uptr, async_prefetch_cancelled_by_close, 120)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_cmd c[16];
	int pf_fence = -1, st = 0;
	unsigned int k;
	__u32 u, x, out;
	__u64 ts;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create(self->fd, 64 * UT_MIB, &x));
	for (k = 0; k < 16; k++)
		c[k] = ut_cmd_fill(x, 0, 64 * UT_MIB, k);
	for (k = 0; k < 100; k++)
		ASSERT_EQ(0, ut_submit_async(self->fd, 0, c, 16, NULL, 0, 0));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));
	ASSERT_EQ(0, prefetch(self->fd, u, 0, size, WRITE | ASYNC, 0, out));
	ASSERT_EQ(0, export_fence(self->fd, out, &pf_fence));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, fence_wait(pf_fence, &st, &ts));
	EXPECT_EQ(-ECANCELED, st);
	EXPECT_FALSE(present(p));
	close(pf_fence);
	munmap(p, size);
}

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

/* Starts a 200 us interval timer whose SIGALRM handler restarts system calls or not. */
static int ticker_start(bool restart)
{
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = restart ? SA_RESTART : 0 };
	struct itimerval it = { { 0, 200 }, { 0, 200 } };

	ticks = 0;
	if (sigaction(SIGALRM, &sa, NULL))
		return -errno;
	return setitimer(ITIMER_REAL, &it, NULL) ? -errno : 0;
}

static void ticker_stop(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
}

/*
 * A signal stops a long synchronous prefetch between two 2 MiB steps
 * (EINTR for a handler without SA_RESTART), the pages done so far stay
 * resident; with SA_RESTART the ioctl is restarted and completes, the
 * restarts going on from the pages already valid.
 */
TEST_F(uptr, signal_interrupts_then_restart_completes)
{
	size_t size = 128 * UT_MIB, n = size / self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	int ret;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));

	ASSERT_EQ(0, ticker_start(false));
	ret = prefetch_once(self->fd, u, size, WRITE);
	ticker_stop();
	ASSERT_EQ(-EINTR, ret) {
		TH_LOG("%d ticks during the prefetch", (int)ticks);
	}
	UT_BO_INFO(u, i);
	EXPECT_LT(0ull, i.pages_resident);
	EXPECT_GT((__u64)n, i.pages_resident);

	ASSERT_EQ(0, ticker_start(true));
	ret = prefetch_once(self->fd, u, size, WRITE);
	ticker_stop();
	ASSERT_EQ(0, ret);
	UT_BO_INFO(u, i);
	EXPECT_LE((__u64)n, i.pages_faulted);
	/*
	 * NUMA balancing or swap (the suite's guest has both) may take pages
	 * away meanwhile, and the restarted prefetch faults them again: exact
	 * counts only when nothing was invalidated.
	 */
	if (!i.invalidations) {
		EXPECT_EQ((__u64)n, i.pages_resident);
		EXPECT_EQ((__u64)n, i.pages_faulted);
	} else {
		TH_LOG("%llu invalidations meanwhile: %llu pages faulted, %llu resident",
		       (unsigned long long)i.invalidations,
		       (unsigned long long)i.pages_faulted,
		       (unsigned long long)i.pages_resident);
	}
	munmap(p, size);
}

/* Every -EINVAL and -ENOENT of the ioctl's own checks. */
TEST_F(uptr, errno_invalid_arguments)
{
	struct drm_uptr_user_extension ext = { .name = 1 };
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	__u32 u, out;
	__u64 engines = 0;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_ENGINE_COUNT, &engines));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));

	EXPECT_EQ(-EFAULT, prefetch_ext(self->fd, u, size, 1));
	EXPECT_EQ(-EINVAL, prefetch_ext(self->fd, u, size, (uintptr_t)&ext));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, 1u << 3, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, 1u << 31, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, NO_FAULT | WRITE, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, ASYNC, engines, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, 0, 1, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size, 0, 0, out));
	/* Argument checks come before the handle's. */
	EXPECT_EQ(-EINVAL, prefetch(self->fd, 0xdead, 0, 0, 0, 0, 0));

	EXPECT_EQ(-ENOENT, prefetch(self->fd, 0xdead, 0, size, 0, 0, 0));
	EXPECT_EQ(-ENOENT, prefetch(self->fd, 0xdead, 0, size, ASYNC, 0, 0));

	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, 0, size + 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, size, 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, self->page, ~0ull, 0, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, u, ~0ull, 2, ASYNC, 0, 0));

	EXPECT_EQ(-ENOENT, prefetch(self->fd, u, 0, size, ASYNC, 0, 0xdead));
	/* The whole BO is fine. */
	EXPECT_EQ(0, prefetch(self->fd, u, 0, size, 0, 0, 0));
	munmap(p, size);
}

/*
 * Device BOs and pinned userptrs are always resident: refused with
 * -EINVAL, as RDMA refuses to prefetch a region without on-demand paging.
 */
TEST_F(uptr, errno_not_a_coherent_userptr)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	__u32 dev, pinned;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &dev));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, DRM_UPTR_USERPTR_PINNED, &pinned));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, dev, 0, size, 0, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, dev, 0, size, ASYNC, 0, 0));
	EXPECT_EQ(-EINVAL, prefetch(self->fd, pinned, 0, size, WRITE, 0, 0));
	EXPECT_EQ(0, ut_gem_close(self->fd, pinned));
	munmap(p, size);
}

/* WRITE on a READ_ONLY userptr: -EACCES, as a job writing it; a read prefetch is fine. */
TEST_F(uptr, errno_write_to_read_only_userptr)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, DRM_UPTR_USERPTR_READ_ONLY, &u));
	EXPECT_EQ(-EACCES, prefetch(self->fd, u, 0, size, WRITE, 0, 0));
	EXPECT_EQ(-EACCES, prefetch(self->fd, u, 0, size, WRITE | ASYNC, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0, prefetch(self->fd, u, 0, size, 0, 0, 0));
	EXPECT_EQ(0, prefetch(self->fd, u, 0, size, NO_FAULT, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_EQ((__u64)NPAGES, i.pages_resident);
	munmap(p, size);
}

/* A userptr prefetched from a process other than its creator: -EFAULT. */
TEST_F(uptr, errno_other_process)
{
	size_t size = NPAGES * self->page;
	unsigned char *p = ut_alloc_small_pages(size);
	int status;
	pid_t pid;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(prefetch(self->fd, u, 0, size, 0, 0, 0) == -EFAULT &&
		      prefetch(self->fd, u, 0, size, ASYNC, 0, 0) == -EFAULT ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap(p, size);
}

/*
 * -EFAULT for a page that cannot be accessed as asked: unmapped,
 * PROT_NONE, read-only for WRITE, or not ordinary memory (a mapping of a
 * uptr BO, refused with NO_FAULT too).  The pages before it stay valid.
 */
TEST_F(uptr, errno_unreachable_pages)
{
	size_t page = self->page, size = NPAGES * page;
	unsigned char *p = ut_alloc_small_pages(size), *bo_map = NULL;
	struct drm_uptr_bo_info i;
	__u32 u, dev, over_bo;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));

	/* Read-only mapping: a read prefetch is fine, a write one is not. */
	ASSERT_EQ(0, mprotect(p + 8 * page, 4 * page, PROT_READ));
	EXPECT_EQ(0, prefetch(self->fd, u, 8 * page, 4 * page, 0, 0, 0));
	EXPECT_EQ(-EFAULT, prefetch(self->fd, u, 8 * page, 4 * page, WRITE, 0, 0));
	/* PROT_NONE. */
	ASSERT_EQ(0, mprotect(p + 12 * page, 4 * page, PROT_NONE));
	EXPECT_EQ(-EFAULT, prefetch(self->fd, u, 12 * page, 4 * page, 0, 0, 0));
	/* A hole: the pages before it are made valid. */
	ASSERT_EQ(0, munmap(p + 4 * page, page));
	EXPECT_EQ(-EFAULT, prefetch(self->fd, u, 0, size, 0, 0, 0));
	UT_BO_INFO(u, i);
	EXPECT_LE(4ull, i.pages_resident);
	EXPECT_GT((__u64)NPAGES, i.pages_resident);

	/* Not ordinary memory: a mapping of a uptr device BO. */
	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &dev, (void **)&bo_map));
	memset(bo_map, 2, size);
	ASSERT_EQ(0, ut_userptr(self->fd, bo_map, size, 0, &over_bo));
	EXPECT_EQ(-EFAULT, prefetch(self->fd, over_bo, 0, size, 0, 0, 0));
	EXPECT_EQ(-EFAULT, prefetch(self->fd, over_bo, 0, size, NO_FAULT, 0, 0));
	munmap(bo_map, size);
	munmap(p, size);
}

TEST_HARNESS_MAIN
