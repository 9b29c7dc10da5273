/* SPDX-License-Identifier: MIT */
/*
 * fdinfo: what the uptr driver prints in /proc/PID/fdinfo/FD (the keys of
 * kernel/uptr_stats.c's DOC: fdinfo), parsed from text, and the per-process
 * sums over every such file of the system.  Used by `uptr top`; the parser
 * takes plain text so that a test can feed it fixed input.
 */
#ifndef UPTR_TOOLS_FDINFO_H
#define UPTR_TOOLS_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FDINFO_MAX_ENGINES	8
#define FDINFO_ENGINE_NAME	32

/* One DRM file of the uptr driver, as its fdinfo describes it. */
struct fdinfo {
	uint64_t client_id;		/* drm-client-id */
	bool has_client_id;
	unsigned int nr_engines;	/* drm-engine-<name> keys, in order */
	char engine[FDINFO_MAX_ENGINES][FDINFO_ENGINE_NAME];
	uint64_t busy_ns[FDINFO_MAX_ENGINES];
	uint64_t memory_total, memory_resident;	/* drm-*-memory: device BOs */
	uint64_t userptr_total, userptr_resident; /* drm-*-userptr */
	uint64_t userptrs;		/* uptr-userptrs */
	uint64_t pinned_pages;		/* uptr-pinned-pages */
	uint64_t coherent_resident_pages; /* uptr-coherent-resident-pages */
	uint64_t faulted_pages;		/* uptr-faulted-pages */
	uint64_t invalidations;		/* uptr-invalidations */
};

/*
 * Parses the fdinfo text @text into @fi (zeroed first).  Unknown keys and
 * other drivers' keys are ignored; a known key whose value is not a
 * number is an error.  Returns 0 for a file of driver "uptr", -ENOENT for
 * a file of another driver or no DRM file at all, -EINVAL for a
 * malformed value of a known key.
 */
int fdinfo_parse(const char *text, struct fdinfo *fi);

/* What one process's uptr files add up to (each DRM file counted once). */
struct fdinfo_proc {
	pid_t pid;
	char comm[32];
	unsigned int fds;		/* fds on uptr files (dups included) */
	unsigned int clients;		/* distinct files (drm-client-id) */
	struct fdinfo sum;		/* engines in the first file's order */
	uint64_t debugfs_userptrs;	/* lines of debugfs dri/N/userptrs */
};

/*
 * Adds file @fi to @p unless a file of the same client id was already
 * added (a dup, or the same file at another fd); returns true if added.
 * @seen/@nseen: the client ids added so far, @max of room.
 */
bool fdinfo_proc_add(struct fdinfo_proc *p, const struct fdinfo *fi,
		     uint64_t *seen, unsigned int *nseen, unsigned int max);

/*
 * Every process of @proc_root (normally "/proc") with at least one uptr
 * fd: *@procs (malloc'd, the caller frees), *@n of them, sorted by pid.
 * Processes or fds that vanish or cannot be read are passed over.
 * Returns 0 or -errno (-ENOMEM; the errno of opening @proc_root).
 */
int fdinfo_scan(const char *proc_root, struct fdinfo_proc **procs, size_t *n);

/*
 * Adds the lines of the debugfs files dri/N/userptrs under @debugfs_root
 * (normally "/sys/kernel/debug") to the processes of @procs, by pid
 * (each userptr of a file counted once, across the minors that show it).
 * Returns the number of userptr lines read, or -errno when no such file
 * can be read (not root, debugfs not mounted).
 */
long fdinfo_debugfs_userptrs(const char *debugfs_root, struct fdinfo_proc *procs,
			     size_t n);

#endif /* UPTR_TOOLS_FDINFO_H */
