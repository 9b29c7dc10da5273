// SPDX-License-Identifier: MIT
/*
 * The example of docs/libuptr.md: let the device fill and checksum a
 * malloc'd buffer in place, through the registration cache.
 *
 *   cc example.c $(pkg-config --cflags --libs libuptr) -o example
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uptr.h>

int main(void)
{
	struct uptr_dev *dev;
	struct uptr_buf *buf;
	struct drm_uptr_cmd cmds[2];
	size_t len = 100000;
	unsigned char *data;
	uint64_t sum, want;
	int64_t off;
	int ret, i;

	ret = uptr_dev_open(NULL, &dev);	/* the first uptr render node */
	if (ret) {
		fprintf(stderr, "uptr_dev_open: %s\n", strerror(-ret));
		return 1;
	}
	data = malloc(len + 8);			/* any memory: no alignment needed */
	if (!data)
		return 1;

	for (i = 0; i < 3; i++) {
		/* A BO covering the buffer: created once, then a cache hit. */
		ret = uptr_buf_get(dev, data, len + 8, 0, &buf);
		if (ret) {
			fprintf(stderr, "uptr_buf_get: %s\n", strerror(-ret));
			return 1;
		}
		off = uptr_buf_offset(buf, data);

		/* Fill the buffer with a pattern, then checksum it into its tail. */
		memset(data, 0, len + 8);
		cmds[0] = uptr_cmd_fill(uptr_buf_handle(buf), off, len, 0x01020304 + i);
		cmds[1] = uptr_cmd_checksum(uptr_buf_handle(buf), off + len,
					    uptr_buf_handle(buf), off, len);
		/* FILL needs 4-byte alignment, CHECKSUM an 8-byte aligned result. */
		ret = (off % 8) ? -EINVAL : uptr_submit_cmds(dev, cmds, 2);
		if (ret) {
			fprintf(stderr, "uptr_submit_cmds: %s\n", strerror(-ret));
			return 1;
		}
		memcpy(&sum, data + len, 8);
		want = uptr_fnv1a(data, len);
		printf("pass %d: first word %#x, checksum %#" PRIx64 " (%s)\n", i,
		       *(unsigned int *)data, sum, sum == want ? "matches the CPU" : "WRONG");
		uptr_buf_put(buf);
		if (sum != want)
			return 1;
	}

	struct uptr_cache_stats st = { .size = sizeof(st) };

	uptr_cache_stats(dev, &st);
	printf("cache: %" PRIu64 " miss, %" PRIu64 " hits\n", st.misses, st.hits);
	free(data);
	uptr_dev_close(dev);
	return st.misses == 1 && st.hits == 2 ? 0 : 1;
}
