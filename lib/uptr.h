/* SPDX-License-Identifier: MIT */
/*
 * libuptr: the user-space library of the uptr DRM driver.
 *
 * One header, one prefix (uptr_).  Conventions, for every function that
 * returns an int unless its comment says otherwise:
 *  - 0 or a non-negative value on success, a negative errno on failure
 *    (never -1 with errno set);
 *  - ioctls interrupted by a signal are restarted (-EINTR never escapes,
 *    except where the kernel reports a fatal signal that ended a job);
 *  - the errors listed are the library's own plus those of the ioctl,
 *    documented in <drm/uptr_drm.h> in the order the kernel checks them.
 *
 * The header includes the uAPI header rather than copying what it needs:
 * commands (struct drm_uptr_cmd), parameters (enum drm_uptr_param),
 * userptr flags and the BO info are the kernel's own definitions, so a
 * program never sees two spellings of one constant, and a new uAPI
 * member is usable the day the header is installed.  <drm/uptr_drm.h>
 * includes libdrm's "drm.h": build with `pkg-config --cflags libuptr`,
 * which pulls in libdrm's include directory.
 *
 * ABI: the library exports only uptr_* symbols, versioned UPTR_1.0.
 * Structs that will grow (struct uptr_submit, struct uptr_cache_stats,
 * struct uptr_stale_event, struct uptr_notify_info) carry their size,
 * set by the caller to sizeof(the struct it was compiled with): the
 * library reads or writes only that many bytes, so a program built
 * against an older header keeps working, and members added later (new
 * counters for the cache, the engine and fences of struct uptr_submit's
 * version 2) default to "not used"; members an output struct of a newer
 * header has beyond what the library knows are left as the caller set
 * them.  struct uptr_gen is a fixed value that never grows.  Opaque
 * types (struct uptr_dev, struct uptr_buf) hide everything else.  Later
 * features are new functions and new members at the end of these
 * structs.
 *
 * Thread safety: every function may be called from any thread on a
 * shared struct uptr_dev, except uptr_dev_close(), which must be the
 * last call on it.  The registration cache serialises itself with one
 * mutex per device.
 */
#ifndef LIBUPTR_UPTR_H
#define LIBUPTR_UPTR_H

#include <stddef.h>
#include <stdint.h>

#include <drm/uptr_drm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UPTR_LIB_VERSION_MAJOR	1
#define UPTR_LIB_VERSION_MINOR	0

/* An open uptr device (render node); opaque. */
struct uptr_dev;

/*
 * Opens @path (e.g. "/dev/dri/renderD128"), or, when @path is NULL, the
 * first render node whose driver is "uptr" (enumerated with libdrm's
 * drmGetDevices2(); when it finds none, the render nodes of /dev/dri
 * are tried directly, for buses libdrm cannot describe).  The fd is
 * opened O_CLOEXEC.
 * Errors: -ENODEV when no uptr render node exists or @path is not one;
 * -ENOMEM; the errno of open(2) on @path.
 */
int uptr_dev_open(const char *path, struct uptr_dev **devp);

/*
 * Destroys every BO the registration cache still holds (those this
 * process created), closes the fd and frees @dev.  Every uptr_buf_get()
 * must have been balanced by uptr_buf_put() before.  BOs the caller
 * created itself die with the fd (unless a forked process shares it).
 * NULL is allowed.
 */
void uptr_dev_close(struct uptr_dev *dev);

/* The DRM fd, for poll(2) or ioctls the library does not wrap. */
int uptr_dev_fd(const struct uptr_dev *dev);

/* The path of the render node that was opened. */
const char *uptr_dev_path(const struct uptr_dev *dev);

/*
 * The DRM driver's name, description and version (drmGetVersion());
 * any output pointer may be NULL.  The strings live as long as @dev.
 */
void uptr_dev_driver(const struct uptr_dev *dev, const char **name,
		     const char **desc, int *major, int *minor, int *patch);

/*
 * DRM_IOCTL_UPTR_GET_PARAM: stores the value of @param
 * (enum drm_uptr_param) in @value.
 * Errors: -EINVAL for a parameter the driver does not know.
 */
int uptr_param(struct uptr_dev *dev, uint32_t param, uint64_t *value);

/*
 * Typed getters of parameters read once at open: the page size, the
 * DRM_UPTR_KIND_* mask, the DRM_UPTR_USERPTR_* flags accepted, the most
 * commands per job.  The driver's version is uptr_dev_driver()'s.
 */
uint64_t uptr_page_size(const struct uptr_dev *dev);
uint64_t uptr_userptr_kinds(const struct uptr_dev *dev);
uint64_t uptr_userptr_flags(const struct uptr_dev *dev);
uint64_t uptr_max_commands(const struct uptr_dev *dev);

/*
 * Device-local BOs.  uptr_bo_create(): @size bytes, a non-zero multiple
 * of the page size, zero-filled; @flags must be 0.  uptr_bo_mmap(): maps
 * @size bytes of it MAP_SHARED with @prot (PROT_READ | PROT_WRITE...).
 * Errors: see DRM_IOCTL_UPTR_BO_CREATE, DRM_IOCTL_UPTR_BO_MMAP_OFFSET
 * (-ENODEV for a userptr BO) and the errno of mmap(2).
 */
int uptr_bo_create(struct uptr_dev *dev, uint64_t size, uint32_t flags,
		   uint32_t *handle);
int uptr_bo_mmap(struct uptr_dev *dev, uint32_t handle, uint64_t size,
		 int prot, void **map);
/* munmap(2) of a uptr_bo_mmap() mapping; -EINVAL as munmap reports it. */
int uptr_bo_munmap(void *map, uint64_t size);

/*
 * Destroys a BO handle of any kind (GEM close through libdrm).  Jobs in
 * flight keep their own references.  Errors: -EINVAL for an unknown
 * handle.
 */
int uptr_bo_destroy(struct uptr_dev *dev, uint32_t handle);

/*
 * A userptr BO over [@ptr, @ptr + @size), both page aligned.
 * @flags: DRM_UPTR_USERPTR_PINNED (pin now; without it the userptr is
 * coherent, the default), DRM_UPTR_USERPTR_READ_ONLY,
 * DRM_UPTR_USERPTR_PROBE.  Programs that just want "a BO for this
 * memory" should use uptr_buf_get() instead.
 * Errors: those of DRM_IOCTL_UPTR_USERPTR (-EINVAL, -E2BIG, -EFAULT,
 * -ENOMEM; -EINTR when a fatal signal stopped the pin).
 */
int uptr_userptr_create(struct uptr_dev *dev, const void *ptr,
			uint64_t size, uint32_t flags, uint32_t *handle);
/* The same as uptr_bo_destroy(), named for symmetry. */
int uptr_userptr_destroy(struct uptr_dev *dev, uint32_t handle);

/*
 * Waits until no job uses @handle; @timeout_ns relative, 0 polls.
 * Errors: -ETIME when still busy after @timeout_ns; -ENOENT for an
 * unknown handle; -EINVAL for a negative timeout.
 */
int uptr_bo_wait(struct uptr_dev *dev, uint32_t handle, int64_t timeout_ns);

/*
 * dma-buf sharing (PRIME, see DOC: Sharing buffers in <drm/uptr_drm.h>).
 * uptr_bo_export(): a dma-buf fd of BO @handle in *@fd, close-on-exec;
 * @flags: 0, or DRM_RDWR for a dma-buf that can be mapped writable.  The
 * BO lives as long as the dma-buf does (and its mappings and imports).
 * uptr_bo_import(): the handle, in this device's file, of the BO behind
 * dma-buf @fd: the BO itself for a dma-buf of uptr (the same handle for
 * one this file exported), a new BO of kind DRM_UPTR_BO_KIND_IMPORT for
 * another driver's; the fd stays the caller's to close.
 * Errors of uptr_bo_export(): -EINVAL for other @flags, or a BO that
 * cannot be exported (a coherent or READ_ONLY userptr, a pinned one over
 * memory other than anonymous or shmem); -ENOENT for an unknown handle;
 * -ENOMEM.  Of uptr_bo_import(): -EBADF for a closed fd; -EINVAL for an
 * fd that is not a dma-buf, or one uptr cannot map (see the uAPI);
 * -E2BIG above DRM_UPTR_PARAM_MAX_BO_SIZE; -ENOMEM.
 */
int uptr_bo_export(struct uptr_dev *dev, uint32_t handle, uint32_t flags, int *fd);
int uptr_bo_import(struct uptr_dev *dev, int fd, uint32_t *handle);

/*
 * DRM_IOCTL_UPTR_BO_INFO into @info (the uAPI's struct; its @handle is
 * set by the call).  Errors: -ENOENT for an unknown handle.
 */
int uptr_bo_info(struct uptr_dev *dev, uint32_t handle,
		 struct drm_uptr_bo_info *info);

/*
 * A job: @count commands at @cmds, run in order.  @size must be set to
 * sizeof(struct uptr_submit).  The first version of the struct ended at
 * @pad; a caller compiled against it never sets the members after it,
 * and the library treats them as absent (engine 0, no fences, wait).
 *
 * Without UPTR_SUBMIT_ASYNC, uptr_submit() returns once the job has
 * completed, with its error.  With it, uptr_submit() returns once the job
 * is queued: it runs after the fences of the @in_count syncobjs at
 * @in_syncobjs (and after the earlier jobs on its BOs), and its fence
 * goes into @out_syncobj; wait for it with libdrm's drmSyncobjWait(), or
 * export it as a sync_file with drmSyncobjExportSyncFile(), on
 * uptr_dev_fd(), or wait for a BO with uptr_bo_wait().  Syncobjs are
 * libdrm's (drmSyncobjCreate() on uptr_dev_fd()).
 */
#define UPTR_SUBMIT_ASYNC	(1u << 0)

struct uptr_submit {
	uint32_t size;		/* in: sizeof(struct uptr_submit) */
	uint32_t flags;		/* in: UPTR_SUBMIT_* */
	const struct drm_uptr_cmd *cmds;	/* in */
	uint32_t count;		/* in: 1 to uptr_max_commands() */
	uint32_t pad;		/* in: 0 */
	/* Version 2. */
	uint32_t engine;	/* in: below DRM_UPTR_PARAM_ENGINE_COUNT */
	uint32_t in_count;	/* in: syncobjs at @in_syncobjs */
	const uint32_t *in_syncobjs;	/* in: syncobj handles the job waits for */
	uint32_t out_syncobj;	/* in: 0, or the syncobj that gets the job's fence */
	uint32_t pad2;		/* in: 0 */
};

/*
 * Runs, or with UPTR_SUBMIT_ASYNC queues, the job described by @submit.
 * Errors: -EINVAL for @size smaller than the first version of the
 * struct, an unknown bit in @flags, or non-zero @pad or @pad2; -E2BIG
 * for a larger @size whose extra bytes (members this library does not
 * know) are not all zero; then those of DRM_IOCTL_UPTR_SUBMIT (-EINVAL,
 * -ENOENT, -EACCES, -EFAULT, -EAGAIN, -E2BIG, -ENOMEM, and without
 * UPTR_SUBMIT_ASYNC the job's own: -ETIMEDOUT, -ECANCELED, -EINTR).
 */
int uptr_submit(struct uptr_dev *dev, const struct uptr_submit *submit);

/* uptr_submit() of @count commands, no options. */
int uptr_submit_cmds(struct uptr_dev *dev, const struct drm_uptr_cmd *cmds,
		     uint32_t count);

/*
 * Makes [@offset, @offset + @size) of the coherent userptr @handle (whole
 * pages) valid for the device ahead of the jobs that will use it.
 * @flags are the uAPI's: DRM_UPTR_PREFETCH_WRITE (fault for writes, else
 * reads), DRM_UPTR_PREFETCH_NO_FAULT (take only what the CPU maps
 * already), DRM_UPTR_PREFETCH_ASYNC (queue it on @engine behind this
 * device's earlier jobs there and return; its fence goes into
 * @out_syncobj, 0 for none).  Without ASYNC, @engine and @out_syncobj
 * must be 0, and the call returns once the range is valid; a signal
 * restarts it, and it goes on from the pages done so far.
 * Errors: those of DRM_IOCTL_UPTR_PREFETCH: -EINVAL (bad flags or
 * members, a BO that is not a coherent userptr, a range beyond it),
 * -ENOENT (unknown handle or syncobj), -EFAULT (another process's
 * userptr; without ASYNC, a page that cannot be accessed as asked),
 * -EACCES (DRM_UPTR_PREFETCH_WRITE on a READ_ONLY userptr), -EAGAIN,
 * -ENOMEM.  With ASYNC, what the prefetch meets is its fence's error.
 */
int uptr_prefetch(struct uptr_dev *dev, uint32_t handle, uint64_t offset,
		  uint64_t size, uint32_t flags, uint32_t engine,
		  uint32_t out_syncobj);

/*
 * Stale pinned userptrs (NOTIFY; see DOC: Stale pinned userptrs in
 * <drm/uptr_drm.h>).  A pinned userptr keeps the pages it pinned after
 * munmap(), mmap(MAP_FIXED), mremap(), madvise(MADV_DONTNEED)... of its
 * range; one created with NOTIFY also says when the range stops mapping
 * those pages ("stale"), twice: its counter in the device fd's
 * generation page moves (checked with one memory load), and one stale
 * event is queued on the fd (for poll(2) and uptr_stale_event_read()).
 * The registration cache (uptr_buf_get()) uses these functions for its
 * own pinned BOs.  On a driver without DRM_UPTR_USERPTR_NOTIFY in
 * uptr_userptr_flags(), every function below fails with -EOPNOTSUPP.
 */

/*
 * What a NOTIFY userptr was created with: its counter in the generation
 * page and the counter's value while the BO is not stale.  A fixed
 * 16-byte value (the uAPI's gen_slot and generation): it never grows.
 */
struct uptr_gen {
	uint32_t slot;		/* index of the BO's counter in the page */
	uint32_t pad;		/* 0 */
	uint64_t generation;	/* the counter's value while the BO is not stale */
};

/*
 * uptr_userptr_create() with DRM_UPTR_USERPTR_NOTIFY: a pinned userptr
 * whose staleness is reported.  @flags must contain
 * DRM_UPTR_USERPTR_PINNED (NOTIFY is added; READ_ONLY and PROBE as for
 * uptr_userptr_create()).  Maps the device's generation page first if
 * this is its first use (an ioctl and an mmap, once per device).  The
 * BO's slot is given back when @handle is destroyed.
 * Errors: -EINVAL for a NULL @handle or @gen, or @flags without PINNED;
 * -EOPNOTSUPP (see above); -ENOMEM, or the errno of mmap(2), when the
 * generation page cannot be mapped; those of DRM_IOCTL_UPTR_USERPTR
 * (-EINVAL, -E2BIG, -EFAULT, -ENOMEM, -EINTR, and -ENOSPC when every
 * slot of the page is taken: destroy a NOTIFY userptr).
 */
int uptr_userptr_create_notify(struct uptr_dev *dev, const void *ptr,
			       uint64_t size, uint32_t flags, uint32_t *handle,
			       struct uptr_gen *gen);

/*
 * Whether the NOTIFY userptr created with @gen still maps the pages it
 * pinned: 0 while it does, -ESTALE once it is stale (or destroyed; a
 * later BO in the same slot never brings the old value back).  One
 * acquire load of the counter, no system call: every change of the
 * mapping that returned before the call (in this thread, or one that
 * synchronised with it) is seen.  To know that a job worked on current
 * pages from start to end, check before submitting and after it
 * completed.  Errors: -EINVAL for a NULL @gen or a slot beyond the
 * page; -EOPNOTSUPP; those of mapping the page (see
 * uptr_userptr_create_notify()).
 */
int uptr_gen_check(struct uptr_dev *dev, const struct uptr_gen *gen);

/*
 * The current value of counter @slot of the generation page into
 * @value (one acquire load, no system call once the page is mapped; the
 * first call may map it).  Errors: as uptr_gen_check(), -EINVAL for a
 * NULL @value.
 */
int uptr_gen_load(struct uptr_dev *dev, uint32_t slot, uint64_t *value);

/* A NOTIFY userptr became stale (struct drm_uptr_event_stale). */
struct uptr_stale_event {
	uint32_t size;		/* in: sizeof(struct uptr_stale_event) */
	uint32_t handle;	/* out: the handle the BO was created with */
	uint32_t reason;	/* out: enum drm_uptr_stale_reason of the first change */
	uint32_t pad;		/* out: 0 */
	uint64_t start;		/* out: first address that change covered */
	uint64_t end;		/* out: its end (exclusive), within the BO's range */
};

/*
 * Reads the next stale event of the device into @ev, without blocking:
 * 0 with an event, -EAGAIN when none is pending.  There is one event
 * per NOTIFY userptr of the device's fd that became stale, those the
 * registration cache created included (the cache needs none: it checks
 * the generation page); ignore handles you do not know.  An event stays
 * queued after its handle is closed, and a handle number may be reused
 * by then: uptr_gen_check() says whether a BO of yours is stale.  To
 * wait, poll(2) uptr_dev_fd() for POLLIN, then call this until it
 * returns -EAGAIN (the library reads several events at once and hands
 * them out one by one, so poll() may not report the ones it holds).
 * The library must be the fd's only reader.  Events beyond the fd's
 * event space (4 KiB: 128 events unread) are dropped and counted in
 * uptr_notify_query()'s events_lost; their BOs are stale all the same.
 * @ev->size: the library fills at most that many bytes.
 * Errors: -EINVAL for a NULL @ev or a @size smaller than the first
 * version of the struct; -EAGAIN; the errno of poll(2) or read(2).
 */
int uptr_stale_event_read(struct uptr_dev *dev, struct uptr_stale_event *ev);

/* The NOTIFY state of the device's fd (struct drm_uptr_notify_query). */
struct uptr_notify_info {
	uint32_t size;		/* in: sizeof(struct uptr_notify_info) */
	uint32_t pad;		/* out: 0 */
	uint64_t gen_slots;	/* out: counters in the page: most NOTIFY userptrs alive */
	uint64_t events_sent;	/* out: stale events queued on the fd so far */
	uint64_t events_lost;	/* out: stale events dropped: the event space was full */
};

/*
 * DRM_IOCTL_UPTR_NOTIFY_QUERY into @info (up to @info->size bytes).
 * Errors: -EINVAL for a NULL @info or a @size smaller than the first
 * version of the struct; -EOPNOTSUPP; -ENOMEM.
 */
int uptr_notify_query(struct uptr_dev *dev, struct uptr_notify_info *info);

/* Command builders (inline: no symbol, no ABI). */
static inline struct drm_uptr_cmd uptr_cmd_copy(uint32_t dst, uint64_t dst_offset,
						uint32_t src, uint64_t src_offset,
						uint64_t size)
{
	struct drm_uptr_cmd c = {
		.op = DRM_UPTR_OP_COPY,
		.dst_handle = dst, .src_handle = src,
		.dst_offset = dst_offset, .src_offset = src_offset,
		.size = size,
	};
	return c;
}

static inline struct drm_uptr_cmd uptr_cmd_fill(uint32_t dst, uint64_t dst_offset,
						uint64_t size, uint32_t pattern)
{
	struct drm_uptr_cmd c = {
		.op = DRM_UPTR_OP_FILL,
		.dst_handle = dst, .dst_offset = dst_offset,
		.size = size, .value = pattern,
	};
	return c;
}

static inline struct drm_uptr_cmd uptr_cmd_store_dword(uint32_t dst,
						       uint64_t dst_offset,
						       uint32_t value)
{
	struct drm_uptr_cmd c = {
		.op = DRM_UPTR_OP_STORE_DWORD,
		.dst_handle = dst, .dst_offset = dst_offset,
		.size = 4, .value = value,
	};
	return c;
}

/* FNV-1a 64 of src's @size bytes, written (8 bytes) at dst's offset. */
static inline struct drm_uptr_cmd uptr_cmd_checksum(uint32_t dst, uint64_t dst_offset,
						    uint32_t src, uint64_t src_offset,
						    uint64_t size)
{
	struct drm_uptr_cmd c = {
		.op = DRM_UPTR_OP_CHECKSUM,
		.dst_handle = dst, .src_handle = src,
		.dst_offset = dst_offset, .src_offset = src_offset,
		.size = size,
	};
	return c;
}

/* The CPU reference of DRM_UPTR_OP_CHECKSUM (64-bit FNV-1a). */
static inline uint64_t uptr_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * The registration cache: "a BO for this memory" without managing
 * userptrs.
 *
 * uptr_buf_get() returns, in @bufp, a reference on a userptr BO covering
 * [@ptr, @ptr + @len): a cached one when one covers the range, otherwise
 * a new one over the range rounded out to pages (coherent: widened to
 * also cover unreferenced cached BOs that overlap or touch it, which it
 * replaces; creating a coherent userptr costs the same for any size).  Use
 * uptr_buf_handle() in commands, at offset uptr_buf_offset(buf, ptr).
 * Every get is balanced by one uptr_buf_put().
 *
 * @flags: 0 (coherent, read-write), DRM_UPTR_USERPTR_READ_ONLY,
 * DRM_UPTR_USERPTR_PINNED, DRM_UPTR_USERPTR_PROBE (checked only when a
 * BO is created).  A cached BO serves only requests of the same kind
 * and READ_ONLY flag.
 *
 * Coherent BOs follow the process's page tables (the kernel re-faults
 * after munmap, MAP_FIXED, mremap...), so a cached coherent BO is
 * never stale as an address range: a job always sees the memory mapped
 * at that address now.  They leave the cache only when unreferenced:
 * when the cache holds more than its byte budget (least recently used
 * first; see uptr_cache_set_budget()), when a neighbouring miss merges
 * them into a new BO, or on uptr_cache_flush().
 *
 * Pinned BOs keep the pages they pinned, so a cached one would serve
 * stale pages after free() + malloc() (or munmap + mmap, MAP_FIXED,
 * mremap, madvise(DONTNEED)) at the same address.  The cache creates
 * them with DRM_UPTR_USERPTR_NOTIFY and maps the fd's generation page:
 * every lookup that finds a pinned BO compares its generation with the
 * page's counter (uptr_gen_check(): one acquire load, no system call)
 * and evicts it as stale when it moved (stale_evictions); a pinned miss
 * also sweeps out the stale ones.  When the page's slots are all taken, the least
 * recently used unreferenced pinned BO gives one back.  A driver
 * without NOTIFY: pinned requests bypass the cache (get creates, the
 * last put destroys).
 *
 * fork: a userptr belongs to the mm that created it, and the child's
 * fd shares the parent's GEM handles.  In a child, the first cache call
 * forgets every inherited entry without destroying it (it is the
 * parent's BO): the child's cache starts empty, its statistics at
 * zero.  A buf the child still holds stays a valid handle, a job using
 * it fails with -EFAULT, and its put frees only memory.  The cache's
 * lock is held across fork() (pthread_atfork), so a child never
 * inherits it locked.  A child should open its own device.
 *
 * Errors of uptr_buf_get(): -EINVAL for @len == 0, unknown @flags or a
 * NULL @bufp; -E2BIG when the range overflows; -ENOMEM; those of
 * DRM_IOCTL_UPTR_USERPTR (e.g. -EFAULT).
 */
struct uptr_buf;

int uptr_buf_get(struct uptr_dev *dev, const void *ptr, size_t len,
		 uint32_t flags, struct uptr_buf **bufp);
/*
 * Drops a reference.  Returns 0, or the error of destroying a BO that
 * had to be destroyed (one not cached, or evicted); NULL is allowed.
 */
int uptr_buf_put(struct uptr_buf *buf);
/* The GEM handle of the BO. */
uint32_t uptr_buf_handle(const struct uptr_buf *buf);
/* Start address and size of the whole BO. */
void *uptr_buf_addr(const struct uptr_buf *buf);
uint64_t uptr_buf_size(const struct uptr_buf *buf);
/* Offset of @ptr in the BO, or -ERANGE when @ptr is outside it. */
int64_t uptr_buf_offset(const struct uptr_buf *buf, const void *ptr);

/* Cache counters; @size: in, sizeof(struct uptr_cache_stats). */
struct uptr_cache_stats {
	uint32_t size;
	uint32_t pad;
	uint64_t hits;		/* gets served by a cached BO */
	uint64_t misses;	/* gets that created a BO (pinned ones too) */
	uint64_t evictions;	/* BOs destroyed for the byte budget or a flush */
	uint64_t stale_evictions;	/* pinned BOs found stale (generation page) */
	uint64_t bytes_cached;	/* bytes of the BOs the cache holds */
	uint64_t entries;	/* BOs the cache holds (referenced or not) */
	uint64_t budget;	/* the byte budget */
	uint64_t merges;	/* cached BOs replaced by one covering them and a new range */
};

/*
 * Fills @stats up to @stats->size bytes.  Errors: -EINVAL for a @size
 * smaller than the first version of the struct.
 */
int uptr_cache_stats(struct uptr_dev *dev, struct uptr_cache_stats *stats);

/*
 * Sets the byte budget of the cache (default 256 MiB of address range:
 * coherent BOs pin nothing) and evicts down to it.  When the BOs the
 * cache holds exceed the budget, unreferenced ones are destroyed, least
 * recently used first; referenced ones are never evicted.  0 keeps
 * nothing unreferenced.  Returns 0 or the first error of destroying.
 */
int uptr_cache_set_budget(struct uptr_dev *dev, uint64_t bytes);

/* Destroys every unreferenced cached BO; returns how many. */
int uptr_cache_flush(struct uptr_dev *dev);

/* The library's version string, e.g. "1.0". */
const char *uptr_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBUPTR_UPTR_H */
