// SPDX-License-Identifier: GPL-2.0
/*
 * Description: coherent userptrs take replayable faults, so a change to
 * the mappings never waits for a job.  munmap of one page under a running
 * job that covers 1 GiB returns before the job ends; MADV_DONTNEED,
 * MADV_PAGEOUT and move_pages of pages ahead of a running job: it
 * completes with exactly the right data, and the pages it faulted in again
 * are counted; MADV_DONTNEED of all of it, over and over, under a job
 * that copies into it: every page ends with the right data or none (the
 * job forgets each chunk freed under it); unmapping the rest of the range mid-job ends the job with
 * -EFAULT at the first unmapped page, having written every page before it
 * and nothing after munmap returned; and process isolation: while process
 * A has a long job and an invalidation of its own memory in progress,
 * process B's munmap, mprotect, GEM_CLOSE, 4 KiB job and exit, on its own
 * fd and userptrs, all complete before A's job ends; and fsync() of an
 * ext4 file returns while a job runs over a read-only mapping of it.
 *
 * Every test asserts an order of events, read from flags the job's thread
 * sets when SUBMIT returns and from the memory the job writes, never from
 * a sleep; a run where the job ended before the mapping change started
 * proves nothing and is retried with a longer job, a bounded number of
 * times, then fails.  Needs the guest of "vm/run --numa --zram 512M".
 */
#include "uptr_harness.h"

#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#define COHERENT	0u
/* A device BO filled with this: every dword of the job's data is non-zero. */
#define PATTERN		0xa5c3e1f7u
/* Attempts with a job twice as long each, when a run proved nothing. */
#define ATTEMPTS	3
/* ...and with the largest job again, for the tests that change pages. */
#define MORE_ATTEMPTS	2
/* How long a step that should take milliseconds may take (TCG guest). */
#define WAIT_S		(60.0 * ut_time_scale())
/*
 * Pages taken away at the far end of a running job: few, so that the
 * change is over long before the job gets there.
 */
#define TAKE_PAGES	64

/*
 * The uptr fixture, with automatic NUMA balancing off while a test runs
 * (restored after): its hinting faults migrate a running job's pages one
 * by one and make it crawl, and nothing but the test should change the
 * mappings.
 */
FIXTURE(replay) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;
	size_t page;
	char numa_balancing[32];	/* saved value, "" if untouched */
};

FIXTURE_SETUP(replay)
{
	uptr_setup(_metadata, &self->base, NULL);
	self->fd = self->base.fd;
	self->page = self->base.page;
	/* Best effort: a kernel without NUMA balancing has no knob. */
	ut_numa_balancing_off(self->numa_balancing, sizeof(self->numa_balancing));
}

FIXTURE_TEARDOWN(replay)
{
	ut_numa_balancing_restore(self->numa_balancing);
	uptr_teardown(_metadata, &self->base, NULL);
}

/*
 * A job run by a thread: one SUBMIT of @cmds.  (Not at a low priority:
 * in the TCG guest, a nice 19 thread busy in the kernel delays mm
 * operations on unrelated memory, e.g. MADV_PAGEOUT's per-CPU work, until
 * it leaves; long jobs come from their size instead.)
 */
struct job {
	int fd;
	struct drm_uptr_cmd cmds[2];
	__u32 count;
	volatile int *done;	/* set once SUBMIT returned (may be shared) */
	int ret;
};

/*
 * Keeps the calling thread on CPU @cpu if there are two: the job on one,
 * the thread changing the mappings on the other, so that the change does
 * not wait for a CPU the job keeps busy (per-CPU LRU draining).
 */
static void stay_on_cpu(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *job_thread(void *arg)
{
	struct job *j = arg;

	stay_on_cpu(1);

	j->ret = ut_submit(j->fd, j->cmds, j->count);
	__atomic_store_n(j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool is_set(volatile int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/*
 * Waits until the job whose fence is on @bo (a BO no other job uses) is
 * published, or until it is done.  Return: true if it runs, false if it
 * ended already or never started within WAIT_S.
 */
static bool wait_running(int fd, __u32 bo, volatile int *done)
{
	double t0 = ut_now();

	while (ut_now() - t0 < WAIT_S) {
		if (is_set(done))
			return false;
		if (ut_bo_wait(fd, bo, 0) == -ETIME)
			return !is_set(done);
		sched_yield();
	}
	return false;
}

/* The first dword of page @i of @p. */
static __u32 first_dword(const unsigned char *p, size_t i, size_t page)
{
	return __atomic_load_n((const __u32 *)(p + i * page), __ATOMIC_RELAXED);
}

/* Number of NUMA nodes the kernel lists. */
static int numa_nodes(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

/*
 * Moves the @n pages at @p to the node they are not on; the number of
 * pages that moved.
 */
static size_t move_pages_away(unsigned char *p, size_t n, size_t page)
{
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes)), *status = calloc(n, sizeof(*status));
	size_t i, moved = 0;
	int to;

	if (!pages || !nodes || !status)
		goto out;
	for (i = 0; i < n; i++)
		pages[i] = p + i * page;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) || status[0] < 0)
		goto out;
	to = status[0] == 0 ? 1 : 0;
	for (i = 0; i < n; i++)
		nodes[i] = to;
	if (syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (status[i] == to)
			moved++;
out:
	free(pages);
	free(nodes);
	free(status);
	return moved;
}

/*
 * munmap of one page under a running job that covers 1 GiB returns before
 * the job ends, and the job then stops at that page with -EFAULT.  The
 * job reads a 1 GiB reservation the CPU never wrote (the zero page), so
 * it costs no memory.
 */
TEST_F_TIMEOUT(replay, munmap_one_page_under_1gib_job, 300)
{
	const size_t size = 1ull << 30, hole = size - 64 * UT_MIB;
	unsigned int attempt;
	int raced = 0;

	for (attempt = 0; attempt < ATTEMPTS && !raced; attempt++) {
		volatile int done = 0;
		struct job j = { .fd = self->fd, .count = 1, .done = &done };
		double t_unmap, t_unmapped;
		pthread_t thread;
		bool before, after;
		__u32 u, d;
		void *p;

		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, ut_userptr(self->fd, p, size, COHERENT, &u));
		/* The job's destination: busy means the job is published. */
		ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
		j.cmds[0] = ut_cmd_checksum(d, 0, u, 0, size);
		ASSERT_EQ(0, pthread_create(&thread, NULL, job_thread, &j));

		before = wait_running(self->fd, d, &done);
		t_unmap = ut_now();
		ASSERT_EQ(0, munmap((char *)p + hole, self->page));
		t_unmapped = ut_now();
		after = !is_set(&done);
		ASSERT_EQ(0, pthread_join(thread, NULL));
		if (before) {
			raced = 1;
			EXPECT_TRUE(after) {
				TH_LOG("munmap of one page returned only after the job under it ended (%.3f s)",
				       t_unmapped - t_unmap);
			}
			/* It had ~960 MiB to read before the hole: it stops there. */
			EXPECT_EQ(-EFAULT, j.ret) {
				TH_LOG("the job ended with %d, not at the unmapped page",
				       j.ret);
			}
			TH_LOG("munmap of one page under a running 1 GiB job: %.3f ms",
			       (t_unmapped - t_unmap) * 1e3);
		}
		EXPECT_EQ(0, ut_gem_close(self->fd, u));
		EXPECT_EQ(0, ut_gem_close(self->fd, d));
		munmap(p, size);
	}
	ASSERT_TRUE(raced) {
		TH_LOG("the job never ran when munmap came: inconclusive");
	}
}

enum change {
	CHANGE_DONTNEED,
	CHANGE_PAGEOUT,
	CHANGE_MOVE_PAGES,
};

static const char *const change_name[] = {
	"MADV_DONTNEED", "MADV_PAGEOUT", "move_pages",
};

/*
 * A job copies a device BO into a warm coherent userptr of @npages; once
 * it runs, @how takes away its last TAKE_PAGES pages, ahead of it.
 * Return: 1 when the change provably came before the job reached those
 * pages, and then checks the data and the counters; 0 when the run proved
 * nothing (the job was too fast); the test fails on any error.
 */
static int change_ahead_of_job(struct __test_metadata *_metadata, int fd,
			       size_t page, size_t npages, enum change how)
{
	const size_t size = npages * page, m = TAKE_PAGES, k = npages - m;
	struct drm_uptr_bo_info i0, i1;
	volatile int done = 0;
	struct job j = { .fd = fd, .count = 1, .done = &done };
	size_t taken = m;
	double t0, t1, top = 0;
	unsigned char *p;
	pthread_t thread;
	int proved = 0;
	bool running;
	__u32 u, src;
	long bad;

	stay_on_cpu(0);
	p = ut_alloc(size);
	if (!p)
		return -1;
	/* Small pages: migration and page-out move them one by one. */
	madvise(p, size, MADV_NOHUGEPAGE);
	memset(p, 0, size);
	if (ut_userptr(fd, p, size, COHERENT, &u) || ut_bo_create(fd, size, &src) ||
	    ut_fill(fd, src, 0, size, PATTERN) ||
	    /* Warm: every page valid and writable, the job faults nothing at submit. */
	    ut_fill(fd, u, 0, size, 0) || ut_bo_info(fd, u, &i0)) {
		munmap(p, size);
		return -1;
	}
	j.cmds[0] = ut_cmd_copy(u, 0, src, 0, size);
	if (pthread_create(&thread, NULL, job_thread, &j))
		return -1;

	running = wait_running(fd, src, &done);
	t0 = ut_now();
	/* The job has not reached the pages about to go. */
	if (running && !first_dword(p, k - 1, page)) {
		switch (how) {
		case CHANGE_DONTNEED:
			EXPECT_EQ(0, madvise(p + k * page, m * page, MADV_DONTNEED));
			break;
		case CHANGE_PAGEOUT:
			EXPECT_EQ(0, madvise(p + k * page, m * page, MADV_PAGEOUT));
			taken = ut_count_pagemap(p + k * page, m, page, UT_PM_SWAP);
			break;
		case CHANGE_MOVE_PAGES:
			taken = move_pages_away(p + k * page, m, page);
			break;
		}
		top = ut_now() - t0;
		/*
		 * Still short of page k - 1 now that the change is done: it
		 * reaches all the pages taken away after they went.  (Page
		 * k - 1 is not taken away: reading it changes nothing.)
		 */
		proved = !is_set(&done) && !first_dword(p, k - 1, page);
	}
	t1 = ut_now();
	EXPECT_EQ(0, pthread_join(thread, NULL));
	if (!proved)
		TH_LOG("%s, %zu MiB job: inconclusive (job %s when seen; %s %.3f s later, the change having taken %.3f s; job over %.3f s after that)",
		       change_name[how], size >> 20, running ? "running" : "not running",
		       is_set(&done) ? "done" : "past the pages", t1 - t0, top,
		       ut_now() - t1);
	if (proved) {
		EXPECT_EQ(0, j.ret) {
			TH_LOG("%s ahead of a running job: the job failed with %s",
			       change_name[how], strerror(-j.ret));
		}
		bad = ut_find_not_dword(p, size, PATTERN);
		EXPECT_EQ(-1, bad) {
			TH_LOG("%s ahead of a running job: byte %ld is wrong",
			       change_name[how], bad);
		}
		EXPECT_EQ(0, ut_bo_info(fd, u, &i1));
		EXPECT_LT(0u, taken) {
			TH_LOG("%s took none of the %zu pages away", change_name[how], m);
		}
		EXPECT_LT(i0.invalidations, i1.invalidations);
		EXPECT_LE(i0.pages_faulted + taken, i1.pages_faulted) {
			TH_LOG("%s took %zu pages from under the job, which faulted in %llu again",
			       change_name[how], taken,
			       (unsigned long long)(i1.pages_faulted - i0.pages_faulted));
		}
		EXPECT_EQ(i0.jobs + 1, i1.jobs);
		TH_LOG("%s of %zu pages ahead of a %zu MiB job: %zu taken, %llu faulted in again, %llu invalidations",
		       change_name[how], m, size >> 20, taken,
		       (unsigned long long)(i1.pages_faulted - i0.pages_faulted),
		       (unsigned long long)(i1.invalidations - i0.invalidations));
	}
	EXPECT_EQ(0, ut_gem_close(fd, u));
	EXPECT_EQ(0, ut_gem_close(fd, src));
	munmap(p, size);
	return proved;
}

static void change_under_job(struct __test_metadata *_metadata, int fd,
			     size_t page, enum change how)
{
	size_t npages = 64 * UT_MIB / page;
	unsigned int attempt;
	int ret = 0;

	for (attempt = 0; attempt < ATTEMPTS + MORE_ATTEMPTS && !ret; attempt++) {
		ret = change_ahead_of_job(_metadata, fd, page, npages, how);
		if (attempt + 1 < ATTEMPTS)
			npages *= 2;
		ASSERT_LE(0, ret) {
			TH_LOG("setup failed");
		}
	}
	ASSERT_EQ(1, ret) {
		TH_LOG("the job was past the pages before %s was done, %u times: inconclusive",
		       change_name[how], attempt);
	}
}

/* MADV_DONTNEED of pages ahead of a running job: it faults them in again. */
TEST_F_TIMEOUT(replay, dontneed_under_running_job, 300)
{
	change_under_job(_metadata, self->fd, self->page, CHANGE_DONTNEED);
}

/* Rounds of MADV_DONTNEED of all of a job's destination, at most. */
#define DONTNEED_ROUNDS	100

/*
 * Whether a job wrote a page of @p again since MADV_DONTNEED took them
 * all: a resident page (mincore(); reading one that is not would map the
 * zero page) that is not zeros.
 */
static bool written_again(const __u32 *p, size_t npages, size_t page, unsigned char *vec)
{
	size_t i;

	if (mincore((void *)p, npages * page, vec))
		return false;
	for (i = 0; i < npages; i++)
		if ((vec[i] & 1) && first_dword((const unsigned char *)p, i, page))
			return true;
	return false;
}

/*
 * MADV_DONTNEED of a whole warm coherent userptr, over and over, while a
 * job copies into it: each one frees every chunk of its page cache,
 * the chunk the job looked its last page up in included, so the job must
 * forget that chunk (the driver's invalidate hook zaps its view of the
 * BO) and fault its next page in again.  The source, a pinned userptr,
 * holds its page index in every dword of each page; at the end each page
 * of the destination holds its own index, or zeros (taken away after the
 * job wrote it).  A use of a freed chunk shows for sure only on a
 * kernel that poisons freed memory (KASAN, the debug tier); elsewhere
 * the job ends with -EAGAIN or a page holds another's index.  Return: 1
 * if the job wrote again after a DONTNEED took its pages, and then checks
 * the data and the counters; 0 if the job was too fast; -1 if the
 * set-up failed.
 */
static int dontneed_all_under_job(struct __test_metadata *_metadata, int fd,
				  size_t page, size_t npages)
{
	const size_t size = npages * page, dwords = page / sizeof(__u32);
	struct drm_uptr_bo_info i0, i1;
	volatile int done = 0;
	struct job j = { .fd = fd, .count = 1, .done = &done };
	unsigned int rounds = 0, refaulted = 0;
	__u32 *src, *dst, s, u;
	size_t i, k, bad = npages;
	unsigned char *vec;
	pthread_t thread;
	double t0;

	stay_on_cpu(0);
	src = ut_alloc(size);
	dst = ut_alloc(size);
	vec = malloc(npages);
	if (!src || !dst || !vec)
		return -1;
	/* Small pages: one chunk per 64 of them, many chunks to free. */
	madvise(dst, size, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++)
		for (k = 0; k < dwords; k++)
			src[i * dwords + k] = i + 1;
	memset(dst, 0, size);
	if (ut_userptr(fd, src, size, DRM_UPTR_USERPTR_PINNED, &s) ||
	    ut_userptr(fd, dst, size, COHERENT, &u) ||
	    /* Warm: the job faults nothing at submit, it runs on the cache. */
	    ut_fill(fd, u, 0, size, 0) || ut_bo_info(fd, u, &i0))
		return -1;
	j.cmds[0] = ut_cmd_copy(u, 0, s, 0, size);
	if (pthread_create(&thread, NULL, job_thread, &j))
		return -1;

	if (wait_running(fd, s, &done)) {
		t0 = ut_now();
		while (!is_set(&done) && rounds < DONTNEED_ROUNDS && ut_now() - t0 < WAIT_S) {
			EXPECT_EQ(0, madvise(dst, size, MADV_DONTNEED));
			rounds++;
			/*
			 * The next round once the job wrote a page again, which
			 * it faulted in again after this one took them all
			 * (a job that loses its pages faster than it can fault
			 * them in ends with -EAGAIN, not what this checks).
			 */
			while (!is_set(&done) && ut_now() - t0 < WAIT_S) {
				if (written_again(dst, npages, page, vec)) {
					refaulted++;
					break;
				}
				sched_yield();
			}
		}
	}
	EXPECT_EQ(0, pthread_join(thread, NULL));
	if (refaulted) {
		EXPECT_EQ(0, j.ret) {
			TH_LOG("the job failed with %s", strerror(-j.ret));
		}
		/* Each page whole: its index, or zeros. */
		for (i = 0; i < npages && bad == npages; i++) {
			__u32 v = dst[i * dwords];

			if (v && v != i + 1)
				bad = i;
			for (k = 1; k < dwords && bad == npages; k++)
				if (dst[i * dwords + k] != v)
					bad = i;
		}
		EXPECT_EQ(npages, bad) {
			TH_LOG("page %zu holds %#x at its first dword, %#x at its last: neither its index nor zeros",
			       bad, dst[bad * dwords], dst[bad * dwords + dwords - 1]);
		}
		EXPECT_EQ(0, ut_bo_info(fd, u, &i1));
		EXPECT_LE(i0.invalidations + rounds, i1.invalidations);
		EXPECT_LE(i0.pages_faulted + refaulted, i1.pages_faulted) {
			TH_LOG("the job wrote again after %u DONTNEEDs, faulting in %llu pages",
			       refaulted, (unsigned long long)(i1.pages_faulted - i0.pages_faulted));
		}
		TH_LOG("%u DONTNEEDs of a %zu MiB userptr, %u of them followed by the job's writes; %llu pages faulted in again",
		       rounds, size >> 20, refaulted,
		       (unsigned long long)(i1.pages_faulted - i0.pages_faulted));
	} else {
		TH_LOG("%zu MiB job: over before it wrote again after a DONTNEED: inconclusive",
		       size >> 20);
	}
	EXPECT_EQ(0, ut_gem_close(fd, u));
	EXPECT_EQ(0, ut_gem_close(fd, s));
	munmap(src, size);
	munmap(dst, size);
	free(vec);
	return refaulted ? 1 : 0;
}

/* MADV_DONTNEED of all of a running job's destination, again and again. */
TEST_F_TIMEOUT(replay, dontneed_all_under_running_job, 300)
{
	size_t npages = 32 * UT_MIB / self->page;
	unsigned int attempt;
	int ret = 0;

	for (attempt = 0; attempt < ATTEMPTS && !ret; attempt++, npages *= 2) {
		ret = dontneed_all_under_job(_metadata, self->fd, self->page, npages);
		ASSERT_LE(0, ret) {
			TH_LOG("setup failed");
		}
	}
	ASSERT_EQ(1, ret) {
		TH_LOG("the job was over before it wrote again after a DONTNEED, %u times: inconclusive",
		       attempt);
	}
}

/* MADV_PAGEOUT of pages ahead of a running job: it swaps them back in. */
TEST_F_TIMEOUT(replay, pageout_under_running_job, 300)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int lines = 0;

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	ASSERT_LE(2, lines) {
		TH_LOG("no swap device (vm/run --zram 512M)");
	}
	change_under_job(_metadata, self->fd, self->page, CHANGE_PAGEOUT);
}

/* move_pages to the other node of pages ahead of a running job: it follows them. */
TEST_F_TIMEOUT(replay, move_pages_under_running_job, 300)
{
	ASSERT_LE(2, numa_nodes()) {
		TH_LOG("migration needs two NUMA nodes (vm/run --numa)");
	}
	change_under_job(_metadata, self->fd, self->page, CHANGE_MOVE_PAGES);
}

/*
 * Pages unmapped at the end of a running job's range: not a multiple of
 * the engine's step (16 pages), so the first of them comes in the middle
 * of a step, which must stop there.
 */
#define REST_PAGES	(TAKE_PAGES - 3)

/*
 * Unmapping the rest of the range under a running job (its last
 * REST_PAGES pages) ends it with -EFAULT at the first unmapped page: every
 * page before it is written, and nothing is written after munmap returned
 * (seen through a second mapping of the same memfd).  Return as
 * change_ahead_of_job().
 */
static int unmap_rest_of_job(struct __test_metadata *_metadata, int fd,
			     size_t page, size_t npages)
{
	const size_t size = npages * page, k = npages - REST_PAGES;
	volatile int done = 0;
	struct job j = { .fd = fd, .count = 1, .done = &done };
	unsigned char *p, *view, *snap;
	pthread_t thread;
	int mfd, proved = 0;
	bool running;
	__u32 u, src;
	long bad;

	stay_on_cpu(0);
	mfd = ut_memfd("uptr-unmap-rest", size);
	if (mfd < 0)
		return -1;
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	view = ut_map_file(mfd, size, PROT_READ);
	snap = malloc(size);
	if (!p || !view || !snap)
		return -1;
	memset(p, 0, size);
	if (ut_userptr(fd, p, size, COHERENT, &u) || ut_bo_create(fd, size, &src) ||
	    ut_fill(fd, src, 0, size, PATTERN) || ut_fill(fd, u, 0, size, 0))
		return -1;
	j.cmds[0] = ut_cmd_copy(u, 0, src, 0, size);
	if (pthread_create(&thread, NULL, job_thread, &j))
		return -1;

	running = wait_running(fd, src, &done);
	if (running && !first_dword(view, k - 1, page)) {
		EXPECT_EQ(0, munmap(p + k * page, size - k * page));
		/* What the job wrote there before munmap returned, if anything. */
		memcpy(snap, view, size);
		/* It had not reached page k: it must stop there. */
		proved = !first_dword(snap, k, page);
	}
	EXPECT_EQ(0, pthread_join(thread, NULL));
	if (proved) {
		EXPECT_EQ(-EFAULT, j.ret) {
			TH_LOG("the job ended with %d after the rest of its range went",
			       j.ret);
		}
		bad = ut_find_not_dword(view, k * page, PATTERN);
		EXPECT_EQ(-1, bad) {
			TH_LOG("byte %ld, before the unmapped pages, was not written", bad);
		}
		bad = ut_find_diff(view + k * page, snap + k * page, size - k * page);
		EXPECT_EQ(-1, bad) {
			TH_LOG("byte %ld of the unmapped pages was written after munmap returned",
			       (long)(k * page) + bad);
		}
		TH_LOG("munmap of the last %d pages of a running %zu MiB job: -EFAULT at page %zu",
		       REST_PAGES, size >> 20, k);
	}
	EXPECT_EQ(0, ut_gem_close(fd, u));
	EXPECT_EQ(0, ut_gem_close(fd, src));
	munmap(p, k * page);
	munmap(view, size);
	free(snap);
	close(mfd);
	return proved;
}

TEST_F_TIMEOUT(replay, munmap_rest_ends_running_job, 300)
{
	size_t npages = 64 * UT_MIB / self->page;
	unsigned int attempt;
	int ret = 0;

	for (attempt = 0; attempt < ATTEMPTS + MORE_ATTEMPTS && !ret; attempt++) {
		ret = unmap_rest_of_job(_metadata, self->fd, self->page, npages);
		if (attempt + 1 < ATTEMPTS)
			npages *= 2;
		ASSERT_LE(0, ret) {
			TH_LOG("setup failed");
		}
	}
	ASSERT_EQ(1, ret) {
		TH_LOG("the job was past the unmapped pages before munmap returned, %u times: inconclusive",
		       attempt);
	}
}

/* What processes A and B and the test share. */
struct isolation {
	volatile int a_done;		/* A's job returned */
	volatile int a_running;		/* A's job is published */
	volatile int a_madvise;		/* A's thread is about to madvise */
	volatile int a_madvise_done;	/* ...and its madvise returned */
	volatile int a_madvise_first;	/* ...while A's job still ran */
	volatile int a_ret;
	volatile int a_setup;		/* non-zero: A's setup failed at that step */
	volatile int b_ready;		/* B is set up and waits for the go */
	volatile int b_go;
	volatile int b_started_first;	/* A's job still ran when B began */
	volatile int b_steps;		/* B's operations done... */
	volatile int b_steps_first;	/* ...of which before A's job ended */
	volatile int b_setup;		/* non-zero: B's setup failed at that step */
	double b_time[8];
};

static const char *const b_step_name[] = {
	"munmap", "mprotect", "GEM_CLOSE", "4 KiB job", "exit",
};

/* Spins until *@flag is set or @secs pass. */
static bool wait_set(volatile int *flag, double secs)
{
	double t0 = ut_now();

	while (!is_set(flag)) {
		if (ut_now() - t0 > secs)
			return false;
		sched_yield();
	}
	return true;
}

/* Process A: a long job on its own userptr, and a madvise under it. */
static void isolation_a(struct isolation *sh, size_t size, size_t page)
{
	struct job j = { .count = 1, .done = &sh->a_done };
	pthread_t thread;
	__u32 u, d;
	void *p;

	alarm(280);
	j.fd = ut_open();
	if (j.fd < 0)
		_exit(sh->a_setup = 1);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || ut_userptr(j.fd, p, size, COHERENT, &u) ||
	    ut_bo_create(j.fd, page, &d))
		_exit(sh->a_setup = 2);
	j.cmds[0] = ut_cmd_checksum(d, 0, u, 0, size);
	if (pthread_create(&thread, NULL, job_thread, &j))
		_exit(sh->a_setup = 3);
	if (wait_running(j.fd, d, &sh->a_done)) {
		__atomic_store_n(&sh->a_running, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&sh->a_madvise, 1, __ATOMIC_RELEASE);
		/* Under the job, at its far end: the job is still far from it. */
		madvise((char *)p + size - 2 * page, page, MADV_DONTNEED);
		sh->a_madvise_first = !is_set(&sh->a_done);
		__atomic_store_n(&sh->a_madvise_done, 1, __ATOMIC_RELEASE);
	}
	pthread_join(thread, NULL);
	sh->a_ret = j.ret;
	_exit(0);
}

/* Records that B's step @i is done, and whether A's job still ran. */
static void b_step(struct isolation *sh, int i, double t0)
{
	sh->b_time[i] = ut_now() - t0;
	if (!is_set(&sh->a_done))
		sh->b_steps_first++;
	sh->b_steps++;
}

/* Process B: its own fd, its own userptrs; each step against A's job. */
static void isolation_b(struct isolation *sh, size_t page)
{
	const size_t size = 16 * page;
	unsigned char *p, *q;
	__u32 u1, u2, d;
	double t0;
	int fd;

	alarm(280);
	fd = ut_open();
	if (fd < 0)
		_exit(sh->b_setup = 1);
	p = ut_alloc(size);
	q = ut_alloc(size);
	if (!p || !q)
		_exit(sh->b_setup = 2);
	memset(p, 1, size);
	memset(q, 2, size);
	/* Faulted in by a job each: munmap and close have pages to drop. */
	if (ut_userptr(fd, p, size, COHERENT, &u1) ||
	    ut_userptr(fd, q, size, COHERENT, &u2) ||
	    ut_bo_create(fd, size, &d) ||
	    ut_copy(fd, d, 0, u1, 0, size) || ut_copy(fd, d, 0, u2, 0, size))
		_exit(sh->b_setup = 3);
	__atomic_store_n(&sh->b_ready, 1, __ATOMIC_RELEASE);
	if (!wait_set(&sh->b_go, WAIT_S))
		_exit(sh->b_setup = 4);

	sh->b_started_first = !is_set(&sh->a_done);
	t0 = ut_now();
	if (munmap(p + size - page, page))
		_exit(sh->b_setup = 5);
	b_step(sh, 0, t0);
	t0 = ut_now();
	if (mprotect(p, page, PROT_READ))
		_exit(sh->b_setup = 6);
	b_step(sh, 1, t0);
	t0 = ut_now();
	if (ut_gem_close(fd, u2))
		_exit(sh->b_setup = 7);
	b_step(sh, 2, t0);
	t0 = ut_now();
	if (ut_copy(fd, u1, page, d, 0, page))
		_exit(sh->b_setup = 8);
	b_step(sh, 3, t0);
	/* Exit with the live userptr u1, its pages faulted. */
	_exit(0);
}

/*
 * Returns 1 once B's operations all completed before A's job ended, 0
 * when A's job ended before B even started (inconclusive); the test fails
 * otherwise.
 */
static int isolation_run(struct __test_metadata *_metadata, struct isolation *sh,
			 size_t size, size_t page)
{
	pid_t a, b;
	double t0;
	int st;

	memset((void *)sh, 0, sizeof(*sh));
	b = fork();
	ASSERT_LE(0, b);
	if (b == 0)
		isolation_b(sh, page);
	ASSERT_TRUE(wait_set(&sh->b_ready, WAIT_S)) {
		TH_LOG("B did not get ready (setup step %d)", sh->b_setup);
	}
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0)
		isolation_a(sh, size, page);
	/* A's madvise is on its way: from now on it is in progress. */
	if (!wait_set(&sh->a_madvise, 4 * WAIT_S) && !is_set(&sh->a_done)) {
		kill(a, SIGKILL);
		kill(b, SIGKILL);
	}
	__atomic_store_n(&sh->b_go, 1, __ATOMIC_RELEASE);
	t0 = ut_now();
	st = ut_wait_child(b);
	sh->b_time[4] = ut_now() - t0;
	if (!is_set(&sh->a_done) && is_set(&sh->b_started_first) && !st)
		sh->b_steps_first++;
	sh->b_steps++;
	EXPECT_EQ(0, ut_wait_child(a));
	ASSERT_EQ(0, sh->a_setup);
	ASSERT_EQ(0, sh->b_setup);
	ASSERT_EQ(0, st);
	EXPECT_EQ(0, sh->a_ret) {
		TH_LOG("A's job failed with %s", strerror(-sh->a_ret));
	}
	if (!sh->b_started_first || !sh->a_running)
		return 0;
	EXPECT_EQ(1, sh->a_madvise_first) {
		TH_LOG("A's own madvise returned only after A's job ended");
	}
	EXPECT_EQ(sh->b_steps, sh->b_steps_first) {
		int i = sh->b_steps_first;

		TH_LOG("B's %s (%.3f s) returned only after A's job ended: %d of B's %d operations first",
		       b_step_name[i], sh->b_time[i], sh->b_steps_first, sh->b_steps);
	}
	TH_LOG("%zu MiB job in A: B's munmap %.3f ms, mprotect %.3f ms, GEM_CLOSE %.3f ms, 4 KiB job %.3f ms, exit %.3f ms",
	       size >> 20, sh->b_time[0] * 1e3, sh->b_time[1] * 1e3,
	       sh->b_time[2] * 1e3, sh->b_time[3] * 1e3, sh->b_time[4] * 1e3);
	return 1;
}

/*
 * Process isolation: process A runs a long job on its own coherent
 * userptr, and one of its threads madvises a page under it; process B,
 * with its own fd and userptrs, then munmaps, mprotects, closes a BO,
 * runs a 4 KiB job and exits, and all of it completes before A's job
 * ends.  Nothing A's invalidation waits for is held by B, and the other
 * way round.
 */
TEST_F_TIMEOUT(replay, process_isolation, 300)
{
	struct isolation *sh = ut_alloc_shared(sizeof(*sh));
	size_t size = 256 * UT_MIB;
	unsigned int attempt;
	int ret = 0;

	ASSERT_NE(NULL, sh);
	for (attempt = 0; attempt < ATTEMPTS && !ret; attempt++, size *= 2)
		ret = isolation_run(_metadata, sh, size, self->page);
	ASSERT_EQ(1, ret) {
		TH_LOG("A's job ended before B started, %u times: inconclusive", attempt);
	}
	munmap(sh, sizeof(*sh));
}

/*
 * An ext4 file system on a loop device over a file in $TMPDIR (the
 * guest's /tmp may be the host's, read-only), mounted at @dir
 * (mkdtemp'd); ext4 and loop are modules in Debian's kernels, built in
 * in the debug kernel.  Return: 0, or -1 with the reason logged.
 */
static int ext4_mount(struct __test_metadata *_metadata, char *dir,
		      size_t len, char *img, size_t img_len)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[1200];

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (system("modprobe -q -a loop ext4 >/dev/null 2>&1"))
		TH_LOG("modprobe loop ext4 failed (built in?)");
	snprintf(img, img_len, "%s/uptr-ext4-XXXXXX", tmp);
	snprintf(dir, len, "%s/uptr-mnt-XXXXXX", tmp);
	if (!mkdtemp(dir) || mkstemp(img) < 0) {
		TH_LOG("mkdtemp/mkstemp: %s", strerror(errno));
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
		 "truncate -s 64M %s && mkfs.ext4 -q -F %s >/dev/null 2>&1 && mount -o loop %s %s",
		 img, img, img, dir);
	if (system(cmd)) {
		TH_LOG("could not make and mount ext4 on a loop device: %s", cmd);
		return -1;
	}
	return 0;
}

static void ext4_umount(const char *dir, const char *img)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	if (system(cmd))
		return;
	rmdir(dir);
	unlink(img);
}

struct many_job {
	int fd;
	struct drm_uptr_cmd *cmds;
	__u32 count;
	volatile int done;
	int ret;
};

static void *many_job_thread(void *arg)
{
	struct many_job *j = arg;

	stay_on_cpu(1);
	j->ret = ut_submit(j->fd, j->cmds, j->count);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Writeback never waits for a job: a reader's read-only coherent userptr
 * over a read-only shared mapping of an ext4 file runs a long job over
 * it; a writer dirties the file with pwrite() and fsync()s it.  Writeback
 * cleans each page in every shared mapping (folio_mkclean()), which
 * invalidates the reader's range (its counter rises), with a journal
 * handle of the file system open: fsync() returns while the job still
 * runs, and the job then completes.
 */
TEST_F_TIMEOUT(replay, fsync_under_running_job, 300)
{
	const size_t fsize = 16 * UT_MIB;
	char dir[256], img[256], path[300];
	unsigned int attempt, ncmds;
	unsigned char *buf;
	int raced = 0, file;
	__u64 max_bytes = 0;

	/* The longest job there is: the file read over and over. */
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES, &max_bytes));
	ncmds = max_bytes / fsize;
	ASSERT_LE(8u, ncmds);
	ASSERT_GE(self->page / 8, ncmds);
	ASSERT_EQ(0, ext4_mount(_metadata, dir, sizeof(dir), img, sizeof(img)));
	snprintf(path, sizeof(path), "%s/f", dir);
	file = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, file);
	buf = malloc(fsize);
	ASSERT_NE(NULL, buf);
	ut_pattern(buf, fsize, 31);
	ASSERT_EQ((ssize_t)fsize, pwrite(file, buf, fsize, 0));
	ASSERT_EQ(0, fsync(file));

	for (attempt = 0; attempt < ATTEMPTS && !raced; attempt++) {
		struct many_job j = { .fd = self->fd, .count = ncmds };
		struct drm_uptr_bo_info i0, i1;
		double t_sync, t_synced;
		pthread_t thread;
		bool before, after;
		unsigned int k;
		__u32 u, d;
		void *p;

		p = mmap(NULL, fsize, PROT_READ, MAP_SHARED, file, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, ut_userptr(self->fd, p, fsize,
					DRM_UPTR_USERPTR_READ_ONLY, &u));
		ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
		j.cmds = calloc(ncmds, sizeof(*j.cmds));
		ASSERT_NE(NULL, j.cmds);
		for (k = 0; k < ncmds; k++)
			j.cmds[k] = ut_cmd_checksum(d, 8ull * k, u, 0, fsize);
		ASSERT_EQ(0, ut_bo_info(self->fd, u, &i0));
		ASSERT_EQ(0, pthread_create(&thread, NULL, many_job_thread, &j));

		before = wait_running(self->fd, d, &j.done);
		/* Every page of the file dirty, then written back. */
		ut_pattern(buf, fsize, 32 + attempt);
		ASSERT_EQ((ssize_t)fsize, pwrite(file, buf, fsize, 0));
		t_sync = ut_now();
		ASSERT_EQ(0, fsync(file));
		t_synced = ut_now();
		after = !is_set(&j.done);
		ASSERT_EQ(0, ut_bo_info(self->fd, u, &i1));
		ASSERT_EQ(0, pthread_join(thread, NULL));
		EXPECT_EQ(0, j.ret);
		if (before && after) {
			raced = 1;
			EXPECT_LT(i0.invalidations, i1.invalidations) {
				TH_LOG("writeback did not invalidate the reader's range");
			}
			TH_LOG("fsync of %llu MiB under a running %u MiB job: %.1f ms, %llu invalidations",
			       (unsigned long long)(fsize / UT_MIB), ncmds * 16, (t_synced - t_sync) * 1e3,
			       (unsigned long long)(i1.invalidations - i0.invalidations));
		} else if (before) {
			TH_LOG("attempt %u: the job ended before fsync returned (%.3f s)",
			       attempt, t_synced - t_sync);
		}
		free(j.cmds);
		EXPECT_EQ(0, ut_gem_close(self->fd, u));
		EXPECT_EQ(0, ut_gem_close(self->fd, d));
		munmap(p, fsize);
	}
	free(buf);
	close(file);
	ext4_umount(dir, img);
	ASSERT_TRUE(raced) {
		TH_LOG("fsync never returned while the job ran: it waited for it, or the job was too short");
	}
}

TEST_HARNESS_MAIN
