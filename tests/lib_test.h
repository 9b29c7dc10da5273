/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FIXTURE(lib) for the libuptr test programs (tests/lib_*.c): every test
 * runs in its own process with its own struct uptr_dev and a mapped
 * one-page device BO, @res, for results (checksums).
 */
#ifndef UPTR_LIB_TEST_H
#define UPTR_LIB_TEST_H

#include "uptr_harness.h"

#include <uptr.h>

FIXTURE(lib) {
	struct uptr_dev *dev;
	size_t page;
	uint32_t res;		/* device BO of one page, mapped at @map */
	unsigned char *map;
};

FIXTURE_SETUP(lib)
{
	int ret = uptr_dev_open(NULL, &self->dev);

	ASSERT_EQ(0, ret) {
		TH_LOG("uptr_dev_open: %s (is uptr.ko loaded?)", strerror(-ret));
	}
	self->page = uptr_page_size(self->dev);
	ASSERT_EQ(0, uptr_bo_create(self->dev, self->page, 0, &self->res));
	ASSERT_EQ(0, uptr_bo_mmap(self->dev, self->res, self->page,
				  PROT_READ | PROT_WRITE, (void **)&self->map));
}

FIXTURE_TEARDOWN(lib)
{
	if (self->map)
		uptr_bo_munmap(self->map, self->page);
	uptr_dev_close(self->dev);
}

/* The engine's FNV-1a of [@ptr, @ptr + @len) through @buf; 0 or -errno. */
static inline int lt_checksum(struct uptr_dev *dev, uint32_t res,
			      const unsigned char *map, struct uptr_buf *buf,
			      const void *ptr, size_t len, uint64_t *sum)
{
	struct drm_uptr_cmd c = uptr_cmd_checksum(res, 0, uptr_buf_handle(buf),
						  uptr_buf_offset(buf, ptr), len);
	int ret = uptr_submit_cmds(dev, &c, 1);

	if (!ret)
		memcpy(sum, map, 8);
	return ret;
}

static inline struct uptr_cache_stats lt_stats(struct uptr_dev *dev)
{
	struct uptr_cache_stats st = { .size = sizeof(st) };

	if (uptr_cache_stats(dev, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

#endif /* UPTR_LIB_TEST_H */
