/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the tests of the uptr command (tests/tool_*.c): running
 * build/tools/uptr with a time bound and capturing what it prints, and
 * reading numbers out of its JSON.
 */
#ifndef UPTR_TOOL_TEST_H
#define UPTR_TOOL_TEST_H

#include "uptr_harness.h"

/* TEST() (no fixture) passes a variant it does not use. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include <libgen.h>
#include <signal.h>
#include <stdarg.h>

#define TT_OUT	(256 * 1024)
#define TT_ERR	(16 * 1024)

struct tt_run {
	int status;		/* exit status; 128 + signal; -1 timed out */
	size_t out_len, err_len;
	char out[TT_OUT];	/* stdout, NUL-terminated (cut at TT_OUT - 1) */
	char err[TT_ERR];	/* stderr, likewise */
};

/* build/tools/uptr, found from this program's own path (build/tests/NAME). */
static inline const char *tt_tool(void)
{
	static char path[4096];
	char self[4000];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "uptr";
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/../tools/uptr", dirname(self));
	return path;
}

/*
 * Runs the uptr command with the NULL-terminated arguments after
 * @timeout_s (scaled by ut_time_scale()); kills it when it runs longer.
 * Returns 0, or -errno when it could not be started.
 */
static inline int tt_run(struct tt_run *r, double timeout_s, ...)
{
	const char *argv[32];
	int po[2], pe[2], n = 1, open_fds = 2;
	double deadline = ut_now() + timeout_s * ut_time_scale();
	va_list ap;
	pid_t pid;

	argv[0] = tt_tool();
	va_start(ap, timeout_s);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while (open_fds) {
		struct pollfd pf[2] = { { .fd = po[0], .events = POLLIN },
					{ .fd = pe[0], .events = POLLIN } };
		double left = deadline - ut_now();
		int i;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			char *buf = i ? r->err : r->out;
			size_t *len = i ? &r->err_len : &r->out_len;
			size_t cap = i ? TT_ERR : TT_OUT;
			char sink[4096];
			ssize_t got;

			/* A closed pipe (fd -1) is no longer polled. */
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (*len < cap - 1)
				got = read(pf[i].fd, buf + *len, cap - 1 - *len);
			else
				got = read(pf[i].fd, sink, sizeof(sink));
			if (got <= 0) {
				close(i ? pe[0] : po[0]);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				open_fds--;
			} else if (*len < cap - 1) {
				*len += got;
			}
		}
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	r->out[r->out_len] = '\0';
	r->err[r->err_len] = '\0';
	r->status = ut_wait_child(pid);
	if (open_fds)
		r->status = -1;
	return 0;
}

/*
 * The JSON object of `uptr top --json` whose "pid" is @pid: a pointer to
 * its "pid" key, or NULL.  The object ends at the next "pid" key.
 */
static inline const char *tt_json_pid(const char *json, int pid)
{
	char key[32];

	snprintf(key, sizeof(key), "\"pid\": %d,", pid);
	return strstr(json, key);
}

/*
 * The number after "@key": in @obj, before the next "@stop" key (NULL: no
 * bound); -1.0 when absent or null.
 */
static inline double tt_json_num(const char *obj, const char *key, const char *stop)
{
	char k[96];
	const char *p, *end = NULL;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(obj, k);
	if (stop) {
		char s[96];

		snprintf(s, sizeof(s), "\"%s\": ", stop);
		end = strstr(obj + 1, s);
	}
	if (!p || (end && p > end) || !strncmp(p + strlen(k), "null", 4))
		return -1.0;
	return strtod(p + strlen(k), NULL);
}

/* How many times @needle occurs in @hay. */
static inline unsigned int tt_count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

#endif /* UPTR_TOOL_TEST_H */
