// SPDX-License-Identifier: GPL-2.0
/*
 * Description: `uptr stress`: a short run on this kernel exits 0 and
 * prints its summary (jobs, mutations, slices checked, failures), with
 * the seed it was given.
 */
#include "tool_test.h"

/* `uptr stress --seconds 3` passes and says what it did. */
TEST(stress_three_seconds)
{
	static struct tt_run r;
	double t0 = ut_now(), jobs_ok = -1, efault = -1, stable = -1, muts = -1;
	const char *p;

	ASSERT_EQ(0, tt_run(&r, 3 + 60, "stress", "--seconds", "3", "--seed", "42", NULL));
	EXPECT_EQ(0, r.status) {
		TH_LOG("stdout:\n%s\nstderr:\n%s", r.out, r.err);
	}
	EXPECT_LE(3.0, ut_now() - t0);
	EXPECT_NE(NULL, strstr(r.out, "seed 42,"));
	p = strstr(r.out, "jobs ");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(2, sscanf(p, "jobs %lf ok, %lf -EFAULT", &jobs_ok, &efault));
	p = strstr(r.out, "slices checked: ");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, sscanf(p, "slices checked: %lf stable", &stable));
	p = strstr(r.out, "mutations ");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, sscanf(p, "mutations %lf:", &muts));
	/* Jobs ran, and their data was checked, while the address space changed. */
	EXPECT_LT(0.0, jobs_ok);
	EXPECT_LT(0.0, stable);
	EXPECT_LT(0.0, muts);
	EXPECT_NE(NULL, strstr(r.out, "failures: 0\n"));
	EXPECT_NE(NULL, strstr(r.out, "stress passed\n"));
	/* stderr is no terminal here: no progress lines. */
	EXPECT_EQ(0u, (unsigned int)r.err_len);
}

TEST_HARNESS_MAIN
