// SPDX-License-Identifier: GPL-2.0
/*
 * Description: pinned userptrs over different kinds of memory (shmem
 * memfd, a file, transparent huge pages, heap) and what "pinned" means
 * when the process changes its address space afterwards: the device
 * keeps the pages it pinned, whatever munmap, MAP_FIXED, MADV_DONTNEED,
 * mprotect or fork do to the mapping.
 */
#include "uptr_harness.h"

#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#define PINNED		DRM_UPTR_USERPTR_PINNED
#define RO		DRM_UPTR_USERPTR_READ_ONLY

/* A pinned userptr over a shared memfd: engine and CPU see each other's writes. */
TEST_F(uptr, memfd_shared)
{
	size_t size = UT_MIB;
	unsigned char *p, *p2, *ref = malloc(size), *buf = malloc(size);
	unsigned char *map = NULL;
	__u32 u, d;
	int mfd;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	mfd = ut_memfd("uptr-test", size);
	ASSERT_LE(0, mfd);
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 41);
	memcpy(ref, p, size);

	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ut_check_pinned_info(_metadata, self->fd, u, p, size, PINNED,
			     self->page);
	UT_DEVICE_BO(d, map, size);

	/* The engine reads what the CPU wrote. */
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));

	/* The engine's writes are in the file. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 4096 + 64, 8192, 0x600df00d));
	ASSERT_EQ(0, ut_store(self->fd, u, size - 4, 0xfeedface));
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, 4096 + 64));
	EXPECT_EQ(-1, ut_find_not_dword(buf + 4096 + 64, 8192, 0x600df00d));
	EXPECT_EQ(-1, ut_find_diff(buf + 4096 + 64 + 8192,
				   ref + 4096 + 64 + 8192,
				   size - 4096 - 64 - 8192 - 4));
	EXPECT_EQ(0xfeedfaceu, *(__u32 *)(buf + size - 4));

	/* And in another mapping of the same file. */
	p2 = ut_map_file(mfd, size, PROT_READ);
	ASSERT_NE(NULL, p2);
	EXPECT_EQ(-1, ut_find_diff(p2, buf, size));

	/* CPU writes through the file reach the engine. */
	ut_pattern(buf, size, 42);
	ASSERT_EQ((ssize_t)size, pwrite(mfd, buf, size, 0));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, buf, size));
	close(mfd);
	free(ref);
	free(buf);
}

/* A pinned userptr over a shared mapping of a file in $TMPDIR: engine writes show in pread(). */
TEST_F(uptr, tmpfile_shared)
{
	size_t size = 256 * UT_KIB;
	unsigned char *p, *buf = malloc(size), *ref = malloc(size);
	unsigned char *map = NULL;
	char path[256];
	struct statfs sfs;
	__u32 u, d;
	int tfd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, ref);
	tfd = ut_make_tmpfile(path, sizeof(path));
	ASSERT_LE(0, tfd) {
		TH_LOG("cannot create a file in $TMPDIR, /tmp or /dev/shm: %s",
		       strerror(-tfd));
	}
	unlink(path);
	ASSERT_EQ(0, fstatfs(tfd, &sfs));
	if (sfs.f_type != TMPFS_MAGIC)
		TH_LOG("note: %s is not on tmpfs (f_type %#lx)", path,
		       (unsigned long)sfs.f_type);
	ut_pattern(ref, size, 51);
	ASSERT_EQ((ssize_t)size, pwrite(tfd, ref, size, 0));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, tfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));

	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ut_check_pinned_info(_metadata, self->fd, u, p, size, PINNED,
			     self->page);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));

	/* Engine writes: a copy from the device BO and a fill. */
	ut_pattern(map, size, 52);
	ASSERT_EQ(0, ut_copy(self->fd, u, 0, d, 0, size / 2));
	ASSERT_EQ(0, ut_fill(self->fd, u, size / 2, size / 2, 0x0f1e2d3c));
	ASSERT_EQ((ssize_t)size, pread(tfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, map, size / 2));
	EXPECT_EQ(-1, ut_find_not_dword(buf + size / 2, size / 2, 0x0f1e2d3c));
	close(tfd);
	free(buf);
	free(ref);
}

/* A read-only pinned userptr over a read-only file mapping is read by the engine. */
TEST_F(uptr, tmpfile_readonly)
{
	size_t size = 64 * UT_KIB;
	unsigned char *p, *ref = malloc(size), *map = NULL;
	char path[256];
	__u32 u, d;
	int tfd, rfd;

	ASSERT_NE(NULL, ref);
	tfd = ut_make_tmpfile(path, sizeof(path));
	ASSERT_LE(0, tfd);
	ut_pattern(ref, size, 53);
	ASSERT_EQ((ssize_t)size, pwrite(tfd, ref, size, 0));
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	ASSERT_LE(0, rfd);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, rfd, 0);
	ASSERT_NE(MAP_FAILED, p);

	EXPECT_EQ(-EFAULT, ut_userptr(self->fd, p, size, PINNED, &u));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED | RO, &u));
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	EXPECT_EQ(-EACCES, ut_fill(self->fd, u, 0, 4, 0));
	close(tfd);
	close(rfd);
	free(ref);
}

/* Huge pages: a 2 MiB-aligned THP range pins into fewer sg segments than pages. */
TEST_F(uptr, thp_sg_segments)
{
	size_t size = 2 * UT_HPAGE, npages = size / self->page;
	struct drm_uptr_bo_info info;
	unsigned char *p, *map = NULL;
	long huge_kb;
	__u32 u, d;

	UT_NEED_THP();
	p = ut_alloc_thp(size);
	ASSERT_NE(NULL, p);
	memset(p, 0x3c, size);
	huge_kb = ut_check_thp_kb(_metadata, p, size, 2048);

	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ASSERT_EQ(0, ut_bo_info(self->fd, u, &info));
	EXPECT_EQ(npages, info.pages_pinned);
	EXPECT_LE(1ull, info.sg_segments);
	EXPECT_GT(npages, info.sg_segments) {
		TH_LOG("%llu sg segments for %zu pages with %ld kB of huge pages: contiguous pages are not merged",
		       (unsigned long long)info.sg_segments, npages, huge_kb);
	}
	TH_LOG("%ld kB of huge pages: %llu sg segments for %zu pages",
	       huge_kb, (unsigned long long)info.sg_segments, npages);

	/* The data goes through, both ways. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0xa1b2c3d4));
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0xa1b2c3d4));
	ut_pattern(p, size, 61);
	UT_DEVICE_BO(d, map, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, p, size));
	ASSERT_EQ(0, ut_checksum(self->fd, d, 0, u, UT_HPAGE - 3, 7));
	EXPECT_EQ(ut_fnv1a(p + UT_HPAGE - 3, 7), *(__u64 *)map);
}

/* After munmap the device keeps the old pages, even under a new mapping at that address. */
TEST_F(uptr, pinned_after_munmap)
{
	size_t size = 16 * self->page;
	unsigned char *p = ut_alloc(size), *q, *map = NULL;
	unsigned char *ref = malloc(size), *ref2 = malloc(size);
	struct drm_uptr_bo_info info;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, ref2);
	ut_pattern(p, size, 71);
	memcpy(ref, p, size);
	ut_pattern(ref2, size, 72);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	UT_DEVICE_BO(d, map, size);

	ASSERT_EQ(0, munmap(p, size));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size)) {
		TH_LOG("after munmap the device does not see the old data");
	}

	/* Fresh memory at the very same address. */
	q = mmap(p, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p, q);
	memcpy(q, ref2, size);
	memset(map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size)) {
		TH_LOG("the device sees the new mapping, not the pinned pages");
	}

	/* Device writes go to the old pages, not to the new mapping. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x5a5a5a5a));
	EXPECT_EQ(-1, ut_find_diff(q, ref2, size)) {
		TH_LOG("a device write landed in the new mapping");
	}
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not_dword(map, size, 0x5a5a5a5a));

	ASSERT_EQ(0, ut_bo_info(self->fd, u, &info));
	EXPECT_EQ(size / self->page, info.pages_pinned);
	EXPECT_EQ((__u64)(uintptr_t)p, info.user_ptr);
	EXPECT_EQ(0, ut_gem_close(self->fd, u));
	free(ref);
	free(ref2);
}

/* MAP_FIXED straight over the live range: the device keeps the old pages. */
TEST_F(uptr, pinned_after_map_fixed)
{
	size_t size = 8 * self->page;
	unsigned char *p = ut_alloc(size), *q, *map = NULL;
	unsigned char *ref = malloc(size);
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 73);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	UT_DEVICE_BO(d, map, size);

	q = mmap(p, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p, q);
	EXPECT_EQ(-1, ut_find_not(q, size, 0));
	memset(q, 0x99, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	ASSERT_EQ(0, ut_store(self->fd, u, 0, 0x12121212));
	EXPECT_EQ(-1, ut_find_not(q, size, 0x99));
	free(ref);
}

/* MADV_DONTNEED drops the CPU's view; the device keeps the pinned pages. */
TEST_F(uptr, pinned_after_dontneed)
{
	size_t size = 8 * self->page;
	unsigned char *p = ut_alloc(size), *map = NULL;
	unsigned char *ref = malloc(size);
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 74);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	UT_DEVICE_BO(d, map, size);

	ASSERT_EQ(0, madvise(p, size, MADV_DONTNEED));
	EXPECT_EQ(-1, ut_find_not(p, size, 0));
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map, ref, size));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x77777777));
	EXPECT_EQ(-1, ut_find_not(p, size, 0));
}

/* mprotect(PROT_READ) after pinning does not stop device writes to the pinned pages. */
TEST_F(uptr, pinned_after_mprotect)
{
	size_t size = 4 * self->page;
	unsigned char *p = ut_alloc(size);
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ASSERT_EQ(0, mprotect(p, size, PROT_READ));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x3e3e3e3e));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x3e));
}

/* After fork the parent keeps the pinned pages: its CPU writes and the device's stay coherent. */
TEST_F(uptr, pinned_fork_parent_coherent)
{
	size_t size = 8 * self->page;
	unsigned char *p = ut_alloc(size), *map = NULL;
	unsigned char *ref = malloc(size);
	int status;
	pid_t pid;
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 75);
	memcpy(ref, p, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	UT_DEVICE_BO(d, map, size);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's writes go to its own copy. */
		memset(p, 0x11, size);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size)) {
		TH_LOG("the child's writes reached the parent");
	}

	memset(p, 0x22, size);
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(map, size, 0x22)) {
		TH_LOG("after fork the device no longer sees the parent's pages");
	}
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x33333333));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x33));
}

/* Pinning memory a child shares copy-on-write: device writes never reach the child. */
TEST_F(uptr, pinned_cow_child_isolated)
{
	size_t size = 8 * self->page;
	unsigned char *p = ut_alloc(size);
	int go[2], done[2], status;
	char c = 0;
	pid_t pid;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 0x44, size);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Wait until the parent pinned and wrote, then check. */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(ut_find_not(p, size, 0x44) == -1 ? 0 : 1);
	}
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x55555555));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x55)) {
		TH_LOG("the parent does not see the device's writes");
	}
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("device writes reached the child's copy-on-write pages");
	}
}

/* Destroying a pinned userptr frees it: the handle is gone, the pin charge returned. */
TEST_F(uptr, destroy_frees)
{
	size_t size = 64 * self->page;
	unsigned char *p = ut_alloc(size);
	struct drm_uptr_bo_info info;
	long before;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 9, size);
	before = ut_pinned_kb();
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	EXPECT_EQ(before + (long)(size / 1024), ut_pinned_kb()) {
		TH_LOG("the pin is not accounted in VmPin or VmLck");
	}
	ASSERT_EQ(0, ut_gem_close(self->fd, u));
	EXPECT_EQ(-ENOENT, ut_bo_info(self->fd, u, &info));
	EXPECT_EQ(-EINVAL, ut_gem_close(self->fd, u));
	EXPECT_EQ(before, ut_pinned_kb());
	/* The memory is the process's, as before. */
	memset(p, 10, size);
	EXPECT_EQ(0, munmap(p, size));
}

TEST_HARNESS_MAIN
