// SPDX-License-Identifier: GPL-2.0
/*
 * Description: benchmarks of coherent userptrs over UPTR_BENCH_MIB
 * (default 1024) MiB of anonymous memory the CPU populated first (a
 * 1 GiB run needs vm/run --mem 4G).  Each figure is a ratio against a
 * baseline measured in the same run:
 *
 *   a. fault_vs_pin: creating a pinned userptr of the range, against the
 *      fault-in a first whole-range job of a coherent userptr costs over
 *      the same job once warm (target >= 0.8), minima over the
 *      repetitions; warm_coherent_vs_pinned, a whole-range job on a
 *      warm coherent userptr against the same on a pinned one (>= 0.95),
 *      minima; and first_result_coherent_vs_pinned, the time from
 *      creation to the end of a first whole-range job, pinned against
 *      coherent;
 *   b. small_job_big_vs_small: a 4 KiB job on a warm big coherent
 *      userptr against the same job on a 4 KiB one, medians (<= 1.2);
 *   c. munmap_registered_vs_not: munmap of a range under a warm
 *      coherent userptr against munmap of an unregistered one (<= 1.5);
 *   d. refault_after_dontneed: pages faulted again by a whole-range job
 *      after madvise(DONTNEED) of one page (== 1);
 *   e. munmap_under_job_vs_not: munmap of one page under a running job
 *      that reads a 1 GiB coherent userptr, against munmap of one page
 *      of an unregistered range mapped the same way, medians (<= 2); and
 *      munmap_under_job_vs_beside_it, against munmap of an unregistered
 *      page while the job runs, which pays the same TLB shootdown of the
 *      job's CPU: what is left is the notifier's own cost;
 *   f. other_process_munmap_busy_vs_idle: a process's munmap of one page
 *      under its own warm coherent userptr while another process runs a
 *      1 GiB job and invalidates its own memory under it, against the
 *      same munmap with that other process absent, medians (<= 2);
 *   h. prefetch_write_vs_pin: creating a pinned userptr of fresh
 *      (never touched) memory, against creating a coherent one over
 *      fresh memory and prefetching it for writing
 *      (DRM_IOCTL_UPTR_PREFETCH with DRM_UPTR_PREFETCH_WRITE), minima
 *      over the repetitions (target <= 1: the prefetch costs no more
 *      than the pin), and the whole-range FILL after each, which the
 *      prefetch leaves with nothing to fault;
 *   t. THP-backed memory (MADV_HUGEPAGE, 2 MiB aligned, AnonHugePages
 *      checked in /proc/self/smaps; skipped without THP): creating a
 *      pinned userptr against creating a coherent one and prefetching
 *      it for writing, thp_fault_vs_pin (target <= 1.5), and destroying
 *      the pinned one against destroying the coherent one with every
 *      page resident, each after the same whole-range FILL,
 *      thp_destroy_coherent_vs_pinned (target <= 1.2), minima over the
 *      repetitions; the FILL times for information;
 *   g. kernel memory, the slab charged to a child cgroup the bench
 *      creates (cgroup2 on /sys/fs/cgroup): per cold 4 KiB userptr
 *      (<= 512 bytes), per warm one (after one job), per resident page of
 *      a 64 MiB userptr (<= 32 bytes), and per page of a 1 TiB PROT_READ
 *      userptr after 1000 scattered pages were read, and after munmap.
 *
 * The memory is made of 4 KiB pages (MADV_NOHUGEPAGE), the case where
 * per-page costs show; UPTR_BENCH_THP=1 leaves transparent huge pages
 * on.  d. is also reported for a THP-backed range, for information: there
 * the kernel itself invalidates the whole 2 MiB it splits.
 *
 * Prints one line per measurement and one "ratio NAME VALUE (target ...)"
 * line per target, as KTAP diagnostics ("# ..."); it judges no timing.
 * KTAP through kselftest.h: one result per case, which fails only if an
 * operation fails.  UPTR_BENCH_REPS (default 5) repeats a., h. and t.
 * (minima) and c. (medians); UPTR_BENCH_ONLY=aht (letters) runs only
 * those cases.  The 1 GiB default of UPTR_BENCH_MIB fits t. too in
 * vm/run --mem 4G.
 */
#include "uptr_test.h"

/* kselftest.h is not written for -Wextra (unused parameters). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest.h"
#pragma GCC diagnostic pop

#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define COHERENT	0u
#define PINNED		DRM_UPTR_USERPTR_PINNED
#define SMALL_JOB_REPS	2000

static size_t page_size;
static bool thp;
static int failed;

#define CHECK(call) do {						\
	int __ret = (call);						\
									\
	if (__ret) {							\
		ksft_print_msg("%s:%d: %s failed: %s\n", __FILE__, __LINE__, \
		       #call, strerror(__ret < 0 ? -__ret : __ret));	\
		failed = 1;						\
		goto out;						\
	}								\
} while (0)

/* Whether UPTR_BENCH_ONLY (letters of the cases to run; unset: all) asks for case @c. */
static bool want(char c)
{
	const char *only = getenv("UPTR_BENCH_ONLY");

	return !only || !*only || strchr(only, c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Anonymous memory of @size bytes, populated by CPU writes; of 4 KiB
 * pages unless @huge.
 */
static void *populated_thp(size_t size, bool huge)
{
	unsigned char *p = ut_alloc(size);
	size_t i;

	if (!p)
		return NULL;
	if (madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && !huge) {
		munmap(p, size);
		return NULL;
	}
	for (i = 0; i < size; i += page_size)
		p[i] = (unsigned char)(i / page_size);
	return p;
}

static void *populated(size_t size)
{
	return populated_thp(size, thp);
}

static void print_time(const char *what, double s)
{
	if (s < 1e-3)
		ksft_print_msg("%-52s %10.1f us\n", what, s * 1e6);
	else
		ksft_print_msg("%-52s %10.3f ms\n", what, s * 1e3);
}

/* A whole-range job: FILL every byte. */
static int whole_job(int fd, __u32 u, size_t size, double *t)
{
	double t0 = ut_now();
	int ret = ut_fill(fd, u, 0, size, 0x5a5a5a5a);

	*t = ut_now() - t0;
	return ret;
}

static int env_int(const char *name, int def)
{
	const char *e = getenv(name);
	int v = e && *e ? atoi(e) : def;

	return v > 0 ? v : def;
}

/* a. pinned create against the fault-in of a first coherent job. */
static double minimum(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/*
 * Timing noise under emulation only ever adds time, so the minimum over
 * the repetitions estimates each cost; the fault-in is then the first
 * whole-range job less the same job warm.
 */
static int bench_fault_vs_pin(int fd, size_t size, int reps)
{
	double pin[16] = { 0 }, pinned_job[16] = { 0 }, create[16] = { 0 };
	double first[16] = { 0 }, warm[16] = { 0 };
	double fault, e2e_pinned, e2e_coherent;
	struct drm_uptr_bo_info info;
	unsigned char *p = populated(size);
	char what[128];
	int r;
	__u32 u;

	if (!p) {
		ksft_print_msg("cannot map %zu MiB\n", size >> 20);
		failed = 1;
		return -1;
	}
	ksft_print_msg("a. %zu MiB populated by the CPU (AnonHugePages %ld kB)\n",
	       size >> 20, ut_proc_kb("/proc/meminfo", "AnonHugePages"));
	for (r = 0; r < reps; r++) {
		double t0 = ut_now();

		CHECK(ut_userptr(fd, p, size, PINNED, &u));
		pin[r] = ut_now() - t0;
		CHECK(whole_job(fd, u, size, &pinned_job[r]));
		CHECK(ut_gem_close(fd, u));

		t0 = ut_now();
		CHECK(ut_userptr(fd, p, size, COHERENT, &u));
		create[r] = ut_now() - t0;
		CHECK(whole_job(fd, u, size, &first[r]));
		CHECK(whole_job(fd, u, size, &warm[r]));
		CHECK(ut_bo_info(fd, u, &info));
		CHECK(ut_gem_close(fd, u));

		snprintf(what, sizeof(what), "a. rep %d: pin, pinned job, first, warm (ms); faulted", r);
		ksft_print_msg("%-52s %.1f %.1f %.1f %.1f; %llu of %zu pages\n", what,
		       pin[r] * 1e3, pinned_job[r] * 1e3, first[r] * 1e3,
		       warm[r] * 1e3, (unsigned long long)info.pages_faulted,
		       size / page_size);
	}
	fault = minimum(first, reps) - minimum(warm, reps);
	e2e_pinned = minimum(pin, reps) + minimum(pinned_job, reps);
	e2e_coherent = minimum(create, reps) + minimum(first, reps);
	print_time("a. pinned userptr create (min)", minimum(pin, reps));
	print_time("a. whole-range FILL on it (min)", minimum(pinned_job, reps));
	print_time("a. coherent userptr create (min)", minimum(create, reps));
	print_time("a. coherent first whole-range FILL (min)", minimum(first, reps));
	print_time("a. coherent warm whole-range FILL (min)", minimum(warm, reps));
	print_time("a. coherent fault-in = first - warm", fault);
	ksft_print_msg("%-52s %10.0f MiB/s\n", "a. pinned create throughput",
	       (size >> 20) / minimum(pin, reps));
	if (fault > 0) {
		ksft_print_msg("%-52s %10.0f MiB/s\n", "a. coherent fault-in throughput",
		       (size >> 20) / fault);
		ksft_print_msg("ratio fault_vs_pin %.2f (target >= 0.8)\n",
		       minimum(pin, reps) / fault);
	} else {
		ksft_print_msg("ratio fault_vs_pin: fault-in below the timing noise (target >= 0.8)\n");
	}
	ksft_print_msg("ratio first_result_coherent_vs_pinned %.2f (create + first job; >= 1 is faster)\n",
	       e2e_pinned / e2e_coherent);
	ksft_print_msg("ratio warm_coherent_vs_pinned %.2f (whole-range FILL, pinned time / warm coherent time; target >= 0.95)\n",
		       minimum(pinned_job, reps) / minimum(warm, reps));
out:
	munmap(p, size);
	return failed ? -1 : 0;
}

/* Anonymous memory of @size bytes nothing touched yet; of 4 KiB pages unless thp. */
static void *fresh(size_t size)
{
	void *p = ut_alloc(size);

	if (p && madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && !thp) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

/* h. a write prefetch of fresh memory against pinning it. */
static int bench_prefetch_vs_pin(int fd, size_t size, int reps)
{
	double pin[16] = { 0 }, pinned_job[16] = { 0 }, prefetch[16] = { 0 };
	double prefetched_job[16] = { 0 };
	struct drm_uptr_bo_info info = { 0 };
	unsigned char *p = NULL;
	char what[128];
	int r;
	__u32 u;

	ksft_print_msg("h. %zu MiB of fresh memory: pinned create against coherent create + write prefetch\n",
	       size >> 20);
	for (r = 0; r < reps; r++) {
		struct drm_uptr_prefetch pf = { .flags = DRM_UPTR_PREFETCH_WRITE, .size = size };
		double t0;

		p = fresh(size);
		CHECK(p ? 0 : -ENOMEM);
		t0 = ut_now();
		CHECK(ut_userptr(fd, p, size, PINNED, &u));
		pin[r] = ut_now() - t0;
		CHECK(whole_job(fd, u, size, &pinned_job[r]));
		CHECK(ut_gem_close(fd, u));
		munmap(p, size);

		p = fresh(size);
		CHECK(p ? 0 : -ENOMEM);
		t0 = ut_now();
		CHECK(ut_userptr(fd, p, size, COHERENT, &u));
		pf.handle = u;
		CHECK(ut_ioctl(fd, DRM_IOCTL_UPTR_PREFETCH, &pf));
		prefetch[r] = ut_now() - t0;
		CHECK(whole_job(fd, u, size, &prefetched_job[r]));
		CHECK(ut_bo_info(fd, u, &info));
		CHECK(ut_gem_close(fd, u));
		munmap(p, size);
		p = NULL;

		snprintf(what, sizeof(what), "h. rep %d: pin, job; prefetch, job (ms); faulted", r);
		ksft_print_msg("%-52s %.1f %.1f; %.1f %.1f; %llu of %zu pages\n", what,
		       pin[r] * 1e3, pinned_job[r] * 1e3, prefetch[r] * 1e3,
		       prefetched_job[r] * 1e3, (unsigned long long)info.pages_faulted,
		       size / page_size);
	}
	print_time("h. pinned userptr create, fresh memory (min)", minimum(pin, reps));
	print_time("h. whole-range FILL on it (min)", minimum(pinned_job, reps));
	print_time("h. coherent create + write prefetch (min)", minimum(prefetch, reps));
	print_time("h. whole-range FILL after the prefetch (min)", minimum(prefetched_job, reps));
	ksft_print_msg("ratio prefetch_write_vs_pin %.2f (target <= 1)\n",
	       minimum(prefetch, reps) / minimum(pin, reps));
	return 0;
out:
	if (p)
		munmap(p, size);
	return -1;
}

/* 2 MiB-aligned anonymous memory of @size bytes, MADV_HUGEPAGE, written by the CPU. */
static void *thp_region(size_t size, void **raw)
{
	const size_t huge = 2 * UT_MIB;
	unsigned char *p;
	size_t i;

	*raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*raw == MAP_FAILED)
		return NULL;
	p = (unsigned char *)(((uintptr_t)*raw + huge - 1) & ~(huge - 1));
	if (madvise(p, size, MADV_HUGEPAGE)) {
		munmap(*raw, size + huge);
		return NULL;
	}
	for (i = 0; i < size; i += page_size)
		p[i] = (unsigned char)(i / page_size);
	return p;
}

/*
 * t. THP-backed memory: pinned create against coherent create + write
 * prefetch, and pinned destroy against destroy of a coherent userptr with
 * every page resident; minima over the repetitions.
 */
static int bench_thp(int fd, size_t size, int reps)
{
	double pin[16] = { 0 }, pin_close[16] = { 0 }, fault[16] = { 0 };
	double fault_job[16] = { 0 }, coh_close[16] = { 0 }, pin_job[16] = { 0 }, t0;
	struct drm_uptr_bo_info info = { 0 };
	void *raw = NULL;
	unsigned char *p;
	long kb;
	int r;
	__u32 u;

	if (!ut_thp_built()) {
		ksft_print_msg("t. no transparent huge pages in this kernel: not measured\n");
		return KSFT_SKIP;
	}
	p = thp_region(size, &raw);
	if (p && ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size) == 0) {
		ksft_print_msg("t. THP is off (transparent_hugepage/enabled): not measured\n");
		munmap(raw, size + 2 * UT_MIB);
		return KSFT_SKIP;
	}
	if (!p) {
		ksft_print_msg("cannot map %zu MiB with MADV_HUGEPAGE\n", size >> 20);
		failed = 1;
		return -1;
	}
	kb = ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size);
	ksft_print_msg("t. %zu MiB populated by the CPU, AnonHugePages %ld kB of it\n",
	       size >> 20, kb);
	for (r = 0; r < reps; r++) {
		struct drm_uptr_prefetch pf = { .flags = DRM_UPTR_PREFETCH_WRITE, .size = size };
		char what[128];

		t0 = ut_now();
		CHECK(ut_userptr(fd, p, size, PINNED, &u));
		pin[r] = ut_now() - t0;
		/* Destroyed after the same job as the coherent one. */
		CHECK(whole_job(fd, u, size, &pin_job[r]));
		t0 = ut_now();
		CHECK(ut_gem_close(fd, u));
		pin_close[r] = ut_now() - t0;

		t0 = ut_now();
		CHECK(ut_userptr(fd, p, size, COHERENT, &u));
		pf.handle = u;
		CHECK(ut_ioctl(fd, DRM_IOCTL_UPTR_PREFETCH, &pf));
		fault[r] = ut_now() - t0;
		CHECK(whole_job(fd, u, size, &fault_job[r]));
		CHECK(ut_bo_info(fd, u, &info));
		t0 = ut_now();
		CHECK(ut_gem_close(fd, u));
		coh_close[r] = ut_now() - t0;

		snprintf(what, sizeof(what), "t. rep %d: pin, job, close; prefetch, job, close (ms)", r);
		ksft_print_msg("%-52s %.1f %.1f %.1f; %.1f %.1f %.1f; %llu of %zu resident\n", what,
		       pin[r] * 1e3, pin_job[r] * 1e3, pin_close[r] * 1e3, fault[r] * 1e3,
		       fault_job[r] * 1e3, coh_close[r] * 1e3,
		       (unsigned long long)info.pages_resident, size / page_size);
	}
	print_time("t. THP pinned create (min)", minimum(pin, reps));
	print_time("t. THP pinned destroy after a whole-range FILL (min)", minimum(pin_close, reps));
	print_time("t. THP coherent create + write prefetch (min)", minimum(fault, reps));
	print_time("t. THP whole-range FILL after it (min)", minimum(fault_job, reps));
	print_time("t. THP coherent destroy after it, all resident (min)", minimum(coh_close, reps));
	ksft_print_msg("ratio thp_fault_vs_pin %.2f (target <= 1.5)\n",
	       minimum(fault, reps) / minimum(pin, reps));
	ksft_print_msg("ratio thp_destroy_coherent_vs_pinned %.2f (target <= 1.2)\n",
	       minimum(coh_close, reps) / minimum(pin_close, reps));
	munmap(raw, size + 2 * UT_MIB);
	return 0;
out:
	munmap(raw, size + 2 * UT_MIB);
	return -1;
}

static int bench_small_job(int fd, size_t size)
{
	static double big[SMALL_JOB_REPS], small[SMALL_JOB_REPS];
	unsigned char *p = populated(size), *q = populated(page_size);
	size_t off = (size / 2) & ~(page_size - 1);
	double mb, ms;
	__u32 ub, us;
	int r;

	if (!p || !q) {
		ksft_print_msg("cannot map %zu MiB\n", size >> 20);
		failed = 1;
		return -1;
	}
	CHECK(ut_userptr(fd, p, size, COHERENT, &ub));
	CHECK(ut_userptr(fd, q, page_size, COHERENT, &us));
	/* Warm: every page of both faulted in. */
	CHECK(ut_fill(fd, ub, 0, size, 1));
	CHECK(ut_fill(fd, us, 0, page_size, 1));
	for (r = 0; r < SMALL_JOB_REPS; r++) {
		double t0 = ut_now();

		CHECK(ut_fill(fd, ub, off, page_size, r));
		big[r] = ut_now() - t0;
		t0 = ut_now();
		CHECK(ut_fill(fd, us, 0, page_size, r));
		small[r] = ut_now() - t0;
	}
	mb = median(big, SMALL_JOB_REPS);
	ms = median(small, SMALL_JOB_REPS);
	print_time("b. 4 KiB FILL, warm big userptr (median)", mb);
	print_time("b. 4 KiB FILL, warm 4 KiB userptr (median)", ms);
	ksft_print_msg("ratio small_job_big_vs_small %.2f (target <= 1.2)\n", mb / ms);
	CHECK(ut_gem_close(fd, ub));
	CHECK(ut_gem_close(fd, us));
out:
	munmap(p, size);
	munmap(q, page_size);
	return failed ? -1 : 0;
}

/* c. munmap under a warm coherent userptr against an unregistered one. */
static int bench_munmap(int fd, size_t size, int reps)
{
	double plain[16], reg[16], t0, t;
	unsigned char *p;
	int r;
	__u32 u;

	for (r = 0; r < reps; r++) {
		p = populated(size);
		if (!p)
			goto nomem;
		t0 = ut_now();
		CHECK(munmap(p, size) ? -errno : 0);
		plain[r] = ut_now() - t0;

		p = populated(size);
		if (!p)
			goto nomem;
		CHECK(ut_userptr(fd, p, size, COHERENT, &u));
		CHECK(whole_job(fd, u, size, &t));
		t0 = ut_now();
		CHECK(munmap(p, size) ? -errno : 0);
		reg[r] = ut_now() - t0;
		CHECK(ut_gem_close(fd, u));
	}
	print_time("c. munmap, unregistered (median)", median(plain, reps));
	print_time("c. munmap, warm coherent userptr (median)", median(reg, reps));
	ksft_print_msg("ratio munmap_registered_vs_not %.2f (target <= 1.5)\n",
	       median(reg, reps) / median(plain, reps));
	return 0;
nomem:
	ksft_print_msg("cannot map %zu MiB\n", size >> 20);
out:
	failed = 1;
	return -1;
}

/* d. pages faulted again after madvise(DONTNEED) of one page. */
static int bench_refault(int fd, size_t size, bool huge)
{
	const char *tag = huge ? "d. (THP)" : "d.";
	struct drm_uptr_bo_info a, b;
	unsigned char *p = populated_thp(size, huge);
	char what[128];
	double t_warm, t_after;
	__u32 u;

	if (!p) {
		ksft_print_msg("cannot map %zu MiB\n", size >> 20);
		failed = 1;
		return -1;
	}
	CHECK(ut_userptr(fd, p, size, COHERENT, &u));
	CHECK(whole_job(fd, u, size, &t_warm));
	CHECK(whole_job(fd, u, size, &t_warm));
	CHECK(ut_bo_info(fd, u, &a));
	CHECK(madvise(p + size / 2 + 5 * page_size, page_size, MADV_DONTNEED) ?
	      -errno : 0);
	CHECK(whole_job(fd, u, size, &t_after));
	CHECK(ut_bo_info(fd, u, &b));
	snprintf(what, sizeof(what), "%s warm whole-range FILL", tag);
	print_time(what, t_warm);
	snprintf(what, sizeof(what), "%s whole-range FILL after DONTNEED of 4 KiB", tag);
	print_time(what, t_after);
	snprintf(what, sizeof(what), "%s invalidations seen", tag);
	ksft_print_msg("%-52s %10llu\n", what,
	       (unsigned long long)(b.invalidations - a.invalidations));
	if (huge)
		ksft_print_msg("%-52s %10llu\n", "d. (THP) pages faulted again",
		       (unsigned long long)(b.pages_faulted - a.pages_faulted));
	else
		ksft_print_msg("ratio refault_after_dontneed %llu (target == 1)\n",
		       (unsigned long long)(b.pages_faulted - a.pages_faulted));
	CHECK(ut_gem_close(fd, u));
out:
	munmap(p, size);
	return failed ? -1 : 0;
}

/* The 1 GiB reservation the e. and f. jobs read: the zero page, no memory. */
#define BIG_JOB		(1ull << 30)

struct big_job {
	int fd;
	__u32 u, d;
	unsigned char *p;
	volatile int done;
	int ret;
};

static void *big_job_thread(void *arg)
{
	struct big_job *j = arg;

	j->ret = ut_checksum(j->fd, j->d, 0, j->u, 0, BIG_JOB);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Sets up and starts a CHECKSUM of a 1 GiB coherent userptr; waits until it runs. */
static int big_job_start(struct big_job *j, int fd, pthread_t *t)
{
	double t0;

	memset(j, 0, sizeof(*j));
	j->fd = fd;
	j->p = mmap(NULL, BIG_JOB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (j->p == MAP_FAILED)
		return -ENOMEM;
	if (!thp)
		madvise(j->p, BIG_JOB, MADV_NOHUGEPAGE);
	if (ut_userptr(fd, j->p, BIG_JOB, COHERENT, &j->u) ||
	    ut_bo_create(fd, page_size, &j->d) ||
	    pthread_create(t, NULL, big_job_thread, j))
		return -EIO;
	t0 = ut_now();
	while (ut_bo_wait(fd, j->d, 0) != -ETIME) {
		if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE) || ut_now() - t0 > 60)
			return -ETIME;
		sched_yield();
	}
	return 0;
}

static void big_job_end(struct big_job *j, pthread_t t)
{
	pthread_join(t, NULL);
	ut_gem_close(j->fd, j->u);
	ut_gem_close(j->fd, j->d);
	munmap(j->p, BIG_JOB);
}

/* The page of a 1 GiB range that the r-th munmap of e. takes away. */
static size_t far_page(int r)
{
	return BIG_JOB - (r + 1) * 64 * page_size;
}

/*
 * e. munmap of one page under a running 1 GiB job against one of an
 * unregistered range mapped the same way (the zero page, read by the CPU).
 */
static int bench_munmap_under_job(int fd, int reps)
{
	unsigned char *q = mmap(NULL, BIG_JOB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double plain[16], busy[16], beside[16], t0;
	struct big_job j;
	int r, late = 0;
	size_t off;
	pthread_t t;

	if (q == MAP_FAILED)
		goto nomem;
	if (!thp)
		madvise(q, BIG_JOB, MADV_NOHUGEPAGE);
	for (off = far_page(2 * reps); off < BIG_JOB; off += page_size)
		(void)*(volatile unsigned char *)(q + off);
	for (r = 0; r < reps; r++) {
		t0 = ut_now();
		CHECK(munmap(q + far_page(r), page_size) ? -errno : 0);
		plain[r] = ut_now() - t0;
	}
	CHECK(big_job_start(&j, fd, &t));
	/* Pages at the far end: the job is still far from them. */
	for (r = 0; r < reps; r++) {
		t0 = ut_now();
		CHECK(munmap(j.p + far_page(r), page_size) ? -errno : 0);
		busy[r] = ut_now() - t0;
		t0 = ut_now();
		CHECK(munmap(q + far_page(reps + r), page_size) ? -errno : 0);
		beside[r] = ut_now() - t0;
	}
	late = __atomic_load_n(&j.done, __ATOMIC_ACQUIRE);
	big_job_end(&j, t);
	munmap(q, BIG_JOB);
	print_time("e. munmap of a page, unregistered (median)", median(plain, reps));
	print_time("e. munmap of a page under a running 1 GiB job (median)",
		   median(busy, reps));
	print_time("e. munmap of an unregistered page beside the job (median)",
		   median(beside, reps));
	ksft_print_msg("ratio munmap_under_job_vs_not %.2f (target <= 2)%s\n",
	       median(busy, reps) / median(plain, reps),
	       late ? "; the job ended first: not measured under it" : "");
	ksft_print_msg("ratio munmap_under_job_vs_beside_it %.2f\n",
	       median(busy, reps) / median(beside, reps));
	return 0;
nomem:
	ksft_print_msg("cannot map %d pages\n", reps);
out:
	failed = 1;
	return -1;
}

/* f. the other process: a 1 GiB job, and madvise(DONTNEED) under it until it ends. */
static void other_process(volatile int *running)
{
	struct big_job j;
	unsigned int n = 0;
	pthread_t t;
	int fd = ut_open();

	if (fd < 0 || big_job_start(&j, fd, &t))
		_exit(1);
	__atomic_store_n(running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		madvise(j.p + BIG_JOB - (++n % 1024 + 1) * page_size, page_size,
			MADV_DONTNEED);
	big_job_end(&j, t);
	_exit(0);
}

/* Median time to munmap, one by one, @reps pages under a warm coherent userptr. */
static int munmap_own_pages(int fd, int reps, double *med)
{
	unsigned char *p = populated(reps * page_size);
	double v[16], t0;
	int r, ret;
	__u32 u = 0;

	if (!p)
		return -ENOMEM;
	ret = ut_userptr(fd, p, reps * page_size, COHERENT, &u);
	if (!ret)
		ret = ut_fill(fd, u, 0, reps * page_size, 1);
	for (r = 0; r < reps && !ret; r++) {
		t0 = ut_now();
		ret = munmap(p + r * page_size, page_size) ? -errno : 0;
		v[r] = ut_now() - t0;
	}
	if (!ret)
		*med = median(v, reps);
	ut_gem_close(fd, u);
	return ret;
}

/* f. munmap in this process while another one has a job and invalidations running. */
static int bench_other_process(int fd, int reps)
{
	volatile int *running = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double idle, busy, t0;
	int status;
	pid_t pid;

	if (running == MAP_FAILED)
		goto nomem;
	CHECK(munmap_own_pages(fd, reps, &idle));
	*running = 0;
	pid = fork();
	if (pid < 0)
		goto nomem;
	if (pid == 0)
		other_process(running);
	t0 = ut_now();
	while (!__atomic_load_n(running, __ATOMIC_ACQUIRE) && ut_now() - t0 < 60)
		sched_yield();
	CHECK(munmap_own_pages(fd, reps, &busy));
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status) ? 0 : -ECHILD);
	print_time("f. munmap under own userptr, other process idle", idle);
	print_time("f. same, other process invalidating under its job", busy);
	ksft_print_msg("ratio other_process_munmap_busy_vs_idle %.2f (target <= 2)\n",
	       busy / idle);
	munmap((void *)running, page_size);
	return 0;
nomem:
	ksft_print_msg("cannot map or fork\n");
out:
	failed = 1;
	return -1;
}

static char cg_dir[128];

/* Slab bytes charged to cg_dir. */
static long long cg_slab(void)
{
	char path[192], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", cg_dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "slab ", 5))
			v = strtoll(line + 5, NULL, 10);
	fclose(f);
	return v;
}

#define MEM_SMALL	2000
#define MEM_SPARSE	(1ull << 40)
#define MEM_TOUCHED	1000

/* g. in a child process that enters a new cgroup; 0 or -errno. */
static int bench_memory_child(void)
{
	size_t big = 64 * UT_MIB, ps = page_size;
	unsigned char *p = populated(MEM_SMALL * ps), *q = populated(big), *sp;
	long long base, cold, warm, after;
	static __u32 h[MEM_SMALL];
	char path[192];
	__u32 d, u;
	int fd, i;

	if (!p || !q)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	CHECK(ut_write_str(path, "0"));
	fd = ut_open();
	CHECK(fd < 0 ? fd : 0);
	CHECK(ut_bo_create(fd, ps, &d));
	CHECK(ut_userptr(fd, p, ps, COHERENT, &u));
	CHECK(ut_copy(fd, d, 0, u, 0, ps));
	CHECK(ut_gem_close(fd, u));

	base = cg_slab();
	for (i = 0; i < MEM_SMALL; i++)
		CHECK(ut_userptr(fd, p + i * ps, ps, COHERENT, &h[i]));
	cold = cg_slab();
	for (i = 0; i < MEM_SMALL; i++)
		CHECK(ut_copy(fd, d, 0, h[i], 0, ps));
	warm = cg_slab();
	ksft_print_msg("%-52s %10lld B\n", "g. kernel memory per cold 4 KiB userptr",
	       (cold - base) / MEM_SMALL);
	ksft_print_msg("%-52s %10lld B\n", "g. kernel memory per warm 4 KiB userptr",
	       (warm - base) / MEM_SMALL);
	ksft_print_msg("ratio cold_userptr_bytes %lld (target <= 512)\n", (cold - base) / MEM_SMALL);

	CHECK(ut_userptr(fd, q, big, COHERENT, &u));
	base = cg_slab();
	CHECK(ut_fill(fd, u, 0, big, 1));
	after = cg_slab();
	ksft_print_msg("ratio resident_page_bytes %.1f (target <= 32)\n",
	       (double)(after - base) / (big / ps));

	sp = mmap(NULL, MEM_SPARSE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(sp == MAP_FAILED ? -errno : 0);
	CHECK(ut_userptr(fd, sp, MEM_SPARSE, DRM_UPTR_USERPTR_READ_ONLY, &u));
	CHECK(ut_checksum(fd, d, 0, u, 0, 8));
	base = cg_slab();
	for (i = 0; i < MEM_TOUCHED; i++)
		CHECK(ut_checksum(fd, d, 0, u,
				  ((MEM_SPARSE / MEM_TOUCHED) * i + 4 * UT_MIB) & ~((__u64)ps - 1), 8));
	after = cg_slab();
	ksft_print_msg("%-52s %10lld B\n", "g. 1 TiB sparse userptr, per page read",
	       (after - base) / MEM_TOUCHED);
	CHECK(munmap(sp, MEM_SPARSE));
	usleep(200000);
	ksft_print_msg("%-52s %10lld B\n", "g. 1 TiB sparse userptr, left after munmap",
	       cg_slab() - base);
	close(fd);
	return 0;
out:
	return -EIO;
}

static int bench_memory(void)
{
	pid_t pid;
	int st;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL))
		goto skip;
	if (ut_write_str("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		goto skip;
	snprintf(cg_dir, sizeof(cg_dir), "/sys/fs/cgroup/uptr-bench-%d", getpid());
	if (mkdir(cg_dir, 0755))
		goto skip;
	pid = fork();
	if (!pid)
		_exit(bench_memory_child() ? 1 : 0);
	st = pid > 0 ? ut_wait_child(pid) : -1;
	rmdir(cg_dir);
	if (st) {
		ksft_print_msg("g. failed\n");
		failed = 1;
	}
	return 0;
skip:
	ksft_print_msg("g. no memory cgroup: kernel memory not measured\n");
	return 0;
}

/* The cases, in the order they run; UPTR_BENCH_ONLY picks some by letter. */
static const struct {
	char letter;
	const char *name;
} cases[] = {
	{ 'a', "a. fault_vs_pin" },
	{ 'h', "h. prefetch_write_vs_pin" },
	{ 't', "t. thp_fault_vs_pin, thp_destroy_coherent_vs_pinned" },
	{ 'b', "b. small_job_big_vs_small" },
	{ 'c', "c. munmap_registered_vs_not" },
	{ 'd', "d. refault_after_dontneed" },
	{ 'e', "e. munmap_under_job_vs_not" },
	{ 'f', "f. other_process_munmap_busy_vs_idle" },
	{ 'g', "g. kernel memory" },
};

static int run_case(char c, int fd, size_t size, int reps)
{
	switch (c) {
	case 'a':
		return bench_fault_vs_pin(fd, size, reps);
	case 'h':
		return bench_prefetch_vs_pin(fd, size, reps);
	case 't':
		return bench_thp(fd, size, reps);
	case 'b':
		return bench_small_job(fd, size);
	case 'c':
		return bench_munmap(fd, size, reps);
	case 'd':
		return bench_refault(fd, size, false) ?: bench_refault(fd, size, true);
	case 'e':
		return bench_munmap_under_job(fd, reps);
	case 'f':
		return bench_other_process(fd, reps);
	default:
		return bench_memory();
	}
}

/*
 * KTAP through kselftest.h: one result per case run, which fails only if
 * an operation fails; the measurements and "ratio NAME VALUE (target)"
 * lines are diagnostics ("# ...").
 */
int main(void)
{
	size_t size = (size_t)env_int("UPTR_BENCH_MIB", 1024) * UT_MIB;
	int reps = env_int("UPTR_BENCH_REPS", 5);
	unsigned int i, plan = 0;
	__u64 kinds = 0, v = 0;
	double t0 = ut_now();
	int fd, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		plan += want(cases[i].letter);
	ksft_set_plan(plan);
	if (reps > 16)
		reps = 16;
	fd = ut_open();
	if (fd < 0)
		ksft_exit_fail_msg("no render node of driver \"uptr\"\n");
	if (ut_get_param(fd, DRM_UPTR_PARAM_USERPTR_KINDS, &kinds) ||
	    !(kinds & DRM_UPTR_KIND_COHERENT) ||
	    ut_get_param(fd, DRM_UPTR_PARAM_PAGE_SIZE, &v))
		ksft_exit_fail_msg("the driver does not list DRM_UPTR_KIND_COHERENT\n");
	page_size = v;
	thp = env_int("UPTR_BENCH_THP", 0) == 1;
	ksft_print_msg("bench_coherent: %zu MiB of %s, %d reps, %ld CPUs\n",
		       size >> 20, thp ? "transparent huge pages" : "4 KiB pages",
		       reps, sysconf(_SC_NPROCESSORS_ONLN));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!want(cases[i].letter))
			continue;
		failed = 0;
		ret = run_case(cases[i].letter, fd, size, reps);
		if (ret == KSFT_SKIP)
			ksft_test_result_skip("%s\n", cases[i].name);
		else if (ret || failed)
			ksft_test_result_fail("%s\n", cases[i].name);
		else
			ksft_test_result_pass("%s\n", cases[i].name);
	}

	close(fd);
	ksft_print_msg("%.1f s\n", ut_now() - t0);
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	ksft_exit_pass();
}
