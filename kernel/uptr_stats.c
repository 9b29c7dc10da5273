// SPDX-License-Identifier: GPL-2.0
/*
 * uptr usage statistics: what each open file uses, in fdinfo, and every
 * userptr of the device, in debugfs.
 */

#include <linux/atomic.h>
#include <linux/dma-resv.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>

#include "uptr_drv.h"
#include "uptr_gem.h"
#include "uptr_stats.h"
#include "uptr_userptr.h"

/**
 * DOC: fdinfo
 *
 * /proc/PID/fdinfo/FD of a uptr DRM fd has the keys of the kernel's
 * drm-usage-stats document (Documentation/gpu/drm-usage-stats.rst), so
 * that generic tools (gputop, nvtop) read them, plus uptr's own:
 *
 * - ``drm-driver``, ``drm-client-id``: "uptr", and a number unique among
 *   the open DRM files (the DRM core's own from 6.5; before, uptr's, unique
 *   among uptr's files), the same for the file's life.
 * - ``drm-total-<region>``, ``drm-shared-<region>``,
 *   ``drm-resident-<region>``, ``drm-active-<region>``: bytes of the BOs
 *   the file holds a handle to.  Region ``memory`` (the document's name
 *   for system memory) holds the device BOs, resident for their whole
 *   life; region ``userptr`` the userptrs, whose memory is the process's
 *   own and already counted in its RSS: a pinned userptr is resident
 *   whole, a coherent one as far as its pages are in its page cache.
 *   Shared: BOs with handles in more than one file; active: resident
 *   bytes of BOs a job still uses.
 * - ``uptr-userptrs``, ``uptr-pinned-pages``,
 *   ``uptr-coherent-resident-pages``, ``uptr-faulted-pages``,
 *   ``uptr-invalidations``: how many userptrs, the pages they pin, the
 *   pages in the coherent ones' page caches, and the pages faulted in and
 *   the invalidations seen by those userptrs so far
 *   (uptr_userptr_stats()).  Driver-specific keys are prefixed with the
 *   driver's name, as later revisions of the document have it (and
 *   as amdgpu's ``amd-`` keys were already).
 * - ``drm-engine-engine0``, ``drm-engine-engine1``: nanoseconds each
 *   engine spent executing the file's jobs, counted when a job ends.
 *
 * The sums are taken BO by BO, each exact at some moment while the file
 * is read, not all at the same one.  Sizes are in bytes, with no unit.
 *
 * Locking: the file's handles are walked one at a time, each BO looked
 * up and referenced under file->table_lock (a spinlock of the DRM core
 * that no invalidation takes), and its figures read with the lock
 * dropped; uptr_userptr_stats() takes a coherent userptr's lock one page
 * chunk at a time, as BO_INFO does.
 */

/*
 * What differs between the kernels here is probed by Kbuild, as for
 * uptr_compat.h.  Newer kernels (6.5 on) give every drm_file a client_id,
 * unique among all DRM files, which the core prints as drm-client-id;
 * before, the driver numbers its files itself.
 */
#ifdef UPTR_HAVE_DRM_FILE_CLIENT_ID
static u64 uptr_drm_client_id(struct drm_file *file)
{
	return file->client_id;
}
#else
static atomic64_t uptr_next_client_id = ATOMIC64_INIT(0);

static u64 uptr_drm_client_id(struct drm_file *file)
{
	return atomic64_inc_return(&uptr_next_client_id);
}
#endif

/*
 * The process that uses @file, as a pid in the reader's namespace.  Newer
 * kernels (6.12 among them) made drm_file.pid RCU-protected: it follows
 * the last process to use a render node.
 */
static pid_t uptr_drm_file_pid(struct drm_file *file)
{
	pid_t nr;

	rcu_read_lock();
#ifdef UPTR_HAVE_DRM_FILE_PID_RCU
	nr = pid_vnr(rcu_dereference(file->pid));
#else
	nr = pid_vnr(file->pid);
#endif
	rcu_read_unlock();
	return nr;
}

/* What the BOs of one memory region add up to, in bytes. */
struct uptr_region_usage {
	u64 total;
	u64 shared;
	u64 resident;
	u64 active;
};

/* What a file's BOs add up to. */
struct uptr_file_usage {
	struct uptr_region_usage memory;
	struct uptr_region_usage userptr;
	u64 userptrs;
	u64 pinned_pages;
	u64 coherent_resident_pages;
	u64 faulted_pages;
	u64 invalidations;
};

/**
 * uptr_stats_file_init() - give a new file its statistics identity
 * @ufile: the driver's state of the file
 * @file: the DRM file
 *
 * Context: the driver's open callback.
 */
void uptr_stats_file_init(struct uptr_file *ufile, struct drm_file *file)
{
	ufile->client_id = uptr_drm_client_id(file);
}

/*
 * The BO of @file with the lowest handle >= *@handle, referenced, with
 * *@handle set to its handle; NULL past the last.  file->table_lock is
 * held for the lookup only, so that the caller may sleep over each BO;
 * a handle created or closed meanwhile is seen or not.
 */
static struct uptr_bo *uptr_file_next_bo(struct drm_file *file, int *handle)
{
	struct drm_gem_object *obj;

	spin_lock(&file->table_lock);
	obj = idr_get_next(&file->object_idr, handle);
	if (obj)
		drm_gem_object_get(obj);
	spin_unlock(&file->table_lock);
	return obj ? to_uptr_bo(obj) : NULL;
}

static void uptr_file_usage_add(struct uptr_file_usage *u, struct uptr_bo *bo)
{
	struct drm_gem_object *obj = &bo->base;
	struct uptr_region_usage *region;
	struct uptr_userptr_stats st;
	u64 resident;

	/* An imported buffer is the exporter's memory: its driver counts it. */
	if (uptr_bo_is_import(bo))
		return;
	if (uptr_bo_is_userptr(bo)) {
		uptr_userptr_stats(&bo->userptr, &st);
		region = &u->userptr;
		resident = st.resident << PAGE_SHIFT;
		u->userptrs++;
		u->pinned_pages += st.pinned;
		if (uptr_bo_is_coherent(bo))
			u->coherent_resident_pages += st.resident;
		u->faulted_pages += st.faulted;
		u->invalidations += st.invalidations;
	} else {
		region = &u->memory;
		resident = obj->size;
	}
	region->total += obj->size;
	region->resident += resident;
	/* Read without the object name lock: a figure, not a decision. */
	if (READ_ONCE(obj->handle_count) > 1)
		region->shared += obj->size;
	if (!dma_resv_test_signaled(obj->resv, DMA_RESV_USAGE_BOOKKEEP))
		region->active += resident;
}

static void uptr_print_region(struct drm_printer *p, const char *name,
			      const struct uptr_region_usage *r)
{
	drm_printf(p, "drm-total-%s:\t%llu\n", name, r->total);
	drm_printf(p, "drm-shared-%s:\t%llu\n", name, r->shared);
	drm_printf(p, "drm-resident-%s:\t%llu\n", name, r->resident);
	drm_printf(p, "drm-active-%s:\t%llu\n", name, r->active);
}

/*
 * The per-engine keys of @ufile (drm-engine-<name>: busy ns, one line per
 * engine) go here, after the memory keys.
 */
static void uptr_show_fdinfo_engines(struct drm_printer *p, struct uptr_file *ufile)
{
	unsigned int i;

	/* Time the engines spent on the file's jobs that have completed. */
	for (i = 0; i < UPTR_ENGINE_COUNT; i++)
		drm_printf(p, "drm-engine-%s:\t%llu ns\n", ufile->udev->engines[i].name,
			   (u64)atomic64_read(&ufile->busy_ns[i]));
}

/**
 * uptr_show_fdinfo() - the driver's fdinfo keys of a DRM file
 * @p: where to print
 * @file: the DRM file
 *
 * Everything after drm-driver and drm-client-id (see DOC: fdinfo): the
 * DRM core prints those from 6.5 on (drm_show_fdinfo(), which calls this
 * as &drm_driver.show_fdinfo); uptr_fop_show_fdinfo() before.
 *
 * Context: process context; takes file->table_lock and each coherent
 * userptr's lock, briefly, one at a time.
 */
void uptr_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct uptr_file_usage u = {};
	struct uptr_bo *bo;
	int handle;

	for (handle = 0; (bo = uptr_file_next_bo(file, &handle)); handle++) {
		uptr_file_usage_add(&u, bo);
		drm_gem_object_put(&bo->base);
	}
	uptr_print_region(p, "memory", &u.memory);
	uptr_print_region(p, "userptr", &u.userptr);
	drm_printf(p, "uptr-userptrs:\t%llu\n", u.userptrs);
	drm_printf(p, "uptr-pinned-pages:\t%llu\n", u.pinned_pages);
	drm_printf(p, "uptr-coherent-resident-pages:\t%llu\n", u.coherent_resident_pages);
	drm_printf(p, "uptr-faulted-pages:\t%llu\n", u.faulted_pages);
	drm_printf(p, "uptr-invalidations:\t%llu\n", u.invalidations);
	uptr_show_fdinfo_engines(p, to_uptr_file(file));
}

#ifndef UPTR_HAVE_DRM_SHOW_FDINFO
/**
 * uptr_fop_show_fdinfo() - fdinfo of a DRM fd, where the core prints none
 * @m: the fdinfo file
 * @f: the DRM fd
 *
 * &file_operations.show_fdinfo before 6.5: the two common keys the DRM
 * core prints from 6.5 on, then uptr_show_fdinfo().
 */
void uptr_fop_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct drm_file *file = f->private_data;
	struct drm_printer p = drm_seq_file_printer(m);

	drm_printf(&p, "drm-driver:\t%s\n", file->minor->dev->driver->name);
	drm_printf(&p, "drm-client-id:\t%llu\n", to_uptr_file(file)->client_id);
	uptr_show_fdinfo(&p, file);
}
#endif

static void uptr_debugfs_show_userptr(struct seq_file *m, u64 client_id, pid_t pid,
				      int handle, struct uptr_bo *bo)
{
	struct uptr_userptr *up = &bo->userptr;
	struct uptr_userptr_stats st;

	uptr_userptr_stats(up, &st);
	seq_printf(m, "%llu %d %d 0x%lx 0x%lx %s %s %lu %llu %llu %llu\n",
		   client_id, pid, handle, uptr_userptr_start(up), uptr_userptr_end(up),
		   uptr_bo_is_coherent(bo) ? "coherent" : "pinned",
		   uptr_bo_is_read_only(bo) ? "ro" : "rw",
		   uptr_userptr_npages(up), st.resident, st.faulted, st.invalidations);
}

/*
 * debugfs "userptrs": one line per userptr handle of every open file of
 * the device, oldest file first.  dev->filelist_mutex keeps the files
 * (and their handle tables) alive; it is a DRM core mutex that no
 * invalidation takes.  The handles are walked as for fdinfo.
 */
static int uptr_debugfs_userptrs(struct seq_file *m, void *data)
{
	struct drm_info_node *node = m->private;
	struct drm_device *dev = node->minor->dev;
	struct drm_file *file;
	struct uptr_bo *bo;
	int handle;

	seq_puts(m, "# client pid handle start end kind access pages resident faulted invalidations\n");
	mutex_lock(&dev->filelist_mutex);
	list_for_each_entry_reverse(file, &dev->filelist, lhead) {
		u64 client_id = to_uptr_file(file)->client_id;
		pid_t pid = uptr_drm_file_pid(file);

		for (handle = 0; (bo = uptr_file_next_bo(file, &handle)); handle++) {
			if (uptr_bo_is_userptr(bo))
				uptr_debugfs_show_userptr(m, client_id, pid, handle, bo);
			drm_gem_object_put(&bo->base);
		}
	}
	mutex_unlock(&dev->filelist_mutex);
	return 0;
}

static const struct drm_info_list uptr_debugfs_list[] = {
	{ "userptrs", uptr_debugfs_userptrs, 0, NULL },
};

/**
 * uptr_debugfs_init() - the driver's debugfs files of a DRM minor
 * @minor: the minor whose directory gets them
 *
 * &drm_driver.debugfs_init: on 6.1 the DRM core calls it for every minor
 * (dri/0 and dri/128 are two directories); on 6.12 once, for the
 * device's one directory, to which dri/0 and dri/128 are links.  Either
 * way dri/<minor>/userptrs exists for each minor.
 */
void uptr_debugfs_init(struct drm_minor *minor)
{
	drm_debugfs_create_files(uptr_debugfs_list, ARRAY_SIZE(uptr_debugfs_list),
				 minor->debugfs_root, minor);
}
