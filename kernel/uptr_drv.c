// SPDX-License-Identifier: GPL-2.0
/*
 * uptr: a DRM render device whose buffer objects can wrap a process's
 * own memory (userptr), executed on by a software engine.
 *
 * This file holds the device: the platform driver it binds to, the DRM
 * driver table, the ioctl table, GET_PARAM and module init/exit.
 */

#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_prime.h>
#include <drm/uptr_drm.h>

#include "uptr_compat.h"
#include "uptr_drv.h"
#include "uptr_engine.h"
#include "uptr_gem.h"
#include "uptr_job.h"
#include "uptr_stats.h"
#include "uptr_notify.h"
#include "uptr_prime.h"
#include "uptr_userptr.h"

#define UPTR_DRIVER_DESC	"userptr buffer objects on a software engine"
#define UPTR_DRIVER_DATE	"20261121"
#define UPTR_DRIVER_MAJOR	1
#define UPTR_DRIVER_MINOR	6

unsigned int uptr_debug;
module_param_named(debug, uptr_debug, uint, 0600);
MODULE_PARM_DESC(debug, "debug messages: 0x1 refused ioctls, 0x2 BOs, 0x4 jobs");

atomic_t uptr_live_objects = ATOMIC_INIT(0);

static struct platform_device *uptr_pdev;

/**
 * uptr_user_extensions() - checks the extensions member of an ioctl struct
 * @extensions: user pointer to the first struct drm_uptr_user_extension,
 *	or 0
 *
 * No extension is defined yet, so every chain is refused; its head is
 * read first so that a pointer that cannot be read is told apart.
 *
 * Return: 0 when @extensions is 0, -EFAULT when the head cannot be read,
 * else -EINVAL.
 */
int uptr_user_extensions(u64 extensions)
{
	struct drm_uptr_user_extension ext;

	if (!extensions)
		return 0;
	if (copy_from_user(&ext, u64_to_user_ptr(extensions), sizeof(ext))) {
		uptr_dbg(IOCTL, "extension at %#llx unreadable\n", extensions);
		return -EFAULT;
	}
	uptr_dbg(IOCTL, "unknown extension %u\n", ext.name);
	return -EINVAL;
}

static int uptr_get_param_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_uptr_get_param *args = data;

	if (args->pad) {
		uptr_dbg(IOCTL, "non-zero pad\n");
		return -EINVAL;
	}

	switch (args->param) {
	case DRM_UPTR_PARAM_PAGE_SIZE:
		args->value = PAGE_SIZE;
		break;
	case DRM_UPTR_PARAM_MAX_USERPTR_SIZE:
		args->value = UPTR_USERPTR_MAX_SIZE;
		break;
	case DRM_UPTR_PARAM_USERPTR_FLAGS:
		args->value = DRM_UPTR_USERPTR_READ_ONLY | DRM_UPTR_USERPTR_PINNED |
			      DRM_UPTR_USERPTR_PROBE | DRM_UPTR_USERPTR_NOTIFY;
		break;
	case DRM_UPTR_PARAM_ENGINE_COUNT:
		args->value = UPTR_ENGINE_COUNT;
		break;
	case DRM_UPTR_PARAM_MAX_COMMANDS:
		args->value = UPTR_MAX_COMMANDS;
		break;
	case DRM_UPTR_PARAM_MAX_BO_SIZE:
		args->value = UPTR_MAX_BO_SIZE;
		break;
	case DRM_UPTR_PARAM_USERPTR_KINDS:
		args->value = DRM_UPTR_KIND_PINNED | DRM_UPTR_KIND_COHERENT;
		break;
	case DRM_UPTR_PARAM_MAX_JOB_BYTES:
		args->value = UPTR_MAX_JOB_BYTES;
		break;
	case DRM_UPTR_PARAM_JOB_TIMEOUT_MS:
		args->value = uptr_job_timeout();
		break;
	default:
		uptr_dbg(IOCTL, "unknown param %u\n", args->param);
		return -EINVAL;
	}
	return 0;
}

static void uptr_file_release(struct kref *ref)
{
	struct uptr_file *ufile = container_of(ref, struct uptr_file, ref);

	kfree(ufile);
}

void uptr_file_put(struct uptr_file *ufile)
{
	kref_put(&ufile->ref, uptr_file_release);
}

static int uptr_open(struct drm_device *dev, struct drm_file *file)
{
	struct uptr_file *ufile;
	int ret;

	ufile = kzalloc(sizeof(*ufile), GFP_KERNEL_ACCOUNT);
	if (!ufile)
		return -ENOMEM;
	ufile->udev = to_uptr_device(dev);
	kref_init(&ufile->ref);
	uptr_notify_file_init(&ufile->notify);
	ret = uptr_jobs_file_open(ufile);
	if (ret) {
		kfree(ufile);
		return ret;
	}
	uptr_stats_file_init(ufile, file);
	file->driver_priv = ufile;
	return 0;
}

static void uptr_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct uptr_file *ufile = to_uptr_file(file);

	uptr_notify_file_fini(&ufile->notify, file);
	uptr_jobs_file_close(ufile);
	file->driver_priv = NULL;
	uptr_file_put(ufile);
}

static const struct drm_ioctl_desc uptr_ioctls[] = {
	DRM_IOCTL_DEF_DRV(UPTR_GET_PARAM, uptr_get_param_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_CREATE, uptr_bo_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_USERPTR, uptr_bo_userptr_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_MMAP_OFFSET, uptr_bo_mmap_offset_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_SUBMIT, uptr_submit_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_WAIT, uptr_bo_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_INFO, uptr_bo_info_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_NOTIFY_QUERY, uptr_notify_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_PREFETCH, uptr_prefetch_ioctl, DRM_RENDER_ALLOW),
};

static const struct file_operations uptr_fops = {
	.owner = THIS_MODULE,
	DRM_GEM_FOPS,
	/* From 6.5 the DRM core prints the common keys, then calls the driver's. */
#ifdef UPTR_HAVE_DRM_SHOW_FDINFO
	.show_fdinfo = drm_show_fdinfo,
#else
	.show_fdinfo = uptr_fop_show_fdinfo,
#endif
};

static const struct drm_driver uptr_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ,
	.ioctls = uptr_ioctls,
	.num_ioctls = ARRAY_SIZE(uptr_ioctls),
	.fops = &uptr_fops,
	.open = uptr_open,
	.postclose = uptr_postclose,
#ifdef UPTR_HAVE_DRM_SHOW_FDINFO
	.show_fdinfo = uptr_show_fdinfo,
#endif
	.debugfs_init = uptr_debugfs_init,
	/* 6.1 needs both; later kernels use these when they are not set. */
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle,
	.gem_prime_import = uptr_gem_prime_import,
	.name = UPTR_DRIVER_NAME,
	.desc = UPTR_DRIVER_DESC,
	.date = UPTR_DRIVER_DATE,
	.major = UPTR_DRIVER_MAJOR,
	.minor = UPTR_DRIVER_MINOR,
};

static void uptr_device_fini(void *data)
{
	struct uptr_device *udev = data;

	drm_dev_unregister(&udev->drm);
	uptr_jobs_fini(udev);
	uptr_userptr_mgr_fini(&udev->userptr_mgr);
}

static int uptr_probe(struct platform_device *pdev)
{
	struct uptr_device *udev;
	int ret;

	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	/*
	 * The engine takes segments of any length: say so, or the DMA layer
	 * assumes 64 KiB and sg tables built with longer segments break the
	 * device's declared limits (the DMA-API debug checks report it).
	 * The setter returns an error on 6.1 and nothing on 6.12: read back.
	 */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	if (dma_get_max_seg_size(&pdev->dev) != UINT_MAX)
		return -EIO;

	udev = devm_drm_dev_alloc(&pdev->dev, &uptr_driver, struct uptr_device, drm);
	if (IS_ERR(udev))
		return PTR_ERR(udev);

	/*
	 * The engine is the CPU: the pages stay DMA-mapped while the CPU and
	 * the engine use them, and no bounce-buffer copy or cache
	 * maintenance may run at map or unmap time, or it would overwrite
	 * what was written since.  A device that does real DMA would pass 0
	 * and sync around each job instead.
	 */
	ret = uptr_userptr_mgr_init(&udev->userptr_mgr, &pdev->dev, &uptr_bo_userptr_ops,
				    DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		return ret;
	ret = uptr_jobs_init(udev);
	if (ret)
		goto err_mgr_fini;
	platform_set_drvdata(pdev, udev);

	ret = drm_dev_register(&udev->drm, 0);
	if (ret)
		goto err_jobs_fini;
	/*
	 * Undone when the driver detaches, before devm drops the DRM device:
	 * no remove callback, whose type differs between 6.1 and 6.12.
	 */
	return devm_add_action_or_reset(&pdev->dev, uptr_device_fini, udev);

err_jobs_fini:
	uptr_jobs_fini(udev);
err_mgr_fini:
	uptr_userptr_mgr_fini(&udev->userptr_mgr);
	return ret;
}

static struct platform_driver uptr_platform_driver = {
	.probe = uptr_probe,
	.driver = {
		.name = UPTR_DRIVER_NAME,
		/* The device lives as long as the module: no unbind under open files. */
		.suppress_bind_attrs = true,
	},
};

static int __init uptr_init(void)
{
	int ret;

	ret = uptr_gem_init();
	if (ret)
		return ret;
	ret = platform_driver_register(&uptr_platform_driver);
	if (ret)
		goto err_gem;

	uptr_pdev = platform_device_register_simple(UPTR_DRIVER_NAME, -1, NULL, 0);
	if (IS_ERR(uptr_pdev)) {
		ret = PTR_ERR(uptr_pdev);
		goto err_unregister_driver;
	}
	if (!platform_get_drvdata(uptr_pdev)) {
		/* The probe failed: nothing to drive. */
		ret = -ENODEV;
		goto err_unregister_device;
	}
	return 0;

err_unregister_device:
	platform_device_unregister(uptr_pdev);
err_unregister_driver:
	platform_driver_unregister(&uptr_platform_driver);
err_gem:
	uptr_gem_fini();
	return ret;
}

static void __exit uptr_exit(void)
{
	int live;

	platform_device_unregister(uptr_pdev);
	platform_driver_unregister(&uptr_platform_driver);

	live = atomic_read(&uptr_live_objects);
	pr_info("uptr: unloaded, %d objects alive\n", live);
	/* A leaked BO keeps its slab cache: better than a use after free. */
	if (!WARN(live, "uptr: %d objects leaked\n", live))
		uptr_gem_fini();
}

module_init(uptr_init);
module_exit(uptr_exit);

MODULE_DESCRIPTION(UPTR_DRIVER_DESC);
MODULE_LICENSE("GPL");
