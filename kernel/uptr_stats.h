/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr usage statistics: fdinfo and debugfs.
 */
#ifndef _UPTR_STATS_H_
#define _UPTR_STATS_H_

struct drm_file;
struct drm_minor;
struct drm_printer;
struct file;
struct seq_file;
struct uptr_file;

void uptr_stats_file_init(struct uptr_file *ufile, struct drm_file *file);
void uptr_show_fdinfo(struct drm_printer *p, struct drm_file *file);
void uptr_fop_show_fdinfo(struct seq_file *m, struct file *f);
void uptr_debugfs_init(struct drm_minor *minor);

#endif /* _UPTR_STATS_H_ */
