# SPDX-License-Identifier: MIT
#
# make               build the module (for UPTR_KERNEL) and the tests
# make check         install what is missing, build, lint, run every test
#                    in the VM on Debian 12's 6.1
# make check-6.12    the same suite on Debian's 6.12 (check-6.12-rt: its
#                    PREEMPT_RT flavour)
# make check-debug   the same suite on a lockdep/KASAN/DEBUG_VM/DMA-API
#                    debug build of 6.1 (built once, then cached)
# make demo          install what is missing, build, run the demonstration
# make deps          install the Debian packages the project needs (tools
#                    only: guest kernels go to a cache, see vm/kernel)
# make lint          W=1, sparse (on 6.1 and 6.12), checkpatch, shellcheck
# make stress        the stress programs, for longer (UPTR_STRESS_SECONDS)
# make bench         the benchmarks in the VM
# make install       libuptr, the uptr command, the headers, the man pages
#                    and libuptr.pc (PREFIX, DESTDIR)
# make deb           a uptr-dkms package that builds the module for the
#                    kernels of the machine it is installed on
# make check-deb     build, install and remove that package, with DKMS
#                    builds against the cached 6.1 and 6.12 trees

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
UPTR_KERNEL ?= 6.1
export UPTR_KERNEL
KDIR = $(shell $(ROOT)/vm/kernel dir $(1))/build
KMOD = $(BUILD)/kmod/$(1)
LINUX_SRC_TAR := $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))
PREFIX ?= /usr/local

# Tools only: no kernel image or headers are installed on the host.
DEB_PKGS := qemu-system-x86 busybox-static kmod cpio build-essential sparse \
	linux-source-6.1 xz-utils zstd util-linux procps libdrm-dev e2fsprogs \
	flex bison bc libelf-dev libssl-dev dwarves dkms dpkg-dev shellcheck \
	libibverbs-dev ibverbs-providers iproute2

CFLAGS_USER := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread \
	-I$(ROOT)/include/uapi/drm -I/usr/include/libdrm -I$(BUILD)/kselftest
TEST_SRCS := $(sort $(filter-out tests/lib_%.c,$(wildcard tests/*.c)))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
LIBTEST_SRCS := $(sort $(wildcard tests/lib_*.c))
LIBTEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(LIBTEST_SRCS))
# Programs run through tests/ktap1 (one KTAP result from an exit status).
WRAPPED_TESTS := $(BUILD)/tests/uptr_demo $(BUILD)/tests/lib_example

# libuptr (MIT): shared and static, only uptr_* exported (version script
# and -fvisibility=hidden).  Programs linked against it find the shared
# library next to them through an $$ORIGIN rpath, in the tree and in the
# guest alike.
LIB_SO_VERSION := 1.0.0
LIB_SRCS := lib/uptr.c lib/uptr_cache.c lib/uptr_notify.c
LIB_HDRS := lib/uptr.h lib/uptr_int.h include/uapi/drm/uptr_drm.h
LIB_OBJS := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_SO := $(BUILD)/lib/libuptr.so.$(LIB_SO_VERSION)
LIB_A := $(BUILD)/lib/libuptr.a
LIBDRM_CFLAGS := $(shell pkg-config --cflags libdrm)
LIBDRM_LIBS := $(shell pkg-config --libs libdrm)
CFLAGS_LIB := -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -fPIC \
	-fvisibility=hidden -I$(ROOT)/include/uapi -I$(ROOT)/lib $(LIBDRM_CFLAGS)
CFLAGS_LIBUSER = $(CFLAGS_USER) -I$(ROOT)/include/uapi -I$(ROOT)/lib
LDFLAGS_LIBUSER = -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' -luptr $(LIBDRM_LIBS) -pthread
TEST_HDRS := $(wildcard tests/*.h) include/uapi/drm/uptr_drm.h
KERNEL_SRCS := $(filter-out %.mod.c,$(wildcard kernel/*.c)) $(wildcard kernel/*.h) kernel/Kbuild

# The suite's boot: two NUMA nodes, zram swap.  The debug kernel is about
# 3x slower and needs more memory for KASAN's shadow: its time bounds
# scale from UPTR_TIME_SCALE, in the runner and in every test.
VM_CHECK := --numa --zram 512M --param job_timeout_ms=300000
DEBUG_ENV := UPTR_TIME_SCALE=3

.PHONY: all module lib tools lib-check doc-check tests deps check check-6.12 check-6.12-rt check-debug \
	check-deb check-bench lint demo stress bench install deb clean

all: module lib tools tests

# The module of kernel K is built from a copy of kernel/ in build/kmod/K,
# so that builds for different kernels never share objects.
module-%: $(KERNEL_SRCS)
	@mkdir -p $(call KMOD,$*)
	cp -p $(KERNEL_SRCS) $(call KMOD,$*)/
	$(MAKE) -C $(call KDIR,$*) M=$(call KMOD,$*) UPTR_UAPI=$(ROOT)/include/uapi modules

module: module-$(UPTR_KERNEL)

# Headers and scripts that ship inside Debian's linux-source-6.1 tarball;
# extracted at build time, never committed.
$(BUILD)/kselftest/kselftest_harness.h:
	@test -n "$(LINUX_SRC_TAR)" || { echo "linux-source-6.1 missing: run 'make deps'" >&2; exit 1; }
	mkdir -p $(BUILD)/kselftest
	tar -xJf $(LINUX_SRC_TAR) -C $(BUILD)/kselftest --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch $@

$(BUILD)/checkpatch/checkpatch.pl:
	@test -n "$(LINUX_SRC_TAR)" || { echo "linux-source-6.1 missing: run 'make deps'" >&2; exit 1; }
	mkdir -p $(BUILD)/checkpatch
	tar -xJf $(LINUX_SRC_TAR) -C $(BUILD)/checkpatch --strip-components=2 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch $@

lib: $(LIB_SO) $(LIB_A) $(BUILD)/lib/libuptr.pc

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDRS)
	@mkdir -p $(BUILD)/lib
	$(CC) $(CFLAGS_LIB) -c -o $@ $<

$(LIB_SO): $(LIB_OBJS) lib/libuptr.map
	$(CC) -shared -Wl,-soname,libuptr.so.1 -Wl,--version-script=lib/libuptr.map \
		-Wl,--no-undefined -o $@ $(LIB_OBJS) $(LIBDRM_LIBS) -pthread
	ln -sf libuptr.so.$(LIB_SO_VERSION) $(BUILD)/lib/libuptr.so.1
	ln -sf libuptr.so.1 $(BUILD)/lib/libuptr.so

$(LIB_A): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/lib/libuptr.pc: lib/libuptr.pc.in Makefile
	@mkdir -p $(BUILD)/lib
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIB_SO_VERSION)|' $< >$@

# The shared library exports uptr_* and nothing else.
lib-check: $(LIB_SO)
	@bad=$$(nm -D --defined-only $(BUILD)/lib/libuptr.so.1 | awk '$$3 !~ /^uptr_/ && $$3 != "UPTR_1.0" { print $$3 }'); \
	if [ -n "$$bad" ]; then echo "libuptr.so.1 exports symbols outside uptr_*: $$bad" >&2; exit 1; fi; \
	echo "libuptr.so.1: $$(nm -D --defined-only $(BUILD)/lib/libuptr.so.1 | grep -c ' uptr_') symbols, all uptr_*"

# The example in docs/libuptr.md is lib/examples/example.c, verbatim.
doc-check:
	@awk '/^```c$$/ { f = 1; next } /^```$$/ { f = 0 } f' docs/libuptr.md | \
		diff -u lib/examples/example.c - >/dev/null || \
		{ echo "docs/libuptr.md: its example differs from lib/examples/example.c" >&2; exit 1; }

tools: $(BUILD)/tools/uptr $(BUILD)/lib/examples/example

# The uptr command: one source per subcommand or unit.  tools/stress.c is
# also the engine of tests/stress_coherent, tools/fdinfo.c the parser
# tests/tool_top tests on fixed text.
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_HDRS := $(wildcard tools/*.h) lib/uptr.h include/uapi/drm/uptr_drm.h

$(BUILD)/tools/uptr: $(TOOL_SRCS) $(TOOL_HDRS) $(LIB_SO)
	@mkdir -p $(BUILD)/tools
	$(CC) $(CFLAGS_LIBUSER) -o $@ $(TOOL_SRCS) $(LDFLAGS_LIBUSER) -lm

$(BUILD)/lib/examples/example: lib/examples/example.c lib/uptr.h $(LIB_SO)
	@mkdir -p $(BUILD)/lib/examples
	$(CC) $(CFLAGS_LIBUSER) -o $@ $< -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/..' -luptr

tests: $(TEST_BINS) $(LIBTEST_BINS) $(WRAPPED_TESTS) lib-check doc-check

$(BUILD)/tests/%: tests/%.c $(TEST_HDRS) $(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_USER) -o $@ $<

$(BUILD)/tests/lib_%: tests/lib_%.c $(TEST_HDRS) lib/uptr.h $(LIB_SO) $(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_LIBUSER) -o $@ $< $(LDFLAGS_LIBUSER)

# The RDMA comparison links libibverbs (rxe's provider is loaded at run time).
$(BUILD)/tests/bench_rxe: tests/bench_rxe.c $(TEST_HDRS) $(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_USER) -o $@ $< -libverbs

# Test programs that compile in a unit of the uptr command (on libuptr).
$(BUILD)/tests/stress_coherent: tests/stress_coherent.c tools/stress.c $(TOOL_HDRS) $(LIB_SO) \
		$(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_LIBUSER) -o $@ tests/stress_coherent.c tools/stress.c $(LDFLAGS_LIBUSER)

$(BUILD)/tests/tool_%: tests/tool_%.c tools/fdinfo.c $(TOOL_HDRS) $(TEST_HDRS) $(LIB_SO) \
		$(BUILD)/tools/uptr $(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_LIBUSER) -o $@ $< tools/fdinfo.c $(LDFLAGS_LIBUSER)

$(BUILD)/tests/uptr_demo: $(BUILD)/tools/uptr tests/ktap1
	@mkdir -p $(BUILD)/tests
	printf '#!/bin/sh\n# uptr demo as one KTAP test\nexec "$$(dirname "$$0")/../../tests/ktap1" uptr_demo "$$(dirname "$$0")/../tools/uptr" demo\n' >$@
	chmod +x $@

$(BUILD)/tests/lib_example: $(BUILD)/lib/examples/example tests/ktap1
	@mkdir -p $(BUILD)/tests
	printf '#!/bin/sh\n# the example of docs/libuptr.md as one KTAP test\nexec "$$(dirname "$$0")/../../tests/ktap1" lib_example "$$(dirname "$$0")/../lib/examples/example"\n' >$@
	chmod +x $@

deps:
	@missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# W=1 and sparse on a clean copy for each kernel the module supports.
lint-%: $(KERNEL_SRCS)
	rm -rf $(BUILD)/lint/$*
	mkdir -p $(BUILD)/lint/$*
	cp -p $(KERNEL_SRCS) $(BUILD)/lint/$*/
	set -o pipefail; $(MAKE) -C $(call KDIR,$*) M=$(BUILD)/lint/$* UPTR_UAPI=$(ROOT)/include/uapi \
		W=1 C=1 CHECK="sparse -Wno-unknown-attribute" modules 2>&1 | tee $(BUILD)/lint/$*.log
	@! grep -E 'warning:|error:' $(BUILD)/lint/$*.log

SCRIPTS := .ci/run tests/run tests/ktap1 vm/run vm/init.sh vm/kernel vm/selftest pkg/build-deb pkg/test-deb

lint: lint-6.1 lint-6.12 $(BUILD)/checkpatch/checkpatch.pl
	perl $(BUILD)/checkpatch/checkpatch.pl --strict --no-tree --show-types -f \
		$(filter-out %.mod.c,$(wildcard kernel/*.c)) kernel/*.h include/uapi/drm/uptr_drm.h
	shellcheck $(SCRIPTS)

check: deps
	$(MAKE) all
	$(MAKE) lint
	vm/run --kernel 6.1 $(VM_CHECK) --timeout 1500 -- tests/run check

check-6.12 check-6.12-rt: check-%: deps
	$(MAKE) module-$* tests
	vm/run --kernel $* $(VM_CHECK) --timeout 1500 -- tests/run check

check-debug: deps
	$(MAKE) module-debug tests
	$(DEBUG_ENV) vm/run --kernel debug $(VM_CHECK) --mem 3G --timeout 4500 -- tests/run check

demo: deps
	$(MAKE) all
	vm/run -- $(BUILD)/tools/uptr demo

# Longer stress run (UPTR_STRESS_SECONDS, default 120 here).
stress: deps
	$(MAKE) all
	UPTR_STRESS_SECONDS=$${UPTR_STRESS_SECONDS:-120} \
		vm/run $(VM_CHECK) --timeout 3600 -- tests/run stress

# Benchmarks: ratios measured in one guest run; nothing is asserted.
bench: deps
	$(MAKE) all
	vm/run --mem 4G --timeout 1800 -- tests/run bench

install: lib tools
	install -D -m 644 include/uapi/drm/uptr_drm.h $(DESTDIR)$(PREFIX)/include/drm/uptr_drm.h
	install -D -m 644 lib/uptr.h $(DESTDIR)$(PREFIX)/include/uptr.h
	install -D -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libuptr.so.$(LIB_SO_VERSION)
	ln -sf libuptr.so.$(LIB_SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libuptr.so.1
	ln -sf libuptr.so.1 $(DESTDIR)$(PREFIX)/lib/libuptr.so
	install -D -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/libuptr.a
	mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIB_SO_VERSION)|' lib/libuptr.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/libuptr.pc
	$(CC) $(CFLAGS_LIBUSER) -o $(BUILD)/tools/uptr.install $(TOOL_SRCS) \
		-L$(BUILD)/lib -Wl,-rpath,$(PREFIX)/lib -luptr $(LIBDRM_LIBS) -pthread -lm
	install -D -m 755 $(BUILD)/tools/uptr.install $(DESTDIR)$(PREFIX)/bin/uptr
	for m in $(wildcard man/*.1); do install -D -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m); done
	for m in $(wildcard man/*.3); do install -D -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man3/$$(basename $$m); done

deb:
	pkg/build-deb $(BUILD)/deb

check-deb: deps
	pkg/test-deb

# The bench itself: vm/run's exit statuses, parameters and module loading.
check-bench: deps
	$(MAKE) module
	vm/selftest

clean:
	rm -rf $(BUILD)
