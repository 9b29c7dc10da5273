// SPDX-License-Identifier: GPL-2.0
/*
 * Description: DRM_IOCTL_UPTR_SUBMIT: every errno it documents, that a
 * refused job has no effect, and what COPY, FILL, STORE_DWORD and
 * CHECKSUM do to pinned userptrs and device BOs, checked byte by byte
 * on the CPU.
 */
#include "uptr_harness.h"

#define PINNED		DRM_UPTR_USERPTR_PINNED
#define RO		DRM_UPTR_USERPTR_READ_ONLY
#define KERNEL_ADDR	0xffff800000000000ull

/* SUBMIT of @s, waiting for the job. */
static int submit_raw(int fd, struct drm_uptr_submit *s)
{
	s->flags |= DRM_UPTR_SUBMIT_WAIT;
	return ut_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, s);
}

static __u64 bo_jobs(int fd, __u32 handle)
{
	struct drm_uptr_bo_info info;

	if (ut_bo_info(fd, handle, &info))
		return ~0ull;
	return info.jobs;
}

/* A device BO and a pinned read-write userptr of @size bytes each. */
FIXTURE(job) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page */
	size_t size;
	__u32 dev;		/* device BO */
	unsigned char *map;	/* its CPU mapping */
	__u32 usr;		/* pinned read-write userptr */
	unsigned char *mem;	/* its memory */
	__u32 ro;		/* pinned read-only userptr */
	unsigned char *ro_mem;	/* its memory */
	unsigned int max_commands;	/* DRM_UPTR_PARAM_MAX_COMMANDS */
	__u64 max_job_bytes;		/* DRM_UPTR_PARAM_MAX_JOB_BYTES */
};

FIXTURE_SETUP(job)
{
	__u64 v = 0;

	uptr_setup(_metadata, &self->base, NULL);
	self->fd = self->base.fd;
	self->page = self->base.page;
	self->size = 16 * self->page;
	UT_DEVICE_BO(self->dev, self->map, self->size);
	self->mem = ut_alloc(self->size);
	ASSERT_NE(NULL, self->mem);
	memset(self->mem, 0xee, self->size);
	ASSERT_EQ(0, ut_userptr(self->fd, self->mem, self->size, PINNED,
				&self->usr));
	self->ro_mem = ut_alloc(self->size);
	ASSERT_NE(NULL, self->ro_mem);
	ut_pattern(self->ro_mem, self->size, 7);
	ASSERT_EQ(0, ut_userptr(self->fd, self->ro_mem, self->size,
				PINNED | RO, &self->ro));
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_COMMANDS, &v));
	ASSERT_LE(65ull, v);
	ASSERT_GE(self->size / 4 - 1, v);
	self->max_commands = v;
	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES,
				  &self->max_job_bytes));
}

FIXTURE_TEARDOWN(job)
{
	uptr_teardown(_metadata, &self->base, NULL);
}

/* A job without commands is refused. */
TEST_F(job, count_zero)
{
	struct drm_uptr_cmd c = ut_cmd_fill(self->dev, 0, 4, 1);
	struct drm_uptr_submit s = { .commands = (uintptr_t)&c, .count = 0 };

	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->dev));
}

/* A job of more than DRM_UPTR_PARAM_MAX_COMMANDS commands is refused; exactly that many runs. */
TEST_F(job, count_too_many)
{
	unsigned int i, max = self->max_commands;
	struct drm_uptr_cmd *c = calloc(max + 1, sizeof(*c));
	struct drm_uptr_submit s = { .commands = (uintptr_t)c };

	ASSERT_NE(NULL, c);
	for (i = 0; i <= max; i++)
		c[i] = ut_cmd_store(self->dev, 4 * i, 0x1000 + i);
	s.count = max + 1;
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s.count = 0xffffffffu;
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));

	s.count = max;
	ASSERT_EQ(0, submit_raw(self->fd, &s));
	for (i = 0; i < max; i++)
		ASSERT_EQ(0x1000 + i, ((__u32 *)self->map)[i]);
	EXPECT_EQ(0u, ((__u32 *)self->map)[max]);
	free(c);
	EXPECT_EQ(1ull, bo_jobs(self->fd, self->dev));
}

/* Unknown submit flags, any extension chain, pad or an engine beyond the last are refused. */
TEST_F(job, submit_reserved_fields)
{
	struct drm_uptr_cmd c = ut_cmd_fill(self->dev, 0, 4, 1);
	struct drm_uptr_user_extension ext = { .name = 1 };
	struct drm_uptr_submit s;
	__u64 engines;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_ENGINE_COUNT, &engines));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .flags = 2 };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .engine = (__u32)engines };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .engine = 0xffffffffu };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .flags = 0x80000000u };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .extensions = 1 };
	EXPECT_EQ(-EFAULT, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .extensions = (uintptr_t)&ext };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .pad = 1 };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	s = (struct drm_uptr_submit){ .commands = (uintptr_t)&c, .count = 1,
				      .pad = 1u << 31 };
	EXPECT_EQ(-EINVAL, submit_raw(self->fd, &s));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->dev));
}

/* Op 0 and unknown ops are refused. */
TEST_F(job, op_unknown)
{
	static const __u32 ops[] = { 0, DRM_UPTR_OP_CHECKSUM + 1, 0x100,
				     0xffffffffu };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		struct drm_uptr_cmd c = ut_cmd_fill(self->dev, 0, 4, 1);

		c.op = ops[i];
		EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1)) {
			TH_LOG("op %#x", ops[i]);
		}
	}
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
}

/* Non-zero command flags are refused, for every op. */
TEST_F(job, cmd_flags)
{
	struct drm_uptr_cmd c[4] = {
		ut_cmd_copy(self->dev, 0, self->usr, 0, 16),
		ut_cmd_fill(self->dev, 0, 16, 1),
		ut_cmd_store(self->dev, 0, 1),
		ut_cmd_checksum(self->dev, 0, self->usr, 0, 16),
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i].flags = 1;
		EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c[i], 1)) {
			TH_LOG("op %u", c[i].op);
		}
		c[i].flags = 0x80000000u;
		EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c[i], 1));
	}
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
}

/* A handle that names no BO is refused with -ENOENT, as dst or src. */
TEST_F(job, unknown_handle)
{
	EXPECT_EQ(-ENOENT, ut_fill(self->fd, 0, 0, 4, 1));
	EXPECT_EQ(-ENOENT, ut_fill(self->fd, 777, 0, 4, 1));
	EXPECT_EQ(-ENOENT, ut_store(self->fd, 777, 0, 1));
	EXPECT_EQ(-ENOENT, ut_copy(self->fd, 777, 0, self->dev, 0, 4));
	EXPECT_EQ(-ENOENT, ut_copy(self->fd, self->dev, 0, 777, 0, 4));
	EXPECT_EQ(-ENOENT, ut_copy(self->fd, self->dev, 0, 0, 0, 4));
	EXPECT_EQ(-ENOENT, ut_checksum(self->fd, self->dev, 0, 777, 0, 4));
	EXPECT_EQ(-ENOENT, ut_checksum(self->fd, 777, 0, self->dev, 0, 4));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
}

/* A range that ends past its BO is refused; one that ends at its end runs. */
TEST_F(job, beyond_bo)
{
	size_t n = self->size;

	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, n - 4, 8, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, n, 4, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->usr, 0, n + 4, 1));
	EXPECT_EQ(-EINVAL, ut_store(self->fd, self->dev, n, 1));
	EXPECT_EQ(-EINVAL, ut_store(self->fd, self->usr, n, 1));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, n - 1, self->usr, 0, 2));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 0, self->usr, n - 1, 2));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 0, self->usr, 0, n + 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, n, self->usr, 0, 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, 0, self->usr, n, 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, 0, self->usr, 1, n));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(-1, ut_find_not(self->mem, self->size, 0xee));

	/* The very last bytes are reachable. */
	EXPECT_EQ(0, ut_fill(self->fd, self->dev, n - 4, 4, 0x01020304));
	EXPECT_EQ(0x01020304u, *(__u32 *)(self->map + n - 4));
	EXPECT_EQ(0, ut_checksum(self->fd, self->dev, n - 8, self->usr, n - 1, 1));
	EXPECT_EQ(ut_fnv1a(self->mem + n - 1, 1), *(__u64 *)(self->map + n - 8));
	EXPECT_EQ(0, ut_copy(self->fd, self->usr, n - 3, self->dev, n - 3, 3));
	EXPECT_EQ(-1, ut_find_diff(self->mem + n - 3, self->map + n - 3, 3));
}

/* An offset + size that overflows 64 bits is refused. */
TEST_F(job, offset_overflow)
{
	__u64 top = ~0ull & ~0xfffull;

	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, top, self->usr, 0,
				   0x2000));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 0, self->usr, top,
				   0x2000));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 16, self->usr, 16,
				   ~0ull - 8));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, ~0ull - 3, 8, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, 4, ~0ull - 3, 1));
	EXPECT_EQ(-EINVAL, ut_store(self->fd, self->dev, ~0ull - 3, 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, ~0ull - 7,
				       self->usr, 0, 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, 0, self->usr,
				       top, 0x2000));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
}

/* FILL, STORE_DWORD and CHECKSUM refuse misaligned offsets and sizes. */
TEST_F(job, misaligned)
{
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, 2, 8, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, 1, 4, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, 0, 6, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->dev, 0, 3, 1));
	EXPECT_EQ(-EINVAL, ut_fill(self->fd, self->usr, 4, 4097, 1));
	EXPECT_EQ(-EINVAL, ut_store(self->fd, self->dev, 2, 1));
	EXPECT_EQ(-EINVAL, ut_store(self->fd, self->usr, 4095, 1));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, 4, self->usr, 0, 8));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->dev, 1, self->usr, 0, 8));
	EXPECT_EQ(-EINVAL, ut_checksum(self->fd, self->usr, 12, self->dev, 0, 8));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(-1, ut_find_not(self->mem, self->size, 0xee));
}

/* STORE_DWORD writes 4 bytes: any other size is refused. */
TEST_F(job, store_size)
{
	static const __u64 sizes[] = { 0, 1, 2, 3, 5, 8, 16, 4096 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct drm_uptr_cmd c = ut_cmd_store(self->dev, 0, 1);

		c.size = sizes[i];
		EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1)) {
			TH_LOG("size %llu", (unsigned long long)sizes[i]);
		}
	}
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
}

/* A command of zero bytes is refused, for every op. */
TEST_F(job, zero_size)
{
	struct drm_uptr_cmd c[3];
	unsigned int i;

	c[0] = ut_cmd_copy(self->dev, 0, self->usr, 0, 16);
	c[1] = ut_cmd_fill(self->dev, 0, 16, 1);
	c[2] = ut_cmd_checksum(self->dev, 0, self->usr, 0, 16);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i].size = 0;
		EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c[i], 1)) {
			TH_LOG("op %u", c[i].op);
		}
	}
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->dev));
}

/* FILL and STORE_DWORD take a 32-bit value: high bits set are refused. */
TEST_F(job, value_above_32_bits)
{
	struct drm_uptr_cmd c;

	c = ut_cmd_fill(self->dev, 0, 16, 1);
	c.value = 1ull << 32;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_store(self->dev, 0, 1);
	c.value = 0xffffffff00000001ull;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_store(self->dev, 0, 0xffffffffu);
	EXPECT_EQ(0, ut_submit(self->fd, &c, 1));
	EXPECT_EQ(0xffffffffu, *(__u32 *)self->map);
	EXPECT_EQ(-1, ut_find_not(self->map + 4, self->size - 4, 0));
}

/* A job covering more than DRM_UPTR_PARAM_MAX_JOB_BYTES in all is refused; that much runs. */
TEST_F(job, too_many_bytes)
{
	struct drm_uptr_cmd c[65];
	__u64 each = self->max_job_bytes / 64;
	unsigned char *map = NULL;
	__u32 big;
	int i;

	ASSERT_EQ(0ull, self->max_job_bytes % (64 * self->page));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, each, &big, (void **)&map));
	for (i = 0; i < 65; i++)
		c[i] = ut_cmd_fill(big, 0, each, (__u32)i + 1);
	EXPECT_EQ(-E2BIG, ut_submit(self->fd, c, 65));
	EXPECT_EQ(-1, ut_find_not(map, each, 0));
	EXPECT_EQ(0ull, bo_jobs(self->fd, big));
	/* Exactly the limit runs: the last FILL wins. */
	EXPECT_EQ(0, ut_submit(self->fd, c, 64));
	EXPECT_EQ(-1, ut_find_not_dword(map, each, 64));
	munmap(map, each);
}

/* A member the op does not use must be zero. */
TEST_F(job, unused_member)
{
	struct drm_uptr_cmd c;

	c = ut_cmd_fill(self->dev, 0, 16, 1);
	c.src_handle = self->usr;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_fill(self->dev, 0, 16, 1);
	c.src_offset = 4;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_store(self->dev, 0, 1);
	c.src_handle = self->usr;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_store(self->dev, 0, 1);
	c.src_offset = 8;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_copy(self->dev, 0, self->usr, 0, 16);
	c.value = 1;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	c = ut_cmd_checksum(self->dev, 0, self->usr, 0, 16);
	c.value = 1ull << 40;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, &c, 1));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->usr));
}

/* COPY within one BO must not overlap; adjacent ranges are fine. */
TEST_F(job, copy_overlap)
{
	size_t p = self->page;

	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, p, self->dev, 0, 2 * p));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 0, self->dev, p, 2 * p));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->dev, 0, self->dev, 0, 4));
	/* One byte of overlap is enough. */
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->usr, 99, self->usr, 0, 100));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, self->usr, 0, self->usr, 99, 100));
	EXPECT_EQ(-1, ut_find_not(self->mem, self->size, 0xee));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->usr));

	/* Adjacent, in both directions. */
	ut_pattern(self->mem, 100, 3);
	ASSERT_EQ(0, ut_copy(self->fd, self->usr, 100, self->usr, 0, 100));
	EXPECT_EQ(-1, ut_find_diff(self->mem, self->mem + 100, 100));
	ut_pattern(self->mem + 200, 100, 4);
	ASSERT_EQ(0, ut_copy(self->fd, self->usr, 100, self->usr, 200, 100));
	EXPECT_EQ(-1, ut_find_diff(self->mem + 100, self->mem + 200, 100));
	EXPECT_EQ(-1, ut_find_not(self->mem + 300, self->size - 300, 0xee));
}

/*
 * COPY between two userptrs, created with @fa and @fb, over the same user
 * memory must not overlap either; disjoint ranges of them are fine.
 */
static void copy_overlap_userptrs(struct __test_metadata *_metadata,
				  FIXTURE_DATA(job) *self, __u32 fa, __u32 fb)
{
	size_t p = self->page;
	unsigned char *mem = ut_alloc(4 * p), *ref = malloc(4 * p);
	__u32 a, b;

	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, ref);
	/* a covers pages 0-2 of mem, b pages 1-3. */
	ut_pattern(mem, 4 * p, 11);
	memcpy(ref, mem, 4 * p);
	ASSERT_EQ(0, ut_userptr(self->fd, mem, 3 * p, fa, &a));
	ASSERT_EQ(0, ut_userptr(self->fd, mem + p, 3 * p, fb, &b));

	/* Bytes p to 2p of mem, read through a and written through b. */
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, b, 0, a, 0, 2 * p));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, a, 0, b, 0, 2 * p));
	/* One byte of overlap is enough: mem + p + 99 in both. */
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, a, p, b, 99, 100));
	EXPECT_EQ(-EINVAL, ut_copy(self->fd, b, 99, a, p, 100));
	EXPECT_EQ(-1, ut_find_diff(mem, ref, 4 * p));
	EXPECT_EQ(0ull, bo_jobs(self->fd, a));
	EXPECT_EQ(0ull, bo_jobs(self->fd, b));

	/* Adjacent: mem [p, p + 100) from mem [p + 100, p + 200). */
	ASSERT_EQ(0, ut_copy(self->fd, a, p, b, 100, 100));
	memcpy(ref + p, ref + p + 100, 100);
	EXPECT_EQ(-1, ut_find_diff(mem, ref, 4 * p));
	EXPECT_EQ(1ull, bo_jobs(self->fd, a));
	EXPECT_EQ(1ull, bo_jobs(self->fd, b));
	ut_gem_close(self->fd, a);
	ut_gem_close(self->fd, b);
	free(ref);
	munmap(mem, 4 * p);
}

TEST_F(job, copy_overlap_coherent)
{
	copy_overlap_userptrs(_metadata, self, 0, 0);
}

TEST_F(job, copy_overlap_pinned)
{
	copy_overlap_userptrs(_metadata, self, PINNED, PINNED);
}

TEST_F(job, copy_overlap_pinned_coherent)
{
	copy_overlap_userptrs(_metadata, self, PINNED, 0);
}

/* An unreadable commands array is -EFAULT, and nothing runs. */
TEST_F(job, commands_fault)
{
	struct drm_uptr_submit s = { .count = 1 };
	struct drm_uptr_cmd *c;
	char *pages;

	s.commands = 0;
	EXPECT_EQ(-EFAULT, submit_raw(self->fd, &s));
	s.commands = KERNEL_ADDR;
	EXPECT_EQ(-EFAULT, submit_raw(self->fd, &s));

	/* A valid first command, the second one on an unmapped page. */
	pages = ut_alloc(2 * self->page);
	ASSERT_NE(NULL, pages);
	ASSERT_EQ(0, munmap(pages + self->page, self->page));
	c = (struct drm_uptr_cmd *)(pages + self->page) - 1;
	*c = ut_cmd_fill(self->dev, 0, self->size, 0xabcdef01);
	s.commands = (uintptr_t)c;
	s.count = 2;
	EXPECT_EQ(-EFAULT, submit_raw(self->fd, &s));
	s.commands = (uintptr_t)(pages + self->page);
	s.count = 1;
	EXPECT_EQ(-EFAULT, submit_raw(self->fd, &s));
	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->dev));

	/* The same command alone runs. */
	s.commands = (uintptr_t)c;
	EXPECT_EQ(0, submit_raw(self->fd, &s));
	EXPECT_EQ(-1, ut_find_not_dword(self->map, self->size, 0xabcdef01));
}

/* No command may write to a READ_ONLY userptr. */
TEST_F(job, readonly_write)
{
	unsigned char *copy = malloc(self->size);

	ASSERT_NE(NULL, copy);
	memcpy(copy, self->ro_mem, self->size);
	EXPECT_EQ(-EACCES, ut_copy(self->fd, self->ro, 0, self->dev, 0,
				   self->size));
	EXPECT_EQ(-EACCES, ut_copy(self->fd, self->ro, 4096, self->usr, 0, 1));
	EXPECT_EQ(-EACCES, ut_fill(self->fd, self->ro, 0, self->size, 1));
	EXPECT_EQ(-EACCES, ut_store(self->fd, self->ro, 0, 1));
	EXPECT_EQ(-EACCES, ut_checksum(self->fd, self->ro, 0, self->dev, 0, 8));
	/* Not even onto itself. */
	EXPECT_EQ(-EACCES, ut_checksum(self->fd, self->ro, 0, self->ro, 8, 8));
	EXPECT_EQ(-1, ut_find_diff(copy, self->ro_mem, self->size));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->ro));
	free(copy);
}

/* A READ_ONLY userptr is read by COPY and CHECKSUM. */
TEST_F(job, readonly_read)
{
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, self->ro, 0, self->size));
	EXPECT_EQ(-1, ut_find_diff(self->map, self->ro_mem, self->size));
	ASSERT_EQ(0, ut_checksum(self->fd, self->usr, 64, self->ro, 3, 1000));
	EXPECT_EQ(ut_fnv1a(self->ro_mem + 3, 1000), *(__u64 *)(self->mem + 64));
	EXPECT_EQ(2ull, bo_jobs(self->fd, self->ro));
}

/* A refused job has no effect: its valid commands do not run either. */
TEST_F(job, refused_job_no_effect)
{
	struct drm_uptr_cmd c[3];

	c[0] = ut_cmd_fill(self->dev, 0, self->size, 0x11111111);
	c[1] = ut_cmd_fill(self->usr, 0, self->size, 0x22222222);
	c[2] = ut_cmd_store(self->dev, 0, 1);
	c[2].op = 99;
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, c, 3));
	c[2] = ut_cmd_fill(self->dev, 2, 4, 1);
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, c, 3));
	c[2] = ut_cmd_fill(self->ro, 0, 4, 1);
	EXPECT_EQ(-EACCES, ut_submit(self->fd, c, 3));
	c[2] = ut_cmd_fill(4242, 0, 4, 1);
	EXPECT_EQ(-ENOENT, ut_submit(self->fd, c, 3));
	c[2] = ut_cmd_copy(self->usr, 0, self->usr, 2, 4);
	EXPECT_EQ(-EINVAL, ut_submit(self->fd, c, 3));

	EXPECT_EQ(-1, ut_find_not(self->map, self->size, 0));
	EXPECT_EQ(-1, ut_find_not(self->mem, self->size, 0xee));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->dev));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->usr));
	EXPECT_EQ(0ull, bo_jobs(self->fd, self->ro));
}

/* Userptr -> device BO -> another userptr, on heap and mmap memory. */
TEST_F(job, pinned_round_trip)
{
	size_t size = UT_MIB;
	unsigned char *src = ut_alloc(size);
	unsigned char *map = NULL;
	void *dst = NULL;
	__u32 a, b, d;

	ASSERT_NE(NULL, src);
	ASSERT_EQ(0, posix_memalign(&dst, self->page, size));
	ut_pattern(src, size, 1);
	memset(dst, 0, size);
	ASSERT_EQ(0, ut_userptr(self->fd, src, size, PINNED, &a));
	ASSERT_EQ(0, ut_userptr(self->fd, dst, size, PINNED, &b));
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &d));

	ASSERT_EQ(0, ut_copy(self->fd, d, 0, a, 0, size));
	ASSERT_EQ(0, ut_copy(self->fd, b, 0, d, 0, size));
	EXPECT_EQ(-1, ut_find_diff(src, dst, size));

	ASSERT_EQ(0, ut_bo_mmap(self->fd, d, size, (void **)&map));
	EXPECT_EQ(-1, ut_find_diff(src, map, size));

	EXPECT_EQ(1ull, bo_jobs(self->fd, a));
	EXPECT_EQ(2ull, bo_jobs(self->fd, d));
	EXPECT_EQ(1ull, bo_jobs(self->fd, b));

	/* And back: CPU writes through the BO mapping reach the userptr. */
	ut_pattern(map, size, 2);
	ASSERT_EQ(0, ut_copy(self->fd, a, 0, d, 0, size));
	EXPECT_EQ(-1, ut_find_diff(src, map, size));
	free(dst);
}

/* STORE_DWORD reaches the first and the last dword of a multi-page userptr. */
TEST_F(job, store_dword_first_last)
{
	size_t n = self->size;

	ASSERT_EQ(0, ut_store(self->fd, self->usr, 0, 0xcafef00d));
	ASSERT_EQ(0, ut_store(self->fd, self->usr, n - 4, 0x8badf00d));
	ASSERT_EQ(0, ut_store(self->fd, self->usr, self->page - 4, 0x01234567));
	ASSERT_EQ(0, ut_store(self->fd, self->usr, self->page, 0x89abcdef));
	EXPECT_EQ(0xcafef00du, *(__u32 *)self->mem);
	EXPECT_EQ(0x8badf00du, *(__u32 *)(self->mem + n - 4));
	EXPECT_EQ(0x01234567u, *(__u32 *)(self->mem + self->page - 4));
	EXPECT_EQ(0x89abcdefu, *(__u32 *)(self->mem + self->page));
	EXPECT_EQ(-1, ut_find_not(self->mem + 4, self->page - 8, 0xee));
	EXPECT_EQ(-1, ut_find_not(self->mem + self->page + 4,
				  n - self->page - 8, 0xee));

	/* Only the low 32 bits of value are stored. */
	ASSERT_EQ(0, ut_store(self->fd, self->dev, 8, 0x55aa55aa));
	EXPECT_EQ(0x55aa55aau, *(__u32 *)(self->map + 8));
	EXPECT_EQ(0u, *(__u32 *)(self->map + 4));
	EXPECT_EQ(0u, *(__u32 *)(self->map + 12));
	EXPECT_EQ(4ull, bo_jobs(self->fd, self->usr));
}

/* FILL writes its 32-bit pattern over exactly its range, across pages. */
TEST_F(job, fill)
{
	size_t off = self->page - 12, len = 2 * self->page + 24;

	ASSERT_EQ(0, ut_fill(self->fd, self->usr, off, len, 0xdeadbeef));
	EXPECT_EQ(-1, ut_find_not(self->mem, off, 0xee));
	EXPECT_EQ(-1, ut_find_not_dword(self->mem + off, len, 0xdeadbeef));
	EXPECT_EQ(-1, ut_find_not(self->mem + off + len,
				  self->size - off - len, 0xee));

	ASSERT_EQ(0, ut_fill(self->fd, self->dev, 4, self->size - 8,
			     0x0badcafe));
	EXPECT_EQ(0u, *(__u32 *)self->map);
	EXPECT_EQ(-1, ut_find_not_dword(self->map + 4, self->size - 8,
					0x0badcafe));
	EXPECT_EQ(0u, *(__u32 *)(self->map + self->size - 4));

	/* A single dword. */
	ASSERT_EQ(0, ut_fill(self->fd, self->dev, 0, 4, 0x7));
	EXPECT_EQ(7u, *(__u32 *)self->map);
}

/* CHECKSUM is 64-bit FNV-1a of the src bytes, at any offset and odd sizes. */
TEST_F(job, checksum)
{
	static const __u64 sizes[] = { 1, 3, 7, 8, 255, 4095, 4096, 4097,
				       12345 };
	static const __u64 src_offsets[] = { 0, 1, 5, 4095, 4096, 8191 };
	size_t n = self->size;
	unsigned char *ref = malloc(n);
	unsigned int i, j, k = 1;

	ut_pattern(self->mem, n, 11);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, self->usr, 0, n));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(src_offsets); j++, k++) {
			__u64 so = src_offsets[j], sz = sizes[i];
			__u64 want = ut_fnv1a(self->mem + so, sz);
			__u64 dst_off = 8 * k;
			__u64 got;

			/* Into a userptr, read from the device BO. */
			ASSERT_EQ(0, ut_checksum(self->fd, self->usr,
						 n - dst_off, self->dev, so,
						 sz));
			memcpy(&got, self->mem + n - dst_off, 8);
			EXPECT_EQ(want, got) {
				TH_LOG("userptr dst: src offset %llu size %llu",
				       (unsigned long long)so,
				       (unsigned long long)sz);
			}
			/* Into the device BO, read from the userptr. */
			ASSERT_EQ(0, ut_checksum(self->fd, self->dev,
						 n - dst_off, self->usr, so,
						 sz));
			memcpy(&got, self->map + n - dst_off, 8);
			EXPECT_EQ(want, got) {
				TH_LOG("device dst: src offset %llu size %llu",
				       (unsigned long long)so,
				       (unsigned long long)sz);
			}
		}
	}
	/* Each sum took 8 bytes at the end of the BOs; the rest is intact. */
	ASSERT_NE(NULL, ref);
	ut_pattern(ref, n, 11);
	EXPECT_EQ(-1, ut_find_diff(ref, self->mem, n - 8 * (k - 1)));
	EXPECT_EQ(-1, ut_find_diff(ref, self->map, n - 8 * (k - 1)));
	free(ref);
}

/* COPY of odd sizes at odd offsets across page boundaries moves exactly those bytes. */
TEST_F(job, copy_unaligned)
{
	static const __u64 offsets[] = { 0, 1, 3, 4095, 4096, 4097, 8190 };
	static const __u64 sizes[] = { 1, 2, 3, 4095, 4096, 4097, 8193 };
	size_t n = self->size;
	unsigned char *src = ut_alloc(n);
	unsigned int i, j, k;
	__u32 s;

	ASSERT_NE(NULL, src);
	ut_pattern(src, n, 5);
	ASSERT_EQ(0, ut_userptr(self->fd, src, n, PINNED | RO, &s));

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		for (j = 0; j < ARRAY_SIZE(offsets); j++) {
			for (k = 0; k < ARRAY_SIZE(sizes); k++) {
				__u64 so = offsets[i], d = offsets[j];
				__u64 sz = sizes[k];
				__u32 dst = (i + j + k) & 1 ? self->usr :
							      self->dev;
				unsigned char *dm = dst == self->usr ?
						    self->mem : self->map;

				memset(dm, 0xee, n);
				ASSERT_EQ(0, ut_copy(self->fd, dst, d, s, so,
						     sz));
				ASSERT_EQ(-1, ut_find_not(dm, d, 0xee)) {
					TH_LOG("%s: bytes before dst %llu clobbered (src %llu size %llu)",
					       dst == self->usr ? "userptr" : "device",
					       (unsigned long long)d,
					       (unsigned long long)so,
					       (unsigned long long)sz);
				}
				ASSERT_EQ(-1, ut_find_diff(dm + d, src + so,
							   sz)) {
					TH_LOG("%s: wrong data at dst %llu src %llu size %llu",
					       dst == self->usr ? "userptr" : "device",
					       (unsigned long long)d,
					       (unsigned long long)so,
					       (unsigned long long)sz);
				}
				ASSERT_EQ(-1, ut_find_not(dm + d + sz,
							  n - d - sz, 0xee)) {
					TH_LOG("%s: bytes after dst %llu + %llu clobbered (src %llu)",
					       dst == self->usr ? "userptr" : "device",
					       (unsigned long long)d,
					       (unsigned long long)sz,
					       (unsigned long long)so);
				}
			}
		}
	}
}

/* Commands of one job run in order: later ones see what earlier ones wrote. */
TEST_F(job, command_order)
{
	struct drm_uptr_cmd c[4];

	c[0] = ut_cmd_store(self->dev, 0, 0x12345678);
	c[1] = ut_cmd_copy(self->usr, 100, self->dev, 0, 4);
	c[2] = ut_cmd_fill(self->dev, 0, 4, 0x9abcdef0);
	c[3] = ut_cmd_checksum(self->dev, 8, self->usr, 100, 4);
	ASSERT_EQ(0, ut_submit(self->fd, c, 4));
	EXPECT_EQ(0x12345678u, *(__u32 *)(self->mem + 100));
	EXPECT_EQ(0x9abcdef0u, *(__u32 *)self->map);
	EXPECT_EQ(ut_fnv1a(self->mem + 100, 4), *(__u64 *)(self->map + 8));
	/* One job: each BO counts it once. */
	EXPECT_EQ(1ull, bo_jobs(self->fd, self->dev));
	EXPECT_EQ(1ull, bo_jobs(self->fd, self->usr));
}

/* A CPU model of the engine, to check a long random job. */
struct model_bo {
	__u32 handle;
	unsigned char *cpu;	/* what the CPU sees */
	unsigned char *ref;	/* what it should see */
	size_t size;
	bool writable;
};

static __u32 rnd(__u32 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static bool overlap(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Builds a random valid command and applies it to the model. */
static struct drm_uptr_cmd model_cmd(struct model_bo *bos, unsigned int n,
				     __u32 *st)
{
	struct model_bo *dst, *src;
	struct drm_uptr_cmd c;
	__u64 so, d, sz, h;

	do {
		dst = &bos[rnd(st) % n];
	} while (!dst->writable);
	src = &bos[rnd(st) % n];

	switch (rnd(st) % 4) {
	case 0:
		do {
			sz = 1 + rnd(st) % 3000;
			so = rnd(st) % (src->size - sz + 1);
			d = rnd(st) % (dst->size - sz + 1);
		} while (src == dst && overlap(so, sz, d, sz));
		memcpy(dst->ref + d, src->ref + so, sz);
		c = ut_cmd_copy(dst->handle, d, src->handle, so, sz);
		break;
	case 1:
		sz = 4 * (1 + rnd(st) % 700);
		d = 4 * (rnd(st) % ((dst->size - sz) / 4 + 1));
		h = rnd(st);
		for (so = 0; so < sz; so += 4)
			memcpy(dst->ref + d + so, &(__u32){ (__u32)h }, 4);
		c = ut_cmd_fill(dst->handle, d, sz, (__u32)h);
		break;
	case 2:
		d = 4 * (rnd(st) % (dst->size / 4));
		h = rnd(st);
		memcpy(dst->ref + d, &(__u32){ (__u32)h }, 4);
		c = ut_cmd_store(dst->handle, d, (__u32)h);
		break;
	default:
		do {
			sz = 1 + rnd(st) % 5000;
			so = rnd(st) % (src->size - sz + 1);
			d = 8 * (rnd(st) % (dst->size / 8));
		} while (src == dst && overlap(so, sz, d, 8));
		h = ut_fnv1a(src->ref + so, sz);
		memcpy(dst->ref + d, &h, 8);
		c = ut_cmd_checksum(dst->handle, d, src->handle, so, sz);
		break;
	}
	return c;
}

/* As many random commands as a job may carry over every kind of BO, checked against a CPU model. */
TEST_F(job, mixed_max_job)
{
	unsigned int ncmds = self->max_commands;
	struct drm_uptr_cmd *cmds = calloc(ncmds, sizeof(*cmds));
	size_t n = self->size;
	struct model_bo bos[4];
	void *heap = NULL;
	unsigned int i;
	__u32 st = 0x1234567;
	__u32 h;

	ASSERT_EQ(0, posix_memalign(&heap, self->page, n));
	ut_pattern(heap, n, 21);
	ASSERT_EQ(0, ut_userptr(self->fd, heap, n, PINNED, &h));
	ut_pattern(self->mem, n, 22);
	ut_pattern(self->map, n, 23);

	bos[0] = (struct model_bo){ self->usr, self->mem, NULL, n, true };
	bos[1] = (struct model_bo){ h, heap, NULL, n, true };
	bos[2] = (struct model_bo){ self->dev, self->map, NULL, n, true };
	bos[3] = (struct model_bo){ self->ro, self->ro_mem, NULL, n, false };
	for (i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i].ref = malloc(n);
		ASSERT_NE(NULL, bos[i].ref);
		memcpy(bos[i].ref, bos[i].cpu, n);
	}
	ASSERT_NE(NULL, cmds);
	for (i = 0; i < ncmds; i++)
		cmds[i] = model_cmd(bos, ARRAY_SIZE(bos), &st);

	ASSERT_EQ(0, ut_submit(self->fd, cmds, ncmds));
	for (i = 0; i < ARRAY_SIZE(bos); i++) {
		long at = ut_find_diff(bos[i].ref, bos[i].cpu, n);

		EXPECT_EQ(-1, at) {
			TH_LOG("BO %u (handle %u) differs from the model at byte %ld",
			       i, bos[i].handle, at);
		}
		free(bos[i].ref);
	}
	free(cmds);
	free(heap);
}

TEST_HARNESS_MAIN
