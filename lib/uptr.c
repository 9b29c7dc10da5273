// SPDX-License-Identifier: MIT
/*
 * libuptr: device, parameters, BOs, submit.  Thin wrappers over the
 * uAPI that return 0 or -errno; libdrm does the generic DRM parts
 * (enumeration, version, ioctl restart, GEM close).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "uptr_int.h"

#define UPTR_EXPORT	__attribute__((visibility("default")))
#define UPTR_DRIVER	"uptr"

/*
 * Open devices, for the fork handlers that keep each cache's mutex
 * consistent across fork(); see uptr_cache.c.
 */
static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uptr_dev *devs;	/* protected by devs_lock */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
volatile unsigned long ulib_fork_gen;

/*
 * Around fork(), every cache and notify lock is held so that the child never
 * inherits a lock held by a thread it does not have; the child bumps
 * ulib_fork_gen so each cache notices, on its next use, that its
 * entries belong to another mm.
 */
static void atfork_prepare(void)
{
	struct uptr_dev *d;

	pthread_mutex_lock(&devs_lock);
	for (d = devs; d; d = d->next) {
		pthread_mutex_lock(&d->cache.lock);
		pthread_mutex_lock(&d->notify_lock);
	}
}

static void atfork_parent(void)
{
	struct uptr_dev *d;

	for (d = devs; d; d = d->next) {
		pthread_mutex_unlock(&d->notify_lock);
		pthread_mutex_unlock(&d->cache.lock);
	}
	pthread_mutex_unlock(&devs_lock);
}

static void atfork_child(void)
{
	ulib_fork_gen++;
	atfork_parent();
}

static void atfork_register(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * drmIoctl() restarts on EINTR and EAGAIN.  A coherent SUBMIT may return
 * -EAGAIN when the mappings kept changing ("try again"), so restarting
 * it is what the uAPI asks for.
 */
int ulib_ioctl(int fd, unsigned long request, void *arg)
{
	return drmIoctl(fd, request, arg) ? -errno : 0;
}

static int is_uptr_fd(int fd, drmVersionPtr *vp)
{
	drmVersionPtr v = drmGetVersion(fd);

	if (!v)
		return 0;
	if (v->name && !strcmp(v->name, UPTR_DRIVER)) {
		*vp = v;
		return 1;
	}
	drmFreeVersion(v);
	return 0;
}

static int open_node(const char *path, int *fdp, drmVersionPtr *vp)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (!is_uptr_fd(fd, vp)) {
		close(fd);
		return -ENODEV;
	}
	*fdp = fd;
	return 0;
}

/* Opens the first uptr node among @paths and copies its path; 0 or -errno. */
static int try_nodes(char *const *paths, size_t n, char **pathp, int *fdp,
		     drmVersionPtr *vp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!paths[i] || open_node(paths[i], fdp, vp))
			continue;
		*pathp = strdup(paths[i]);
		if (*pathp)
			return 0;
		close(*fdp);
		drmFreeVersion(*vp);
		return -ENOMEM;
	}
	return -ENODEV;
}

/*
 * The first uptr render node, in libdrm's order (drmGetDevices2() lists
 * uptr's platform device on 6.1 and 6.12).  libdrm skips a device whose
 * bus it cannot parse (it returns only what it could describe), so the
 * render nodes of /dev/dri are tried directly when it found none.
 */
static int find_node(char **pathp, int *fdp, drmVersionPtr *vp)
{
	drmDevicePtr devices[64];
	char *render[64] = { NULL };
	glob_t g;
	int n, i, ret;

	n = drmGetDevices2(0, devices, 64);
	for (i = 0; i < n; i++)
		render[i] = devices[i]->available_nodes & (1 << DRM_NODE_RENDER) ?
			    devices[i]->nodes[DRM_NODE_RENDER] : NULL;
	ret = try_nodes(render, n > 0 ? n : 0, pathp, fdp, vp);
	if (n > 0)
		drmFreeDevices(devices, n);
	if (ret != -ENODEV)
		return ret;

	if (glob("/dev/dri/renderD*", 0, NULL, &g))
		return -ENODEV;
	ret = try_nodes(g.gl_pathv, g.gl_pathc, pathp, fdp, vp);
	globfree(&g);
	return ret;
}

static char *strdup0(const char *s)
{
	return strdup(s ? s : "");
}

UPTR_EXPORT int uptr_dev_open(const char *path, struct uptr_dev **devp)
{
	static const struct { uint32_t p; size_t off; } cached[] = {
		{ DRM_UPTR_PARAM_PAGE_SIZE, offsetof(struct uptr_dev, page_size) },
		{ DRM_UPTR_PARAM_USERPTR_KINDS, offsetof(struct uptr_dev, kinds) },
		{ DRM_UPTR_PARAM_USERPTR_FLAGS, offsetof(struct uptr_dev, uflags) },
		{ DRM_UPTR_PARAM_MAX_COMMANDS, offsetof(struct uptr_dev, max_commands) },
	};
	drmVersionPtr v = NULL;
	struct uptr_dev *dev;
	unsigned int i;
	int ret;

	if (!devp)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	if (path) {
		ret = open_node(path, &dev->fd, &v);
		if (!ret) {
			dev->path = strdup(path);
			if (!dev->path)
				ret = -ENOMEM;
		}
	} else {
		ret = find_node(&dev->path, &dev->fd, &v);
	}
	if (ret)
		goto err_free;

	dev->drv_name = strdup0(v->name);
	dev->drv_desc = strdup0(v->desc);
	dev->drv_major = v->version_major;
	dev->drv_minor = v->version_minor;
	dev->drv_patch = v->version_patchlevel;
	drmFreeVersion(v);
	ret = -ENOMEM;
	if (!dev->drv_name || !dev->drv_desc)
		goto err_close;

	for (i = 0; i < sizeof(cached) / sizeof(cached[0]); i++) {
		ret = uptr_param(dev, cached[i].p,
				 (uint64_t *)((char *)dev + cached[i].off));
		if (ret)
			goto err_close;
	}
	ret = -EIO;
	if (!dev->page_size || (dev->page_size & (dev->page_size - 1)))
		goto err_close;

	ret = -pthread_mutex_init(&dev->notify_lock, NULL);
	if (ret)
		goto err_close;
	ret = ulib_cache_init(&dev->cache);
	if (ret) {
		pthread_mutex_destroy(&dev->notify_lock);
		goto err_close;
	}

	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&devs_lock);
	dev->next = devs;
	if (devs)
		devs->prev = dev;
	devs = dev;
	pthread_mutex_unlock(&devs_lock);

	*devp = dev;
	return 0;

err_close:
	close(dev->fd);
err_free:
	free(dev->drv_name);
	free(dev->drv_desc);
	free(dev->path);
	free(dev);
	return ret;
}

UPTR_EXPORT void uptr_dev_close(struct uptr_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&devs_lock);
	if (dev->prev)
		dev->prev->next = dev->next;
	else
		devs = dev->next;
	if (dev->next)
		dev->next->prev = dev->prev;
	pthread_mutex_unlock(&devs_lock);

	ulib_cache_fini(dev);
	ulib_notify_fini(dev);
	close(dev->fd);
	free(dev->drv_name);
	free(dev->drv_desc);
	free(dev->path);
	free(dev);
}

UPTR_EXPORT int uptr_dev_fd(const struct uptr_dev *dev)
{
	return dev->fd;
}

UPTR_EXPORT const char *uptr_dev_path(const struct uptr_dev *dev)
{
	return dev->path;
}

UPTR_EXPORT void uptr_dev_driver(const struct uptr_dev *dev, const char **name,
				 const char **desc, int *major, int *minor,
				 int *patch)
{
	if (name)
		*name = dev->drv_name;
	if (desc)
		*desc = dev->drv_desc;
	if (major)
		*major = dev->drv_major;
	if (minor)
		*minor = dev->drv_minor;
	if (patch)
		*patch = dev->drv_patch;
}

UPTR_EXPORT int uptr_param(struct uptr_dev *dev, uint32_t param,
			   uint64_t *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret = ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_GET_PARAM, &p);

	if (!ret && value)
		*value = p.value;
	return ret;
}

UPTR_EXPORT uint64_t uptr_page_size(const struct uptr_dev *dev)
{
	return dev->page_size;
}

UPTR_EXPORT uint64_t uptr_userptr_kinds(const struct uptr_dev *dev)
{
	return dev->kinds;
}

UPTR_EXPORT uint64_t uptr_userptr_flags(const struct uptr_dev *dev)
{
	return dev->uflags;
}

UPTR_EXPORT uint64_t uptr_max_commands(const struct uptr_dev *dev)
{
	return dev->max_commands;
}

UPTR_EXPORT int uptr_bo_create(struct uptr_dev *dev, uint64_t size,
			       uint32_t flags, uint32_t *handle)
{
	struct drm_uptr_bo_create c = { .size = size, .flags = flags };
	int ret;

	if (!handle)
		return -EINVAL;
	ret = ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_BO_CREATE, &c);
	if (!ret)
		*handle = c.handle;
	return ret;
}

UPTR_EXPORT int uptr_bo_mmap(struct uptr_dev *dev, uint32_t handle,
			     uint64_t size, int prot, void **map)
{
	struct drm_uptr_bo_mmap_offset m = { .handle = handle };
	void *p;
	int ret;

	if (!map)
		return -EINVAL;
	ret = ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &m);
	if (ret)
		return ret;
	p = mmap(NULL, size, prot, MAP_SHARED, dev->fd, (off_t)m.offset);
	if (p == MAP_FAILED)
		return -errno;
	*map = p;
	return 0;
}

UPTR_EXPORT int uptr_bo_munmap(void *map, uint64_t size)
{
	return munmap(map, size) ? -errno : 0;
}

UPTR_EXPORT int uptr_bo_export(struct uptr_dev *dev, uint32_t handle, uint32_t flags,
			       int *fd)
{
	if (!fd || (flags & ~(uint32_t)DRM_RDWR))
		return -EINVAL;
	/* libdrm's PRIME calls return the ioctl's -1/errno. */
	return drmPrimeHandleToFD(dev->fd, handle, flags | DRM_CLOEXEC, fd) ? -errno : 0;
}

UPTR_EXPORT int uptr_bo_import(struct uptr_dev *dev, int fd, uint32_t *handle)
{
	if (!handle)
		return -EINVAL;
	return drmPrimeFDToHandle(dev->fd, fd, handle) ? -errno : 0;
}

UPTR_EXPORT int uptr_bo_destroy(struct uptr_dev *dev, uint32_t handle)
{
	/* drmCloseBufferHandle() returns the ioctl's -1/errno. */
	return drmCloseBufferHandle(dev->fd, handle) ? -errno : 0;
}

UPTR_EXPORT int uptr_userptr_create(struct uptr_dev *dev, const void *ptr,
				    uint64_t size, uint32_t flags,
				    uint32_t *handle)
{
	struct drm_uptr_userptr u = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int ret;

	if (!handle)
		return -EINVAL;
	ret = ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_USERPTR, &u);
	if (!ret)
		*handle = u.handle;
	return ret;
}

UPTR_EXPORT int uptr_userptr_destroy(struct uptr_dev *dev, uint32_t handle)
{
	return uptr_bo_destroy(dev, handle);
}

UPTR_EXPORT int uptr_bo_wait(struct uptr_dev *dev, uint32_t handle,
			     int64_t timeout_ns)
{
	struct drm_uptr_bo_wait w = {
		.handle = handle,
		.deadline_ns = timeout_ns,
	};
	struct timespec now;

	/* The kernel takes an absolute deadline: a restarted wait keeps it. */
	if (timeout_ns > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		w.deadline_ns += (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}

	return ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_BO_WAIT, &w);
}

UPTR_EXPORT int uptr_bo_info(struct uptr_dev *dev, uint32_t handle,
			     struct drm_uptr_bo_info *info)
{
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_BO_INFO, info);
}

/* The first version of struct uptr_submit ends after @pad. */
#define SUBMIT_V1_SIZE	(offsetof(struct uptr_submit, pad) + sizeof(uint32_t))

UPTR_EXPORT int uptr_submit(struct uptr_dev *dev,
			    const struct uptr_submit *submit)
{
	struct drm_uptr_submit s = { 0 };
	struct uptr_submit v = { 0 };
	const unsigned char *tail;
	size_t i;

	if (!submit || submit->size < SUBMIT_V1_SIZE)
		return -EINVAL;
	/* Members of a newer header that this library cannot honour. */
	tail = (const unsigned char *)submit;
	for (i = sizeof(struct uptr_submit); i < submit->size; i++)
		if (tail[i])
			return -E2BIG;
	/* What the caller's version has; the rest stays 0 (absent). */
	memcpy(&v, submit, submit->size < sizeof(v) ? submit->size : sizeof(v));
	if ((v.flags & ~UPTR_SUBMIT_ASYNC) || v.pad || v.pad2)
		return -EINVAL;
	s.commands = (uintptr_t)v.cmds;
	s.count = v.count;
	s.engine = v.engine;
	s.in_syncobj_count = v.in_count;
	s.in_syncobjs = (uintptr_t)v.in_syncobjs;
	s.out_syncobj = v.out_syncobj;
	if (!(v.flags & UPTR_SUBMIT_ASYNC))
		s.flags = DRM_UPTR_SUBMIT_WAIT;
	return ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

UPTR_EXPORT int uptr_submit_cmds(struct uptr_dev *dev,
				 const struct drm_uptr_cmd *cmds,
				 uint32_t count)
{
	struct uptr_submit s = {
		.size = sizeof(s),
		.cmds = cmds,
		.count = count,
	};

	return uptr_submit(dev, &s);
}

UPTR_EXPORT int uptr_prefetch(struct uptr_dev *dev, uint32_t handle,
			      uint64_t offset, uint64_t size, uint32_t flags,
			      uint32_t engine, uint32_t out_syncobj)
{
	struct drm_uptr_prefetch p = {
		.handle = handle,
		.flags = flags,
		.offset = offset,
		.size = size,
		.engine = engine,
		.out_syncobj = out_syncobj,
	};

	return ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_PREFETCH, &p);
}

UPTR_EXPORT const char *uptr_version(void)
{
	return "1.0";
}
