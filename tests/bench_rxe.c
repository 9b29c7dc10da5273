// SPDX-License-Identifier: GPL-2.0
/*
 * Description: a pinned userptr against an RDMA memory region of the
 * same memory: creating and destroying a DRM_UPTR_USERPTR_PINNED
 * userptr against ibv_reg_mr() and ibv_dereg_mr() on Soft-RoCE (rxe),
 * over UPTR_BENCH_MIB (default 1024) MiB of anonymous memory the CPU
 * populated first, made of transparent huge pages and then of 4 KiB
 * pages.  Both pin the pages with FOLL_LONGTERM; what differs is how
 * they are recorded, mapped and unpinned.
 *
 * The bench loads rdma_rxe (and crc32_generic, which rxe asks the crypto
 * API for), binds it to a dummy network device it creates (the `rdma`
 * tool of iproute2), and removes both at the end.
 * Each figure is the minimum over UPTR_BENCH_REPS (default 5)
 * repetitions, the two alternating; ratio lines:
 *
 *   thp_pinned_destroy_vs_rxe_dereg (target <= 1)
 *   thp_pinned_create_vs_rxe_reg, 4k_pinned_destroy_vs_rxe_dereg,
 *   4k_pinned_create_vs_rxe_reg (for information)
 *
 * Judges no timing: one KTAP test, which fails only if an operation
 * fails (rxe that cannot be set up included).
 */
#include "uptr_test.h"

#include <infiniband/verbs.h>
#include <kselftest.h>

#define RXE_NETDEV	"uptrbench0"
#define RXE_DEV		"uptr_rxe0"

static size_t page_size;

/* Runs a shell command quietly; its exit status, or -1. */
static int run(const char *cmd)
{
	char buf[512];
	int ret;

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	ret = system(buf);
	return ret == -1 || !WIFEXITED(ret) ? -1 : WEXITSTATUS(ret);
}

static void rxe_teardown(void)
{
	run("rdma link delete " RXE_DEV);
	run("ip link delete " RXE_NETDEV);
	run("modprobe -r rdma_rxe");
}

/* Soft-RoCE on a dummy network device: 0 or -1. */
static int rxe_setup(void)
{
	if (run("modprobe -a crc32_generic rdma_rxe dummy")) {
		ksft_print_msg("cannot load crc32_generic, rdma_rxe or dummy\n");
		return -1;
	}
	if (run("ip link add " RXE_NETDEV " type dummy") ||
	    run("ip link set " RXE_NETDEV " up") ||
	    run("rdma link add " RXE_DEV " type rxe netdev " RXE_NETDEV)) {
		ksft_print_msg("cannot bind rxe to a dummy device (ip, rdma)\n");
		return -1;
	}
	return 0;
}

static struct ibv_context *rxe_open(void)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list) {
		ksft_print_msg("ibv_get_device_list: %s\n", strerror(errno));
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), RXE_DEV))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		ksft_print_msg("no verbs device %s (%d listed)\n", RXE_DEV, n);
	return ctx;
}

/* @size bytes of anonymous memory populated by CPU writes, THP or not. */
static void *populated(size_t size, bool huge)
{
	unsigned char *p = ut_alloc(size);
	size_t i;

	if (!p)
		return NULL;
	if (ut_thp_built() && madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		munmap(p, size);
		return NULL;
	}
	for (i = 0; i < size; i += page_size)
		p[i] = (unsigned char)i;
	return p;
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

static void print_ms(const char *what, double s)
{
	ksft_print_msg("%-44s %10.2f ms\n", what, s * 1e3);
}

/*
 * Minimum create and destroy times of a pinned userptr and of an rxe
 * memory region over @size bytes of @p.  0 or -1.
 */
static int measure(int fd, struct ibv_pd *pd, void *p, size_t size, int reps,
		   double t[4])
{
	int r;

	for (r = 0; r < 4; r++)
		t[r] = 1e30;
	for (r = 0; r < reps; r++) {
		struct ibv_mr *mr;
		double a, b, c;
		__u32 h;
		int i;

		for (i = 0; i < 2; i++) {
			if ((i == 0) == (r % 2 == 0)) {
				a = ut_now();
				if (ut_userptr(fd, p, size, DRM_UPTR_USERPTR_PINNED, &h)) {
					ksft_print_msg("pinned userptr: %s\n", strerror(errno));
					return -1;
				}
				b = ut_now();
				if (ut_gem_close(fd, h)) {
					ksft_print_msg("GEM_CLOSE: %s\n", strerror(errno));
					return -1;
				}
				c = ut_now();
				t[0] = min_d(t[0], b - a);
				t[1] = min_d(t[1], c - b);
			} else {
				a = ut_now();
				mr = ibv_reg_mr(pd, p, size, IBV_ACCESS_LOCAL_WRITE);
				if (!mr) {
					ksft_print_msg("ibv_reg_mr: %s\n", strerror(errno));
					return -1;
				}
				b = ut_now();
				errno = ibv_dereg_mr(mr);
				if (errno) {
					ksft_print_msg("ibv_dereg_mr: %s\n", strerror(errno));
					return -1;
				}
				c = ut_now();
				t[2] = min_d(t[2], b - a);
				t[3] = min_d(t[3], c - b);
			}
		}
	}
	return 0;
}

static int bench(int fd, struct ibv_pd *pd, size_t size, int reps, bool huge)
{
	const char *tag = huge ? "thp" : "4k";
	char what[64];
	double t[4];
	void *p = populated(size, huge);
	int ret;

	if (!p) {
		ksft_print_msg("cannot map %zu MiB\n", size >> 20);
		return -1;
	}
	if (huge)
		ksft_print_msg("%s: %zu MiB, AnonHugePages %ld kB\n", tag, size >> 20,
			       ut_anon_huge_kb((unsigned long)p, (unsigned long)p + size));
	ret = measure(fd, pd, p, size, reps, t);
	munmap(p, size);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "%s: pinned userptr create", tag);
	print_ms(what, t[0]);
	snprintf(what, sizeof(what), "%s: pinned userptr destroy", tag);
	print_ms(what, t[1]);
	snprintf(what, sizeof(what), "%s: rxe ibv_reg_mr", tag);
	print_ms(what, t[2]);
	snprintf(what, sizeof(what), "%s: rxe ibv_dereg_mr", tag);
	print_ms(what, t[3]);
	ksft_print_msg("ratio %s_pinned_destroy_vs_rxe_dereg %.2f%s\n", tag, t[1] / t[3],
		       huge ? " (target <= 1)" : "");
	ksft_print_msg("ratio %s_pinned_create_vs_rxe_reg %.2f\n", tag, t[0] / t[2]);
	return 0;
}

static int env_int(const char *name, int def)
{
	const char *s = getenv(name);

	return s && *s ? atoi(s) : def;
}

int main(void)
{
	size_t size = (size_t)env_int("UPTR_BENCH_MIB", 1024) << 20;
	int reps = env_int("UPTR_BENCH_REPS", 5);
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	int fd, ret = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(1);
	page_size = sysconf(_SC_PAGESIZE);
	if (reps < 1 || reps > 16)
		reps = 5;
	fd = ut_open();
	if (fd < 0) {
		ksft_print_msg("no render node of driver \"uptr\"\n");
		ksft_test_result_fail("bench_rxe\n");
		ksft_finished();
	}
	if (rxe_setup())
		goto out;
	ctx = rxe_open();
	if (!ctx)
		goto out;
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		ksft_print_msg("ibv_alloc_pd: %s\n", strerror(errno));
		goto out;
	}
	ksft_print_msg("bench_rxe: %zu MiB, %d reps\n", size >> 20, reps);
	if (ut_thp_built() && bench(fd, pd, size, reps, true))
		goto out;
	if (!ut_thp_built())
		ksft_print_msg("no transparent huge pages in this kernel\n");
	ret = bench(fd, pd, size, reps, false);
out:
	if (pd)
		ibv_dealloc_pd(pd);
	if (ctx)
		ibv_close_device(ctx);
	rxe_teardown();
	close(fd);
	ksft_test_result(!ret, "bench_rxe\n");
	ksft_finished();
}
