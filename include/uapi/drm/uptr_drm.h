/* SPDX-License-Identifier: MIT */
/*
 * uptr: userptr buffer objects on a software DRM device.
 *
 * Every ioctl is issued on a render node (/dev/dri/renderD*) of the
 * "uptr" driver.  Every struct member is marked in, out or in/out;
 * padding and reserved members must be zero (-EINVAL otherwise), and
 * unknown flag bits are refused with -EINVAL.  Enumerations start at 1
 * so that a zeroed field never means anything.
 */
#ifndef _UAPI_UPTR_DRM_H_
#define _UAPI_UPTR_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: Versions and features
 *
 * The driver's version is the DRM one (DRM_IOCTL_VERSION, drmGetVersion()):
 * major 1; the minor rises whenever an ioctl, a flag or a behaviour is
 * added, and a program that needs one checks the minor:
 *
 * 2: coherent userptrs, DRM_UPTR_PARAM_MAX_JOB_BYTES.
 * 3: coherent userptrs take replayable faults: a mapping change never
 *    waits for a job, and a running job follows it.
 * 4: asynchronous engines: SUBMIT queues the job on an engine and returns
 *    (DRM_UPTR_SUBMIT_WAIT waits), in- and out-syncobjs, implicit
 *    synchronisation through each BO's reservation object, a per-job time
 *    limit; BO_WAIT takes an absolute deadline; NOTIFY pinned userptrs
 *    (stale events and the generation page, DRM_IOCTL_UPTR_NOTIFY_QUERY).
 * 5: limits only through DRM_IOCTL_UPTR_GET_PARAM, struct
 *    drm_uptr_user_extension, COPY refused between any two userptrs
 *    whose user ranges overlap; DRM_IOCTL_UPTR_PREFETCH; dma-buf export
 *    and import (DOC: Sharing buffers, DRM_UPTR_BO_KIND_IMPORT).
 * 6: a DRM_UPTR_SUBMIT_WAIT job with nothing ahead of it runs on the
 *    calling thread, and a fatal signal stops it.
 *
 * What a driver of a given minor can do is further reported by
 * DRM_IOCTL_UPTR_GET_PARAM: the userptr kinds and flags it accepts, its
 * engines and its limits.  Limits are only ever read that way: they are
 * not constants of this header, and a later driver may raise them.
 */

/**
 * struct drm_uptr_user_extension - the head of every extension struct
 *
 * An ioctl struct with an @extensions member takes a chain of extension
 * structs there: a user pointer to the first, each starting with this
 * head, @next pointing to the next or 0.  @name says which extension
 * follows the head.  No extension is defined yet: a non-zero
 * @extensions is refused with -EINVAL, or -EFAULT when the first head
 * cannot be read.
 */
struct drm_uptr_user_extension {
	/** @next: in, user pointer to the next extension, or 0 */
	__u64 next;
	/** @name: in, which extension this is */
	__u32 name;
	/** @pad: in, must be zero */
	__u32 pad;
};

#define DRM_UPTR_GET_PARAM		0x00
#define DRM_UPTR_BO_CREATE		0x01
#define DRM_UPTR_USERPTR		0x02
#define DRM_UPTR_BO_MMAP_OFFSET		0x03
#define DRM_UPTR_SUBMIT			0x04
#define DRM_UPTR_BO_WAIT		0x05
#define DRM_UPTR_BO_INFO		0x06
#define DRM_UPTR_NOTIFY_QUERY		0x07
#define DRM_UPTR_PREFETCH		0x08

/**
 * enum drm_uptr_param - what DRM_IOCTL_UPTR_GET_PARAM can report
 *
 * 1 is not used (it was a version number before minor 5; the DRM version
 * is the only one now).
 *
 * @DRM_UPTR_PARAM_PAGE_SIZE: granule of user_ptr/user_size, in bytes
 * @DRM_UPTR_PARAM_MAX_USERPTR_SIZE: largest user_size accepted, in bytes
 * @DRM_UPTR_PARAM_USERPTR_FLAGS: mask of the DRM_UPTR_USERPTR_* flags
 *	this driver accepts
 * @DRM_UPTR_PARAM_ENGINE_COUNT: number of engines executing jobs
 * @DRM_UPTR_PARAM_MAX_COMMANDS: most commands one job may carry
 * @DRM_UPTR_PARAM_MAX_BO_SIZE: largest device-local BO, in bytes
 * @DRM_UPTR_PARAM_USERPTR_KINDS: mask of DRM_UPTR_KIND_* this driver
 *	can create
 * @DRM_UPTR_PARAM_MAX_JOB_BYTES: most bytes the commands of one job may
 *	cover in all (the sum of their @size)
 * @DRM_UPTR_PARAM_JOB_TIMEOUT_MS: how long a job may run on its engine, in
 *	milliseconds, before it is ended with -ETIMEDOUT
 */
enum drm_uptr_param {
	DRM_UPTR_PARAM_PAGE_SIZE = 2,
	DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
	DRM_UPTR_PARAM_USERPTR_FLAGS,
	DRM_UPTR_PARAM_ENGINE_COUNT,
	DRM_UPTR_PARAM_MAX_COMMANDS,
	DRM_UPTR_PARAM_MAX_BO_SIZE,
	DRM_UPTR_PARAM_USERPTR_KINDS,
	DRM_UPTR_PARAM_MAX_JOB_BYTES,
	DRM_UPTR_PARAM_JOB_TIMEOUT_MS,
};

/* Bits of DRM_UPTR_PARAM_USERPTR_KINDS. */
#define DRM_UPTR_KIND_PINNED		(1u << 0)
#define DRM_UPTR_KIND_COHERENT		(1u << 1)

/**
 * struct drm_uptr_get_param - DRM_IOCTL_UPTR_GET_PARAM
 *
 * Errors: -EINVAL for an unknown @param or a non-zero @pad.
 */
struct drm_uptr_get_param {
	/** @param: in, one of enum drm_uptr_param */
	__u32 param;
	/** @pad: in, must be zero */
	__u32 pad;
	/** @value: out, the value of @param */
	__u64 value;
};

/**
 * struct drm_uptr_bo_create - DRM_IOCTL_UPTR_BO_CREATE
 *
 * Creates a device-local buffer object: zero-filled memory that the
 * driver allocates, which the CPU maps through DRM_IOCTL_UPTR_BO_MMAP_OFFSET.
 *
 * Errors: -EINVAL for flags, @pad, @size == 0 or @size not a multiple
 * of the page size; -E2BIG for @size above DRM_UPTR_PARAM_MAX_BO_SIZE;
 * -ENOMEM when memory runs out, past the memory.max of the caller's
 * memory cgroup (the pages are charged to it) or when the file's handles
 * would hold more than the module parameter max_file_bo_mib of device
 * BOs (default: half of RAM).  Running out of memory is never an OOM
 * kill here.
 */
struct drm_uptr_bo_create {
	/** @size: in, bytes, a non-zero multiple of the page size */
	__u64 size;
	/** @flags: in, must be zero */
	__u32 flags;
	/** @handle: out, GEM handle of the new BO */
	__u32 handle;
	/** @pad: in, must be zero */
	__u64 pad;
};

/* The device only reads the range: jobs writing to it fail with -EACCES. */
#define DRM_UPTR_USERPTR_READ_ONLY	(1u << 0)
/* Pin the pages now (FOLL_LONGTERM), charged to the user's RLIMIT_MEMLOCK. */
#define DRM_UPTR_USERPTR_PINNED		(1u << 1)
/* Check now that the whole range is backed by ordinary memory. */
#define DRM_UPTR_USERPTR_PROBE		(1u << 2)
/*
 * With PINNED only: report when the CPU mapping of the range stops being
 * the pages the BO pinned (a DRM event and the generation page; see
 * "Stale pinned userptrs" below).
 */
#define DRM_UPTR_USERPTR_NOTIFY		(1u << 3)

/**
 * struct drm_uptr_userptr - DRM_IOCTL_UPTR_USERPTR
 *
 * Wraps [@user_ptr, @user_ptr + @user_size) of the calling process in a
 * buffer object.  The BO belongs to the process (mm) that created it:
 * used from another process, a job fails with -EFAULT.
 *
 * A PINNED userptr pins every page of the range at creation and keeps
 * those very pages until the BO is destroyed, whatever the process does
 * to the mapping afterwards ("unsynchronized" semantics): after munmap()
 * or a MAP_FIXED replacement, the device still sees the old pages.
 *
 * A userptr without PINNED is coherent, the default: it follows the
 * process's page tables, so the device always sees what the CPU would see
 * at that address.  Creating one pins nothing and costs the same whatever
 * the size (a sparse reservation is fine); a job faults in the pages its
 * commands touch, and later jobs reuse them until the kernel changes the
 * mapping (munmap, mremap, MAP_FIXED, madvise, mprotect, fork's
 * copy-on-write, migration, swap, KSM, THP splits, truncation).  Such a
 * change never waits for a job: it takes effect at once (waiting, for
 * each 256 KiB of the range that holds cached pages, or each 2 MiB huge
 * page, at most for one short critical section: the device's access to
 * at most 16 pages, or a fault storing up to 64 pages or one huge page),
 * the device never touches the old
 * pages again, and a running job faults the pages it still needs in
 * again, as the CPU would (see DRM_IOCTL_UPTR_SUBMIT).  A job whose
 * commands touch a page the CPU could not access the way the command
 * needs (unmapped, PROT_NONE, a write to a read-only mapping, beyond the
 * end of a file, VM_IO or VM_PFNMAP memory such as a mapping of a uptr
 * BO) when it is submitted fails with -EFAULT and none of its commands
 * runs; the BO stays usable, and works again once memory is mapped
 * there.  A device write
 * into a copy-on-write page gives the process its own copy first, as a
 * CPU write would.  A READ_ONLY coherent userptr never asks for write
 * access, so it never breaks copy-on-write sharing.  Drivers list the
 * kind in DRM_UPTR_PARAM_USERPTR_KINDS (DRM_UPTR_KIND_COHERENT).
 *
 * Errors, in the order they are checked:
 *  -EFAULT   @extensions is not 0 and cannot be read;
 *  -EINVAL   unknown bit in @flags, an @extensions chain (none is
 *            defined yet, see struct drm_uptr_user_extension), non-zero @pad,
 *            @user_size == 0, @user_ptr or @user_size not page aligned;
 *  -E2BIG    @user_ptr + @user_size overflows 64 bits, or @user_size is
 *            above DRM_UPTR_PARAM_MAX_USERPTR_SIZE;
 *  -EFAULT   the range is not inside the user address space;
 *  -EFAULT   PROBE: some page of the range is unmapped, is not
 *            ordinary memory (VM_IO, VM_PFNMAP, VM_MIXEDMAP, or a mapping
 *            of a uptr BO), or its mapping lacks PROT_READ (or PROT_WRITE,
 *            for a userptr without READ_ONLY); PINNED: some page cannot
 *            be pinned, a read-write userptr covers a mapping without
 *            PROT_WRITE, or a read-write userptr covers a MAP_SHARED
 *            mapping of a file other than shmem (tmpfs, memfd) or
 *            hugetlbfs, whose filesystem may write back and release the
 *            pages while the device writes them (judged by the pages
 *            pinned, so a file mapped over the range while it is being
 *            pinned is refused too);
 *  -ENOMEM   memory ran out, or PINNED: the pages pinned by all the
 *            calling user's userptrs would exceed RLIMIT_MEMLOCK
 *            (without CAP_IPC_LOCK);
 *  -EINTR    a fatal signal arrived while probing or pinning.
 *
 * NOTIFY adds:
 *  -EINVAL   (with the first -EINVAL checks) NOTIFY without PINNED;
 *  -ENOSPC   (after the -EFAULT checks of the range and PROBE, before
 *            pinning) every slot of the file's generation page is taken:
 *            one per NOTIFY userptr whose creating handle is open, see
 *            @gen_slots of struct drm_uptr_notify_query.
 */
struct drm_uptr_userptr {
	/** @extensions: in, 0 or a chain of struct drm_uptr_user_extension */
	__u64 extensions;
	/** @user_ptr: in, start address, page aligned */
	__u64 user_ptr;
	/** @user_size: in, bytes, a non-zero multiple of the page size */
	__u64 user_size;
	/** @flags: in, DRM_UPTR_USERPTR_* */
	__u32 flags;
	/** @handle: out, GEM handle of the new BO */
	__u32 handle;
	/**
	 * @gen_slot: out, NOTIFY: index of the BO's counter in the
	 * generation page (see struct drm_uptr_notify_query); else zero
	 */
	__u32 gen_slot;
	/** @pad: in, must be zero */
	__u32 pad;
	/**
	 * @generation: out, NOTIFY: the value of the BO's counter while the
	 * BO is not stale; the counter differs from it as soon as the BO is
	 * stale, and forever once @handle is closed; else zero
	 */
	__u64 generation;
};

/**
 * DOC: Stale pinned userptrs
 *
 * A PINNED userptr keeps the pages it pinned whatever the process does
 * to the mapping afterwards.  With DRM_UPTR_USERPTR_NOTIFY the driver
 * also tells the process when that mapping stops being those pages, so
 * that a registration cache drops the BO instead of handing the device
 * old pages (the BO stays usable: jobs still reach the pinned pages).
 * A NOTIFY userptr becomes *stale*, once and for good, at the first
 * change of the CPU mapping of its range that replaces or removes the
 * pages the process sees there:
 *
 *  - DRM_UPTR_STALE_UNMAP: the range was unmapped: munmap(), mremap()
 *    moving or shrinking the mapping, mmap(MAP_FIXED) over it, shmdt();
 *  - DRM_UPTR_STALE_ZAP: the pages were taken out of the page tables
 *    while the mapping stays: madvise(MADV_DONTNEED, MADV_FREE,
 *    MADV_REMOVE...), truncation or hole punching of a mapped file, a
 *    write breaking copy-on-write of a page the BO pinned shared (a
 *    READ_ONLY pin of a private file page the process had only read,
 *    on kernels that pin the file's page there, as 6.1 does; 6.12 gives
 *    the process its own copy at the pin instead).  The
 *    kernel also announces this way attempts to move a page that it
 *    then abandons because the page is pinned (reclaim, KSM merging, the
 *    split of a transparent huge page): such a BO is reported stale
 *    although its pages did not change.  Stale may be reported too
 *    often, never too rarely.
 *
 * Changes that leave the same pages mapped never make a BO stale:
 * mprotect(), NUMA balancing, write-protection for writeback or
 * soft-dirty tracking, and fork(): the kernel gives the child copies of
 * pinned pages at fork, and the parent keeps the pinned ones, writable.
 * A change made while the BO is created (the pin itself breaking
 * copy-on-write, or migrating a page out of a movable zone) counts only
 * if, once the pin is done, the range no longer maps the pinned pages.
 * The end of the address space (the creating process exiting, or
 * calling execve()) does not count: no event, the BO does not become
 * stale.
 *
 * Two signals, per DRM file, when a BO becomes stale:
 *
 * 1. An event, struct drm_uptr_event_stale, read() from the DRM fd
 *    (poll() reports POLLIN), once per BO.  Its memory is allocated when
 *    the BO is created (charged to the creator's memory cgroup) and it
 *    is queued within the file's DRM event space (4 KiB of unread
 *    events, 128 of these): when that is full, the event is dropped,
 *    the BO is still stale (DRM_IOCTL_UPTR_BO_INFO, the generation page)
 *    and @events_lost of struct drm_uptr_notify_query counts it.
 *    The event names the handle the BO was created with in this file.
 *
 * 2. The generation page: a read-only page mapped from the DRM fd at
 *    @gen_offset of struct drm_uptr_notify_query, holding one __u64
 *    counter per NOTIFY userptr, at index @gen_slot of struct
 *    drm_uptr_userptr.  The counter equals @generation of the BO from
 *    its creation until it becomes stale or is destroyed; then it moves
 *    on and never comes back to that value (a slot reused by a later BO
 *    starts from a value above every earlier BO's @generation).  So a
 *    cache checks a registration with one load and no system call.
 *    The rule for readers:
 *
 *    - load the counter with one 64-bit atomic load with acquire
 *      ordering (C11 atomic_load_explicit(..., memory_order_acquire),
 *      __atomic_load_n(p, __ATOMIC_ACQUIRE));
 *    - if it differs from @generation, the BO is stale (or destroyed):
 *      drop it; BO_INFO and the event say so too after that load;
 *    - if it equals @generation, every change of the mapping that
 *      completed before the load (the munmap(), mremap(), mmap() or
 *      madvise() call returned, in this thread, or in another thread
 *      that synchronised with this one, e.g. through a mutex) has not
 *      touched the range: the BO's pages are what the process maps
 *      there.  A change still in progress in another thread may or may
 *      not be seen; the counter moves before the change takes effect;
 *    - to know that a job worked on current pages from start to end,
 *      load the counter before submitting and again after the job
 *      completed: equal both times, the mapping did not change meanwhile.
 *
 *    The page is allocated (charged to the memory cgroup) at the file's
 *    first NOTIFY userptr or DRM_IOCTL_UPTR_NOTIFY_QUERY and belongs to
 *    the file (a mapping of it keeps the file open after close(), as
 *    any mapping of a file does, until munmap()).  It can only
 *    be mapped MAP_SHARED and read-only, and can never become writable
 *    (mprotect(PROT_WRITE) fails with EACCES).
 */

/**
 * enum drm_uptr_stale_reason - why a NOTIFY userptr became stale
 * @DRM_UPTR_STALE_UNMAP: the range was unmapped or mapped over
 * @DRM_UPTR_STALE_ZAP: pages of the range were zapped or replaced
 *
 * See DOC: Stale pinned userptrs.
 */
enum drm_uptr_stale_reason {
	DRM_UPTR_STALE_UNMAP = 1,
	DRM_UPTR_STALE_ZAP,
};

/* Type of struct drm_uptr_event_stale (driver events start at 2^31). */
#define DRM_UPTR_EVENT_STALE		0x80000000u

/**
 * struct drm_uptr_event_stale - a NOTIFY userptr became stale
 *
 * Read from the DRM fd; at most one per BO.
 */
struct drm_uptr_event_stale {
	/** @base: type DRM_UPTR_EVENT_STALE, length sizeof(this struct) */
	struct drm_event base;
	/** @handle: the GEM handle the BO was created with */
	__u32 handle;
	/** @reason: enum drm_uptr_stale_reason of the first change */
	__u32 reason;
	/** @start: first address the first change covered, page aligned */
	__u64 start;
	/** @end: end (exclusive) of that change, clamped to the BO's range */
	__u64 end;
};

/**
 * struct drm_uptr_notify_query - DRM_IOCTL_UPTR_NOTIFY_QUERY
 *
 * Where the file's generation page is, and how its events fared.
 * Allocates the generation page if the file has none yet.
 *
 * Errors: -EINVAL for non-zero @flags or @pad; -ENOMEM when the page
 * cannot be allocated.
 *
 * mmap() of @gen_offset fails with EACCES for PROT_WRITE, EINVAL for
 * MAP_PRIVATE or a length above @gen_size, and EACCES from another
 * file of the device (each file has its own page).
 */
struct drm_uptr_notify_query {
	/** @flags: in, must be zero */
	__u32 flags;
	/** @pad: in, must be zero */
	__u32 pad;
	/** @gen_offset: out, offset to pass to mmap() on the DRM fd */
	__u64 gen_offset;
	/** @gen_size: out, bytes to map: one page */
	__u64 gen_size;
	/** @gen_slots: out, counters in the page: most NOTIFY userptrs alive */
	__u64 gen_slots;
	/** @events_sent: out, stale events queued on this file so far */
	__u64 events_sent;
	/**
	 * @events_lost: out, stale events dropped because the file's event
	 * space was full (their BOs are stale all the same)
	 */
	__u64 events_lost;
};

/**
 * DOC: Sharing buffers
 *
 * BOs are shared as dma-bufs with the generic DRM_IOCTL_PRIME_HANDLE_TO_FD
 * and DRM_IOCTL_PRIME_FD_TO_HANDLE (libdrm's drmPrimeHandleToFD() and
 * drmPrimeFDToHandle()), across files, processes (pass the fd over a Unix
 * socket) and drivers.
 *
 * What can be exported: a device BO, and a PINNED userptr without
 * READ_ONLY whose pinned pages are all anonymous memory or pages of a
 * shmem file (tmpfs, memfd) - what udmabuf accepts.  Every other BO is
 * refused with -EINVAL: a coherent userptr (it has no pages of its own:
 * they change whenever the CPU mapping does), a READ_ONLY userptr (an
 * importer may write), and a pinned userptr holding any other page: a
 * page of another file (hugetlbfs; other files' shared mappings cannot
 * be pinned read-write at all, see struct drm_uptr_userptr), a page a
 * driver mapped, a shmem page truncated out of its file since the pin.
 * A dma-buf promises its importers memory that the exporter owns; pages
 * a driver does not own, above all a filesystem's pages, which it may
 * write back, truncate or take away, must not go into one (the reason
 * i915 stopped exporting userptrs in Linux 5.13).  The pages the BO
 * pinned are what is checked, at export, not what the range maps then:
 * they are what the dma-buf hands out.
 *
 * The dma-buf of a BO: mmap() (MAP_SHARED only; MAP_PRIVATE fails with
 * EINVAL) maps the BO's pages, DMA_BUF_IOCTL_SYNC brackets CPU access
 * (its start waits for the jobs, as poll() on the dma-buf does), and
 * another driver attaches, maps it for its device and vmaps it.  Once
 * exported, a BO lives until its handles, the dma-buf fds, the mappings
 * of the dma-buf and every import are gone; a pinned userptr keeps its
 * pages pinned, and charged to its creator, until then.  Exporting the
 * same BO again gives the same dma-buf; exporting an imported BO gives
 * back the dma-buf it came from.  DRM_IOCTL_UPTR_BO_WAIT on an imported
 * BO (or a shared one) waits for every fence of its reservation object,
 * other drivers' included.
 *
 * Import: a dma-buf exported by uptr gives back the BO itself (in the
 * file that exported it, the same handle); usable from another process
 * as any shared BO, except that a userptr still works only from the
 * process that created it.  Any other dma-buf becomes a BO of kind
 * DRM_UPTR_BO_KIND_IMPORT, a source or destination of every command,
 * from any process holding the handle.  The engine reaches it through
 * the kernel mapping its exporter provides (dma_buf_vmap), taken at
 * import and held for the BO's life.  It has no mmap offset on the DRM
 * fd: map the dma-buf instead.  BO_INFO reports its size and jobs only.
 *
 * Implicit synchronisation: the BO and its dma-buf share one reservation
 * object, so a job waits for the fences other drivers put on the buffer
 * (the writers, for a buffer the job reads; every user, for one it
 * writes) and publishes its own fence there (as a writer of what it
 * writes, a reader of what it reads), where poll() on the dma-buf,
 * DMA_BUF_IOCTL_SYNC, DMA_BUF_IOCTL_EXPORT_SYNC_FILE and other drivers'
 * implicit synchronisation find it.
 *
 * Errors of DRM_IOCTL_PRIME_HANDLE_TO_FD: -EINVAL for flags other than
 * DRM_CLOEXEC and DRM_RDWR, or a BO that cannot be exported (above);
 * -ENOENT for an unknown handle; -ENOMEM.
 *
 * Errors of DRM_IOCTL_PRIME_FD_TO_HANDLE: -EBADF when the fd is not an
 * open file; -EINVAL when it is not a dma-buf, when the dma-buf's size
 * is not a multiple of the page size, or when its exporter's kernel
 * mapping is I/O memory; -E2BIG for a dma-buf above
 * DRM_UPTR_PARAM_MAX_BO_SIZE; the exporter's errno when it refuses an
 * attachment or a kernel mapping; -ENOMEM when memory runs out or, for a
 * device BO of uptr, when the file's handles would hold more than
 * max_file_bo_mib of device BOs (see struct drm_uptr_bo_create).
 */

/**
 * struct drm_uptr_bo_mmap_offset - DRM_IOCTL_UPTR_BO_MMAP_OFFSET
 *
 * Errors: -EINVAL for non-zero @pad; -ENOENT for an unknown @handle;
 * -ENODEV for a userptr BO (map the user memory itself instead) or an
 * imported BO (map its dma-buf).
 */
struct drm_uptr_bo_mmap_offset {
	/** @handle: in, GEM handle of a device-local BO */
	__u32 handle;
	/** @pad: in, must be zero */
	__u32 pad;
	/** @offset: out, offset to pass to mmap() on the DRM fd */
	__u64 offset;
};

/**
 * enum drm_uptr_op - engine operations
 * @DRM_UPTR_OP_COPY: copy @size bytes from src to dst; the ranges may
 *	be in the same BO but must not overlap, and two userptrs of one
 *	process must not cover the same user addresses in them (-EINVAL).
 *	Memory reached through two different addresses (two mappings of
 *	one memfd, say) cannot be seen to overlap: such a copy runs, page
 *	by page in ascending order, and the overlapping bytes end up as
 *	memcpy() over them would leave them, which nothing defines.
 * @DRM_UPTR_OP_FILL: fill @size bytes of dst with the 32-bit pattern
 *	@value (its high 32 bits must be zero); @dst_offset and @size
 *	multiples of 4.
 * @DRM_UPTR_OP_STORE_DWORD: write the 32-bit @value (its high 32 bits
 *	must be zero) at @dst_offset; @size must be 4 and @dst_offset a
 *	multiple of 4.
 * @DRM_UPTR_OP_CHECKSUM: write the 64-bit FNV-1a hash of the @size
 *	bytes of src at @dst_offset (8 bytes, a multiple of 8, native byte
 *	order).
 */
enum drm_uptr_op {
	DRM_UPTR_OP_COPY = 1,
	DRM_UPTR_OP_FILL,
	DRM_UPTR_OP_STORE_DWORD,
	DRM_UPTR_OP_CHECKSUM,
};

/**
 * struct drm_uptr_cmd - one engine command
 *
 * Members an op does not use must be zero.
 */
struct drm_uptr_cmd {
	/** @op: in, one of enum drm_uptr_op */
	__u32 op;
	/** @flags: in, must be zero */
	__u32 flags;
	/** @dst_handle: in, BO written by the command */
	__u32 dst_handle;
	/** @src_handle: in, BO read (COPY, CHECKSUM), else zero */
	__u32 src_handle;
	/** @dst_offset: in, bytes into the dst BO */
	__u64 dst_offset;
	/** @src_offset: in, bytes into the src BO (COPY, CHECKSUM) */
	__u64 src_offset;
	/** @size: in, bytes the command covers (read from src, or written), non-zero */
	__u64 size;
	/** @value: in, FILL pattern or STORE_DWORD value */
	__u64 value;
};

/* Wait for the job to complete and return its error. */
#define DRM_UPTR_SUBMIT_WAIT		(1u << 0)

/**
 * struct drm_uptr_submit - DRM_IOCTL_UPTR_SUBMIT
 *
 * Queues a job, the commands in order, on engine @engine, and returns.
 * Every command is validated, and every page of a coherent userptr it
 * touches faulted in, before the job is queued, so a refused job writes
 * nothing (pages of coherent userptrs that it faulted in stay faulted
 * in, as a CPU access would have left them).
 *
 * The job's fence is signalled when the job completes, with the job's
 * error (0 on success): it is published on every BO the job uses (as
 * a writer of the BOs it writes, a reader of the others; see
 * DRM_IOCTL_UPTR_BO_WAIT), and placed in @out_syncobj when given, from
 * which DRM_IOCTL_SYNCOBJ_WAIT, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD (a
 * sync_file, which poll() reports readable once signalled) and every
 * other syncobj ioctl reach it.
 *
 * A job starts once (a) the fences in the @in_syncobjs have signalled
 * and (b), implicitly, every earlier job (of any engine, any file, any
 * process sharing the BO, or an importer) writing a BO it reads, and
 * every earlier job using a BO it writes, has completed: a job always
 * sees what the jobs submitted before it wrote.  A job starts once those
 * fences have signalled, whatever their error: a failed job does not
 * cancel the jobs that wait for it (check its fence).  Jobs of one file
 * on one engine run one at a time, in submission order; different
 * engines, and different files, run at the same time.  The job holds a
 * reference on every BO it names until it completes (on an imported BO
 * until the job is freed, shortly after).
 *
 * A job may run for DRM_UPTR_PARAM_JOB_TIMEOUT_MS on its engine; then it
 * ends with -ETIMEDOUT.  When the file is closed, its jobs that have not
 * started end with -ECANCELED without running (once their dependencies
 * signalled), and its running job stops at its next page with
 * -ECANCELED; a job still waiting for a dependency twice the time limit
 * after the close is dropped by the scheduler with -ESRCH.  Fences
 * outlive the file: a sync_file stays valid after it is closed.
 *
 * Coherent userptrs while a job runs: the device takes replayable page
 * faults.  The process and the kernel may change the mappings under a
 * running job (munmap, mprotect, madvise, migration, swap...); such a
 * change never waits for the job, and the job follows it, faulting in
 * again each page it still needs, through the BO's address space (from
 * whichever thread runs the job).  So:
 *
 *  - a job whose pages are all reachable when it is submitted, and stay
 *    so, runs to completion, and reads and writes exactly what the CPU
 *    would have at each moment;
 *  - a job refused at submit writes nothing;
 *  - a job that reaches a page that can no longer be accessed the way
 *    the command needs (unmapped, PROT_NONE, read-only for a write, the
 *    process gone) stops at that page and fails with -EFAULT; what it
 *    wrote before stays written, and it writes nothing at or after that
 *    page;
 *  - a job whose page keeps being taken away for about a second fails
 *    with -EAGAIN, at that page.
 *
 * With DRM_UPTR_SUBMIT_WAIT the ioctl returns once the job completed,
 * with the job's error: it waits for the job's dependencies, the file's
 * earlier jobs on that engine and the job itself (at most its time
 * limit).  A job with nothing ahead of it (its dependencies signalled,
 * no earlier job of the file waiting for its own dependencies, on any
 * engine, nor running on that engine) runs on the calling thread rather
 * than on the engine's worker: at the caller's priority, its CPU time
 * charged to the caller, without the wake-ups of a queued job (its time
 * limit is wall-clock time, as for any job).  Jobs the file queues on that engine
 * meanwhile wait for it as for any earlier job.  A fatal signal stops
 * such a job at its next page, with -EINTR; for a job that runs
 * elsewhere, it ends the wait (not the job) with -EINTR.  Other signals
 * do not interrupt either, since a restarted ioctl would submit the job
 * again.
 *
 * Errors (of the ioctl; a job's own error is its fence's): -EINVAL for
 * an @extensions chain (see struct drm_uptr_user_extension) or a non-zero
 * @pad, an unknown bit in @flags, @engine not below
 * DRM_UPTR_PARAM_ENGINE_COUNT, @in_syncobj_count above
 * DRM_UPTR_PARAM_MAX_COMMANDS, @count == 0 or above
 * DRM_UPTR_PARAM_MAX_COMMANDS, an unknown op, non-zero command flags, a
 * zero @size in a command, a member an op does not use being non-zero, a
 * FILL or STORE_DWORD @value above 32 bits, a misaligned offset or size,
 * an offset + size overflowing or beyond the end of its BO, overlapping
 * COPY ranges in one BO, a COPY between two userptrs (pinned or
 * coherent) whose user address ranges overlap, or an in-syncobj that
 * holds no fence; -EFAULT when @extensions, @commands or @in_syncobjs
 * cannot be read, or when a userptr BO is used from a
 * process other than its creator (the creator having exited, too);
 * -ENOENT for an unknown BO handle or syncobj handle; -EACCES for a
 * command writing to a READ_ONLY userptr; -EFAULT when a command touches
 * a page of a coherent userptr that the CPU cannot access as the command
 * needs (see struct drm_uptr_userptr), nothing written; -EAGAIN when the
 * mappings of a coherent userptr kept changing while the job was being
 * prepared (try again); -E2BIG when the commands cover more than
 * DRM_UPTR_PARAM_MAX_JOB_BYTES in all; -EINTR or -ERESTARTSYS on a
 * signal before the job was queued; -ENOMEM when memory runs out.  With
 * DRM_UPTR_SUBMIT_WAIT, the job's error once it completed: -EFAULT,
 * -EAGAIN (see above), -ETIMEDOUT, -ECANCELED, -ENOMEM; or -EINTR (fatal
 * signal: a job on the calling thread stopped there, any other runs on).
 */
struct drm_uptr_submit {
	/** @extensions: in, 0 or a chain of struct drm_uptr_user_extension */
	__u64 extensions;
	/** @commands: in, user pointer to @count struct drm_uptr_cmd */
	__u64 commands;
	/** @count: in, number of commands, 1 to DRM_UPTR_PARAM_MAX_COMMANDS */
	__u32 count;
	/** @flags: in, DRM_UPTR_SUBMIT_* */
	__u32 flags;
	/** @engine: in, engine index, below DRM_UPTR_PARAM_ENGINE_COUNT */
	__u32 engine;
	/** @in_syncobj_count: in, number of handles at @in_syncobjs */
	__u32 in_syncobj_count;
	/**
	 * @in_syncobjs: in, user pointer to @in_syncobj_count __u32 syncobj
	 * handles whose fences the job waits for (binary syncobjs)
	 */
	__u64 in_syncobjs;
	/** @out_syncobj: in, 0, or a syncobj that receives the job's fence */
	__u32 out_syncobj;
	/** @pad: in, must be zero */
	__u32 pad;
};

/**
 * struct drm_uptr_bo_wait - DRM_IOCTL_UPTR_BO_WAIT
 *
 * Waits until no job reads or writes the BO (every fence published on it
 * has signalled), or until @deadline_ns.  The deadline is absolute, so a
 * wait restarted after a signal ends when the first one would have.
 * @deadline_ns == 0, or a deadline already past, asks whether the BO is
 * busy without waiting.
 *
 * Errors: -EINVAL for non-zero @flags or a negative @deadline_ns;
 * -ENOENT for an unknown @handle; -ETIME when the BO is still busy at
 * @deadline_ns (or busy, for a query); -ERESTARTSYS/-EINTR on a signal.
 */
struct drm_uptr_bo_wait {
	/** @handle: in, GEM handle */
	__u32 handle;
	/** @flags: in, must be zero */
	__u32 flags;
	/** @deadline_ns: in, absolute CLOCK_MONOTONIC time, in nanoseconds */
	__s64 deadline_ns;
};

/**
 * enum drm_uptr_bo_kind - what a BO is
 * @DRM_UPTR_BO_KIND_DEVICE: device-local memory
 * @DRM_UPTR_BO_KIND_USERPTR: a range of a process's address space
 * @DRM_UPTR_BO_KIND_IMPORT: another driver's dma-buf, imported with
 *	DRM_IOCTL_PRIME_FD_TO_HANDLE (see DOC: Sharing buffers)
 */
enum drm_uptr_bo_kind {
	DRM_UPTR_BO_KIND_DEVICE = 1,
	DRM_UPTR_BO_KIND_USERPTR,
	DRM_UPTR_BO_KIND_IMPORT,
};

/**
 * struct drm_uptr_bo_info - DRM_IOCTL_UPTR_BO_INFO
 *
 * Every member is part of the ABI, the counters included: each counts
 * a defined event of this BO (an invalidation overlapping its range, a
 * page faulted in for a job, a job that used it), rises monotonically
 * and is never reset.  What they do not promise is how many events an
 * action causes: the kernel may invalidate a range on its own (reclaim,
 * compaction, NUMA balancing) and fault a page in more than once, so a
 * program compares them with "at least", never with an exact count it
 * did not cause alone.  Per-file totals are in the file's fdinfo.
 *
 * Errors: -EINVAL for non-zero @pad; -ENOENT for an unknown @handle.
 */
struct drm_uptr_bo_info {
	/** @handle: in, GEM handle */
	__u32 handle;
	/** @pad: in, must be zero */
	__u32 pad;
	/** @kind: out, enum drm_uptr_bo_kind */
	__u32 kind;
	/** @flags: out, DRM_UPTR_USERPTR_* the userptr was created with */
	__u32 flags;
	/** @size: out, bytes */
	__u64 size;
	/** @user_ptr: out, start address of a userptr, else zero */
	__u64 user_ptr;
	/** @pages_pinned: out, pages the BO holds pinned (0 if coherent) */
	__u64 pages_pinned;
	/**
	 * @pages_resident: out, pages the device can reach right now
	 * without faulting (coherent: valid pages kept for later jobs)
	 */
	__u64 pages_resident;
	/**
	 * @sg_segments: out, runs of physically contiguous pages the device
	 * sees: the segments of the sg table of a pinned or device BO, the
	 * runs among the resident pages of a coherent userptr
	 */
	__u64 sg_segments;
	/**
	 * @invalidations: out, coherent: invalidations of the range the BO
	 * has seen (each munmap, mprotect, migration... overlapping it)
	 */
	__u64 invalidations;
	/**
	 * @pages_faulted: out, coherent: pages faulted in for jobs so far,
	 * at submit and by running jobs again after an invalidation
	 */
	__u64 pages_faulted;
	/** @jobs: out, jobs that used the BO so far */
	__u64 jobs;
	/**
	 * @stale: out, NOTIFY userptr: 0 while the range maps the pinned
	 * pages, else the enum drm_uptr_stale_reason of the first change
	 * (see DOC: Stale pinned userptrs); 0 for any other BO
	 */
	__u64 stale;
};

/* Fault the pages in for device writes (else for reads). */
#define DRM_UPTR_PREFETCH_WRITE		(1u << 0)
/* Take only the pages the CPU maps already; fault nothing in. */
#define DRM_UPTR_PREFETCH_NO_FAULT	(1u << 1)
/* Queue the prefetch as a job on @engine and return at once. */
#define DRM_UPTR_PREFETCH_ASYNC		(1u << 2)

/**
 * struct drm_uptr_prefetch - DRM_IOCTL_UPTR_PREFETCH
 *
 * Makes the pages of [@offset, @offset + @size) of a coherent userptr
 * (rounded out to whole pages) valid for the device ahead of the jobs
 * that will use them, as RDMA's ibv_advise_mr() PREFETCH advice does for
 * an on-demand-paging region: the pages are faulted in as a job's
 * commands would fault them (for a read, a page never written may be
 * the shared zero page; for a write, copy-on-write is broken, as by a
 * CPU write fault), and stay valid, counted
 * in @pages_resident and @pages_faulted of struct drm_uptr_bo_info, until
 * the CPU mapping changes or memory pressure drops them, as the pages
 * jobs fault in do.  A job that then touches them faults nothing.
 *
 * DRM_UPTR_PREFETCH_NO_FAULT takes only the pages the CPU page tables
 * map at this moment, each with the access the CPU has to it (readable,
 * or writable too), and faults nothing in: unmapped, PROT_NONE and
 * never-touched pages of the range are left alone without an error
 * (ibv_advise_mr's PREFETCH_NO_FAULT).  It takes no DRM_UPTR_PREFETCH_WRITE.
 *
 * Without DRM_UPTR_PREFETCH_ASYNC the ioctl returns once the range is
 * valid.  A signal interrupts it after a 2 MiB step that made pages
 * valid (-EINTR, or a restart with SA_RESTART); a restarted call finds
 * the pages done so far valid and goes on from there, so it always gets
 * further.  With it, the prefetch is queued as a job on
 * engine @engine of this file, behind the file's earlier jobs on that
 * engine (it starts when they have completed), and the ioctl returns at
 * once; the job's fence goes into @out_syncobj when non-zero, and is
 * signalled with the prefetch's error (the -EFAULT, -EAGAIN, -ENOMEM
 * below, -ETIMEDOUT past DRM_UPTR_PARAM_JOB_TIMEOUT_MS, -ECANCELED when
 * the file is closed first).  A prefetch changes no data: it neither
 * waits for the fences of the BO's reservation object nor adds its own.
 *
 * Only a coherent userptr has pages to prefetch: a device BO or a
 * PINNED userptr is always resident, and is refused with -EINVAL, as
 * RDMA refuses to prefetch a region without on-demand paging.
 *
 * Errors, in the order they are checked:
 *  -EFAULT   @extensions is not 0 and cannot be read;
 *  -EINVAL   an @extensions chain (see struct drm_uptr_user_extension),
 *            an unknown bit in @flags, NO_FAULT
 *            with WRITE, @size == 0, @engine not below
 *            DRM_UPTR_PARAM_ENGINE_COUNT, or without ASYNC a non-zero
 *            @engine or @out_syncobj;
 *  -ENOENT   unknown @handle;
 *  -EINVAL   @handle is not a coherent userptr (a device BO or a
 *            PINNED userptr), or @offset + @size overflows or lies
 *            beyond the end of the BO;
 *  -EFAULT   the userptr was created by another process (or its
 *            creator exited);
 *  -EACCES   WRITE on a READ_ONLY userptr (as a job writing it);
 *  -ENOENT   unknown @out_syncobj;
 *  -EFAULT   a page of the range cannot be accessed as asked: unmapped,
 *            PROT_NONE, without PROT_WRITE for WRITE, beyond the end of
 *            a file, or not ordinary memory (VM_IO, VM_PFNMAP, a mapping
 *            of a uptr BO; with NO_FAULT too); the pages before it in
 *            the range may have been made valid;
 *  -EAGAIN   the mapping of the range kept changing (try again);
 *  -EINTR, -ERESTARTSYS  a signal arrived (see above);
 *  -ENOMEM   memory ran out.
 * With ASYNC the ioctl itself returns only the first seven (and -ENOMEM):
 * what the prefetch meets is its fence's error.
 */
struct drm_uptr_prefetch {
	/** @extensions: in, 0 or a chain of struct drm_uptr_user_extension */
	__u64 extensions;
	/** @handle: in, GEM handle of a coherent userptr */
	__u32 handle;
	/** @flags: in, DRM_UPTR_PREFETCH_* */
	__u32 flags;
	/** @offset: in, bytes into the BO */
	__u64 offset;
	/** @size: in, bytes, non-zero */
	__u64 size;
	/** @engine: in, ASYNC: engine index, below DRM_UPTR_PARAM_ENGINE_COUNT; else 0 */
	__u32 engine;
	/** @out_syncobj: in, ASYNC: 0, or a syncobj that receives the job's fence; else 0 */
	__u32 out_syncobj;
};

#define DRM_IOCTL_UPTR_GET_PARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_GET_PARAM, struct drm_uptr_get_param)
#define DRM_IOCTL_UPTR_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_BO_CREATE, struct drm_uptr_bo_create)
#define DRM_IOCTL_UPTR_USERPTR \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_USERPTR, struct drm_uptr_userptr)
#define DRM_IOCTL_UPTR_BO_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_BO_MMAP_OFFSET, struct drm_uptr_bo_mmap_offset)
#define DRM_IOCTL_UPTR_SUBMIT \
	DRM_IOW(DRM_COMMAND_BASE + DRM_UPTR_SUBMIT, struct drm_uptr_submit)
#define DRM_IOCTL_UPTR_BO_WAIT \
	DRM_IOW(DRM_COMMAND_BASE + DRM_UPTR_BO_WAIT, struct drm_uptr_bo_wait)
#define DRM_IOCTL_UPTR_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_BO_INFO, struct drm_uptr_bo_info)
#define DRM_IOCTL_UPTR_NOTIFY_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_NOTIFY_QUERY, struct drm_uptr_notify_query)
#define DRM_IOCTL_UPTR_PREFETCH \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_UPTR_PREFETCH, struct drm_uptr_prefetch)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_UPTR_DRM_H_ */
