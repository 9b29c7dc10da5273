/* SPDX-License-Identifier: MIT */
/*
 * The mixed stress of coherent userptrs (tools/stress.c): the engine of
 * tests/stress_coherent and of `uptr stress`.  One run per process:
 * stress_start(), any number of stress_progress() while it runs,
 * stress_finish().
 */
#ifndef UPTR_TOOLS_STRESS_H
#define UPTR_TOOLS_STRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uptr.h>

#define STRESS_NR_OPS		10
#define STRESS_MAX_THREADS	8
#define STRESS_MAX_REPORTS	20

struct stress_config {
	double seconds;		/* how long the threads run */
	uint64_t seed;		/* the same seed draws the same choices */
	unsigned int threads;	/* mutators, and as many submitters: 1 to 8 */
};

struct stress_counts {
	unsigned long ok, efault, eagain, other;	/* jobs */
	unsigned long stable_checked, unstable_checked, unchecked; /* slices */
	unsigned long created;		/* short-lived userptrs */
	unsigned long mutations[STRESS_NR_OPS], mutation_errors;
	unsigned long failures;		/* data mismatches and unexpected errors */
	unsigned long no_coverage;	/* of those: things that never happened */
	double seconds;			/* how long it ran */
	/* The whole-region userptr's BO_INFO at the end. */
	uint64_t whole_jobs, whole_invalidations, whole_faulted, whole_resident;
};

/* The names of the mutations, in the order of stress_counts.mutations. */
extern const char *const stress_op_name[STRESS_NR_OPS];

/*
 * Sets up the region, the userptr over it and the device BOs on @dev, and
 * starts the threads.  Returns 0, or -errno with a line saying what
 * failed in @why.
 */
int stress_start(struct uptr_dev *dev, const struct stress_config *cfg,
		 char *why, size_t why_len);

/* Jobs, -EFAULTs, mutations and failures so far (while it runs). */
void stress_progress(unsigned long *jobs, unsigned long *efault,
		     unsigned long *mutations, unsigned long *failures);

/*
 * Waits for the threads, checks the whole-region userptr's counters and
 * fills @c.  @require_coverage: that no job succeeded, no mutation
 * happened, no job hit a hole, or the whole-region userptr saw no
 * invalidation or fault counts as a failure (a test that must see the
 * race), otherwise only in @c->no_coverage.  Returns @c->failures.
 */
unsigned long stress_finish(bool require_coverage, struct stress_counts *c);

/*
 * Prints the summary lines, each starting with @prefix, then one line per
 * failure reported (the first STRESS_MAX_REPORTS).
 */
void stress_print(FILE *f, const char *prefix, const struct stress_config *cfg,
		  const struct stress_counts *c);

#endif /* UPTR_TOOLS_STRESS_H */
