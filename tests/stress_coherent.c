// SPDX-License-Identifier: GPL-2.0
/*
 * Description: stress of coherent userptrs against a changing address
 * space, for UPTR_STRESS_SECONDS (default 20) seconds: mutator threads
 * munmap, mmap MAP_FIXED, mremap, mprotect and madvise(DONTNEED) slices
 * of a region while submitter threads copy ranges of it through coherent
 * userptrs into device BOs; every job must fail with -EFAULT or deliver
 * exactly what was mapped.  The engine and how its check is sound:
 * tools/stress.c, shared with `uptr stress`.  Here the run must also see
 * the race: a job that succeeded, one that hit a hole, a mutation, an
 * invalidation and a fault of the whole-region userptr.
 *
 * KTAP through kselftest.h: one test, with the counts as diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest.h"

#include "../tools/stress.h"

static int fail(const char *why)
{
	ksft_print_msg("%s\n", why);
	ksft_test_result_fail("stress_coherent\n");
	return ksft_exit_fail();
}

int main(void)
{
	const char *env = getenv("UPTR_STRESS_SECONDS");
	struct stress_config cfg = {
		.seconds = env && *env ? strtod(env, NULL) : 20,
		.seed = 1,
		.threads = 2,
	};
	struct stress_counts c;
	struct uptr_dev *dev;
	char why[256];
	bool pass;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(1);
	if (!(cfg.seconds > 0))
		cfg.seconds = 20;
	ret = uptr_dev_open(NULL, &dev);
	if (ret) {
		snprintf(why, sizeof(why), "no uptr render node (is uptr.ko loaded?): %s",
			 strerror(-ret));
		return fail(why);
	}
	ksft_print_msg("stress_coherent: %.0f s\n", cfg.seconds);
	if (stress_start(dev, &cfg, why, sizeof(why)))
		return fail(why);
	pass = !stress_finish(true, &c);
	stress_print(stdout, "# ", &cfg, &c);
	if (!pass) {
		ksft_test_result_fail("stress_coherent\n");
		return ksft_exit_fail();
	}
	ksft_test_result_pass("stress_coherent\n");
	return ksft_exit_pass();
}
