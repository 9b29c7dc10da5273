// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the registration cache across fork().  A userptr belongs
 * to the mm that created it: in the child, a job on the parent's cached
 * BO fails cleanly with -EFAULT; the child's cache starts empty (a get
 * is a miss that creates the child's own BO over its copy-on-write
 * pages, which the device writes without the parent seeing it), and
 * nothing the child does destroys the parent's BOs, which the parent
 * keeps hitting afterwards.  Links the kernel's GPL-2.0
 * kselftest_harness.h, hence the licence.
 */
#include "lib_test.h"

#include <pthread.h>

#define SZ	(64 * 1024)

/* Child exit codes: which check failed. */
enum { C_OK, C_EFAULT, C_GET, C_HIT, C_SAME, C_JOB, C_DATA, C_PUT, C_STATS, C_INFO };

static int child(struct uptr_dev *dev, unsigned char *p, struct uptr_buf *inherited)
{
	struct drm_uptr_cmd c = uptr_cmd_fill(uptr_buf_handle(inherited), 0, SZ, 0x77777777);
	struct drm_uptr_bo_info info;
	struct uptr_buf *b;
	struct uptr_cache_stats st = { .size = sizeof(st) };

	if (uptr_submit_cmds(dev, &c, 1) != -EFAULT)
		return C_EFAULT;
	if (ut_find_not(p, SZ, 0x11) != -1)
		return C_DATA;
	if (uptr_buf_get(dev, p, SZ, 0, &b))
		return C_GET;
	if (b == inherited || uptr_buf_handle(b) == uptr_buf_handle(inherited))
		return C_SAME;
	if (uptr_cache_stats(dev, &st) || st.misses != 1 || st.hits != 0 || st.entries != 1)
		return C_STATS;
	c = uptr_cmd_fill(uptr_buf_handle(b), 0, SZ, 0x55555555);
	if (uptr_submit_cmds(dev, &c, 1))
		return C_JOB;
	if (ut_find_not(p, SZ, 0x55) != -1)
		return C_DATA;
	/* Puts: the inherited one only frees memory. */
	if (uptr_buf_put(b) || uptr_buf_put(inherited))
		return C_PUT;
	/* The parent's BO is still there. */
	if (uptr_bo_info(dev, uptr_buf_handle(inherited), &info))
		return C_INFO;
	/* Destroys the child's own BO only (the fd is shared). */
	uptr_dev_close(dev);
	return C_OK;
}

TEST_F(lib, fork_child_cannot_use_parent_buf)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a, *b;
	struct uptr_cache_stats st;
	struct drm_uptr_cmd c;
	uint32_t h;
	pid_t pid;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &a));
	h = uptr_buf_handle(a);
	/* Held across fork: the child inherits a reference. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child(self->dev, p, a));
	ASSERT_EQ(C_OK, ut_wait_child(pid));
	/* The parent's memory is untouched by the child's device write. */
	EXPECT_EQ(-1, ut_find_not(p, SZ, 0x11));
	EXPECT_EQ(0, uptr_buf_put(a));
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, 0, &b));
	EXPECT_EQ(h, uptr_buf_handle(b));
	c = uptr_cmd_fill(h, 0, SZ, 0x66666666);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(-1, ut_find_not(p, SZ, 0x66));
	EXPECT_EQ(0, uptr_buf_put(b));
	st = lt_stats(self->dev);
	EXPECT_EQ(1ull, st.misses);
	EXPECT_EQ(1ull, st.hits);
	EXPECT_EQ(1ull, st.entries);
	munmap(p, SZ);
}

/* A pinned buf held across fork: -EFAULT in the child, intact after. */
TEST_F(lib, fork_pinned)
{
	unsigned char *p = ut_alloc(SZ);
	struct uptr_buf *a;
	struct drm_uptr_cmd c;
	pid_t pid;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, SZ);
	ASSERT_EQ(0, uptr_buf_get(self->dev, p, SZ, DRM_UPTR_USERPTR_PINNED, &a));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		c = uptr_cmd_fill(uptr_buf_handle(a), 0, SZ, 0);
		if (uptr_submit_cmds(self->dev, &c, 1) != -EFAULT)
			_exit(1);
		/* Frees memory only: the BO is the parent's. */
		_exit(uptr_buf_put(a) ? 2 : 0);
	}
	ASSERT_EQ(0, ut_wait_child(pid));
	c = uptr_cmd_checksum(self->res, 0, uptr_buf_handle(a), 0, SZ);
	ASSERT_EQ(0, uptr_submit_cmds(self->dev, &c, 1));
	EXPECT_EQ(ut_fnv1a(p, SZ), *(uint64_t *)self->map);
	EXPECT_EQ(0, uptr_buf_put(a));
	munmap(p, SZ);
}

struct spinner {
	struct uptr_dev *dev;
	unsigned char *p;
	volatile int stop;
	unsigned long iters;
	int errors;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;

	while (!s->stop) {
		struct uptr_buf *b;

		if (uptr_buf_get(s->dev, s->p, SZ, 0, &b)) {
			s->errors++;
			continue;
		}
		uptr_buf_put(b);
		__atomic_fetch_add(&s->iters, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * fork() while other threads hold the cache lock: the fork handlers
 * keep the lock consistent, so every child can use its cache (a child
 * that inherited a held lock would hang; alarm() turns that into a
 * failure).  Refuses to pass unless the threads ran during the forks.
 */
TEST_F(lib, fork_while_threads_use_cache)
{
	struct spinner s = { .dev = self->dev, .p = ut_alloc(SZ) };
	pthread_t th[2];
	unsigned long before;
	int i, busy = 0;

	struct uptr_buf *b0;

	ASSERT_NE(NULL, s.p);
	memset(s.p, 1, SZ);
	/* Cached before the threads start: every get of theirs hits. */
	ASSERT_EQ(0, uptr_buf_get(self->dev, s.p, SZ, 0, &b0));
	EXPECT_EQ(0, uptr_buf_put(b0));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, spin, &s));
	for (i = 0; i < 40; i++) {
		pid_t pid;

		before = __atomic_load_n(&s.iters, __ATOMIC_RELAXED);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			struct uptr_buf *b;
			struct uptr_cache_stats st = { .size = sizeof(st) };

			alarm(10);
			if (uptr_buf_get(self->dev, s.p, SZ, 0, &b))
				_exit(1);
			/* The child's cache started empty, counters at zero. */
			if (uptr_cache_stats(self->dev, &st) || st.entries != 1 ||
			    st.hits || st.misses != 1)
				_exit(2);
			uptr_buf_put(b);
			uptr_dev_close(self->dev);
			_exit(0);
		}
		ASSERT_EQ(0, ut_wait_child(pid));
		busy += __atomic_load_n(&s.iters, __ATOMIC_RELAXED) != before;
	}
	s.stop = 1;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	TH_LOG("threads ran during %d of 40 forks, %lu get/put", busy, s.iters);
	EXPECT_LE(10, busy);
	EXPECT_EQ(0, s.errors);
	/* The children destroyed nothing of the parent's. */
	EXPECT_EQ(1ull, lt_stats(self->dev).entries);
	EXPECT_EQ((uint64_t)s.iters, lt_stats(self->dev).hits);
	EXPECT_EQ(1ull, lt_stats(self->dev).misses);
	munmap(s.p, SZ);
}

TEST_HARNESS_MAIN
