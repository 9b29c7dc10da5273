// SPDX-License-Identifier: GPL-2.0
/*
 * Description: creating userptr and device BOs: every errno that
 * DRM_IOCTL_UPTR_USERPTR, BO_CREATE, BO_MMAP_OFFSET, BO_INFO and BO_WAIT
 * document, what BO_INFO reports for a new BO, RLIMIT_MEMLOCK accounting,
 * and handles that are gone.
 */
#include "uptr_harness.h"

#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define PINNED		DRM_UPTR_USERPTR_PINNED
#define RO		DRM_UPTR_USERPTR_READ_ONLY
#define PROBE		DRM_UPTR_USERPTR_PROBE

/* A kernel address: never inside the user address space. */
#define KERNEL_ADDR	0xffff800000000000ull

static int userptr_raw(int fd, __u64 ext, __u64 ptr, __u64 size, __u32 flags)
{
	struct drm_uptr_userptr u = {
		.extensions = ext,
		.user_ptr = ptr,
		.user_size = size,
		.flags = flags,
	};
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_USERPTR, &u);

	/* Do not leak a BO that should not exist. */
	if (!ret)
		ut_gem_close(fd, u.handle);
	return ret;
}

/* Removes @cap from the effective, permitted and inheritable sets. */
static int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap) ? -EPERM : 0;
}

/* Start of the [vvar] mapping (VM_IO | VM_PFNMAP), or NULL. */
static void *find_vvar(void)
{
	char line[512];
	void *addr = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vvar]")) {
			addr = (void *)strtoul(line, NULL, 16);
			break;
		}
	}
	fclose(f);
	return addr;
}

/* Unknown flag bits are refused. */
TEST_F(uptr, userptr_unknown_flag)
{
	void *p = ut_alloc(self->page);
	__u32 bit;

	ASSERT_NE(NULL, p);
	for (bit = 4; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p,
					       self->page, PINNED | (1u << bit))) {
			TH_LOG("flag bit %u", bit);
		}
	}
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p, self->page,
				       0xffffffffu));
}

/*
 * An extension chain is refused: -EFAULT when its head cannot be read,
 * -EINVAL for any extension name (none is defined), chained or not.
 */
TEST_F(uptr, userptr_extensions)
{
	struct drm_uptr_user_extension ext[2] = {
		{ .name = 1 },
		{ .name = 0 },
	};
	void *p = ut_alloc(self->page);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 1, (uintptr_t)p, self->page,
				       PINNED));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, KERNEL_ADDR, (uintptr_t)p,
				       self->page, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, (uintptr_t)&ext[0],
				       (uintptr_t)p, self->page, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, (uintptr_t)&ext[1],
				       (uintptr_t)p, self->page, 0));
	ext[1].next = (uintptr_t)&ext[0];
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, (uintptr_t)&ext[1],
				       (uintptr_t)p, self->page, 0));
}

/* A zero-sized range is refused. */
TEST_F(uptr, userptr_size_zero)
{
	void *p = ut_alloc(self->page);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p, 0, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p, 0,
				       PINNED | RO));
}

/* A start address that is not page aligned is refused. */
TEST_F(uptr, userptr_ptr_unaligned)
{
	char *p = ut_alloc(2 * self->page);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p + 1,
				       self->page, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0,
				       (uintptr_t)p + self->page / 2,
				       self->page, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0,
				       (uintptr_t)p + self->page - 8,
				       self->page, PINNED));
}

/* A size that is not a multiple of the page size is refused. */
TEST_F(uptr, userptr_size_unaligned)
{
	char *p = ut_alloc(2 * self->page);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p, 1, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p,
				       self->page + 1, PINNED));
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p,
				       2 * self->page - 1, PINNED));
}

/* A range whose end overflows 64 bits is refused with -E2BIG. */
TEST_F(uptr, userptr_overflow)
{
	__u64 top = ~0ull & ~((__u64)self->page - 1);	/* last page */

	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, top, 2 * self->page,
				      PINNED));
	/* top + page is exactly 2^64: it does not fit either. */
	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, top, self->page, PINNED));
}

/* A range larger than DRM_UPTR_PARAM_MAX_USERPTR_SIZE is refused. */
TEST_F(uptr, userptr_too_big)
{
	void *p = ut_alloc(self->page);
	__u64 big = (self->max_userptr & ~((__u64)self->page - 1)) +
		    self->page;

	ASSERT_NE(NULL, p);
	ASSERT_LT(self->max_userptr, big);
	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, (uintptr_t)p, big, PINNED));
	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, (uintptr_t)p, big,
				      PINNED | RO | PROBE));
	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, (uintptr_t)p, big, 0));
}

/* -EINVAL is checked before -E2BIG, -E2BIG before -EFAULT. */
TEST_F(uptr, userptr_errno_order)
{
	__u64 big = (self->max_userptr & ~((__u64)self->page - 1)) +
		    self->page;
	void *p = ut_alloc(self->page);

	ASSERT_NE(NULL, p);
	/* Unaligned and too big. */
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, (uintptr_t)p + 1, big,
				       PINNED));
	/* Unknown flag and overflowing. */
	EXPECT_EQ(-EINVAL, userptr_raw(self->fd, 0, ~0ull & ~0xfffull,
				       2 * self->page, PINNED | (1u << 7)));
	/* Too big and outside the user address space. */
	EXPECT_EQ(-E2BIG, userptr_raw(self->fd, 0, KERNEL_ADDR, big, PINNED));
}

/* A range in the kernel half of the address space is refused, whatever the kind. */
TEST_F(uptr, userptr_kernel_range)
{
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, KERNEL_ADDR, self->page,
				       PINNED));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, KERNEL_ADDR, self->page,
				       PINNED | RO | PROBE));
	/* The address check comes before the kind check. */
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, KERNEL_ADDR, self->page,
				       0));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, 0xfffffffffffe0000ull,
				       self->page, PINNED));
}

/* Without PINNED a userptr is coherent: created without pinning anything. */
TEST_F(uptr, userptr_coherent_default)
{
	char *p = ut_alloc(3 * self->page);
	struct drm_uptr_bo_info info;
	__u32 h[3];
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 1, 3 * self->page);
	EXPECT_EQ(0, ut_userptr(self->fd, p, 3 * self->page, 0, &h[0]));
	EXPECT_EQ(0, ut_userptr(self->fd, p, 3 * self->page, RO, &h[1]));
	EXPECT_EQ(0, ut_userptr(self->fd, p, 3 * self->page, PROBE, &h[2]));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ut_bo_info(self->fd, h[i], &info));
		EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, info.kind);
		EXPECT_EQ(0ull, info.pages_pinned);
		EXPECT_EQ(0ull, info.pages_resident);
		EXPECT_EQ(0ull, info.pages_faulted);
	}
	/* PROBE looks at the range for a coherent userptr too. */
	ASSERT_EQ(0, munmap(p + self->page, self->page));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       3 * self->page, PROBE));
	EXPECT_EQ(0, userptr_raw(self->fd, 0, (uintptr_t)p, 3 * self->page, 0));
}

/* PROBE refuses a range with an unmapped page in the middle. */
TEST_F(uptr, userptr_probe_hole)
{
	char *p = ut_alloc(3 * self->page);
	long before = ut_pinned_kb();

	ASSERT_NE(NULL, p);
	memset(p, 1, 3 * self->page);
	ASSERT_EQ(0, munmap(p + self->page, self->page));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       3 * self->page, PINNED | PROBE));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       3 * self->page, PINNED | PROBE | RO));
	/* Each mapped piece alone is fine. */
	EXPECT_EQ(0, userptr_raw(self->fd, 0, (uintptr_t)p, self->page,
				 PINNED | PROBE));
	EXPECT_EQ(0, userptr_raw(self->fd, 0, (uintptr_t)p + 2 * self->page,
				 self->page, PINNED | PROBE));
	/* Nothing stays charged after the failures. */
	EXPECT_EQ(before, ut_pinned_kb());
}

/* PROBE refuses a mapping of a uptr device BO. */
TEST_F(uptr, userptr_probe_bo_mapping)
{
	void *map = NULL;
	__u32 bo;

	ASSERT_EQ(0, ut_bo_create_map(self->fd, 2 * self->page, &bo, &map));
	memset(map, 0x5a, 2 * self->page);
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)map,
				       2 * self->page, PINNED | PROBE));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)map,
				       self->page, PINNED | PROBE | RO));
}

/* PROBE checks every page: a BO mapping in the middle of anonymous memory. */
TEST_F(uptr, userptr_probe_bo_mapping_middle)
{
	char *p = ut_alloc(3 * self->page);
	__u64 offset;
	void *m;
	__u32 bo;

	ASSERT_NE(NULL, p);
	memset(p, 1, 3 * self->page);
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &bo));
	ASSERT_EQ(0, ut_mmap_offset(self->fd, bo, &offset));
	m = mmap(p + self->page, self->page, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, self->fd, offset);
	ASSERT_EQ((void *)(p + self->page), m);
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       3 * self->page, PINNED | PROBE));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p + self->page,
				       2 * self->page, PINNED | PROBE));
	EXPECT_EQ(0, userptr_raw(self->fd, 0, (uintptr_t)p, self->page,
				 PINNED | PROBE));
}

/* PROBE refuses a VM_IO | VM_PFNMAP mapping (the vDSO's [vvar]). */
TEST_F(uptr, userptr_probe_pfnmap)
{
	void *vvar = find_vvar();

	ASSERT_NE(NULL, vvar) {
		TH_LOG("no [vvar] mapping in /proc/self/maps");
	}
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)vvar,
				       self->page, PINNED | PROBE | RO));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)vvar,
				       self->page, PINNED | RO));
}

/* PINNED refuses a range that is not mapped at all, or only partly. */
TEST_F(uptr, userptr_pinned_unmapped)
{
	char *p = ut_alloc(4 * self->page);
	long before = ut_pinned_kb();

	ASSERT_NE(NULL, p);
	memset(p, 1, 4 * self->page);
	ASSERT_EQ(0, munmap(p + 2 * self->page, 2 * self->page));
	/* The last pages are gone. */
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       4 * self->page, PINNED));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       3 * self->page, PINNED | RO));
	/* Entirely unmapped. */
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0,
				       (uintptr_t)p + 2 * self->page,
				       2 * self->page, PINNED));
	ASSERT_EQ(0, munmap(p, 2 * self->page));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p,
				       self->page, PINNED));
	EXPECT_EQ(before, ut_pinned_kb());
}

/* A read-write pinned userptr needs PROT_WRITE; a read-only one does not. */
TEST_F(uptr, userptr_pinned_readonly_mapping)
{
	size_t size = 4 * self->page;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u32 h;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x33, size);
	ASSERT_EQ(0, mprotect(p, size, PROT_READ));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				       PINNED));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				       PINNED | PROBE));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED | RO, &h));
	ut_check_pinned_info(_metadata, self->fd, h, p, size, PINNED | RO,
			     self->page);
	EXPECT_EQ(0, ut_gem_close(self->fd, h));
}

/* Only one read-only page in a writable range is enough to refuse it. */
TEST_F(uptr, userptr_pinned_partly_readonly)
{
	size_t size = 4 * self->page;
	char *p = ut_alloc(size);
	__u32 h;

	ASSERT_NE(NULL, p);
	memset(p, 0x44, size);
	ASSERT_EQ(0, mprotect(p + 3 * self->page, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				       PINNED));
	ASSERT_EQ(0, ut_userptr(self->fd, p, 3 * self->page, PINNED, &h));
	EXPECT_EQ(0, ut_gem_close(self->fd, h));
	EXPECT_EQ(0, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				 PINNED | RO));
}

/* A PROT_NONE page cannot be pinned, not even read-only. */
TEST_F(uptr, userptr_pinned_prot_none)
{
	size_t size = 2 * self->page;
	char *p = ut_alloc(size);

	ASSERT_NE(NULL, p);
	memset(p, 0x55, size);
	ASSERT_EQ(0, mprotect(p + self->page, self->page, PROT_NONE));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				       PINNED | RO));
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, size,
				       PINNED | RO | PROBE));
}

/* Pinning beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK fails; destroying returns the charge. */
TEST_F(uptr, userptr_memlock_limit)
{
	struct rlimit rl = { .rlim_cur = 64 * 1024, .rlim_max = 64 * 1024 };
	size_t big = UT_MIB;
	char *p = ut_alloc(big);
	long base;
	__u32 a, b;
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 0x66, big);
	/*
	 * The harness runs every test in a forked child of its own: the
	 * capability and the limit die with it.
	 */
	ASSERT_EQ(0, drop_capability(CAP_IPC_LOCK));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	base = ut_pinned_kb();

	EXPECT_EQ(-ENOMEM, userptr_raw(self->fd, 0, (uintptr_t)p, big,
				       PINNED));
	EXPECT_EQ(-ENOMEM, userptr_raw(self->fd, 0, (uintptr_t)p, big,
				       PINNED | RO));
	EXPECT_EQ(base, ut_pinned_kb());

	/* 40 KiB fits, 80 KiB does not. */
	ASSERT_EQ(0, ut_userptr(self->fd, p, 40 * UT_KIB, PINNED, &a));
	EXPECT_EQ(base + 40, ut_pinned_kb()) {
		TH_LOG("the pin is not accounted in VmPin or VmLck");
	}
	EXPECT_EQ(-ENOMEM, userptr_raw(self->fd, 0,
				       (uintptr_t)p + 512 * UT_KIB,
				       40 * UT_KIB, PINNED));
	EXPECT_EQ(base + 40, ut_pinned_kb());

	/* Destroying returns the charge: create and destroy again and again. */
	ASSERT_EQ(0, ut_gem_close(self->fd, a));
	EXPECT_EQ(base, ut_pinned_kb());
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, ut_userptr(self->fd, p + 512 * UT_KIB,
					40 * UT_KIB, PINNED, &b)) {
			TH_LOG("round %d: the charge of a destroyed userptr was not returned", i);
		}
		ASSERT_EQ(0, ut_gem_close(self->fd, b));
	}
	/* 32 KiB twice in a row. */
	ASSERT_EQ(0, ut_userptr(self->fd, p, 32 * UT_KIB, PINNED, &a));
	ASSERT_EQ(0, ut_gem_close(self->fd, a));
	ASSERT_EQ(0, ut_userptr(self->fd, p, 32 * UT_KIB, PINNED, &a));
	ASSERT_EQ(0, ut_gem_close(self->fd, a));
	EXPECT_EQ(base, ut_pinned_kb());
}

/*
 * In a child running as @uid (no capabilities, RLIMIT_MEMLOCK of the
 * parent), pins @len bytes at @p on the shared @fd and exits; the handle
 * stays with the fd, and is stored in *@handle, which must be shared
 * memory.  Return: 0 or the negative errno of the pin, or -EPROTO when
 * the child did not get that far.
 */
static int pin_as_user(int fd, void *p, size_t len, uid_t uid,
		       volatile __u32 *handle)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (!pid) {
		__u32 h;
		int ret;

		if (setgid(uid) || setuid(uid))
			_exit(255);
		ret = ut_userptr(fd, p, len, PINNED, &h);
		if (!ret)
			*handle = h;
		_exit(ret < 0 ? (-ret & 0x7f) : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -EPROTO;
	return -WEXITSTATUS(status);
}

/*
 * RLIMIT_MEMLOCK bounds what one user pins, not what one process pins:
 * 200 children of one user, each pinning 40 KiB of a 64 KiB limit and
 * leaving the BO with the shared fd, get one pin through between them;
 * the charge stays with the user until the BO is freed, and another
 * user has a limit of its own.
 */
TEST_F_TIMEOUT(uptr, userptr_memlock_per_user, 300)
{
	struct rlimit rl = { .rlim_cur = 64 * 1024, .rlim_max = 64 * 1024 };
	const uid_t user = 61000, other = 61001;
	size_t len = 40 * UT_KIB;
	char *p = ut_alloc(len);
	volatile __u32 *h = ut_alloc_shared(self->page);
	int i, ok = 0, enomem = 0, ret;
	__u32 first = 0;
	double end;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, h);
	memset(p, 0x5a, len);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	end = ut_now() + 120 * ut_time_scale();
	for (i = 0; i < 200 && ut_now() < end; i++) {
		ret = pin_as_user(self->fd, p, len, user, h);
		if (!ret && !ok++)
			first = *h;
		else if (ret == -ENOMEM)
			enomem++;
		else
			ASSERT_EQ(0, ret) {
				TH_LOG("child %d: %s", i, strerror(-ret));
			}
	}
	ASSERT_LE(20, i) {
		TH_LOG("only %d children in the time allowed", i);
	}
	EXPECT_EQ(1, ok) {
		TH_LOG("%d of %d children of one user pinned 40 KiB each under a 64 KiB limit",
		       ok, i);
	}
	EXPECT_EQ(i - 1, enomem);

	/* Another user has a limit of its own. */
	EXPECT_EQ(0, pin_as_user(self->fd, p, len, other, h));

	/* Freeing the BO returns the first user's charge. */
	ASSERT_NE(0u, first);
	EXPECT_EQ(-ENOMEM, pin_as_user(self->fd, p, len, user, h));
	EXPECT_EQ(0, ut_gem_close(self->fd, first));
	EXPECT_EQ(0, pin_as_user(self->fd, p, len, user, h));
	munmap((void *)h, self->page);
	munmap(p, len);
}

/* A new pinned userptr reports its range, flags and pinned pages. */
TEST_F(uptr, userptr_pinned_info)
{
	static const __u32 flags[] = {
		PINNED, PINNED | RO, PINNED | PROBE, PINNED | RO | PROBE,
	};
	size_t size = 16 * self->page;
	char *p = ut_alloc(size);
	unsigned int i;
	__u32 h;

	ASSERT_NE(NULL, p);
	memset(p, 0x77, size);
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ASSERT_EQ(0, ut_userptr(self->fd, p, size, flags[i], &h));
		ut_check_pinned_info(_metadata, self->fd, h, p, size, flags[i],
				     self->page);
		EXPECT_EQ(0, ut_gem_close(self->fd, h));
	}
	/* One page, at the end of the range. */
	ASSERT_EQ(0, ut_userptr(self->fd, p + size - self->page, self->page,
				PINNED, &h));
	ut_check_pinned_info(_metadata, self->fd, h, p + size - self->page,
			     self->page, PINNED, self->page);
	EXPECT_EQ(0, ut_gem_close(self->fd, h));
}

/* Pinning never-touched anonymous memory works (it gets faulted in). */
TEST_F(uptr, userptr_pinned_untouched)
{
	size_t size = 32 * self->page;
	char *p = ut_alloc(size);
	__u32 h;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	ut_check_pinned_info(_metadata, self->fd, h, p, size, PINNED,
			     self->page);
	EXPECT_EQ(-1, ut_find_not(p, size, 0));
}

/* A userptr over heap memory from posix_memalign(). */
TEST_F(uptr, userptr_pinned_heap)
{
	size_t size = 8 * self->page;
	void *p = NULL;
	__u32 h;

	ASSERT_EQ(0, posix_memalign(&p, self->page, size));
	memset(p, 0x12, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	ut_check_pinned_info(_metadata, self->fd, h, p, size, PINNED,
			     self->page);
	EXPECT_EQ(0, ut_gem_close(self->fd, h));
	free(p);
}

/* Two userptrs may cover the same range; their handles differ. */
TEST_F(uptr, userptr_same_range_twice)
{
	size_t size = 4 * self->page;
	char *p = ut_alloc(size);
	__u32 a, b;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &a));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED | RO, &b));
	EXPECT_NE(a, b);
	ut_check_pinned_info(_metadata, self->fd, a, p, size, PINNED,
			     self->page);
	ut_check_pinned_info(_metadata, self->fd, b, p, size, PINNED | RO,
			     self->page);
}

/* BO_CREATE refuses flags, pad, a zero or unaligned size. */
TEST_F(uptr, bo_create_einval)
{
	struct drm_uptr_bo_create c;

	c = (struct drm_uptr_bo_create){ .size = self->page, .flags = 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c = (struct drm_uptr_bo_create){ .size = self->page,
					 .flags = 0x80000000u };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c = (struct drm_uptr_bo_create){ .size = self->page, .pad = 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c = (struct drm_uptr_bo_create){ .size = 0 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c = (struct drm_uptr_bo_create){ .size = 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c = (struct drm_uptr_bo_create){ .size = self->page + 4 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
}

/* BO_CREATE refuses a size above DRM_UPTR_PARAM_MAX_BO_SIZE. */
TEST_F(uptr, bo_create_too_big)
{
	__u64 big = (self->max_bo & ~((__u64)self->page - 1)) + self->page;
	__u32 h;

	EXPECT_EQ(-E2BIG, ut_bo_create(self->fd, big, &h));
	EXPECT_EQ(-E2BIG, ut_bo_create(self->fd, ~0ull & ~((__u64)self->page - 1),
				       &h));
}

/* A new device BO is zero-filled and reports itself as a device BO. */
TEST_F(uptr, bo_create_info)
{
	size_t size = 8 * self->page;
	struct drm_uptr_bo_info info;
	unsigned char *map = NULL;
	__u32 h;

	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &h, (void **)&map));
	ASSERT_EQ(0, ut_bo_info(self->fd, h, &info));
	EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_DEVICE, info.kind);
	EXPECT_EQ(0u, info.flags);
	EXPECT_EQ((__u64)size, info.size);
	EXPECT_EQ(0ull, info.user_ptr);
	EXPECT_EQ(0ull, info.jobs);
	EXPECT_EQ(-1, ut_find_not(map, size, 0));
	/* The CPU mapping is writable and reads back. */
	memset(map, 0xa5, size);
	EXPECT_EQ(-1, ut_find_not(map, size, 0xa5));
	EXPECT_EQ(0, munmap(map, size));
}

/* A mapping of part of a BO, left after munmap of its head, still shows the right pages. */
TEST_F(uptr, bo_mmap_split)
{
	size_t size = 4 * self->page;
	unsigned char *map = NULL;
	__u32 h;
	size_t i;

	ASSERT_EQ(0, ut_bo_create_map(self->fd, size, &h, (void **)&map));
	for (i = 0; i < 4; i++)
		memset(map + i * self->page, 0x10 + (int)i, self->page);
	ASSERT_EQ(0, munmap(map, size));
	ASSERT_EQ(0, ut_bo_mmap(self->fd, h, size, (void **)&map));
	ASSERT_EQ(0, munmap(map, 2 * self->page));
	/* The remaining VMA starts at BO page 2, faulted afresh. */
	EXPECT_EQ(-1, ut_find_not(map + 2 * self->page, self->page, 0x12));
	EXPECT_EQ(-1, ut_find_not(map + 3 * self->page, self->page, 0x13));
	EXPECT_EQ(0, munmap(map + 2 * self->page, 2 * self->page));
}

/* BO_MMAP_OFFSET refuses a userptr: map the user memory itself. */
TEST_F(uptr, mmap_offset_userptr)
{
	char *p = ut_alloc(self->page);
	__u64 offset;
	__u32 h;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, self->page, PINNED, &h));
	EXPECT_EQ(-ENODEV, ut_mmap_offset(self->fd, h, &offset));
}

/* BO_MMAP_OFFSET refuses an unknown handle. */
TEST_F(uptr, mmap_offset_unknown)
{
	__u64 offset;

	EXPECT_EQ(-ENOENT, ut_mmap_offset(self->fd, 0, &offset));
	EXPECT_EQ(-ENOENT, ut_mmap_offset(self->fd, 12345, &offset));
	EXPECT_EQ(-ENOENT, ut_mmap_offset(self->fd, 0xffffffffu, &offset));
}

/* BO_MMAP_OFFSET refuses a non-zero pad. */
TEST_F(uptr, mmap_offset_pad)
{
	struct drm_uptr_bo_mmap_offset m = { .pad = 1 };
	__u32 h;

	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &h));
	m.handle = h;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET,
				    &m));
	m.pad = 0;
	EXPECT_EQ(0, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &m));
}

/*
 * A read-write pinned userptr refuses a shared mapping of a file whose
 * filesystem is neither shmem nor hugetlbfs (here ramfs); read-only, or
 * coherent, it is fine.
 */
TEST_F(uptr, pinned_shared_file_refused)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300];
	unsigned char *p;
	static __u32 h;
	long before;
	int fd;

	snprintf(dir, sizeof(dir), "%s/uptr-ramfs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("none", dir, "ramfs", 0, NULL)) {
		TH_LOG("mount ramfs on %s: %s", dir, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * self->page));
	p = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x3c, 4 * self->page);

	before = ut_pinned_kb();
	EXPECT_EQ(-EFAULT, userptr_raw(self->fd, 0, (uintptr_t)p, 4 * self->page, PINNED));
	EXPECT_EQ(before, ut_pinned_kb());
	EXPECT_EQ(0, ut_userptr(self->fd, p, 4 * self->page, PINNED | RO, &h));
	EXPECT_EQ(0, ut_gem_close(self->fd, h));
	EXPECT_EQ(0, ut_userptr(self->fd, p, 4 * self->page, 0, &h));
	EXPECT_EQ(0, ut_fill(self->fd, h, 0, self->page, 0x01020304));
	EXPECT_EQ(0x01020304u, *(__u32 *)p);
	EXPECT_EQ(0, ut_gem_close(self->fd, h));

	munmap(p, 4 * self->page);
	close(fd);
	unlink(path);
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
}

struct flipper {
	unsigned char *at;	/* the page mapped back and forth */
	size_t page;
	int file;		/* the ramfs file mapped there half the time */
	atomic_bool stop;
	atomic_int flips;
	atomic_int errors;
};

/*
 * Maps the ramfs file, then anonymous memory, over one page, each for a
 * random time of up to 2 ms (about what one creation takes), until told
 * to stop.
 */
static void *flip_fn(void *arg)
{
	struct flipper *f = arg;
	unsigned int seed = 1;

	while (!f->stop) {
		if (mmap(f->at, f->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, f->file, 0) == MAP_FAILED)
			f->errors++;
		usleep(rand_r(&seed) % 2000);
		if (mmap(f->at, f->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			f->errors++;
		usleep(rand_r(&seed) % 2000);
		f->flips++;
	}
	return NULL;
}

/*
 * A read-write pinned userptr never holds a page of a file it refuses,
 * even when the file is mapped over its range while it is being created:
 * for 5 s, the last page of a range of three pin batches flips between
 * anonymous memory and a shared mapping of a ramfs file.  Every creation either
 * fails with -EFAULT or pins anonymous pages, which a device write
 * through the BO shows: the file never sees it.
 */
TEST_F_TIMEOUT(uptr, pinned_file_mapped_during_pin, 300)
{
	const size_t batch = self->page / sizeof(void *);
	size_t n = 3 * batch, size = n * self->page;
	int created = 0, refused = 0, ret;
	struct flipper f = { .page = self->page };
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300];
	unsigned char *p;
	pthread_t thread;
	__u32 word, h;
	double end;
	long before;

	snprintf(dir, sizeof(dir), "%s/uptr-ramfs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("none", dir, "ramfs", 0, NULL));
	snprintf(path, sizeof(path), "%s/f", dir);
	f.file = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, f.file);
	ASSERT_EQ(0, ftruncate(f.file, self->page));
	word = 0x3c3c3c3c;
	ASSERT_EQ(4, pwrite(f.file, &word, 4, 0));

	p = ut_alloc(size);
	ASSERT_NE(NULL, p);
	memset(p, 0x11, size);
	f.at = p + size - self->page;
	before = ut_pinned_kb();
	ASSERT_EQ(0, pthread_create(&thread, NULL, flip_fn, &f));

	end = ut_now() + 5 * ut_time_scale();
	while (ut_now() < end) {
		ret = ut_userptr(self->fd, p, size, PINNED, &h);
		if (ret == -EFAULT) {
			refused++;
			continue;
		}
		ASSERT_EQ(0, ret);
		created++;
		/* Writes the BO's last page; the file must not see it. */
		ret = ut_fill(self->fd, h, size - self->page, self->page,
			      0x5a000000u + created);
		EXPECT_EQ(0, ut_gem_close(self->fd, h));
		ASSERT_EQ(0, ret);
		ASSERT_EQ(4, pread(f.file, &word, 4, 0));
		ASSERT_EQ(0x3c3c3c3cu, word) {
			TH_LOG("creation %d pinned the ramfs file's page", created);
		}
	}
	f.stop = true;
	pthread_join(thread, NULL);
	TH_LOG("%d created, %d refused, %d flips", created, refused, f.flips);
	EXPECT_EQ(0, f.errors);
	EXPECT_LT(0, f.flips);
	EXPECT_EQ(before, ut_pinned_kb());

	munmap(p, size);
	close(f.file);
	unlink(path);
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
}

/* BO_INFO refuses an unknown handle and a non-zero pad. */
TEST_F(uptr, bo_info_errors)
{
	struct drm_uptr_bo_info info;
	__u32 h;

	EXPECT_EQ(-ENOENT, ut_bo_info(self->fd, 0, &info));
	EXPECT_EQ(-ENOENT, ut_bo_info(self->fd, 4242, &info));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &h));
	memset(&info, 0, sizeof(info));
	info.handle = h;
	info.pad = 1;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_INFO, &info));
	EXPECT_EQ(0, ut_bo_info(self->fd, h, &info));
}

/* BO_WAIT refuses an unknown handle, flags, and a negative timeout. */
TEST_F(uptr, bo_wait_errors)
{
	struct drm_uptr_bo_wait w;
	__u32 h;

	EXPECT_EQ(-ENOENT, ut_bo_wait(self->fd, 0, 0));
	EXPECT_EQ(-ENOENT, ut_bo_wait(self->fd, 4242, 1000000));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &h));
	w = (struct drm_uptr_bo_wait){ .handle = h, .flags = 1 };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_WAIT, &w));
	w = (struct drm_uptr_bo_wait){ .handle = h, .flags = 0x80000000u };
	EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, DRM_IOCTL_UPTR_BO_WAIT, &w));
	EXPECT_EQ(-EINVAL, ut_bo_wait(self->fd, h, -1));
	EXPECT_EQ(-EINVAL, ut_bo_wait(self->fd, h, INT64_MIN));
	EXPECT_EQ(0, ut_bo_wait(self->fd, h, 0));
}

/* After GEM_CLOSE of a userptr its handle is unknown everywhere. */
TEST_F(uptr, gem_close_userptr)
{
	size_t size = 2 * self->page;
	char *p = ut_alloc(size);
	struct drm_uptr_bo_info info;
	__u64 offset;
	__u32 h, dev;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_bo_create(self->fd, size, &dev));
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	EXPECT_EQ(-ENOENT, ut_bo_info(self->fd, h, &info));
	EXPECT_EQ(-ENOENT, ut_bo_wait(self->fd, h, 0));
	EXPECT_EQ(-ENOENT, ut_mmap_offset(self->fd, h, &offset));
	EXPECT_EQ(-ENOENT, ut_copy(self->fd, dev, 0, h, 0, size));
	EXPECT_EQ(-ENOENT, ut_fill(self->fd, h, 0, size, 1));
	/* The memory is the process's again, untouched. */
	memset(p, 0x21, size);
	EXPECT_EQ(-1, ut_find_not(p, size, 0x21));
}

/* Handles are per fd: another fd does not know this one's BOs. */
TEST_F(uptr, handles_per_fd)
{
	char *p = ut_alloc(self->page);
	struct drm_uptr_bo_info info;
	__u32 h, d;
	int fd2;

	ASSERT_NE(NULL, p);
	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_userptr(self->fd, p, self->page, PINNED, &h));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
	EXPECT_EQ(-ENOENT, ut_bo_info(fd2, h, &info));
	EXPECT_EQ(-ENOENT, ut_bo_info(fd2, d, &info));
	EXPECT_EQ(-ENOENT, ut_fill(fd2, h, 0, self->page, 0));
	close(fd2);
	ut_check_pinned_info(_metadata, self->fd, h, p, self->page, PINNED,
			     self->page);
}

TEST_HARNESS_MAIN
