// SPDX-License-Identifier: GPL-2.0
/*
 * Description: memory the driver takes on a user's behalf comes back and
 * is charged to the user.  The page cache of a coherent userptr empties
 * under reclaim (drop_caches) while no job uses it, and the next job
 * faults the pages in again; its chunks are freed when their pages go,
 * so a huge sparse userptr costs what is resident; a userptr, cold or
 * warm, costs a few hundred bytes; and running out of memory in
 * BO_CREATE, past a memory cgroup's limit or the file's bound
 * (max_file_bo_mib), is -ENOMEM, without an OOM kill or a warning; an
 * OOM victim with a job running over its coherent userptr is killed
 * alone, and its memory comes back.
 *
 * Kernel memory is read from memory.stat of a child cgroup that each
 * such test creates and runs in (cgroup2 is mounted on /sys/fs/cgroup if
 * it is not yet): the slab memory charged to it.
 */
#include "uptr_harness.h"

#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define RO		DRM_UPTR_USERPTR_READ_ONLY
#define CG_ROOT		"/sys/fs/cgroup"

/* Value of "@key N" in the flat-keyed file @path; -1 if absent. */
static long long keyed(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The number in the one-value file @path (memory.current...); -1 if unreadable. */
static long long keyed_value(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int drop_caches(void)
{
	return ut_write_str("/proc/sys/vm/drop_caches", "2");
}

FIXTURE(mem) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page */
	char cg[128];		/* the child cgroup this process runs in, or "" */
	char bound[32];		/* max_file_bo_mib to restore, or "" */
};

FIXTURE_SETUP(mem)
{
	uptr_setup(_metadata, &self->base, NULL);
	self->fd = self->base.fd;
	self->page = self->base.page;
}

FIXTURE_TEARDOWN(mem)
{
	uptr_teardown(_metadata, &self->base, NULL);
	if (self->bound[0])
		ut_write_str(UT_PARAM_MAX_FILE_BO_MIB, self->bound);
	if (self->cg[0]) {
		ut_write_str(CG_ROOT "/cgroup.procs", "0");
		rmdir(self->cg);
	}
}

/*
 * Creates a child cgroup with the memory controller, @max as its
 * memory.max ("max" for none) and no swap, and moves this process in.
 */
static void cg_enter(struct __test_metadata *_metadata, FIXTURE_DATA(mem) *self,
		     const char *max)
{
	char path[192];

	if (access(CG_ROOT "/cgroup.controllers", F_OK))
		ASSERT_EQ(0, mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL)) {
			TH_LOG("cannot mount cgroup2 on %s: %s", CG_ROOT, strerror(errno));
		}
	ASSERT_EQ(0, ut_write_str(CG_ROOT "/cgroup.subtree_control", "+memory")) {
		TH_LOG("cannot enable the memory controller");
	}
	snprintf(self->cg, sizeof(self->cg), CG_ROOT "/uptr-test-%d", getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", self->cg);
	ASSERT_EQ(0, ut_write_str(path, max));
	snprintf(path, sizeof(path), "%s/memory.swap.max", self->cg);
	if (!access(path, F_OK))
		ASSERT_EQ(0, ut_write_str(path, "0"));
	snprintf(path, sizeof(path), "%s/cgroup.procs", self->cg);
	ASSERT_EQ(0, ut_write_str(path, "0"));
}

/* Slab bytes charged to the test's cgroup. */
static long long cg_slab(FIXTURE_DATA(mem) *self)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/memory.stat", self->cg);
	return keyed(path, "slab");
}

static long long cg_event(FIXTURE_DATA(mem) *self, const char *key)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/memory.events", self->cg);
	return keyed(path, key);
}

/*
 * Waits, at most 10 s (scaled), for the cgroup's slab to drop to @bound:
 * freed slab objects of the xarray come back after an RCU grace period.
 * Returns the last figure.
 */
static long long cg_slab_settle(FIXTURE_DATA(mem) *self, long long bound)
{
	double end = ut_now() + 10.0 * ut_time_scale();
	long long slab;

	while ((slab = cg_slab(self)) > bound && ut_now() < end)
		usleep(20000);
	return slab;
}

/*
 * KASAN's redzones and metadata make every object larger: the byte
 * bounds double there.
 */
static int kasan_factor(void)
{
	return ut_kernel_has_kasan() ? 2 : 1;
}

static struct drm_uptr_bo_info info_of(int fd, __u32 h)
{
	struct drm_uptr_bo_info info;

	memset(&info, 0, sizeof(info));
	if (ut_bo_info(fd, h, &info))
		info.handle = ~0u;
	return info;
}

/*
 * memory comes back: drop_caches empties the cache of an idle coherent
 * userptr, and the next job faults the pages in again and reads what the
 * CPU wrote since.
 */
TEST_F(mem, drop_caches_empties_idle_userptrs)
{
	size_t size = 256 * self->page;
	unsigned char *p = ut_alloc(size), *map = NULL;
	struct drm_uptr_bo_info info;
	__u64 faulted;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 1);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &d, (void **)&map));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, p, size));
	info = info_of(self->fd, u);
	ASSERT_LT(0ull, info.pages_resident);
	ASSERT_EQ(size / self->page, info.pages_faulted);

	ASSERT_EQ(0, drop_caches());
	info = info_of(self->fd, u);
	EXPECT_EQ(0ull, info.pages_resident);
	EXPECT_EQ(0ull, info.sg_segments);
	faulted = info.pages_faulted;

	/*
	 * The CPU writes meanwhile; the device reads it, faulting every
	 * page again (reclaim running meanwhile may add more).
	 */
	ut_pattern(p, size, 2);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, p, size));
	info = info_of(self->fd, u);
	EXPECT_LE(faulted + size / self->page, info.pages_faulted);

	/* And what the device writes after that reaches the CPU. */
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x5eed5eed));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0x5eed5eed));
	munmap(p, size);
}

struct long_job {
	int fd;
	__u32 dst, src;
	__u64 size;
	int reps;
	int ret;
};

static void *long_job_thread(void *arg)
{
	struct long_job *j = arg;
	struct drm_uptr_cmd cmds[8];
	int i;

	for (i = 0; i < j->reps; i++)
		cmds[i] = ut_cmd_checksum(j->dst, 8 * i, j->src, 0, j->size);
	j->ret = ut_submit(j->fd, cmds, j->reps);
	return NULL;
}

/*
 * The shrinker leaves a userptr that a running job uses alone: while the
 * job runs (its fence is published, so its pages were faulted in, and it
 * is still unsignalled after the check), drop_caches leaves every page
 * cached.  A job that ends before the check proves nothing: the test
 * tries again with a longer one.
 */
TEST_F_TIMEOUT(mem, drop_caches_spares_userptr_in_use, 120)
{
	size_t size = 64 * UT_MIB;
	unsigned char *p = ut_alloc(size);
	struct drm_uptr_bo_info info;
	int reps, seen = 0;
	__u64 inv;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	memset(p, 7, size);
	/* Reclaim leaves the pages alone: the notifier does not drop them. */
	ASSERT_EQ(0, mlock(p, size));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, RO, &u));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));

	for (reps = 2; reps <= 8 && !seen; reps *= 2) {
		struct long_job j = { .fd = self->fd, .dst = d, .src = u,
				      .size = size, .reps = reps };
		double end = ut_now() + 30.0 * ut_time_scale();
		pthread_t t;

		ASSERT_EQ(0, pthread_create(&t, NULL, long_job_thread, &j));
		/* Published: BO_WAIT sees an unsignalled fence. */
		while (ut_bo_wait(self->fd, u, 0) != -ETIME && ut_now() < end)
			sched_yield();
		if (ut_bo_wait(self->fd, u, 0) == -ETIME) {
			inv = info_of(self->fd, u).invalidations;
			ASSERT_EQ(0, drop_caches());
			info = info_of(self->fd, u);
			if (ut_bo_wait(self->fd, u, 0) == -ETIME) {
				seen = 1;
				/* Only an invalidation (NUMA balancing) may take pages. */
				EXPECT_TRUE(info.pages_resident == size / self->page ||
					    info.invalidations > inv);
			}
		}
		pthread_join(t, NULL);
		ASSERT_EQ(0, j.ret);
	}
	if (!seen)
		SKIP(return, "every job ended before drop_caches did");
	/* Idle now: the same drop empties it. */
	ASSERT_EQ(0, drop_caches());
	info = info_of(self->fd, u);
	EXPECT_EQ(0ull, info.pages_resident);
	munmap(p, size);
}

#define SPARSE_SIZE	(1ull << 40)
#define SPARSE_PAGES	1000

/*
 * memory comes back: a 1 TiB PROT_READ reservation, 1000 scattered pages
 * of it read by the device (the zero page).  The cache costs what is
 * resident (at most 4 KiB per page, chunk and xarray nodes included),
 * and gives it all back when the pages are unmapped.
 */
TEST_F_TIMEOUT(mem, sparse_1tib_memory_follows_resident, 120)
{
	long long base, touched, unmapped;
	struct drm_uptr_bo_info info;
	unsigned char *p;
	__u32 u, d;
	int i;

	p = mmap(NULL, SPARSE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	cg_enter(_metadata, self, "max");
	ASSERT_EQ(0, ut_userptr(self->fd, p, SPARSE_SIZE, RO, &u));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
	/* One job first, so that what the first job allocates once is in the base. */
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, 8));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, 0, 8));
	/* Small figures may still sit in per-CPU stat batches (0 on 6.12-rt). */
	base = cg_slab(self);
	ASSERT_LE(0, base);

	for (i = 0; i < SPARSE_PAGES; i++) {
		__u64 off = (SPARSE_SIZE / SPARSE_PAGES) * i + 4 * UT_MIB;

		off &= ~((__u64)self->page - 1);
		ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, off, 8));
	}
	/* Reclaim may have dropped some meanwhile: the bound is per page read. */
	touched = cg_slab(self);
	info = info_of(self->fd, u);
	EXPECT_GE(SPARSE_PAGES + 1ull, info.pages_resident);
	TH_LOG("1 TiB sparse userptr: %lld bytes of slab per page read, %llu resident",
	       (touched - base) / SPARSE_PAGES, (unsigned long long)info.pages_resident);
	EXPECT_GE(4096ll * kasan_factor() * SPARSE_PAGES, touched - base);
	/* Charged to the creator: each scattered resident page has a chunk of its own. */
	EXPECT_LE(256ll * (long long)info.pages_resident, touched - base);

	ASSERT_EQ(0, munmap(p, SPARSE_SIZE));
	info = info_of(self->fd, u);
	EXPECT_EQ(0ull, info.pages_resident);
	unmapped = cg_slab_settle(self, base + 64 * 1024);
	TH_LOG("after munmap: %lld bytes above the base", unmapped - base);
	EXPECT_GE(base + 64 * 1024, unmapped);
	ASSERT_EQ(0, ut_gem_close(self->fd, u));
}

#define NR_SMALL	2000

/*
 * The cost of a 4 KiB userptr, cold (created, never used) and warm (after
 * one job), and of each resident page of a big one, all charged to the
 * creator's cgroup (the lower bound: a BO that were not charged would
 * cost nothing here).  Targets: 512 bytes cold, 32 bytes per resident
 * page; bounds: 768 and 1024 bytes, 40 bytes per page (twice that with
 * KASAN).
 */
TEST_F_TIMEOUT(mem, userptr_bytes_cold_warm_resident, 120)
{
	size_t big = 64 * UT_MIB;
	long long base, cold, warm, before, after = 0;
	unsigned char *p = ut_alloc(NR_SMALL * self->page), *q = ut_alloc(big);
	struct drm_uptr_bo_info info = { 0 };
	static __u32 h[NR_SMALL];
	__u32 d, u;
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	memset(p, 1, NR_SMALL * self->page);
	memset(q, 2, big);
	cg_enter(_metadata, self, "max");
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
	/* Warm the paths once, and a first handle, outside the figures. */
	ASSERT_EQ(0, ut_userptr(self->fd, p, self->page, 0, &u));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, self->page));
	ASSERT_EQ(0, ut_gem_close(self->fd, u));

	base = cg_slab(self);
	for (i = 0; i < NR_SMALL; i++)
		ASSERT_EQ(0, ut_userptr(self->fd, p + i * self->page, self->page, 0, &h[i]));
	cold = cg_slab(self);
	for (i = 0; i < NR_SMALL; i++)
		ASSERT_EQ(0, ut_copy(self->fd, d, 0, h[i], 0, self->page));
	/* The jobs' own memory goes after their fences signalled, and an RCU grace period. */
	warm = cg_slab_settle(self, base + 1024ll * kasan_factor() * NR_SMALL);
	TH_LOG("per 4 KiB userptr: %lld bytes cold, %lld warm",
	       (cold - base) / NR_SMALL, (warm - base) / NR_SMALL);
	EXPECT_LE(400ll * NR_SMALL, cold - base);
	EXPECT_GE(768ll * kasan_factor() * NR_SMALL, cold - base);
	EXPECT_GE(1024ll * kasan_factor() * NR_SMALL, warm - base);
	for (i = 0; i < NR_SMALL; i++)
		ASSERT_EQ(0, ut_gem_close(self->fd, h[i]));

	/*
	 * Per page resident when the figure is read: reclaim may drop pages
	 * of the idle userptr meanwhile, and their chunks with them.
	 */
	ASSERT_EQ(0, ut_userptr(self->fd, q, big, 0, &u));
	before = cg_slab(self);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ut_fill(self->fd, u, 0, big, 3));
		after = cg_slab(self);
		info = info_of(self->fd, u);
		if (info.pages_resident >= big / self->page / 2)
			break;
	}
	ASSERT_LT(0ull, info.pages_resident);
	TH_LOG("per resident page of a 64 MiB userptr: %.1f bytes (%llu resident)",
	       (double)(after - before) / info.pages_resident,
	       (unsigned long long)info.pages_resident);
	EXPECT_GE(40ll * kasan_factor() * (long long)info.pages_resident, after - before);
	ASSERT_EQ(0, ut_gem_close(self->fd, u));
	munmap(p, NR_SMALL * self->page);
	munmap(q, big);
}

/*
 * out of memory is an errno: device BOs past the memory.max of the
 * creator's cgroup fail with -ENOMEM; nobody is OOM-killed (the cgroup's
 * oom_kill count stays 0) and the kernel log stays clean (tests/run).
 * Closing them gives the memory back.
 */
TEST_F_TIMEOUT(mem, bo_create_past_cgroup_limit_is_enomem, 120)
{
	const __u64 bo = 8 * UT_MIB;
	__u32 h[64];
	int n, ret = 0;

	cg_enter(_metadata, self, "64M");
	for (n = 0; n < 64; n++) {
		ret = ut_bo_create(self->fd, bo, &h[n]);
		if (ret)
			break;
	}
	EXPECT_GT(8, n);
	/* Give the memory back first: at the limit, any page fault would reclaim. */
	while (n-- > 0)
		ASSERT_EQ(0, ut_gem_close(self->fd, h[n]));
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(0, cg_event(self, "oom_kill"));
	EXPECT_LT(0, cg_event(self, "max"));
	/* What was freed can be had again. */
	ASSERT_EQ(0, ut_bo_create(self->fd, bo, &h[0]));
	EXPECT_EQ(0, cg_event(self, "oom_kill"));
}

/*
 * A file holds at most max_file_bo_mib of device BOs through its handles:
 * past it BO_CREATE fails with -ENOMEM; a closed handle gives its share
 * back; another file has a bound of its own.
 */
TEST_F(mem, bo_create_past_file_bound_is_enomem)
{
	const __u64 bo = 4 * UT_MIB;
	__u32 a, b, c;
	int fd2;

	ASSERT_EQ(0, ut_read_line(UT_PARAM_MAX_FILE_BO_MIB, self->bound, sizeof(self->bound)));
	ASSERT_EQ(0, ut_write_str(UT_PARAM_MAX_FILE_BO_MIB, "8"));
	ASSERT_EQ(0, ut_bo_create(self->fd, bo, &a));
	ASSERT_EQ(0, ut_bo_create(self->fd, bo, &b));
	EXPECT_EQ(-ENOMEM, ut_bo_create(self->fd, self->page, &c));
	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, ut_bo_create(fd2, 2 * bo, &c));
	close(fd2);
	ASSERT_EQ(0, ut_gem_close(self->fd, a));
	EXPECT_EQ(0, ut_bo_create(self->fd, bo, &c));
	EXPECT_EQ(-ENOMEM, ut_bo_create(self->fd, self->page, &a));
}

/*
 * What a job allocates on its engine thread is charged to the submitter's
 * memory cgroup: an asynchronous read prefetch of 256 MiB of a sparse
 * read-only reservation (the zero page) on an engine costs the cgroup
 * the userptr's page-cache chunks (slab) and the page tables of the
 * faults (a kernel thread would otherwise charge them to no one).
 */
TEST_F_TIMEOUT(mem, engine_job_memory_charged_to_submitter, 120)
{
	const size_t size = 256 * UT_MIB, npages = size / self->page;
	struct drm_uptr_prefetch pf = { .size = size,
					.flags = DRM_UPTR_PREFETCH_ASYNC };
	long long slab0, pt0, slab1, pt1;
	char stat[192];
	void *p;
	__u32 u, out;

	cg_enter(_metadata, self, "max");
	snprintf(stat, sizeof(stat), "%s/memory.stat", self->cg);
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, RO, &u));
	ASSERT_EQ(0, ut_syncobj_create(self->fd, &out));
	slab0 = cg_slab(self);
	pt0 = keyed(stat, "pagetables");
	ASSERT_LE(0, pt0);

	pf.handle = u;
	pf.out_syncobj = out;
	ASSERT_EQ(0, ut_ioctl(self->fd, DRM_IOCTL_UPTR_PREFETCH, &pf));
	ASSERT_EQ(0, ut_syncobj_wait(self->fd, out, 120ll * ut_time_scale() * 1000000000));
	EXPECT_EQ((__u64)npages, info_of(self->fd, u).pages_resident);
	slab1 = cg_slab(self);
	pt1 = keyed(stat, "pagetables");
	TH_LOG("prefetch of %zu pages on an engine: slab +%lld KiB, page tables +%lld KiB",
	       npages, (slab1 - slab0) / 1024, (pt1 - pt0) / 1024);
	/* 8 bytes an entry at the least; one 4 KiB page table per 2 MiB. */
	EXPECT_LE(slab0 + (long long)npages * 8 / 2, slab1);
	EXPECT_LE(pt0 + (long long)(size / (2 * UT_MIB)) * 4096 / 2, pt1);
	EXPECT_EQ(0, ut_gem_close(self->fd, u));
	munmap(p, size);
}

/*
 * The OOM victim: a 1 GiB job over its own 32 MiB coherent userptr runs
 * on an engine, then it allocates until the OOM killer kills it.  Writes
 * one byte to @ready once the job runs.
 */
static void oom_victim(int ready)
{
	const size_t size = 32 * UT_MIB, chunk = UT_MIB;
	struct drm_uptr_cmd c[32];
	unsigned char *p = ut_alloc(size);
	int fd = ut_open(), i;
	__u32 u, d;

	if (fd < 0 || !p)
		_exit(10);
	memset(p, 0x42, size);
	if (ut_userptr(fd, p, size, 0, &u) || ut_bo_create(fd, 4096, &d))
		_exit(11);
	for (i = 0; i < 32; i++)
		c[i] = ut_cmd_checksum(d, 0, u, 0, size);
	if (ut_submit_async(fd, 0, c, 32, NULL, 0, 0))
		_exit(12);
	/* Published on the BO: queued or running. */
	if (ut_bo_wait(fd, d, 0) != -ETIME)
		_exit(13);
	if (write(ready, "r", 1) != 1)
		_exit(14);
	for (;;) {
		unsigned char *q = ut_alloc(chunk);

		if (!q)
			_exit(15);
		memset(q, 0x17, chunk);
	}
}

/*
 * An OOM victim whose coherent userptr has a job running is killed and
 * its memory given back, and the OOM killer stops there: in a 96 MiB
 * cgroup, a process runs a long job over its own memory and allocates
 * until it is killed; a bystander in the same cgroup, with 8 MiB, lives
 * on, the cgroup counts exactly one OOM kill, and its memory falls back
 * below what the bystander and the test hold.  The invalidations of the
 * victim's teardown (and of the OOM reaper's, which may not sleep) never
 * wait for the job.
 */
TEST_F_TIMEOUT(mem, oom_victim_with_running_job_is_killed_alone, 180)
{
	const size_t keep = 8 * UT_MIB;
	int ready[2], hold[2], status = 0;
	pid_t victim, bystander;
	char path[192], r;
	double end;

	cg_enter(_metadata, self, "96M");
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(hold));

	bystander = fork();
	ASSERT_LE(0, bystander);
	if (!bystander) {
		unsigned char *p = ut_alloc(keep);

		close(hold[1]);
		if (!p)
			_exit(1);
		memset(p, 0x33, keep);
		/* Until the test closes its end. */
		while (read(hold[0], &r, 1) > 0)
			;
		_exit(p[keep - 1] == 0x33 ? 0 : 2);
	}
	close(hold[0]);

	victim = fork();
	ASSERT_LE(0, victim);
	if (!victim) {
		close(ready[0]);
		oom_victim(ready[1]);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &r, 1)) {
		TH_LOG("the victim's job never ran");
	}

	end = ut_now() + 60.0 * ut_time_scale();
	while (waitpid(victim, &status, WNOHANG) == 0 && ut_now() < end)
		usleep(10000);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		TH_LOG("the victim was not OOM-killed in time (status %#x)", status);
		kill(victim, SIGKILL);
		waitpid(victim, &status, 0);
	}
	EXPECT_EQ(1, cg_event(self, "oom_kill"));
	EXPECT_EQ(0, waitpid(bystander, &status, WNOHANG)) {
		TH_LOG("the OOM killer took the bystander too");
	}

	/* The victim's memory comes back (its job cancelled with its fd). */
	snprintf(path, sizeof(path), "%s/memory.current", self->cg);
	end = ut_now() + 30.0 * ut_time_scale();
	while (keyed_value(path) > (long long)(keep + 24 * UT_MIB) && ut_now() < end)
		usleep(20000);
	EXPECT_GE((long long)(keep + 24 * UT_MIB), keyed_value(path));

	close(hold[1]);
	ASSERT_EQ(bystander, waitpid(bystander, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
}

TEST_HARNESS_MAIN
