// SPDX-License-Identifier: MIT
/*
 * The mixed stress of coherent userptrs against a changing address
 * space: the engine of tests/stress_coherent (KTAP, in the suite) and of
 * `uptr stress` (anyone's kernel), on libuptr.
 *
 * For the given time, mutator threads munmap, mmap MAP_FIXED
 * (anonymous, in part, a memfd), mremap over, mprotect and
 * madvise(DONTNEED) the slices of a region they own, while submitter
 * threads copy ranges of the region through coherent userptrs (one over
 * the whole region, others created and destroyed on the way) into device
 * BOs.  Every job must either fail with -EFAULT, leaving its destination
 * untouched past the page it stopped at, or deliver exactly what was
 * mapped.  (libuptr restarts -EAGAIN, "the mappings kept changing", so a
 * job that gets it is simply run again.)
 *
 * How the check is sound: every slice has one owner, which brackets each
 * change with a sequence count (odd while it changes the slice) and
 * stores the slice's generation and state before closing the bracket.
 * Each 64-bit word of the region holds a function of its position and of
 * its slice's generation.  A submitter reads the counts before and after
 * its job.  A slice whose count did not move was stable during the whole
 * job: its data must be exactly its generation's, a job touching it
 * while it is unmapped or PROT_NONE must fail with -EFAULT, and a job
 * touching only stable accessible slices must not fail with -EFAULT.  A
 * slice that changed during the job may hold, byte by byte, any
 * generation it had during the job, or zeros (a fresh or discarded
 * anonymous page being filled).  A failed job stops at the page it could
 * not reach (replayable faults): its destination (filled with a poison
 * beforehand) holds a prefix of whole pages, each slice of it checked as
 * above, then only poison; and it never gets past a slice that was
 * unmapped or PROT_NONE all along.
 *
 * One run per process: the state is this file's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "stress.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


#define COHERENT	0u
#define SLICE_PAGES	16
#define NR_SLICES	64
#define POISON		0xdeadbeefdeadbeefull

#define K1		0x9e3779b97f4a7c15ull	/* position */
#define K2		0xc2b2ae3d27d4eb4full	/* generation (odd) */

enum slice_state { S_RW = 1, S_RO, S_NONE, S_HOLE };

static const char *const state_name[] = {
	[S_RW] = "rw", [S_RO] = "read-only", [S_NONE] = "PROT_NONE",
	[S_HOLE] = "unmapped",
};

enum op {
	OP_REWRITE,		/* CPU writes a new generation in place */
	OP_MAP_FIXED,		/* fresh anonymous memory, then filled */
	OP_MAP_FIXED_PART,	/* the same over part of it, then refilled */
	OP_MREMAP,		/* a prefilled anonymous mapping moved over it */
	OP_MEMFD,		/* a prefilled memfd mapped MAP_SHARED over it */
	OP_MUNMAP,		/* all or part of it unmapped */
	OP_PROT_RO,
	OP_PROT_NONE,		/* part of it */
	OP_PROT_RW,
	OP_DONTNEED,		/* part of it; refilled if that zeroed it */
	NR_OPS,
};

_Static_assert(NR_OPS == STRESS_NR_OPS, "one count per op");

const char *const stress_op_name[STRESS_NR_OPS] = {
	"rewrite", "map_fixed", "map_fixed_part", "mremap", "memfd",
	"munmap", "prot_ro", "prot_none", "prot_rw", "dontneed",
};

/* How often each op is picked: holes are rarer, so most jobs can succeed. */
static const unsigned int op_weight[NR_OPS] = {
	[OP_REWRITE] = 2, [OP_MAP_FIXED] = 2, [OP_MAP_FIXED_PART] = 2,
	[OP_MREMAP] = 2, [OP_MEMFD] = 2, [OP_MUNMAP] = 1, [OP_PROT_RO] = 2,
	[OP_PROT_NONE] = 1, [OP_PROT_RW] = 2, [OP_DONTNEED] = 2,
};

/* Written by its owner only, read by everyone (seqcount-style). */
struct slice {
	unsigned int seq;	/* odd while the owner changes the slice */
	unsigned int gen;	/* generation of the data mapped there */
	unsigned int state;	/* enum slice_state */
	unsigned int shared;	/* wholly backed by a memfd (DONTNEED keeps data) */
};

struct snap {
	unsigned int seq, gen, state;
};

struct mutator;
struct submitter;

static struct {
	struct uptr_dev *dev;
	unsigned int nr_mutators, nr_submitters;
	size_t page, slice_size, size;
	unsigned char *region;
	uint64_t inv_k2;		/* K2^-1 mod 2^64 */
	double deadline;
	volatile int stop;
	struct slice slices[NR_SLICES];
	uint32_t whole;		/* coherent userptr over the whole region */
	struct mutator *mut;
	struct submitter *sub;
	pthread_t mt[STRESS_MAX_THREADS], st[STRESS_MAX_THREADS];
	unsigned int started_mut, started_sub;
	double start;
	/* Progress, read while the threads run (relaxed atomics). */
	unsigned long live_jobs, live_efault, live_mutations;

	pthread_mutex_t lock;	/* protects the counters and reports below */
	unsigned long ok, efault, eagain, other;
	unsigned long stable_checked, unstable_checked, unchecked;
	unsigned long created, mutations[NR_OPS], mutation_errors;
	unsigned long failures, no_coverage;
	char reports[STRESS_MAX_REPORTS][512];
	unsigned int nr_reports;
} g;

static void report(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g.lock);
	g.failures++;
	if (g.nr_reports < STRESS_MAX_REPORTS) {
		va_start(ap, fmt);
		vsnprintf(g.reports[g.nr_reports++], sizeof(g.reports[0]),
			  fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&g.lock);
}

static inline uint64_t word_at(size_t index, unsigned int gen)
{
	return ((uint64_t)index + 1) * K1 ^ (uint64_t)gen * K2;
}

/* Generation whose word @w would be at @index; huge if none. */
static inline uint64_t gen_of(uint64_t w, size_t index)
{
	return (w ^ ((uint64_t)index + 1) * K1) * g.inv_k2;
}

static unsigned char *slice_addr(unsigned int s)
{
	return g.region + s * g.slice_size;
}

/* Fills @buf, which is (or will be) slice @s, with generation @gen. */
static void fill_slice(void *buf, unsigned int s, unsigned int gen)
{
	size_t base = s * g.slice_size / 8, i;
	uint64_t *w = buf;

	for (i = 0; i < g.slice_size / 8; i++)
		w[i] = word_at(base + i, gen);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned int rnd(uint64_t *s, unsigned int n)
{
	return (unsigned int)(xorshift(s) % n);
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (us % 1000000) * 1000l };

	nanosleep(&ts, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stopping(void)
{
	return __atomic_load_n(&g.stop, __ATOMIC_SEQ_CST) ||
	       now() > g.deadline;
}

/* ---- mutators ---- */

struct mutator {
	unsigned int id;
	uint64_t rs;
	unsigned char *scratch;	/* a reserved slice-sized hole of our own */
	void *buf;		/* slice-sized buffer for memfd contents */
	unsigned long errors;
	bool finished;		/* false: the thread died inside a system call */
};

static void publish(struct slice *sl, unsigned int gen, unsigned int state,
		    unsigned int shared)
{
	__atomic_store_n(&sl->gen, gen, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sl->state, state, __ATOMIC_SEQ_CST);
	sl->shared = shared;
	__atomic_add_fetch(&sl->seq, 1, __ATOMIC_SEQ_CST);
}

/* A random page range inside a slice: offset and length in bytes. */
static void sub_range(struct mutator *m, size_t *off, size_t *len)
{
	unsigned int first = rnd(&m->rs, SLICE_PAGES);
	unsigned int n = 1 + rnd(&m->rs, SLICE_PAGES - first);

	*off = first * g.page;
	*len = n * g.page;
}

static bool op_allowed(enum op op, unsigned int state)
{
	switch (op) {
	case OP_REWRITE:
	case OP_MAP_FIXED_PART:
	case OP_DONTNEED:
	case OP_PROT_RO:
		return state == S_RW;
	case OP_MAP_FIXED:
	case OP_MREMAP:
	case OP_MEMFD:
		return true;
	case OP_MUNMAP:
		return state != S_HOLE;
	case OP_PROT_NONE:
		return state == S_RW || state == S_RO;
	case OP_PROT_RW:
		return state == S_RO || state == S_NONE;
	default:
		return false;
	}
}

/* Performs @op on slice @s; false if a system call failed. */
static bool mutate(struct mutator *m, unsigned int s, enum op op)
{
	struct slice *sl = &g.slices[s];
	unsigned char *a = slice_addr(s);
	unsigned int gen = sl->gen, state = sl->state, shared = sl->shared;
	size_t off, len;
	void *q;
	int mfd;

	__atomic_add_fetch(&sl->seq, 1, __ATOMIC_SEQ_CST);	/* odd */
	switch (op) {
	case OP_REWRITE:
		fill_slice(a, s, ++gen);
		break;
	case OP_MAP_FIXED:
		q = mmap(a, g.slice_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != a)
			goto fail;
		fill_slice(a, s, ++gen);
		state = S_RW;
		shared = 0;
		break;
	case OP_MAP_FIXED_PART:
		sub_range(m, &off, &len);
		q = mmap(a + off, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != a + off)
			goto fail;
		fill_slice(a, s, ++gen);
		shared = 0;
		break;
	case OP_MREMAP:
		q = mmap(m->scratch, g.slice_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != m->scratch)
			goto fail;
		fill_slice(m->scratch, s, ++gen);
		q = mremap(m->scratch, g.slice_size, g.slice_size,
			   MREMAP_MAYMOVE | MREMAP_FIXED, a);
		/* Take the hole back before anything else can land there. */
		if (mmap(m->scratch, g.slice_size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
			 -1, 0) != m->scratch || q != a)
			goto fail;
		state = S_RW;
		shared = 0;
		break;
	case OP_MEMFD:
		mfd = memfd_create("uptr-stress", MFD_CLOEXEC);
		if (mfd < 0)
			goto fail;
		fill_slice(m->buf, s, ++gen);
		if (pwrite(mfd, m->buf, g.slice_size, 0) != (ssize_t)g.slice_size) {
			close(mfd);
			goto fail;
		}
		q = mmap(a, g.slice_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, mfd, 0);
		close(mfd);
		if (q != a)
			goto fail;
		state = S_RW;
		shared = 1;
		break;
	case OP_MUNMAP:
		if (rnd(&m->rs, 2)) {
			off = 0;
			len = g.slice_size;
		} else {
			sub_range(m, &off, &len);
		}
		if (munmap(a + off, len))
			goto fail;
		state = S_HOLE;
		break;
	case OP_PROT_RO:
		if (mprotect(a, g.slice_size, PROT_READ))
			goto fail;
		state = S_RO;
		break;
	case OP_PROT_NONE:
		sub_range(m, &off, &len);
		if (mprotect(a + off, len, PROT_NONE))
			goto fail;
		state = S_NONE;
		break;
	case OP_PROT_RW:
		if (mprotect(a, g.slice_size, PROT_READ | PROT_WRITE))
			goto fail;
		state = S_RW;
		break;
	case OP_DONTNEED:
		sub_range(m, &off, &len);
		if (madvise(a + off, len, MADV_DONTNEED))
			goto fail;
		/* Private anonymous pages now read as zeros: refill. */
		if (!shared)
			fill_slice(a, s, ++gen);
		break;
	default:
		goto fail;
	}
	publish(sl, gen, state, shared);
	return true;

fail:
	/*
	 * Leave the slice in a known state: fresh memory, a new
	 * generation.  The slice stays "changing" if even that fails.
	 */
	report("mutator %u: %s of slice %u failed: %s", m->id, stress_op_name[op],
	       s, strerror(errno));
	q = mmap(a, g.slice_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (q == a) {
		fill_slice(a, s, ++gen);
		publish(sl, gen, S_RW, 0);
	}
	return false;
}

/* A random op that can be applied to a slice in @state, by op_weight. */
static enum op pick_op(struct mutator *m, unsigned int state)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NR_OPS; i++)
		if (op_allowed(i, state))
			total += op_weight[i];
	r = rnd(&m->rs, total);
	for (i = 0; i < NR_OPS; i++) {
		if (!op_allowed(i, state))
			continue;
		if (r < op_weight[i])
			break;
		r -= op_weight[i];
	}
	return i;
}

static void *mutator_thread(void *arg)
{
	struct mutator *m = arg;
	unsigned long counts[NR_OPS] = { 0 };
	unsigned int i;

	while (!stopping()) {
		/* The slices of mutator k are k, k + nr_mutators, ... */
		unsigned int s = m->id + g.nr_mutators *
				 rnd(&m->rs, NR_SLICES / g.nr_mutators);
		enum op op;

		op = pick_op(m, g.slices[s].state);
		if (mutate(m, s, op)) {
			counts[op]++;
			__atomic_add_fetch(&g.live_mutations, 1, __ATOMIC_RELAXED);
		}
		else
			m->errors++;

		/* Pauses, now and then long ones, so that jobs get through. */
		if (rnd(&m->rs, 16) == 0)
			sleep_us(2000 + rnd(&m->rs, 8000));
		else
			sleep_us(rnd(&m->rs, 300));
	}
	pthread_mutex_lock(&g.lock);
	for (i = 0; i < NR_OPS; i++)
		g.mutations[i] += counts[i];
	g.mutation_errors += m->errors;
	pthread_mutex_unlock(&g.lock);
	m->finished = true;
	return NULL;
}

/* ---- submitters ---- */

struct submitter {
	unsigned int id;
	uint64_t rs;
	uint32_t dst;		/* device BO as large as the region */
	uint64_t *map;		/* its CPU mapping */
	struct snap before[NR_SLICES], after[NR_SLICES];
	unsigned long ok, efault, eagain, other, created;
	unsigned long stable_checked, unstable_checked, unchecked;
	bool finished;		/* false: the thread died inside a system call */
};

static void snapshot(struct snap *sn, unsigned int first, unsigned int end,
		     bool data)
{
	unsigned int s;

	for (s = first; s < end; s++) {
		sn[s].seq = __atomic_load_n(&g.slices[s].seq, __ATOMIC_SEQ_CST);
		if (!data)
			continue;
		sn[s].gen = __atomic_load_n(&g.slices[s].gen, __ATOMIC_SEQ_CST);
		sn[s].state = __atomic_load_n(&g.slices[s].state,
					      __ATOMIC_SEQ_CST);
	}
}

static bool stable(const struct submitter *t, unsigned int s)
{
	return t->before[s].seq == t->after[s].seq && !(t->before[s].seq & 1);
}

static bool accessible(unsigned int state)
{
	return state == S_RW || state == S_RO;
}

/* Is byte @b of @w the byte of some generation in [@lo, @hi] at @index, or 0? */
static bool byte_ok(uint64_t w, int b, size_t index, unsigned int lo,
		    unsigned int hi)
{
	uint64_t mask = 0xffull << (8 * b);
	unsigned int gen;

	if (!(w & mask))
		return true;
	for (gen = lo; gen <= hi; gen++)
		if ((w & mask) == (word_at(index, gen) & mask))
			return true;
	return false;
}

/*
 * Checks the copy of slice @s in the submitter's BO after a successful
 * job; false (and a report) if it holds data that was never legal there.
 */
static bool check_slice(struct submitter *t, unsigned int s, uint32_t handle)
{
	size_t base = s * g.slice_size / 8, i;
	const uint64_t *w = t->map + base;
	unsigned int lo = t->before[s].gen, hi = t->after[s].gen;
	int b;

	if (stable(t, s)) {
		t->stable_checked++;
		for (i = 0; i < g.slice_size / 8; i++) {
			if (w[i] == word_at(base + i, lo))
				continue;
			report("submitter %u, userptr %u: slice %u (%s, stable at generation %u) byte %zu is %#llx, %s (generation %llu there)",
			       t->id, handle, s, state_name[t->before[s].state],
			       lo, i * 8, (unsigned long long)w[i],
			       w[i] == POISON ? "the job's poison: not copied" :
			       w[i] == 0 ? "zero" : "not its data",
			       (unsigned long long)gen_of(w[i], base + i));
			return false;
		}
		return true;
	}
	/* The change in progress at the end may be writing generation hi + 1. */
	if (t->after[s].seq & 1)
		hi++;
	if (hi - lo > 32) {
		t->unchecked++;
		return true;
	}
	t->unstable_checked++;
	for (i = 0; i < g.slice_size / 8; i++) {
		uint64_t gw;

		if (!w[i])
			continue;
		gw = gen_of(w[i], base + i);
		if (gw >= lo && gw <= hi)
			continue;
		for (b = 0; b < 8; b++)
			if (!byte_ok(w[i], b, base + i, lo, hi))
				break;
		if (b == 8)
			continue;
		report("submitter %u, userptr %u: slice %u (changing, generations %u..%u) byte %zu is %#llx, %s (generation %llu there)",
		       t->id, handle, s, lo, hi, i * 8 + b,
		       (unsigned long long)w[i],
		       w[i] == POISON ? "the job's poison: not copied" :
		       "not its data", (unsigned long long)gen_of(w[i], base + i));
		return false;
	}
	return true;
}

/* One job over slices [first, end) of the userptr @u that starts at slice @ubase. */
static void run_job(struct submitter *t, uint32_t u, unsigned int ubase,
		    unsigned int first, unsigned int end)
{
	struct drm_uptr_cmd cmds[4];
	unsigned int ncmd = 1 + rnd(&t->rs, 4), s, c, from;
	bool any_stable_hole = false, all_stable_ok = true;
	size_t i, stop;
	int ret;

	if (ncmd > end - first)
		ncmd = end - first;
	/* Split [first, end) into ncmd runs of whole slices. */
	from = first;
	for (c = 0; c < ncmd; c++) {
		unsigned int left = end - from, runs = ncmd - c;
		unsigned int n = c == ncmd - 1 ? left :
				 1 + rnd(&t->rs, left - runs + 1);

		cmds[c] = uptr_cmd_copy(t->dst, from * g.slice_size, u,
				      (from - ubase) * g.slice_size,
				      n * g.slice_size);
		from += n;
	}
	for (i = first * g.slice_size / 8; i < end * g.slice_size / 8; i++)
		t->map[i] = POISON;

	snapshot(t->before, first, end, true);
	ret = uptr_submit_cmds(g.dev, cmds, ncmd);
	snapshot(t->after, first, end, true);
	__atomic_add_fetch(&g.live_jobs, 1, __ATOMIC_RELAXED);
	if (ret == -EFAULT)
		__atomic_add_fetch(&g.live_efault, 1, __ATOMIC_RELAXED);

	for (s = first; s < end; s++) {
		bool st = stable(t, s);

		if (st && !accessible(t->before[s].state))
			any_stable_hole = true;
		if (!st || !accessible(t->before[s].state))
			all_stable_ok = false;
	}

	switch (ret) {
	case 0:
		t->ok++;
		if (any_stable_hole) {
			for (s = first; s < end; s++)
				if (stable(t, s) &&
				    !accessible(t->before[s].state))
					break;
			report("submitter %u, userptr %u: a job over slices %u..%u succeeded, but slice %u was %s all along",
			       t->id, u, first, end - 1, s,
			       state_name[t->before[s].state]);
			return;
		}
		for (s = first; s < end; s++)
			if (!check_slice(t, s, u))
				return;
		return;
	case -EFAULT:
		t->efault++;
		if (all_stable_ok)
			report("submitter %u, userptr %u: a job over slices %u..%u failed with -EFAULT, but every slice was mapped and stable",
			       t->id, u, first, end - 1);
		break;
	case -EAGAIN:
		t->eagain++;
		break;
	default:
		t->other++;
		report("submitter %u, userptr %u: a job over slices %u..%u failed with %d (%s)",
		       t->id, u, first, end - 1, ret, strerror(-ret));
		break;
	}
	/*
	 * A failed job stopped at a page: it wrote whole pages before it,
	 * in order, and nothing from there on.
	 */
	for (i = first * g.slice_size / 8; i < end * g.slice_size / 8; i++)
		if (t->map[i] == POISON)
			break;
	stop = i;
	if (stop % (g.page / 8)) {
		report("submitter %u, userptr %u: a job over slices %u..%u failed (%s) and stopped inside a page, at byte %zu",
		       t->id, u, first, end - 1, strerror(-ret), stop * 8);
		return;
	}
	for (; i < end * g.slice_size / 8; i++) {
		if (t->map[i] != POISON) {
			report("submitter %u, userptr %u: a job over slices %u..%u failed (%s) at byte %zu but wrote byte %zu after it",
			       t->id, u, first, end - 1, strerror(-ret), stop * 8, i * 8);
			return;
		}
	}
	for (s = first; s < end; s++) {
		if ((s + 1) * g.slice_size / 8 > stop)
			break;
		if (stable(t, s) && !accessible(t->before[s].state)) {
			report("submitter %u, userptr %u: a job over slices %u..%u failed (%s) at byte %zu, past slice %u, %s all along",
			       t->id, u, first, end - 1, strerror(-ret), stop * 8, s,
			       state_name[t->before[s].state]);
			return;
		}
		if (!check_slice(t, s, u))
			return;
	}
}

static void *submitter_thread(void *arg)
{
	struct submitter *t = arg;
	uint32_t eph = 0;
	unsigned int eph_first = 0, eph_end = 0, eph_jobs = 0;

	while (!stopping()) {
		unsigned int first, end, n;
		bool use_eph = eph && rnd(&t->rs, 2);

		if (!eph || !eph_jobs) {
			/* A new short-lived userptr over random slices. */
			if (eph && uptr_userptr_destroy(g.dev, eph))
				report("submitter %u: destroying a userptr failed", t->id);
			eph_first = rnd(&t->rs, NR_SLICES);
			eph_end = eph_first + 1 +
				  rnd(&t->rs, NR_SLICES - eph_first);
			if (uptr_userptr_create(g.dev, slice_addr(eph_first),
						(eph_end - eph_first) * g.slice_size,
						COHERENT, &eph)) {
				report("submitter %u: creating a coherent userptr failed",
				       t->id);
				eph = 0;
				break;
			}
			t->created++;
			eph_jobs = 1 + rnd(&t->rs, 8);
		}
		if (use_eph) {
			n = eph_end - eph_first;
			first = eph_first + rnd(&t->rs, n);
			end = first + 1 + rnd(&t->rs, eph_end - first);
			run_job(t, eph, eph_first, first, end);
			eph_jobs--;
		} else {
			/* Mostly short ranges, sometimes the whole region. */
			if (rnd(&t->rs, 8) == 0) {
				first = 0;
				end = NR_SLICES;
			} else {
				first = rnd(&t->rs, NR_SLICES);
				end = first + 1 +
				      rnd(&t->rs, (NR_SLICES - first) < 8 ?
						   NR_SLICES - first : 8);
			}
			run_job(t, g.whole, 0, first, end);
		}
	}
	if (eph)
		uptr_userptr_destroy(g.dev, eph);
	pthread_mutex_lock(&g.lock);
	g.ok += t->ok;
	g.efault += t->efault;
	g.eagain += t->eagain;
	g.other += t->other;
	g.created += t->created;
	g.stable_checked += t->stable_checked;
	g.unstable_checked += t->unstable_checked;
	g.unchecked += t->unchecked;
	pthread_mutex_unlock(&g.lock);
	t->finished = true;
	return NULL;
}


/* ---- control ---- */

static uint64_t inverse_odd(uint64_t a)
{
	uint64_t x = a;	/* Newton: correct to 3 bits, doubling each step */
	int i;

	for (i = 0; i < 6; i++)
		x *= 2 - a * x;
	return x;
}

/* A non-zero xorshift state from @seed and @n (splitmix64). */
static uint64_t seed_state(uint64_t seed, unsigned int n)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ull * (n + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

static int setup_failed(char *why, size_t len, int ret, const char *what)
{
	snprintf(why, len, "%s: %s", what, strerror(-ret));
	return ret;
}

int stress_start(struct uptr_dev *dev, const struct stress_config *cfg,
		 char *why, size_t why_len)
{
	unsigned int i;
	int ret;

	if (cfg->threads < 1 || cfg->threads > STRESS_MAX_THREADS || !(cfg->seconds > 0))
		return setup_failed(why, why_len, -EINVAL, "threads or seconds out of range");
	pthread_mutex_init(&g.lock, NULL);
	g.dev = dev;
	g.nr_mutators = cfg->threads;
	g.nr_submitters = cfg->threads;
	if (!(uptr_userptr_kinds(dev) & DRM_UPTR_KIND_COHERENT))
		return setup_failed(why, why_len, -EOPNOTSUPP,
				    "the driver does not list DRM_UPTR_KIND_COHERENT");
	g.page = uptr_page_size(dev);
	g.slice_size = SLICE_PAGES * g.page;
	g.size = NR_SLICES * g.slice_size;
	g.inv_k2 = inverse_odd(K2);

	g.region = mmap(NULL, g.size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.region == MAP_FAILED)
		return setup_failed(why, why_len, -errno, "mapping the region");
	for (i = 0; i < NR_SLICES; i++) {
		fill_slice(slice_addr(i), i, 1);
		g.slices[i] = (struct slice){ .gen = 1, .state = S_RW };
	}
	ret = uptr_userptr_create(dev, g.region, g.size, COHERENT, &g.whole);
	if (ret)
		return setup_failed(why, why_len, ret,
				    "creating a coherent userptr over the region");

	g.mut = calloc(g.nr_mutators, sizeof(*g.mut));
	g.sub = calloc(g.nr_submitters, sizeof(*g.sub));
	if (!g.mut || !g.sub)
		return setup_failed(why, why_len, -ENOMEM, "allocating the threads' state");
	for (i = 0; i < g.nr_mutators; i++) {
		struct mutator *m = &g.mut[i];

		m->id = i;
		m->rs = seed_state(cfg->seed, i);
		m->scratch = mmap(NULL, g.slice_size, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		m->buf = malloc(g.slice_size);
		if (m->scratch == MAP_FAILED || !m->buf)
			return setup_failed(why, why_len, -ENOMEM, "allocating a mutator's buffers");
	}
	for (i = 0; i < g.nr_submitters; i++) {
		struct submitter *t = &g.sub[i];
		void *map = NULL;

		t->id = i;
		t->rs = seed_state(cfg->seed, STRESS_MAX_THREADS + i);
		ret = uptr_bo_create(dev, g.size, 0, &t->dst);
		if (!ret)
			ret = uptr_bo_mmap(dev, t->dst, g.size, PROT_READ | PROT_WRITE, &map);
		if (ret)
			return setup_failed(why, why_len, ret, "creating a device BO");
		t->map = map;
	}

	g.start = now();
	g.deadline = g.start + cfg->seconds;
	for (i = 0; i < g.nr_mutators; i++, g.started_mut++)
		if (pthread_create(&g.mt[i], NULL, mutator_thread, &g.mut[i]))
			break;
	for (i = 0; i < g.nr_submitters; i++, g.started_sub++)
		if (pthread_create(&g.st[i], NULL, submitter_thread, &g.sub[i]))
			break;
	if (g.started_mut < g.nr_mutators || g.started_sub < g.nr_submitters) {
		__atomic_store_n(&g.stop, 1, __ATOMIC_SEQ_CST);
		report("pthread_create failed");
	}
	return 0;
}

void stress_progress(unsigned long *jobs, unsigned long *efault,
		     unsigned long *mutations, unsigned long *failures)
{
	*jobs = __atomic_load_n(&g.live_jobs, __ATOMIC_RELAXED);
	*efault = __atomic_load_n(&g.live_efault, __ATOMIC_RELAXED);
	*mutations = __atomic_load_n(&g.live_mutations, __ATOMIC_RELAXED);
	pthread_mutex_lock(&g.lock);
	*failures = g.failures;
	pthread_mutex_unlock(&g.lock);
}

/* Something the run was meant to make happen did not. */
static void no_coverage(bool require, const char *what)
{
	if (require) {
		report("%s", what);
		return;
	}
	pthread_mutex_lock(&g.lock);
	g.no_coverage++;
	if (g.nr_reports < STRESS_MAX_REPORTS)
		snprintf(g.reports[g.nr_reports++], sizeof(g.reports[0]),
			 "(not a failure) %s", what);
	pthread_mutex_unlock(&g.lock);
}

unsigned long stress_finish(bool require_coverage, struct stress_counts *c)
{
	struct drm_uptr_bo_info info;
	unsigned long total_mut = 0;
	unsigned int i;

	for (i = 0; i < g.started_sub; i++)
		pthread_join(g.st[i], NULL);
	__atomic_store_n(&g.stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < g.started_mut; i++)
		pthread_join(g.mt[i], NULL);

	/* A thread killed by a kernel oops ends without a word. */
	for (i = 0; i < g.started_sub; i++)
		if (!g.sub[i].finished)
			report("submitter %u died inside a system call", i);
	for (i = 0; i < g.started_mut; i++)
		if (!g.mut[i].finished)
			report("mutator %u died inside a system call", i);
	for (i = 0; i < NR_OPS; i++)
		total_mut += g.mutations[i];

	memset(c, 0, sizeof(*c));
	c->seconds = now() - g.start;
	if (uptr_bo_info(g.dev, g.whole, &info)) {
		report("BO_INFO of the whole-region userptr failed");
	} else {
		c->whole_jobs = info.jobs;
		c->whole_invalidations = info.invalidations;
		c->whole_faulted = info.pages_faulted;
		c->whole_resident = info.pages_resident;
		if (info.pages_pinned)
			report("the coherent userptr has %llu pages pinned",
			       (unsigned long long)info.pages_pinned);
		if (total_mut && !info.invalidations)
			no_coverage(require_coverage,
				    "the whole-region userptr saw no invalidation");
		if (g.ok && !info.pages_faulted)
			no_coverage(require_coverage,
				    "the whole-region userptr never faulted a page");
	}
	if (!g.ok)
		no_coverage(require_coverage, "no job succeeded");
	if (!total_mut)
		no_coverage(require_coverage, "no mutation happened");
	if (!g.efault)
		no_coverage(require_coverage,
			    "no job failed with -EFAULT: the holes were never hit");

	c->ok = g.ok;
	c->efault = g.efault;
	c->eagain = g.eagain;
	c->other = g.other;
	c->stable_checked = g.stable_checked;
	c->unstable_checked = g.unstable_checked;
	c->unchecked = g.unchecked;
	c->created = g.created;
	memcpy(c->mutations, g.mutations, sizeof(c->mutations));
	c->mutation_errors = g.mutation_errors;
	c->failures = g.failures;
	c->no_coverage = g.no_coverage;
	return c->failures;
}

void stress_print(FILE *f, const char *prefix, const struct stress_config *cfg,
		  const struct stress_counts *c)
{
	unsigned long total_mut = 0;
	unsigned int i;

	for (i = 0; i < NR_OPS; i++)
		total_mut += c->mutations[i];
	fprintf(f, "%s%.1f s, seed %llu, %u mutators, %u submitters, a region of %d slices of %zu KiB\n",
		prefix, c->seconds, (unsigned long long)cfg->seed, cfg->threads,
		cfg->threads, NR_SLICES, g.slice_size / 1024);
	fprintf(f, "%sjobs %lu ok, %lu -EFAULT, %lu -EAGAIN, %lu other errors\n",
		prefix, c->ok, c->efault, c->eagain, c->other);
	fprintf(f, "%sslices checked: %lu stable, %lu changing, %lu changing too often to check; %lu short-lived userptrs\n",
		prefix, c->stable_checked, c->unstable_checked, c->unchecked, c->created);
	fprintf(f, "%smutations %lu:", prefix, total_mut);
	for (i = 0; i < NR_OPS; i++)
		fprintf(f, " %s %lu", stress_op_name[i], c->mutations[i]);
	fprintf(f, "; %lu failed\n", c->mutation_errors);
	fprintf(f, "%swhole-region userptr: %llu jobs, %llu invalidations, %llu pages faulted, %llu resident\n",
		prefix, (unsigned long long)c->whole_jobs,
		(unsigned long long)c->whole_invalidations,
		(unsigned long long)c->whole_faulted,
		(unsigned long long)c->whole_resident);
	for (i = 0; i < g.nr_reports; i++)
		fprintf(f, "%s%s%s\n", prefix,
			strncmp(g.reports[i], "(not a failure)", 15) ? "FAIL: " : "",
			g.reports[i]);
	if (c->failures + c->no_coverage > g.nr_reports)
		fprintf(f, "%s... and %lu more\n", prefix,
			c->failures + c->no_coverage - g.nr_reports);
	fprintf(f, "%sfailures: %lu\n", prefix, c->failures);
}
