# SPDX-License-Identifier: MIT
#
# make          build the module and the tests
# make check    install what is missing, build, lint, run every test in the VM
# make demo     install what is missing, build, run the demonstration in the VM
# make deps     install the Debian packages the project needs
# make lint     W=1, sparse and checkpatch on kernel/
# make stress   the stress programs, for longer (UPTR_STRESS_SECONDS)
# make bench    the benchmarks in the VM

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
KVER = $(shell $(ROOT)/vm/kver)
KDIR = /lib/modules/$(KVER)/build
LINUX_SRC_TAR := $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))

DEB_PKGS := qemu-system-x86 linux-image-amd64 linux-headers-amd64 \
	busybox-static kmod cpio build-essential sparse linux-source-6.1 \
	xz-utils util-linux procps libdrm-dev

CFLAGS_USER := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread \
	-I$(ROOT)/include/uapi/drm -I/usr/include/libdrm -I$(BUILD)/kselftest
TEST_SRCS := $(sort $(wildcard tests/*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HDRS := $(wildcard tests/*.h) include/uapi/drm/uptr_drm.h

.PHONY: all module tests deps check lint demo stress bench clean

all: module tests

module:
	$(MAKE) -C $(KDIR) M=$(ROOT)/kernel modules

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

tests: $(TEST_BINS)

$(BUILD)/tests/%: tests/%.c $(TEST_HDRS) $(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_USER) -o $@ $<

deps:
	@missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

lint: $(BUILD)/checkpatch/checkpatch.pl
	$(MAKE) -C $(KDIR) M=$(ROOT)/kernel clean
	set -o pipefail; $(MAKE) -C $(KDIR) M=$(ROOT)/kernel W=1 C=1 CHECK="sparse -Wno-unknown-attribute" modules 2>&1 | tee $(BUILD)/lint.log
	@! grep -E 'warning:|error:' $(BUILD)/lint.log
	perl $(BUILD)/checkpatch/checkpatch.pl --strict --no-tree --show-types -f \
		$(filter-out %.mod.c,$(wildcard kernel/*.c)) kernel/*.h include/uapi/drm/uptr_drm.h

check: deps
	$(MAKE) all
	$(MAKE) lint
	vm/run --numa --zram 512M --timeout 1500 -- tests/run check

demo: deps
	$(MAKE) all
	vm/run -- $(BUILD)/tests/demo

# Longer stress run (UPTR_STRESS_SECONDS, default 120 here).
stress: deps
	$(MAKE) all
	UPTR_STRESS_SECONDS=$${UPTR_STRESS_SECONDS:-120} \
		vm/run --numa --zram 512M --timeout 3600 -- tests/run stress

# Benchmarks: ratios measured in one guest run; nothing is asserted.
bench: deps
	$(MAKE) all
	vm/run --mem 4G --timeout 1800 -- tests/run bench

clean:
	-$(MAKE) -C $(KDIR) M=$(ROOT)/kernel clean
	rm -rf $(BUILD)
