// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the conventions of the uptr command, on every subcommand:
 * --help (usage on stdout, status 0), --version (status 0), a bad option
 * or argument (status 2), and errors on stderr with strerror's text and
 * status 1.
 */
#include "tool_test.h"

static const char *const subcommands[] = { "info", "demo", "bench", "top", "stress" };

/* `uptr SUB --help` prints its usage on stdout and exits 0, quiet on stderr. */
TEST(help_every_subcommand)
{
	static struct tt_run r;
	char want[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(subcommands); i++) {
		ASSERT_EQ(0, tt_run(&r, 30, subcommands[i], "--help", NULL));
		EXPECT_EQ(0, r.status) {
			TH_LOG("uptr %s --help", subcommands[i]);
		}
		snprintf(want, sizeof(want), "Usage: uptr %s", subcommands[i]);
		EXPECT_NE(NULL, strstr(r.out, want)) {
			TH_LOG("uptr %s --help printed:\n%s", subcommands[i], r.out);
		}
		EXPECT_EQ(0u, (unsigned int)r.err_len);
	}
	ASSERT_EQ(0, tt_run(&r, 30, "--help", NULL));
	EXPECT_EQ(0, r.status);
	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		EXPECT_NE(NULL, strstr(r.out, subcommands[i]));
}

/* `uptr --version` and `uptr SUB --version` print one version line, exit 0. */
TEST(version_every_subcommand)
{
	static struct tt_run r, top;
	unsigned int i;

	ASSERT_EQ(0, tt_run(&top, 30, "--version", NULL));
	EXPECT_EQ(0, top.status);
	EXPECT_EQ(0, strncmp(top.out, "uptr ", 5));
	EXPECT_EQ(1u, tt_count(top.out, "\n"));
	for (i = 0; i < ARRAY_SIZE(subcommands); i++) {
		ASSERT_EQ(0, tt_run(&r, 30, subcommands[i], "--version", NULL));
		EXPECT_EQ(0, r.status);
		EXPECT_STREQ(top.out, r.out);
	}
}

/* An unknown option, a stray argument or a bad value: status 2. */
TEST(usage_errors_exit_2)
{
	static struct tt_run r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(subcommands); i++) {
		ASSERT_EQ(0, tt_run(&r, 30, subcommands[i], "--no-such-option", NULL));
		EXPECT_EQ(2, r.status) {
			TH_LOG("uptr %s --no-such-option", subcommands[i]);
		}
		EXPECT_NE(0u, (unsigned int)r.err_len);
		ASSERT_EQ(0, tt_run(&r, 30, subcommands[i], "stray", NULL));
		EXPECT_EQ(2, r.status) {
			TH_LOG("uptr %s stray", subcommands[i]);
		}
	}
	ASSERT_EQ(0, tt_run(&r, 30, "no-such-command", NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, "top", "--interval", "0", NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, "top", "--json", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_NE(NULL, strstr(r.err, "--once"));
	ASSERT_EQ(0, tt_run(&r, 30, "stress", "--threads", "99", NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, "stress", "--seconds", "-1", NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, "bench", "--max-count", "0", NULL));
	EXPECT_EQ(2, r.status);
	ASSERT_EQ(0, tt_run(&r, 30, "bench", "--only", "seed", "--svg", "/tmp/x.svg", NULL));
	EXPECT_EQ(2, r.status);
}

/* A device that does not exist: status 1, the errno's text on stderr, nothing on stdout. */
TEST(missing_device_exit_1)
{
	static const char *const needs_dev[] = { "info", "demo", "bench", "stress" };
	static struct tt_run r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(needs_dev); i++) {
		ASSERT_EQ(0, tt_run(&r, 30, needs_dev[i], "--device", "/dev/dri/no-such-node",
				    NULL));
		EXPECT_EQ(1, r.status) {
			TH_LOG("uptr %s --device /dev/dri/no-such-node", needs_dev[i]);
		}
		EXPECT_NE(NULL, strstr(r.err, strerror(ENOENT))) {
			TH_LOG("uptr %s: stderr '%s'", needs_dev[i], r.err);
		}
		if (strcmp(needs_dev[i], "demo"))
			EXPECT_EQ(0u, (unsigned int)r.out_len);
	}
}

/* An SVG file that cannot be created: status 1 and why, before any work. */
TEST(bench_svg_unwritable_exit_1)
{
	static struct tt_run r;

	ASSERT_EQ(0, tt_run(&r, 30, "bench", "--svg", "/no-such-dir/curves.svg", NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "/no-such-dir/curves.svg"));
	EXPECT_NE(NULL, strstr(r.err, strerror(ENOENT)));
	EXPECT_EQ(0u, (unsigned int)r.out_len);
}

TEST_HARNESS_MAIN
