// SPDX-License-Identifier: GPL-2.0
/*
 * Description: DRM_IOCTL_UPTR_GET_PARAM reports what the driver offers,
 * each parameter its exact value (the kernel's constant, the CPU's page
 * size, the module parameter), and refuses unknown parameters and
 * non-zero padding.
 */
#include "uptr_harness.h"

/*
 * The driver's limits, which the uAPI header leaves to GET_PARAM: the
 * kernel's UPTR_USERPTR_MAX_SIZE (uptr_userptr.h), UPTR_MAX_BO_SIZE
 * (uptr_drv.h), UPTR_MAX_COMMANDS and UPTR_MAX_JOB_BYTES (uptr_job.h),
 * UPTR_ENGINE_COUNT (uptr_engine.h).  A change there is a change of what
 * the driver offers, and shows here.
 */
#define MAX_USERPTR_SIZE	(1ull << 40)
#define MAX_BO_SIZE		(1ull << 30)
#define MAX_COMMANDS		256ull
#define MAX_JOB_BYTES		(1ull << 30)
#define ENGINE_COUNT		2ull

/* The render node belongs to the driver named "uptr". */
TEST_F(uptr, driver_name)
{
	char name[64];

	ASSERT_EQ(0, ut_driver_name(self->fd, name, sizeof(name)));
	EXPECT_STREQ(UT_DRIVER_NAME, name);
}

/*
 * The version is the DRM one: major 1, and a minor that knows the
 * features of this header (5: limits only through GET_PARAM, extension
 * chains).  Parameter 1, a version number once, is refused.
 */
TEST_F(uptr, driver_version)
{
	struct drm_version v = { 0 };
	__u64 p = 0xdeadbeef;

	ASSERT_EQ(0, ut_ioctl(self->fd, DRM_IOCTL_VERSION, &v));
	EXPECT_EQ(1, v.version_major);
	EXPECT_LE(6, v.version_minor);
	EXPECT_EQ(-EINVAL, ut_get_param(self->fd, 1, &p));
	EXPECT_EQ(0xdeadbeefull, p);
}

/* The userptr granule is the CPU page size. */
TEST_F(uptr, page_size)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	EXPECT_EQ((__u64)sysconf(_SC_PAGESIZE), v);
}

/* The largest userptr is 1 TiB, a non-zero multiple of the page size. */
TEST_F(uptr, max_userptr_size)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
				  &v));
	EXPECT_EQ(MAX_USERPTR_SIZE, v);
	EXPECT_LT(0ull, v);
	EXPECT_EQ(0ull, v % self->page);
}

/* The largest device BO is 1 GiB, a non-zero multiple of the page size. */
TEST_F(uptr, max_bo_size)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_BO_SIZE, &v));
	EXPECT_EQ(MAX_BO_SIZE, v);
	EXPECT_LT(0ull, v);
	EXPECT_EQ(0ull, v % self->page);
}

/* The accepted userptr flags are exactly READ_ONLY, PINNED, PROBE and NOTIFY. */
TEST_F(uptr, userptr_flags)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_USERPTR_FLAGS,
				  &v));
	EXPECT_EQ((__u64)(DRM_UPTR_USERPTR_READ_ONLY | DRM_UPTR_USERPTR_PINNED |
			  DRM_UPTR_USERPTR_PROBE | DRM_UPTR_USERPTR_NOTIFY), v);
}

/* Two engines run jobs. */
TEST_F(uptr, engine_count)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_ENGINE_COUNT, &v));
	EXPECT_EQ(ENGINE_COUNT, v);
}

/*
 * A job carries at most 256 commands (submit.c's count_too_many runs
 * exactly that many, and refuses one more).
 */
TEST_F(uptr, max_commands)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_COMMANDS, &v));
	EXPECT_EQ(MAX_COMMANDS, v);
	EXPECT_LE(1ull, v);
	EXPECT_GE(65536ull, v);
}

/* Both kinds of userptr are advertised: pinned and coherent. */
TEST_F(uptr, userptr_kinds)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_USERPTR_KINDS,
				  &v));
	EXPECT_EQ((__u64)(DRM_UPTR_KIND_PINNED | DRM_UPTR_KIND_COHERENT), v);
}

/*
 * One job may cover 1 GiB, at least a device BO's largest size (submit.c's
 * too_many_bytes runs exactly that many, and refuses more).
 */
TEST_F(uptr, max_job_bytes)
{
	__u64 v = 0, bo = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES, &v));
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_BO_SIZE, &bo));
	EXPECT_EQ(MAX_JOB_BYTES, v);
	EXPECT_LE(bo, v);
	EXPECT_EQ(0ull, v % self->page);
}

/* GET_PARAM's JOB_TIMEOUT_MS as a number; -1 if the ioctl failed. */
static long long job_timeout_ms(int fd)
{
	__u64 v = 0;

	return ut_get_param(fd, DRM_UPTR_PARAM_JOB_TIMEOUT_MS, &v) ? -1 : (long long)v;
}

/*
 * The job time limit is the module parameter job_timeout_ms, read when
 * asked: a new value shows at once, and 0 reads as 1 ms (no job runs
 * without a limit).  The parameter is put back after.
 */
TEST_F(uptr, job_timeout_ms)
{
	char old[32] = "";
	long long want, v;

	ASSERT_EQ(0, ut_read_line(UT_PARAM_JOB_TIMEOUT_MS, old, sizeof(old))) {
		TH_LOG("no %s: is uptr.ko loaded?", UT_PARAM_JOB_TIMEOUT_MS);
	}
	want = strtoll(old, NULL, 10);
	if (want < 1)
		want = 1;
	v = job_timeout_ms(self->fd);
	EXPECT_EQ(want, v);

	/* EXPECT, not ASSERT, until the parameter is back. */
	EXPECT_EQ(0, ut_write_str(UT_PARAM_JOB_TIMEOUT_MS, "4321"));
	v = job_timeout_ms(self->fd);
	EXPECT_EQ(4321, v);
	EXPECT_EQ(0, ut_write_str(UT_PARAM_JOB_TIMEOUT_MS, "0"));
	v = job_timeout_ms(self->fd);
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, ut_write_str(UT_PARAM_JOB_TIMEOUT_MS, old));
	EXPECT_EQ(want, job_timeout_ms(self->fd));
}

/* Parameter 0 and parameters past the last one are refused. */
TEST_F(uptr, unknown_param)
{
	__u64 v = 0xdeadbeef;

	EXPECT_EQ(-EINVAL, ut_get_param(self->fd, 0, &v));
	EXPECT_EQ(-EINVAL, ut_get_param(self->fd,
					DRM_UPTR_PARAM_JOB_TIMEOUT_MS + 1, &v));
	EXPECT_EQ(-EINVAL, ut_get_param(self->fd, 0x80000000u, &v));
	EXPECT_EQ(-EINVAL, ut_get_param(self->fd, 0xffffffffu, &v));
	EXPECT_EQ(0xdeadbeefull, v);
}

/* A non-zero pad is refused, even with a valid parameter. */
TEST_F(uptr, nonzero_pad)
{
	struct drm_uptr_get_param p = {
		.param = DRM_UPTR_PARAM_PAGE_SIZE,
		.pad = 1,
	};

	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
	p.pad = 0x80000000u;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
}

/* Every parameter answers on a fresh fd, and twice the same. */
TEST_F(uptr, all_params_stable)
{
	__u32 p;

	for (p = DRM_UPTR_PARAM_PAGE_SIZE; p <= DRM_UPTR_PARAM_JOB_TIMEOUT_MS;
	     p++) {
		__u64 a = 0, b = 1;

		ASSERT_EQ(0, ut_get_param(self->fd, p, &a)) {
			TH_LOG("param %u", p);
		}
		ASSERT_EQ(0, ut_get_param(self->fd, p, &b));
		EXPECT_EQ(a, b) {
			TH_LOG("param %u changed", p);
		}
	}
}

TEST_HARNESS_MAIN
