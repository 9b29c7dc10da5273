/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the uptr test programs: finding the render node,
 * thin ioctl wrappers that return 0 or -errno, command builders and the
 * CPU reference of the engine's checksum.  It does not depend on the
 * selftest harness (the demo uses it too); see uptr_harness.h.
 */
#ifndef UPTR_TEST_H
#define UPTR_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/mempolicy.h>
#include <linux/sync_file.h>

#include "uptr_drm.h"

#define UT_DRIVER_NAME	"uptr"
#define UT_KIB		(1024ull)
#define UT_MIB		(1024ull * 1024)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* ioctl() that returns 0 or -errno; restarts when a signal interrupted it. */
static inline int ut_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && errno == EINTR);

	return ret == -1 ? -errno : ret;
}

/* Name of the DRM driver behind @fd, in @name; 0 or -errno. */
static inline int ut_driver_name(int fd, char *name, size_t len)
{
	struct drm_version v = { .name = name, .name_len = len - 1 };
	int ret;

	memset(name, 0, len);
	ret = ut_ioctl(fd, DRM_IOCTL_VERSION, &v);
	if (ret)
		return ret;
	name[len - 1] = '\0';
	if (v.name_len < len)
		name[v.name_len] = '\0';
	return 0;
}

/*
 * Opens the render node whose driver is @driver.
 * Return: the fd, -ENODEV when no render node belongs to it.
 */
static inline int ut_open_driver(const char *driver)
{
	glob_t g;
	size_t i;
	int fd = -ENODEV;

	if (glob("/dev/dri/renderD*", 0, NULL, &g))
		return -ENODEV;
	for (i = 0; i < g.gl_pathc; i++) {
		char name[64];
		int f = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);

		if (f < 0)
			continue;
		if (!ut_driver_name(f, name, sizeof(name)) &&
		    !strcmp(name, driver)) {
			fd = f;
			break;
		}
		close(f);
	}
	globfree(&g);
	return fd;
}

/* Opens the render node of uptr; see ut_open_driver(). */
static inline int ut_open(void)
{
	return ut_open_driver(UT_DRIVER_NAME);
}

static inline int ut_get_param(int fd, __u32 param, __u64 *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_GET_PARAM, &p);

	if (!ret && value)
		*value = p.value;
	return ret;
}

/* A device-local BO of @size bytes. */
static inline int ut_bo_create(int fd, __u64 size, __u32 *handle)
{
	struct drm_uptr_bo_create c = { .size = size };
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_BO_CREATE, &c);

	if (!ret)
		*handle = c.handle;
	return ret;
}

/* A userptr BO over [@ptr, @ptr + @size). */
static inline int ut_userptr(int fd, const void *ptr, __u64 size,
			     __u32 flags, __u32 *handle)
{
	struct drm_uptr_userptr u = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_USERPTR, &u);

	if (!ret)
		*handle = u.handle;
	return ret;
}

static inline int ut_mmap_offset(int fd, __u32 handle, __u64 *offset)
{
	struct drm_uptr_bo_mmap_offset m = { .handle = handle };
	int ret = ut_ioctl(fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &m);

	if (!ret)
		*offset = m.offset;
	return ret;
}

/* Maps a device BO of @size bytes read-write, shared; 0 or -errno. */
static inline int ut_bo_mmap(int fd, __u32 handle, __u64 size, void **map)
{
	__u64 offset;
	void *p;
	int ret;

	ret = ut_mmap_offset(fd, handle, &offset);
	if (ret)
		return ret;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	if (p == MAP_FAILED)
		return -errno;
	*map = p;
	return 0;
}

/* Creates a device BO of @size bytes and maps it. */
static inline int ut_bo_create_map(int fd, __u64 size, __u32 *handle,
				   void **map)
{
	int ret = ut_bo_create(fd, size, handle);

	if (ret)
		return ret;
	return ut_bo_mmap(fd, *handle, size, map);
}

static inline int ut_bo_info(int fd, __u32 handle,
			     struct drm_uptr_bo_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return ut_ioctl(fd, DRM_IOCTL_UPTR_BO_INFO, info);
}

/* Writes the string @val to @path (sysfs, procfs, cgroupfs); 0 or -errno. */
static inline int ut_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* Reads the first line of @path into @buf, newline stripped; 0 or -errno. */
static inline int ut_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		ret = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return ret;
}

/* The number on the first line of @path (sysfs, procfs); -1 if unreadable. */
static inline long ut_read_long(const char *path)
{
	char buf[64];

	if (ut_read_line(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

#define UT_NUMA_BALANCING	"/proc/sys/kernel/numa_balancing"

/*
 * Switches automatic NUMA balancing off: it would unmap and migrate pages
 * behind a test's back.  Its value goes to @saved (@len bytes) for
 * ut_numa_balancing_restore(), "" when it was off or cannot be read.
 * Return: 0, or -errno when it could not be switched off.
 */
static inline int ut_numa_balancing_off(char *saved, size_t len)
{
	if (ut_read_line(UT_NUMA_BALANCING, saved, len) || !strcmp(saved, "0")) {
		saved[0] = '\0';
		return 0;
	}
	return ut_write_str(UT_NUMA_BALANCING, "0");
}

/* Puts back what ut_numa_balancing_off() switched off, if anything. */
static inline void ut_numa_balancing_restore(const char *saved)
{
	if (saved[0])
		ut_write_str(UT_NUMA_BALANCING, saved);
}

/* uptr.ko's module parameters that tests change (root only), put back after. */
#define UT_PARAM_JOB_TIMEOUT_MS	"/sys/module/uptr/parameters/job_timeout_ms"
#define UT_PARAM_MAX_FILE_BO_MIB	"/sys/module/uptr/parameters/max_file_bo_mib"

/* CLOCK_MONOTONIC now, in nanoseconds. */
static inline __s64 ut_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * BO_WAIT for @timeout_ns from now; 0 only asks whether the BO is busy
 * and a negative value is passed on as it is (refused).
 */
static inline int ut_bo_wait(int fd, __u32 handle, __s64 timeout_ns)
{
	struct drm_uptr_bo_wait w = {
		.handle = handle,
		.deadline_ns = timeout_ns > 0 ? ut_now_ns() + timeout_ns : timeout_ns,
	};

	return ut_ioctl(fd, DRM_IOCTL_UPTR_BO_WAIT, &w);
}

static inline int ut_gem_close(int fd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ut_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

static inline int ut_submit(int fd, const struct drm_uptr_cmd *cmds,
			    __u32 count)
{
	struct drm_uptr_submit s = {
		.commands = (uintptr_t)cmds,
		.count = count,
		.flags = DRM_UPTR_SUBMIT_WAIT,
	};

	return ut_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

/*
 * SUBMIT of @count commands on @engine without waiting: the job waits for
 * the @nin syncobjs at @in, and its fence goes into @out (0: none).
 */
static inline int ut_submit_async(int fd, __u32 engine, const struct drm_uptr_cmd *cmds,
				  __u32 count, const __u32 *in, __u32 nin, __u32 out)
{
	struct drm_uptr_submit s = {
		.commands = (uintptr_t)cmds,
		.count = count,
		.engine = engine,
		.in_syncobjs = (uintptr_t)in,
		.in_syncobj_count = nin,
		.out_syncobj = out,
	};

	return ut_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

/* A binary syncobj, without a fence. */
static inline int ut_syncobj_create(int fd, __u32 *handle)
{
	struct drm_syncobj_create c = { 0 };
	int ret = ut_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	if (!ret)
		*handle = c.handle;
	return ret;
}

static inline int ut_syncobj_destroy(int fd, __u32 handle)
{
	struct drm_syncobj_destroy d = { .handle = handle };

	return ut_ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

/* The syncobj's fence as a sync_file, in *@sync_file. */
static inline int ut_syncobj_export(int fd, __u32 handle, int *sync_file)
{
	struct drm_syncobj_handle h = {
		.handle = handle,
		.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
		.fd = -1,
	};
	int ret = ut_ioctl(fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h);

	if (!ret)
		*sync_file = h.fd;
	return ret;
}

/* Puts the fence of @sync_file into syncobj @handle. */
static inline int ut_syncobj_import(int fd, __u32 handle, int sync_file)
{
	struct drm_syncobj_handle h = {
		.handle = handle,
		.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
		.fd = sync_file,
	};

	return ut_ioctl(fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h);
}

/* DRM_IOCTL_SYNCOBJ_WAIT on one syncobj for @timeout_ns from now. */
static inline int ut_syncobj_wait(int fd, __u32 handle, __s64 timeout_ns)
{
	struct drm_syncobj_wait w = {
		.handles = (uintptr_t)&handle,
		.count_handles = 1,
	};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.timeout_nsec = (__s64)ts.tv_sec * 1000000000 + ts.tv_nsec + timeout_ns;
	return ut_ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

/*
 * The state of the one fence of @sync_file: *@status 1 signalled, 0 not
 * yet, negative its error; *@timestamp_ns when it signalled
 * (CLOCK_MONOTONIC).
 */
static inline int ut_sync_file_info(int sync_file, int *status, __u64 *timestamp_ns)
{
	struct sync_fence_info fi;
	struct sync_file_info info = {
		.num_fences = 1,
		.sync_fence_info = (uintptr_t)&fi,
	};

	memset(&fi, 0, sizeof(fi));
	if (ioctl(sync_file, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	if (info.num_fences != 1)
		return -EINVAL;
	*status = fi.status;
	*timestamp_ns = fi.timestamp_ns;
	return 0;
}

/* poll() of a sync_file: 1 once its fence signalled, 0 if not within @ms. */
static inline int ut_sync_file_poll(int sync_file, int ms)
{
	struct pollfd p = { .fd = sync_file, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	if (ret < 0)
		return -errno;
	return ret == 1 && (p.revents & POLLIN);
}

static inline struct drm_uptr_cmd ut_cmd_copy(__u32 dst, __u64 dst_offset,
					      __u32 src, __u64 src_offset,
					      __u64 size)
{
	return (struct drm_uptr_cmd) {
		.op = DRM_UPTR_OP_COPY,
		.dst_handle = dst, .dst_offset = dst_offset,
		.src_handle = src, .src_offset = src_offset,
		.size = size,
	};
}

static inline struct drm_uptr_cmd ut_cmd_fill(__u32 dst, __u64 dst_offset,
					      __u64 size, __u32 pattern)
{
	return (struct drm_uptr_cmd) {
		.op = DRM_UPTR_OP_FILL,
		.dst_handle = dst, .dst_offset = dst_offset,
		.size = size, .value = pattern,
	};
}

static inline struct drm_uptr_cmd ut_cmd_store(__u32 dst, __u64 dst_offset,
					       __u32 value)
{
	return (struct drm_uptr_cmd) {
		.op = DRM_UPTR_OP_STORE_DWORD,
		.dst_handle = dst, .dst_offset = dst_offset,
		.size = 4, .value = value,
	};
}

static inline struct drm_uptr_cmd ut_cmd_checksum(__u32 dst,
						  __u64 dst_offset,
						  __u32 src,
						  __u64 src_offset,
						  __u64 size)
{
	return (struct drm_uptr_cmd) {
		.op = DRM_UPTR_OP_CHECKSUM,
		.dst_handle = dst, .dst_offset = dst_offset,
		.src_handle = src, .src_offset = src_offset,
		.size = size,
	};
}

/* One-command jobs. */
static inline int ut_copy(int fd, __u32 dst, __u64 dst_offset, __u32 src,
			  __u64 src_offset, __u64 size)
{
	struct drm_uptr_cmd c = ut_cmd_copy(dst, dst_offset, src,
					    src_offset, size);

	return ut_submit(fd, &c, 1);
}

static inline int ut_fill(int fd, __u32 dst, __u64 dst_offset, __u64 size,
			  __u32 pattern)
{
	struct drm_uptr_cmd c = ut_cmd_fill(dst, dst_offset, size, pattern);

	return ut_submit(fd, &c, 1);
}

static inline int ut_store(int fd, __u32 dst, __u64 dst_offset,
			   __u32 value)
{
	struct drm_uptr_cmd c = ut_cmd_store(dst, dst_offset, value);

	return ut_submit(fd, &c, 1);
}

static inline int ut_checksum(int fd, __u32 dst, __u64 dst_offset,
			      __u32 src, __u64 src_offset, __u64 size)
{
	struct drm_uptr_cmd c = ut_cmd_checksum(dst, dst_offset, src,
						src_offset, size);

	return ut_submit(fd, &c, 1);
}

#define UT_FNV1A_BASIS	0xcbf29ce484222325ull
#define UT_FNV1A_PRIME	0x100000001b3ull

/* The CPU reference of DRM_UPTR_OP_CHECKSUM: 64-bit FNV-1a. */
static inline __u64 ut_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__u64 h = UT_FNV1A_BASIS;

	while (len--) {
		h ^= *p++;
		h *= UT_FNV1A_PRIME;
	}
	return h;
}

/* /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define UT_PM_PFN_MASK		((1ull << 55) - 1)
#define UT_PM_EXCLUSIVE		(1ull << 56)
#define UT_PM_SWAP		(1ull << 62)
#define UT_PM_PRESENT		(1ull << 63)

/* The /proc/self/pagemap entry of the page at @addr in *@e; 0 or -errno. */
static inline int ut_pagemap_entry(const void *addr, __u64 *e)
{
	off_t off = (off_t)((uintptr_t)addr / sysconf(_SC_PAGESIZE)) * sizeof(*e);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, e, sizeof(*e), off);
	close(fd);
	return n == sizeof(*e) ? 0 : -EIO;
}

/* The pagemap entry of the page at @addr; 0 if it cannot be read. */
static inline __u64 ut_pagemap(const void *addr)
{
	__u64 e;

	return ut_pagemap_entry(addr, &e) ? 0 : e;
}

/* How many of the @n pages of @page bytes at @p have @bit in their pagemap entry. */
static inline size_t ut_count_pagemap(const void *p, size_t n, size_t page, __u64 bit)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t i, c = 0;
	__u64 e;

	if (fd < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (pread(fd, &e, sizeof(e),
			  (off_t)((uintptr_t)p / page + i) * sizeof(e)) == sizeof(e) &&
		    (e & bit))
			c++;
	close(fd);
	return c;
}

/* Anonymous private read-write memory, page aligned; NULL on failure. */
static inline void *ut_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Anonymous shared read-write memory (MAP_SHARED | MAP_ANONYMOUS): a
 * forked child shares its pages, for results and handshakes; NULL on
 * failure.
 */
static inline void *ut_alloc_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* A memfd (close-on-exec) of @size bytes; the fd, or -errno. */
static inline int ut_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The first @size bytes of file @fd mapped MAP_SHARED with @prot; NULL on failure. */
static inline void *ut_map_file(int fd, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Deterministic bytes: the same @seed gives the same buffer. */
static inline void ut_pattern(void *buf, size_t len, __u32 seed)
{
	unsigned char *p = buf;
	__u32 x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* Offset of the first byte of @buf that differs from @c, or -1. */
static inline long ut_find_not(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

/* Offset of the first differing byte of @a and @b, or -1. */
static inline long ut_find_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *p = a, *q = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != q[i])
			return (long)i;
	return -1;
}

/* Offset of the first dword of @buf that is not @v, or -1. */
static inline long ut_find_not_dword(const void *buf, size_t len, __u32 v)
{
	const __u32 *p = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (p[i] != v)
			return (long)(i * 4);
	return -1;
}

#define UT_THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* The size of a transparent huge page (a PMD mapping on x86-64). */
#define UT_HPAGE	(2 * UT_MIB)

/*
 * Whether the kernel has transparent huge pages at all: a PREEMPT_RT
 * kernel cannot (CONFIG_TRANSPARENT_HUGEPAGE depends on !PREEMPT_RT), and
 * there MADV_HUGEPAGE and MADV_NOHUGEPAGE fail with EINVAL.
 */
static inline bool ut_thp_built(void)
{
	return access(UT_THP_ENABLED, F_OK) == 0;
}

/*
 * Anonymous memory that stays in small pages: no THP, no khugepaged
 * (nothing to do for that on a kernel without THP), so that an
 * invalidation covers exactly the pages the kernel changed (a THP split
 * invalidates the whole 2 MiB); NULL on failure.
 */
static inline void *ut_alloc_small_pages(size_t size)
{
	void *p = ut_alloc(size);

	if (p && ut_thp_built() && madvise(p, size, MADV_NOHUGEPAGE)) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

/*
 * @size bytes (a multiple of UT_HPAGE) of private anonymous memory, the
 * mapping exactly [ret, ret + @size) with ret UT_HPAGE-aligned, advised
 * MADV_HUGEPAGE and not yet touched: pages written after this are huge
 * where the kernel has them (ut_anon_huge_kb() tells).  NULL on failure,
 * MADV_HUGEPAGE's EINVAL on a kernel without THP included.
 */
static inline void *ut_alloc_thp(size_t size)
{
	size_t len = size + UT_HPAGE, head;
	unsigned char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (unsigned char *)(((uintptr_t)raw + UT_HPAGE - 1) & ~(uintptr_t)(UT_HPAGE - 1));
	head = p - raw;
	if ((head && munmap(raw, head)) ||
	    (len - head - size && munmap(p + size, len - head - size)) ||
	    madvise(p, size, MADV_HUGEPAGE)) {
		munmap(raw, len);
		return NULL;
	}
	return p;
}

/*
 * How much slower than usual this kernel runs, from UPTR_TIME_SCALE (an
 * integer from 1 to 99, default 1; the debug tier sets 3).  Every
 * "nothing hangs" bound of the tests is multiplied by it; nothing else
 * changes.
 */
static inline int ut_time_scale(void)
{
	const char *s = getenv("UPTR_TIME_SCALE");
	int v = s ? atoi(s) : 1;

	return v >= 1 && v <= 99 ? v : 1;
}

static inline double ut_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A "Key:" line of a /proc file such as /proc/meminfo, in kB; -1 if absent. */
static inline long ut_proc_kb(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/*
 * Whether the running kernel was built with KASAN, from /proc/config.gz
 * (the debug kernel has it) or, failing that, from a kasan option on the
 * command line (vm/run adds kasan_multi_shot on a KASAN kernel).
 */
static inline bool ut_kernel_has_kasan(void)
{
	char line[512];
	bool found = false;
	FILE *f = access("/proc/config.gz", R_OK) ? NULL :
		  popen("zcat /proc/config.gz 2>/dev/null", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strcmp(line, "CONFIG_KASAN=y\n"))
				found = true;
		pclose(f);
		if (found)
			return true;
	}
	f = fopen("/proc/cmdline", "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && strstr(line, "kasan"))
		found = true;
	fclose(f);
	return found;
}

/* A "Vm*:" line of /proc/self/status, in kB (e.g. "VmPin"); -1 if absent. */
static inline long ut_proc_status_kb(const char *key)
{
	return ut_proc_kb("/proc/self/status", key);
}

/* kB of AnonHugePages in this process's mappings overlapping [@start, @end). */
static inline long ut_anon_huge_kb(unsigned long start, unsigned long end)
{
	char line[512];
	bool in = false;
	long kb = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		long v;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = s < end && start < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

/* Exit status of child @pid, 128 + signal if it was killed; -1 on error. */
static inline int ut_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Creates and opens a temporary file in $TMPDIR, /tmp or /dev/shm. */
static inline int ut_make_tmpfile(char *path, size_t len)
{
	const char *dirs[] = { getenv("TMPDIR"), "/tmp", "/dev/shm" };
	unsigned int i;
	int fd = -ENOENT;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i] || !dirs[i][0])
			continue;
		snprintf(path, len, "%s/uptr-test-XXXXXX", dirs[i]);
		fd = mkstemp(path);
		if (fd >= 0)
			return fd;
		fd = -errno;
	}
	return fd;
}

/* kB of memory the process has pinned or locked (VmPin + VmLck). */
static inline long ut_pinned_kb(void)
{
	long pin = ut_proc_status_kb("VmPin");
	long lck = ut_proc_status_kb("VmLck");

	return (pin < 0 ? 0 : pin) + (lck < 0 ? 0 : lck);
}

/* vgem's uAPI (include/uapi/drm/vgem_drm.h), which libdrm does not ship. */
struct ut_vgem_fence_attach {
	__u32 handle;
	__u32 flags;
	__u32 out_fence;
	__u32 pad;
};

struct ut_vgem_fence_signal {
	__u32 fence;
	__u32 flags;
};

#define UT_VGEM_FENCE_WRITE	0x1
#define UT_IOCTL_VGEM_FENCE_ATTACH \
	DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct ut_vgem_fence_attach)
#define UT_IOCTL_VGEM_FENCE_SIGNAL \
	DRM_IOW(DRM_COMMAND_BASE + 0x2, struct ut_vgem_fence_signal)

/* The primary node of Debian's vgem module, or -errno. */
static inline int ut_vgem_find(void)
{
	glob_t g;
	size_t i;
	int fd = -ENODEV;

	if (glob("/dev/dri/card*", 0, NULL, &g))
		return -ENODEV;
	for (i = 0; i < g.gl_pathc && fd < 0; i++) {
		char name[32];
		int f = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);

		if (f < 0)
			continue;
		if (!ut_driver_name(f, name, sizeof(name)) && !strcmp(name, "vgem"))
			fd = f;
		else
			close(f);
	}
	globfree(&g);
	return fd;
}

/* Opens vgem, loading it first if needed: its absence is a failure. */
static inline int ut_vgem_open(void)
{
	int fd = ut_vgem_find();

	if (fd >= 0)
		return fd;
	if (system("modprobe vgem >/dev/null 2>&1"))
		return -ENODEV;
	return ut_vgem_find();
}

/* A dumb buffer of @size bytes (a multiple of 256) on vgem fd @vgem. */
static inline int ut_vgem_bo(int vgem, __u64 size, __u32 *handle)
{
	struct drm_mode_create_dumb dumb = { .width = size / 256, .height = 64, .bpp = 32 };
	int ret = ut_ioctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &dumb);

	if (!ret)
		*handle = dumb.handle;
	return ret;
}

/* Maps vgem dumb buffer @handle of @size bytes, shared, read-write. */
static inline int ut_vgem_mmap(int vgem, __u32 handle, __u64 size, void **map)
{
	struct drm_mode_map_dumb m = { .handle = handle };
	int ret = ut_ioctl(vgem, DRM_IOCTL_MODE_MAP_DUMB, &m);

	if (ret)
		return ret;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vgem, m.offset);
	return *map == MAP_FAILED ? -errno : 0;
}

/*
 * A fence the test signals: a vgem fence on a vgem dumb buffer, put into
 * a uptr syncobj through a sync_file.  vgem signals it by itself after
 * 10 s if the test does not.  Set @vgem to -1 before ut_gate_init().
 */
struct ut_gate {
	int vgem;		/* vgem's primary node */
	__u32 fence;		/* vgem fence id */
	__u32 syncobj;		/* the uptr syncobj (on @fd) holding the fence */
};

static inline int ut_gate_init(int fd, struct ut_gate *g)
{
	struct drm_mode_create_dumb dumb = { .width = 64, .height = 1, .bpp = 32 };
	struct ut_vgem_fence_attach attach = { .flags = UT_VGEM_FENCE_WRITE };
	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC };
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };
	int ret;

	g->vgem = ut_vgem_open();
	if (g->vgem < 0)
		return g->vgem;
	ret = ut_ioctl(g->vgem, DRM_IOCTL_MODE_CREATE_DUMB, &dumb);
	if (ret)
		return ret;
	attach.handle = dumb.handle;
	ret = ut_ioctl(g->vgem, UT_IOCTL_VGEM_FENCE_ATTACH, &attach);
	if (ret)
		return ret;
	g->fence = attach.out_fence;
	prime.handle = dumb.handle;
	ret = ut_ioctl(g->vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
	if (ret)
		return ret;
	/* The fences a reader waits for: the vgem write fence. */
	ret = ut_ioctl(prime.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp);
	close(prime.fd);
	if (ret)
		return ret;
	ret = ut_syncobj_create(fd, &g->syncobj);
	if (!ret)
		ret = ut_syncobj_import(fd, g->syncobj, exp.fd);
	close(exp.fd);
	return ret;
}

/* Signals the gate's fence. */
static inline int ut_gate_open(struct ut_gate *g)
{
	struct ut_vgem_fence_signal s = { .fence = g->fence };

	return ut_ioctl(g->vgem, UT_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

/* Opens the gate if it is not yet, and lets vgem go. */
static inline void ut_gate_fini(struct ut_gate *g)
{
	if (g->vgem >= 0) {
		ut_gate_open(g);
		close(g->vgem);
	}
	g->vgem = -1;
}

/* PRIME export of @handle on @fd: a dma-buf fd in *@dmabuf; 0 or -errno. */
static inline int ut_prime_export(int fd, __u32 handle, __u32 flags, int *dmabuf)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };
	int ret = ut_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);

	if (!ret)
		*dmabuf = p.fd;
	return ret;
}

/* PRIME import of dma-buf @dmabuf into @fd: its handle in *@handle. */
static inline int ut_prime_import(int fd, int dmabuf, __u32 *handle)
{
	struct drm_prime_handle p = { .fd = dmabuf };
	int ret = ut_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);

	if (!ret)
		*handle = p.handle;
	return ret;
}

/* Sends fd @fd over Unix socket @sock (SCM_RIGHTS); 0 or -errno. */
static inline int ut_send_fd(int sock, int fd)
{
	char byte = 'f';
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;

	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Receives an fd sent by ut_send_fd(); the fd, or -errno. */
static inline int ut_recv_fd(int sock)
{
	char byte;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno ? -errno : -EPROTO;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* ---- page-out ---- */

/*
 * Empty every CPU's LRU batch.  A page faulted in is first added to a
 * per-CPU batch and reaches the LRU only when that batch drains;
 * MADV_PAGEOUT skips it until then and drains only the calling CPU's
 * batch, while the engine faults pages on whichever CPU its worker runs.
 * mbind(MPOL_MF_MOVE) drains them all before it looks for pages to move;
 * on a range with nothing mapped it moves nothing and sets the default
 * policy, which is what the range had.
 */
static inline void ut_lru_drain_all(void)
{
	static void *scratch;

	if (!scratch) {
		scratch = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (scratch == MAP_FAILED) {
			scratch = NULL;
			return;
		}
	}
	syscall(SYS_mbind, scratch, getpagesize(), MPOL_DEFAULT, NULL, 0,
		MPOL_MF_MOVE);
}

/*
 * MADV_PAGEOUT of the @n pages at @p, repeated (bounded) until every one
 * of them is swapped out.  Return: how many of them are swapped out.
 */
static inline size_t ut_page_out(void *p, size_t n, size_t page)
{
	size_t swapped = 0;
	int attempt;

	for (attempt = 0; attempt < 20; attempt++) {
		ut_lru_drain_all();
		madvise(p, n * page, MADV_PAGEOUT);
		swapped = ut_count_pagemap(p, n, page, UT_PM_SWAP);
		if (swapped == n)
			break;
		usleep(20 * 1000);
	}
	return swapped;
}

/*
 * MADV_PAGEOUT of the @n pages at @p, repeated (bounded) until none of
 * them is mapped any more, whether it went to swap or was dropped.
 * Return: how many of them are still present.
 */
static inline size_t ut_page_out_gone(void *p, size_t n, size_t page)
{
	size_t present = n;
	int attempt;

	for (attempt = 0; attempt < 20; attempt++) {
		ut_lru_drain_all();
		madvise(p, n * page, MADV_PAGEOUT);
		present = ut_count_pagemap(p, n, page, UT_PM_PRESENT);
		if (!present)
			break;
		usleep(20 * 1000);
	}
	return present;
}

#endif /* UPTR_TEST_H */
