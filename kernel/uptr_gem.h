/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr buffer objects: device-local BOs and userptr BOs.
 */
#ifndef _UPTR_GEM_H_
#define _UPTR_GEM_H_

#include <linux/atomic.h>
#include <linux/scatterlist.h>
#include <linux/workqueue.h>

#include <drm/drm_gem.h>

#include "uptr_userptr.h"

struct uptr_notify;

struct drm_device;
struct drm_file;

/* What each kind of BO is made of: a BO's kind is told by its functions. */
extern const struct drm_gem_object_funcs uptr_bo_userptr_funcs;
extern const struct drm_gem_object_funcs uptr_import_bo_funcs;

/**
 * struct uptr_bo_view - where a running command last reached a coherent
 * userptr: the engine's translation of the BO's pages, kept across holds
 * of the userptr's lock
 * @next: the next view of the same BO (&uptr_bo.views), under that lock
 * @hint: the page cache's chunk of the last page the command reached;
 *	zapped under that lock by the driver's &uptr_userptr_ops.invalidate
 *	before the core drops any page of that chunk
 */
struct uptr_bo_view {
	struct uptr_bo_view *next;
	struct uptr_userptr_hint hint;
};

/**
 * struct uptr_bo - a uptr buffer object
 *
 * The engine reaches a BO's memory only through uptr_bo_sgt(), or, for
 * a BO imported from another driver's dma-buf, through the kernel
 * mapping the exporter gave (uptr_bo_vaddr()).  Every
 * member but the counters and @views is set at creation and never
 * changes until the object is freed, so holding a GEM reference is
 * enough to read them.
 * The kind of a BO is told by @base.funcs (uptr_bo_is_userptr(),
 * uptr_bo_is_import()); a userptr BO keeps its uAPI flags and, if it is a
 * NOTIFY one, its stale-range signals in the userptr core's struct
 * (uptr_bo_uapi_flags(), uptr_bo_notify()), so that a userptr BO costs no
 * more than its GEM object, its counters, the core's state and a
 * pointer.
 */
struct uptr_bo {
	/** @base: the GEM object */
	struct drm_gem_object base;
	/** @jobs: jobs that used the BO */
	atomic64_t jobs;
	union {
		/* device BO */
		struct {
			/** @pages: device BO: its pages, held for the BO's life */
			struct page **pages;
			/** @sgt: device BO: @pages, DMA-mapped */
			struct sg_table *sgt;
		};
		/* userptr BO */
		struct {
			/** @userptr: userptr BO: the userptr core's state */
			struct uptr_userptr userptr;
			/**
			 * @views: coherent userptr BO: the views of the
			 * commands running on it (uptr_bo_view_attach()), a
			 * list under @userptr's lock
			 */
			struct uptr_bo_view *views;
		};
		/* BO imported from a foreign dma-buf (uptr_prime.c) */
		struct {
			/**
			 * @vaddr: imported BO: the exporter's kernel mapping
			 * of the whole buffer (dma_buf_vmap()), held for the
			 * BO's life
			 */
			void *vaddr;
			/** @free_work: imported BO: its teardown (uptr_prime.c) */
			struct work_struct free_work;
		};
	};
};

static inline struct uptr_bo *to_uptr_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct uptr_bo, base);
}

static inline bool uptr_bo_is_userptr(const struct uptr_bo *bo)
{
	return bo->base.funcs == &uptr_bo_userptr_funcs;
}

static inline bool uptr_bo_is_import(const struct uptr_bo *bo)
{
	return bo->base.funcs == &uptr_import_bo_funcs;
}

/**
 * uptr_bo_uapi_flags() - the DRM_UPTR_USERPTR_* a userptr BO was created with
 * @bo: a userptr BO
 *
 * Return: the flags.
 */
static inline u32 uptr_bo_uapi_flags(const struct uptr_bo *bo)
{
	return bo->userptr.flags >> UPTR_USERPTR_DRIVER_SHIFT;
}

/**
 * uptr_bo_notify() - the stale-range signals of a NOTIFY userptr BO
 * @bo: any BO
 *
 * Return: those of a pinned userptr BO created with NOTIFY, else NULL.
 */
static inline struct uptr_notify *uptr_bo_notify(const struct uptr_bo *bo)
{
	if (!uptr_bo_is_userptr(bo) || uptr_userptr_is_coherent(&bo->userptr))
		return NULL;
	return bo->userptr.priv;
}

static inline bool uptr_bo_is_coherent(const struct uptr_bo *bo)
{
	return uptr_bo_is_userptr(bo) && uptr_userptr_is_coherent(&bo->userptr);
}

static inline bool uptr_bo_is_read_only(const struct uptr_bo *bo)
{
	return uptr_bo_is_userptr(bo) &&
	       (bo->userptr.flags & UPTR_USERPTR_READ_ONLY);
}

/**
 * uptr_bo_active_get() - say that a job uses @bo from now on
 * @bo: a BO the job holds a reference on
 *
 * For a coherent userptr, keeps the shrinker from dropping its cached
 * pages until uptr_bo_active_put(); nothing for other BOs.  A job calls
 * it once per BO before it faults the BO's pages in, and
 * uptr_bo_active_put() once it is over, before it lets the BO go.
 */
static inline void uptr_bo_active_get(struct uptr_bo *bo)
{
	if (uptr_bo_is_coherent(bo))
		uptr_userptr_active_get(&bo->userptr);
}

/**
 * uptr_bo_active_put() - the job that used @bo is over
 * @bo: a BO uptr_bo_active_get() was called on
 */
static inline void uptr_bo_active_put(struct uptr_bo *bo)
{
	if (uptr_bo_is_coherent(bo))
		uptr_userptr_active_put(&bo->userptr);
}

/**
 * uptr_bo_sgt() - the sg table through which the engine reaches a BO
 * @bo: the BO, referenced by the caller
 *
 * Return: the sg table of a device BO or a pinned userptr, whose CPU
 * side (orig_nents) lists the pages; NULL for a coherent userptr, whose
 * pages the engine takes from the userptr core's page cache, and for an
 * imported BO (see uptr_bo_vaddr()).
 */
static inline struct sg_table *uptr_bo_sgt(struct uptr_bo *bo)
{
	if (uptr_bo_is_import(bo))
		return NULL;
	if (!uptr_bo_is_userptr(bo))
		return bo->sgt;
	return uptr_bo_is_coherent(bo) ? NULL : &bo->userptr.sgt;
}

/**
 * uptr_bo_vaddr() - the kernel address of byte @offset of an imported BO
 * @bo: an imported BO, referenced by the caller
 * @offset: bytes into it, below its size
 *
 * Return: where the engine reads and writes that byte.
 */
static inline void *uptr_bo_vaddr(struct uptr_bo *bo, u64 offset)
{
	return bo->vaddr + offset;
}

/**
 * uptr_bo_pages() - the pages of a BO that holds them for its life
 * @bo: a device BO or a pinned userptr
 *
 * Return: the page array, one per page of the BO.
 */
static inline struct page **uptr_bo_pages(struct uptr_bo *bo)
{
	return uptr_bo_is_userptr(bo) ? bo->userptr.pages : bo->pages;
}

extern const struct uptr_userptr_ops uptr_bo_userptr_ops;

void uptr_bo_view_attach(struct uptr_bo *bo, struct uptr_bo_view *view);
void uptr_bo_view_detach(struct uptr_bo *bo, struct uptr_bo_view *view);

int uptr_gem_init(void);
void uptr_gem_fini(void);

struct uptr_bo *uptr_bo_lookup(struct drm_file *file, u32 handle);
struct uptr_bo *uptr_bo_alloc(void);
void uptr_bo_free_struct(struct uptr_bo *bo);

int uptr_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_bo_mmap_offset_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_bo_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int uptr_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* _UPTR_GEM_H_ */
