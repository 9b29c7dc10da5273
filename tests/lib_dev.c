// SPDX-License-Identifier: GPL-2.0
/*
 * Description: libuptr's device and parameters: uptr_dev_open() finds
 * the uptr render node or opens a given path, refuses a node of another
 * driver, and the typed getters agree with GET_PARAM.  Links the
 * kernel's GPL-2.0 kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

/* uptr_dev_open(NULL) finds the node; its driver is "uptr". */
TEST_F(lib, open_first_node)
{
	const char *name = NULL, *path = uptr_dev_path(self->dev);
	int major = -1;

	uptr_dev_driver(self->dev, &name, NULL, &major, NULL, NULL);
	ASSERT_NE(NULL, name);
	EXPECT_STREQ("uptr", name);
	EXPECT_LE(0, major);
	EXPECT_EQ(0, strncmp(path, "/dev/dri/renderD", 16));
	EXPECT_LE(0, uptr_dev_fd(self->dev));
	EXPECT_NE(-1, fcntl(uptr_dev_fd(self->dev), F_GETFD));
	EXPECT_TRUE(fcntl(uptr_dev_fd(self->dev), F_GETFD) & FD_CLOEXEC);
}

/* A path opens that node; the params read there are the same. */
TEST_F(lib, open_path)
{
	struct uptr_dev *d2;

	ASSERT_EQ(0, uptr_dev_open(uptr_dev_path(self->dev), &d2));
	EXPECT_STREQ(uptr_dev_path(self->dev), uptr_dev_path(d2));
	EXPECT_EQ(uptr_page_size(self->dev), uptr_page_size(d2));
	uptr_dev_close(d2);
}

/* Something that is not a uptr node: -ENODEV; a missing path: -ENOENT. */
TEST_F(lib, open_errors)
{
	struct uptr_dev *d2 = NULL;

	EXPECT_EQ(-ENODEV, uptr_dev_open("/dev/null", &d2));
	EXPECT_EQ(-ENOENT, uptr_dev_open("/dev/dri/no-such-node", &d2));
	EXPECT_EQ(-EINVAL, uptr_dev_open(NULL, NULL));
	EXPECT_EQ(NULL, d2);
	uptr_dev_close(NULL);
}

/* The typed getters equal GET_PARAM, and the values are the real ones. */
TEST_F(lib, params)
{
	int major = 0, minor = 0;
	uint64_t v;

	uptr_dev_driver(self->dev, NULL, NULL, &major, &minor, NULL);
	EXPECT_EQ(1, major);
	EXPECT_LE(5, minor);
	ASSERT_EQ(0, uptr_param(self->dev, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	EXPECT_EQ(v, uptr_page_size(self->dev));
	EXPECT_EQ((uint64_t)sysconf(_SC_PAGESIZE), v);
	ASSERT_EQ(0, uptr_param(self->dev, DRM_UPTR_PARAM_USERPTR_KINDS, &v));
	EXPECT_EQ(v, uptr_userptr_kinds(self->dev));
	EXPECT_EQ((uint64_t)(DRM_UPTR_KIND_PINNED | DRM_UPTR_KIND_COHERENT), v);
	ASSERT_EQ(0, uptr_param(self->dev, DRM_UPTR_PARAM_USERPTR_FLAGS, &v));
	EXPECT_EQ(v, uptr_userptr_flags(self->dev));
	EXPECT_EQ((uint64_t)(DRM_UPTR_USERPTR_READ_ONLY | DRM_UPTR_USERPTR_PINNED |
			     DRM_UPTR_USERPTR_PROBE | DRM_UPTR_USERPTR_NOTIFY), v);
	ASSERT_EQ(0, uptr_param(self->dev, DRM_UPTR_PARAM_MAX_COMMANDS, &v));
	EXPECT_EQ(v, uptr_max_commands(self->dev));
	EXPECT_LE(1ull, v);
	EXPECT_EQ(-EINVAL, uptr_param(self->dev, 0, &v));
	EXPECT_EQ(-EINVAL, uptr_param(self->dev, 0xffff, &v));
	EXPECT_STREQ("1.0", uptr_version());
}

TEST_HARNESS_MAIN
