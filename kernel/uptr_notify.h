/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr: stale-range signals for pinned userptrs (DRM_UPTR_USERPTR_NOTIFY):
 * the MMU interval notifier, the DRM event and the generation page.
 */
#ifndef _UPTR_NOTIFY_H_
#define _UPTR_NOTIFY_H_

#include <linux/bitmap.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct drm_device;
struct drm_file;
struct page;
struct uptr_notify;
struct uptr_notify_gen;

/* Counters in the generation page: one __u64 per NOTIFY userptr. */
#define UPTR_NOTIFY_SLOTS	(PAGE_SIZE / sizeof(u64))

/**
 * struct uptr_notify_file - what one DRM file keeps for NOTIFY userptrs
 *
 * Embedded in &struct uptr_file.
 */
struct uptr_notify_file {
	/** @lock: protects @gen and @slots; taken in ioctls only */
	struct mutex lock;
	/** @gen: the generation page, NULL until first needed */
	struct uptr_notify_gen *gen;
	/** @slots: the counters of @gen owned by a NOTIFY userptr */
	DECLARE_BITMAP(slots, UPTR_NOTIFY_SLOTS);
	/** @events_sent: stale events queued (&drm_device.event_lock) */
	u64 events_sent;
	/** @events_lost: stale events dropped (&drm_device.event_lock) */
	u64 events_lost;
};

void uptr_notify_file_init(struct uptr_notify_file *nf);
void uptr_notify_file_fini(struct uptr_notify_file *nf, struct drm_file *file);

struct uptr_notify *uptr_notify_create(struct drm_file *file, unsigned long start,
				       unsigned long size, u32 *slot, u64 *generation);
void uptr_notify_arm(struct uptr_notify *n, struct page **pages);
void uptr_notify_attach(struct uptr_notify *n, u32 handle);
void uptr_notify_detach(struct uptr_notify *n, struct drm_file *file);
void uptr_notify_free(struct uptr_notify *n);
u32 uptr_notify_stale(struct uptr_notify *n);

int uptr_notify_query_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* _UPTR_NOTIFY_H_ */
