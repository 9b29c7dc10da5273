/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's selftest harness plus FIXTURE(uptr): every test runs in its
 * own process with its own fd on the uptr render node.  Test programs
 * include this header only.  GPL-2.0 like kselftest_harness.h, which it
 * compiles in; uptr_test.h does not, and stays MIT.
 */
#ifndef UPTR_HARNESS_H
#define UPTR_HARNESS_H

/* kselftest_harness.h is not written for -Wextra (unused parameters). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "uptr_test.h"

/*
 * TEST_HARNESS_MAIN as the harness has it, plus one thing: every test's
 * time limit (TEST_F_TIMEOUT, default 30 s) is multiplied by
 * ut_time_scale(), so a slower kernel (the debug tier) scales all the
 * "nothing hangs" bounds from one setting.
 */
#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) { \
		ut_scale_test_timeouts(__fixture_list, ut_time_scale()); \
		return test_harness_run(argc, argv); \
	}

/*
 * For a test that needs transparent huge pages: skips it, saying why, on
 * a kernel built without them (PREEMPT_RT); fails it when the kernel has
 * them but they are switched off.
 */
#define UT_NEED_THP() do {							\
	char __mode[128] = "";							\
	FILE *__f;								\
										\
	if (!ut_thp_built())							\
		SKIP(return, "this kernel has no transparent huge pages "	\
		     "(CONFIG_TRANSPARENT_HUGEPAGE is off, as PREEMPT_RT requires)"); \
	__f = fopen(UT_THP_ENABLED, "r");					\
	ASSERT_NE(NULL, __f);							\
	ASSERT_NE(NULL, fgets(__mode, sizeof(__mode), __f));			\
	fclose(__f);								\
	ASSERT_TRUE(strstr(__mode, "[always]") || strstr(__mode, "[madvise]")) { \
		TH_LOG("transparent_hugepage/enabled is '%s': THP must be 'always' or 'madvise'", \
		       __mode);							\
	}									\
} while (0)

static inline void ut_scale_test_timeouts(struct __fixture_metadata *fixtures,
					  int scale)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = fixtures; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= scale;
}


/* Every test opens its own fd on the uptr render node. */
FIXTURE(uptr) {
	int fd;
	size_t page;		/* DRM_UPTR_PARAM_PAGE_SIZE */
	__u64 max_userptr;	/* DRM_UPTR_PARAM_MAX_USERPTR_SIZE */
	__u64 max_bo;		/* DRM_UPTR_PARAM_MAX_BO_SIZE */
};

FIXTURE_SETUP(uptr)
{
	__u64 v;

	self->fd = ut_open();
	ASSERT_LE(0, self->fd) {
		TH_LOG("no render node of driver \"%s\" in /dev/dri (is uptr.ko loaded?): %s",
		       UT_DRIVER_NAME, strerror(-self->fd));
	}
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	self->page = v;
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
				  &self->max_userptr));
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_BO_SIZE,
				  &self->max_bo));
}

FIXTURE_TEARDOWN(uptr)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Fails the test unless the driver behind @fd creates coherent userptrs. */
static inline void ut_require_coherent(struct __test_metadata *_metadata, int fd)
{
	__u64 kinds = 0;

	ASSERT_EQ(0, ut_get_param(fd, DRM_UPTR_PARAM_USERPTR_KINDS, &kinds));
	ASSERT_NE(0ull, kinds & DRM_UPTR_KIND_COHERENT) {
		TH_LOG("the driver does not list DRM_UPTR_KIND_COHERENT in USERPTR_KINDS (%#llx)",
		       (unsigned long long)kinds);
	}
}

/*
 * The setup the coherent-userptr fixtures share (FIXTURE(coherent) of
 * coherent.c, FIXTURE(coherent_mm) of coherent_mm.c): FIXTURE(uptr)'s fd
 * and parameters in @base, a device page that is the CPU's, and a driver
 * that creates coherent userptrs.  uptr_teardown() undoes it.
 */
static inline void ut_coherent_setup(struct __test_metadata *_metadata,
				     FIXTURE_DATA(uptr) *base)
{
	uptr_setup(_metadata, base, NULL);
	ASSERT_EQ((long)base->page, sysconf(_SC_PAGESIZE));
	ut_require_coherent(_metadata, base->fd);
}

/*
 * A userptr over [@p, @p + @size) with @flags (coherent unless PINNED),
 * on self->fd, its handle in @h; fails the test, saying why, if refused.
 */
#define UT_USERPTR(h, p, size, flags) do {					\
	int __ret = ut_userptr(self->fd, (p), (size), (flags), &(h));		\
										\
	ASSERT_EQ(0, __ret) {							\
		TH_LOG("creating a userptr (flags %#x): %s",			\
		       (unsigned int)(flags), strerror(-__ret));		\
	}									\
} while (0)

/* A device BO of @size bytes on self->fd in @h, mapped read-write at @map. */
#define UT_DEVICE_BO(h, map, size) \
	ASSERT_EQ(0, ut_bo_create_map(self->fd, (size), &(h), (void **)&(map)))

/* BO_INFO of @h on self->fd into @i (a struct drm_uptr_bo_info); nothing else checked. */
#define UT_BO_INFO(h, i) ASSERT_EQ(0, ut_bo_info(self->fd, (h), &(i)))

/*
 * Fails the test unless transparent huge pages back at least @min_kb of
 * [@p, @p + @size), a range of ut_alloc_thp() the test has written, and
 * no more than all of it.  Return: the kB they back.
 */
static inline long ut_check_thp_kb(struct __test_metadata *_metadata,
				   const void *p, size_t size, long min_kb)
{
	long kb = ut_anon_huge_kb((uintptr_t)p, (uintptr_t)p + size);

	ASSERT_LE(min_kb, kb) {
		TH_LOG("THP backs %ld kB of a %zu kB 2 MiB-aligned MADV_HUGEPAGE range; the test needs %ld kB",
		       kb, size / 1024, min_kb);
		TH_LOG("is the guest short of memory? see /sys/kernel/mm/transparent_hugepage/defrag");
	}
	ASSERT_GE((long)(size / 1024), kb);
	return kb;
}

/*
 * Checks BO_INFO of a freshly created pinned userptr: what it was created
 * with, every page pinned and reachable, no job yet.
 */
static inline void ut_check_pinned_info(struct __test_metadata *_metadata,
					int fd, __u32 handle, const void *ptr,
					__u64 size, __u32 flags, size_t page)
{
	struct drm_uptr_bo_info info;

	ASSERT_EQ(0, ut_bo_info(fd, handle, &info));
	EXPECT_EQ(handle, info.handle);
	EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, info.kind);
	EXPECT_EQ(flags, info.flags);
	EXPECT_EQ(size, info.size);
	EXPECT_EQ((__u64)(uintptr_t)ptr, info.user_ptr);
	EXPECT_EQ(size / page, info.pages_pinned);
	EXPECT_EQ(size / page, info.pages_resident);
	EXPECT_LE(1ull, info.sg_segments);
	EXPECT_GE(size / page, info.sg_segments);
	EXPECT_EQ(0ull, info.invalidations);
	EXPECT_EQ(0ull, info.jobs);
}

/* Fails the test unless swap is on. */
static inline void ut_need_swap(struct __test_metadata *_metadata)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	ASSERT_LE(2, lines) {
		TH_LOG("no swap device in /proc/swaps (vm/run --zram 512M)");
	}
}

#endif /* UPTR_HARNESS_H */
