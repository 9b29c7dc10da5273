// SPDX-License-Identifier: GPL-2.0
/*
 * Description: lifetimes: many create/destroy cycles, closing the fd or
 * exiting with live BOs, userptrs used from another process, and
 * BO_WAIT on idle and busy BOs.
 */
#include "uptr_harness.h"

#include <pthread.h>
#include <sys/wait.h>

#define PINNED		DRM_UPTR_USERPTR_PINNED

/* 10 000 create/destroy cycles of a pinned userptr, within 60 s, leaving nothing pinned. */
TEST_F_TIMEOUT(uptr, create_destroy_cycles, 120)
{
	const int cycles = 10000;
	size_t size = 16 * self->page;
	unsigned char *p = ut_alloc(size);
	double start = ut_now();
	long before;
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 0x42, size);
	before = ut_pinned_kb();
	for (i = 0; i < cycles; i++) {
		__u32 h;

		ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h)) {
			TH_LOG("cycle %d", i);
		}
		ASSERT_EQ(0, ut_gem_close(self->fd, h)) {
			TH_LOG("cycle %d", i);
		}
		if ((i & 127) == 0 && ut_now() - start > 60)
			break;
	}
	EXPECT_EQ(cycles, i) {
		TH_LOG("only %d cycles in 60 s", i);
	}
	TH_LOG("%d cycles in %.1f s", i, ut_now() - start);
	EXPECT_EQ(before, ut_pinned_kb());
}

/* Closing an fd with many live userptrs and device BOs frees them all. */
TEST_F(uptr, close_fd_live_bos)
{
	const unsigned int nuser = 64, ndev = 32;
	size_t slice = 4 * self->page, dsize = 16 * self->page;
	unsigned char *p = ut_alloc(nuser * slice);
	unsigned char *map = NULL;
	__u32 u[64], d[32];
	unsigned int i;
	long before;
	int fd2;

	ASSERT_NE(NULL, p);
	ut_pattern(p, nuser * slice, 81);
	before = ut_pinned_kb();
	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	for (i = 0; i < nuser; i++)
		ASSERT_EQ(0, ut_userptr(fd2, p + i * slice, slice, PINNED,
					&u[i]));
	for (i = 0; i < ndev; i++)
		ASSERT_EQ(0, ut_bo_create(fd2, dsize, &d[i]));
	/* Leave work behind: the BOs have been used by jobs. */
	for (i = 0; i < ndev; i++)
		ASSERT_EQ(0, ut_copy(fd2, d[i], 0, u[i], 0, slice));
	ASSERT_EQ(0, ut_bo_mmap(fd2, d[ndev - 1], dsize, (void **)&map));
	EXPECT_EQ(before + (long)(nuser * slice / 1024), ut_pinned_kb());

	/*
	 * A mapping of the fd holds its file open: the BOs go once both
	 * the fd and the mapping are gone.  Until then the mapping works.
	 */
	ASSERT_EQ(0, close(fd2));
	EXPECT_EQ(-1, ut_find_diff(map, p + (ndev - 1) * slice, slice));
	EXPECT_EQ(0, munmap(map, dsize));
	EXPECT_EQ(before, ut_pinned_kb()) {
		TH_LOG("closing the fd did not unpin the userptrs");
	}
	/* The memory is the process's alone again. */
	memset(p, 0, nuser * slice);
	/* The fixture's fd did not notice. */
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d[0]));
	EXPECT_EQ(0, ut_fill(self->fd, d[0], 0, self->page, 1));
}

/* A process that exits without closing its fd, with live BOs and finished jobs. */
TEST_F(uptr, exit_with_live_bos)
{
	size_t size = 256 * UT_KIB;
	pid_t pid;
	__u32 d;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *p = ut_alloc(size);
		int fd = ut_open();
		__u32 u, d, r;
		void *map = NULL;

		if (!p || fd < 0)
			_exit(10);
		memset(p, 0x17, size);
		if (ut_userptr(fd, p, size, PINNED, &u) ||
		    ut_userptr(fd, p, size / 2, PINNED | DRM_UPTR_USERPTR_READ_ONLY, &r) ||
		    ut_bo_create_map(fd, size, &d, &map))
			_exit(11);
		if (ut_copy(fd, d, 0, u, 0, size) || ut_fill(fd, u, 0, 64, 1))
			_exit(12);
		/* Also through the harness's inherited fd. */
		if (ut_userptr(self->fd, p, size, PINNED, &u))
			_exit(13);
		_exit(0);
	}
	EXPECT_EQ(0, ut_wait_child(pid));
	/* The fd the child inherited still works for the parent. */
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &d));
	EXPECT_EQ(0, ut_fill(self->fd, d, 0, size, 2));
}

/* Userptrs a child created on the shared fd outlive it, but the parent cannot run jobs on them. */
TEST_F(uptr, child_userptr_after_exit)
{
	size_t size = 64 * UT_KIB;
	__u32 *handles = ut_alloc_shared(self->page);
	struct drm_uptr_bo_info info;
	unsigned int i;
	pid_t pid;
	__u32 d;

	ASSERT_NE(NULL, handles);
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &d));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *p = ut_alloc(4 * size);

		if (!p)
			_exit(10);
		memset(p, 0x71, 4 * size);
		for (i = 0; i < 4; i++)
			if (ut_userptr(self->fd, p + i * size, size, PINNED,
				       &handles[i]))
				_exit(11 + i);
		_exit(0);
	}
	ASSERT_EQ(0, ut_wait_child(pid));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, ut_bo_info(self->fd, handles[i], &info));
		EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, info.kind);
		EXPECT_EQ(size / self->page, info.pages_pinned);
		EXPECT_EQ(-EFAULT, ut_copy(self->fd, d, 0, handles[i], 0,
					   size)) {
			TH_LOG("a job ran on a userptr of an exited process");
		}
	}
	EXPECT_EQ(0, ut_gem_close(self->fd, handles[0]));
	/* handles[1..3] go with the fd at teardown. */
}

/* A forked child that inherits the fd cannot use the parent's userptr, but can use device BOs. */
TEST_F(uptr, fork_child_userptr_efault)
{
	size_t size = 16 * self->page;
	unsigned char *p = ut_alloc(size), *map1 = NULL, *map2 = NULL;
	int *res = ut_alloc_shared(self->page);
	__u32 u, d1, d2;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, res);
	ut_pattern(p, size, 91);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &u));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &d1, (void **)&map1));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &d2, (void **)&map2));
	ut_pattern(map1, size, 92);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct drm_uptr_cmd c[2] = {
			ut_cmd_fill(d2, 0, size, 0x66666666),
			ut_cmd_copy(d1, 0, u, 0, size),
		};

		res[0] = ut_copy(self->fd, d1, 0, u, 0, size);
		res[1] = ut_fill(self->fd, u, 0, size, 0x13131313);
		res[2] = ut_checksum(self->fd, d1, 0, u, 0, 16);
		res[3] = ut_submit(self->fd, c, 2);
		res[4] = ut_copy(self->fd, d2, 0, d1, 0, size);
		_exit(0);
	}
	ASSERT_EQ(0, ut_wait_child(pid));
	EXPECT_EQ(-EFAULT, res[0]);
	EXPECT_EQ(-EFAULT, res[1]);
	EXPECT_EQ(-EFAULT, res[2]);
	EXPECT_EQ(-EFAULT, res[3]);
	EXPECT_EQ(0, res[4]) {
		TH_LOG("a device-BO job from the child failed: %s",
		       strerror(-res[4]));
	}
	/* Nothing reached the parent's memory; the device-only job ran. */
	{
		unsigned char *ref = malloc(size);

		ASSERT_NE(NULL, ref);
		ut_pattern(ref, size, 91);
		EXPECT_EQ(-1, ut_find_diff(p, ref, size));
		ut_pattern(ref, size, 92);
		EXPECT_EQ(-1, ut_find_diff(map1, ref, size));
		EXPECT_EQ(-1, ut_find_diff(map2, ref, size));
		free(ref);
	}
	/* The parent still can. */
	ASSERT_EQ(0, ut_copy(self->fd, d2, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(map2, p, size));
}

/* BO_WAIT returns 0 at once on a BO no job uses. */
TEST_F(uptr, bo_wait_idle)
{
	unsigned char *p = ut_alloc(self->page);
	__u32 u, d;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
	ASSERT_EQ(0, ut_userptr(self->fd, p, self->page, PINNED, &u));
	EXPECT_EQ(0, ut_bo_wait(self->fd, d, 0));
	EXPECT_EQ(0, ut_bo_wait(self->fd, u, 0));
	EXPECT_EQ(0, ut_bo_wait(self->fd, d, 1000000000));
	/* SUBMIT returns once the job completed: idle again. */
	ASSERT_EQ(0, ut_copy(self->fd, d, 0, u, 0, self->page));
	EXPECT_EQ(0, ut_bo_wait(self->fd, d, 0));
	EXPECT_EQ(0, ut_bo_wait(self->fd, u, 0));
}

struct busy_loop {
	int fd;
	__u32 dst, src;
	__u64 size;
	volatile int stop;
	volatile int error;
	unsigned long jobs;
};

static void *busy_thread(void *arg)
{
	struct busy_loop *b = arg;

	while (!b->stop) {
		int ret = ut_copy(b->fd, b->dst, 0, b->src, 0, b->size);

		if (ret) {
			b->error = ret;
			break;
		}
		b->jobs++;
	}
	return NULL;
}

/* BO_WAIT(0) reports -ETIME while a long job reads or writes the BO; a long wait then returns 0. */
TEST_F_TIMEOUT(uptr, bo_wait_busy, 120)
{
	struct busy_loop b = { .fd = self->fd };
	struct drm_uptr_bo_info info;
	unsigned long seen_dst = 0, seen_src = 0, polls = 0;
	int other_dst = 0, other_src = 0;
	pthread_t thread;
	double start;

	b.size = 32 * UT_MIB;
	if (b.size > self->max_bo)
		b.size = self->max_bo & ~((__u64)self->page - 1);
	ASSERT_EQ(0, ut_bo_create(self->fd, b.size, &b.src));
	ASSERT_EQ(0, ut_bo_create(self->fd, b.size, &b.dst));
	ASSERT_EQ(0, ut_fill(self->fd, b.src, 0, b.size, 0x01010101));

	ASSERT_EQ(0, pthread_create(&thread, NULL, busy_thread, &b));
	start = ut_now();
	while (ut_now() - start < 20 && (!seen_dst || !seen_src) && !b.error) {
		int ret;

		ret = ut_bo_wait(self->fd, b.dst, 0);
		if (ret == -ETIME)
			seen_dst++;
		else if (ret)
			other_dst = ret;
		ret = ut_bo_wait(self->fd, b.src, 0);
		if (ret == -ETIME)
			seen_src++;
		else if (ret)
			other_src = ret;
		polls++;
	}
	TH_LOG("%lu polls, busy seen %lu times on dst and %lu on src, %lu jobs in %.1f s",
	       polls, seen_dst, seen_src, b.jobs, ut_now() - start);

	/* A generous wait returns 0 once the job in flight is done. */
	b.stop = 1;
	EXPECT_EQ(0, ut_bo_wait(self->fd, b.dst, 30ll * 1000000000));
	EXPECT_EQ(0, ut_bo_wait(self->fd, b.src, 30ll * 1000000000));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, ut_bo_wait(self->fd, b.dst, 0));

	EXPECT_EQ(0, b.error) {
		TH_LOG("SUBMIT failed: %s", strerror(-b.error));
	}
	EXPECT_EQ(0, other_dst);
	EXPECT_EQ(0, other_src);
	EXPECT_LT(0ul, seen_dst) {
		TH_LOG("BO_WAIT never reported the written BO busy");
	}
	EXPECT_LT(0ul, seen_src) {
		TH_LOG("BO_WAIT never reported the read BO busy");
	}
	ASSERT_EQ(0, ut_bo_info(self->fd, b.dst, &info));
	EXPECT_EQ((__u64)b.jobs, info.jobs);
	ASSERT_EQ(0, ut_bo_info(self->fd, b.src, &info));
	EXPECT_EQ((__u64)b.jobs + 1, info.jobs);
}

TEST_HARNESS_MAIN
