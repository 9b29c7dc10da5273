// SPDX-License-Identifier: GPL-2.0
/*
 * uptr dma-buf sharing (PRIME): export of BOs, import of other drivers'
 * buffers.  The generic DRM_IOCTL_PRIME_HANDLE_TO_FD and FD_TO_HANDLE
 * reach these through the GEM object's export callback and the driver's
 * gem_prime_import.
 *
 * Export.  A device BO, and a pinned read-write userptr whose pages are
 * all anonymous or shmem memory, become a dma-buf whose ops are the DRM
 * core's generic ones (attach, map for the importer's device from the
 * BO's get_sg_table, vmap, mmap through the BO's own mmap).
 * The dma-buf shares the BO's reservation object, so the fences of uptr
 * jobs are the dma-buf's implicit fences and an importer's are the BO's.
 * Every other userptr is refused (see uptr_prime_userptr_exportable()).
 *
 * Import.  A dma-buf exported by this device gives back its own GEM
 * object.  Any other becomes an imported BO (uptr_import_bo_funcs): attached for
 * the device, mapped into the kernel with dma_buf_vmap() for its whole
 * life, and sharing the exporter's reservation object, so that jobs wait
 * for the exporter's fences and publish theirs there (uptr_job.c).
 *
 * Locking.  Export and import run in the PRIME ioctls, under the file's
 * prime lock and the device's object_name_lock; import takes the
 * dma-buf's reservation lock inside them (attach, and vmap on kernels
 * with dma_buf_vmap_unlocked()).  A BO's pages and page array never
 * change while it lives, so nothing here locks them.  An imported BO's
 * teardown takes the reservation lock (vunmap, detach), so it never
 * runs where its last reference may go (a job freed by the scheduler,
 * whose thread starts other jobs whose fences a lock holder may wait
 * for): it runs from the device's exec_wq (uptr_import_free()).
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/vmalloc.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_gem.h"
#include "uptr_prime.h"

MODULE_IMPORT_NS(DMA_BUF);

/*
 * A CPU mapping of the dma-buf is one of the BO, made by the BO's own
 * mmap callback.  Not drm_gem_dmabuf_mmap(): on 6.1 it goes through
 * drm_driver.gem_prime_mmap, which later kernels no longer have.
 */
static int uptr_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return drm_gem_prime_mmap(dmabuf->priv, vma);
}

/*
 * The DRM core's generic ops, with the BO's own mmap.  No
 * begin/end_cpu_access, as in the DRM core's generic exporters: the
 * dma-buf core waits for the fences there, and the importers' mappings
 * need no cache maintenance on the cache-coherent machines uptr runs on.
 */
static const struct dma_buf_ops uptr_dmabuf_ops = {
	.cache_sgt_mapping = true,
	.attach = drm_gem_map_attach,
	.detach = drm_gem_map_detach,
	.map_dma_buf = drm_gem_map_dma_buf,
	.unmap_dma_buf = drm_gem_unmap_dma_buf,
	.release = drm_gem_dmabuf_release,
	.mmap = uptr_dmabuf_mmap,
	.vmap = drm_gem_dmabuf_vmap,
	.vunmap = drm_gem_dmabuf_vunmap,
};

/*
 * Whether the pages a pinned userptr holds may go into a dma-buf: every
 * one an anonymous page or a page of a shmem file (tmpfs, memfd), which
 * is what udmabuf accepts.  Other file pages belong to a filesystem that
 * may write them back, truncate them or take their buffers away while an
 * importer holds them: a dma-buf promises its importers memory the
 * exporter owns (the reason i915 stopped exporting userptrs in 5.13).
 *
 * The pinned pages themselves are checked, not the VMAs: the range can
 * be remapped between a look at the VMAs and the pin, and what the
 * dma-buf hands out is the pinned pages, whatever maps the range now.
 * A pinned page stays anonymous while pinned; a shmem page truncated out
 * of its file has no mapping any more and is refused (it is no longer
 * the file's, nor anyone's but the pin's).  A read-write pin holds no
 * KSM or shared copy-on-write page: the pin broke the sharing.
 */
static bool uptr_prime_userptr_pages_ok(struct uptr_bo *bo, unsigned long *bad)
{
	struct page **pages = bo->userptr.pages;
	unsigned long i;

	for (i = 0; i < uptr_userptr_npages(&bo->userptr); i++) {
		struct folio *folio = page_folio(pages[i]);
		struct address_space *mapping;
		bool ok;

		if (!(i & 1023))
			cond_resched();
		if (folio_test_anon(folio))
			continue;
		/* A truncated shmem inode is freed after a grace period. */
		rcu_read_lock();
		mapping = folio_mapping(folio);
		ok = mapping && shmem_mapping(mapping);
		rcu_read_unlock();
		if (ok)
			continue;
		*bad = i;
		return false;
	}
	return true;
}

/*
 * A userptr is exported only when it is pinned (a coherent userptr has no
 * pages of its own to give: they change whenever the CPU mapping does),
 * read-write (an importer may write: a READ_ONLY userptr's pages are
 * never to be written by a device) and over anonymous or shmem memory.
 */
static int uptr_prime_userptr_exportable(struct uptr_bo *bo)
{
	unsigned long bad;

	if (uptr_bo_is_coherent(bo)) {
		uptr_dbg(IOCTL, "a coherent userptr cannot be exported: it has no pages of its own\n");
		return -EINVAL;
	}
	if (uptr_bo_is_read_only(bo)) {
		uptr_dbg(IOCTL, "a READ_ONLY userptr cannot be exported: importers may write\n");
		return -EINVAL;
	}
	if (!uptr_prime_userptr_pages_ok(bo, &bad)) {
		uptr_dbg(IOCTL, "userptr page %lu is neither anonymous nor shmem: not exported\n",
			 bad);
		return -EINVAL;
	}
	return 0;
}

/**
 * uptr_prime_export() - the GEM export callback of uptr's BOs
 * @obj: the BO
 * @flags: the dma-buf file's flags (O_CLOEXEC, O_RDWR)
 *
 * Context: DRM_IOCTL_PRIME_HANDLE_TO_FD, once per dma-buf of @obj.
 * Return: the dma-buf, or ERR_PTR(-EINVAL) for a BO that cannot be
 * exported, or another negative errno.
 */
struct dma_buf *uptr_prime_export(struct drm_gem_object *obj, int flags)
{
	struct uptr_bo *bo = to_uptr_bo(obj);
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	int ret;

	if (uptr_bo_is_userptr(bo)) {
		ret = uptr_prime_userptr_exportable(bo);
		if (ret)
			return ERR_PTR(ret);
	} else {
		/*
		 * A dma-buf mapping's page offset counts from the BO's mmap
		 * offset (drm_gem_prime_mmap()): it must exist before the
		 * first one, and never move.
		 */
		ret = drm_gem_create_mmap_offset(obj);
		if (ret)
			return ERR_PTR(ret);
	}
	exp_info.ops = &uptr_dmabuf_ops;
	exp_info.size = obj->size;
	exp_info.flags = flags;
	exp_info.priv = obj;
	exp_info.resv = obj->resv;
	uptr_dbg(BO, "bo %p exported\n", bo);
	return drm_gem_dmabuf_export(obj->dev, &exp_info);
}

/**
 * uptr_prime_get_sg_table() - a new sg table of an exported BO's pages
 * @obj: a device BO or an exported pinned userptr
 *
 * For the DRM core's map_dma_buf, which DMA-maps it for the importer's
 * device and frees it at unmap.
 *
 * Return: the sg table, or an ERR_PTR.
 */
struct sg_table *uptr_prime_get_sg_table(struct drm_gem_object *obj)
{
	struct uptr_bo *bo = to_uptr_bo(obj);

	return drm_prime_pages_to_sg(obj->dev, uptr_bo_pages(bo), obj->size >> PAGE_SHIFT);
}

/**
 * uptr_prime_vmap() - a kernel mapping of an exported BO, for an importer
 * @obj: a device BO or an exported pinned userptr
 * @map: where to put it
 *
 * Return: 0, or -ENOMEM.
 */
int uptr_prime_vmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	void *vaddr = vmap(uptr_bo_pages(to_uptr_bo(obj)), obj->size >> PAGE_SHIFT, VM_MAP,
			   PAGE_KERNEL);

	if (!vaddr)
		return -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

/**
 * uptr_prime_vunmap() - undo uptr_prime_vmap()
 * @obj: the BO
 * @map: what uptr_prime_vmap() gave
 */
void uptr_prime_vunmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	vunmap(map->vaddr);
}

static void uptr_import_free_work(struct work_struct *work)
{
	struct uptr_bo *bo = container_of(work, struct uptr_bo, free_work);
	struct drm_gem_object *obj = &bo->base;
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(bo->vaddr);
	struct dma_buf *dma_buf = obj->import_attach->dmabuf;

	uptr_dbg(BO, "imported bo %p size %zu\n", bo, obj->size);
	uptr_dma_buf_vunmap_unlocked(dma_buf, &map);
	/* Detaches and drops the import's reference on the dma-buf. */
	drm_prime_gem_destroy(obj, NULL);
	drm_gem_object_release(obj);
	uptr_bo_free_struct(bo);
}

/*
 * The last reference may go in the scheduler's free_job, on the thread
 * that starts the engine's next jobs: the teardown, which takes the
 * reservation lock, runs from the device's exec_wq instead, which
 * uptr_jobs_fini() drains before the device goes.
 */
static void uptr_import_free(struct drm_gem_object *obj)
{
	struct uptr_bo *bo = to_uptr_bo(obj);

	INIT_WORK(&bo->free_work, uptr_import_free_work);
	queue_work(to_uptr_device(obj->dev)->exec_wq, &bo->free_work);
}

const struct drm_gem_object_funcs uptr_import_bo_funcs = {
	.free = uptr_import_free,
};

/*
 * A foreign dma-buf as a BO.  The engine is the CPU, so it reaches the
 * buffer through the exporter's kernel mapping (dma_buf_vmap()), never
 * through the pages of an sg table: a dma-buf's sg table is for DMA, and
 * its exporter does not promise that struct pages stand behind it (the
 * dma-buf core even scrambles them under CONFIG_DMABUF_DEBUG).
 *
 * The mapping is taken here, for the BO's life, and given back when the
 * BO is freed, which a job's end never causes (uptr_job.c keeps imported
 * BOs until the scheduler frees the job), and then from a work item
 * (uptr_import_free()): vmap and vunmap may take the reservation lock,
 * which has no place on a job's way to its fence, nor on the
 * scheduler's, since its holders may wait for fences.  The exporter's
 * begin/end_cpu_access are not called per job for the same reason, and
 * one more: dma_buf_begin_cpu_access() waits for every fence of the
 * reservation object, the job's own included, published at submit.  The
 * ordering they would give, the exporter's work before the job's, is
 * what implicit synchronisation already gives (the scheduler runs the
 * job once the exporter's fences found at submit signalled); the
 * exporter's mapping is one meant for CPU access.  An I/O memory mapping
 * is refused: the engine copies with memcpy().
 */
static struct drm_gem_object *
uptr_prime_import_foreign(struct drm_device *dev, struct dma_buf *dma_buf)
{
	struct dma_buf_attachment *attach;
	struct iosys_map map;
	struct uptr_bo *bo;
	int ret;

	if (!dma_buf->size || !PAGE_ALIGNED(dma_buf->size)) {
		uptr_dbg(IOCTL, "dma-buf size %zu not a multiple of the page size\n",
			 dma_buf->size);
		return ERR_PTR(-EINVAL);
	}
	if (dma_buf->size > UPTR_MAX_BO_SIZE) {
		uptr_dbg(IOCTL, "dma-buf size %zu above %llu\n", dma_buf->size, UPTR_MAX_BO_SIZE);
		return ERR_PTR(-E2BIG);
	}

	attach = dma_buf_attach(dma_buf, dev->dev);
	if (IS_ERR(attach)) {
		uptr_dbg(IOCTL, "attach refused by the exporter: %ld\n", PTR_ERR(attach));
		return ERR_CAST(attach);
	}
	get_dma_buf(dma_buf);

	ret = uptr_dma_buf_vmap_unlocked(dma_buf, &map);
	if (ret) {
		uptr_dbg(IOCTL, "the exporter gives no kernel mapping: %d\n", ret);
		goto err_detach;
	}
	if (map.is_iomem) {
		uptr_dbg(IOCTL, "the exporter's kernel mapping is I/O memory\n");
		ret = -EINVAL;
		goto err_vunmap;
	}

	bo = uptr_bo_alloc();
	if (!bo) {
		ret = -ENOMEM;
		goto err_vunmap;
	}
	bo->vaddr = map.vaddr;
	bo->base.funcs = &uptr_import_bo_funcs;
	/* The exporter's fences are the BO's: set before the object's init. */
	bo->base.resv = dma_buf->resv;
	drm_gem_private_object_init(dev, &bo->base, dma_buf->size);
	bo->base.import_attach = attach;
	atomic_inc(&uptr_live_objects);
	uptr_dbg(BO, "imported bo %p size %zu\n", bo, dma_buf->size);
	return &bo->base;

err_vunmap:
	uptr_dma_buf_vunmap_unlocked(dma_buf, &map);
err_detach:
	dma_buf_detach(dma_buf, attach);
	dma_buf_put(dma_buf);
	return ERR_PTR(ret);
}

/**
 * uptr_gem_prime_import() - the driver's gem_prime_import
 * @dev: the uptr device
 * @dma_buf: the dma-buf to import
 *
 * A dma-buf this device exported gives back its own GEM object, from
 * whichever file it was exported; any other is imported as a new BO.
 *
 * Context: DRM_IOCTL_PRIME_FD_TO_HANDLE, the first time the file meets
 * @dma_buf.
 * Return: a referenced GEM object, or an ERR_PTR: -EINVAL for a size
 * that is not a multiple of the page size or an exporter giving an I/O
 * memory mapping, -E2BIG above DRM_UPTR_PARAM_MAX_BO_SIZE, the
 * exporter's errno when it refuses an attachment or a kernel mapping,
 * -ENOMEM.
 */
struct drm_gem_object *uptr_gem_prime_import(struct drm_device *dev, struct dma_buf *dma_buf)
{
	if (dma_buf->ops == &uptr_dmabuf_ops) {
		struct drm_gem_object *obj = dma_buf->priv;

		if (obj->dev == dev) {
			drm_gem_object_get(obj);
			return obj;
		}
	}
	return uptr_prime_import_foreign(dev, dma_buf);
}
