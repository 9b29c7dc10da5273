// SPDX-License-Identifier: GPL-2.0
/*
 * Description: asynchronous engines: SUBMIT returns before the job runs,
 * jobs of one file on one engine run in order, engines run at the same
 * time, in-syncobjs (across engines and files, and as sync_files),
 * out-syncobjs, implicit synchronisation through the BOs, BO_WAIT's
 * absolute deadline, the per-job time limit, what closing the file
 * does to its jobs and fences, and the synchronous job that runs on its
 * submitter's thread when nothing is ahead of it.
 *
 * Where a test must see a job not run yet, the job waits for a fence that
 * the test signals itself: a vgem fence (Debian's vgem module, loaded on
 * first use), imported into a uptr syncobj.  Nothing depends on speed.
 */
#include "uptr_harness.h"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <linux/dma-buf.h>

#define SEC		1000000000ll
#define LONG_BO		(64 * UT_MIB)	/* 16 FILLs of it: 1 GiB, the most a job covers */

/* A job's out-syncobj and the sync_file exported from it. */
struct out {
	__u32 syncobj;
	int sync_file;
};

static int out_init(int fd, struct out *o)
{
	o->sync_file = -1;
	return ut_syncobj_create(fd, &o->syncobj);
}

/* Exports the fence the job put into @o (after the submit). */
static int out_export(int fd, struct out *o)
{
	return ut_syncobj_export(fd, o->syncobj, &o->sync_file);
}

/* Waits, within a bound, for the job of @o; its status and signal time. */
static int out_wait(struct out *o, int *status, __u64 *ts)
{
	int ret = ut_sync_file_poll(o->sync_file, 60000 * ut_time_scale());

	if (ret != 1)
		return ret < 0 ? ret : -ETIME;
	return ut_sync_file_info(o->sync_file, status, ts);
}

/*
 * One job on @engine of file @fd: a FILL of @value over a fresh one-page
 * BO, waiting for the @nin syncobjs at @in; its fence exported into @o.
 */
static int fill_job(int fd, size_t page, __u32 engine, const __u32 *in, __u32 nin,
		    __u32 value, struct out *o)
{
	struct drm_uptr_cmd c;
	__u32 x;
	int ret;

	ret = ut_bo_create(fd, page, &x);
	if (!ret)
		ret = out_init(fd, o);
	if (ret)
		return ret;
	c = ut_cmd_fill(x, 0, page, value);
	ret = ut_submit_async(fd, engine, &c, 1, in, nin, o->syncobj);
	return ret ? ret : out_export(fd, o);
}

/* A device BO of @size bytes, mapped; NULL on failure. */
static void *bo_map(int fd, __u64 size, __u32 *handle)
{
	void *map = NULL;

	return ut_bo_create_map(fd, size, handle, &map) ? NULL : map;
}

/* 16 FILLs of a LONG_BO BO: a 1 GiB job, the last FILL writing @value. */
static void long_cmds(struct drm_uptr_cmd *c, __u32 bo, __u32 value)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		c[i] = ut_cmd_fill(bo, 0, LONG_BO, value - 15 + i);
}

/* SUBMIT returns before the job runs; the fence and BO_WAIT say when it has. */
TEST_F(uptr, submit_returns_before_the_job_runs)
{
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd c;
	struct out o;
	__u32 *map, x;
	__u64 ts;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	map = bo_map(self->fd, self->page, &x);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, out_init(self->fd, &o));
	c = ut_cmd_fill(x, 0, self->page, 0x5eed5eed);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, &g.syncobj, 1, o.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o));

	EXPECT_EQ(0, ut_sync_file_poll(o.sync_file, 0));
	EXPECT_EQ(-ETIME, ut_bo_wait(self->fd, x, 0));
	EXPECT_EQ(-ETIME, ut_syncobj_wait(self->fd, o.syncobj, 0));
	EXPECT_EQ(0u, map[0]);

	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(0, ut_syncobj_wait(self->fd, o.syncobj, 0));
	EXPECT_EQ(0, ut_bo_wait(self->fd, x, 0));
	EXPECT_EQ(-1, ut_find_not_dword(map, self->page, 0x5eed5eed));
	close(o.sync_file);
	ut_gate_fini(&g);
}

/* A file's jobs on one engine complete in submission order, even with no dependency between them. */
TEST_F(uptr, one_engine_runs_jobs_in_order)
{
	struct ut_gate g = { .vgem = -1 };
	struct out o[4];
	__u64 ts[4];
	unsigned int i;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	/* The first waits for the gate; the others for nothing but their turn. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, fill_job(self->fd, self->page, 0, &g.syncobj, !i, i + 1, &o[i]));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, ut_sync_file_poll(o[i].sync_file, 0)) {
			TH_LOG("job %u completed before the job ahead of it", i);
		}
	}
	ASSERT_EQ(0, ut_gate_open(&g));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, out_wait(&o[i], &st, &ts[i]));
		EXPECT_EQ(1, st);
		if (i) {
			EXPECT_LE(ts[i - 1], ts[i]);
		}
		close(o[i].sync_file);
	}
	ut_gate_fini(&g);
}

/* A job on engine 1 runs while engine 0's job of the same file waits. */
TEST_F(uptr, engines_run_at_the_same_time)
{
	struct ut_gate g = { .vgem = -1 };
	struct out o[2];
	__u64 engines, ts;
	int st = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_ENGINE_COUNT, &engines));
	ASSERT_LE(2ull, engines);
	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, fill_job(self->fd, self->page, 0, &g.syncobj, 1, 1, &o[0]));
	ASSERT_EQ(0, fill_job(self->fd, self->page, 1, NULL, 0, 2, &o[1]));

	ASSERT_EQ(0, out_wait(&o[1], &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(0, ut_sync_file_poll(o[0].sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&o[0], &st, &ts));
	EXPECT_EQ(1, st);
	close(o[0].sync_file);
	close(o[1].sync_file);
	ut_gate_fini(&g);
}

/* An in-syncobj holds a job on an idle engine until the fence in it signals. */
TEST_F(uptr, in_syncobj_across_engines)
{
	struct ut_gate g = { .vgem = -1 };
	struct out o[2];
	__u64 ts[2];
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, fill_job(self->fd, self->page, 0, &g.syncobj, 1, 1, &o[0]));
	ASSERT_EQ(0, fill_job(self->fd, self->page, 1, &o[0].syncobj, 1, 2, &o[1]));

	EXPECT_EQ(0, ut_sync_file_poll(o[1].sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&o[1], &st, &ts[1]));
	EXPECT_EQ(1, st);
	ASSERT_EQ(0, out_wait(&o[0], &st, &ts[0]));
	EXPECT_EQ(1, st);
	EXPECT_LE(ts[0], ts[1]);
	close(o[0].sync_file);
	close(o[1].sync_file);
	ut_gate_fini(&g);
}

/* A job's fence, passed to another file as a sync_file, holds that file's job. */
TEST_F(uptr, in_syncobj_across_files)
{
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd c[2];
	struct out o[2];
	__u32 x[2], in2;
	__u64 ts[2];
	int fd2, st;

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x[0]));
	ASSERT_EQ(0, ut_bo_create(fd2, self->page, &x[1]));
	ASSERT_EQ(0, out_init(self->fd, &o[0]));
	ASSERT_EQ(0, out_init(fd2, &o[1]));
	ASSERT_EQ(0, ut_syncobj_create(fd2, &in2));
	c[0] = ut_cmd_fill(x[0], 0, self->page, 1);
	c[1] = ut_cmd_fill(x[1], 0, self->page, 2);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c[0], 1, &g.syncobj, 1, o[0].syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o[0]));
	ASSERT_EQ(0, ut_syncobj_import(fd2, in2, o[0].sync_file));
	ASSERT_EQ(0, ut_submit_async(fd2, 0, &c[1], 1, &in2, 1, o[1].syncobj));
	ASSERT_EQ(0, out_export(fd2, &o[1]));

	EXPECT_EQ(0, ut_sync_file_poll(o[1].sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&o[1], &st, &ts[1]));
	EXPECT_EQ(1, st);
	ASSERT_EQ(0, out_wait(&o[0], &st, &ts[0]));
	EXPECT_LE(ts[0], ts[1]);
	close(o[0].sync_file);
	close(o[1].sync_file);
	close(fd2);
	ut_gate_fini(&g);
}

/* The out-syncobj's fence as a sync_file: poll() wakes when it signals, and it imports back. */
TEST_F(uptr, out_syncobj_sync_file_round_trip)
{
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd c;
	__u32 x, back;
	struct out o;
	__u64 ts;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x));
	ASSERT_EQ(0, out_init(self->fd, &o));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &back));
	c = ut_cmd_fill(x, 0, self->page, 1);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, &g.syncobj, 1, o.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o));
	ASSERT_EQ(0, ut_syncobj_import(self->fd, back, o.sync_file));

	EXPECT_EQ(0, ut_sync_file_poll(o.sync_file, 0));
	EXPECT_EQ(0, ut_sync_file_info(o.sync_file, &st, &ts));
	EXPECT_EQ(0, st);
	EXPECT_EQ(-ETIME, ut_syncobj_wait(self->fd, back, SEC / 100));
	ASSERT_EQ(0, ut_gate_open(&g));
	EXPECT_EQ(1, ut_sync_file_poll(o.sync_file, 60000 * ut_time_scale()));
	EXPECT_EQ(0, ut_sync_file_info(o.sync_file, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(0, ut_syncobj_wait(self->fd, back, 0));
	close(o.sync_file);
	ut_gate_fini(&g);
}

/* A job reading a BO waits for the earlier job writing it, on another engine. */
TEST_F(uptr, implicit_sync_read_after_write)
{
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd w, r;
	struct out o;
	__u32 x, y, *map;
	__u64 ts;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x));
	map = bo_map(self->fd, self->page, &y);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, out_init(self->fd, &o));
	w = ut_cmd_fill(x, 0, self->page, 0xfeedf00d);
	r = ut_cmd_copy(y, 0, x, 0, self->page);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &w, 1, &g.syncobj, 1, 0));
	ASSERT_EQ(0, ut_submit_async(self->fd, 1, &r, 1, NULL, 0, o.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o));

	EXPECT_EQ(0, ut_sync_file_poll(o.sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(-1, ut_find_not_dword(map, self->page, 0xfeedf00d));
	close(o.sync_file);
	ut_gate_fini(&g);
}

/* A job writing a BO waits for the earlier job reading it; readers do not wait for readers. */
TEST_F(uptr, implicit_sync_write_after_read)
{
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd r, r2, w;
	struct out ow, or2;
	__u32 x, z, z2, *xmap;
	__u64 *zmap, *z2map, ts, want;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	xmap = bo_map(self->fd, self->page, &x);
	ASSERT_NE(NULL, xmap);
	zmap = bo_map(self->fd, self->page, &z);
	ASSERT_NE(NULL, zmap);
	z2map = bo_map(self->fd, self->page, &z2);
	ASSERT_NE(NULL, z2map);
	ut_pattern(xmap, self->page, 3);
	want = ut_fnv1a(xmap, self->page);
	ASSERT_EQ(0, out_init(self->fd, &ow));
	ASSERT_EQ(0, out_init(self->fd, &or2));
	r = ut_cmd_checksum(z, 0, x, 0, self->page);
	r2 = ut_cmd_checksum(z2, 0, x, 0, self->page);
	w = ut_cmd_fill(x, 0, self->page, 0);
	/* A reader held by the gate, then a second reader on the other engine... */
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &r, 1, &g.syncobj, 1, 0));
	ASSERT_EQ(0, ut_submit_async(self->fd, 1, &r2, 1, NULL, 0, or2.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &or2));
	/* ...which completes at once, then a writer. */
	ASSERT_EQ(0, out_wait(&or2, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(want, z2map[0]);
	ASSERT_EQ(0, ut_submit_async(self->fd, 1, &w, 1, NULL, 0, ow.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &ow));

	EXPECT_EQ(0, ut_sync_file_poll(ow.sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, out_wait(&ow, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_EQ(0, ut_bo_wait(self->fd, z, 60 * SEC));
	EXPECT_EQ(want, zmap[0]);
	EXPECT_EQ(-1, ut_find_not_dword(xmap, self->page, 0));
	close(ow.sync_file);
	close(or2.sync_file);
	ut_gate_fini(&g);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * BO_WAIT's deadline is absolute: signals that restart the ioctl every
 * 20 ms do not push it back.  A deadline of 0 only asks.
 */
TEST_F(uptr, bo_wait_absolute_deadline)
{
	struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct ut_gate g = { .vgem = -1 };
	struct drm_uptr_cmd c;
	double t;
	__u32 x;
	int ret;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x));
	c = ut_cmd_fill(x, 0, self->page, 1);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, &g.syncobj, 1, 0));
	EXPECT_EQ(-ETIME, ut_bo_wait(self->fd, x, 0));

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &every, NULL));
	t = ut_now();
	ret = ut_bo_wait(self->fd, x, SEC / 2);
	t = ut_now() - t;
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_EQ(-ETIME, ret);
	EXPECT_LE(0.45, t);
	/* Restarted from scratch, it would last until vgem's own 10 s timeout. */
	EXPECT_GT(5.0, t) {
		TH_LOG("a 0.5 s wait interrupted every 20 ms took %.2f s", t);
	}

	ASSERT_EQ(0, ut_gate_open(&g));
	EXPECT_EQ(0, ut_bo_wait(self->fd, x, 60 * SEC));
	EXPECT_EQ(0, ut_bo_wait(self->fd, x, 0));
	ut_gate_fini(&g);
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0;
	return fclose(f) || ret ? -EIO : 0;
}

/* A job running past job_timeout_ms ends with -ETIMEDOUT, on its fence and from SUBMIT_WAIT. */
TEST_F_TIMEOUT(uptr, job_time_limit, 120)
{
	struct drm_uptr_cmd c[16];
	long saved = ut_read_long(UT_PARAM_JOB_TIMEOUT_MS);
	__u64 v = 0, ts;
	struct out o;
	int st = 0, ret;
	__u32 x;

	ASSERT_LT(0, saved);
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_JOB_TIMEOUT_MS, &v));
	EXPECT_EQ((__u64)saved, v);
	ASSERT_EQ(0, ut_bo_create(self->fd, LONG_BO, &x));
	long_cmds(c, x, 7);
	ASSERT_EQ(0, out_init(self->fd, &o));

	/* 1 GiB of FILL never fits in 20 ms. */
	ASSERT_EQ(0, write_long(UT_PARAM_JOB_TIMEOUT_MS, 20));
	EXPECT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_JOB_TIMEOUT_MS, &v));
	EXPECT_EQ(20ull, v);
	ret = ut_submit_async(self->fd, 0, c, 16, NULL, 0, o.syncobj);
	if (!ret)
		ret = out_export(self->fd, &o);
	if (!ret)
		ret = out_wait(&o, &st, &ts);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(-ETIMEDOUT, st);
	EXPECT_EQ(-ETIMEDOUT, ut_submit(self->fd, c, 16));
	ASSERT_EQ(0, write_long(UT_PARAM_JOB_TIMEOUT_MS, saved));
	EXPECT_EQ(0, ut_fill(self->fd, x, 0, self->page, 1));
	close(o.sync_file);
}

/*
 * Closing the file with 1 000 long jobs queued: close() returns, the
 * queued jobs end with -ECANCELED without running, and the fences
 * exported before stay valid and signalled.
 */
TEST_F_TIMEOUT(uptr, close_cancels_queued_jobs, 120)
{
	const unsigned int n = 1000, watched[3] = { 0, 500, 999 };
	struct drm_uptr_cmd c[16];
	struct out o[3];
	unsigned int i, k = 0;
	__u64 ts;
	double t;
	__u32 x;
	int st = 0;

	ASSERT_EQ(0, ut_bo_create(self->fd, LONG_BO, &x));
	long_cmds(c, x, 9);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, out_init(self->fd, &o[i]));
	for (i = 0; i < n; i++) {
		__u32 out = k < 3 && watched[k] == i ? o[k].syncobj : 0;

		ASSERT_EQ(0, ut_submit_async(self->fd, 0, c, 16, NULL, 0, out)) {
			TH_LOG("job %u", i);
		}
		if (out)
			ASSERT_EQ(0, out_export(self->fd, &o[k++]));
	}
	t = ut_now();
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	t = ut_now() - t;
	TH_LOG("close() with %u jobs of 1 GiB queued: %.3f s", n, t);
	EXPECT_GT(30.0 * ut_time_scale(), t);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, out_wait(&o[i], &st, &ts));
		/* The first may have completed; 500 GiB of FILL cannot have. */
		if (i) {
			EXPECT_EQ(-ECANCELED, st);
		} else {
			EXPECT_TRUE(st == 1 || st == -ECANCELED) {
				TH_LOG("running job: status %d", st);
			}
		}
		close(o[i].sync_file);
	}
}

#define REFCNT	"/sys/module/uptr/refcnt"

/* A sync_file outlives the file it came from, and holds the module until it is closed. */
TEST_F(uptr, sync_file_outlives_its_file)
{
	struct drm_uptr_cmd c;
	long with_fd, with_fence;
	double start;
	struct out o;
	__u64 ts;
	__u32 x;
	int st = 0;

	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x));
	ASSERT_EQ(0, out_init(self->fd, &o));
	c = ut_cmd_fill(x, 0, self->page, 1);
	ASSERT_EQ(0, ut_submit_async(self->fd, 1, &c, 1, NULL, 0, o.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o));
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	EXPECT_EQ(1, st);
	with_fd = ut_read_long(REFCNT);
	ASSERT_LT(0, with_fd);

	/* The file goes; the fence, its timeline and the module stay. */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	start = ut_now();
	do
		with_fence = ut_read_long(REFCNT);
	while (with_fence >= with_fd && ut_now() - start < 10);
	EXPECT_EQ(with_fd - 1, with_fence);
	EXPECT_LT(0, with_fence);
	EXPECT_EQ(0, ut_sync_file_info(o.sync_file, &st, &ts));
	EXPECT_EQ(1, st) {
		TH_LOG("the fence's status changed to %d after its file was closed", st);
	}
	EXPECT_EQ(1, ut_sync_file_poll(o.sync_file, 0));

	ASSERT_EQ(0, close(o.sync_file));
	start = ut_now();
	while (ut_read_long(REFCNT) >= with_fence && ut_now() - start < 10 * ut_time_scale())
		usleep(1000);
	EXPECT_EQ(with_fence - 1, ut_read_long(REFCNT));
}

/* Bad syncobj arguments: the documented errno, and the job does not run. */
TEST_F(uptr, submit_syncobj_errors)
{
	struct drm_uptr_cmd c;
	__u32 x, empty, bad = 0xdeadbeef, *map, ok;
	struct drm_uptr_bo_info info;
	struct drm_uptr_submit s;
	__u64 max = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_COMMANDS, &max));
	map = bo_map(self->fd, self->page, &x);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &empty));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &ok));
	c = ut_cmd_fill(x, 0, self->page, 1);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, NULL, 0, ok));

	EXPECT_EQ(-ENOENT, ut_submit_async(self->fd, 0, &c, 1, &bad, 1, 0));
	EXPECT_EQ(-EINVAL, ut_submit_async(self->fd, 0, &c, 1, &empty, 1, 0));
	EXPECT_EQ(-ENOENT, ut_submit_async(self->fd, 0, &c, 1, NULL, 0, bad));
	EXPECT_EQ(-EFAULT, ut_submit_async(self->fd, 0, &c, 1, (__u32 *)8, 1, 0));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .in_syncobjs = (uintptr_t)&ok,
				      .in_syncobj_count = max + 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_SUBMIT, &s));
	/* The one good job ran; none of the refused ones did, nor touched @empty. */
	EXPECT_EQ(0, ut_syncobj_wait(self->fd, ok, 60 * SEC));
	EXPECT_EQ(0, ut_bo_wait(self->fd, x, 60 * SEC));
	ASSERT_EQ(0, ut_bo_info(self->fd, x, &info));
	EXPECT_EQ(1ull, info.jobs);
	EXPECT_EQ(-EINVAL, ut_syncobj_wait(self->fd, empty, 0));
	EXPECT_EQ(-1, ut_find_not_dword(map, self->page, 1));
}

/* The engine time of @fd's jobs on engine @engine so far (fdinfo), in ns; ~0 if unreadable. */
static __u64 engine_ns(int fd, unsigned int engine)
{
	char path[64], key[32], line[256];
	unsigned long long v;
	__u64 ns = ~0ull;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(key, sizeof(key), "drm-engine-engine%u:\t%%llu ns", engine);
	f = fopen(path, "r");
	if (!f)
		return ns;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, key, &v) == 1)
			ns = v;
	fclose(f);
	return ns;
}

/* The calling thread's CPU time, in ns. */
static __u64 thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * (__u64)SEC + t.tv_nsec;
}

/*
 * A job waited for, with nothing ahead of it, runs on the submitting
 * thread: the thread's CPU time grows by about the engine time the job
 * took.  A queued job's engine time is spent on the engine's worker.
 */
TEST_F(uptr, sync_job_runs_on_submitting_thread)
{
	__u64 busy, cpu;
	struct drm_uptr_cmd c;
	struct out o;
	__u64 ts;
	int st = 0;
	__u32 x;

	ASSERT_EQ(0, ut_bo_create(self->fd, LONG_BO, &x));
	c = ut_cmd_fill(x, 0, LONG_BO, 1);
	busy = engine_ns(self->fd, 0);
	cpu = thread_cpu_ns();
	ASSERT_EQ(0, ut_submit(self->fd, &c, 1));
	cpu = thread_cpu_ns() - cpu;
	busy = engine_ns(self->fd, 0) - busy;
	ASSERT_LT(0ull, busy);
	EXPECT_LE(busy / 2, cpu) {
		TH_LOG("job took %llu ns on the engine, %llu ns of the thread's CPU",
		       (unsigned long long)busy, (unsigned long long)cpu);
	}

	ASSERT_EQ(0, out_init(self->fd, &o));
	c.value = 2;
	busy = engine_ns(self->fd, 0);
	cpu = thread_cpu_ns();
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, NULL, 0, o.syncobj));
	ASSERT_EQ(0, out_export(self->fd, &o));
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	cpu = thread_cpu_ns() - cpu;
	busy = engine_ns(self->fd, 0) - busy;
	EXPECT_EQ(1, st);
	ASSERT_LT(0ull, busy);
	EXPECT_GT(busy / 2, cpu) {
		TH_LOG("queued job took %llu ns on the engine, %llu ns of the thread's CPU",
		       (unsigned long long)busy, (unsigned long long)cpu);
	}
	close(o.sync_file);
}

/* A SUBMIT_WAIT made on another thread: its job, and what it returned. */
struct waiter {
	int fd;
	struct drm_uptr_submit s;
	int ret;
	pid_t tid;
	volatile int started;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	w->ret = ut_ioctl(w->fd, DRM_IOCTL_UPTR_SUBMIT, &w->s);
	return NULL;
}

/* State letter of thread @tid of this process (R, S, D, ...); 0 if unknown. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Waits, within a bound, until the waiter sleeps in its SUBMIT_WAIT
 * (uninterruptible but killable: "D"); false if it never did.
 */
static bool waiter_blocked(struct waiter *w)
{
	int i, n = 60000 * ut_time_scale();

	while (!__atomic_load_n(&w->started, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (i = 0; i < n; i++) {
		if (thread_state(w->tid) == 'D')
			return true;
		usleep(1000);
	}
	return false;
}

/* A job waited for does not run before the fence of its in-syncobj signals. */
TEST_F(uptr, sync_job_waits_for_its_in_syncobj)
{
	struct ut_gate g = { .vgem = -1 };
	struct waiter w = { .fd = self->fd };
	struct drm_uptr_cmd c;
	pthread_t t;
	__u32 *map, x;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	map = bo_map(self->fd, self->page, &x);
	ASSERT_NE(NULL, map);
	c = ut_cmd_fill(x, 0, self->page, 0x600d);
	w.s = (struct drm_uptr_submit){
		.commands = (uintptr_t)&c, .count = 1, .flags = DRM_UPTR_SUBMIT_WAIT,
		.in_syncobjs = (uintptr_t)&g.syncobj, .in_syncobj_count = 1,
	};
	ASSERT_EQ(0, pthread_create(&t, NULL, waiter_fn, &w));
	EXPECT_TRUE(waiter_blocked(&w));
	EXPECT_EQ(0u, map[0]) {
		TH_LOG("the job ran before its in-syncobj signalled");
	}
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(-1, ut_find_not_dword(map, self->page, 0x600d));
	ut_gate_fini(&g);
}

/*
 * A job waited for, behind a job of its file on the same engine that
 * waits for a fence, waits its turn, although the two share no BO.
 */
TEST_F(uptr, sync_job_behind_queued_job_waits_its_turn)
{
	struct ut_gate g = { .vgem = -1 };
	struct waiter w = { .fd = self->fd };
	struct drm_uptr_cmd c;
	__u32 *map, x;
	struct out o;
	pthread_t t;
	__u64 ts;
	int st = 0;

	ASSERT_EQ(0, ut_gate_init(self->fd, &g));
	ASSERT_EQ(0, fill_job(self->fd, self->page, 0, &g.syncobj, 1, 1, &o));
	map = bo_map(self->fd, self->page, &x);
	ASSERT_NE(NULL, map);
	c = ut_cmd_fill(x, 0, self->page, 2);
	w.s = (struct drm_uptr_submit){
		.commands = (uintptr_t)&c, .count = 1, .flags = DRM_UPTR_SUBMIT_WAIT,
	};
	ASSERT_EQ(0, pthread_create(&t, NULL, waiter_fn, &w));
	EXPECT_TRUE(waiter_blocked(&w));
	EXPECT_EQ(0u, map[0]) {
		TH_LOG("the job ran before the job ahead of it");
	}
	EXPECT_EQ(0, ut_sync_file_poll(o.sync_file, 0));
	ASSERT_EQ(0, ut_gate_open(&g));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(-1, ut_find_not_dword(map, self->page, 2));
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	EXPECT_EQ(1, st);
	close(o.sync_file);
	ut_gate_fini(&g);
}

/*
 * While a job waited for runs on its submitter's thread, a job queued on
 * the same engine by another thread of the file waits for it to finish,
 * although the two share no BO; the first job's out-syncobj gets its
 * fence, signalled when SUBMIT returns.
 */
TEST_F(uptr, jobs_wait_for_a_running_sync_job)
{
	struct waiter w = { .fd = self->fd };
	volatile __u32 *map;
	struct drm_uptr_cmd c[16];
	struct out ow, o;
	__u64 tsw, ts;
	int st = 0, i, n = 60000 * ut_time_scale();
	pthread_t t;
	__u32 x;

	map = bo_map(self->fd, LONG_BO, &x);
	ASSERT_NE(NULL, map);
	/* The last 4 FILLs of a long job: 256 MiB, far within the time limit. */
	long_cmds(c, x, 16);
	ASSERT_EQ(0, out_init(self->fd, &ow));
	w.s = (struct drm_uptr_submit){
		.commands = (uintptr_t)&c[12], .count = 4, .flags = DRM_UPTR_SUBMIT_WAIT,
		.out_syncobj = ow.syncobj,
	};
	ASSERT_EQ(0, pthread_create(&t, NULL, waiter_fn, &w));
	/* The job runs once it has written its first page. */
	for (i = 0; i < n && !map[0]; i++)
		usleep(1000);
	EXPECT_NE(0u, map[0]);
	ASSERT_EQ(0, fill_job(self->fd, self->page, 0, NULL, 0, 3, &o));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, w.ret);
	EXPECT_EQ(-1, ut_find_not_dword((void *)map, LONG_BO, 16));
	EXPECT_EQ(0, ut_syncobj_wait(self->fd, ow.syncobj, 0));
	ASSERT_EQ(0, out_export(self->fd, &ow));
	ASSERT_EQ(0, out_wait(&ow, &st, &tsw));
	EXPECT_EQ(1, st);
	ASSERT_EQ(0, out_wait(&o, &st, &ts));
	EXPECT_EQ(1, st);
	EXPECT_LE(tsw, ts) {
		TH_LOG("the queued job finished before the running one");
	}
	close(ow.sync_file);
	close(o.sync_file);
}

/*
 * When SUBMIT_WAIT returns, the fences of the file's earlier jobs on the
 * engine have signalled too, whether the job ran on the submitting
 * thread or behind them.
 */
TEST_F(uptr, sync_job_returns_after_earlier_fences)
{
	struct drm_uptr_cmd c;
	unsigned int i, late = 0;
	__u32 x, y, out;

	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &x));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &y));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));
	for (i = 0; i < 200; i++) {
		c = ut_cmd_fill(x, 0, self->page, i);
		ASSERT_EQ(0, ut_submit_async(self->fd, 0, &c, 1, NULL, 0, out));
		c = ut_cmd_fill(y, 0, self->page, i);
		ASSERT_EQ(0, ut_submit(self->fd, &c, 1));
		if (ut_syncobj_wait(self->fd, out, 0))
			late++;
	}
	EXPECT_EQ(0u, late);
}

/*
 * A fatal signal stops a job that runs on its submitter's thread at its
 * next page: a child's 1 GiB job over shared memory, killed once it has
 * written its first page, leaves the memory short of the job's last value.
 */
TEST_F(uptr, sync_job_stops_on_fatal_signal)
{
	volatile __u32 *mem;
	int i, n = 60000 * ut_time_scale(), status = 0;
	pid_t pid;

	mem = mmap(NULL, LONG_BO, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct drm_uptr_cmd c[16];
		int fd = ut_open();
		__u32 u;

		if (fd < 0 || ut_userptr(fd, (void *)mem, LONG_BO, 0, &u))
			_exit(2);
		long_cmds(c, u, 16);
		ut_submit(fd, c, 16);
		/* Only reached if the signal did not stop the job. */
		_exit(3);
	}
	for (i = 0; i < n && !mem[0]; i++)
		usleep(1000);
	EXPECT_NE(0u, mem[0]);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		TH_LOG("child status %#x", status);
	}
	EXPECT_NE(-1, ut_find_not_dword((void *)mem, LONG_BO, 16)) {
		TH_LOG("the job ran to its end after SIGKILL");
	}
	munmap((void *)mem, LONG_BO);
}

TEST_HARNESS_MAIN
