// SPDX-License-Identifier: MIT
/*
 * uptr top: a live per-process view of uptr usage, from every process's
 * fdinfo (tools/fdinfo.c) and, when readable (root, debugfs mounted),
 * debugfs dri/N/userptrs.
 *
 * Rates (engine busy %, faults/s, invalidations/s) are deltas between
 * two samples divided by the time between them.  The first frame, and
 * the one frame of --once, use a first interval of 200 ms (or --interval
 * if shorter), so that every figure of --once is a real measurement.
 * A process seen for the first time in a frame (or whose counters went
 * down: it closed a file) has no rate yet: "-" in the table, null in
 * JSON.  Engine time is counted by the driver when a job ends, so a job
 * longer than the interval shows whole in the interval it ended in.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fdinfo.h"
#include "tool.h"

#define FIRST_INTERVAL	0.2
#define MAX_COLS	FDINFO_MAX_ENGINES

struct sample {
	struct fdinfo_proc *procs;
	size_t n;
	double t;
	long debugfs;		/* userptr lines read, or -errno */
};

static volatile sig_atomic_t top_stop;
static struct termios saved_tio;
static bool tio_saved;

static void on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

/* Keys without Enter, no echo: 'q' quits.  Restored at exit. */
static void raw_tty(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	t = saved_tio;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		tio_saved = true;
		atexit(restore_tty);
	}
}

static int sample_take(struct sample *s)
{
	int ret = fdinfo_scan("/proc", &s->procs, &s->n);

	if (ret)
		return ret;
	s->debugfs = fdinfo_debugfs_userptrs("/sys/kernel/debug", s->procs, s->n);
	s->t = tool_now();
	return 0;
}

static void sample_free(struct sample *s)
{
	free(s->procs);
	s->procs = NULL;
	s->n = 0;
}

static const struct fdinfo_proc *sample_find(const struct sample *s, pid_t pid,
					     const char *comm)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->procs[mid].pid == pid)
			return strcmp(s->procs[mid].comm, comm) ? NULL : &s->procs[mid];
		if (s->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The rates of one process between two samples; false when it has none. */
struct rates {
	double busy_pct[MAX_COLS];	/* by column */
	double faults, invalidations;	/* per second */
};

/* Engine columns: the names of every engine any process shows, in order of first sight. */
struct cols {
	unsigned int n;
	char name[MAX_COLS][FDINFO_ENGINE_NAME];
};

static void cols_collect(struct cols *c, const struct sample *s)
{
	size_t i;
	unsigned int e, k;

	c->n = 0;
	for (i = 0; i < s->n; i++)
		for (e = 0; e < s->procs[i].sum.nr_engines; e++) {
			for (k = 0; k < c->n; k++)
				if (!strcmp(c->name[k], s->procs[i].sum.engine[e]))
					break;
			if (k == c->n && c->n < MAX_COLS)
				strcpy(c->name[c->n++], s->procs[i].sum.engine[e]);
		}
}

static bool engine_ns(const struct fdinfo *f, const char *name, uint64_t *ns)
{
	unsigned int e;

	for (e = 0; e < f->nr_engines; e++)
		if (!strcmp(f->engine[e], name)) {
			*ns = f->busy_ns[e];
			return true;
		}
	return false;
}

static bool rates_of(const struct cols *c, const struct fdinfo_proc *p,
		     const struct fdinfo_proc *q, double dt, struct rates *r)
{
	const struct fdinfo *a = &p->sum, *b = q ? &q->sum : NULL;
	unsigned int k;

	if (!b || dt <= 0 || a->faulted_pages < b->faulted_pages ||
	    a->invalidations < b->invalidations)
		return false;
	for (k = 0; k < c->n; k++) {
		uint64_t x = 0, y = 0;

		engine_ns(a, c->name[k], &x);
		engine_ns(b, c->name[k], &y);
		if (x < y)
			return false;
		r->busy_pct[k] = (x - y) / (dt * 1e9) * 100;
	}
	r->faults = (a->faulted_pages - b->faulted_pages) / dt;
	r->invalidations = (a->invalidations - b->invalidations) / dt;
	return true;
}

/* @bytes with a binary unit, in @buf. */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.*f %s", v < 10 ? 1 : 0, v, unit[u]);
	return buf;
}

static void print_table(const struct sample *prev, const struct sample *cur,
			bool tty)
{
	long page = sysconf(_SC_PAGESIZE);
	double dt = cur->t - prev->t;
	char tbuf[16], r1[16], r2[16];
	struct cols c;
	struct tm tm;
	time_t wall = time(NULL);
	unsigned int k;
	size_t i;

	cols_collect(&c, cur);
	localtime_r(&wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("uptr top - %s, %zu process%s with uptr files, rates over %.2f s, debugfs %s\n",
	       tbuf, cur->n, cur->n == 1 ? "" : "es", dt,
	       cur->debugfs >= 0 ? "read" : cur->debugfs == -EACCES ||
	       cur->debugfs == -EPERM ? "not readable (not root)" : "not mounted");
	if (tty)
		printf("q or Ctrl-C quits\n");
	printf("\n%7s %-15s %4s", "PID", "COMMAND", "FDS");
	for (k = 0; k < c.n; k++)
		printf(" %8.8s%%", c.name[k]);
	printf(" %10s %10s %9s %9s %6s\n", "RESIDENT", "PINNED", "FAULTS/s", "INVAL/s",
	       "UPTRS");
	for (i = 0; i < cur->n; i++) {
		const struct fdinfo_proc *p = &cur->procs[i];
		struct rates r;
		bool have = rates_of(&c, p, sample_find(prev, p->pid, p->comm), dt, &r);

		printf("%7d %-15.15s %4u", (int)p->pid, p->comm, p->fds);
		for (k = 0; k < c.n; k++)
			if (have)
				printf(" %8.1f%%", r.busy_pct[k]);
			else
				printf(" %9s", "-");
		printf(" %10s %10s", human(p->sum.memory_resident + p->sum.userptr_resident,
					   r1, sizeof(r1)),
		       human(p->sum.pinned_pages * page, r2, sizeof(r2)));
		if (have)
			printf(" %9.0f %9.0f", r.faults, r.invalidations);
		else
			printf(" %9s %9s", "-", "-");
		printf(" %6" PRIu64 "\n", p->sum.userptrs);
	}
	fflush(stdout);
}

static void json_rate(const char *key, bool have, double v, const char *sep)
{
	if (have)
		printf("\"%s\": %.3f%s", key, v, sep);
	else
		printf("\"%s\": null%s", key, sep);
}

static void print_json(const struct sample *prev, const struct sample *cur)
{
	long page = sysconf(_SC_PAGESIZE);
	double dt = cur->t - prev->t;
	struct cols c;
	unsigned int k;
	size_t i;

	cols_collect(&c, cur);
	printf("{\n  \"interval_s\": %.3f,\n  \"page_size\": %ld,\n  \"debugfs\": %s,\n"
	       "  \"processes\": [", dt, page, cur->debugfs >= 0 ? "true" : "false");
	for (i = 0; i < cur->n; i++) {
		const struct fdinfo_proc *p = &cur->procs[i];
		const struct fdinfo *s = &p->sum;
		struct rates r;
		bool have = rates_of(&c, p, sample_find(prev, p->pid, p->comm), dt, &r);

		printf("%s\n    { \"pid\": %d, \"command\": ", i ? "," : "", (int)p->pid);
		tool_json_str(stdout, p->comm);
		printf(", \"fds\": %u, \"files\": %u,\n      \"engines\": [", p->fds, p->clients);
		for (k = 0; k < c.n; k++) {
			uint64_t ns = 0;

			engine_ns(s, c.name[k], &ns);
			printf("%s{ \"name\": ", k ? ", " : "");
			tool_json_str(stdout, c.name[k]);
			printf(", \"busy_ns\": %" PRIu64 ", ", ns);
			json_rate("busy_percent", have, have ? r.busy_pct[k] : 0, " }");
		}
		printf("],\n      \"memory_total\": %" PRIu64 ", \"memory_resident\": %" PRIu64
		       ", \"userptr_total\": %" PRIu64 ", \"userptr_resident\": %" PRIu64 ",\n"
		       "      \"resident\": %" PRIu64 ", \"pinned_bytes\": %" PRIu64
		       ", \"coherent_resident_pages\": %" PRIu64 ",\n"
		       "      \"faulted_pages\": %" PRIu64 ", \"invalidations\": %" PRIu64 ", ",
		       s->memory_total, s->memory_resident, s->userptr_total,
		       s->userptr_resident, s->memory_resident + s->userptr_resident,
		       s->pinned_pages * page, s->coherent_resident_pages,
		       s->faulted_pages, s->invalidations);
		json_rate("faults_per_s", have, have ? r.faults : 0, ", ");
		json_rate("invalidations_per_s", have, have ? r.invalidations : 0, ",\n");
		printf("      \"userptrs\": %" PRIu64, s->userptrs);
		if (cur->debugfs >= 0)
			printf(", \"debugfs_userptrs\": %" PRIu64, p->debugfs_userptrs);
		printf(" }");
	}
	printf("%s]\n}\n", cur->n ? "\n  " : "");
	fflush(stdout);
}

/*
 * Waits @seconds, or until a signal or 'q' on a terminal; false when the
 * user asked to quit.
 */
static bool wait_or_quit(double seconds)
{
	double end = tool_now() + seconds, left;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	while (!top_stop && (left = end - tool_now()) > 0) {
		int ms = (int)(left * 1000) + 1;

		if (!tio_saved) {
			struct timespec ts = { .tv_sec = ms / 1000,
					       .tv_nsec = (ms % 1000) * 1000000l };

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, ms) > 0) {
			char ch;

			if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				return false;
		}
	}
	return !top_stop;
}

static void top_usage(void)
{
	printf("Usage: uptr top [--interval SEC] [--iterations N] [--once [--json]]\n\n"
	       "Per-process uptr usage, refreshed every SEC seconds (default 1), from\n"
	       "/proc/PID/fdinfo of every uptr fd and, when readable (root, debugfs\n"
	       "mounted), /sys/kernel/debug/dri/N/userptrs.  Columns: pid, command,\n"
	       "uptr fds, each engine's busy %% over the interval, resident memory (device\n"
	       "BOs and userptr pages), pinned memory, pages faulted and invalidations\n"
	       "per second, userptrs.  q or Ctrl-C quits.\n\n"
	       "  --once          one snapshot, rates measured over 200 ms, then exit\n"
	       "  --json          with --once: the snapshot as JSON (rates null where\n"
	       "                  a process is new)\n"
	       "  --iterations N  N frames, then exit\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct sample prev = { 0 }, cur = { 0 };
	bool once = false, json = false, tty = isatty(STDOUT_FILENO);
	double interval = 1;
	long frames = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	char *end;
	int c, ret;

	while ((c = getopt_long(argc, argv, "i:n:ojhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!tool_seconds(optarg, 3600, &interval)) {
				fprintf(stderr, PROG " top: --interval takes seconds in (0, 3600]\n");
				return 2;
			}
			break;
		case 'n':
			frames = strtol(optarg, &end, 10);
			if (*end || frames <= 0) {
				fprintf(stderr, PROG " top: --iterations takes a positive count\n");
				return 2;
			}
			break;
		case 'o': once = true; break;
		case 'j': json = true; break;
		case 'h': top_usage(); return 0;
		case 'V': return tool_version();
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " top: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (json && !once) {
		fprintf(stderr, PROG " top: --json goes with --once\n");
		return 2;
	}
	if (once)
		frames = 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!once && tty)
		raw_tty();
	ret = sample_take(&prev);
	if (ret) {
		restore_tty();
		return tool_err("reading /proc", ret);
	}
	if (!wait_or_quit(interval < FIRST_INTERVAL ? interval : FIRST_INTERVAL))
		goto out;
	for (;;) {
		ret = sample_take(&cur);
		if (ret)
			break;
		if (json)
			print_json(&prev, &cur);
		else
			print_table(&prev, &cur, tty && !once);
		sample_free(&prev);
		prev = cur;
		cur = (struct sample){ 0 };
		if (frames > 0 && !--frames)
			break;
		if (!tty)
			printf("\n");
		if (!wait_or_quit(interval))
			break;
	}
out:
	sample_free(&prev);
	sample_free(&cur);
	restore_tty();
	if (ret)
		return tool_err("reading /proc", ret);
	return 0;
}
