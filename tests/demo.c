// SPDX-License-Identifier: MIT
/*
 * Description: a guided tour of uptr.  Opens the device, shows what it
 * offers, wraps a malloc'd buffer in a pinned userptr and lets the engine
 * work on that memory in place: fill it, copy it into a device BO, and
 * checksum it, each result checked on the CPU.  Then a coherent userptr,
 * the default kind: it pins nothing, faults in only what jobs touch, and
 * follows the CPU when the memory under it is replaced or unmapped.
 * Exits 0 on success.
 */
#include "uptr_test.h"

#include <inttypes.h>
#include <stdarg.h>

#define SIZE		(1024 * 1024)

static int failures;

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...)
{
	va_list ap;

	printf("\n==> ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void check(bool ok, const char *what)
{
	printf("    [%s] %s\n", ok ? " ok " : "FAIL", what);
	if (!ok)
		failures++;
	fflush(stdout);
}

static int die(const char *what, int err)
{
	printf("    [FAIL] %s: %s\n", what, strerror(-err));
	printf("\ndemo FAILED\n");
	return 1;
}

int main(void)
{
	static const struct { __u32 param; const char *name; } params[] = {
		{ DRM_UPTR_PARAM_API_VERSION, "API version" },
		{ DRM_UPTR_PARAM_PAGE_SIZE, "page size" },
		{ DRM_UPTR_PARAM_MAX_USERPTR_SIZE, "largest userptr (bytes)" },
		{ DRM_UPTR_PARAM_USERPTR_FLAGS, "userptr flags accepted" },
		{ DRM_UPTR_PARAM_ENGINE_COUNT, "engines" },
		{ DRM_UPTR_PARAM_MAX_COMMANDS, "commands per job" },
		{ DRM_UPTR_PARAM_MAX_BO_SIZE, "largest device BO (bytes)" },
		{ DRM_UPTR_PARAM_USERPTR_KINDS, "userptr kinds" },
	};
	struct drm_uptr_bo_info info;
	struct drm_uptr_cmd cmds[3];
	unsigned char *buf, *ref, *reg, *map = NULL;
	void *mem = NULL;
	char name[64];
	__u64 sum, want;
	unsigned int i;
	__u32 u, d, c;
	long page;
	int fd, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("uptr demo: a device working on a process's own memory, in place.\n");

	step("Find the uptr render node among /dev/dri/renderD*");
	fd = ut_open();
	if (fd < 0)
		return die("no render node of driver \"uptr\" (is uptr.ko loaded?)", fd);
	ret = ut_driver_name(fd, name, sizeof(name));
	if (ret)
		return die("DRM_IOCTL_VERSION", ret);
	printf("    opened a render node of driver \"%s\"\n", name);

	step("Ask the driver what it offers (DRM_IOCTL_UPTR_GET_PARAM)");
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		__u64 v = 0;

		ret = ut_get_param(fd, params[i].param, &v);
		if (ret)
			return die(params[i].name, ret);
		printf("    %-28s %" PRIu64 " (%#" PRIx64 ")\n", params[i].name,
		       (uint64_t)v, (uint64_t)v);
	}

	page = sysconf(_SC_PAGESIZE);
	step("Allocate %d KiB with posix_memalign() and write a pattern into it",
	     SIZE / 1024);
	if (posix_memalign(&mem, page, SIZE))
		return die("posix_memalign", -ENOMEM);
	buf = mem;
	ut_pattern(buf, SIZE, 2024);
	ref = malloc(SIZE);
	if (!ref)
		return die("malloc", -ENOMEM);
	memcpy(ref, buf, SIZE);
	printf("    buffer at %p, first bytes %02x %02x %02x %02x\n", mem,
	       buf[0], buf[1], buf[2], buf[3]);

	step("Wrap the buffer in a pinned userptr BO (DRM_IOCTL_UPTR_USERPTR, PINNED)");
	ret = ut_userptr(fd, buf, SIZE, DRM_UPTR_USERPTR_PINNED, &u);
	if (ret)
		return die("DRM_IOCTL_UPTR_USERPTR", ret);
	ret = ut_bo_info(fd, u, &info);
	if (ret)
		return die("DRM_IOCTL_UPTR_BO_INFO", ret);
	printf("    handle %u: %" PRIu64 " bytes at %#" PRIx64 ", %" PRIu64
	       " pages pinned, %" PRIu64 " sg segments\n", u,
	       (uint64_t)info.size, (uint64_t)info.user_ptr,
	       (uint64_t)info.pages_pinned, (uint64_t)info.sg_segments);
	check(info.kind == DRM_UPTR_BO_KIND_USERPTR &&
	      info.pages_pinned == (__u64)(SIZE / page),
	      "every page of the buffer is pinned");

	step("Create a device-local BO of the same size and map it (BO_CREATE, BO_MMAP_OFFSET)");
	ret = ut_bo_create_map(fd, SIZE, &d, (void **)&map);
	if (ret)
		return die("device BO", ret);
	printf("    handle %u, mapped at %p\n", d, (void *)map);

	step("One job, three commands: COPY userptr -> device BO, CHECKSUM it, FILL the userptr");
	cmds[0] = ut_cmd_copy(d, 0, u, 0, SIZE);
	cmds[1] = ut_cmd_checksum(d, 0, d, 8, SIZE - 8);
	cmds[2] = ut_cmd_fill(u, 0, SIZE / 2, 0xc0ffee00);
	want = ut_fnv1a(ref + 8, SIZE - 8);
	ret = ut_submit(fd, cmds, 3);
	if (ret)
		return die("DRM_IOCTL_UPTR_SUBMIT", ret);
	memcpy(&sum, map, 8);
	check(ut_find_diff(map + 8, ref + 8, SIZE - 8) == -1,
	      "the device BO holds a copy of the buffer");
	printf("    FNV-1a of the copy: engine %#018" PRIx64 ", CPU %#018" PRIx64 "\n",
	       (uint64_t)sum, (uint64_t)want);
	check(sum == want, "the engine's checksum matches the CPU's");
	check(ut_find_not_dword(buf, SIZE / 2, 0xc0ffee00) == -1 &&
	      ut_find_diff(buf + SIZE / 2, ref + SIZE / 2, SIZE / 2) == -1,
	      "the engine filled the first half of the malloc'd buffer in place");

	step("Let the CPU write into the buffer and the engine read it back");
	memset(buf, 0x5a, SIZE);
	ret = ut_copy(fd, d, 0, u, 0, SIZE);
	if (ret)
		return die("DRM_IOCTL_UPTR_SUBMIT", ret);
	check(ut_find_not(map, SIZE, 0x5a) == -1,
	      "the engine sees what the CPU just wrote, no copy in between");
	ret = ut_bo_info(fd, u, &info);
	if (ret)
		return die("DRM_IOCTL_UPTR_BO_INFO", ret);
	printf("    the userptr has been used by %" PRIu64 " jobs\n",
	       (uint64_t)info.jobs);

	step("Wrap fresh mmap'd memory in a coherent userptr (the default: no PINNED flag)");
	reg = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reg == MAP_FAILED)
		return die("mmap", -errno);
	memset(reg, 0x11, SIZE);
	ret = ut_userptr(fd, reg, SIZE, 0, &c);
	if (ret)
		return die("DRM_IOCTL_UPTR_USERPTR", ret);
	ret = ut_bo_info(fd, c, &info);
	if (ret)
		return die("DRM_IOCTL_UPTR_BO_INFO", ret);
	check(info.pages_pinned == 0 && info.pages_resident == 0,
	      "creating it pinned nothing and looked at no page");

	step("A job faults in only the pages it touches (hmm_range_fault)");
	ret = ut_store(fd, c, SIZE - 4, 0xfeedf00d);
	if (!ret)
		ret = ut_bo_info(fd, c, &info);
	if (ret)
		return die("STORE_DWORD", ret);
	check(*(__u32 *)(reg + SIZE - 4) == 0xfeedf00d && info.pages_faulted == 1,
	      "one STORE_DWORD faulted one page, and the CPU sees the store");
	ret = ut_copy(fd, d, 0, c, 0, SIZE);
	if (!ret)
		ret = ut_copy(fd, d, 0, c, 0, SIZE);
	if (!ret)
		ret = ut_bo_info(fd, c, &info);
	if (ret)
		return die("COPY", ret);
	printf("    two whole-range copies faulted %" PRIu64 " pages of %ld\n",
	       (uint64_t)info.pages_faulted, SIZE / sysconf(_SC_PAGESIZE));
	check(info.pages_faulted == (__u64)(SIZE / sysconf(_SC_PAGESIZE)),
	      "the second job reused the pages the first one faulted in");

	step("Map new memory over it (mmap MAP_FIXED): the device follows the CPU");
	if (mmap(reg, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return die("mmap MAP_FIXED", -errno);
	memset(reg, 0x22, SIZE);
	ret = ut_copy(fd, d, 0, c, 0, SIZE);
	if (!ret)
		ret = ut_bo_info(fd, c, &info);
	if (ret)
		return die("COPY", ret);
	check(ut_find_not(map, SIZE, 0x22) == -1,
	      "the engine read the new memory, not the pages that were there");
	printf("    invalidations seen by the userptr: %" PRIu64 "\n",
	       (uint64_t)info.invalidations);

	step("Unmap it: a job on it fails with -EFAULT, the BO stays usable");
	munmap(reg, SIZE);
	check(ut_copy(fd, d, 0, c, 0, SIZE) == -EFAULT,
	      "the job was refused with -EFAULT and the device touched nothing");

	step("Release everything");
	check(ut_gem_close(fd, c) == 0, "the coherent userptr destroyed");
	munmap(map, SIZE);
	check(ut_gem_close(fd, d) == 0 && ut_gem_close(fd, u) == 0,
	      "both BOs destroyed");
	close(fd);
	free(mem);
	free(ref);

	printf("\ndemo %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
