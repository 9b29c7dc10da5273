// SPDX-License-Identifier: GPL-2.0
/*
 * Description: libuptr's BOs and jobs: device BOs created, mapped and
 * destroyed; userptrs of both kinds and every flag; uptr_submit() with
 * each command builder, checked byte by byte; its size/flags rules for
 * ABI growth; BO wait and info; errors returned as -errno.  Links the
 * kernel's GPL-2.0 kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

#include <xf86drm.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#define SZ	(64 * 1024)

/* A device BO: zero-filled, mapped, filled by the engine, destroyed. */
TEST_F(lib, device_bo)
{
	struct drm_uptr_bo_info info;
	struct drm_uptr_cmd c;
	uint32_t h;
	unsigned char *m;

	ASSERT_EQ(0, uptr_bo_create(self->dev, SZ, 0, &h));
	ASSERT_EQ(0, uptr_bo_mmap(self->dev, h, SZ, PROT_READ | PROT_WRITE, (void **)&m));
	EXPECT_EQ(-1, ut_find_not(m, SZ, 0));
	c = uptr_cmd_fill(h, 0, SZ, 0xa5a5a5a5);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(-1, ut_find_not(m, SZ, 0xa5));
	ASSERT_EQ(0, uptr_bo_info(self->dev, h, &info));
	EXPECT_EQ((uint32_t)DRM_UPTR_BO_KIND_DEVICE, info.kind);
	EXPECT_EQ((uint64_t)SZ, info.size);
	EXPECT_EQ(1ull, info.jobs);
	EXPECT_EQ(0, uptr_bo_wait(self->dev, h, 0));
	EXPECT_EQ(0, uptr_bo_munmap(m, SZ));
	EXPECT_EQ(0, uptr_bo_destroy(self->dev, h));
	EXPECT_EQ(-ENOENT, uptr_bo_info(self->dev, h, &info));
	EXPECT_EQ(-EINVAL, uptr_bo_destroy(self->dev, h));
	EXPECT_EQ(-EINVAL, uptr_bo_create(self->dev, SZ + 1, 0, &h));
	EXPECT_EQ(-EINVAL, uptr_bo_create(self->dev, SZ, 1, &h));
	EXPECT_EQ(-ENOENT, uptr_bo_mmap(self->dev, h, SZ, PROT_READ, (void **)&m));
}

/* Both kinds: pinned pins every page at create, coherent none. */
TEST_F(lib, userptr_kinds)
{
	struct drm_uptr_bo_info info;
	unsigned char *p = ut_alloc(SZ);
	uint32_t hp, hc;
	void *m;

	ASSERT_NE(NULL, p);
	memset(p, 1, SZ);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &hp));
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, 0, &hc));
	ASSERT_EQ(0, uptr_bo_info(self->dev, hp, &info));
	EXPECT_EQ((uint32_t)DRM_UPTR_BO_KIND_USERPTR, info.kind);
	EXPECT_EQ((uint32_t)DRM_UPTR_USERPTR_PINNED, info.flags);
	EXPECT_EQ((uint64_t)(uintptr_t)p, info.user_ptr);
	EXPECT_EQ(SZ / self->page, info.pages_pinned);
	ASSERT_EQ(0, uptr_bo_info(self->dev, hc, &info));
	EXPECT_EQ(0u, info.flags);
	EXPECT_EQ(0ull, info.pages_pinned);
	EXPECT_EQ(0ull, info.pages_resident);
	/* A userptr has no mmap offset: map the memory itself. */
	EXPECT_EQ(-ENODEV, uptr_bo_mmap(self->dev, hc, SZ, PROT_READ, &m));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, hp));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, hc));
	munmap(p, SZ);
}

/* READ_ONLY refuses writing jobs with -EACCES; PROBE refuses a hole. */
TEST_F(lib, userptr_flags)
{
	unsigned char *p = ut_alloc(2 * SZ);
	struct drm_uptr_cmd c;
	uint32_t h;
	int kind;

	ASSERT_NE(NULL, p);
	memset(p, 7, 2 * SZ);
	for (kind = 0; kind < 2; kind++) {
		uint32_t f = DRM_UPTR_USERPTR_READ_ONLY |
			     (kind ? DRM_UPTR_USERPTR_PINNED : 0);

		ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, f, &h));
		c = uptr_cmd_fill(h, 0, SZ, 0);
		EXPECT_EQ(-EACCES, uptr_submit_cmds(self->dev, &c, 1));
		EXPECT_EQ(-1, ut_find_not(p, SZ, 7));
		c = uptr_cmd_checksum(self->res, 0, h, 0, SZ);
		EXPECT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
		EXPECT_EQ(ut_fnv1a(p, SZ), *(uint64_t *)self->map);
		EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	}
	ASSERT_EQ(0, munmap(p + SZ, SZ));
	EXPECT_EQ(-EFAULT, uptr_userptr_create(self->dev, p, 2 * SZ,
					       DRM_UPTR_USERPTR_PROBE, &h));
	/* Without PROBE a coherent userptr over a hole is created. */
	EXPECT_EQ(0, uptr_userptr_create(self->dev, p, 2 * SZ, 0, &h));
	c = uptr_cmd_fill(h, SZ, 4, 0);
	EXPECT_EQ(-EFAULT, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	EXPECT_EQ(-EINVAL, uptr_userptr_create(self->dev, p + 1, SZ, 0, &h));
	EXPECT_EQ(-EINVAL, uptr_userptr_create(self->dev, p, SZ, 1u << 31, &h));
	EXPECT_EQ(-EINVAL, uptr_userptr_create(self->dev, p, SZ, 0, NULL));
	munmap(p, SZ);
}

/* Every builder, one job, results checked against the CPU. */
TEST_F(lib, submit_builders)
{
	unsigned char *p = ut_alloc(SZ), *ref = malloc(SZ);
	struct drm_uptr_cmd c[4];
	uint32_t h;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, SZ, 9);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, SZ, 0, &h));
	c[0] = uptr_cmd_copy(h, SZ / 2, h, 0, SZ / 4);
	c[1] = uptr_cmd_fill(h, 0, 4096, 0x01020304);
	c[2] = uptr_cmd_store_dword(h, 4096, 0xdeadbeef);
	c[3] = uptr_cmd_checksum(self->res, 8, h, 0, SZ);
	memcpy(ref, p, SZ);
	memcpy(ref + SZ / 2, ref, SZ / 4);
	for (int i = 0; i < 4096; i += 4)
		memcpy(ref + i, &(uint32_t){ 0x01020304 }, 4);
	memcpy(ref + 4096, &(uint32_t){ 0xdeadbeef }, 4);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, c, 4));
	EXPECT_EQ(-1, ut_find_diff(p, ref, SZ));
	EXPECT_EQ(uptr_fnv1a(ref, SZ), *(uint64_t *)(self->map + 8));
	EXPECT_EQ(ut_fnv1a(ref, SZ), uptr_fnv1a(ref, SZ));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	munmap(p, SZ);
	free(ref);
}

/*
 * struct uptr_submit carries its size: an older, shorter struct is
 * refused, a newer one with unknown members set is -E2BIG, a newer one
 * with them zero runs; flags and pad must be zero.
 */
TEST_F(lib, submit_struct_abi)
{
	struct {
		struct uptr_submit s;
		uint64_t future[2];
	} big;
	struct drm_uptr_cmd c = uptr_cmd_store_dword(self->res, 0, 42);
	struct uptr_submit s = { .size = sizeof(s), .cmds = &c, .count = 1 };

	EXPECT_EQ(0, uptr_submit(self->dev, &s));
	EXPECT_EQ(42u, *(uint32_t *)self->map);
	s.size = 8;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, &s));
	/* The first version of the struct: no engine, no fences, waits. */
	s.size = offsetof(struct uptr_submit, pad) + sizeof(uint32_t);
	s.engine = 1;
	c.value = 41;
	EXPECT_EQ(0, uptr_submit(self->dev, &s));
	EXPECT_EQ(41u, *(uint32_t *)self->map);
	s.engine = 0;
	s.size = sizeof(s);
	s.flags = 2;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, &s));
	s.flags = 0;
	s.pad2 = 1;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, &s));
	s.pad2 = 0;
	s.flags = 0;
	s.pad = 1;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, &s));
	s.pad = 0;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, NULL));
	memset(&big, 0, sizeof(big));
	big.s = s;
	big.s.size = sizeof(big);
	c.value = 43;
	EXPECT_EQ(0, uptr_submit(self->dev, &big.s));
	EXPECT_EQ(43u, *(uint32_t *)self->map);
	big.future[1] = 1;
	c.value = 44;
	EXPECT_EQ(-E2BIG, uptr_submit(self->dev, &big.s));
	EXPECT_EQ(43u, *(uint32_t *)self->map);
	/* The kernel's own errors come back as -errno. */
	c.op = 99;
	EXPECT_EQ(-EINVAL, uptr_submit_cmds(self->dev, &c, 1));
	c = uptr_cmd_store_dword(12345, 0, 1);
	EXPECT_EQ(-ENOENT, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(-EINVAL, uptr_submit_cmds(self->dev, &c, 0));
}

/*
 * UPTR_SUBMIT_ASYNC: the job is queued on the engine asked for, waits for
 * its in-syncobjs and fills its out-syncobj, which libdrm waits for.
 */
TEST_F(lib, submit_async_fences)
{
	struct drm_uptr_cmd c1 = uptr_cmd_fill(self->res, 0, 64, 7);
	struct drm_uptr_cmd c2 = uptr_cmd_store_dword(self->res, 0, 9);
	struct uptr_submit s = {
		.size = sizeof(s), .flags = UPTR_SUBMIT_ASYNC, .cmds = &c1, .count = 1,
		.engine = 1,
	};
	int fd = uptr_dev_fd(self->dev);
	uint32_t out1, out2;

	ASSERT_EQ(0, drmSyncobjCreate(fd, 0, &out1));
	ASSERT_EQ(0, drmSyncobjCreate(fd, 0, &out2));
	s.out_syncobj = out1;
	ASSERT_EQ(0, uptr_submit(self->dev, &s));
	s.cmds = &c2;
	s.engine = 0;
	s.in_count = 1;
	s.in_syncobjs = &out1;
	s.out_syncobj = out2;
	ASSERT_EQ(0, uptr_submit(self->dev, &s));
	EXPECT_EQ(0, drmSyncobjWait(fd, &out2, 1, INT64_MAX, 0, NULL));
	EXPECT_EQ(0, drmSyncobjWait(fd, &out1, 1, INT64_MAX, 0, NULL));
	EXPECT_EQ(9u, ((uint32_t *)self->map)[0]);
	EXPECT_EQ(7u, ((uint32_t *)self->map)[1]);
	s.engine = 2;
	EXPECT_EQ(-EINVAL, uptr_submit(self->dev, &s));
	drmSyncobjDestroy(fd, out1);
	drmSyncobjDestroy(fd, out2);
}

/*
 * uptr_prefetch(): a coherent userptr's pages made resident before the
 * job, synchronously and on an engine with its fence; the uAPI's errors
 * come back as -errno.
 */
TEST_F(lib, prefetch)
{
	size_t size = 16 * (size_t)sysconf(_SC_PAGESIZE);
	struct drm_uptr_bo_info info;
	unsigned char *p = ut_alloc_small_pages(size);
	uint32_t u, dev, out;
	struct drm_uptr_cmd c;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, size, 0, &u));
	ASSERT_EQ(0, uptr_prefetch(self->dev, u, 0, size / 2, DRM_UPTR_PREFETCH_WRITE, 0, 0));
	ASSERT_EQ(0, uptr_bo_info(self->dev, u, &info));
	EXPECT_EQ(8ull, info.pages_resident);

	ASSERT_EQ(0, drmSyncobjCreate(uptr_dev_fd(self->dev), 0, &out));
	ASSERT_EQ(0, uptr_prefetch(self->dev, u, size / 2, size / 2,
				   DRM_UPTR_PREFETCH_WRITE | DRM_UPTR_PREFETCH_ASYNC, 1, out));
	ASSERT_EQ(0, drmSyncobjWait(uptr_dev_fd(self->dev), &out, 1, INT64_MAX, 0, NULL));
	ASSERT_EQ(0, uptr_bo_info(self->dev, u, &info));
	EXPECT_EQ(16ull, info.pages_resident);
	EXPECT_EQ(16ull, info.pages_faulted);
	c = uptr_cmd_fill(u, 0, size, 0x01020304);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
	ASSERT_EQ(0, uptr_bo_info(self->dev, u, &info));
	EXPECT_EQ(16ull, info.pages_faulted);
	EXPECT_EQ(-1, ut_find_not_dword(p, size, 0x01020304));

	EXPECT_EQ(-ENOENT, uptr_prefetch(self->dev, 0xdead, 0, size, 0, 0, 0));
	EXPECT_EQ(-EINVAL, uptr_prefetch(self->dev, u, 0, size + 1, 0, 0, 0));
	ASSERT_EQ(0, uptr_bo_create(self->dev, size, 0, &dev));
	EXPECT_EQ(-EINVAL, uptr_prefetch(self->dev, dev, 0, size, 0, 0, 0));
	ASSERT_EQ(0, munmap(p, size));
	EXPECT_EQ(-EFAULT, uptr_prefetch(self->dev, u, 0, size, 0, 0, 0));
	EXPECT_EQ(0, drmSyncobjDestroy(uptr_dev_fd(self->dev), out));
}

/* BO_WAIT: idle BO 0, unknown handle -ENOENT, negative timeout -EINVAL. */
TEST_F(lib, bo_wait)
{
	EXPECT_EQ(0, uptr_bo_wait(self->dev, self->res, 0));
	EXPECT_EQ(0, uptr_bo_wait(self->dev, self->res, 1000000));
	EXPECT_EQ(-ENOENT, uptr_bo_wait(self->dev, 12345, 0));
	EXPECT_EQ(-EINVAL, uptr_bo_wait(self->dev, self->res, -1));
}

static volatile sig_atomic_t signals;

static void on_alarm(int sig)
{
	(void)sig;
	signals++;
}

/*
 * Jobs under a storm of signals whose handler does not ask for
 * SA_RESTART: the library restarts the interrupted ioctls, so no call
 * returns -EINTR.  Refuses to pass unless signals arrived during jobs.
 */
TEST_F(lib, signals_restart_ioctls)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	unsigned char *p = ut_alloc(1 << 20);
	struct drm_uptr_cmd c;
	int i, eintr = 0, other = 0, jobs = 0, other_err = 0;
	double t0 = ut_now();
	uint32_t h;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, uptr_userptr_create(self->dev, p, 1 << 20, 0, &h));
	c = uptr_cmd_fill(h, 0, 1 << 20, 0x12345678);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	for (i = 0; i < 100000 && ut_now() - t0 < 2.0; i++) {
		int ret = uptr_submit_cmds(self->dev, &c, 1);

		eintr += ret == -EINTR;
		if (ret && ret != -EINTR && !other++)
			other_err = ret;
		jobs++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	TH_LOG("%d jobs, %d signals", jobs, (int)signals);
	EXPECT_LT(10, (int)signals);
	EXPECT_EQ(0, eintr);
	EXPECT_EQ(0, other) {
		TH_LOG("%d jobs failed, the first with %s", other, strerror(-other_err));
	}
	EXPECT_EQ(-1, ut_find_not_dword(p, 1 << 20, 0x12345678));
	EXPECT_EQ(0, uptr_userptr_destroy(self->dev, h));
	munmap(p, 1 << 20);
}

TEST_HARNESS_MAIN
