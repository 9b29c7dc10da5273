// SPDX-License-Identifier: GPL-2.0
/*
 * Description: coherent userptrs (no PINNED flag), which follow the
 * process's page tables.  Creating one pins and populates nothing,
 * whatever the size; a job faults in only the pages its commands touch
 * and later jobs reuse them; after munmap, MAP_FIXED, mremap,
 * MADV_DONTNEED, mprotect, fork's copy-on-write or a truncation the
 * device sees exactly what the CPU would see, a job touching a page the
 * CPU could not access that way fails with -EFAULT and none of its
 * commands runs, and changes next to a userptr leave it alone.  Data is
 * checked on the CPU (through the user memory and a mapped device BO),
 * together with the BO_INFO counters.
 */
#include "uptr_harness.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define RO		DRM_UPTR_USERPTR_READ_ONLY
#define PROBE		DRM_UPTR_USERPTR_PROBE
#define DEV_SIZE	(4 * UT_MIB)
#define SENTINEL	0x5c


/*
 * The uptr render node (ut_coherent_setup()) and a mapped device BO to
 * look at device data.
 */
FIXTURE(coherent) {
	FIXTURE_DATA(uptr) base;	/* the device fd and its parameters */
	int fd;			/* base.fd */
	size_t page;		/* base.page, the CPU's page size */
	__u32 dev;		/* device BO of DEV_SIZE bytes */
	unsigned char *map;	/* its CPU mapping */
};

FIXTURE_SETUP(coherent)
{
	ut_coherent_setup(_metadata, &self->base);
	self->fd = self->base.fd;
	self->page = self->base.page;
	UT_DEVICE_BO(self->dev, self->map, DEV_SIZE);
}

FIXTURE_TEARDOWN(coherent)
{
	uptr_teardown(_metadata, &self->base, NULL);
}

/*
 * BO_INFO of the coherent userptr @h, checking what holds at any time:
 * a userptr, nothing pinned, no more resident pages than the range has,
 * and sg segments that are runs among the resident pages (none without
 * resident pages, at most one per page).
 */
static void coh_info(struct __test_metadata *_metadata, int fd, __u32 h,
		     size_t page, struct drm_uptr_bo_info *i)
{
	ASSERT_EQ(0, ut_bo_info(fd, h, i));
	ASSERT_EQ((__u32)DRM_UPTR_BO_KIND_USERPTR, i->kind);
	EXPECT_EQ(0u, i->flags & DRM_UPTR_USERPTR_PINNED);
	EXPECT_EQ(0ull, i->pages_pinned);
	EXPECT_GE(i->size / page, i->pages_resident);
	EXPECT_GE(i->pages_resident, i->sg_segments);
	EXPECT_EQ(i->pages_resident != 0, i->sg_segments != 0) {
		TH_LOG("%llu resident pages in %llu sg segments",
		       (unsigned long long)i->pages_resident,
		       (unsigned long long)i->sg_segments);
	}
}

/* BO_INFO of coherent userptr @h into @i, checked with coh_info(). */
#define COHERENT_INFO(h, i)	coh_info(_metadata, self->fd, (h), self->page, &(i))

/* One byte through a pipe, between a test and the child it forked. */
static int put_byte(int fd, char c)
{
	ssize_t n;

	do {
		n = write(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* The next byte of a pipe, or -1 at end of file (the writer died). */
static int get_byte(int fd)
{
	unsigned char c;
	ssize_t n;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? c : -1;
}

/* Fills @buf of @len bytes with the 32-bit @v, as FILL does. */
static void fill_dwords(void *buf, size_t len, __u32 v)
{
	size_t i;

	for (i = 0; i < len / 4; i++)
		memcpy((char *)buf + 4 * i, &v, 4);
}

/* The driver lists the coherent kind next to the pinned one. */
TEST_F(coherent, param_kinds)
{
	__u64 v = 0;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_USERPTR_KINDS, &v));
	EXPECT_EQ((__u64)(DRM_UPTR_KIND_PINNED | DRM_UPTR_KIND_COHERENT), v);
}

/* Creation pins and populates nothing; the first job populates exactly the pages it touches. */
TEST_F(coherent, create_pins_nothing)
{
	size_t page = self->page, npages = 256, size = npages * page, k;
	unsigned char *p = ut_alloc_small_pages(size), vec[256];
	size_t resident;
	struct drm_uptr_bo_info i;
	long pinned = ut_pinned_kb();
	__u32 u;

	ASSERT_NE(NULL, p);
	UT_USERPTR(u, p, size, 0);
	COHERENT_INFO(u, i);
	EXPECT_EQ(u, i.handle);
	EXPECT_EQ(0u, i.flags);
	EXPECT_EQ((__u64)size, i.size);
	EXPECT_EQ((__u64)(uintptr_t)p, i.user_ptr);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0ull, i.sg_segments);
	EXPECT_EQ(0ull, i.invalidations);
	EXPECT_EQ(0ull, i.pages_faulted);
	EXPECT_EQ(0ull, i.jobs);
	EXPECT_EQ(pinned, ut_pinned_kb());
	ASSERT_EQ(0, mincore(p, size, vec));
	for (k = 0, resident = 0; k < npages; k++)
		resident += vec[k] & 1;
	EXPECT_EQ(0u, resident) {
		TH_LOG("creating the userptr populated %zu pages", resident);
	}

	/* A write job over pages 8 and 9 populates those two only. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 8 * page, 2 * page, 0x12345678));
	ASSERT_EQ(0, mincore(p, size, vec));
	for (k = 0, resident = 0; k < npages; k++)
		resident += vec[k] & 1;
	EXPECT_EQ(2u, resident);
	EXPECT_EQ(1, vec[8] & 1);
	EXPECT_EQ(1, vec[9] & 1);
	COHERENT_INFO(u, i);
	EXPECT_EQ(2ull, i.pages_faulted);
	EXPECT_EQ(2ull, i.pages_resident);
	EXPECT_EQ(1ull, i.jobs);
	EXPECT_EQ(pinned, ut_pinned_kb());
	EXPECT_EQ(-1, ut_find_not(p, 8 * page, 0));
	EXPECT_EQ(-1, ut_find_not_dword(p + 8 * page, 2 * page, 0x12345678));
	EXPECT_EQ(-1, ut_find_not(p + 10 * page, size - 10 * page, 0));
}

/* A 1 TiB PROT_NONE reservation is a userptr, created cheaply; jobs work on its RW pieces only. */
TEST_F(coherent, sparse_1tib)
{
	const __u64 total = 1ull << 40;
	size_t page = self->page, piece = 16 * page;
	const __u64 off[3] = { 0, total / 2 + 5 * page, total - piece };
	const __u64 npiece = piece / page;
	struct drm_uptr_cmd c[3];
	struct drm_uptr_bo_info i;
	unsigned char *r;
	long avail, used;
	__u64 max = 0;
	unsigned int k;
	double t;
	__u32 u;

	ASSERT_EQ(0, ut_get_param(self->fd, DRM_UPTR_PARAM_MAX_USERPTR_SIZE,
				  &max));
	ASSERT_LE(total, max);
	r = mmap(NULL, total, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, r);

	avail = ut_proc_kb("/proc/meminfo", "MemAvailable");
	t = ut_now();
	UT_USERPTR(u, r, total, 0);
	t = ut_now() - t;
	used = avail - ut_proc_kb("/proc/meminfo", "MemAvailable");
	EXPECT_GT(1.0, t) {
		TH_LOG("creating a 1 TiB coherent userptr took %.3f s", t);
	}
	EXPECT_GT(32 * 1024, used) {
		TH_LOG("creating a 1 TiB coherent userptr took %ld kB of memory",
		       used);
	}
	COHERENT_INFO(u, i);
	EXPECT_EQ(total, i.size);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0ull, i.pages_faulted);

	for (k = 0; k < ARRAY_SIZE(off); k++)
		ASSERT_EQ(0, mprotect(r + off[k], piece,
				      PROT_READ | PROT_WRITE));

	/* Each first write faults in its piece, and only it. */
	for (k = 0; k < ARRAY_SIZE(off); k++) {
		ASSERT_EQ(0, ut_fill(self->fd, u, off[k], piece,
				     0xc0de0000 + k)) {
			TH_LOG("piece %u", k);
		}
		EXPECT_EQ(-1, ut_find_not_dword(r + off[k], piece,
						0xc0de0000 + k));
		COHERENT_INFO(u, i);
		EXPECT_EQ((k + 1) * npiece, i.pages_faulted);
		EXPECT_EQ((k + 1) * npiece, i.pages_resident);
	}

	/* Reads of the same pages, CPU writes included, fault nothing more. */
	ut_pattern(r + off[1], piece, 1);
	for (k = 0; k < ARRAY_SIZE(off); k++)
		ASSERT_EQ(0, ut_copy(self->fd, self->dev, k * piece, u, off[k],
				     piece));
	EXPECT_EQ(-1, ut_find_not_dword(self->map, piece, 0xc0de0000));
	EXPECT_EQ(-1, ut_find_diff(self->map + piece, r + off[1], piece));
	EXPECT_EQ(-1, ut_find_not_dword(self->map + 2 * piece, piece,
					0xc0de0002));
	COHERENT_INFO(u, i);
	EXPECT_EQ(3 * npiece, i.pages_faulted);
	EXPECT_EQ(3 * npiece, i.pages_resident);
	EXPECT_EQ(6ull, i.jobs);

	/* Whatever touches a PROT_NONE page fails, and nothing of the job runs. */
	memset(self->map, SENTINEL, 4 * piece);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u,
				   off[0] + piece - 4, 8));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, off[0] + piece, 4));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, total / 4, page, 1));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, off[2] - 4, 1));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, self->dev, 0, u,
				       off[1] - 1, 2));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, u, off[1] - 8, self->dev, 0,
				       8));
	c[0] = ut_cmd_fill(self->dev, 0, piece, 0x11111111);
	c[1] = ut_cmd_fill(u, off[0], piece, 0x22222222);
	c[2] = ut_cmd_copy(self->dev, piece, u, total / 8, 64);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, c, 3));
	EXPECT_EQ(-1, ut_find_not(self->map, 4 * piece, SENTINEL));
	EXPECT_EQ(-1, ut_find_not_dword(r + off[0], piece, 0xc0de0000));
	COHERENT_INFO(u, i);
	EXPECT_EQ(3 * npiece, i.pages_faulted);
	EXPECT_EQ(3 * npiece, i.pages_resident);

	ASSERT_EQ(0, munmap(r, total));
	COHERENT_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_LE(1ull, i.invalidations);
}

/* A coherent userptr over an unmapped range is created (PROBE refuses it) and works once memory is mapped there. */
TEST_F(coherent, create_unmapped)
{
	size_t size = 8 * self->page;
	unsigned char *p = ut_alloc_small_pages(size), *q;
	struct drm_uptr_bo_info i;
	__u32 u, v;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p, size));
	EXPECT_EQ(-EFAULT, ut_userptr(self->fd, p, size, PROBE, &v));
	UT_USERPTR(u, p, size, 0);
	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, 4, 1));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));
	COHERENT_INFO(u, i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0ull, i.pages_faulted);

	q = mmap(p, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p, q);
	ut_pattern(q, size, 2);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, q, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / self->page), i.pages_faulted);
}

/*
 * Jobs on a coherent userptr over [@p, @p + @size), memory the device may
 * not reach, fail with -EFAULT and touch nothing: PROBE refuses the
 * range, a copy from it and a fill into it write nothing, and nothing is
 * faulted in.
 */
static void refused_range(struct __test_metadata *_metadata, int fd, __u32 dev,
			  unsigned char *map, void *p, size_t size, size_t page)
{
	/* Device bytes at @map, DEV_SIZE / 2 into the device BO @dev. */
	const __u64 off = DEV_SIZE / 2;
	struct drm_uptr_bo_info i;
	__u32 u, v;

	EXPECT_EQ(-EFAULT, ut_userptr(fd, p, size, PROBE, &v));
	ASSERT_EQ(0, ut_userptr(fd, p, size, 0, &u));
	memset(map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_copy(fd, dev, off, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(map, size, SENTINEL));
	EXPECT_EQ(-EFAULT, ut_fill(fd, u, 0, 4, 1));
	EXPECT_EQ(-EFAULT, ut_checksum(fd, dev, off, u, 0, page));
	EXPECT_EQ(-1, ut_find_not(map, size, SENTINEL));
	coh_info(_metadata, fd, u, page, &i);
	EXPECT_EQ(0ull, i.pages_resident);
	EXPECT_EQ(0ull, i.pages_faulted);
	EXPECT_EQ(0, ut_gem_close(fd, u));
}

#ifndef SYS_memfd_secret
#define SYS_memfd_secret	447
#endif

/*
 * memfd_secret(2) memory is not in the kernel's direct map: the engine
 * must never reach it (6.1's hmm_range_fault() does not refuse it, and
 * kmap_local_page() of such a page oopses).  The run's kernel log stays
 * clean.
 */
TEST_F(coherent, secretmem_refused)
{
	size_t size = 4 * self->page;
	unsigned char *p;
	int sfd;

	sfd = syscall(SYS_memfd_secret, 0);
	if (sfd < 0 && errno == ENOSYS)
		SKIP(return, "memfd_secret() is not available: CONFIG_SECRETMEM off, "
		     "or secretmem.enable=1 missing from the kernel command line");
	ASSERT_LE(0, sfd) {
		TH_LOG("memfd_secret: %s", strerror(errno));
	}
	ASSERT_EQ(0, ftruncate(sfd, size));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	ASSERT_NE(MAP_FAILED, p) {
		TH_LOG("mmap of the secret memfd: %s", strerror(errno));
	}
	/* Present in the page tables: only the VMA tells what it is. */
	memset(p, 0x42, size);
	refused_range(_metadata, self->fd, self->dev, self->map + DEV_SIZE / 2, p,
		      size, self->page);
	EXPECT_EQ(-1, ut_find_not(p, size, 0x42));
	munmap(p, size);
	close(sfd);
}

/* A coherent userptr over the device's own BO mapping: the device never reaches it. */
TEST_F(coherent, device_bo_refused)
{
	size_t size = 4 * self->page;

	/* The mapping is populated: only the VMA tells what it is. */
	memset(self->map, 0x42, size);
	refused_range(_metadata, self->fd, self->dev, self->map + DEV_SIZE / 2, self->map,
		      size, self->page);
	EXPECT_EQ(-1, ut_find_not(self->map, size, 0x42));
}

/* The first job faults in only what it touches; later jobs on the same pages fault nothing. */
TEST_F(coherent, fault_reuse)
{
	size_t page = self->page, size = 64 * page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 3);
	UT_USERPTR(u, p, size, 0);

	/* Bytes 100 into page 5 to 100 into page 8: 4 pages. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 5 * page + 100,
			     3 * page));
	EXPECT_EQ(-1, ut_find_diff(self->map, p + 5 * page + 100, 3 * page));
	COHERENT_INFO(u, i);
	EXPECT_EQ(4ull, i.pages_faulted);
	EXPECT_EQ(4ull, i.pages_resident);
	EXPECT_EQ(0ull, i.invalidations);
	EXPECT_EQ(1ull, i.jobs);

	/* Again, and a checksum of pages 6 to 8: reused. */
	memset(self->map, 0, 3 * page);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 5 * page + 100,
			     3 * page));
	EXPECT_EQ(-1, ut_find_diff(self->map, p + 5 * page + 100, 3 * page));
	ASSERT_EQ(0, ut_checksum(self->fd, self->dev, 4 * page, u, 6 * page,
				 2 * page + 7));
	EXPECT_EQ(ut_fnv1a(p + 6 * page, 2 * page + 7),
		  *(__u64 *)(self->map + 4 * page));
	COHERENT_INFO(u, i);
	EXPECT_EQ(4ull, i.pages_faulted);
	EXPECT_EQ(4ull, i.pages_resident);
	EXPECT_EQ(3ull, i.jobs);

	/* A write elsewhere faults its 2 pages; reading and rewriting them does not. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 20 * page, 2 * page, 0xabcdabcd));
	EXPECT_EQ(-1, ut_find_not_dword(p + 20 * page, 2 * page, 0xabcdabcd));
	COHERENT_INFO(u, i);
	EXPECT_EQ(6ull, i.pages_faulted);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 20 * page, 2 * page));
	EXPECT_EQ(-1, ut_find_not_dword(self->map, 2 * page, 0xabcdabcd));
	ASSERT_EQ(0, ut_store(self->fd, u, 21 * page + 8, 0x01020304));
	EXPECT_EQ(0x01020304u, *(__u32 *)(p + 21 * page + 8));

	/* CPU writes to resident pages reach the device without a fault. */
	ut_pattern(p + 5 * page, page, 4);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 5 * page, page));
	EXPECT_EQ(-1, ut_find_diff(self->map, p + 5 * page, page));
	COHERENT_INFO(u, i);
	EXPECT_EQ(6ull, i.pages_faulted);
	EXPECT_EQ(6ull, i.pages_resident);
	EXPECT_EQ(0ull, i.invalidations);
	EXPECT_EQ(7ull, i.jobs);
	/* The pages no job touched are as the CPU left them. */
	ut_pattern(self->map, size, 3);
	EXPECT_EQ(-1, ut_find_diff(p + 22 * page, self->map + 22 * page,
				   size - 22 * page));
}

/* After munmap of the whole range jobs fail -EFAULT; new memory at the same address works. */
TEST_F(coherent, munmap_whole)
{
	size_t size = 16 * self->page, n = size / self->page;
	unsigned char *p = ut_alloc_small_pages(size), *q;
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 5);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, p, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_faulted);
	EXPECT_EQ(0ull, i.invalidations);

	ASSERT_EQ(0, munmap(p, size));
	COHERENT_INFO(u, i);
	EXPECT_LE(1ull, i.invalidations);
	EXPECT_EQ(0ull, i.pages_resident);
	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, size - 1, 1));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, size, 1));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, 4 * self->page, 1));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, self->dev, 0, u, 0, 8));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, u, 0, self->dev, 0, 8));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, u, 0, self->dev, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));
	/* The BO is still there, as it was created. */
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)size, i.size);
	EXPECT_EQ((__u64)(uintptr_t)p, i.user_ptr);
	EXPECT_EQ(0ull, i.pages_resident);

	q = mmap(p, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p, q);
	ut_pattern(q, size, 6);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, q, size));
	ASSERT_EQ(0, ut_fill(self->fd, u, 3 * self->page, self->page,
			     0x33333333));
	EXPECT_EQ(-1, ut_find_not(q + 3 * self->page, self->page, 0x33));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(2 * n), i.pages_faulted);
	EXPECT_EQ((__u64)n, i.pages_resident);
}

/* MAP_FIXED over the range: jobs use the new pages and never touch the old ones again. */
TEST_F(coherent, map_fixed_over)
{
	size_t size = 16 * self->page, n = size / self->page;
	unsigned char *a, *b, *q, *ref = malloc(size), *buf = malloc(size);
	struct drm_uptr_bo_info i;
	__u64 inv;
	__u32 u;
	int mfd;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	/* Two mappings of one memfd: b keeps a's old pages alive and visible. */
	mfd = ut_memfd("uptr-coherent", size);
	ASSERT_LE(0, mfd);
	a = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, a);
	b = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, b);
	ut_pattern(a, size, 7);
	UT_USERPTR(u, a, size, 0);
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x11111111));
	EXPECT_EQ(-1, ut_find_not(b, size, 0x11));
	COHERENT_INFO(u, i);
	inv = i.invalidations;
	EXPECT_EQ((__u64)n, i.pages_resident);

	q = mmap(a, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(a, q);
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	EXPECT_EQ(0ull, i.pages_resident);
	ut_pattern(q, size, 8);
	memcpy(ref, q, size);

	/* The device reads and writes the new pages... */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size)) {
		TH_LOG("after MAP_FIXED the device reads the old pages");
	}
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x22222222));
	EXPECT_EQ(-1, ut_find_not(q, size, 0x22));
	/* ...and never the old ones. */
	EXPECT_EQ(-1, ut_find_not(b, size, 0x11)) {
		TH_LOG("a device write reached the replaced pages");
	}
	memset(b, 0x33, size);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, 0x22));
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_not(buf, size, 0x33));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(2 * n), i.pages_faulted);
	close(mfd);
	free(ref);
	free(buf);
}

/* Partial munmap: the mapped rest works; a job touching the hole fails -EFAULT and none of it runs. */
TEST_F(coherent, partial_munmap)
{
	size_t page = self->page, size = 16 * page, n = 16;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_cmd c[3];
	struct drm_uptr_bo_info i;
	__u64 inv;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 9);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_faulted);
	inv = i.invalidations;

	/* Pages 4 to 7 go. */
	ASSERT_EQ(0, munmap(p + 4 * page, 4 * page));
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	EXPECT_GE(12ull, i.pages_resident);

	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, 4 * page));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, 4 * page));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 4 * page, u, 8 * page,
			     8 * page));
	EXPECT_EQ(-1, ut_find_diff(self->map + 4 * page, ref + 8 * page,
				   8 * page));
	ASSERT_EQ(0, ut_fill(self->fd, u, 10 * page, page, 0x44444444));
	EXPECT_EQ(-1, ut_find_not(p + 10 * page, page, 0x44));
	fill_dwords(ref + 10 * page, page, 0x44444444);
	/* The pages on both sides of the hole. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 4 * page - 4, 4));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 4, u, 8 * page, 4));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref + 4 * page - 4, 4));
	EXPECT_EQ(-1, ut_find_diff(self->map + 4, ref + 8 * page, 4));

	/* Jobs touching the hole: refused whole. */
	memset(self->map, SENTINEL, size);
	c[0] = ut_cmd_fill(self->dev, 0, 2 * page, 0x55555555);
	c[1] = ut_cmd_fill(u, 0, page, 0x66666666);
	c[2] = ut_cmd_copy(self->dev, 2 * page, u, 3 * page, 2 * page);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, c, 3));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 5 * page, 4));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 4 * page - 4, 8));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, 8 * page - 4, 1));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, size, 1));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, self->dev, 0, u, 7 * page,
				       2 * page));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL)) {
		TH_LOG("a refused job wrote the device BO");
	}
	EXPECT_EQ(-1, ut_find_diff(p, ref, 4 * page)) {
		TH_LOG("a refused job wrote the userptr");
	}
	EXPECT_EQ(-1, ut_find_diff(p + 8 * page, ref + 8 * page, 8 * page));

	/* Only the unmapped pages were dropped: nothing was faulted again. */
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_faulted);
	EXPECT_EQ(12ull, i.pages_resident);
	free(ref);
}

/* mremap moving the range: the old range faults; a userptr at the new address sees the data. */
TEST_F(coherent, mremap_move)
{
	size_t size = 16 * self->page, n = 16;
	unsigned char *p = ut_alloc_small_pages(size), *dst, *q, *ref = malloc(size);
	struct drm_uptr_bo_info i;
	__u64 inv;
	__u32 u, v;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 10);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	COHERENT_INFO(u, i);
	inv = i.invalidations;

	dst = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	q = mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);

	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	EXPECT_EQ(0ull, i.pages_resident);
	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, 4, 1));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));

	UT_USERPTR(v, q, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, v, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_fill(self->fd, v, self->page, self->page, 0x77777777));
	EXPECT_EQ(-1, ut_find_not(q + self->page, self->page, 0x77));
	EXPECT_EQ(-1, ut_find_diff(q, ref, self->page));
	COHERENT_INFO(v, i);
	EXPECT_EQ((__u64)n, i.pages_faulted);
	EXPECT_EQ(0ull, i.invalidations);
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_faulted);
	free(ref);
}

/* MADV_DONTNEED on anon memory: the device reads zeros, and its writes land in the fresh pages. */
TEST_F(coherent, dontneed_zero)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p = ut_alloc_small_pages(size), *fresh;
	struct drm_uptr_bo_info i;
	__u64 inv;
	__u32 u;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 11);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, p, size));
	COHERENT_INFO(u, i);
	inv = i.invalidations;

	ASSERT_EQ(0, madvise(p, size, MADV_DONTNEED));
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	EXPECT_EQ(0ull, i.pages_resident);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, 0)) {
		TH_LOG("after MADV_DONTNEED the device reads the old data");
	}

	/* Writes after reads of the zero page go to the process's new pages. */
	ASSERT_EQ(0, ut_store(self->fd, u, 3 * page + 12, 0xfeedbeef));
	ASSERT_EQ(0, ut_fill(self->fd, u, 5 * page, page, 0x0a0b0c0d));
	EXPECT_EQ(0xfeedbeefu, *(__u32 *)(p + 3 * page + 12));
	EXPECT_EQ(-1, ut_find_not(p, 3 * page + 12, 0));
	EXPECT_EQ(-1, ut_find_not(p + 3 * page + 16, 2 * page - 16, 0));
	EXPECT_EQ(-1, ut_find_not_dword(p + 5 * page, page, 0x0a0b0c0d));
	EXPECT_EQ(-1, ut_find_not(p + 6 * page, 2 * page, 0));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, p, size));
	/* The shared zero page was not written. */
	fresh = ut_alloc_small_pages(page);
	ASSERT_NE(NULL, fresh);
	EXPECT_EQ(-1, ut_find_not(fresh, page, 0)) {
		TH_LOG("a device write landed in the shared zero page");
	}
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / page), i.pages_resident);
}

/* MADV_DONTNEED of 4 KiB inside a warm 4 MiB userptr: the next full job faults exactly that page again. */
TEST_F(coherent, dontneed_one_page)
{
	size_t page = self->page, size = 4 * UT_MIB, n = size / page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_bo_info i0, i1, i2;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 12);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	COHERENT_INFO(u, i0);
	EXPECT_EQ((__u64)n, i0.pages_faulted);
	EXPECT_EQ((__u64)n, i0.pages_resident);

	ASSERT_EQ(0, madvise(p + 100 * page, page, MADV_DONTNEED));
	COHERENT_INFO(u, i1);
	EXPECT_LT(i0.invalidations, i1.invalidations);
	EXPECT_EQ((__u64)(n - 1), i1.pages_resident);

	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, 100 * page));
	EXPECT_EQ(-1, ut_find_not(self->map + 100 * page, page, 0));
	EXPECT_EQ(-1, ut_find_diff(self->map + 101 * page, ref + 101 * page,
				   size - 101 * page));
	COHERENT_INFO(u, i2);
	EXPECT_EQ(i0.pages_faulted + 1, i2.pages_faulted) {
		TH_LOG("dropping 1 page cost %llu faults",
		       (unsigned long long)(i2.pages_faulted -
					    i0.pages_faulted));
	}
	EXPECT_EQ((__u64)n, i2.pages_resident);
	EXPECT_EQ(i1.invalidations, i2.invalidations);
	free(ref);
}

/* mprotect: PROT_READ stops device writes (-EFAULT), PROT_NONE reads too; PROT_READ|PROT_WRITE restores them. */
TEST_F(coherent, mprotect)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_cmd c[2];
	struct drm_uptr_bo_info i;
	__u64 inv;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 13);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, page, 0x01010101));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	memcpy(ref, p, size);
	COHERENT_INFO(u, i);
	inv = i.invalidations;

	ASSERT_EQ(0, mprotect(p, size, PROT_READ));
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	memset(self->map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_checksum(self->fd, self->dev, size, u, 5, 3 * page));
	EXPECT_EQ(ut_fnv1a(ref + 5, 3 * page), *(__u64 *)(self->map + size));
	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 0, size, 2));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 7 * page, 4, 2));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, 0, 2));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, u, 0, self->dev, 0, 16));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, u, 0, self->dev, 0, 16));
	c[0] = ut_cmd_fill(self->dev, 0, size, 0x03030303);
	c[1] = ut_cmd_store(u, 4 * page, 3);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, c, 2));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));

	/* Writable again. */
	ASSERT_EQ(0, mprotect(p, size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, ut_fill(self->fd, u, 2 * page, page, 0x02020202));
	EXPECT_EQ(-1, ut_find_not(p + 2 * page, page, 0x02));
	fill_dwords(ref + 2 * page, page, 0x02020202);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));

	/* PROT_NONE: no access at all. */
	ASSERT_EQ(0, mprotect(p, size, PROT_NONE));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, 0, 4));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, self->dev, 0, u, 6 * page, 8));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, 0, 4));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));
	ASSERT_EQ(0, mprotect(p, size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	COHERENT_INFO(u, i);
	free(ref);
}

/*
 * fork() with private memory: after the fork, device writes through the
 * parent's userptr go to the parent's own copy and never to the child's;
 * the device reads the parent's pages, not what the child wrote.
 */
TEST_F(coherent, fork_cow_private)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_bo_info i;
	int go[2], rep[2];
	__u64 inv;
	pid_t pid;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	memset(p, 0xee, size);
	UT_USERPTR(u, p, size, 0);
	/* Every page resident and writable for the device before the fork. */
	ut_pattern(self->map, size, 14);
	memcpy(ref, self->map, size);
	ASSERT_EQ(0, ut_copy(self->fd, u, 0, self->dev, 0, size));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / page), i.pages_resident);
	inv = i.invalidations;
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(rep));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		if (get_byte(go[0]) != 'a')
			_exit(10);
		/* The parent's device write is not in the child. */
		put_byte(rep[1], ut_find_diff(p, ref, size) == -1 ? 'y' : 'n');
		memset(p, 0xcc, size);
		put_byte(rep[1], 'w');
		if (get_byte(go[0]) != 'b')
			_exit(11);
		_exit(ut_find_not(p, size, 0xcc) == -1 ? 0 : 1);
	}
	close(go[0]);
	close(rep[1]);

	/* fork write-protected the parent's pages. */
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);

	/* A device write before the child writes: copied for the parent. */
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, page, 0xabababab));
	EXPECT_EQ(-1, ut_find_not(p, page, 0xab));
	EXPECT_EQ(-1, ut_find_diff(p + page, ref + page, size - page));
	ASSERT_EQ(0, put_byte(go[1], 'a'));
	EXPECT_EQ('y', get_byte(rep[0])) {
		TH_LOG("the device's write through the parent's userptr reached the child");
	}
	ASSERT_EQ('w', get_byte(rep[0]));

	/* The child wrote its copy: the device reads the parent's pages. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, page, 0xab));
	EXPECT_EQ(-1, ut_find_diff(self->map + page, ref + page, size - page)) {
		TH_LOG("the device reads the child's pages");
	}
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x5a5a5a5a));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x5a));
	ASSERT_EQ(0, put_byte(go[1], 'b'));
	EXPECT_EQ(0, ut_wait_child(pid)) {
		TH_LOG("device writes reached the child's copy");
	}
	COHERENT_INFO(u, i);
	close(go[1]);
	close(rep[0]);
	free(ref);
}

/* fork() with MAP_SHARED memory: parent device writes show in the child, child writes reach the device. */
TEST_F(coherent, fork_shared)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p;
	int go[2], rep[2];
	pid_t pid;
	__u32 u;

	p = ut_alloc_shared(size);
	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 15);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(rep));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		if (get_byte(go[0]) != 'a')
			_exit(10);
		put_byte(rep[1], ut_find_not(p, size, 0x77) == -1 ? 'y' : 'n');
		memset(p + page, 0x66, page);
		put_byte(rep[1], 'w');
		if (get_byte(go[0]) != 'b')
			_exit(11);
		_exit(ut_find_not(p + 2 * page, page, 0x88) == -1 ? 0 : 1);
	}
	close(go[0]);
	close(rep[1]);

	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x77777777));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x77));
	ASSERT_EQ(0, put_byte(go[1], 'a'));
	EXPECT_EQ('y', get_byte(rep[0])) {
		TH_LOG("the child does not see the device's write to shared memory");
	}
	ASSERT_EQ('w', get_byte(rep[0]));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, page, page));
	EXPECT_EQ(-1, ut_find_not(self->map, page, 0x66)) {
		TH_LOG("the device does not see the child's write to shared memory");
	}
	ASSERT_EQ(0, ut_fill(self->fd, u, 2 * page, page, 0x88888888));
	EXPECT_EQ(-1, ut_find_not(p + 2 * page, page, 0x88));
	ASSERT_EQ(0, put_byte(go[1], 'b'));
	EXPECT_EQ(0, ut_wait_child(pid)) {
		TH_LOG("the child does not see the device's second write");
	}
	close(go[1]);
	close(rep[0]);
}

/* A forked child using the parent's coherent userptr gets -EFAULT; the child's own works until it exits. */
TEST_F(coherent, fork_child_handle)
{
	size_t page = self->page, size = 4 * page;
	unsigned char *p = ut_alloc_small_pages(size);
	struct drm_uptr_bo_info i;
	struct {
		int err[4];
		int own;
		__u32 handle;
	} res = { { 1, 1, 1, 1 }, 1, 0 };
	int rep[2];
	pid_t pid;
	__u32 u;

	ASSERT_NE(NULL, p);
	memset(p, 0x21, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	memset(self->map, SENTINEL, size);
	ASSERT_EQ(0, pipe(rep));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(rep[0]);
		res.err[0] = ut_copy(self->fd, self->dev, 0, u, 0, size);
		res.err[1] = ut_fill(self->fd, u, 0, size, 0x42424242);
		res.err[2] = ut_store(self->fd, u, 0, 0x42);
		res.err[3] = ut_checksum(self->fd, self->dev, 0, u, 0, 8);
		/* The child's own memory, through its own userptr. */
		memset(p, 0x43, size);
		res.own = ut_userptr(self->fd, p, page, 0, &res.handle);
		if (!res.own)
			res.own = ut_copy(self->fd, self->dev, page, res.handle,
					  0, page);
		_exit(write(rep[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(rep[1]);
	ASSERT_EQ((ssize_t)sizeof(res), read(rep[0], &res, sizeof(res)));
	ASSERT_EQ(0, ut_wait_child(pid));
	close(rep[0]);

	EXPECT_EQ(-EFAULT, res.err[0]);
	EXPECT_EQ(-EFAULT, res.err[1]);
	EXPECT_EQ(-EFAULT, res.err[2]);
	EXPECT_EQ(-EFAULT, res.err[3]);
	EXPECT_EQ(-1, ut_find_not(p, size, 0x21));
	EXPECT_EQ(-1, ut_find_not(self->map, page, SENTINEL));
	ASSERT_EQ(0, res.own);
	EXPECT_EQ(-1, ut_find_not(self->map + page, page, 0x43));

	/* The child's userptr outlives its creator, unusable. */
	memset(self->map, SENTINEL, 2 * page);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, res.handle, 0, page));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, res.handle, 0, page, 1));
	EXPECT_EQ(-1, ut_find_not(self->map, 2 * page, SENTINEL));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x21));
	ASSERT_EQ(0, ut_bo_info(self->fd, res.handle, &i));
	EXPECT_EQ((__u64)page, i.size);
	EXPECT_EQ(0ull, i.pages_pinned);
	EXPECT_EQ(0, ut_gem_close(self->fd, res.handle));

	/* The parent's userptr still works for the parent. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, 0x21));
	COHERENT_INFO(u, i);
}

/* munmap, mprotect and MAP_FIXED right before and after a userptr leave its pages and counters alone. */
TEST_F(coherent, neighbours)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *all = ut_alloc_small_pages(16 * page), *p, *q, *ref = malloc(size);
	struct drm_uptr_bo_info i0, i;
	__u32 u;

	ASSERT_NE(NULL, all);
	ASSERT_NE(NULL, ref);
	/* [0, 4) before, [4, 12) the userptr, [12, 16) after. */
	p = all + 4 * page;
	ut_pattern(all, 16 * page, 16);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	COHERENT_INFO(u, i0);
	EXPECT_EQ(8ull, i0.pages_resident);

	ASSERT_EQ(0, munmap(all, 4 * page));
	ASSERT_EQ(0, munmap(p + size, 4 * page));
	COHERENT_INFO(u, i);
	EXPECT_EQ(i0.invalidations, i.invalidations) {
		TH_LOG("munmap next to the userptr invalidated it");
	}
	EXPECT_EQ(8ull, i.pages_resident);

	q = mmap(all, 4 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(all, q);
	memset(q, 0x99, 4 * page);
	q = mmap(p + size, 4 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p + size, q);
	memset(q, 0x98, 4 * page);
	ASSERT_EQ(0, mprotect(all, 4 * page, PROT_READ));
	ASSERT_EQ(0, mprotect(p + size, 4 * page, PROT_READ));
	/* MAP_FIXED straight over the populated neighbours. */
	q = mmap(all, 4 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(all, q);
	memset(q, 0x97, 4 * page);
	q = mmap(p + size, 4 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p + size, q);
	memset(q, 0x96, 4 * page);
	ASSERT_EQ(0, madvise(all, 4 * page, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p + size, 4 * page, MADV_DONTNEED));

	COHERENT_INFO(u, i);
	EXPECT_EQ(i0.invalidations, i.invalidations) {
		TH_LOG("changes next to the userptr invalidated it %llu times",
		       (unsigned long long)(i.invalidations - i0.invalidations));
	}
	EXPECT_EQ(8ull, i.pages_resident);
	memset(self->map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_fill(self->fd, u, 0, size, 0x31313131));
	EXPECT_EQ(-1, ut_find_not(p, size, 0x31));
	EXPECT_EQ(-1, ut_find_not(all, 4 * page, 0));
	EXPECT_EQ(-1, ut_find_not(p + size, 4 * page, 0));
	COHERENT_INFO(u, i);
	EXPECT_EQ(i0.pages_faulted, i.pages_faulted);
	EXPECT_EQ(i0.invalidations, i.invalidations);
	free(ref);
}

/* A userptr straddling a 2 MiB THP boundary keeps its data while its neighbours are remapped. */
TEST_F(coherent, neighbours_thp)
{
	size_t page = self->page, half = 16 * page, size = 2 * half;
	unsigned char *h, *p, *q, *ref = malloc(size);
	struct drm_uptr_bo_info i;
	__u32 u;

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	h = ut_alloc_thp(2 * UT_HPAGE);
	ASSERT_NE(NULL, h);
	ut_pattern(h, 2 * UT_HPAGE, 17);
	ut_check_thp_kb(_metadata, h, 2 * UT_HPAGE, 2048);

	/* 16 pages on each side of the boundary between the huge pages. */
	p = h + UT_HPAGE - half;
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));

	/* Unmap the 16 pages before it, replace the 16 after, punch far ones. */
	ASSERT_EQ(0, munmap(p - half, half));
	q = mmap(p + size, half, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p + size, q);
	memset(q, 0x77, half);
	ASSERT_EQ(0, madvise(h, 64 * page, MADV_DONTNEED));
	ASSERT_EQ(0, munmap(h + 2 * UT_HPAGE - 64 * page, 64 * page));

	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	memset(self->map, 0, size);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size)) {
		TH_LOG("the device lost the data when the neighbours changed");
	}
	/* Writes both ways across the boundary. */
	ASSERT_EQ(0, ut_fill(self->fd, u, half - 8 * page, 16 * page,
			     0x13131313));
	EXPECT_EQ(-1, ut_find_not(p + half - 8 * page, 16 * page, 0x13));
	EXPECT_EQ(-1, ut_find_diff(p, ref, half - 8 * page));
	EXPECT_EQ(-1, ut_find_diff(p + half + 8 * page, ref + half + 8 * page,
				   half - 8 * page));
	EXPECT_EQ(-1, ut_find_not(q, half, 0x77));
	ut_pattern(p, size, 18);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, p, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / page), i.pages_resident);
	free(ref);
}

/*
 * A MAP_SHARED file mapping: device writes reach the file; after a
 * truncation a job on the cut part fails -EFAULT and none of it runs,
 * the rest works, and the cut part works again once the file grows back.
 */
static void check_file(struct __test_metadata *_metadata,
		       FIXTURE_DATA(coherent) *self, int file)
{
	size_t page = self->page, size = 16 * page, half = 8 * page;
	unsigned char *p, *ref = malloc(size), *buf = malloc(size);
	struct drm_uptr_cmd c[2];
	struct drm_uptr_bo_info i;
	struct stat st;
	__u64 inv;
	__u32 u;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ut_pattern(ref, size, 19);
	ASSERT_EQ((ssize_t)size, pwrite(file, ref, size, 0));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	ASSERT_NE(MAP_FAILED, p);
	UT_USERPTR(u, p, size, 0);

	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_fill(self->fd, u, 2 * page + 64, page, 0x600df00d));
	ASSERT_EQ(0, ut_store(self->fd, u, size - 4, 0xfeedface));
	fill_dwords(ref + 2 * page + 64, page, 0x600df00d);
	fill_dwords(ref + size - 4, 4, 0xfeedface);
	ASSERT_EQ((ssize_t)size, pread(file, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, size)) {
		TH_LOG("the device's writes are not in the file");
	}
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / page), i.pages_faulted);
	EXPECT_EQ((__u64)(size / page), i.pages_resident);
	inv = i.invalidations;

	ASSERT_EQ(0, ftruncate(file, half));
	COHERENT_INFO(u, i);
	EXPECT_LT(inv, i.invalidations);
	EXPECT_GE((__u64)(half / page), i.pages_resident);

	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, half, page));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, self->dev, 0, u, half - 4, 8));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 12 * page, 4, 1));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, u, size - 4, 1));
	EXPECT_EQ(-EFAULT, ut_checksum(self->fd, self->dev, 0, u, half, 1));
	c[0] = ut_cmd_fill(u, 0, page, 0x11111111);
	c[1] = ut_cmd_copy(self->dev, 0, u, size - page, page);
	EXPECT_EQ(-EFAULT, ut_submit(self->fd, c, 2));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));
	ASSERT_EQ((ssize_t)half, pread(file, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, half)) {
		TH_LOG("a refused job wrote the file");
	}

	/* The part still in the file works. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, half));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, half));
	ASSERT_EQ(0, ut_fill(self->fd, u, 5 * page, page, 0x0d0d0d0d));
	fill_dwords(ref + 5 * page, page, 0x0d0d0d0d);
	ASSERT_EQ((ssize_t)half, pread(file, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, half));
	ASSERT_EQ(0, fstat(file, &st));
	EXPECT_EQ((off_t)half, st.st_size);

	/* Grown back: the cut part reads as zeros and takes writes. */
	ASSERT_EQ(0, ftruncate(file, size));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, half, half));
	EXPECT_EQ(-1, ut_find_not(self->map, half, 0));
	ASSERT_EQ(0, ut_store(self->fd, u, size - 4, 0x12345678));
	ASSERT_EQ(4, pread(file, buf, 4, size - 4));
	EXPECT_EQ(0x12345678u, *(__u32 *)buf);
	COHERENT_INFO(u, i);
	ASSERT_EQ(0, munmap(p, size));
	free(ref);
	free(buf);
}

/* A MAP_SHARED memfd: device writes reach the file; truncated pages fault. */
TEST_F(coherent, memfd_truncate)
{
	int mfd = ut_memfd("uptr-coherent", 0);

	ASSERT_LE(0, mfd);
	check_file(_metadata, self, mfd);
	close(mfd);
}

/* A MAP_SHARED tmpfs file in $TMPDIR: device writes reach the file; truncated pages fault. */
TEST_F(coherent, tmpfile_truncate)
{
	struct statfs sfs;
	char path[256];
	int tfd = ut_make_tmpfile(path, sizeof(path));

	ASSERT_LE(0, tfd) {
		TH_LOG("cannot create a file in $TMPDIR, /tmp or /dev/shm: %s",
		       strerror(-tfd));
	}
	unlink(path);
	ASSERT_EQ(0, fstatfs(tfd, &sfs));
	if (sfs.f_type != TMPFS_MAGIC)
		TH_LOG("note: %s is not on tmpfs (f_type %#lx)", path,
		       (unsigned long)sfs.f_type);
	check_file(_metadata, self, tfd);
	close(tfd);
}

/* A READ_ONLY coherent userptr is read by the device; any command writing it is -EACCES. */
TEST_F(coherent, readonly)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_cmd c[2];
	struct drm_uptr_bo_info i;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 20);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, RO);
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u32)RO, i.flags);
	EXPECT_EQ(0ull, i.pages_resident);

	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_checksum(self->fd, self->dev, size, u, 3, 1000));
	EXPECT_EQ(ut_fnv1a(ref + 3, 1000), *(__u64 *)(self->map + size));

	memset(self->map, SENTINEL, size);
	EXPECT_EQ(-EACCES, ut_fill(self->fd, u, 0, size, 1));
	EXPECT_EQ(-EACCES, ut_store(self->fd, u, 0, 1));
	EXPECT_EQ(-EACCES, ut_copy(self->fd, u, 0, self->dev, 0, 16));
	EXPECT_EQ(-EACCES, ut_checksum(self->fd, u, 0, self->dev, 0, 16));
	EXPECT_EQ(-EACCES, ut_checksum(self->fd, u, 0, u, 8, 8));
	c[0] = ut_cmd_fill(self->dev, 0, size, 0x01010101);
	c[1] = ut_cmd_store(u, 0, 1);
	EXPECT_EQ(-EACCES, ut_submit(self->fd, c, 2));
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, SENTINEL));
	COHERENT_INFO(u, i);
	EXPECT_EQ(2ull, i.jobs);
	EXPECT_EQ((__u64)(size / page), i.pages_faulted);
	EXPECT_EQ((__u64)(size / page), i.pages_resident);
}

/*
 * Device reads through a READ_ONLY coherent userptr do not break
 * copy-on-write sharing with a forked child.  Method: /proc/self/pagemap.
 * Bit 56 ("exclusively mapped") is set for a page mapped once: after
 * fork the parent's anonymous pages are mapped by parent and child, so
 * it is 0, and breaking COW (what a write fault does) would give the
 * parent a page of its own: bit 56 set and a new PFN (we are root, so
 * PFNs are visible; they are compared when non-zero).  The child stays
 * alive, blocked on a pipe, to keep the pages shared.  The test ends by
 * showing that the method sees a COW break: a device write through a
 * read-write userptr gives the parent its own copy of that page.
 */
TEST_F(coherent, readonly_fork_keeps_cow)
{
	size_t page = self->page, n = 8, size = n * page, k;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	__u64 e, pfn[8];
	int go[2];
	pid_t pid;
	__u32 u, w;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 21);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, RO);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, ut_pagemap_entry(p + k * page, &e));
		ASSERT_NE(0ull, e & UT_PM_PRESENT);
		ASSERT_NE(0ull, e & UT_PM_EXCLUSIVE) {
			TH_LOG("page %zu is not exclusively mapped before fork", k);
		}
		pfn[k] = e & UT_PM_PFN_MASK;
	}
	ASSERT_EQ(0, pipe(go));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		get_byte(go[0]);
		_exit(ut_find_diff(p, ref, size) == -1 ? 0 : 1);
	}
	close(go[0]);

	/* Shared with the child (the userptr pinned nothing that fork had to copy). */
	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, ut_pagemap_entry(p + k * page, &e));
		ASSERT_EQ(0ull, e & UT_PM_EXCLUSIVE) {
			TH_LOG("page %zu is exclusive to the parent right after fork", k);
		}
		EXPECT_EQ(pfn[k], e & UT_PM_PFN_MASK);
	}

	/* Device reads: the pages stay shared. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	ASSERT_EQ(0, ut_checksum(self->fd, self->dev, size, u, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)(self->map + size));
	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, ut_pagemap_entry(p + k * page, &e));
		EXPECT_NE(0ull, e & UT_PM_PRESENT);
		EXPECT_EQ(0ull, e & UT_PM_EXCLUSIVE) {
			TH_LOG("a device read broke copy-on-write of page %zu", k);
		}
		EXPECT_EQ(pfn[k], e & UT_PM_PFN_MASK);
	}

	/* A device write does break COW, as the method shows. */
	UT_USERPTR(w, p, page, 0);
	ASSERT_EQ(0, ut_store(self->fd, w, 0, 0xdeadbeef));
	EXPECT_EQ(0xdeadbeefu, *(__u32 *)p);
	ASSERT_EQ(0, ut_pagemap_entry(p, &e));
	EXPECT_NE(0ull, e & UT_PM_EXCLUSIVE);
	if (pfn[0])
		EXPECT_NE(pfn[0], e & UT_PM_PFN_MASK);
	ASSERT_EQ(0, ut_pagemap_entry(p + page, &e));
	EXPECT_EQ(0ull, e & UT_PM_EXCLUSIVE);
	/* The read-only userptr follows the parent to its new page. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, 8));
	EXPECT_EQ(0xdeadbeefu, *(__u32 *)self->map);
	EXPECT_EQ(0, memcmp(self->map + 4, ref + 4, 4));

	ASSERT_EQ(0, put_byte(go[1], 'x'));
	EXPECT_EQ(0, ut_wait_child(pid)) {
		TH_LOG("the child's copy changed");
	}
	close(go[1]);
	free(ref);
}

/* READ_ONLY coherent userptrs over PROT_READ mappings read; a read-write one there cannot write (-EFAULT). */
TEST_F(coherent, readonly_prot_read)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p, *z, *ref = malloc(size), *buf = malloc(size);
	struct drm_uptr_bo_info i;
	__u32 u, uz, w;
	int mfd;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	mfd = ut_memfd("uptr-coherent", 0);
	ASSERT_LE(0, mfd);
	ut_pattern(ref, size, 22);
	ASSERT_EQ((ssize_t)size, pwrite(mfd, ref, size, 0));
	p = ut_map_file(mfd, size, PROT_READ);
	ASSERT_NE(NULL, p);
	z = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, z);

	UT_USERPTR(u, p, size, RO);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	EXPECT_EQ(-EACCES, ut_fill(self->fd, u, 0, 4, 1));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)(size / page), i.pages_faulted);

	/* Never-touched read-only anonymous memory reads as zeros. */
	UT_USERPTR(uz, z, size, RO);
	memset(self->map, SENTINEL, size);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, uz, 0, size));
	EXPECT_EQ(-1, ut_find_not(self->map, size, 0));
	COHERENT_INFO(uz, i);

	/* Read-write over PROT_READ: created (nothing is checked), reads, cannot write. */
	UT_USERPTR(w, p, size, 0);
	ASSERT_EQ(0, ut_checksum(self->fd, self->dev, 0, w, 0, size));
	EXPECT_EQ(ut_fnv1a(ref, size), *(__u64 *)self->map);
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, w, 0, size, 1));
	EXPECT_EQ(-EFAULT, ut_store(self->fd, w, size - 4, 1));
	EXPECT_EQ(-EFAULT, ut_copy(self->fd, w, 0, self->dev, 0, 4));
	ASSERT_EQ((ssize_t)size, pread(mfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, ref, size));
	COHERENT_INFO(w, i);
	close(mfd);
	free(ref);
	free(buf);
}

/* COPY and CHECKSUM inside one coherent userptr fault in both ranges and move the right bytes. */
TEST_F(coherent, copy_within)
{
	size_t page = self->page, size = 16 * page;
	unsigned char *p = ut_alloc_small_pages(size), *ref = malloc(size);
	struct drm_uptr_bo_info i;
	__u64 sum;
	__u32 u;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ref);
	ut_pattern(p, size, 23);
	memcpy(ref, p, size);
	UT_USERPTR(u, p, size, 0);

	/* Source pages 1 to 4, destination pages 8 to 11. */
	ASSERT_EQ(0, ut_copy(self->fd, u, 8 * page + 3, u, page + 5, 3 * page));
	memcpy(ref + 8 * page + 3, ref + page + 5, 3 * page);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ(8ull, i.pages_faulted);
	EXPECT_EQ(8ull, i.pages_resident);

	/* Source page 0, destination page 15. */
	ASSERT_EQ(0, ut_checksum(self->fd, u, size - 8, u, 0, page));
	sum = ut_fnv1a(ref, page);
	memcpy(ref + size - 8, &sum, 8);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ(10ull, i.pages_faulted);
	EXPECT_EQ(10ull, i.pages_resident);
	EXPECT_EQ(2ull, i.jobs);
	free(ref);
}

/* A MAP_PRIVATE file mapping: device writes give the process its own copies and never reach the file. */
TEST_F(coherent, private_file_cow)
{
	size_t page = self->page, size = 8 * page;
	unsigned char *p, *ref = malloc(size), *buf = malloc(size);
	unsigned char *file_ref = malloc(size);
	char path[256];
	__u32 u;
	int tfd;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, file_ref);
	tfd = ut_make_tmpfile(path, sizeof(path));
	ASSERT_LE(0, tfd);
	unlink(path);
	ut_pattern(file_ref, size, 24);
	ASSERT_EQ((ssize_t)size, pwrite(tfd, file_ref, size, 0));
	memcpy(ref, file_ref, size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, tfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	UT_USERPTR(u, p, size, 0);

	/* Reads first: the device sees the file's pages. */
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));

	/* Then writes to pages 1, 2 and 5: copied for the process. */
	ASSERT_EQ(0, ut_fill(self->fd, u, page, 2 * page, 0x4d4d4d4d));
	ASSERT_EQ(0, ut_store(self->fd, u, 5 * page, 0x01020304));
	fill_dwords(ref + page, 2 * page, 0x4d4d4d4d);
	fill_dwords(ref + 5 * page, 4, 0x01020304);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	ASSERT_EQ((ssize_t)size, pread(tfd, buf, size, 0));
	EXPECT_EQ(-1, ut_find_diff(buf, file_ref, size)) {
		TH_LOG("a device write to a MAP_PRIVATE mapping reached the file");
	}

	/* File writes show in the pages not copied, not in the copies. */
	ut_pattern(buf, 2 * page, 25);
	ASSERT_EQ((ssize_t)(2 * page), pwrite(tfd, buf, 2 * page, 0));
	memcpy(ref, buf, page);
	EXPECT_EQ(-1, ut_find_diff(p, ref, size));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, size));
	close(tfd);
	free(ref);
	free(buf);
	free(file_ref);
}

/* Splitting a huge page under a userptr (MADV_DONTNEED, mprotect of 4 KiB) keeps the device's view right. */
TEST_F(coherent, thp_split)
{
	size_t page = self->page, n = UT_HPAGE / page;
	unsigned char *h, *ref = malloc(UT_HPAGE);
	struct drm_uptr_bo_info i;
	__u32 u;

	UT_NEED_THP();
	ASSERT_NE(NULL, ref);
	h = ut_alloc_thp(UT_HPAGE);
	ASSERT_NE(NULL, h);
	ut_pattern(h, UT_HPAGE, 26);
	memcpy(ref, h, UT_HPAGE);
	/* All of it, one huge page. */
	ut_check_thp_kb(_metadata, h, UT_HPAGE, 2048);
	UT_USERPTR(u, h, UT_HPAGE, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, UT_HPAGE));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, UT_HPAGE));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_resident);
	EXPECT_EQ(1ull, i.sg_segments) {
		TH_LOG("a huge page is not one run of contiguous pages");
	}

	/* Drop one 4 KiB page: the huge page is split. */
	ASSERT_EQ(0, madvise(h + 100 * page, page, MADV_DONTNEED));
	memset(ref + 100 * page, 0, page);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, UT_HPAGE));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, UT_HPAGE));
	ASSERT_EQ(0, ut_fill(self->fd, u, 99 * page, 3 * page, 0x7e7e7e7e));
	fill_dwords(ref + 99 * page, 3 * page, 0x7e7e7e7e);
	EXPECT_EQ(-1, ut_find_diff(h, ref, UT_HPAGE));

	/* Write-protect one 4 KiB page: only it refuses device writes. */
	ASSERT_EQ(0, mprotect(h + 200 * page, page, PROT_READ));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 200 * page, 4, 1));
	EXPECT_EQ(-EFAULT, ut_fill(self->fd, u, 199 * page, 2 * page, 1));
	ASSERT_EQ(0, ut_fill(self->fd, u, 201 * page, 4, 0x11111111));
	ASSERT_EQ(0, ut_fill(self->fd, u, 199 * page, 4, 0x22222222));
	fill_dwords(ref + 201 * page, 4, 0x11111111);
	fill_dwords(ref + 199 * page, 4, 0x22222222);
	EXPECT_EQ(-1, ut_find_diff(h, ref, UT_HPAGE));
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, UT_HPAGE));
	EXPECT_EQ(-1, ut_find_diff(self->map, ref, UT_HPAGE));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_resident);
	free(ref);
}

/* sg_segments counts runs of the resident pages: 0 before a job, 1..resident after, few over huge pages. */
TEST_F(coherent, sg_segments)
{
	size_t page = self->page, n = 64, size = n * page;
	size_t tsize = 2 * UT_HPAGE, tn = tsize / page;
	unsigned char *p = ut_alloc_small_pages(size), *t;
	struct drm_uptr_bo_info i;
	__u64 bound;
	long huge_kb;
	__u32 u, v;

	ASSERT_NE(NULL, p);
	memset(p, 0x5e, size);
	UT_USERPTR(u, p, size, 0);
	COHERENT_INFO(u, i);
	EXPECT_EQ(0ull, i.sg_segments);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, u, 0, size));
	COHERENT_INFO(u, i);
	EXPECT_EQ((__u64)n, i.pages_resident);
	EXPECT_LE(1ull, i.sg_segments);
	EXPECT_GE((__u64)n, i.sg_segments);
	ASSERT_EQ(0, munmap(p + n / 2 * page, n / 2 * page));
	COHERENT_INFO(u, i);
	EXPECT_GE((__u64)(n / 2), i.pages_resident);

	/* Over two huge pages: each is one physically contiguous run. */
	UT_NEED_THP();
	t = ut_alloc_thp(tsize);
	ASSERT_NE(NULL, t);
	memset(t, 0x5f, tsize);
	huge_kb = ut_check_thp_kb(_metadata, t, tsize, 2048);
	UT_USERPTR(v, t, tsize, 0);
	ASSERT_EQ(0, ut_copy(self->fd, self->dev, 0, v, 0, tsize));
	EXPECT_EQ(-1, ut_find_not(self->map, tsize, 0x5f));
	COHERENT_INFO(v, i);
	EXPECT_EQ((__u64)tn, i.pages_resident);
	/* At most one run per small page plus one per huge page. */
	bound = (tn - huge_kb * 1024 / page) + huge_kb / 2048;
	EXPECT_GE(bound, i.sg_segments) {
		TH_LOG("%llu sg segments for %zu pages with %ld kB of huge pages",
		       (unsigned long long)i.sg_segments, tn, huge_kb);
	}
	EXPECT_LE(1ull, i.sg_segments);
}

TEST_HARNESS_MAIN
