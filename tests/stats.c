// SPDX-License-Identifier: GPL-2.0
/*
 * Description: usage statistics and introspection.  The fdinfo of a uptr
 * fd (/proc/self/fdinfo/N) follows the kernel's drm-usage-stats format
 * and matches what the test created: device BO bytes, userptr bytes,
 * pages pinned, pages resident after a job, faults and invalidations; its
 * drm-client-id is unique per open file and stable.  The debugfs file
 * dri/<minor>/userptrs lists the test's userptrs with its pid, range and
 * kind, and forgets a destroyed one.  The uptr tracepoints, read through
 * a tracefs instance of the test's own, record a userptr's creation,
 * fault-in, invalidation by munmap and destruction in that order, and a
 * running job's replayed fault.
 */
#include "uptr_harness.h"

#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define PINNED		DRM_UPTR_USERPTR_PINNED
#define RO		DRM_UPTR_USERPTR_READ_ONLY
#define TEXT_MAX	(64 * 1024)

/* Reads all of @path into @buf (NUL-terminated); 0 or -errno. */
static int read_text(const char *path, char *buf, size_t len)
{
	size_t total = 0;
	ssize_t n;
	int f;

	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	while (total < len - 1 && (n = read(f, buf + total, len - 1 - total)) > 0)
		total += n;
	n = n < 0 ? -errno : 0;
	close(f);
	buf[total] = '\0';
	return n;
}

static int fdinfo_read(int fd, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return read_text(path, buf, len);
}

/* The line of @buf starting with "@key:", or NULL. */
static const char *find_key(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *line = buf;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return line;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

/*
 * The value of "@key: <uint>[ KiB| MiB]" in @buf, in bytes for a size;
 * -ENOENT if there is no such key, -EINVAL if the value is not that.
 */
static int fdinfo_u64(const char *buf, const char *key, __u64 *val)
{
	const char *p = find_key(buf, key);
	unsigned long long v;
	char *end;

	if (!p)
		return -ENOENT;
	p += strlen(key) + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	v = strtoull(p, &end, 10);
	if (!strncmp(end, " KiB", 4)) {
		v *= UT_KIB;
		end += 4;
	} else if (!strncmp(end, " MiB", 4)) {
		v *= UT_MIB;
		end += 4;
	} else if (!strncmp(end, " ns", 3)) {
		end += 3;
	}
	if (*end != '\n' && *end != '\0')
		return -EINVAL;
	*val = v;
	return 0;
}

/* The value of key @key of @fd's fdinfo; ~0 when absent or malformed. */
static __u64 fdinfo_get(int fd, const char *key)
{
	static char buf[TEXT_MAX];
	__u64 v;

	if (fdinfo_read(fd, buf, sizeof(buf)) || fdinfo_u64(buf, key, &v))
		return ~0ull;
	return v;
}

/* Every key of DOC: fdinfo but drm-driver. */
static const char *const uptr_keys[] = {
	"drm-client-id",
	"drm-total-memory", "drm-shared-memory", "drm-resident-memory", "drm-active-memory",
	"drm-total-userptr", "drm-shared-userptr", "drm-resident-userptr", "drm-active-userptr",
	"uptr-userptrs", "uptr-pinned-pages", "uptr-coherent-resident-pages",
	"uptr-faulted-pages", "uptr-invalidations",
	"drm-engine-engine0", "drm-engine-engine1",
};

/* What the VFS itself prints first in every fdinfo file. */
static bool vfs_key(const char *line)
{
	static const char *const keys[] = { "pos:", "flags:", "mnt_id:", "ino:" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strncmp(line, keys[i], strlen(keys[i])))
			return true;
	return false;
}

/*
 * The format rules of drm-usage-stats: one "key: value" per line, keys
 * without whitespace prefixed with drm- (standard) or uptr- (uptr's own),
 * the value one word with an optional unit; drm-driver names uptr; every
 * key uptr documents is there, once, with a number.
 */
TEST_F(uptr, fdinfo_format)
{
	static char buf[TEXT_MAX];
	char *line, *save = NULL;
	char name[32];
	unsigned int i, n = 0;
	__u64 v;

	ASSERT_EQ(0, fdinfo_read(self->fd, buf, sizeof(buf)));
	ASSERT_NE(NULL, find_key(buf, "drm-driver")) {
		TH_LOG("no drm-driver in:\n%s", buf);
	}
	ASSERT_EQ(1, sscanf(find_key(buf, "drm-driver"), "drm-driver:%*[ \t]%31s", name));
	EXPECT_STREQ(UT_DRIVER_NAME, name);
	for (i = 0; i < ARRAY_SIZE(uptr_keys); i++) {
		const char *first = find_key(buf, uptr_keys[i]);

		EXPECT_EQ(0, fdinfo_u64(buf, uptr_keys[i], &v)) {
			TH_LOG("key %s missing or malformed in:\n%s", uptr_keys[i], buf);
		}
		if (first)
			EXPECT_EQ(NULL, find_key(strchr(first, '\n'), uptr_keys[i])) {
				TH_LOG("key %s twice", uptr_keys[i]);
			}
	}

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[128], value[128], unit[16];
		int words;

		if (vfs_key(line))
			continue;
		n++;
		words = sscanf(line, "%127[^: \t]:%*[ \t]%127s %15s", key, value, unit);
		ASSERT_LE(2, words) {
			TH_LOG("line \"%s\" is not \"key: value\"", line);
		}
		EXPECT_EQ(strlen(key), (size_t)(strchr(line, ':') - line)) {
			TH_LOG("key of \"%s\" holds whitespace", line);
		}
		EXPECT_TRUE(!strncmp(key, "drm-", 4) || !strncmp(key, "uptr-", 5)) {
			TH_LOG("key %s has neither the drm- nor the uptr- prefix", key);
		}
		if (words == 3)
			EXPECT_TRUE(!strcmp(unit, "KiB") || !strcmp(unit, "MiB") ||
				    !strcmp(unit, "ns")) {
				TH_LOG("line \"%s\": unknown unit", line);
			}
	}
	EXPECT_LE(ARRAY_SIZE(uptr_keys) + 1, n);
}

/*
 * drm-client-id is the same each time a file is read and through a dup
 * of its fd, and differs between two open files, also from one opened
 * after another was closed.
 */
TEST_F(uptr, fdinfo_client_id)
{
	__u64 a, b, c, again, dup_id;
	int fd2, fd3, dupfd;

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	a = fdinfo_get(self->fd, "drm-client-id");
	b = fdinfo_get(fd2, "drm-client-id");
	ASSERT_NE(~0ull, a);
	ASSERT_NE(~0ull, b);
	EXPECT_NE(a, b);

	again = fdinfo_get(self->fd, "drm-client-id");
	EXPECT_EQ(a, again);
	dupfd = dup(self->fd);
	ASSERT_LE(0, dupfd);
	dup_id = fdinfo_get(dupfd, "drm-client-id");
	EXPECT_EQ(a, dup_id);
	close(dupfd);

	close(fd2);
	fd3 = ut_open();
	ASSERT_LE(0, fd3);
	c = fdinfo_get(fd3, "drm-client-id");
	EXPECT_NE(a, c);
	EXPECT_NE(b, c);
	close(fd3);
	EXPECT_EQ(a, fdinfo_get(self->fd, "drm-client-id"));
}

/* Device BOs count in region "memory", whole, and leave it when closed. */
TEST_F(uptr, fdinfo_device_bo)
{
	__u64 big = UT_MIB, small = 16 * self->page;
	__u32 h1, h2;

	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-total-memory"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-resident-memory"));
	ASSERT_EQ(0, ut_bo_create(self->fd, big, &h1));
	ASSERT_EQ(0, ut_bo_create(self->fd, small, &h2));

	EXPECT_EQ(big + small, fdinfo_get(self->fd, "drm-total-memory"));
	EXPECT_EQ(big + small, fdinfo_get(self->fd, "drm-resident-memory"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-shared-memory"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-active-memory"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-total-userptr"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-userptrs"));

	ASSERT_EQ(0, ut_gem_close(self->fd, h1));
	EXPECT_EQ(small, fdinfo_get(self->fd, "drm-total-memory"));
	EXPECT_EQ(small, fdinfo_get(self->fd, "drm-resident-memory"));
}

/* A BO of another fd is not this fd's. */
TEST_F(uptr, fdinfo_per_file)
{
	int fd2 = ut_open();
	__u32 h;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_bo_create(fd2, 4 * self->page, &h));
	EXPECT_EQ(4 * self->page, fdinfo_get(fd2, "drm-total-memory"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-total-memory"));
	close(fd2);
}

/* A job's time on engine 1 shows in drm-engine-engine1 of its file only. */
TEST_F(uptr, fdinfo_engine_busy)
{
	struct drm_uptr_cmd c;
	struct drm_uptr_submit s = {
		.commands = (uintptr_t)&c, .count = 1,
		.flags = DRM_UPTR_SUBMIT_WAIT, .engine = 1,
	};
	int fd2 = ut_open();
	__u32 h;

	ASSERT_LE(0, fd2);
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-engine-engine0"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-engine-engine1"));
	ASSERT_EQ(0, ut_bo_create(self->fd, 16 * UT_MIB, &h));
	c = ut_cmd_fill(h, 0, 16 * UT_MIB, 7);
	ASSERT_EQ(0, ut_ioctl(self->fd, DRM_IOCTL_UPTR_SUBMIT, &s));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-engine-engine0"));
	EXPECT_LT(0ull, fdinfo_get(self->fd, "drm-engine-engine1"));
	EXPECT_NE(~0ull, fdinfo_get(self->fd, "drm-engine-engine1"));
	EXPECT_EQ(0ull, fdinfo_get(fd2, "drm-engine-engine1"));
	close(fd2);
}

/* A pinned userptr counts in region "userptr", resident whole, and pins its pages. */
TEST_F(uptr, fdinfo_pinned_userptr)
{
	size_t n = 24, size = n * self->page;
	void *mem = ut_alloc(size);
	__u32 h;

	ASSERT_NE(NULL, mem);
	memset(mem, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, mem, size, PINNED, &h));

	EXPECT_EQ(size, fdinfo_get(self->fd, "drm-total-userptr"));
	EXPECT_EQ(size, fdinfo_get(self->fd, "drm-resident-userptr"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-total-memory"));
	EXPECT_EQ(1ull, fdinfo_get(self->fd, "uptr-userptrs"));
	EXPECT_EQ(n, fdinfo_get(self->fd, "uptr-pinned-pages"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-coherent-resident-pages"));

	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-total-userptr"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-pinned-pages"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-userptrs"));
	munmap(mem, size);
}

/*
 * A coherent userptr is resident as far as jobs faulted it in: none at
 * creation, the pages a job wrote after it, as BO_INFO says, none again
 * after MADV_DONTNEED invalidated them; faults and invalidations add up.
 */
TEST_F(uptr, fdinfo_coherent_userptr_job)
{
	size_t n = 64, size = n * self->page;
	unsigned char *mem = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info info;
	__u64 inv;
	__u32 h;

	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, ut_userptr(self->fd, mem, size, 0, &h));
	EXPECT_EQ(size, fdinfo_get(self->fd, "drm-total-userptr"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-resident-userptr"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-coherent-resident-pages"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-pinned-pages"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-faulted-pages"));

	ASSERT_EQ(0, ut_fill(self->fd, h, 8 * self->page, 16 * self->page, 0x5a5a5a5a));
	ASSERT_EQ(0, ut_bo_wait(self->fd, h, 10000000000ll * ut_time_scale()));
	ASSERT_EQ(-1, ut_find_not(mem + 8 * self->page, 16 * self->page, 0x5a));

	ASSERT_EQ(0, ut_bo_info(self->fd, h, &info));
	EXPECT_EQ(16ull, info.pages_resident);
	EXPECT_EQ(info.pages_resident, fdinfo_get(self->fd, "uptr-coherent-resident-pages"));
	EXPECT_EQ(info.pages_resident * self->page,
		  fdinfo_get(self->fd, "drm-resident-userptr"));
	EXPECT_EQ(info.pages_faulted, fdinfo_get(self->fd, "uptr-faulted-pages"));
	EXPECT_LE(16ull, info.pages_faulted);
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-active-userptr"));

	inv = fdinfo_get(self->fd, "uptr-invalidations");
	ASSERT_NE(~0ull, inv);
	ASSERT_EQ(0, madvise(mem, size, MADV_DONTNEED));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-coherent-resident-pages"));
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "drm-resident-userptr"));
	EXPECT_LT(inv, fdinfo_get(self->fd, "uptr-invalidations"));
	ASSERT_EQ(0, ut_bo_info(self->fd, h, &info));
	EXPECT_EQ(info.invalidations, fdinfo_get(self->fd, "uptr-invalidations"));
	EXPECT_EQ(size, fdinfo_get(self->fd, "drm-total-userptr"));

	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	munmap(mem, size);
}

/* The debugfs file of the minor behind @fd, in @path. */
static int debugfs_path(int fd, char *path, size_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	snprintf(path, len, "/sys/kernel/debug/dri/%u/userptrs", minor(st.st_rdev));
	return 0;
}

/* One line of the debugfs listing. */
struct listed {
	unsigned long long client, start, end, pages, resident, faulted, invalidations;
	int pid, handle;
	char kind[16], access[8];
};

/* The line of @buf for @handle of client @client; false if none. */
static bool find_listed(const char *buf, __u64 client, __u32 handle, struct listed *l)
{
	const char *line = buf;

	for (; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (*line == '#')
			continue;
		if (sscanf(line, "%llu %d %d %llx %llx %15s %7s %llu %llu %llu %llu",
			   &l->client, &l->pid, &l->handle, &l->start, &l->end, l->kind,
			   l->access, &l->pages, &l->resident, &l->faulted,
			   &l->invalidations) != 11)
			continue;
		if (l->client == client && (__u32)l->handle == handle)
			return true;
	}
	return false;
}

/*
 * debugfs dri/<minor>/userptrs lists each userptr of the device with the
 * owner's pid, its range, kind and access and its counters; a destroyed
 * one disappears, the others stay.
 */
TEST_F(uptr, debugfs_userptrs)
{
	static char buf[TEXT_MAX];
	size_t n = 8, size = n * self->page;
	unsigned char *a = ut_alloc(size), *b = ut_alloc_small_pages(size);
	char path[128];
	struct listed l;
	__u64 client;
	__u32 ha, hb;
	int ret;

	if (access("/sys/kernel/debug/dri", F_OK))
		SKIP(return, "debugfs is not mounted at /sys/kernel/debug");
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	memset(a, 1, size);
	ASSERT_EQ(0, debugfs_path(self->fd, path, sizeof(path)));
	client = fdinfo_get(self->fd, "drm-client-id");
	ASSERT_NE(~0ull, client);

	ASSERT_EQ(0, ut_userptr(self->fd, a, size, PINNED | RO, &ha));
	ASSERT_EQ(0, ut_userptr(self->fd, b, size, 0, &hb));
	ASSERT_EQ(0, ut_store(self->fd, hb, self->page, 7));
	ASSERT_EQ(0, ut_bo_wait(self->fd, hb, 10000000000ll * ut_time_scale()));

	ret = read_text(path, buf, sizeof(buf));
	ASSERT_EQ(0, ret) {
		TH_LOG("%s: %s", path, strerror(-ret));
	}
	ASSERT_TRUE(find_listed(buf, client, ha, &l)) {
		TH_LOG("no line for client %llu handle %u in %s:\n%s",
		       (unsigned long long)client, ha, path, buf);
	}
	EXPECT_EQ(getpid(), l.pid);
	EXPECT_EQ((uintptr_t)a, l.start);
	EXPECT_EQ((uintptr_t)a + size, l.end);
	EXPECT_STREQ("pinned", l.kind);
	EXPECT_STREQ("ro", l.access);
	EXPECT_EQ(n, l.pages);
	EXPECT_EQ(n, l.resident);

	ASSERT_TRUE(find_listed(buf, client, hb, &l));
	EXPECT_EQ(getpid(), l.pid);
	EXPECT_EQ((uintptr_t)b, l.start);
	EXPECT_EQ((uintptr_t)b + size, l.end);
	EXPECT_STREQ("coherent", l.kind);
	EXPECT_STREQ("rw", l.access);
	EXPECT_EQ(n, l.pages);
	EXPECT_EQ(1ull, l.resident);
	EXPECT_LE(1ull, l.faulted);

	ASSERT_EQ(0, ut_gem_close(self->fd, ha));
	ASSERT_EQ(0, read_text(path, buf, sizeof(buf)));
	EXPECT_FALSE(find_listed(buf, client, ha, &l)) {
		TH_LOG("handle %u still listed after GEM_CLOSE:\n%s", ha, buf);
	}
	EXPECT_TRUE(find_listed(buf, client, hb, &l));

	ASSERT_EQ(0, madvise(b, size, MADV_DONTNEED));
	ASSERT_EQ(0, read_text(path, buf, sizeof(buf)));
	ASSERT_TRUE(find_listed(buf, client, hb, &l));
	EXPECT_EQ(0ull, l.resident);
	EXPECT_LE(1ull, l.invalidations);
	munmap(a, size);
	munmap(b, size);
}

/* A thread reading fdinfo and debugfs over and over. */
struct reader {
	int fd;
	char path[128];		/* debugfs file, "" if there is none */
	atomic_int churning;	/* set while the main thread changes userptrs */
	atomic_int stop;
	unsigned long reads, overlapped;
	int error;		/* the step that failed, 0 if none */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(TEXT_MAX);
	__u64 v;

	if (!buf) {
		r->error = 1;
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		int before = atomic_load(&r->churning);

		if (fdinfo_read(r->fd, buf, TEXT_MAX) ||
		    fdinfo_u64(buf, "uptr-userptrs", &v) ||
		    fdinfo_u64(buf, "drm-resident-userptr", &v)) {
			r->error = 2;
			break;
		}
		if (r->path[0] && read_text(r->path, buf, TEXT_MAX)) {
			r->error = 3;
			break;
		}
		r->reads++;
		if (before && atomic_load(&r->churning))
			r->overlapped++;
	}
	free(buf);
	return NULL;
}

/*
 * fdinfo and debugfs read while userptrs are created, faulted in,
 * invalidated and destroyed: every read succeeds and parses, and some
 * reads ran from start to end during the changes (the kernel log, with
 * lockdep on the debug tier, is checked by the runner).
 */
TEST_F(uptr, stats_read_during_changes)
{
	size_t n = 16, size = n * self->page;
	struct reader r = { .fd = self->fd };
	double deadline;
	unsigned int i;
	pthread_t t;
	__u32 dev;

	ASSERT_EQ(0, ut_bo_create(self->fd, size, &dev));
	if (!access("/sys/kernel/debug/dri", F_OK))
		ASSERT_EQ(0, debugfs_path(self->fd, r.path, sizeof(r.path)));
	atomic_store(&r.churning, 1);
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_main, &r));
	deadline = ut_now() + 2.0 * ut_time_scale();
	for (i = 0; i < 1000 && (i < 20 || ut_now() < deadline); i++) {
		unsigned char *mem = ut_alloc_small_pages(size);
		__u32 hc, hp;

		ASSERT_NE(NULL, mem);
		memset(mem, 3, size);
		ASSERT_EQ(0, ut_userptr(self->fd, mem, size, 0, &hc));
		ASSERT_EQ(0, ut_userptr(self->fd, mem, size, PINNED, &hp));
		ASSERT_EQ(0, ut_copy(self->fd, hc, 0, dev, 0, size / 2));
		ASSERT_EQ(0, ut_bo_wait(self->fd, hc, 10000000000ll * ut_time_scale()));
		ASSERT_EQ(0, madvise(mem, size / 2, MADV_DONTNEED));
		ASSERT_EQ(0, ut_gem_close(self->fd, hp));
		ASSERT_EQ(0, munmap(mem, size));
		ASSERT_EQ(0, ut_gem_close(self->fd, hc));
	}
	atomic_store(&r.churning, 0);
	atomic_store(&r.stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r.error);
	EXPECT_LE(1ul, r.overlapped) {
		TH_LOG("%lu reads, none of them during the %u rounds of changes", r.reads, i);
	}
	EXPECT_EQ(0ull, fdinfo_get(self->fd, "uptr-userptrs"));
}

/* A tracefs instance of the test's own: its events, its buffer. */
FIXTURE(trace) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page */
	char dir[256];		/* the instance, "" if not made */
};

static int write_text(const char *path, const char *text)
{
	int f = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (f < 0)
		return -errno;
	n = write(f, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(f);
	return n;
}

FIXTURE_SETUP(trace)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[320];
	unsigned int i;

	uptr_setup(_metadata, &self->base, NULL);
	self->fd = self->base.fd;
	self->page = self->base.page;
	for (i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(path, sizeof(path), "%s/instances", roots[i]);
		if (!access(path, W_OK))
			break;
	}
	if (i == ARRAY_SIZE(roots))
		SKIP(return, "no tracefs at /sys/kernel/tracing or /sys/kernel/debug/tracing");
	snprintf(self->dir, sizeof(self->dir), "%s/instances/uptr-stats-%d", roots[i], getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755)) {
		self->dir[0] = '\0';
		TH_LOG("mkdir of a tracefs instance: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/events/uptr/enable", self->dir);
	ASSERT_EQ(0, write_text(path, "1")) {
		TH_LOG("%s: no uptr events", path);
	}
}

/* Removing the instance drops its events and its buffer: nothing else changed. */
FIXTURE_TEARDOWN(trace)
{
	if (self->dir[0])
		EXPECT_EQ(0, rmdir(self->dir)) {
			TH_LOG("rmdir %s: %s", self->dir, strerror(errno));
		}
	uptr_teardown(_metadata, &self->base, NULL);
}

/* The first line of @buf after @from holding @event and @userptr (if not NULL). */
static const char *find_event(const char *from, const char *event, const char *userptr)
{
	const char *p = from;

	while ((p = strstr(p, event))) {
		const char *eol = strchr(p, '\n');
		const char *u = strstr(p, "userptr=");

		if (!userptr || (u && (!eol || u < eol) && !strncmp(u + 8, userptr, strlen(userptr))))
			return p;
		p += strlen(event);
	}
	return NULL;
}

/*
 * events/uptr: a coherent userptr's creation (range, kind), the fault-in
 * of a job's pages (where, how many, for write, the result), the
 * invalidation by munmap (range, event "unmap") and its destruction, in
 * that order, all naming the same userptr; the fault and the creation
 * ran in this process.
 */
TEST_F(trace, userptr_events)
{
	static char buf[4 * TEXT_MAX];
	size_t n = 8, size = n * self->page;
	unsigned char *mem = ut_alloc_small_pages(size);
	const char *create, *fault, *inval, *destroy, *line;
	unsigned long long start, end, pages, ns;
	char path[320], up[32], kind[16], access_[8], event[32], pid[24];
	int write, ret, blockable;
	cpu_set_t one;
	__u32 h;

	ASSERT_NE(NULL, mem);
	/*
	 * The four events come from this process, in this order; on one
	 * CPU the trace shows them so.  The trace clock of each CPU is
	 * its own, and need not agree with another's.
	 */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, ut_userptr(self->fd, mem, size, 0, &h));
	ASSERT_EQ(0, ut_fill(self->fd, h, 2 * self->page, 4 * self->page, 0x11111111));
	ASSERT_EQ(0, ut_bo_wait(self->fd, h, 10000000000ll * ut_time_scale()));
	ASSERT_EQ(0, munmap(mem, size));
	ASSERT_EQ(0, ut_gem_close(self->fd, h));

	snprintf(path, sizeof(path), "%s/events/uptr/enable", self->dir);
	ASSERT_EQ(0, write_text(path, "0"));
	snprintf(path, sizeof(path), "%s/trace", self->dir);
	ASSERT_EQ(0, read_text(path, buf, sizeof(buf)));
	snprintf(pid, sizeof(pid), "-%d ", getpid());

	/* This test's own userptr: the creation of its range. */
	create = buf;
	for (;;) {
		create = find_event(create, "uptr_userptr_create: ", NULL);
		ASSERT_NE(NULL, create) {
			TH_LOG("no uptr_userptr_create of 0x%lx in:\n%s", (unsigned long)mem, buf);
		}
		ASSERT_EQ(5, sscanf(create, "uptr_userptr_create: userptr=%31s start=%llx end=%llx kind=%15s access=%7s",
				    up, &start, &end, kind, access_));
		if (start == (uintptr_t)mem)
			break;
		create++;
	}
	EXPECT_EQ((uintptr_t)mem + size, end);
	EXPECT_STREQ("coherent", kind);
	EXPECT_STREQ("rw", access_);
	line = create;
	while (line > buf && line[-1] != '\n')
		line--;
	EXPECT_NE(NULL, memmem(line, create - line, pid, strlen(pid))) {
		TH_LOG("creation not traced in this process (%s): %.*s", pid,
		       (int)(create - line), line);
	}

	fault = find_event(create, "uptr_userptr_fault: ", up);
	ASSERT_NE(NULL, fault) {
		TH_LOG("no uptr_userptr_fault of userptr %s after its creation:\n%s", up, buf);
	}
	ASSERT_EQ(5, sscanf(fault, "uptr_userptr_fault: userptr=%*s start=%llx pages=%llu write=%d ret=%d ns=%llu",
			    &start, &pages, &write, &ret, &ns));
	EXPECT_EQ((uintptr_t)mem + 2 * self->page, start);
	EXPECT_EQ(4ull, pages);
	EXPECT_EQ(1, write);
	EXPECT_EQ(0, ret);
	EXPECT_LT(0ull, ns);

	inval = find_event(fault, "uptr_userptr_invalidate: ", up);
	while (inval && !strstr(inval, "event=unmap"))
		inval = find_event(inval + 1, "uptr_userptr_invalidate: ", up);
	ASSERT_NE(NULL, inval) {
		TH_LOG("no unmap invalidation of userptr %s after its fault:\n%s", up, buf);
	}
	ASSERT_EQ(5, sscanf(inval, "uptr_userptr_invalidate: userptr=%*s start=%llx end=%llx event=%31s blockable=%d ns=%llu",
			    &start, &end, event, &blockable, &ns));
	EXPECT_EQ((uintptr_t)mem, start);
	EXPECT_EQ((uintptr_t)mem + size, end);
	EXPECT_STREQ("unmap", event);
	EXPECT_EQ(1, blockable);
	EXPECT_LT(0ull, ns);

	destroy = find_event(inval, "uptr_userptr_destroy: ", up);
	ASSERT_NE(NULL, destroy) {
		TH_LOG("no uptr_userptr_destroy of userptr %s after its invalidation:\n%s", up, buf);
	}
	ASSERT_EQ(2, sscanf(destroy, "uptr_userptr_destroy: userptr=%*s start=%llx end=%llx",
			    &start, &end));
	EXPECT_EQ((uintptr_t)mem, start);
	EXPECT_EQ((uintptr_t)mem + size, end);
}

/* SUBMIT of one command from a thread of its own, which it may run to the end. */
struct bg_submit {
	int fd;
	struct drm_uptr_cmd cmd;
	int ret;
	atomic_int done;	/* set once SUBMIT returned */
};

static void *bg_submit_main(void *arg)
{
	struct bg_submit *b = arg;

	b->ret = ut_submit(b->fd, &b->cmd, 1);
	atomic_store(&b->done, 1);
	return NULL;
}

/*
 * events/uptr/uptr_userptr_replay: pages taken away (MADV_DONTNEED) at
 * the far end of a running job's coherent source are faulted in again by
 * the job, which traces a replay there that succeeds, for read.  A run
 * where the job got there first (BO_INFO counts no page faulted after
 * submit) proves nothing and is retried with a longer job, a bounded
 * number of times.
 */
TEST_F_TIMEOUT(trace, replay_event, 300)
{
	static char buf[4 * TEXT_MAX];
	const size_t take = 64;
	size_t npages = 16 * 1024, size = 0;
	char trace[320], enable[320], up[32];
	unsigned long long start = 0, end, pages;
	unsigned char *p = NULL, *tail = NULL;
	const char *ev = NULL;
	int raced = 0, attempt, write, ret;

	snprintf(trace, sizeof(trace), "%s/trace", self->dir);
	snprintf(enable, sizeof(enable), "%s/events/uptr/enable", self->dir);
	for (attempt = 0; attempt < 4 && !raced; attempt++, npages *= 2) {
		struct bg_submit b = { .fd = self->fd };
		struct drm_uptr_bo_info info;
		bool busy = false;
		pthread_t t;
		double t0;
		__u32 u, d;

		if (p)
			munmap(p, size);
		size = npages * self->page;
		/* Never written: the job reads the zero page, which costs no memory. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		tail = p + size - take * self->page;
		ASSERT_EQ(0, write_text(trace, ""));
		ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &u));
		/* The job's destination: busy from publication to the end of the job. */
		ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &d));
		b.cmd = ut_cmd_checksum(d, 0, u, 0, size);
		ASSERT_EQ(0, pthread_create(&t, NULL, bg_submit_main, &b));
		t0 = ut_now();
		while (ut_now() - t0 < 60.0 * ut_time_scale()) {
			int done = atomic_load(&b.done);

			busy = ut_bo_wait(self->fd, d, 0) == -ETIME;
			if (busy || done)
				break;
			sched_yield();
		}
		if (busy)
			ASSERT_EQ(0, madvise(tail, take * self->page, MADV_DONTNEED));
		ASSERT_EQ(0, ut_bo_wait(self->fd, d, 120000000000ll * ut_time_scale()));
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, b.ret);
		ASSERT_EQ(0, ut_bo_info(self->fd, u, &info));
		/* SUBMIT faulted every page once: any more is the job's replays. */
		raced = busy && info.pages_faulted > npages;
		ASSERT_EQ(0, ut_gem_close(self->fd, u));
		ASSERT_EQ(0, ut_gem_close(self->fd, d));
	}
	ASSERT_TRUE(raced) {
		TH_LOG("the job was never seen running before its last pages were reached");
	}
	ASSERT_EQ(0, write_text(enable, "0"));
	ASSERT_EQ(0, read_text(trace, buf, sizeof(buf)));

	/* The userptr over p (the buffer holds the last attempt only). */
	ev = find_event(buf, "uptr_userptr_create: ", NULL);
	while (ev) {
		ASSERT_EQ(2, sscanf(ev, "uptr_userptr_create: userptr=%31s start=%llx", up, &start));
		if (start == (uintptr_t)p)
			break;
		ev = find_event(ev + 1, "uptr_userptr_create: ", NULL);
	}
	ASSERT_NE(NULL, ev) {
		TH_LOG("no uptr_userptr_create of %p in:\n%s", (void *)p, buf);
	}
	for (ev = find_event(ev, "uptr_userptr_replay: ", up); ev;
	     ev = find_event(ev + 1, "uptr_userptr_replay: ", up)) {
		ASSERT_EQ(4, sscanf(ev, "uptr_userptr_replay: userptr=%*s start=%llx pages=%llu write=%d ret=%d",
				    &start, &pages, &write, &ret));
		end = start + pages * self->page;
		if (start >= (uintptr_t)tail && end <= (uintptr_t)p + size)
			break;
	}
	ASSERT_NE(NULL, ev) {
		TH_LOG("no uptr_userptr_replay within [%p, %p) of userptr %s in:\n%s",
		       (void *)tail, (void *)(p + size), up, buf);
	}
	EXPECT_LE(1ull, pages);
	EXPECT_EQ(0, write);
	EXPECT_EQ(0, ret);
	munmap(p, size);
}

TEST_HARNESS_MAIN
