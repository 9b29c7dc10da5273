// SPDX-License-Identifier: MIT
/*
 * uptr: the command-line tool of the uptr driver, on libuptr.
 *
 *   uptr info [--json] [--device PATH]   the device and its parameters
 *   uptr demo [--device PATH]            a guided, self-checking tour
 *   uptr bench [--json] [--svg FILE]     the seed's case (malloc, write, job,
 *                                        free, with and without the cache)
 *                                        and the scale curves (curves.c)
 *   uptr top [--once [--json]]           per-process usage (top.c)
 *   uptr stress [--seconds N]            the mixed stress (stress.c)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "curves.h"
#include "stress.h"
#include "tool.h"

const char *device_path;

int tool_err(const char *what, int e)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(e < 0 ? -e : e));
	return 1;
}

int tool_version(void)
{
	printf("uptr %s (libuptr %s)\n", UPTR_TOOL_VERSION, uptr_version());
	return 0;
}

bool tool_seconds(const char *arg, double max, double *v)
{
	char *end;
	double x = strtod(arg, &end);

	if (end == arg || *end || !(x > 0) || x > max)
		return false;
	*v = x;
	return true;
}

int tool_open_dev(struct uptr_dev **dev)
{
	int ret = uptr_dev_open(device_path, dev);

	if (ret) {
		fprintf(stderr, PROG ": cannot open %s: %s%s\n",
			device_path ? device_path : "a uptr render node",
			strerror(-ret),
			ret == -ENODEV && !device_path ? " (is uptr.ko loaded?)" :
			ret == -ENODEV ? " (not a uptr render node)" : "");
		return 1;
	}
	return 0;
}

double tool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- uptr info ---- */

void tool_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static const struct {
	uint32_t param;
	const char *key, *what;
} params[] = {
	{ DRM_UPTR_PARAM_PAGE_SIZE, "page_size", "page size (bytes)" },
	{ DRM_UPTR_PARAM_MAX_USERPTR_SIZE, "max_userptr_size", "largest userptr (bytes)" },
	{ DRM_UPTR_PARAM_USERPTR_FLAGS, "userptr_flags", "userptr flags accepted" },
	{ DRM_UPTR_PARAM_ENGINE_COUNT, "engine_count", "engines" },
	{ DRM_UPTR_PARAM_MAX_COMMANDS, "max_commands", "commands per job" },
	{ DRM_UPTR_PARAM_MAX_BO_SIZE, "max_bo_size", "largest device BO (bytes)" },
	{ DRM_UPTR_PARAM_USERPTR_KINDS, "userptr_kinds", "userptr kinds" },
	{ DRM_UPTR_PARAM_MAX_JOB_BYTES, "max_job_bytes", "bytes one job may cover" },
	{ DRM_UPTR_PARAM_JOB_TIMEOUT_MS, "job_timeout_ms", "time limit of a job (ms)" },
};

static void describe(uint32_t param, uint64_t v, char *s, size_t len)
{
	s[0] = '\0';
	if (param == DRM_UPTR_PARAM_USERPTR_FLAGS)
		snprintf(s, len, "%s%s%s%s",
			 v & DRM_UPTR_USERPTR_READ_ONLY ? "READ_ONLY " : "",
			 v & DRM_UPTR_USERPTR_PINNED ? "PINNED " : "",
			 v & DRM_UPTR_USERPTR_PROBE ? "PROBE " : "",
			 v & DRM_UPTR_USERPTR_NOTIFY ? "NOTIFY" : "");
	else if (param == DRM_UPTR_PARAM_USERPTR_KINDS)
		snprintf(s, len, "%s%s",
			 v & DRM_UPTR_KIND_PINNED ? "pinned " : "",
			 v & DRM_UPTR_KIND_COHERENT ? "coherent" : "");
	else if (v >= (1ull << 20) && !(v & ((1ull << 20) - 1)))
		snprintf(s, len, "%" PRIu64 " MiB", v >> 20);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *name, *desc;
	int major, minor, patch, c, ret;
	struct uptr_dev *dev;
	bool json = false;
	unsigned int i;

	while ((c = getopt_long(argc, argv, "jd:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': device_path = optarg; break;
		case 'h':
			printf("Usage: uptr info [--json] [--device PATH]\n\n"
			       "Shows the uptr device (render node, driver) and every parameter\n"
			       "the driver reports (DRM_IOCTL_UPTR_GET_PARAM), as a table or JSON.\n");
			return 0;
		case 'V': return tool_version();
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " info: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (tool_open_dev(&dev))
		return 1;
	uptr_dev_driver(dev, &name, &desc, &major, &minor, &patch);
	if (json) {
		printf("{\n  \"device\": ");
		tool_json_str(stdout, uptr_dev_path(dev));
		printf(",\n  \"driver\": ");
		tool_json_str(stdout, name);
		printf(",\n  \"driver_version\": \"%d.%d.%d\",\n  \"description\": ",
		       major, minor, patch);
		tool_json_str(stdout, desc);
		printf(",\n  \"libuptr\": \"%s\",\n  \"params\": {", uptr_version());
	} else {
		printf("%-28s %s\n%-28s %s %d.%d.%d (%s)\n%-28s %s\n\n",
		       "device", uptr_dev_path(dev), "driver", name, major, minor,
		       patch, desc, "libuptr", uptr_version());
	}
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char extra[64];
		uint64_t v;

		ret = uptr_param(dev, params[i].param, &v);
		if (ret == -EINVAL) {
			/* An older driver: not an error, just absent. */
			if (!json)
				printf("%-28s %s\n", params[i].what, "(not reported)");
			continue;
		}
		if (ret) {
			uptr_dev_close(dev);
			return tool_err(params[i].key, ret);
		}
		describe(params[i].param, v, extra, sizeof(extra));
		if (json)
			printf("%s\n    \"%s\": %" PRIu64, i ? "," : "", params[i].key, v);
		else
			printf("%-28s %-14" PRIu64 " %s\n", params[i].what, v, extra);
	}
	if (json)
		printf("\n  }\n}\n");
	uptr_dev_close(dev);
	return 0;
}

/* ---- uptr demo ---- */

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
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("    ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static bool check(bool ok, const char *what)
{
	printf("    %-6s %s\n", ok ? "ok" : "FAILED", what);
	if (!ok)
		failures++;
	return ok;
}

static bool all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;

	while (len--)
		if (*b++ != c)
			return false;
	return true;
}

static bool all_dwords(const void *p, size_t len, uint32_t v)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		uint32_t x;

		memcpy(&x, b + i, 4);
		if (x != v)
			return false;
	}
	return true;
}

#define DEMO_SIZE	(1024 * 1024)

struct demo {
	struct uptr_dev *dev;
	uint32_t res;		/* one page of device memory for results */
	uint64_t *sum;		/* mapped at its start */
	size_t page;
};

/* Fill @h at @off with @v, then checksum the same bytes into res. */
static int fill_and_sum(struct demo *d, uint32_t h, uint64_t off, size_t len,
			uint32_t v)
{
	struct drm_uptr_cmd c[2] = {
		uptr_cmd_fill(h, off, len, v),
		uptr_cmd_checksum(d->res, 0, h, off, len),
	};

	return uptr_submit_cmds(d->dev, c, 2);
}

static int sum_of(struct demo *d, uint32_t h, uint64_t off, size_t len)
{
	struct drm_uptr_cmd c = uptr_cmd_checksum(d->res, 0, h, off, len);

	return uptr_submit_cmds(d->dev, &c, 1);
}

static void demo_in_place(struct demo *d, uint32_t flags, const char *kind)
{
	void *mem = NULL;
	uint32_t h;
	int ret;

	step("The engine fills and checksums a malloc'd buffer in place, through a %s userptr",
	     kind);
	if (posix_memalign(&mem, d->page, DEMO_SIZE)) {
		check(false, "posix_memalign of 1 MiB");
		return;
	}
	memset(mem, 0, DEMO_SIZE);
	ret = uptr_userptr_create(d->dev, mem, DEMO_SIZE, flags, &h);
	say("wrapped %d KiB at %p in userptr handle %u%s", DEMO_SIZE / 1024, mem, h,
	    flags & DRM_UPTR_USERPTR_PINNED ? " (every page pinned now)" :
	    " (nothing pinned: pages are faulted in when a job touches them)");
	if (!check(ret == 0, "userptr created")) {
		free(mem);
		return;
	}
	ret = fill_and_sum(d, h, 0, DEMO_SIZE, 0xc0ffee00);
	say("one job: FILL the buffer with 0xc0ffee00, then CHECKSUM it (FNV-1a)");
	check(ret == 0, "job completed");
	check(all_dwords(mem, DEMO_SIZE, 0xc0ffee00),
	      "the CPU reads the engine's pattern in its own buffer: no copy");
	say("engine checksum %#018" PRIx64 ", CPU checksum %#018" PRIx64,
	    *d->sum, uptr_fnv1a(mem, DEMO_SIZE));
	check(*d->sum == uptr_fnv1a(mem, DEMO_SIZE), "the checksums match");
	memset(mem, 0x5a, DEMO_SIZE);
	ret = sum_of(d, h, 0, DEMO_SIZE);
	check(!ret && *d->sum == uptr_fnv1a(mem, DEMO_SIZE),
	      "after the CPU writes the buffer, the engine reads the new bytes");
	uptr_userptr_destroy(d->dev, h);
	free(mem);
}

static void *map_anon(void *at, size_t len)
{
	void *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The stale event of NOTIFY userptr @h, if one is pending (others are skipped). */
static bool stale_event_of(struct demo *d, uint32_t h, struct uptr_stale_event *ev)
{
	ev->size = sizeof(*ev);
	while (uptr_stale_event_read(d->dev, ev) == 0)
		if (ev->handle == h)
			return true;
	return false;
}

static void demo_munmap(struct demo *d)
{
	unsigned char *p = map_anon(NULL, DEMO_SIZE);
	struct uptr_stale_event ev;
	struct pollfd pfd = { .fd = uptr_dev_fd(d->dev), .events = POLLIN };
	struct uptr_gen gen;
	uint32_t hc, hp;
	uint64_t old, now = 0;

	step("munmap: a coherent userptr follows the CPU; a pinned one keeps its pages, and says so");
	if (!check(p != NULL, "mmap of 1 MiB"))
		return;
	memset(p, 0x11, DEMO_SIZE);
	old = uptr_fnv1a(p, DEMO_SIZE);
	if (!check(!uptr_userptr_create(d->dev, p, DEMO_SIZE, 0, &hc) &&
		   !uptr_userptr_create_notify(d->dev, p, DEMO_SIZE, DRM_UPTR_USERPTR_PINNED,
					       &hp, &gen),
		   "a coherent and a pinned userptr over the same memory"))
		return;
	say("the pinned one with NOTIFY: its counter is slot %u of the generation page,",
	    gen.slot);
	say("at %" PRIu64 " while it maps the pages it pinned", gen.generation);
	check(uptr_gen_check(d->dev, &gen) == 0,
	      "pinned: uptr_gen_check() says current (one memory load, no system call)");
	munmap(p, DEMO_SIZE);
	say("unmapped the memory under both");
	check(sum_of(d, hc, 0, DEMO_SIZE) == -EFAULT,
	      "coherent: the job is refused with -EFAULT (nothing mapped there now)");
	check(sum_of(d, hp, 0, DEMO_SIZE) == 0 && *d->sum == old,
	      "pinned: the job still reads the old pages it pinned");
	uptr_gen_load(d->dev, gen.slot, &now);
	say("the generation page: slot %u now %" PRIu64 " (was %" PRIu64 ")", gen.slot, now,
	    gen.generation);
	check(uptr_gen_check(d->dev, &gen) == -ESTALE && now != gen.generation,
	      "pinned: its counter moved: uptr_gen_check() says -ESTALE");
	check(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN),
	      "pinned: poll() on the device fd reports a stale event");
	if (check(stale_event_of(d, hp, &ev), "pinned: uptr_stale_event_read() returns it")) {
		say("stale event: handle %u, reason %s, [%#" PRIx64 ", %#" PRIx64 ")", ev.handle,
		    ev.reason == DRM_UPTR_STALE_UNMAP ? "UNMAP" : "ZAP", ev.start, ev.end);
		check(ev.reason == DRM_UPTR_STALE_UNMAP && ev.start == (uintptr_t)p &&
		      ev.end == (uintptr_t)p + DEMO_SIZE,
		      "the event: this handle, unmapped, over the whole range");
	}
	uptr_userptr_destroy(d->dev, hc);
	uptr_userptr_destroy(d->dev, hp);
}

static void demo_map_fixed(struct demo *d)
{
	unsigned char *p = map_anon(NULL, DEMO_SIZE);
	uint32_t h;

	step("MAP_FIXED: new memory mapped over a coherent userptr is picked up");
	if (!check(p != NULL, "mmap of 1 MiB"))
		return;
	memset(p, 0x11, DEMO_SIZE);
	if (!check(!uptr_userptr_create(d->dev, p, DEMO_SIZE, 0, &h) &&
		   !sum_of(d, h, 0, DEMO_SIZE) && *d->sum == uptr_fnv1a(p, DEMO_SIZE),
		   "a coherent userptr, and a job that read the memory"))
		return;
	if (!check(map_anon(p, DEMO_SIZE) == p, "mmap(MAP_FIXED) of new memory at the same address"))
		return;
	memset(p, 0x22, DEMO_SIZE);
	check(!sum_of(d, h, 0, DEMO_SIZE) && *d->sum == uptr_fnv1a(p, DEMO_SIZE),
	      "the next job reads the new memory, through the same handle");
	uptr_userptr_destroy(d->dev, h);
	munmap(p, DEMO_SIZE);
}

static void demo_fork(struct demo *d)
{
	unsigned char *p = map_anon(NULL, DEMO_SIZE);
	uint32_t h;
	pid_t pid;
	int st;

	step("fork: a userptr belongs to its process; copy-on-write keeps them apart");
	if (!check(p != NULL, "mmap of 1 MiB"))
		return;
	memset(p, 0x11, DEMO_SIZE);
	if (!check(!uptr_userptr_create(d->dev, p, DEMO_SIZE, 0, &h),
		   "the parent's coherent userptr"))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct drm_uptr_cmd c = uptr_cmd_fill(h, 0, DEMO_SIZE, 0x55555555);
		uint32_t mine;

		if (uptr_submit_cmds(d->dev, &c, 1) != -EFAULT)
			_exit(1);
		if (uptr_userptr_create(d->dev, p, DEMO_SIZE, 0, &mine))
			_exit(2);
		c = uptr_cmd_fill(mine, 0, DEMO_SIZE, 0x55555555);
		if (uptr_submit_cmds(d->dev, &c, 1) || !all_bytes(p, DEMO_SIZE, 0x55))
			_exit(3);
		uptr_userptr_destroy(d->dev, mine);
		_exit(0);
	}
	if (!check(pid > 0, "fork"))
		return;
	waitpid(pid, &st, 0);
	say("the child: a job on the parent's handle, then on a userptr of its own");
	check(WIFEXITED(st) && WEXITSTATUS(st) != 1,
	      "the child's job on the parent's userptr was refused with -EFAULT");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child's own userptr let the engine write the child's copy");
	check(all_bytes(p, DEMO_SIZE, 0x11), "the parent's memory is untouched (copy-on-write)");
	check(!fill_and_sum(d, h, 0, DEMO_SIZE, 0x66666666) && all_bytes(p, DEMO_SIZE, 0x66),
	      "the parent's userptr still works for the parent");
	uptr_userptr_destroy(d->dev, h);
	munmap(p, DEMO_SIZE);
}

static void demo_engines(struct demo *d)
{
	uint32_t buf = 0, a = 0, b = 0, in;
	struct drm_uptr_cmd fill, sum;
	struct uptr_submit s = { .size = sizeof(s) };
	int fd = uptr_dev_fd(d->dev), sync_file = -1, ret;
	unsigned char *ref = malloc(DEMO_SIZE);
	struct pollfd pfd;
	void *map = NULL;

	step("Two engines and a sync_file: a job on engine 1 waits for one on engine 0");
	if (!check(ref && !uptr_bo_create(d->dev, DEMO_SIZE, 0, &buf) &&
		   !uptr_bo_mmap(d->dev, buf, DEMO_SIZE, PROT_READ | PROT_WRITE, &map) &&
		   !drmSyncobjCreate(fd, 0, &a) && !drmSyncobjCreate(fd, 0, &b),
		   "a 1 MiB device BO and two syncobjs")) {
		free(ref);
		return;
	}
	fill = uptr_cmd_fill(buf, 0, DEMO_SIZE, 0x600df00d);
	s.flags = UPTR_SUBMIT_ASYNC;
	s.cmds = &fill;
	s.count = 1;
	s.engine = 0;
	s.out_syncobj = a;
	ret = uptr_submit(d->dev, &s);
	say("engine 0: FILL queued (the call returned at once), its fence in a syncobj");
	check(ret == 0, "the first job was queued");
	ret = drmSyncobjExportSyncFile(fd, a, &sync_file);
	check(ret == 0, "its fence exported as a sync_file, a plain fd");
	pfd = (struct pollfd){ .fd = sync_file, .events = POLLIN };
	check(poll(&pfd, 1, 60000) == 1, "poll() on the sync_file says when the job is done");
	ret = drmSyncobjImportSyncFile(fd, b, sync_file);
	check(ret == 0, "the sync_file imported into another syncobj");
	sum = uptr_cmd_checksum(d->res, 0, buf, 0, DEMO_SIZE);
	in = b;
	s = (struct uptr_submit){ .size = sizeof(s), .cmds = &sum, .count = 1,
				  .engine = 1, .in_count = 1, .in_syncobjs = &in };
	ret = uptr_submit(d->dev, &s);
	say("engine 1: CHECKSUM of the same BO, after that syncobj's fence");
	for (size_t i = 0; i < DEMO_SIZE; i += 4)
		memcpy(ref + i, &(uint32_t){ 0x600df00d }, 4);
	check(ret == 0 && *d->sum == uptr_fnv1a(ref, DEMO_SIZE),
	      "the second job read what the first wrote");
	if (sync_file >= 0)
		close(sync_file);
	drmSyncobjDestroy(fd, a);
	drmSyncobjDestroy(fd, b);
	uptr_bo_munmap(map, DEMO_SIZE);
	uptr_bo_destroy(d->dev, buf);
	free(ref);
}

static void demo_dmabuf(struct demo *d)
{
	uint32_t buf = 0;
	void *map = NULL;
	int dmabuf = -1, st = 0;
	pid_t pid;

	step("A dma-buf: a device BO shared with another process");
	if (!check(!uptr_bo_create(d->dev, DEMO_SIZE, 0, &buf) &&
		   !uptr_bo_mmap(d->dev, buf, DEMO_SIZE, PROT_READ | PROT_WRITE, &map),
		   "a 1 MiB device BO, mapped"))
		return;
	memset(map, 0x11, DEMO_SIZE);
	check(!uptr_bo_export(d->dev, buf, 0, &dmabuf), "exported as a dma-buf fd");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct uptr_dev *dev;
		struct drm_uptr_cmd c;
		uint32_t h;

		/* Its own device file: the BO reaches it only through the dma-buf. */
		if (uptr_dev_open(uptr_dev_path(d->dev), &dev))
			_exit(1);
		if (uptr_bo_import(dev, dmabuf, &h))
			_exit(2);
		c = uptr_cmd_fill(h, 0, DEMO_SIZE, 0x77777777);
		_exit(uptr_submit_cmds(dev, &c, 1) ? 3 : 0);
	}
	if (!check(pid > 0, "fork"))
		return;
	waitpid(pid, &st, 0);
	say("the child opened the device itself, imported the dma-buf, and filled it");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's job ran on the shared BO");
	check(all_bytes(map, DEMO_SIZE, 0x77), "the parent sees the child's bytes in its mapping");
	close(dmabuf);
	uptr_bo_munmap(map, DEMO_SIZE);
	uptr_bo_destroy(d->dev, buf);
}

static void demo_cache(struct demo *d)
{
	struct uptr_cache_stats st0 = { .size = sizeof(st0) }, st = { .size = sizeof(st) };
	int i, n = 500, bad = 0, ret = 0;

	step("The registration cache: a malloc/submit/free loop without managing userptrs");
	uptr_cache_stats(d->dev, &st0);
	for (i = 0; i < n && !ret; i++) {
		unsigned char *p = malloc(64 * 1024);
		struct uptr_buf *b;

		if (!p) {
			ret = -ENOMEM;
			break;
		}
		memset(p, i, 64 * 1024);
		ret = uptr_buf_get(d->dev, p, 64 * 1024, 0, &b);
		if (!ret) {
			ret = sum_of(d, uptr_buf_handle(b), uptr_buf_offset(b, p), 64 * 1024);
			bad += !ret && *d->sum != uptr_fnv1a(p, 64 * 1024);
			uptr_buf_put(b);
		}
		free(p);
	}
	uptr_cache_stats(d->dev, &st);
	say("%d rounds of malloc(64 KiB), write, uptr_buf_get, checksum job, put, free",
	    n);
	say("cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " BOs held",
	    st.hits - st0.hits, st.misses - st0.misses, st.entries);
	check(ret == 0 && bad == 0, "every job checksummed what the CPU had just written");
	check(st.hits - st0.hits >= (uint64_t)n * 9 / 10,
	      "at least 90% of the rounds were cache hits (no userptr created)");
}

static int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct demo d = { 0 };
	const char *name;
	void *map;
	int c, ret, major = 0, minor = 0;

	while ((c = getopt_long(argc, argv, "d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': device_path = optarg; break;
		case 'h':
			printf("Usage: uptr demo [--device PATH]\n\n"
			       "A guided tour of what uptr does today, each step checked: the\n"
			       "engine working on malloc'd memory in place through coherent and\n"
			       "pinned userptrs, munmap, MAP_FIXED, fork, two engines and a\n"
			       "sync_file, a dma-buf shared with another process, and the\n"
			       "registration cache.  Exit status 1 when any step failed.\n");
			return 0;
		case 'V': return tool_version();
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " demo: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("uptr demo: a device working on a process's own memory, in place.\n");
	step("Open the first uptr render node");
	if (tool_open_dev(&d.dev))
		return 1;
	uptr_dev_driver(d.dev, &name, NULL, &major, &minor, NULL);
	say("%s, driver \"%s\" version %d.%d", uptr_dev_path(d.dev), name,
	    major, minor);
	d.page = uptr_page_size(d.dev);
	ret = uptr_bo_create(d.dev, d.page, 0, &d.res);
	if (!ret)
		ret = uptr_bo_mmap(d.dev, d.res, d.page, PROT_READ | PROT_WRITE, &map);
	if (!check(ret == 0, "a device BO for results, mapped")) {
		uptr_dev_close(d.dev);
		return 1;
	}
	d.sum = map;

	demo_in_place(&d, 0, "coherent");
	demo_in_place(&d, DRM_UPTR_USERPTR_PINNED, "pinned");
	demo_munmap(&d);
	demo_map_fixed(&d);
	demo_fork(&d);
	demo_engines(&d);
	demo_dmabuf(&d);
	demo_cache(&d);

	uptr_bo_munmap(map, d.page);
	uptr_dev_close(d.dev);
	printf("\ndemo %s\n", failures ? "FAILED" : "passed: every step ok");
	return failures ? 1 : 0;
}

/* ---- uptr bench ---- */

#define BENCH_ROUNDS	5

struct bench_case {
	size_t size;
	uint32_t flags;
	bool cache;
	double us;		/* per iteration: the median of the rounds */
	unsigned long iters;
	uint64_t hits, misses;
	double round_us[BENCH_ROUNDS];
};

static double bench_seconds = 0.5;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One round of @bc for @seconds; adds to its counts. */
static int bench_round(struct demo *d, struct bench_case *bc, int round,
		       double seconds)
{
	struct uptr_cache_stats st0 = { .size = sizeof(st0) }, st = { .size = sizeof(st) };
	double t0, t;
	unsigned long i;
	int ret = 0;

	uptr_cache_stats(d->dev, &st0);
	t0 = tool_now();
	for (i = 0; ; i++) {
		unsigned char *p;
		uint32_t h = 0;
		int64_t off;
		struct uptr_buf *b = NULL;
		int cret = 0;

		if (i >= 8 && ((i & 7) == 0) && tool_now() - t0 > seconds)
			break;
		p = malloc(bc->size);
		if (!p)
			return -ENOMEM;
		memset(p, (int)i, bc->size);
		if (bc->cache) {
			ret = uptr_buf_get(d->dev, p, bc->size, bc->flags, &b);
			h = b ? uptr_buf_handle(b) : 0;
			off = b ? uptr_buf_offset(b, p) : 0;
		} else {
			uintptr_t s = (uintptr_t)p & ~(d->page - 1);
			uintptr_t e = ((uintptr_t)p + bc->size + d->page - 1) & ~(d->page - 1);

			ret = cret = uptr_userptr_create(d->dev, (void *)s, e - s,
							 bc->flags, &h);
			off = (uintptr_t)p - s;
		}
		if (!ret)
			ret = sum_of(d, h, off, bc->size);
		if (!ret && (i == 0 || i % 64 == 0) && *d->sum != uptr_fnv1a(p, bc->size))
			ret = -EIO;
		if (bc->cache)
			uptr_buf_put(b);
		else if (!cret)
			uptr_userptr_destroy(d->dev, h);
		free(p);
		if (ret)
			return ret;
	}
	t = tool_now() - t0;
	uptr_cache_stats(d->dev, &st);
	bc->iters += i;
	bc->round_us[round] = t / i * 1e6;
	bc->hits += st.hits - st0.hits;
	bc->misses += st.misses - st0.misses;
	return 0;
}

/*
 * (a) and (b) of one size and kind, in BENCH_ROUNDS alternating rounds
 * so that a noisy neighbour (other VMs, builds) hits both alike; the
 * median round of each is reported.
 */
static int bench_pair(struct demo *d, struct bench_case *a, struct bench_case *b)
{
	double slice = bench_seconds / BENCH_ROUNDS;
	int r, ret;

	uptr_cache_flush(d->dev);
	for (r = 0; r < BENCH_ROUNDS; r++) {
		ret = bench_round(d, a, r, slice);
		if (!ret)
			ret = bench_round(d, b, r, slice);
		if (ret)
			return ret;
	}
	qsort(a->round_us, BENCH_ROUNDS, sizeof(double), cmp_double);
	qsort(b->round_us, BENCH_ROUNDS, sizeof(double), cmp_double);
	a->us = a->round_us[BENCH_ROUNDS / 2];
	b->us = b->round_us[BENCH_ROUNDS / 2];
	return 0;
}

/*
 * Cost of one cache hit against one uncached create + destroy of a
 * 4 KiB userptr of kind @flags: BENCH_ROUNDS alternating rounds, the
 * median of each.
 */
static int bench_hit_cost(struct demo *d, uint32_t flags, double *hit_ns,
			  double *create_ns)
{
	unsigned char *p = map_anon(NULL, d->page);
	double slice = bench_seconds / 2 / BENCH_ROUNDS;
	double hit[BENCH_ROUNDS], create[BENCH_ROUNDS];
	struct uptr_buf *b;
	unsigned long i, n;
	double t0;
	uint32_t h;
	int r, ret;

	if (!p)
		return -ENOMEM;
	memset(p, 1, d->page);
	/* Hits are measured on a coherent buf (a pinned hit adds one load). */
	ret = uptr_buf_get(d->dev, p, d->page, 0, &b);
	if (ret)
		return ret;
	uptr_buf_put(b);
	for (r = 0; r < BENCH_ROUNDS && !ret; r++) {
		t0 = tool_now();
		for (n = 0; tool_now() - t0 < slice; n += 100)
			for (i = 0; i < 100; i++) {
				uptr_buf_get(d->dev, p, d->page, 0, &b);
				uptr_buf_put(b);
			}
		hit[r] = (tool_now() - t0) / n * 1e9;
		t0 = tool_now();
		for (n = 0; n < 4 || tool_now() - t0 < slice; n++) {
			ret = uptr_userptr_create(d->dev, p, d->page, flags, &h);
			if (ret)
				break;
			uptr_userptr_destroy(d->dev, h);
		}
		create[r] = (tool_now() - t0) / (n ? n : 1) * 1e9;
	}
	munmap(p, d->page);
	if (ret)
		return ret;
	qsort(hit, BENCH_ROUNDS, sizeof(double), cmp_double);
	qsort(create, BENCH_ROUNDS, sizeof(double), cmp_double);
	*hit_ns = hit[BENCH_ROUNDS / 2];
	*create_ns = create[BENCH_ROUNDS / 2];
	return 0;
}

static bool progress_tty;

/* A progress line on stderr, when it is a terminal; NULL clears it. */
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	if (!progress_tty)
		return;
	fprintf(stderr, "\r%78s\r", "");
	if (fmt) {
		fputs(PROG " bench: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fflush(stderr);
}

static void curve_progress(unsigned int i, const char *title)
{
	progress("curve %u/%d: %s", i, NR_CURVES, title);
}

/* The seed's case: 6 pairs into @bc, then the hit cost. */
static int bench_seed(struct demo *d, struct bench_case *bc, int *np, double *hit_ns,
		      double *cc_ns, double *cp_ns)
{
	static const size_t sizes[] = { 4096, 65536, 1 << 20 };
	int ret, n = 0, i, k, m;

	for (i = 0; i < 3; i++)
		for (k = 0; k < 2; k++) {
			for (m = 0; m < 2; m++)
				bc[n + m] = (struct bench_case){
					.size = sizes[i],
					.flags = k ? DRM_UPTR_USERPTR_PINNED : 0,
					.cache = m,
				};
			progress("seed case %d/7: %zu KiB %s, per-iteration and cache",
				 n / 2 + 1, sizes[i] / 1024, k ? "pinned" : "coherent");
			ret = bench_pair(d, &bc[n], &bc[n + 1]);
			if (ret)
				return ret;
			n += 2;
		}
	*np = n;
	progress("seed case 7/7: cache hit against create + destroy");
	ret = bench_hit_cost(d, 0, hit_ns, cc_ns);
	if (!ret)
		ret = bench_hit_cost(d, DRM_UPTR_USERPTR_PINNED, hit_ns, cp_ns);
	return ret;
}

static void print_seed_json(const struct bench_case *bc, int n, double hit_ns,
			    double cc_ns, double cp_ns)
{
	int i;

	printf("  \"seconds_per_case\": %g,\n  \"seed_case\": [", bench_seconds);
	for (i = 0; i < n; i += 2)
		printf("%s\n    { \"size\": %zu, \"kind\": \"%s\", "
		       "\"per_iteration_us\": %.2f, \"cache_us\": %.2f, "
		       "\"speedup\": %.2f, \"cache_hits\": %" PRIu64 ", "
		       "\"cache_misses\": %" PRIu64 " }",
		       i ? "," : "", bc[i].size,
		       bc[i].flags ? "pinned" : "coherent", bc[i].us, bc[i + 1].us,
		       bc[i].us / bc[i + 1].us, bc[i + 1].hits, bc[i + 1].misses);
	printf("\n  ],\n  \"cache_hit_ns\": %.0f,\n  \"coherent_create_destroy_ns\": %.0f,\n"
	       "  \"pinned_create_destroy_ns\": %.0f", hit_ns, cc_ns, cp_ns);
}

static void print_seed_table(const struct bench_case *bc, int n, double hit_ns,
			     double cc_ns, double cp_ns)
{
	int i;

	printf("Seed case: malloc, write, CHECKSUM job, free (us per iteration,\n"
	       "median of %d alternating rounds, %.2g s per case)\n\n", BENCH_ROUNDS,
	       bench_seconds);
	printf("%-8s %-9s %14s %10s %8s %16s\n", "size", "kind",
	       "(a) per-iter", "(b) cache", "(a)/(b)", "hits/misses");
	for (i = 0; i < n; i += 2)
		printf("%5zu KiB %-9s %14.1f %10.1f %7.2fx %8" PRIu64 "/%-7" PRIu64 "\n",
		       bc[i].size / 1024, bc[i].flags ? "pinned" : "coherent",
		       bc[i].us, bc[i + 1].us, bc[i].us / bc[i + 1].us,
		       bc[i + 1].hits, bc[i + 1].misses);
	printf("\nPinned (b): the cache keeps NOTIFY pinned BOs and checks each hit with one\n"
	       "load of the generation page; free() unmapping the buffer makes it stale.\n\n");
	printf("cache hit (uptr_buf_get + put, 4 KiB):  %8.0f ns\n", hit_ns);
	printf("uncached coherent create + destroy:     %8.0f ns  (hit = %.1f%%)\n",
	       cc_ns, 100 * hit_ns / cc_ns);
	printf("uncached pinned create + destroy:       %8.0f ns  (hit = %.1f%%)\n",
	       cp_ns, 100 * hit_ns / cp_ns);
}

static void print_curves_table(const struct curve *cv)
{
	unsigned int i, k, p;

	for (i = 0; i < NR_CURVES; i++) {
		printf("\n%s\n%-34s", cv[i].title, cv[i].x_label);
		for (k = 0; k < cv[i].nr_series; k++)
			printf(" %12s", cv[i].series[k].name);
		printf("   (%s)\n", cv[i].y_label);
		for (p = 0; p < CURVE_MAX_POINTS; p++) {
			bool any = false;

			for (k = 0; k < cv[i].nr_series; k++)
				any |= p < cv[i].series[k].n;
			if (!any)
				break;
			printf("%-34g", cv[i].series[0].n > p ? cv[i].series[0].x[p] :
			       cv[i].series[1].x[p]);
			for (k = 0; k < cv[i].nr_series; k++)
				if (p < cv[i].series[k].n)
					printf(" %12.2f", cv[i].series[k].y[p]);
				else
					printf(" %12s", "-");
			printf("\n");
		}
	}
}

static void bench_usage(void)
{
	printf("Usage: uptr bench [--json] [--svg FILE] [--seconds S] [--max-count N]\n"
	       "                  [--only seed|curves] [--device PATH]\n\n"
	       "The seed's case: a loop that mallocs a buffer, writes it, runs a\n"
	       "job (CHECKSUM) on it and frees it, for 4 KiB, 64 KiB and 1 MiB,\n"
	       "coherent and pinned, with (a) a userptr created and destroyed per\n"
	       "iteration and (b) the registration cache (uptr_buf_get/put).  Each\n"
	       "case runs about S seconds (default 0.5).  Then the cost of one cache\n"
	       "hit against one uncached create + destroy.\n\n"
	       "The scale curves, coherent and pinned, counts by 4x up to N (default\n"
	       "4096): the cost of one create against the userptrs already held; the\n"
	       "kernel memory (Slab) per userptr held; the cost of munmap of 16 pages\n"
	       "against the userptrs over them (up to 256).\n\n"
	       "  --json        the results as JSON on stdout\n"
	       "  --svg FILE    the curves as an SVG chart in FILE\n"
	       "  --only WHAT   only the seed's case, or only the curves\n\n"
	       "Progress goes to stderr when it is a terminal.\n");
}

static int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "seconds", required_argument, NULL, 's' },
		{ "svg", required_argument, NULL, 'g' },
		{ "max-count", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'o' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct bench_case bc[12];
	struct curve cv[NR_CURVES];
	struct demo d = { 0 };
	double hit_ns = 0, cc_ns = 0, cp_ns = 0;
	bool json = false, seed = true, curves = true;
	const char *svg = NULL;
	unsigned long max_count = 4096;
	FILE *svgf = NULL;
	void *map;
	char *end;
	int c, ret, n = 0;

	while ((c = getopt_long(argc, argv, "js:g:m:o:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's':
			if (!tool_seconds(optarg, 60, &bench_seconds)) {
				fprintf(stderr, PROG " bench: --seconds takes a number in (0, 60]\n");
				return 2;
			}
			break;
		case 'g': svg = optarg; break;
		case 'm':
			max_count = strtoul(optarg, &end, 10);
			if (*end || end == optarg || max_count < 1 || max_count > (1u << 20)) {
				fprintf(stderr, PROG " bench: --max-count takes 1 to %u\n", 1u << 20);
				return 2;
			}
			break;
		case 'o':
			seed = !strcmp(optarg, "seed");
			curves = !strcmp(optarg, "curves");
			if (!seed && !curves) {
				fprintf(stderr, PROG " bench: --only takes seed or curves\n");
				return 2;
			}
			break;
		case 'd': device_path = optarg; break;
		case 'h': bench_usage(); return 0;
		case 'V': return tool_version();
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (svg && !curves) {
		fprintf(stderr, PROG " bench: --svg draws the curves: not with --only seed\n");
		return 2;
	}
	/* Open the output first: a bad path is found before minutes of work. */
	if (svg) {
		svgf = fopen(svg, "w");
		if (!svgf)
			return tool_err(svg, errno);
	}
	progress_tty = isatty(STDERR_FILENO);
	if (tool_open_dev(&d.dev)) {
		if (svgf)
			fclose(svgf);
		return 1;
	}
	d.page = uptr_page_size(d.dev);
	ret = uptr_bo_create(d.dev, d.page, 0, &d.res);
	if (!ret)
		ret = uptr_bo_mmap(d.dev, d.res, d.page, PROT_READ | PROT_WRITE, &map);
	if (ret) {
		uptr_dev_close(d.dev);
		if (svgf)
			fclose(svgf);
		return tool_err("result BO", ret);
	}
	d.sum = map;
	if (seed)
		ret = bench_seed(&d, bc, &n, &hit_ns, &cc_ns, &cp_ns);
	if (!ret && curves)
		ret = curves_measure(d.dev, d.res, max_count, curve_progress, cv);
	progress(NULL);
	uptr_bo_munmap(map, d.page);
	uptr_dev_close(d.dev);
	if (ret) {
		if (svgf)
			fclose(svgf);
		return tool_err("bench", ret);
	}

	if (json) {
		printf("{\n");
		if (seed)
			print_seed_json(bc, n, hit_ns, cc_ns, cp_ns);
		if (curves) {
			printf("%s  ", seed ? ",\n" : "");
			curves_json(stdout, cv, NR_CURVES);
		}
		printf("\n}\n");
	} else {
		if (seed)
			print_seed_table(bc, n, hit_ns, cc_ns, cp_ns);
		if (curves)
			print_curves_table(cv);
	}
	if (svgf) {
		ret = curves_svg(svgf, cv, NR_CURVES);
		if (fclose(svgf) && !ret)
			ret = -errno;
		if (ret)
			return tool_err(svg, ret);
	}
	return 0;
}

/* ---- uptr stress ---- */

static void stress_usage(void)
{
	printf("Usage: uptr stress [--seconds N] [--seed S] [--threads T] [--device PATH]\n\n"
	       "The mixed stress of coherent userptrs (the engine of the project's\n"
	       "stress_coherent test): T mutator threads (default 2) munmap, mmap\n"
	       "MAP_FIXED, mremap, mprotect and madvise(DONTNEED) slices of a region\n"
	       "while T submitter threads copy ranges of it through coherent userptrs\n"
	       "into device BOs, for N seconds (default 10), and check every slice a job\n"
	       "copied.  A progress line each second on stderr when it is a terminal;\n"
	       "a summary at the end, with the seed (default: from the clock) that\n"
	       "replays the same choices.  Exit status 1 on any data mismatch or\n"
	       "unexpected error.\n");
}

int cmd_stress(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "threads", required_argument, NULL, 't' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct stress_config cfg = { .seconds = 10, .threads = 2 };
	bool tty = isatty(STDERR_FILENO), seeded = false;
	unsigned long jobs, efault, muts, fails;
	struct stress_counts cnt;
	struct uptr_dev *dev;
	char why[256], *end;
	double t0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:S:t:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_seconds(optarg, 86400, &cfg.seconds)) {
				fprintf(stderr, PROG " stress: --seconds takes a number in (0, 86400]\n");
				return 2;
			}
			break;
		case 'S':
			errno = 0;
			cfg.seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) {
				fprintf(stderr, PROG " stress: --seed takes an unsigned number\n");
				return 2;
			}
			seeded = true;
			break;
		case 't':
			cfg.threads = strtoul(optarg, &end, 10);
			if (*end || end == optarg || cfg.threads < 1 ||
			    cfg.threads > STRESS_MAX_THREADS) {
				fprintf(stderr, PROG " stress: --threads takes 1 to %d\n",
					STRESS_MAX_THREADS);
				return 2;
			}
			break;
		case 'd': device_path = optarg; break;
		case 'h': stress_usage(); return 0;
		case 'V': return tool_version();
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " stress: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = (uint64_t)ts.tv_sec * 1000000007ull ^ ts.tv_nsec ^ getpid();
	}
	if (tool_open_dev(&dev))
		return 1;
	ret = stress_start(dev, &cfg, why, sizeof(why));
	if (ret) {
		fprintf(stderr, PROG " stress: %s\n", why);
		return 1;
	}
	t0 = tool_now();
	while (tool_now() - t0 < cfg.seconds) {
		double left = cfg.seconds - (tool_now() - t0);
		struct timespec ts;

		if (left > 1)
			left = 1;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		if (!tty)
			continue;
		stress_progress(&jobs, &efault, &muts, &fails);
		fprintf(stderr, "\r" PROG " stress: %3.0f/%.0f s: %lu jobs, %lu -EFAULT, %lu mutations, %lu failures   ",
			tool_now() - t0, cfg.seconds, jobs, efault, muts, fails);
	}
	if (tty)
		fprintf(stderr, "\r%100s\r", "");
	stress_finish(false, &cnt);
	stress_print(stdout, "", &cfg, &cnt);
	printf("stress %s\n", cnt.failures ? "FAILED" : "passed");
	uptr_dev_close(dev);
	return cnt.failures ? 1 : 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: uptr [--version] [--help] COMMAND [ARGS]\n\n"
		"Commands:\n"
		"  info    the uptr device and its parameters (--json)\n"
		"  demo    a guided, self-checking tour of what uptr does\n"
		"  bench   the seed's case and the scale curves (--json, --svg FILE)\n"
		"  top     per-process uptr usage, live or --once (--json)\n"
		"  stress  the mixed stress of coherent userptrs (--seconds N)\n\n"
		"'uptr COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return tool_version();
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "demo"))
		return cmd_demo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(argv[1], "top"))
		return cmd_top(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stress"))
		return cmd_stress(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
