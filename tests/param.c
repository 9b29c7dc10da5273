// SPDX-License-Identifier: GPL-2.0
/*
 * Description: DRM_IOCTL_UPTR_GET_PARAM reports what the driver offers,
 * and refuses unknown parameters and non-zero padding.
 */
#include "uptr_harness.h"

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
	EXPECT_LE(5, v.version_minor);
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

/* The largest userptr is a non-zero multiple of the page size. */
TEST_F(uptr, max_userptr_size)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
				  &v));
	EXPECT_LT(0ull, v);
	EXPECT_EQ(0ull, v % self->page);
}

/* The largest device BO is a non-zero multiple of the page size. */
TEST_F(uptr, max_bo_size)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_BO_SIZE, &v));
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
	EXPECT_EQ(2ull, v);
}

/*
 * A job carries at most some commands, at least one (submit.c's
 * count_too_many runs exactly that many, and refuses one more).
 */
TEST_F(uptr, max_commands)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_COMMANDS, &v));
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
 * One job may cover at least a device BO's largest size in bytes
 * (submit.c's too_many_bytes runs exactly that many, and refuses more).
 */
TEST_F(uptr, max_job_bytes)
{
	__u64 v = 0, bo = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES, &v));
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_BO_SIZE, &bo));
	EXPECT_LE(bo, v);
	EXPECT_EQ(0ull, v % self->page);
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
