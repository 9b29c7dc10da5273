// SPDX-License-Identifier: MIT
/*
 * fdinfo: the uptr driver's fdinfo keys, parsed, and summed per process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fdinfo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A decimal number, optionally followed by " ns" (engine keys). */
static int parse_u64(const char *s, const char *end, bool ns, uint64_t *v)
{
	uint64_t x = 0;
	const char *p = s;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		if (x > (UINT64_MAX - (*p - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (*p - '0');
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (ns && end - p >= 2 && !strncmp(p, "ns", 2))
		p += 2;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end)
		return -EINVAL;
	*v = x;
	return 0;
}

static const struct {
	const char *key;
	size_t off;
} u64_keys[] = {
	{ "drm-client-id", offsetof(struct fdinfo, client_id) },
	{ "drm-total-memory", offsetof(struct fdinfo, memory_total) },
	{ "drm-resident-memory", offsetof(struct fdinfo, memory_resident) },
	{ "drm-total-userptr", offsetof(struct fdinfo, userptr_total) },
	{ "drm-resident-userptr", offsetof(struct fdinfo, userptr_resident) },
	{ "uptr-userptrs", offsetof(struct fdinfo, userptrs) },
	{ "uptr-pinned-pages", offsetof(struct fdinfo, pinned_pages) },
	{ "uptr-coherent-resident-pages", offsetof(struct fdinfo, coherent_resident_pages) },
	{ "uptr-faulted-pages", offsetof(struct fdinfo, faulted_pages) },
	{ "uptr-invalidations", offsetof(struct fdinfo, invalidations) },
};

int fdinfo_parse(const char *text, struct fdinfo *fi)
{
	const char *line = text, *next;
	bool uptr = false;
	unsigned int i;

	memset(fi, 0, sizeof(*fi));
	for (; line && *line; line = next) {
		const char *eol = strchr(line, '\n'), *colon;
		size_t klen;

		eol = eol ? eol : line + strlen(line);
		next = *eol ? eol + 1 : NULL;
		colon = memchr(line, ':', eol - line);
		if (!colon)
			continue;
		klen = colon - line;
		if (klen == strlen("drm-driver") && !strncmp(line, "drm-driver", klen)) {
			const char *v = colon + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			uptr = eol - v >= 4 && !strncmp(v, "uptr", 4) &&
			       (eol - v == 4 || isspace((unsigned char)v[4]));
			continue;
		}
		if (klen > strlen("drm-engine-") &&
		    !strncmp(line, "drm-engine-", strlen("drm-engine-"))) {
			const char *name = line + strlen("drm-engine-");
			size_t nlen = colon - name;
			uint64_t v;

			if (parse_u64(colon + 1, eol, true, &v))
				return -EINVAL;
			if (fi->nr_engines == FDINFO_MAX_ENGINES ||
			    nlen >= FDINFO_ENGINE_NAME)
				continue;
			memcpy(fi->engine[fi->nr_engines], name, nlen);
			fi->engine[fi->nr_engines][nlen] = '\0';
			fi->busy_ns[fi->nr_engines++] = v;
			continue;
		}
		for (i = 0; i < sizeof(u64_keys) / sizeof(u64_keys[0]); i++) {
			if (strlen(u64_keys[i].key) != klen ||
			    strncmp(u64_keys[i].key, line, klen))
				continue;
			if (parse_u64(colon + 1, eol, false,
				      (uint64_t *)((char *)fi + u64_keys[i].off)))
				return -EINVAL;
			if (i == 0)
				fi->has_client_id = true;
			break;
		}
	}
	return uptr ? 0 : -ENOENT;
}

bool fdinfo_proc_add(struct fdinfo_proc *p, const struct fdinfo *fi,
		     uint64_t *seen, unsigned int *nseen, unsigned int max)
{
	struct fdinfo *s = &p->sum;
	unsigned int i, j;

	p->fds++;
	if (fi->has_client_id) {
		for (i = 0; i < *nseen; i++)
			if (seen[i] == fi->client_id)
				return false;
		if (*nseen < max)
			seen[(*nseen)++] = fi->client_id;
	}
	p->clients++;
	for (i = 0; i < fi->nr_engines; i++) {
		for (j = 0; j < s->nr_engines; j++)
			if (!strcmp(s->engine[j], fi->engine[i]))
				break;
		if (j == s->nr_engines) {
			if (j == FDINFO_MAX_ENGINES)
				continue;
			strcpy(s->engine[j], fi->engine[i]);
			s->nr_engines++;
		}
		s->busy_ns[j] += fi->busy_ns[i];
	}
	s->memory_total += fi->memory_total;
	s->memory_resident += fi->memory_resident;
	s->userptr_total += fi->userptr_total;
	s->userptr_resident += fi->userptr_resident;
	s->userptrs += fi->userptrs;
	s->pinned_pages += fi->pinned_pages;
	s->coherent_resident_pages += fi->coherent_resident_pages;
	s->faulted_pages += fi->faulted_pages;
	s->invalidations += fi->invalidations;
	return true;
}

/* The whole of a small /proc or debugfs file, NUL-terminated; NULL if unreadable. */
static char *read_text(int dirfd, const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - len < 2) {
			nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void read_comm(int pidfd, char *comm, size_t len)
{
	char *t = read_text(pidfd, "comm");
	size_t n;

	snprintf(comm, len, "%s", t ? t : "?");
	n = strlen(comm);
	if (n && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	free(t);
}

/* The uptr files of process @pidfd into @p; 0 when it has none. */
static int scan_pid(int pidfd, struct fdinfo_proc *p)
{
	uint64_t seen[256];
	unsigned int nseen = 0;
	struct dirent *de;
	int dfd;
	DIR *d;

	dfd = openat(pidfd, "fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct fdinfo fi;
		char *t;

		if (de->d_name[0] == '.')
			continue;
		t = read_text(dfd, de->d_name);
		if (t && !fdinfo_parse(t, &fi))
			fdinfo_proc_add(p, &fi, seen, &nseen, 256);
		free(t);
	}
	closedir(d);
	return p->fds;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct fdinfo_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int fdinfo_scan(const char *proc_root, struct fdinfo_proc **procs, size_t *n)
{
	struct fdinfo_proc *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(proc_root);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct fdinfo_proc p;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int pidfd;

		if (*end || pid <= 0)
			continue;
		pidfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pidfd < 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.pid = pid;
		if (scan_pid(pidfd, &p)) {
			read_comm(pidfd, p.comm, sizeof(p.comm));
			if (cnt == cap) {
				cap = cap ? cap * 2 : 16;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					close(pidfd);
					closedir(d);
					free(v);
					return -ENOMEM;
				}
				v = nv;
			}
			v[cnt++] = p;
		}
		close(pidfd);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_pid);
	*procs = v;
	*n = cnt;
	return 0;
}

struct dbg_userptr {
	uint64_t client;
	long pid;
	long handle;
};

static int cmp_dbg(const void *a, const void *b)
{
	const struct dbg_userptr *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return (x->handle > y->handle) - (x->handle < y->handle);
}

long fdinfo_debugfs_userptrs(const char *debugfs_root, struct fdinfo_proc *procs,
			     size_t n)
{
	struct dbg_userptr *v = NULL, *nv;
	size_t cnt = 0, cap = 0, i, k;
	char path[512];
	struct dirent *de;
	bool any = false;
	int err = -ENOENT;
	DIR *d;

	snprintf(path, sizeof(path), "%s/dri", debugfs_root);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *t, *line, *save = NULL;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/userptrs", de->d_name);
		t = read_text(dirfd(d), path);
		if (!t) {
			if (errno == EACCES || errno == EPERM)
				err = -errno;
			continue;
		}
		any = true;
		for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct dbg_userptr u;

			if (line[0] == '#' ||
			    sscanf(line, "%" SCNu64 " %ld %ld", &u.client, &u.pid, &u.handle) != 3)
				continue;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 64;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					break;
				v = nv;
			}
			v[cnt++] = u;
		}
		free(t);
	}
	closedir(d);
	if (!any) {
		free(v);
		return err;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_dbg);
	for (i = 0, k = 0; i < cnt; i++) {
		size_t j;

		/* The same file's userptr, shown again under another minor. */
		if (i && !cmp_dbg(&v[i], &v[i - 1]))
			continue;
		k++;
		for (j = 0; j < n; j++)
			if (procs[j].pid == v[i].pid)
				procs[j].debugfs_userptrs++;
	}
	free(v);
	return k;
}
