// SPDX-License-Identifier: GPL-2.0
/*
 * Description: coherent userptrs racing the process that owns them.  A
 * munmap or MAP_FIXED replacement while a job writes the range never lets
 * the device write the freed pages (fresh memory mapped right after, at
 * the same address, elsewhere and in another process, keeps its pattern)
 * and does not wait for a running job, which stops at the first page it
 * can no longer reach, also when a later, shorter job on the same userptr
 * completed meanwhile;
 * process exit, SIGKILL and fd close while a job is in flight, with or
 * without another thread changing the mappings, end normally; and an fd
 * closed or a process exited with live, faulted coherent userptrs gives
 * all its memory back.
 */
#include "uptr_harness.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#define COHERENT	0u
/* Size of a long job: a COPY of this many bytes into a coherent userptr. */
#define JOB_SIZE	(16 * UT_MIB)
/* Wall-clock budget of each looping test (TCG: a job takes ~0.1-0.5 s). */
#define RACE_SECONDS	8.0
#define MIN_RACE_ITERS	4u
/* How long a child may take to exit once told to. */
#define CHILD_EXIT_SECONDS	60.0

/* The 64-bit word at index @i of the pattern @seed: position-dependent. */
static inline __u64 word_of(__u64 seed, size_t i)
{
	return ((__u64)i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
}

static void fill_words(void *buf, size_t size, __u64 seed)
{
	__u64 *w = buf;
	size_t i;

	for (i = 0; i < size / 8; i++)
		w[i] = word_of(seed, i);
}

/* Offset of the first byte of @buf that is not the pattern @seed, or -1. */
static long check_words(const void *buf, size_t size, __u64 seed)
{
	const __u64 *w = buf;
	size_t i;

	for (i = 0; i < size / 8; i++)
		if (w[i] != word_of(seed, i))
			return (long)(i * 8);
	return -1;
}

/*
 * Offset of the first byte of @buf that is neither the byte of pattern
 * @seed nor, when @alt, the byte of pattern @alt_seed at that offset; -1
 * if none.  *@n_alt counts the words holding @alt_seed's data.
 */
static long check_words_or(const void *buf, size_t size, __u64 seed,
			   bool alt, __u64 alt_seed, size_t *n_alt)
{
	const __u64 *w = buf;
	size_t i;
	int b;

	*n_alt = 0;
	for (i = 0; i < size / 8; i++) {
		__u64 a = word_of(seed, i), c = word_of(alt_seed, i);

		if (w[i] == a)
			continue;
		if (!alt)
			return (long)(i * 8);
		if (w[i] == c) {
			(*n_alt)++;
			continue;
		}
		/* The CPU and the device may both have written this word. */
		for (b = 0; b < 8; b++) {
			__u64 m = 0xffull << (8 * b);

			if ((w[i] & m) != (a & m) && (w[i] & m) != (c & m))
				return (long)(i * 8 + b);
		}
		(*n_alt)++;
	}
	return -1;
}

/*
 * Waits up to @secs for @pid.  Return: its wait status, or -1 when it
 * had to be killed (after @secs) or could not be waited for.
 */
static int wait_child_timeout(pid_t pid, double secs)
{
	double start = ut_now();
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		if (ut_now() - start > secs) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(2000);
	}
}

/*
 * Memory that is free or only caches files, in kB: what a process gives
 * back at exit shows there, whatever the page cache does meanwhile.
 */
static long free_kb(void)
{
	long f = ut_proc_kb("/proc/meminfo", "MemFree"), c = ut_proc_kb("/proc/meminfo", "Cached");
	long b = ut_proc_kb("/proc/meminfo", "Buffers");

	return f < 0 || c < 0 || b < 0 ? -1 : f + c + b;
}

/*
 * How far free_kb() may fall short after a test that used @size bytes
 * came back: a quarter of it (per-CPU lists, page tables, caches), plus,
 * under KASAN, its quarantine of freed objects (1/32 of memory).
 */
static long free_slack_kb(size_t size)
{
	long slack = size / 4 / 1024;

	if (ut_kernel_has_kasan())
		slack += ut_proc_kb("/proc/meminfo", "MemTotal") / 32;
	return slack;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Uniform in [0, 1), from a per-test xorshift state. */
static double rnd01(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / (double)(1ull << 53);
}

/* Spins until *@flag is set; false after @secs. */
static bool wait_flag(volatile int *flag, double secs)
{
	double start = ut_now();

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (ut_now() - start > secs)
			return false;
		sched_yield();
	}
	return true;
}

static bool submit_errno_ok(int ret)
{
	return ret == 0 || ret == -EFAULT || ret == -EAGAIN;
}

/* struct job's ret while SUBMIT has not returned. */
#define JOB_DIED	1

static const char *job_err(int ret)
{
	return ret == JOB_DIED ? "no return: its thread died inside SUBMIT" :
				 strerror(-ret);
}

/* One job, run by a thread: COPY @size bytes from @src into @dst. */
struct job {
	int fd;
	__u32 dst, src;
	__u64 size;
	volatile int started;	/* set just before SUBMIT */
	volatile int done;	/* set once SUBMIT returned */
	int ret;
	double t_start, t_end;	/* SUBMIT entry and return */
};

static void *job_thread(void *arg)
{
	struct job *j = arg;

	j->t_start = ut_now();
	/* Stays so if the thread dies inside SUBMIT (a kernel oops). */
	j->ret = JOB_DIED;
	__atomic_store_n(&j->started, 1, __ATOMIC_RELEASE);
	j->ret = ut_copy(j->fd, j->dst, 0, j->src, 0, j->size);
	j->t_end = ut_now();
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A device BO of @size bytes holding the pattern @seed. */
static int make_src_bo(int fd, __u64 size, __u64 seed, __u32 *handle)
{
	void *map = NULL;
	int ret = ut_bo_create_map(fd, size, handle, &map);

	if (ret)
		return ret;
	fill_words(map, size, seed);
	munmap(map, size);
	return 0;
}

/* Duration of a first job into a fresh coherent userptr of @size bytes. */
static double cold_job_time(int fd, __u32 src, size_t size)
{
	void *p = ut_alloc(size);
	double t = -1;
	__u32 u;

	if (!p)
		return -1;
	memset(p, 1, size);
	if (!ut_userptr(fd, p, size, COHERENT, &u)) {
		t = ut_now();
		if (ut_copy(fd, u, 0, src, 0, size))
			t = -1;
		else
			t = ut_now() - t;
		ut_gem_close(fd, u);
	}
	munmap(p, size);
	return t;
}

/*
 * A child that maps @size bytes of fresh memory, fills it with @seed,
 * says so on @ready, then waits for a byte on @go and exits 0 if the
 * memory still holds the pattern, 1 if not (2, 3: setup failed).
 */
static pid_t spawn_filler(size_t size, __u64 seed, int *ready, int *go)
{
	int r[2], g[2];
	pid_t pid;

	if (pipe(r))
		return -1;
	if (pipe(g)) {
		close(r[0]);
		close(r[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		void *p;
		char c = 0;

		alarm(120);
		close(r[0]);
		close(g[1]);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		fill_words(p, size, seed);
		if (write(r[1], &c, 1) != 1)
			_exit(3);
		if (read(g[0], &c, 1) != 1)
			_exit(3);
		_exit(check_words(p, size, seed) == -1 ? 0 : 1);
	}
	close(r[1]);
	close(g[0]);
	if (pid < 0) {
		close(r[0]);
		close(g[1]);
		return -1;
	}
	*ready = r[0];
	*go = g[1];
	return pid;
}

/* Waits (bounded) for the filler's byte on @ready; false on EOF or timeout. */
static bool filler_ready(int ready)
{
	struct pollfd pfd = { .fd = ready, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 60000) != 1)
		return false;
	return read(ready, &c, 1) == 1;
}

/*
 * munmap (or a MAP_FIXED replacement) of a coherent userptr's range while
 * a job copies into it: once munmap has returned, the device never writes
 * the old pages, so fresh memory mapped right after (at the same address,
 * elsewhere, in a child) keeps its pattern; the job completes or fails
 * with -EFAULT.
 */
TEST_F_TIMEOUT(uptr, munmap_during_job_no_write_after_free, 180)
{
	const size_t size = JOB_SIZE;
	const __u64 seed_src = 0x5eed00000000a11aull;
	unsigned int iters = 0, overlapped = 0, ok = 0, efault = 0, eagain = 0;
	unsigned int landed = 0, failures = 0;
	double t_cold, start;
	__u64 rs = 0x2545f4914f6cdd1dull;
	__u32 src;

	ut_require_coherent(_metadata, self->fd);
	ASSERT_EQ(0, make_src_bo(self->fd, size, seed_src, &src));
	t_cold = cold_job_time(self->fd, src, size);
	ASSERT_LT(0, t_cold) {
		TH_LOG("a first job into a fresh coherent userptr failed");
	}
	TH_LOG("a first %zu MiB job takes %.3f s", size >> 20, t_cold);

	start = ut_now();
	/*
	 * RACE_SECONDS of iterations, and at least MIN_RACE_ITERS of them
	 * however slow the kernel (debug) or the machine: a bound in time
	 * only for those, generous.
	 */
	while (iters < 200 &&
	       (ut_now() - start < RACE_SECONDS ||
		(iters < MIN_RACE_ITERS && ut_now() - start < 30.0 * ut_time_scale()))) {
		__u64 seed_same = 0x1111000000000000ull + iters;
		__u64 seed_else = 0x2222000000000000ull + iters;
		__u64 seed_child = 0x3333000000000000ull + iters;
		bool replace = iters & 1;	/* MAP_FIXED over it, no munmap */
		unsigned int first = iters % 3, i;
		struct job j = { .fd = self->fd, .src = src, .size = size };
		unsigned char *p, *elsewhere, *q;
		int ready = -1, go = -1, status;
		double t_unmap = 0, t_unmapped, delay;
		pthread_t thread;
		size_t n_alt = 0;
		pid_t child = -1;
		long bad;

		p = ut_alloc(size);
		ASSERT_NE(NULL, p);
		memset(p, 0x5a, size);
		ASSERT_EQ(0, ut_userptr(self->fd, p, size, COHERENT, &j.dst));
		/* Reserved now so that it cannot land in the range munmap frees. */
		elsewhere = mmap(NULL, size, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		ASSERT_NE(MAP_FAILED, elsewhere);

		ASSERT_EQ(0, pthread_create(&thread, NULL, job_thread, &j));
		ASSERT_TRUE(wait_flag(&j.started, 30));
		/* Skewed early, to hit the fault-in as well as the copy. */
		delay = rnd01(&rs);
		sleep_s(delay * delay * t_cold);

		t_unmap = ut_now();
		if (!replace)
			ASSERT_EQ(0, munmap(p, size));
		q = mmap(p, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		t_unmapped = ut_now();
		ASSERT_EQ((void *)p, (void *)q);
		ASSERT_EQ((void *)elsewhere,
			  mmap(elsewhere, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));

		/* The freed pages go to whichever is filled first: vary it. */
		for (i = 0; i < 3; i++) {
			switch ((first + i) % 3) {
			case 0:
				fill_words(p, size, seed_same);
				break;
			case 1:
				fill_words(elsewhere, size, seed_else);
				break;
			case 2:
				child = spawn_filler(size, seed_child, &ready, &go);
				ASSERT_LT(0, child);
				ASSERT_TRUE(filler_ready(ready)) {
					TH_LOG("the filler child did not get ready");
				}
				break;
			}
		}
		ASSERT_EQ(0, pthread_join(thread, NULL));

		if (j.t_start < t_unmap && t_unmap < j.t_end)
			overlapped++;
		if (j.ret == 0)
			ok++;
		else if (j.ret == -EFAULT)
			efault++;
		else if (j.ret == -EAGAIN)
			eagain++;
		EXPECT_TRUE(submit_errno_ok(j.ret)) {
			TH_LOG("iteration %u: the job failed with %s",
			       iters, job_err(j.ret));
			failures++;
		}

		/*
		 * The new memory at the same address is the userptr's range:
		 * a job still preparing may legally have copied into it.
		 */
		bad = check_words_or(p, size, seed_same, j.ret == 0, seed_src,
				     &n_alt);
		EXPECT_EQ(-1, bad) {
			TH_LOG("iteration %u (%s): byte %ld of the new memory at the same address was overwritten (job %s, %.3f s after munmap returned)",
			       iters, replace ? "MAP_FIXED" : "munmap", bad,
			       job_err(j.ret), j.t_end - t_unmapped);
			failures++;
		}
		if (n_alt)
			landed++;
		bad = check_words(elsewhere, size, seed_else);
		EXPECT_EQ(-1, bad) {
			TH_LOG("iteration %u (%s): byte %ld of new memory elsewhere was overwritten: the device wrote a freed page",
			       iters, replace ? "MAP_FIXED" : "munmap", bad);
			failures++;
		}
		ASSERT_EQ(1, write(go, "x", 1));
		status = wait_child_timeout(child, CHILD_EXIT_SECONDS);
		EXPECT_TRUE(status != -1 && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0) {
			TH_LOG("iteration %u (%s): the child's new memory was overwritten (wait status %#x; exit 1: overwritten, 2-3: setup failed)",
			       iters, replace ? "MAP_FIXED" : "munmap", status);
			failures++;
		}
		close(ready);
		close(go);

		EXPECT_EQ(0, ut_gem_close(self->fd, j.dst));
		munmap(p, size);
		munmap(elsewhere, size);
		iters++;
		if (failures > 3)
			break;
	}
	TH_LOG("%u iterations in %.1f s: munmap inside the job %u times; jobs ok %u, -EFAULT %u, -EAGAIN %u; job data in the new same-address memory %u times",
	       iters, ut_now() - start, overlapped, ok, efault, eagain, landed);
	EXPECT_LE(MIN_RACE_ITERS, iters);
	/* A race that never happened tests nothing. */
	EXPECT_LE(iters / 4, overlapped) {
		TH_LOG("munmap fell inside the job only %u of %u times",
		       overlapped, iters);
	}
}

/*
 * A munmap of a coherent userptr's range does not wait for a job that is
 * already running on it (published: its fence is on its BOs), also when
 * another, shorter job writing the same userptr was queued after it, on
 * the other engine: the job stops at the first page it can no longer
 * reach, with -EFAULT, unless it was done with the range already; the
 * later job does not complete before it (implicit synchronisation); and
 * BO_WAIT never calls the userptr idle while the long job runs.  Whether
 * the long job still runs is read from BO_WAIT on its source device BO,
 * which no other job uses.  (Before replayable faults, munmap waited for
 * the job, which then always completed: this test asserted that.)
 */
TEST_F_TIMEOUT(uptr, munmap_stops_running_job, 180)
{
	const size_t size = 4 * JOB_SIZE;
	unsigned int iters = 0, raced = 0, with_short = 0, bad_wait = 0;
	unsigned int early = 0, stopped = 0, bad_order = 0;
	double start;

	ut_require_coherent(_metadata, self->fd);
	start = ut_now();
	while (iters < 100 && (ut_now() - start < RACE_SECONDS || iters < 4)) {
		struct job j = { .fd = self->fd, .size = size };
		bool companion = iters & 1, short_done;
		int busy_before, u_wait, ret, short_file = -1;
		__u32 short_out = 0;
		pthread_t thread;
		unsigned char *p;
		double t0;

		/* A source of its own: busy means this job is published. */
		ASSERT_EQ(0, ut_bo_create(self->fd, size, &j.src));
		ASSERT_EQ(0, ut_fill(self->fd, j.src, 0, size, 0x600d600d));
		p = ut_alloc(size);
		ASSERT_NE(NULL, p);
		memset(p, 0x5a, size);
		ASSERT_EQ(0, ut_userptr(self->fd, p, size, COHERENT, &j.dst));
		ASSERT_EQ(0, pthread_create(&thread, NULL, job_thread, &j));
		ASSERT_TRUE(wait_flag(&j.started, 30));
		/* Published: its fence is on the source BO. */
		t0 = ut_now();
		while ((ret = ut_bo_wait(self->fd, j.src, 0)) == 0 &&
		       !__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) &&
		       ut_now() - t0 < 30)
			;
		if (companion) {
			/* A short job writing the same userptr, queued later. */
			struct drm_uptr_cmd c = ut_cmd_store(j.dst, 0, 0x1234);

			ASSERT_EQ(0, ut_syncobj_create(self->fd, &short_out));
			ASSERT_EQ(0, ut_submit_async(self->fd, 1, &c, 1, NULL, 0, short_out));
			ASSERT_EQ(0, ut_syncobj_export(self->fd, short_out, &short_file));
			with_short++;
		}
		short_done = companion && ut_sync_file_poll(short_file, 0) == 1;
		u_wait = ut_bo_wait(self->fd, j.dst, 0);
		busy_before = ut_bo_wait(self->fd, j.src, 0);
		if (busy_before == -ETIME && u_wait == 0) {
			bad_wait++;
			TH_LOG("iteration %u: BO_WAIT calls the userptr idle while a job writing it runs%s",
			       iters, companion ? " (with a short job queued after it)" : "");
		}
		if (busy_before == -ETIME && short_done) {
			bad_order++;
			TH_LOG("iteration %u: a later job writing the userptr completed while the first ran",
			       iters);
		}
		ASSERT_EQ(0, munmap(p, size));
		ASSERT_EQ(0, pthread_join(thread, NULL));
		if (companion) {
			int st = 0;
			__u64 ts;

			/* It ran after the munmap (-EFAULT) or before it. */
			ASSERT_EQ(1, ut_sync_file_poll(short_file, 60000 * ut_time_scale()));
			ASSERT_EQ(0, ut_sync_file_info(short_file, &st, &ts));
			EXPECT_TRUE(st == 1 || st == -EFAULT) {
				TH_LOG("iteration %u: the short job ended with %d", iters, st);
			}
			close(short_file);
			EXPECT_EQ(0, ut_syncobj_destroy(self->fd, short_out));
		}
		EXPECT_TRUE(j.ret == 0 || j.ret == -EFAULT) {
			TH_LOG("iteration %u: the job failed with %s", iters,
			       job_err(j.ret));
		}
		if (busy_before == -ETIME) {
			raced++;
			if (j.ret == -EFAULT)
				stopped++;
		} else {
			early++;
		}
		EXPECT_EQ(0, ut_gem_close(self->fd, j.dst));
		EXPECT_EQ(0, ut_gem_close(self->fd, j.src));
		iters++;
		if (j.ret == JOB_DIED)
			break;
	}
	TH_LOG("%u iterations in %.1f s: munmap while the job ran %u times (%u with a short job after it), which stopped it %u times; %u too late",
	       iters, ut_now() - start, raced, with_short, stopped, early);
	EXPECT_EQ(0u, bad_wait);
	EXPECT_EQ(0u, bad_order);
	EXPECT_LE(iters / 2, raced) {
		TH_LOG("the job was over before munmap in %u of %u iterations",
		       early, iters);
	}
	/*
	 * munmap waiting for the job would let every one of them complete.
	 * (One that munmap merely fell inside may still complete: a slow
	 * munmap can reach the notifier after the job's last page.)
	 */
	EXPECT_LE(1u, stopped) {
		TH_LOG("munmap stopped none of the %u jobs it fell inside", raced);
	}
}

/* What a child running jobs reports to its parent through shared memory. */
struct child_report {
	volatile int started;	/* its submitting thread is about to SUBMIT */
	volatile int jobs;	/* jobs that returned */
	volatile int bad_ret;	/* the first undocumented SUBMIT error */
	int setup;		/* non-zero: setup failed at that step */
	__u32 handles[4];	/* BOs it made on the inherited fd */
	__u64 faulted;		/* pages_faulted of handles[0] */
};

struct child_loop {
	int fd;
	__u32 u, src, dst;
	__u64 size;
	unsigned char *p;
	struct child_report *rep;
};

/* Runs jobs writing and reading the userptr until the process dies. */
static void *child_submit_loop(void *arg)
{
	struct child_loop *l = arg;
	unsigned int n;

	__atomic_store_n(&l->rep->started, 1, __ATOMIC_RELEASE);
	for (n = 0;; n++) {
		int ret = n & 1 ? ut_copy(l->fd, l->dst, 0, l->u, 0, l->size)
				: ut_copy(l->fd, l->u, 0, l->src, 0, l->size);

		if (!submit_errno_ok(ret) && !l->rep->bad_ret)
			l->rep->bad_ret = ret;
		__atomic_add_fetch(&l->rep->jobs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Unmaps and maps again pieces of the userptr's range until the process dies. */
static void *child_munmap_loop(void *arg)
{
	struct child_loop *l = arg;
	size_t chunk = l->size / 16;
	unsigned int n;

	for (n = 0;; n++) {
		unsigned char *c = l->p + (n * 7 % 16) * chunk;

		munmap(c, chunk);
		if (mmap(c, chunk, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			_exit(30);
		c[0] = 1;
	}
	return NULL;
}

enum exit_how {
	EXIT_OWN_FD,		/* _exit(), the child's own fd */
	EXIT_SHARED_FD,		/* _exit(), the fd inherited from the parent */
	EXIT_MUNMAP,		/* _exit() while a thread also munmaps */
	EXIT_SIGKILL,		/* the parent SIGKILLs it */
	EXIT_HOW_COUNT,
};

static const char *const exit_how_name[] = {
	"exit, own fd", "exit, inherited fd", "exit while munmapping",
	"SIGKILL",
};

/* The child of process_exit_during_job: never returns. */
static void exit_child(int shared_fd, enum exit_how how, __u64 size,
		       double delay, struct child_report *rep)
{
	struct child_loop l = { .size = size, .rep = rep };
	pthread_t t1, t2;

	alarm(120);
	l.fd = how == EXIT_SHARED_FD ? shared_fd : ut_open();
	if (l.fd < 0)
		_exit(rep->setup = 10);
	l.p = ut_alloc(size);
	if (!l.p)
		_exit(rep->setup = 11);
	memset(l.p, 0x33, size);
	if (ut_userptr(l.fd, l.p, size, COHERENT, &l.u) ||
	    ut_bo_create(l.fd, size, &l.src) ||
	    ut_bo_create(l.fd, size, &l.dst) ||
	    ut_fill(l.fd, l.src, 0, size, 0x01020304))
		_exit(rep->setup = 12);
	/* Faulted and used once before the race. */
	if (ut_copy(l.fd, l.dst, 0, l.u, 0, size))
		_exit(rep->setup = 13);
	rep->handles[0] = l.u;
	rep->handles[1] = l.src;
	rep->handles[2] = l.dst;
	if (pthread_create(&t1, NULL, child_submit_loop, &l))
		_exit(rep->setup = 14);
	if (how == EXIT_MUNMAP &&
	    pthread_create(&t2, NULL, child_munmap_loop, &l))
		_exit(rep->setup = 15);
	if (how == EXIT_SIGKILL) {
		/* Wait for the parent's SIGKILL (bounded by the alarm). */
		for (;;)
			pause();
	}
	if (!wait_flag(&rep->started, 30))
		_exit(rep->setup = 16);
	sleep_s(delay);
	_exit(0);
}

/*
 * A process exits (exit_group from its main thread, or SIGKILL) while
 * another of its threads is inside SUBMIT with a long job on a coherent
 * userptr, with its own fd or one shared with its parent, and while yet
 * another thread munmaps the range: the child ends normally and promptly.
 */
TEST_F_TIMEOUT(uptr, process_exit_during_job, 300)
{
	const size_t size = JOB_SIZE;
	unsigned int iters = 0, by_how[EXIT_HOW_COUNT] = { 0 };
	struct child_report *rep = ut_alloc_shared(self->page);
	__u64 rs = 0x9e3779b97f4a7c15ull;
	double t_cold, start;
	__u32 src, dst;

	ut_require_coherent(_metadata, self->fd);
	ASSERT_NE(NULL, rep);
	ASSERT_EQ(0, make_src_bo(self->fd, size, 7, &src));
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &dst));
	t_cold = cold_job_time(self->fd, src, size);
	ASSERT_LT(0, t_cold);

	start = ut_now();
	while (iters < 100 && (ut_now() - start < RACE_SECONDS ||
			       iters < EXIT_HOW_COUNT)) {
		enum exit_how how = iters % EXIT_HOW_COUNT;
		double delay = rnd01(&rs) * 2 * t_cold, t_exit;
		struct drm_uptr_bo_info info;
		int status;
		pid_t pid;

		memset(rep, 0, sizeof(*rep));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			exit_child(self->fd, how, size, delay, rep);

		if (how == EXIT_SIGKILL) {
			if (wait_flag(&rep->started, 60)) {
				sleep_s(delay);
				kill(pid, SIGKILL);
			}
		}
		t_exit = ut_now();
		status = wait_child_timeout(pid, CHILD_EXIT_SECONDS + 2 * t_cold);
		ASSERT_NE(-1, status) {
			TH_LOG("iteration %u (%s): the child did not exit within %.0f s",
			       iters, exit_how_name[how], CHILD_EXIT_SECONDS);
		}
		ASSERT_EQ(0, rep->setup) {
			TH_LOG("iteration %u (%s): child setup failed at step %d",
			       iters, exit_how_name[how], rep->setup);
		}
		ASSERT_EQ(1, rep->started) {
			TH_LOG("iteration %u (%s): the child never submitted",
			       iters, exit_how_name[how]);
		}
		if (how == EXIT_SIGKILL) {
			EXPECT_TRUE(WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGKILL) {
				TH_LOG("iteration %u (%s): wait status %#x",
				       iters, exit_how_name[how], status);
			}
		} else {
			EXPECT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0) {
				TH_LOG("iteration %u (%s): wait status %#x",
				       iters, exit_how_name[how], status);
			}
		}
		EXPECT_EQ(0, rep->bad_ret) {
			TH_LOG("iteration %u (%s): a job failed with %s",
			       iters, exit_how_name[how],
			       strerror(-rep->bad_ret));
		}
		if (how == EXIT_SHARED_FD) {
			/* The userptr outlives its process, useless. */
			ASSERT_EQ(0, ut_bo_info(self->fd, rep->handles[0], &info));
			EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, info.kind);
			EXPECT_EQ(0ull, info.pages_pinned);
			EXPECT_EQ(-EFAULT, ut_copy(self->fd, dst, 0,
						   rep->handles[0], 0, size));
			EXPECT_EQ(0, ut_gem_close(self->fd, rep->handles[0]));
			EXPECT_EQ(0, ut_gem_close(self->fd, rep->handles[1]));
			EXPECT_EQ(0, ut_gem_close(self->fd, rep->handles[2]));
		}
		if (ut_now() - t_exit > 10)
			TH_LOG("iteration %u (%s): the child took %.1f s to exit",
			       iters, exit_how_name[how], ut_now() - t_exit);
		by_how[how]++;
		iters++;
	}
	TH_LOG("%u children in %.1f s: %u exited with their own fd, %u with an inherited fd, %u while munmapping, %u killed",
	       iters, ut_now() - start, by_how[EXIT_OWN_FD],
	       by_how[EXIT_SHARED_FD], by_how[EXIT_MUNMAP],
	       by_how[EXIT_SIGKILL]);
	/* The parent's fd and BOs are unaffected. */
	EXPECT_EQ(0, ut_copy(self->fd, dst, 0, src, 0, size));
}

struct munmapper {
	unsigned char *p;
	size_t size;
	volatile int stop;
	unsigned long cycles;
	int error;
};

/* munmaps and maps back slices of [p, p + size) until told to stop. */
static void *munmap_thread(void *arg)
{
	struct munmapper *m = arg;
	size_t chunk = m->size / 8;
	unsigned long n;

	for (n = 0; !__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE); n++) {
		unsigned char *c = m->p + (n * 3 % 8) * chunk;

		if (munmap(c, chunk) ||
		    mmap(c, chunk, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != c) {
			m->error = errno;
			break;
		}
		memset(c, 0x44, 4096);
		m->cycles++;
	}
	return NULL;
}

/*
 * Waits until @j's SUBMIT is inside the kernel: it faulted a page of its
 * userptr (nothing else faults it in) or returned.  False after @secs.
 */
static bool wait_job_inside(struct job *j, double secs)
{
	double start = ut_now();
	struct drm_uptr_bo_info info;

	while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) {
		if (!ut_bo_info(j->fd, j->dst, &info) && info.pages_faulted)
			return true;
		if (ut_now() - start > secs)
			return false;
		sched_yield();
	}
	return true;
}

/*
 * close() of the fd while another thread is inside SUBMIT on it: close
 * returns at once, the job completes with its data in memory (it holds
 * its BOs; the file goes when SUBMIT returns); and with a third thread
 * munmapping the range, the job completes or fails with -EFAULT.
 */
TEST_F_TIMEOUT(uptr, close_fd_during_job, 180)
{
	const size_t size = JOB_SIZE;
	unsigned int iters = 0, overlapped = 0, with_munmap = 0;
	__u64 rs = 0xdeadbeefcafef00dull;
	double t_cold, start;
	__u32 src0;

	ut_require_coherent(_metadata, self->fd);
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &src0));
	t_cold = cold_job_time(self->fd, src0, size);
	ASSERT_LT(0, t_cold);

	start = ut_now();
	while (iters < 100 && (ut_now() - start < RACE_SECONDS || iters < 4)) {
		struct munmapper m = { .size = size };
		bool munmapping = iters & 1;
		__u32 pattern = 0x0a0b0c00 + iters;
		struct job j = { .size = size };
		pthread_t thread, mthread;
		unsigned char *p;
		double t_close0, t_close;
		long bad;

		j.fd = ut_open();
		ASSERT_LE(0, j.fd);
		p = ut_alloc(size);
		ASSERT_NE(NULL, p);
		memset(p, 0x5a, size);
		m.p = p;
		ASSERT_EQ(0, ut_userptr(j.fd, p, size, COHERENT, &j.dst));
		/* Not mapped: a mapping would hold the file open. */
		ASSERT_EQ(0, ut_bo_create(j.fd, size, &j.src));
		ASSERT_EQ(0, ut_fill(j.fd, j.src, 0, size, pattern));

		ASSERT_EQ(0, pthread_create(&thread, NULL, job_thread, &j));
		if (munmapping)
			ASSERT_EQ(0, pthread_create(&mthread, NULL,
						    munmap_thread, &m));
		ASSERT_TRUE(wait_flag(&j.started, 30));
		/* A close before SUBMIT entered would make it fail with -EBADF. */
		ASSERT_TRUE(wait_job_inside(&j, 30));
		sleep_s(rnd01(&rs) * t_cold);
		t_close0 = ut_now();
		EXPECT_EQ(0, close(j.fd));
		t_close = ut_now() - t_close0;
		ASSERT_EQ(0, pthread_join(thread, NULL));
		if (munmapping) {
			__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
			ASSERT_EQ(0, pthread_join(mthread, NULL));
			EXPECT_EQ(0, m.error);
			with_munmap++;
		}
		if (j.t_start < t_close0 && t_close0 < j.t_end)
			overlapped++;

		if (munmapping) {
			EXPECT_TRUE(submit_errno_ok(j.ret)) {
				TH_LOG("iteration %u: the job failed with %s",
				       iters, job_err(j.ret));
			}
		} else {
			EXPECT_EQ(0, j.ret) {
				TH_LOG("iteration %u: the job failed with %s",
				       iters, job_err(j.ret));
			}
			bad = ut_find_not_dword(p, size, pattern);
			EXPECT_EQ(-1, bad) {
				TH_LOG("iteration %u: byte %ld of the userptr is wrong",
				       iters, bad);
			}
		}
		EXPECT_LT(t_close, 5.0) {
			TH_LOG("close() took %.1f s", t_close);
		}
		munmap(p, size);
		iters++;
	}
	TH_LOG("%u closes in %.1f s, %u inside the job, %u while munmapping",
	       iters, ut_now() - start, overlapped, with_munmap);
	EXPECT_LE(iters / 4, overlapped) {
		TH_LOG("close() fell inside the job only %u of %u times",
		       overlapped, iters);
	}
	/* The fixture's fd did not notice. */
	EXPECT_EQ(0, ut_fill(self->fd, src0, 0, size, 3));
}

/* Live coherent userptrs over @p, faulted by jobs; results in @rep. */
static int make_live_userptrs(int fd, unsigned char *p, size_t size,
			      unsigned int n, __u32 *handles, __u64 *faulted)
{
	size_t slice = size / n;
	struct drm_uptr_bo_info info;
	unsigned int i;
	__u32 d, whole, sparse;
	void *res;
	int ret;

	*faulted = 0;
	ret = ut_bo_create(fd, slice, &d);
	if (ret)
		return ret;
	ret = ut_fill(fd, d, 0, slice, 0x77777777);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		ret = ut_userptr(fd, p + i * slice, slice, COHERENT,
				 &handles[i]);
		if (ret)
			return ret;
		/* Written by the device, then read back. */
		ret = ut_copy(fd, handles[i], 0, d, 0, slice);
		if (!ret)
			ret = ut_checksum(fd, d, 0, handles[i], 0, slice);
		if (ret)
			return ret;
		ret = ut_bo_info(fd, handles[i], &info);
		if (ret)
			return ret;
		*faulted += info.pages_faulted;
	}
	/* One over the whole range, and one over a sparse reservation. */
	ret = ut_userptr(fd, p, size, COHERENT, &whole);
	if (!ret)
		ret = ut_checksum(fd, d, 0, whole, 0, size);
	if (ret)
		return ret;
	res = mmap(NULL, 1ull << 30, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	ret = ut_userptr(fd, res, 1ull << 30, COHERENT, &sparse);
	if (!ret)
		ret = ut_copy(fd, sparse, 512 * UT_MIB, d, 0, slice);
	return ret;
}

/*
 * Closing an fd with live coherent userptrs whose pages were faulted
 * frees them: the memory goes back once unmapped, and the ranges can be
 * changed and registered again.
 */
TEST_F_TIMEOUT(uptr, close_fd_live_coherent_userptrs, 120)
{
	const size_t size = 256 * UT_MIB;
	const unsigned int n = 64;
	unsigned char *p;
	__u32 handles[64], u, d;
	long free_before, free_after;
	__u64 faulted;
	int fd2;

	ut_require_coherent(_metadata, self->fd);
	/* The baseline: the same memory used without the driver. */
	p = ut_alloc(size);
	ASSERT_NE(NULL, p);
	memset(p, 0x21, size);
	ASSERT_EQ(0, munmap(p, size));
	free_before = free_kb();
	ASSERT_LT(0, free_before);
	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	p = ut_alloc(size);
	ASSERT_NE(NULL, p);
	memset(p, 0x21, size);
	ASSERT_EQ(0, make_live_userptrs(fd2, p, size, n, handles, &faulted));
	EXPECT_LE((__u64)(size / self->page), faulted);
	ASSERT_EQ(0, close(fd2));

	/* No notifier left behind: changing the range is harmless... */
	EXPECT_EQ(0, mprotect(p, size / 2, PROT_READ));
	EXPECT_EQ(0, madvise(p + size / 2, size / 4, MADV_DONTNEED));
	EXPECT_EQ(0, mprotect(p, size / 2, PROT_READ | PROT_WRITE));
	memset(p, 0x22, size);
	/* ...and the range can be registered again on another fd. */
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, COHERENT, &u));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
	EXPECT_EQ(0, ut_copy(self->fd, d, 0, u, size - self->page,
			     self->page));
	EXPECT_EQ(0, ut_gem_close(self->fd, u));
	EXPECT_EQ(0, munmap(p, size));

	free_after = free_kb();
	TH_LOG("free + cached %ld kB without the driver, %ld kB with it; %llu pages faulted",
	       free_before, free_after, (unsigned long long)faulted);
	EXPECT_LE(free_before - free_slack_kb(size), free_after) {
		TH_LOG("%ld kB of memory did not come back",
		       free_before - free_after);
	}
}

/*
 * free_kb() once a process that populated @size bytes of anonymous
 * memory without the driver has exited: the baseline of the exit tests,
 * so that page cache and per-CPU lists cancel out.
 */
static long free_after_plain_child(size_t size)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		unsigned char *p = ut_alloc(size);

		if (!p)
			_exit(1);
		memset(p, 0x31, size);
		_exit(0);
	}
	status = wait_child_timeout(pid, CHILD_EXIT_SECONDS);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return free_kb();
}

/* The child of the exit_live_* tests: coherent userptrs, then exit. */
static void live_child(int fd, size_t size, struct child_report *rep)
{
	unsigned char *p = ut_alloc(size);
	__u32 handles[16];
	int ret;

	alarm(120);
	if (!p)
		_exit(rep->setup = 10);
	memset(p, 0x31, size);
	ret = make_live_userptrs(fd, p, size, 16, handles, &rep->faulted);
	if (ret)
		_exit(rep->setup = 11);
	rep->handles[0] = handles[0];
	rep->handles[1] = handles[15];
	_exit(0);
}

/*
 * Waits for a child running live_child() to exit, then checks that the
 * memory it faulted came back: free memory may fall short of
 * @free_before, measured after a child without the driver, by at most a
 * quarter of @size, plus on a KASAN kernel what its quarantine may hold
 * of freed slab objects (up to 1/32 of RAM; the driver's caches and BOs
 * freed at exit land there, with DEBUG_OBJECTS' own): far less than the
 * @size a child whose userptrs held its memory would keep.
 */
static void check_child_gave_back(struct __test_metadata *_metadata, pid_t pid,
				  const struct child_report *rep, size_t size,
				  size_t page, long free_before)
{
	long free_after, slack;
	int status;

	status = wait_child_timeout(pid, CHILD_EXIT_SECONDS);
	ASSERT_TRUE(status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0) {
		TH_LOG("child status %#x, setup step %d", status, rep->setup);
	}
	EXPECT_LE((__u64)(size / page), rep->faulted);
	free_after = free_kb();
	slack = free_slack_kb(size);
	TH_LOG("free + cached %ld kB after a child without the driver, %ld kB after this one, %ld kB slack",
	       free_before, free_after, slack);
	ASSERT_LT(slack, (long)(size / 1024));
	EXPECT_LE(free_before - slack, free_after) {
		TH_LOG("%ld kB of the child's memory did not come back (held by its userptrs?)",
		       free_before - free_after);
	}
}

/*
 * A process exiting with live, faulted coherent userptrs on its own fd
 * gives all its memory back.
 */
TEST_F_TIMEOUT(uptr, exit_live_coherent_userptrs, 120)
{
	const size_t size = 256 * UT_MIB;
	struct child_report *rep = ut_alloc_shared(self->page);
	long free_before;
	pid_t pid;

	ut_require_coherent(_metadata, self->fd);
	ASSERT_NE(NULL, rep);
	free_before = free_after_plain_child(size);
	ASSERT_LT(0, free_before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = ut_open();

		if (fd < 0)
			_exit(rep->setup = 9);
		live_child(fd, size, rep);
	}
	check_child_gave_back(_metadata, pid, rep, size, self->page, free_before);
}

/*
 * A process exiting with live, faulted coherent userptrs on an fd its
 * parent shares gives its memory back at once, though the BOs live on:
 * a coherent userptr pins nothing and holds no address space.  Jobs on
 * them fail with -EFAULT; the parent can close them.
 */
TEST_F_TIMEOUT(uptr, exit_live_coherent_userptrs_shared_fd, 120)
{
	const size_t size = 256 * UT_MIB;
	struct child_report *rep = ut_alloc_shared(self->page);
	struct drm_uptr_bo_info info;
	long free_before;
	unsigned int i;
	pid_t pid;
	__u32 d;

	ut_require_coherent(_metadata, self->fd);
	ASSERT_NE(NULL, rep);
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &d));
	free_before = free_after_plain_child(size);
	ASSERT_LT(0, free_before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		live_child(self->fd, size, rep);
	check_child_gave_back(_metadata, pid, rep, size, self->page, free_before);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ut_bo_info(self->fd, rep->handles[i], &info));
		EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, info.kind);
		EXPECT_EQ(0ull, info.pages_pinned);
		/* The mechanism, whatever free memory says: the exit dropped them all. */
		EXPECT_EQ(0ull, info.pages_resident);
		EXPECT_EQ(-EFAULT, ut_copy(self->fd, d, 0, rep->handles[i], 0,
					   size / 16));
		EXPECT_EQ(-EFAULT, ut_copy(self->fd, rep->handles[i], 0, d, 0,
					   size / 16));
		EXPECT_EQ(0, ut_gem_close(self->fd, rep->handles[i]));
	}
	/* The rest go with the fd at teardown. */
}

TEST_HARNESS_MAIN
