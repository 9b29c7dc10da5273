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

/* The API version is the one this header describes. */
TEST_F(uptr, api_version)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_API_VERSION, &v));
	EXPECT_EQ((__u64)DRM_UPTR_API_VERSION, v);
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

/* A job carries at most DRM_UPTR_MAX_COMMANDS commands. */
TEST_F(uptr, max_commands)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_COMMANDS, &v));
	EXPECT_EQ((__u64)DRM_UPTR_MAX_COMMANDS, v);
}

/* Both kinds of userptr are advertised: pinned and coherent. */
TEST_F(uptr, userptr_kinds)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_USERPTR_KINDS,
				  &v));
	EXPECT_EQ((__u64)(DRM_UPTR_KIND_PINNED | DRM_UPTR_KIND_COHERENT), v);
}

/* The bytes one job may cover are those of the uAPI header. */
TEST_F(uptr, max_job_bytes)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES, &v));
	EXPECT_EQ((__u64)DRM_UPTR_MAX_JOB_BYTES, v);
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
		.param = DRM_UPTR_PARAM_API_VERSION,
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

	for (p = DRM_UPTR_PARAM_API_VERSION; p <= DRM_UPTR_PARAM_MAX_JOB_BYTES;
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
