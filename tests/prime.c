// SPDX-License-Identifier: GPL-2.0
/*
 * Description: dma-buf sharing (PRIME): device BOs exported, mapped,
 * synced and imported again (same fd, another fd, another process over a
 * Unix socket); pinned userptrs over anonymous memory and memfd exported,
 * every other userptr refused; vgem's buffers imported and used by jobs
 * as source and destination, with implicit synchronisation both ways;
 * the errnos of the PRIME ioctls and the lifetimes of handles, dma-buf
 * fds and mappings.
 *
 * Where a test must see a job not run yet, the job reads a vgem buffer
 * that carries a vgem write fence the test signals itself (vgem signals
 * it by itself after 10 s otherwise).  Nothing depends on speed.
 */
#include "uptr_harness.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/dma-buf.h>

#define SEC		1000000000ll
#define BO_SIZE		(64 * UT_KIB)
#define PINNED		DRM_UPTR_USERPTR_PINNED

/* Whether @dmabuf has unsignalled fences of the kind @events polls for. */
static int dmabuf_ready(int dmabuf, short events)
{
	struct pollfd p = { .fd = dmabuf, .events = events };
	int n = poll(&p, 1, 0);

	return n < 0 ? -errno : n == 1 && (p.revents & events);
}

/* The status of every fence of @dmabuf's: 0 pending, 1 signalled, -errno. */
static int dmabuf_fence_status(int dmabuf)
{
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	/* No fence array: the status of the sync_file's (merged) fence. */
	struct sync_file_info info = { .num_fences = 0 };
	int ret;

	ret = ut_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp);
	if (ret)
		return ret;
	ret = ut_ioctl(exp.fd, SYNC_IOC_FILE_INFO, &info);
	close(exp.fd);
	return ret ? ret : info.status;
}

static int dmabuf_sync(int dmabuf, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ut_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s);
}

/* A vgem buffer with a pending vgem write fence, imported into uptr. */
struct vgem_gated {
	int vgem;
	__u32 vhandle;		/* on vgem */
	__u32 fence;		/* vgem's fence id */
	int dmabuf;		/* vgem's export */
	__u32 handle;		/* the import on the uptr fd */
	void *map;		/* vgem's mapping of the buffer */
};

/* The buffer holds @byte everywhere; with @fenced, a write fence is attached. */
static int vgem_gated_init(int fd, struct vgem_gated *g, unsigned char byte, bool fenced)
{
	struct ut_vgem_fence_attach attach = { .flags = UT_VGEM_FENCE_WRITE };
	int ret;

	g->dmabuf = -1;
	g->map = MAP_FAILED;
	g->vgem = ut_vgem_open();
	if (g->vgem < 0)
		return g->vgem;
	ret = ut_vgem_bo(g->vgem, BO_SIZE, &g->vhandle);
	if (!ret)
		ret = ut_vgem_mmap(g->vgem, g->vhandle, BO_SIZE, &g->map);
	if (ret)
		return ret;
	memset(g->map, byte, BO_SIZE);
	if (fenced) {
		attach.handle = g->vhandle;
		ret = ut_ioctl(g->vgem, UT_IOCTL_VGEM_FENCE_ATTACH, &attach);
		if (ret)
			return ret;
		g->fence = attach.out_fence;
	}
	ret = ut_prime_export(g->vgem, g->vhandle, DRM_CLOEXEC | DRM_RDWR, &g->dmabuf);
	if (ret)
		return ret;
	return ut_prime_import(fd, g->dmabuf, &g->handle);
}

static int vgem_gated_signal(struct vgem_gated *g)
{
	struct ut_vgem_fence_signal s = { .fence = g->fence };

	return ut_ioctl(g->vgem, UT_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

static void vgem_gated_fini(struct vgem_gated *g)
{
	if (g->map != MAP_FAILED)
		munmap(g->map, BO_SIZE);
	if (g->dmabuf >= 0)
		close(g->dmabuf);
	if (g->vgem >= 0) {
		if (g->fence)
			vgem_gated_signal(g);
		close(g->vgem);
	}
}

/* Exports device BO @h of @fd and maps the dma-buf, shared, read-write. */
static int export_map(int fd, __u32 h, int *dmabuf, unsigned char **map)
{
	int ret = ut_prime_export(fd, h, DRM_CLOEXEC | DRM_RDWR, dmabuf);

	if (ret)
		return ret;
	*map = mmap(NULL, BO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *dmabuf, 0);
	return *map == MAP_FAILED ? -errno : 0;
}

/* What the engine writes into a device BO shows in a mapping of its dma-buf, and back. */
TEST_F(uptr, device_bo_export_mmap)
{
	struct drm_uptr_cmd cmd;
	unsigned char *map = NULL;
	__u64 *sum = NULL;
	__u32 h, hs;
	int dmabuf;

	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, ut_bo_create(self->fd, self->page, &hs));
	ASSERT_EQ(0, ut_fill(self->fd, h, 0, BO_SIZE, 0x5a5a5a5a));
	ASSERT_EQ(0, export_map(self->fd, h, &dmabuf, &map));
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0x5a));

	/* The CPU writes through the dma-buf; the engine reads it. */
	ut_pattern(map, BO_SIZE, 7);
	cmd = ut_cmd_checksum(hs, 0, h, 0, BO_SIZE);
	ASSERT_EQ(0, ut_submit(self->fd, &cmd, 1));
	ASSERT_EQ(0, ut_bo_mmap(self->fd, hs, self->page, (void **)&sum));
	EXPECT_EQ(ut_fnv1a(map, BO_SIZE), *sum);
	munmap(sum, self->page);

	/* A private mapping would copy the device's pages on write. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, BO_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, dmabuf, 0));
	munmap(map, BO_SIZE);
	close(dmabuf);
}

/*
 * A dma-buf mapping made before the BO had an mmap offset still maps the
 * BO once it has one (DRM_IOCTL_UPTR_BO_MMAP_OFFSET): the pages it
 * faults in afterwards are the BO's, seen the same through both.
 */
TEST_F(uptr, dmabuf_mmap_before_mmap_offset)
{
	unsigned char *map = NULL, *bo_map = NULL;
	__u32 h;
	int dmabuf;

	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, export_map(self->fd, h, &dmabuf, &map));
	ASSERT_EQ(0, ut_bo_mmap(self->fd, h, BO_SIZE, (void **)&bo_map));
	ASSERT_EQ(0, ut_fill(self->fd, h, 0, BO_SIZE, 0x3c3c3c3c));
	/* First touches of the dma-buf mapping, after the offset exists. */
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0x3c));
	ut_pattern(map, BO_SIZE, 9);
	EXPECT_EQ(-1, ut_find_diff(bo_map, map, BO_SIZE));
	munmap(bo_map, BO_SIZE);
	munmap(map, BO_SIZE);
	close(dmabuf);
}

/*
 * A pending job's fence is the dma-buf's: poll() and its sync_file see it,
 * DMA_BUF_IOCTL_SYNC waits for it, and the data is the job's afterwards.
 */
TEST_F_TIMEOUT(uptr, dmabuf_sync_waits_for_job, 60)
{
	struct vgem_gated g = { .vgem = -1 };
	unsigned char *map = NULL, ones[BO_SIZE];
	struct drm_uptr_cmd cmd;
	__u64 *sum = NULL;
	__u32 h, hs;
	int dmabuf;

	ASSERT_EQ(0, vgem_gated_init(self->fd, &g, 0xc3, true));
	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, export_map(self->fd, h, &dmabuf, &map));
	/* Idle: every fence of the dma-buf signalled. */
	EXPECT_EQ(1, dmabuf_ready(dmabuf, POLLOUT));
	EXPECT_EQ(1, dmabuf_fence_status(dmabuf));

	/* The job reads the fenced vgem buffer: it waits for the vgem fence. */
	cmd = ut_cmd_copy(h, 0, g.handle, 0, BO_SIZE);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &cmd, 1, NULL, 0, 0));
	EXPECT_EQ(0, dmabuf_ready(dmabuf, POLLIN));
	EXPECT_EQ(0, dmabuf_ready(dmabuf, POLLOUT));
	EXPECT_EQ(0, dmabuf_fence_status(dmabuf));
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0));

	ASSERT_EQ(0, vgem_gated_signal(&g));
	/* SYNC_START waits for the job, the writer. */
	ASSERT_EQ(0, dmabuf_sync(dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(1, dmabuf_fence_status(dmabuf));
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0xc3));
	memset(map, 0x11, BO_SIZE);
	ASSERT_EQ(0, dmabuf_sync(dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	/* What the CPU wrote between START and END, the engine reads. */
	memset(ones, 0x11, BO_SIZE);
	ASSERT_EQ(0, ut_bo_create_map(self->fd, self->page, &hs, (void **)&sum));
	ASSERT_EQ(0, ut_checksum(self->fd, hs, 0, h, 0, BO_SIZE));
	EXPECT_EQ(ut_fnv1a(ones, BO_SIZE), *sum);
	munmap(sum, self->page);
	munmap(map, BO_SIZE);
	close(dmabuf);
	vgem_gated_fini(&g);
}

/* Export then import on the same fd gives back the same handle; twice the same dma-buf. */
TEST_F(uptr, import_same_fd_same_handle)
{
	struct stat a, b;
	int d1, d2;
	__u32 h, h2;

	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &d1));
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &d2));
	ASSERT_EQ(0, fstat(d1, &a));
	ASSERT_EQ(0, fstat(d2, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	ASSERT_EQ(0, ut_prime_import(self->fd, d1, &h2));
	EXPECT_EQ(h, h2);
	close(d1);
	close(d2);
}

/* Another fd of the device imports the same BO: what one file's job writes the other sees. */
TEST_F(uptr, import_other_fd_same_bo)
{
	struct drm_uptr_bo_info info;
	unsigned char *map = NULL;
	__u32 h, h2, h3;
	int fd2, dmabuf;

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_bo_create_map(self->fd, BO_SIZE, &h, (void **)&map));
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, ut_prime_import(fd2, dmabuf, &h2));
	ASSERT_EQ(0, ut_bo_info(fd2, h2, &info));
	/* The same object: a device BO, not a foreign import. */
	EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_DEVICE, info.kind);
	EXPECT_EQ(BO_SIZE, info.size);
	ASSERT_EQ(0, ut_fill(fd2, h2, 0, BO_SIZE, 0x77777777));
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0x77));
	/* Importing again on fd2 finds the handle it has. */
	ASSERT_EQ(0, ut_prime_import(fd2, dmabuf, &h3));
	EXPECT_EQ(h2, h3);
	close(dmabuf);
	close(fd2);
	munmap(map, BO_SIZE);
}

/* A child process gets the dma-buf over a Unix socket, imports it and runs a job; the parent sees it. */
TEST_F_TIMEOUT(uptr, import_other_process_scm_rights, 60)
{
	unsigned char *map = NULL;
	int sv[2], dmabuf;
	pid_t pid;
	__u32 h;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, ut_bo_create_map(self->fd, BO_SIZE, &h, (void **)&map));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd, buf;
		__u32 ch;

		close(sv[0]);
		/* Its own file: nothing inherited from the parent's. */
		fd = ut_open();
		buf = ut_recv_fd(sv[1]);
		if (fd < 0 || buf < 0)
			_exit(10);
		if (ut_prime_import(fd, buf, &ch))
			_exit(11);
		if (ut_fill(fd, ch, 0, BO_SIZE, 0xabababab))
			_exit(12);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, ut_send_fd(sv[0], dmabuf));
	close(dmabuf);
	ASSERT_EQ(0, ut_wait_child(pid));
	/* The child's job completed (SUBMIT_WAIT) before it exited. */
	EXPECT_EQ(-1, ut_find_not(map, BO_SIZE, 0xab));
	close(sv[0]);
	munmap(map, BO_SIZE);
}

/*
 * Exports userptr @h of @fd, imports it on a second fd, and checks that
 * the importer reads @expect (its checksum, and a mapping of the dma-buf)
 * and that what the importer writes lands in @user.
 */
static void check_userptr_export(struct __test_metadata *_metadata, int fd, __u32 h,
				 unsigned char *user, size_t size, size_t page)
{
	unsigned char *map = NULL;
	__u32 h2, hs;
	__u64 *sum = NULL;
	int fd2, dmabuf;

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_prime_export(fd, h, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
	ASSERT_EQ(0, ut_prime_import(fd2, dmabuf, &h2));
	ASSERT_EQ(0, ut_bo_create_map(fd2, page, &hs, (void **)&sum));
	ASSERT_EQ(0, ut_checksum(fd2, hs, 0, h2, 0, size));
	EXPECT_EQ(ut_fnv1a(user, size), *sum);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, ut_find_diff(map, user, size));
	/* The importer writes the user's pages. */
	map[size - 1] ^= 0xff;
	EXPECT_EQ(map[size - 1], user[size - 1]);
	munmap(map, size);
	munmap(sum, page);
	close(dmabuf);
	close(fd2);
}

/* A pinned userptr over anonymous memory is exported; the importer sees the user's bytes. */
TEST_F(uptr, pinned_anon_export)
{
	size_t size = 16 * self->page;
	unsigned char *p = ut_alloc(size);
	__u32 h;

	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 3);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	check_userptr_export(_metadata, self->fd, h, p, size, self->page);
}

/* A pinned userptr over a memfd (shmem) mapping is exported too. */
TEST_F(uptr, pinned_memfd_export)
{
	size_t size = 16 * self->page;
	unsigned char *p;
	int mfd;
	__u32 h;

	mfd = ut_memfd("uptr-prime", size);
	ASSERT_LE(0, mfd);
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	ut_pattern(p, size, 4);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	check_userptr_export(_metadata, self->fd, h, p, size, self->page);
	munmap(p, size);
	close(mfd);
}

/* A coherent userptr is never exported: its pages follow the CPU mapping. */
TEST_F(uptr, coherent_export_einval)
{
	size_t size = 4 * self->page;
	void *p = ut_alloc(size);
	int dmabuf;
	__u32 h;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, 0, &h));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	/* Nor after a job faulted its pages in. */
	ASSERT_EQ(0, ut_fill(self->fd, h, 0, size, 1));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
}

/* A READ_ONLY pinned userptr is not exported: an importer could write it. */
TEST_F(uptr, read_only_export_einval)
{
	size_t size = 4 * self->page;
	void *p = ut_alloc(size);
	int dmabuf;
	__u32 h;

	ASSERT_NE(NULL, p);
	memset(p, 1, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED | DRM_UPTR_USERPTR_READ_ONLY, &h));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
}

/*
 * Pinned pages of a file that is not shmem are not exported: a hugetlbfs
 * memfd, which a read-write pinned userptr may wrap.
 */
TEST_F(uptr, hugetlbfs_export_einval)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	size_t size = 2 * UT_MIB;
	char old[32] = "0";
	int mfd, dmabuf;
	void *p;
	__u32 h;

	ASSERT_EQ(0, ut_read_line(nr, old, sizeof(old)));
	ASSERT_EQ(0, ut_write_str(nr, "1"));
	mfd = memfd_create("uptr-prime-huge", MFD_CLOEXEC | MFD_HUGETLB);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, size));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p) {
		TH_LOG("no huge page: %s", strerror(errno));
	}
	memset(p, 2, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	munmap(p, size);
	close(mfd);
	ut_write_str(nr, old);
}

/*
 * The pinned pages decide, not the mapping: memfd pages truncated out of
 * their file after the pin belong to no file any more, and are refused.
 */
TEST_F(uptr, truncated_memfd_export_einval)
{
	size_t size = 4 * self->page;
	int mfd, dmabuf;
	void *p;
	__u32 h;

	mfd = ut_memfd("uptr-prime", size);
	ASSERT_LE(0, mfd);
	p = ut_map_file(mfd, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memset(p, 3, size);
	ASSERT_EQ(0, ut_userptr(self->fd, p, size, PINNED, &h));
	ASSERT_EQ(0, ftruncate(mfd, 0));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	munmap(p, size);
	close(mfd);
}

/* vgem's buffer imported: the engine fills it, vgem's own mapping shows it; it is a COPY source too. */
TEST_F(uptr, vgem_import_fill_copy)
{
	struct vgem_gated g = { .vgem = -1 };
	struct drm_uptr_bo_info info;
	unsigned char *map = NULL;
	__u64 off;
	__u32 h;

	ASSERT_EQ(0, vgem_gated_init(self->fd, &g, 0, false));
	ASSERT_EQ(0, ut_bo_info(self->fd, g.handle, &info));
	EXPECT_EQ((__u32)DRM_UPTR_BO_KIND_IMPORT, info.kind);
	EXPECT_EQ(BO_SIZE, info.size);
	ASSERT_EQ(0, ut_fill(self->fd, g.handle, 0, BO_SIZE, 0x3c3c3c3c));
	EXPECT_EQ(-1, ut_find_not(g.map, BO_SIZE, 0x3c));

	ut_pattern(g.map, BO_SIZE, 9);
	ASSERT_EQ(0, ut_bo_create_map(self->fd, BO_SIZE, &h, (void **)&map));
	ASSERT_EQ(0, ut_copy(self->fd, h, 0, g.handle, 0, BO_SIZE));
	EXPECT_EQ(-1, ut_find_diff(map, g.map, BO_SIZE));
	/* The import has no mmap offset on the uptr fd: map the dma-buf. */
	EXPECT_EQ(-ENODEV, ut_mmap_offset(self->fd, g.handle, &off));
	munmap(map, BO_SIZE);
	vgem_gated_fini(&g);
}

/*
 * Implicit sync both ways: a job reading a vgem buffer waits for vgem's
 * write fence on it, and the job's own fence on the vgem buffer it writes
 * is seen through vgem's dma-buf before it signals.
 */
TEST_F_TIMEOUT(uptr, vgem_implicit_sync_both_ways, 60)
{
	struct vgem_gated src = { .vgem = -1 }, dst = { .vgem = -1 };
	struct drm_uptr_cmd cmd;

	ASSERT_EQ(0, vgem_gated_init(self->fd, &src, 0x99, true));
	ASSERT_EQ(0, vgem_gated_init(self->fd, &dst, 0, false));
	EXPECT_EQ(1, dmabuf_fence_status(dst.dmabuf));

	cmd = ut_cmd_copy(dst.handle, 0, src.handle, 0, BO_SIZE);
	ASSERT_EQ(0, ut_submit_async(self->fd, 1, &cmd, 1, NULL, 0, 0));
	/* Before vgem's fence: the job waits, and vgem's side sees its fence. */
	EXPECT_EQ(-ETIME, ut_bo_wait(self->fd, dst.handle, 0));
	EXPECT_EQ(0, dmabuf_fence_status(dst.dmabuf));
	EXPECT_EQ(0, dmabuf_ready(dst.dmabuf, POLLIN));
	EXPECT_EQ(-1, ut_find_not(dst.map, BO_SIZE, 0));

	ASSERT_EQ(0, vgem_gated_signal(&src));
	ASSERT_EQ(0, ut_bo_wait(self->fd, dst.handle, 20 * SEC));
	EXPECT_EQ(1, dmabuf_fence_status(dst.dmabuf));
	EXPECT_EQ(1, dmabuf_ready(dst.dmabuf, POLLIN));
	EXPECT_EQ(-1, ut_find_not(dst.map, BO_SIZE, 0x99));
	vgem_gated_fini(&dst);
	vgem_gated_fini(&src);
}

/* vgem imports uptr's dma-buf: attached and mapped for another device. */
TEST_F(uptr, vgem_imports_uptr_bo)
{
	int vgem = ut_vgem_open();
	int dmabuf;
	__u32 h, vh;

	ASSERT_LE(0, vgem);
	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, ut_prime_import(vgem, dmabuf, &vh));
	/* The BO outlives uptr's handle and fd through vgem's import. */
	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	close(dmabuf);
	ASSERT_EQ(0, ut_gem_close(vgem, vh));
	close(vgem);
}

/* The PRIME ioctls' errnos, as the DRM core returns them. */
TEST_F(uptr, prime_errnos)
{
	int dmabuf, mfd;
	__u32 h;

	EXPECT_EQ(-ENOENT, ut_prime_export(self->fd, 999, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	EXPECT_EQ(-EINVAL, ut_prime_export(self->fd, h, 0x4, &dmabuf));
	EXPECT_EQ(-EBADF, ut_prime_import(self->fd, 1000, &h));
	mfd = memfd_create("uptr-prime", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-EINVAL, ut_prime_import(self->fd, mfd, &h));
	close(mfd);
}

/* A foreign dma-buf above DRM_UPTR_PARAM_MAX_BO_SIZE is refused before anything is allocated. */
TEST_F(uptr, import_too_big_e2big)
{
	/* vgem allocates a dumb buffer's pages only when they are used. */
	struct drm_mode_create_dumb dumb = {
		.width = 1024, .height = self->max_bo / 4096 + 1, .bpp = 32,
	};
	int vgem = ut_vgem_open();
	int dmabuf;
	__u32 h;

	ASSERT_LE(0, vgem);
	ASSERT_EQ(0, ut_ioctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &dumb));
	ASSERT_LT(self->max_bo, dumb.size);
	ASSERT_EQ(0, ut_prime_export(vgem, dumb.handle, DRM_CLOEXEC, &dmabuf));
	EXPECT_EQ(-E2BIG, ut_prime_import(self->fd, dmabuf, &h));
	close(dmabuf);
	close(vgem);
}

/* Importing a device BO counts it against the importing file's max_file_bo_mib. */
TEST_F(uptr, import_past_file_bound_enomem)
{
	const char *bound = UT_PARAM_MAX_FILE_BO_MIB;
	char old[32];
	int fd2, dmabuf = -1;
	__u32 h = 0, h2, small = 0;

	fd2 = ut_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ut_read_line(bound, old, sizeof(old)));
	ASSERT_EQ(0, ut_write_str(bound, "1"));
	EXPECT_EQ(0, ut_bo_create(self->fd, UT_MIB, &h));
	EXPECT_EQ(0, ut_bo_create(fd2, self->page, &small));
	EXPECT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC, &dmabuf));
	/* fd2 would hold 1 MiB and a page. */
	EXPECT_EQ(-ENOMEM, ut_prime_import(fd2, dmabuf, &h2));
	EXPECT_EQ(0, ut_gem_close(fd2, small));
	EXPECT_EQ(0, ut_prime_import(fd2, dmabuf, &h2));
	EXPECT_EQ(0, ut_write_str(bound, old));
	close(dmabuf);
	close(fd2);
}

/* Handle closed first, then the dma-buf; and the other way round; a mapping outlives both. */
TEST_F(uptr, lifetime_handle_and_dmabuf)
{
	struct vgem_gated g = { .vgem = -1 };
	unsigned char *map = NULL;
	int dmabuf;
	__u32 h, h2;

	/* Handle first: the dma-buf keeps the BO, and imports it again. */
	ASSERT_EQ(0, ut_bo_create(self->fd, BO_SIZE, &h));
	ASSERT_EQ(0, ut_fill(self->fd, h, 0, BO_SIZE, 0x01010101));
	ASSERT_EQ(0, ut_prime_export(self->fd, h, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
	ASSERT_EQ(0, ut_gem_close(self->fd, h));
	ASSERT_EQ(0, ut_prime_import(self->fd, dmabuf, &h2));
	ASSERT_EQ(0, ut_checksum(self->fd, h2, 0, h2, 8, 8));
	map = mmap(NULL, BO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* dma-buf first, then the handle: the mapping still holds the BO. */
	close(dmabuf);
	ASSERT_EQ(0, ut_gem_close(self->fd, h2));
	EXPECT_EQ(-1, ut_find_not(map + 16, BO_SIZE - 16, 0x01));
	munmap(map, BO_SIZE);

	/* A foreign import closed while vgem still has the buffer. */
	ASSERT_EQ(0, vgem_gated_init(self->fd, &g, 0, false));
	ASSERT_EQ(0, ut_fill(self->fd, g.handle, 0, BO_SIZE, 0x02020202));
	ASSERT_EQ(0, ut_gem_close(self->fd, g.handle));
	EXPECT_EQ(-1, ut_find_not(g.map, BO_SIZE, 0x02));
	vgem_gated_fini(&g);
}

/* An imported BO whose handle is closed while its job waits: the job still runs, then lets it go. */
TEST_F_TIMEOUT(uptr, import_closed_under_pending_job, 60)
{
	struct vgem_gated src = { .vgem = -1 }, dst = { .vgem = -1 };
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct drm_uptr_cmd cmd;

	ASSERT_EQ(0, vgem_gated_init(self->fd, &src, 0x42, true));
	ASSERT_EQ(0, vgem_gated_init(self->fd, &dst, 0, false));
	cmd = ut_cmd_copy(dst.handle, 0, src.handle, 0, BO_SIZE);
	ASSERT_EQ(0, ut_submit_async(self->fd, 0, &cmd, 1, NULL, 0, 0));
	ASSERT_EQ(0, ut_gem_close(self->fd, src.handle));
	ASSERT_EQ(0, ut_gem_close(self->fd, dst.handle));
	EXPECT_EQ(0, dmabuf_fence_status(dst.dmabuf));
	ASSERT_EQ(0, vgem_gated_signal(&src));
	/* Wait on vgem's side: the job's fence in the shared reservation. */
	ASSERT_EQ(0, ut_ioctl(dst.dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp));
	EXPECT_EQ(1, ut_sync_file_poll(exp.fd, 20000));
	EXPECT_EQ(1, dmabuf_fence_status(dst.dmabuf));
	close(exp.fd);
	EXPECT_EQ(-1, ut_find_not(dst.map, BO_SIZE, 0x42));
	vgem_gated_fini(&dst);
	vgem_gated_fini(&src);
}

TEST_HARNESS_MAIN
