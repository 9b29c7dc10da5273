/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr software engine.
 */
#ifndef _UPTR_ENGINE_H_
#define _UPTR_ENGINE_H_

struct uptr_job;

/* Number of engines the device exposes. */
#define UPTR_ENGINE_COUNT	1

int uptr_engine_run(struct uptr_job *job);

#endif /* _UPTR_ENGINE_H_ */
