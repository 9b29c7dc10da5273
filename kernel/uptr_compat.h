/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr: the differences between the kernels uptr builds for (Debian's
 * 6.1 and 6.12), kept in this one header so that the rest of the code
 * reads the same on both.  Kbuild probes the kernel's headers for each
 * feature (UPTR_HAVE_*) rather than comparing version numbers, which
 * distribution kernels make unreliable.  (The DRM core's differences,
 * which only the usage statistics see, are where those are: uptr_stats.c
 * and the fdinfo entries of uptr_drv.c.  The userptr core includes this
 * header, and nothing from DRM.)
 */
#ifndef _UPTR_COMPAT_H_
#define _UPTR_COMPAT_H_

#include <linux/bug.h>
#include <linux/dma-buf.h>
#include <linux/iosys-map.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/rwsem.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/gpu_scheduler.h>

/* 6.3 made vma->vm_flags read-only: writers go through vm_flags_set(). */
static inline void uptr_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#ifdef UPTR_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void uptr_vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
#ifdef UPTR_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/**
 * uptr_mmap_assert_locked() - assert that @mm's mmap_lock is held
 * @mm: the address space
 *
 * mmap_assert_locked() with CONFIG_DEBUG_VM calls dump_mm(), which 6.1
 * does not export to modules, so a module using it does not link against
 * a DEBUG_VM kernel.  This is the same check in a form that links:
 * lockdep where it is built in, and a warning under CONFIG_DEBUG_VM.
 */
static inline void uptr_mmap_assert_locked(struct mm_struct *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
	if (IS_ENABLED(CONFIG_DEBUG_VM))
		WARN_ON_ONCE(!rwsem_is_locked(&mm->mmap_lock));
}

/*
 * 6.8 gave the scheduler a submission workqueue and a number of run
 * queues (NULL and 0 are not defaults there: one per priority).
 */
static inline void uptr_sched_init_args(struct drm_sched_init_args *args)
{
#ifdef UPTR_HAVE_SCHED_SUBMIT_WQ
	args->submit_wq = NULL;
	args->num_rqs = DRM_SCHED_PRIORITY_COUNT;
#endif
}

/*
 * 6.7 made a job cost credits (one here: the engine runs one job at a
 * time) and Debian's 6.12 has the client id of later kernels.
 */
static inline int uptr_sched_job_init(struct drm_sched_job *job,
				      struct drm_sched_entity *entity,
				      void *owner, struct drm_file *file)
{
#ifdef UPTR_HAVE_SCHED_CLIENT_ID
	return drm_sched_job_init(job, entity, 1, owner, file->client_id);
#else
	return drm_sched_job_init(job, entity, owner);
#endif
}

/*
 * 6.7 replaced register_shrinker() on a caller's struct with
 * shrinker_alloc() + shrinker_register(), and gave the shrinker a
 * private_data pointer.  uptr_shrinker_create() registers a shrinker
 * with DEFAULT_SEEKS either way, uptr_shrinker_private() returns what
 * was passed to it, uptr_shrinker_destroy() unregisters and frees it.
 */
typedef unsigned long (*uptr_shrinker_fn)(struct shrinker *shrinker,
					  struct shrink_control *sc);

#ifdef UPTR_HAVE_SHRINKER_ALLOC
static inline struct shrinker *uptr_shrinker_create(uptr_shrinker_fn count, uptr_shrinker_fn scan,
						    void *priv, const char *name)
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->private_data = priv;
	shrinker_register(s);
	return s;
}

static inline void *uptr_shrinker_private(struct shrinker *s)
{
	return s->private_data;
}

static inline void uptr_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}
#else
struct uptr_shrinker {
	struct shrinker base;
	void *priv;
};

static inline struct shrinker *uptr_shrinker_create(uptr_shrinker_fn count, uptr_shrinker_fn scan,
						    void *priv, const char *name)
{
	struct uptr_shrinker *us = kzalloc(sizeof(*us), GFP_KERNEL);
	int ret;

	if (!us)
		return ERR_PTR(-ENOMEM);
	us->base.count_objects = count;
	us->base.scan_objects = scan;
	us->base.seeks = DEFAULT_SEEKS;
	us->priv = priv;
	ret = register_shrinker(&us->base, "%s", name);
	if (ret) {
		kfree(us);
		return ERR_PTR(ret);
	}
	return &us->base;
}

static inline void *uptr_shrinker_private(struct shrinker *s)
{
	return container_of(s, struct uptr_shrinker, base)->priv;
}

static inline void uptr_shrinker_destroy(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(container_of(s, struct uptr_shrinker, base));
}
#endif

/*
 * 6.2 made the dma-buf's reservation lock the lock of vmap:
 * dma_buf_vmap() expects it held, dma_buf_vmap_unlocked() takes it.  6.1's
 * dma_buf_vmap() takes the dma-buf's own mutex.  Either way the caller
 * holds neither.
 */
static inline int uptr_dma_buf_vmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef UPTR_HAVE_DMA_BUF_VMAP_UNLOCKED
	return dma_buf_vmap_unlocked(dmabuf, map);
#else
	return dma_buf_vmap(dmabuf, map);
#endif
}

static inline void uptr_dma_buf_vunmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef UPTR_HAVE_DMA_BUF_VMAP_UNLOCKED
	dma_buf_vunmap_unlocked(dmabuf, map);
#else
	dma_buf_vunmap(dmabuf, map);
#endif
}

#endif /* _UPTR_COMPAT_H_ */
