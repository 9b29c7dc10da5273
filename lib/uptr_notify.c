// SPDX-License-Identifier: MIT
/*
 * libuptr: stale pinned userptrs (DRM_UPTR_USERPTR_NOTIFY): NOTIFY
 * userptrs, the generation page and the stale events of a device.
 *
 * The generation page is mapped once per struct uptr_dev, on first
 * need, under @notify_lock, and published with a release store of
 * @gen_page; readers load it with acquire and need no lock, so checking
 * a BO is one load of the pointer and one acquire load of its counter.
 * It stays mapped until uptr_dev_close().
 *
 * Stale events are read from the DRM fd into @evbuf (up to the kernel's
 * whole event space at once) under @notify_lock, and handed out one by
 * one; the fd is polled first with a zero timeout, so a read never
 * blocks while the library is the fd's only reader.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uptr_int.h"

#define UPTR_EXPORT	__attribute__((visibility("default")))

/* The first versions of the structs with a size. */
#define EVENT_V1_SIZE	(offsetof(struct uptr_stale_event, end) + sizeof(uint64_t))
#define INFO_V1_SIZE	(offsetof(struct uptr_notify_info, events_lost) + sizeof(uint64_t))

static int notify_query(struct uptr_dev *dev, struct drm_uptr_notify_query *q)
{
	if (!(dev->uflags & DRM_UPTR_USERPTR_NOTIFY))
		return -EOPNOTSUPP;
	memset(q, 0, sizeof(*q));
	return ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_NOTIFY_QUERY, q);
}

/* Maps the device's generation page unless another thread has; 0 or -errno. */
static int gen_page_map(struct uptr_dev *dev, const uint64_t **pagep)
{
	struct drm_uptr_notify_query q;
	void *m;
	int ret = 0;

	pthread_mutex_lock(&dev->notify_lock);
	if (dev->gen_page)
		goto out;
	ret = notify_query(dev, &q);
	if (ret)
		goto out;
	m = mmap(NULL, q.gen_size, PROT_READ, MAP_SHARED, dev->fd, (off_t)q.gen_offset);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	dev->gen_size = q.gen_size;
	/* Never more slots than the mapping holds counters. */
	dev->gen_slots = q.gen_slots < q.gen_size / sizeof(uint64_t) ?
			 q.gen_slots : q.gen_size / sizeof(uint64_t);
	__atomic_store_n(&dev->gen_page, (const uint64_t *)m, __ATOMIC_RELEASE);
out:
	*pagep = dev->gen_page;
	pthread_mutex_unlock(&dev->notify_lock);
	return ret;
}

/* The device's generation page, mapped on first need: one acquire load. */
static inline int gen_page(struct uptr_dev *dev, const uint64_t **pagep)
{
	const uint64_t *page = __atomic_load_n(&dev->gen_page, __ATOMIC_ACQUIRE);

	if (!page)
		return gen_page_map(dev, pagep);
	*pagep = page;
	return 0;
}

UPTR_EXPORT int uptr_userptr_create_notify(struct uptr_dev *dev, const void *ptr,
					   uint64_t size, uint32_t flags,
					   uint32_t *handle, struct uptr_gen *gen)
{
	struct drm_uptr_userptr u = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
		.flags = flags | DRM_UPTR_USERPTR_NOTIFY,
	};
	const uint64_t *page;
	int ret;

	if (!handle || !gen || !(flags & DRM_UPTR_USERPTR_PINNED))
		return -EINVAL;
	/* Mapped first: a counter is never handed out that cannot be read. */
	ret = gen_page(dev, &page);
	if (ret)
		return ret;
	ret = ulib_ioctl(dev->fd, DRM_IOCTL_UPTR_USERPTR, &u);
	if (ret)
		return ret;
	*handle = u.handle;
	gen->slot = u.gen_slot;
	gen->pad = 0;
	gen->generation = u.generation;
	return 0;
}

/* The counter of @slot: once the page is mapped, two loads, no call. */
static inline int gen_load(struct uptr_dev *dev, uint32_t slot, uint64_t *value)
{
	const uint64_t *page;
	int ret = gen_page(dev, &page);

	if (ret)
		return ret;
	if (slot >= dev->gen_slots)
		return -EINVAL;
	*value = __atomic_load_n(&page[slot], __ATOMIC_ACQUIRE);
	return 0;
}

UPTR_EXPORT int uptr_gen_load(struct uptr_dev *dev, uint32_t slot, uint64_t *value)
{
	if (!value)
		return -EINVAL;
	return gen_load(dev, slot, value);
}

UPTR_EXPORT int uptr_gen_check(struct uptr_dev *dev, const struct uptr_gen *gen)
{
	uint64_t now;
	int ret;

	if (!gen)
		return -EINVAL;
	ret = gen_load(dev, gen->slot, &now);
	if (ret)
		return ret;
	return now == gen->generation ? 0 : -ESTALE;
}

UPTR_EXPORT int uptr_notify_query(struct uptr_dev *dev, struct uptr_notify_info *info)
{
	struct drm_uptr_notify_query q;
	struct uptr_notify_info v = { 0 };
	uint32_t size;
	int ret;

	if (!info || info->size < INFO_V1_SIZE)
		return -EINVAL;
	ret = notify_query(dev, &q);
	if (ret)
		return ret;
	size = info->size;
	v.size = size;
	v.gen_slots = q.gen_slots;
	v.events_sent = q.events_sent;
	v.events_lost = q.events_lost;
	ulib_copy_out(info, &v, sizeof(v), size);
	return 0;
}

/*
 * The next stale event of @evbuf into @ev (lock held); false when the
 * buffer holds none.  Events of other types (none exist on a uptr render
 * node today) are skipped.
 */
static bool next_buffered(struct uptr_dev *dev, struct drm_uptr_event_stale *ev)
{
	while (dev->evlen - dev->evpos >= sizeof(struct drm_event)) {
		struct drm_event base;

		memcpy(&base, dev->evbuf + dev->evpos, sizeof(base));
		if (base.length < sizeof(base) || base.length > dev->evlen - dev->evpos)
			break;	/* not an event: drop the rest */
		dev->evpos += base.length;
		if (base.type == DRM_UPTR_EVENT_STALE && base.length >= sizeof(*ev)) {
			memcpy(ev, dev->evbuf + dev->evpos - base.length, sizeof(*ev));
			return true;
		}
	}
	dev->evpos = dev->evlen = 0;
	return false;
}

UPTR_EXPORT int uptr_stale_event_read(struct uptr_dev *dev, struct uptr_stale_event *ev)
{
	struct drm_uptr_event_stale e;
	struct uptr_stale_event v = { 0 };
	uint32_t size;
	int ret = 0;

	if (!ev || ev->size < EVENT_V1_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&dev->notify_lock);
	while (!next_buffered(dev, &e)) {
		struct pollfd pfd = { .fd = dev->fd, .events = POLLIN };
		ssize_t got;

		ret = poll(&pfd, 1, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			ret = -errno;
			break;
		}
		if (!(pfd.revents & POLLIN)) {
			ret = -EAGAIN;
			break;
		}
		got = read(dev->fd, dev->evbuf, sizeof(dev->evbuf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		dev->evpos = 0;
		dev->evlen = (size_t)got;
		ret = 0;
	}
	pthread_mutex_unlock(&dev->notify_lock);
	if (ret)
		return ret;
	size = ev->size;
	v.size = size;
	v.handle = e.handle;
	v.reason = e.reason;
	v.start = e.start;
	v.end = e.end;
	ulib_copy_out(ev, &v, sizeof(v), size);
	return 0;
}

/* At uptr_dev_close(). */
void ulib_notify_fini(struct uptr_dev *dev)
{
	if (dev->gen_page)
		munmap((void *)dev->gen_page, dev->gen_size);
	pthread_mutex_destroy(&dev->notify_lock);
}
