/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr dma-buf sharing (PRIME): export of BOs and import of other
 * drivers' buffers; see uptr_prime.c.
 */
#ifndef _UPTR_PRIME_H_
#define _UPTR_PRIME_H_

struct dma_buf;
struct drm_device;
struct drm_gem_object;
struct iosys_map;
struct sg_table;

struct dma_buf *uptr_prime_export(struct drm_gem_object *obj, int flags);
struct sg_table *uptr_prime_get_sg_table(struct drm_gem_object *obj);
int uptr_prime_vmap(struct drm_gem_object *obj, struct iosys_map *map);
void uptr_prime_vunmap(struct drm_gem_object *obj, struct iosys_map *map);
struct drm_gem_object *uptr_gem_prime_import(struct drm_device *dev, struct dma_buf *dma_buf);

#endif /* _UPTR_PRIME_H_ */
