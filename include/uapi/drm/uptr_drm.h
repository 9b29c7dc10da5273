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

/*
 * Bumped whenever an ioctl, a flag or a behaviour is added.
 * 2: coherent userptrs, DRM_UPTR_PARAM_MAX_JOB_BYTES.
 * 3: coherent userptrs take replayable faults: a mapping change never
 *    waits for a job, and a running job follows it.
 */
#define DRM_UPTR_API_VERSION		3

#define DRM_UPTR_GET_PARAM		0x00
#define DRM_UPTR_BO_CREATE		0x01
#define DRM_UPTR_USERPTR		0x02
#define DRM_UPTR_BO_MMAP_OFFSET		0x03
#define DRM_UPTR_SUBMIT			0x04
#define DRM_UPTR_BO_WAIT		0x05
#define DRM_UPTR_BO_INFO		0x06

/**
 * enum drm_uptr_param - what DRM_IOCTL_UPTR_GET_PARAM can report
 * @DRM_UPTR_PARAM_API_VERSION: DRM_UPTR_API_VERSION of the driver
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
 */
enum drm_uptr_param {
	DRM_UPTR_PARAM_API_VERSION = 1,
	DRM_UPTR_PARAM_PAGE_SIZE,
	DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
	DRM_UPTR_PARAM_USERPTR_FLAGS,
	DRM_UPTR_PARAM_ENGINE_COUNT,
	DRM_UPTR_PARAM_MAX_COMMANDS,
	DRM_UPTR_PARAM_MAX_BO_SIZE,
	DRM_UPTR_PARAM_USERPTR_KINDS,
	DRM_UPTR_PARAM_MAX_JOB_BYTES,
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
/* Pin the pages now (FOLL_LONGTERM), charged to RLIMIT_MEMLOCK. */
#define DRM_UPTR_USERPTR_PINNED		(1u << 1)
/* Check now that the whole range is backed by ordinary memory. */
#define DRM_UPTR_USERPTR_PROBE		(1u << 2)

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
 * each 2 MiB of the range that holds cached pages, at most for one short
 * critical section: the device's access to one page, or a fault storing
 * up to 64 pages), the device never touches the old
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
 *  -EINVAL   unknown bit in @flags, non-zero @extensions or @pad,
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
 *            pages while the device writes them;
 *  -ENOMEM   memory ran out, or PINNED: RLIMIT_MEMLOCK would be
 *            exceeded (without CAP_IPC_LOCK);
 *  -EINTR    a fatal signal arrived while probing or pinning.
 */
struct drm_uptr_userptr {
	/** @extensions: in, must be zero (reserved for chained extensions) */
	__u64 extensions;
	/** @user_ptr: in, start address, page aligned */
	__u64 user_ptr;
	/** @user_size: in, bytes, a non-zero multiple of the page size */
	__u64 user_size;
	/** @flags: in, DRM_UPTR_USERPTR_* */
	__u32 flags;
	/** @handle: out, GEM handle of the new BO */
	__u32 handle;
};

/**
 * struct drm_uptr_bo_mmap_offset - DRM_IOCTL_UPTR_BO_MMAP_OFFSET
 *
 * Errors: -EINVAL for non-zero @pad; -ENOENT for an unknown @handle;
 * -ENODEV for a userptr BO (map the user memory itself instead).
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
 *	be in the same BO but must not overlap.
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

/* Most commands one job may carry. */
#define DRM_UPTR_MAX_COMMANDS		256
/*
 * Most bytes the commands of one job may cover in all: it bounds the work
 * of one SUBMIT.  (No change to a mapping ever waits for a job.)
 */
#define DRM_UPTR_MAX_JOB_BYTES		(1ull << 30)

/**
 * struct drm_uptr_submit - DRM_IOCTL_UPTR_SUBMIT
 *
 * Runs a job: the commands, in order.  Every command is validated, and
 * every page of a coherent userptr it touches faulted in, before any
 * runs, so a refused job writes nothing (pages of coherent userptrs that
 * it faulted in stay faulted in, as a CPU access would have left them).
 * The job holds a reference on every BO it names until it completes; its
 * fence is published on every BO (see DRM_IOCTL_UPTR_BO_WAIT).  The ioctl
 * returns once the job has completed.
 *
 * Coherent userptrs while a job runs: the device takes replayable page
 * faults.  The process and the kernel may change the mappings under a
 * running job (munmap, mprotect, madvise, migration, swap...); such a
 * change never waits for the job, and the job follows it, faulting in
 * again each page it still needs.  So:
 *
 *  - a job whose pages are all reachable when it is submitted, and stay
 *    so, runs to completion, and reads and writes exactly what the CPU
 *    would have at each moment;
 *  - a job refused at submit writes nothing;
 *  - a job that reaches a page that can no longer be accessed the way
 *    the command needs (unmapped, PROT_NONE, read-only for a write)
 *    stops at that page and fails with -EFAULT (its fence carries the
 *    error); what it wrote before stays written, and it writes nothing at
 *    or after that page;
 *  - a job whose page keeps being taken away for about a second fails
 *    with -EAGAIN, at that page;
 *  - a job runs in the submitting thread, so its process exiting or being
 *    killed while it runs ends it between two pages with -EINTR.
 *
 * Errors: -EINVAL for non-zero @extensions, @flags or @pad, @count == 0
 * or above DRM_UPTR_MAX_COMMANDS, an unknown op, non-zero command
 * flags, a zero @size in a command, a member an op does not use being
 * non-zero, a FILL or STORE_DWORD @value above 32 bits, a misaligned
 * offset or size, an offset + size overflowing or beyond the end of its
 * BO, overlapping COPY ranges in one BO, or a COPY between two coherent
 * userptrs whose user address ranges overlap; -EFAULT when @commands
 * cannot be read, or when a userptr BO is used from a process other
 * than its creator (the creator having exited, too); -ENOENT for an
 * unknown handle; -EACCES for a command writing to a READ_ONLY userptr;
 * -EFAULT when a command touches a page of a coherent userptr that the
 * CPU cannot access as the command needs (see struct drm_uptr_userptr),
 * at submit (nothing written) or while the job ran (written up to that
 * page); -EAGAIN when the mappings of a coherent userptr kept changing
 * while the job was being prepared or ran (try again); -E2BIG when the
 * commands cover more than DRM_UPTR_PARAM_MAX_JOB_BYTES in all; -EINTR
 * or -ERESTARTSYS on a signal before the job started, -EINTR when a
 * fatal signal (the process being killed or exiting) ended it early (the
 * commands may have run in part); -ENOMEM when memory runs out.
 */
struct drm_uptr_submit {
	/** @extensions: in, must be zero (reserved for chained extensions) */
	__u64 extensions;
	/** @commands: in, user pointer to @count struct drm_uptr_cmd */
	__u64 commands;
	/** @count: in, number of commands, 1 to DRM_UPTR_MAX_COMMANDS */
	__u32 count;
	/** @flags: in, must be zero */
	__u32 flags;
	/** @pad: in, must be zero (reserved for in/out fences) */
	__u64 pad[2];
};

/**
 * struct drm_uptr_bo_wait - DRM_IOCTL_UPTR_BO_WAIT
 *
 * Waits until no job reads or writes the BO.
 *
 * Errors: -EINVAL for non-zero @flags or @pad, or a negative
 * @timeout_ns; -ENOENT for an unknown @handle; -ETIME when the BO is
 * still busy after @timeout_ns (0 polls); -ERESTARTSYS/-EINTR on a
 * signal.
 */
struct drm_uptr_bo_wait {
	/** @handle: in, GEM handle */
	__u32 handle;
	/** @flags: in, must be zero */
	__u32 flags;
	/** @timeout_ns: in, relative timeout in nanoseconds */
	__s64 timeout_ns;
};

/**
 * enum drm_uptr_bo_kind - what a BO is
 * @DRM_UPTR_BO_KIND_DEVICE: device-local memory
 * @DRM_UPTR_BO_KIND_USERPTR: a range of a process's address space
 */
enum drm_uptr_bo_kind {
	DRM_UPTR_BO_KIND_DEVICE = 1,
	DRM_UPTR_BO_KIND_USERPTR,
};

/**
 * struct drm_uptr_bo_info - DRM_IOCTL_UPTR_BO_INFO
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

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_UPTR_DRM_H_ */
