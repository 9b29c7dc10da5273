// SPDX-License-Identifier: GPL-2.0
/*
 * Description: `uptr top` and its fdinfo parser.  The parser
 * (tools/fdinfo.c, compiled in) on fixed text: every key of the driver's
 * DOC: fdinfo, other drivers' files, malformed values, a file seen at two
 * fds counted once.  Then `uptr top --once --json` while this test holds
 * a known set of BOs, userptrs and jobs: its own row must show exactly
 * them.
 */
#include "tool_test.h"

#include "../tools/fdinfo.h"

static const char uptr_text[] =
	"pos:\t0\n"
	"flags:\t02100002\n"
	"mnt_id:\t24\n"
	"ino:\t1034\n"
	"drm-driver:\tuptr\n"
	"drm-client-id:\t7\n"
	"drm-total-memory:\t8192\n"
	"drm-shared-memory:\t0\n"
	"drm-resident-memory:\t8192\n"
	"drm-active-memory:\t0\n"
	"drm-total-userptr:\t131072\n"
	"drm-shared-userptr:\t0\n"
	"drm-resident-userptr:\t65536\n"
	"drm-active-userptr:\t4096\n"
	"uptr-userptrs:\t5\n"
	"uptr-pinned-pages:\t8\n"
	"uptr-coherent-resident-pages:\t8\n"
	"uptr-faulted-pages:\t12\n"
	"uptr-invalidations:\t3\n"
	"drm-engine-engine0:\t123456 ns\n"
	"drm-engine-engine1:\t0 ns\n";

/* Every key of the driver's fdinfo lands in its field. */
TEST(parse_uptr_keys)
{
	struct fdinfo fi;

	ASSERT_EQ(0, fdinfo_parse(uptr_text, &fi));
	EXPECT_TRUE(fi.has_client_id);
	EXPECT_EQ(7ull, fi.client_id);
	EXPECT_EQ(8192ull, fi.memory_total);
	EXPECT_EQ(8192ull, fi.memory_resident);
	EXPECT_EQ(131072ull, fi.userptr_total);
	EXPECT_EQ(65536ull, fi.userptr_resident);
	EXPECT_EQ(5ull, fi.userptrs);
	EXPECT_EQ(8ull, fi.pinned_pages);
	EXPECT_EQ(8ull, fi.coherent_resident_pages);
	EXPECT_EQ(12ull, fi.faulted_pages);
	EXPECT_EQ(3ull, fi.invalidations);
	ASSERT_EQ(2u, fi.nr_engines);
	EXPECT_STREQ("engine0", fi.engine[0]);
	EXPECT_STREQ("engine1", fi.engine[1]);
	EXPECT_EQ(123456ull, fi.busy_ns[0]);
	EXPECT_EQ(0ull, fi.busy_ns[1]);
}

/* Files of other drivers, or no DRM file, are -ENOENT. */
TEST(parse_other_files)
{
	struct fdinfo fi;

	EXPECT_EQ(-ENOENT, fdinfo_parse("pos:\t0\nflags:\t02\n", &fi));
	EXPECT_EQ(-ENOENT, fdinfo_parse("drm-driver:\ti915\ndrm-client-id:\t3\n"
					"drm-engine-render:\t5 ns\n", &fi));
	EXPECT_EQ(-ENOENT, fdinfo_parse("drm-driver:\tuptrx\n", &fi));
	EXPECT_EQ(-ENOENT, fdinfo_parse("", &fi));
	/* No trailing newline, spaces instead of a tab. */
	EXPECT_EQ(0, fdinfo_parse("drm-driver: uptr\nuptr-userptrs: 2", &fi));
	EXPECT_EQ(2ull, fi.userptrs);
	EXPECT_FALSE(fi.has_client_id);
}

/* A known key whose value is not a number is -EINVAL; unknown keys are ignored. */
TEST(parse_malformed)
{
	struct fdinfo fi;

	EXPECT_EQ(-EINVAL, fdinfo_parse("drm-driver:\tuptr\nuptr-userptrs:\tmany\n", &fi));
	EXPECT_EQ(-EINVAL, fdinfo_parse("drm-driver:\tuptr\nuptr-userptrs:\t5 pages\n", &fi));
	EXPECT_EQ(-EINVAL, fdinfo_parse("drm-driver:\tuptr\ndrm-engine-engine0:\tns\n", &fi));
	EXPECT_EQ(-EINVAL, fdinfo_parse("drm-driver:\tuptr\nuptr-faulted-pages:\t"
					"99999999999999999999\n", &fi));
	EXPECT_EQ(0, fdinfo_parse("drm-driver:\tuptr\nuptr-new-key:\tsomething\n"
				  "drm-memory-vram:\t12 KiB\n", &fi));
}

/* One file at two fds (same client id) counts once; another file adds up. */
TEST(proc_sum_dedup)
{
	struct fdinfo_proc p = { 0 };
	struct fdinfo a, b;
	uint64_t seen[4];
	unsigned int nseen = 0;

	ASSERT_EQ(0, fdinfo_parse(uptr_text, &a));
	b = a;
	b.client_id = 8;
	EXPECT_TRUE(fdinfo_proc_add(&p, &a, seen, &nseen, 4));
	EXPECT_FALSE(fdinfo_proc_add(&p, &a, seen, &nseen, 4));
	EXPECT_EQ(2u, p.fds);
	EXPECT_EQ(1u, p.clients);
	EXPECT_EQ(5ull, p.sum.userptrs);
	EXPECT_EQ(123456ull, p.sum.busy_ns[0]);
	EXPECT_TRUE(fdinfo_proc_add(&p, &b, seen, &nseen, 4));
	EXPECT_EQ(3u, p.fds);
	EXPECT_EQ(2u, p.clients);
	EXPECT_EQ(10ull, p.sum.userptrs);
	EXPECT_EQ(16ull, p.sum.pinned_pages);
	EXPECT_EQ(246912ull, p.sum.busy_ns[0]);
	EXPECT_EQ(2u, p.sum.nr_engines);
}

#define PINNED_N	2
#define PINNED_PAGES	4
#define COHERENT_N	3
#define COHERENT_PAGES	8
#define JOBS		3

/* This process's row of `uptr top --once --json` is what it holds. */
TEST_F(uptr, top_once_json_own_row)
{
	unsigned char *mem[PINNED_N + COHERENT_N];
	__u32 h[PINNED_N + COHERENT_N], bo;
	static struct tt_run r;
	const char *row;
	size_t len;
	int i, dupfd;

	ASSERT_EQ(0, ut_bo_create(self->fd, 2 * self->page, &bo));
	for (i = 0; i < PINNED_N + COHERENT_N; i++) {
		bool pinned = i < PINNED_N;

		len = (pinned ? PINNED_PAGES : COHERENT_PAGES) * self->page;
		mem[i] = ut_alloc(len);
		ASSERT_NE(NULL, mem[i]);
		/*
		 * Not in the child that runs uptr top: fork would write-protect
		 * private pages for copy-on-write, which invalidates the
		 * coherent userptrs' pages (correctly) before top reads them.
		 */
		ASSERT_EQ(0, madvise(mem[i], len, MADV_DONTFORK));
		memset(mem[i], i + 1, len);
		ASSERT_EQ(0, ut_userptr(self->fd, mem[i], len,
					pinned ? DRM_UPTR_USERPTR_PINNED : 0, &h[i]));
	}
	/* JOBS jobs read the first coherent userptr whole: its 8 pages resident. */
	for (i = 0; i < JOBS; i++)
		ASSERT_EQ(0, ut_checksum(self->fd, bo, 0, h[PINNED_N], 0,
					 COHERENT_PAGES * self->page));
	dupfd = dup(self->fd);
	ASSERT_LE(0, dupfd);

	ASSERT_EQ(0, tt_run(&r, 60, "top", "--once", "--json", NULL));
	ASSERT_EQ(0, r.status) {
		TH_LOG("uptr top: %s", r.err);
	}
	EXPECT_EQ(0u, (unsigned int)r.err_len) {
		TH_LOG("stderr: %s", r.err);
	}
	EXPECT_EQ('{', r.out[0]);
	EXPECT_GE(tt_json_num(r.out, "interval_s", NULL), 0.15);
	row = tt_json_pid(r.out, getpid());
	ASSERT_NE(NULL, row) {
		TH_LOG("no row of pid %d in:\n%s", getpid(), r.out);
	}
#define ROW(key)	tt_json_num(row, key, "pid")
	EXPECT_EQ(2.0, ROW("fds"));
	EXPECT_EQ(1.0, ROW("files"));
	EXPECT_EQ((double)(PINNED_N + COHERENT_N), ROW("userptrs"));
	EXPECT_EQ((double)(PINNED_N * PINNED_PAGES * self->page), ROW("pinned_bytes"));
	EXPECT_EQ((double)COHERENT_PAGES, ROW("coherent_resident_pages"));
	EXPECT_EQ((double)(2 * self->page), ROW("memory_total"));
	EXPECT_EQ((double)(2 * self->page), ROW("memory_resident"));
	EXPECT_EQ((double)((PINNED_N * PINNED_PAGES + COHERENT_N * COHERENT_PAGES) * self->page),
		  ROW("userptr_total"));
	EXPECT_EQ((double)((PINNED_N * PINNED_PAGES + COHERENT_PAGES) * self->page),
		  ROW("userptr_resident"));
	EXPECT_EQ((double)((2 + PINNED_N * PINNED_PAGES + COHERENT_PAGES) * self->page),
		  ROW("resident"));
	EXPECT_LE((double)COHERENT_PAGES, ROW("faulted_pages"));
	/* The jobs ran on an engine: busy time counted, the first engine's. */
	EXPECT_LT(0.0, ROW("busy_ns"));
	/* Nothing happened during the 200 ms: rates measured, and zero. */
	EXPECT_EQ(0.0, ROW("faults_per_s"));
	EXPECT_EQ(0.0, ROW("invalidations_per_s"));
	EXPECT_EQ(0.0, ROW("busy_percent"));
	if (strstr(r.out, "\"debugfs\": true"))
		EXPECT_EQ((double)(PINNED_N + COHERENT_N), ROW("debugfs_userptrs"));
#undef ROW
	close(dupfd);
}

/* The table of --once names this process with its command and userptr count. */
TEST_F(uptr, top_once_table)
{
	static struct tt_run r;
	unsigned char *mem = ut_alloc(self->page);
	char want[64], *line;
	__u32 h;

	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, ut_userptr(self->fd, mem, self->page, 0, &h));
	ASSERT_EQ(0, tt_run(&r, 60, "top", "--once", NULL));
	ASSERT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "PID COMMAND"));
	/* No terminal: no escape sequences. */
	EXPECT_EQ(NULL, strchr(r.out, '\033'));
	snprintf(want, sizeof(want), "\n%7d tool_top", getpid());
	line = strstr(r.out, want);
	ASSERT_NE(NULL, line) {
		TH_LOG("no line '%s' in:\n%s", want + 1, r.out);
	}
	/* The last column of the row: one userptr. */
	line = strchr(line + 1, '\n');
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, strncmp(line - 2, " 1", 2));
}

/* --iterations N prints N frames, apart by --interval, and exits 0. */
TEST(top_iterations)
{
	static struct tt_run r;
	double t0 = ut_now();

	ASSERT_EQ(0, tt_run(&r, 60, "top", "--interval", "0.3", "--iterations", "3", NULL));
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(3u, tt_count(r.out, "uptr top - "));
	EXPECT_LE(0.2 + 2 * 0.3, ut_now() - t0);
}

TEST_HARNESS_MAIN
