// SPDX-License-Identifier: GPL-2.0
/*
 * Description: libuptr's dma-buf sharing: uptr_bo_export() and
 * uptr_bo_import() round trips within a device and across two, the
 * close-on-exec fd, writable mappings with DRM_RDWR, a pinned userptr's
 * export, and every documented error as -errno.  Links the kernel's
 * GPL-2.0 kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

#define SZ	(64 * 1024)

/* Export and import in one device: the same handle; another device: the same BO. */
TEST_F(lib, export_import_round_trip)
{
	struct drm_uptr_bo_info info;
	struct uptr_dev *dev2;
	struct drm_uptr_cmd c;
	unsigned char *m;
	uint32_t h, h1, h2;
	int fd;

	ASSERT_EQ(0, uptr_bo_create(self->dev, SZ, 0, &h));
	ASSERT_EQ(0, uptr_bo_export(self->dev, h, DRM_RDWR, &fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, uptr_bo_import(self->dev, fd, &h1));
	EXPECT_EQ(h, h1);

	ASSERT_EQ(0, uptr_dev_open(NULL, &dev2));
	ASSERT_EQ(0, uptr_bo_import(dev2, fd, &h2));
	ASSERT_EQ(0, uptr_bo_info(dev2, h2, &info));
	EXPECT_EQ((uint32_t)DRM_UPTR_BO_KIND_DEVICE, info.kind);
	c = uptr_cmd_fill(h2, 0, SZ, 0x5e5e5e5e);
	ASSERT_EQ(0, uptr_submit_cmds(dev2, &c, 1));
	/* DRM_RDWR: the dma-buf maps writable, and shows the job's bytes. */
	m = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ut_find_not(m, SZ, 0x5e));
	munmap(m, SZ);
	close(fd);
	uptr_dev_close(dev2);
}

/* A pinned userptr exported: the importer reads the user's bytes. */
TEST_F(lib, export_pinned_userptr)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_dev *dev2;
	struct drm_uptr_cmd c;
	uint32_t h, h2, res2;
	uint64_t *sum;
	int fd;

	ASSERT_NE(NULL, p);
	ut_pattern(p, SZ, 5);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &h));
	ASSERT_EQ(0, uptr_bo_export(self->dev, h, 0, &fd));
	ASSERT_EQ(0, uptr_dev_open(NULL, &dev2));
	ASSERT_EQ(0, uptr_bo_import(dev2, fd, &h2));
	ASSERT_EQ(0, uptr_bo_create(dev2, self->page, 0, &res2));
	ASSERT_EQ(0, uptr_bo_mmap(dev2, res2, self->page, PROT_READ, (void **)&sum));
	c = uptr_cmd_checksum(res2, 0, h2, 0, SZ);
	ASSERT_EQ(0, uptr_submit_cmds(dev2, &c, 1));
	EXPECT_EQ(ut_fnv1a(p, SZ), *sum);
	uptr_bo_munmap(sum, self->page);
	close(fd);
	uptr_dev_close(dev2);
}

/* The documented errors, as -errno. */
TEST_F(lib, prime_errors)
{
	unsigned char *p = ut_alloc(SZ);
	uint32_t h, hc;
	int fd, mfd;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, uptr_bo_create(self->dev, SZ, 0, &h));
	EXPECT_EQ(-EINVAL, uptr_bo_export(self->dev, h, DRM_CLOEXEC << 1, &fd));
	EXPECT_EQ(-EINVAL, uptr_bo_export(self->dev, h, 0, NULL));
	EXPECT_EQ(-ENOENT, uptr_bo_export(self->dev, h + 100, 0, &fd));
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, 0, &hc));
	EXPECT_EQ(-EINVAL, uptr_bo_export(self->dev, hc, 0, &fd));
	EXPECT_EQ(-EBADF, uptr_bo_import(self->dev, 1000, &h));
	mfd = memfd_create("lib-prime", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-EINVAL, uptr_bo_import(self->dev, mfd, &h));
	EXPECT_EQ(-EINVAL, uptr_bo_import(self->dev, mfd, NULL));
	close(mfd);
}

TEST_HARNESS_MAIN
