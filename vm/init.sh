#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of vm/run.  vm/run copies this file into the initramfs as
# /init, next to /config.sh (the settings and the command, written by
# vm/run).  It runs twice:
#
#   stage 1 (no argument; PID 1; busybox sh of the initramfs):
#     load the 9p/virtio modules, mount the host's root read-only at
#     /newroot and every filesystem the guest needs under it, then run
#     stage 2 inside the chroot.  PID 1 stays in the initramfs so that
#     it can always sync and power off, whatever stage 2 does.
#
#   stage 2 ("stage2"; inside the chroot; the host's /bin/sh):
#     zram, load the module under test, run the command, save the
#     kernel log, unload the module, save the log again.
#
# Mounts and log handling use the static busybox rather than the host's
# util-linux: under TCG every exec of a dynamically linked binary over
# 9p costs a few hundred ms (libmount, libblkid, libselinux, ...).
# The command itself runs from dash, never from busybox sh, whose
# applets would shadow the host's programs ("sh", "echo", ...).
#
# Results go to files in the control share: the only channel back to
# the host besides the serial console.  vm/run treats a missing "done"
# file as a crash, so "done" is written last.

# The vm_* variables come from config.sh, written by vm/run.
# shellcheck disable=SC2154,SC1091

run=/run/uptr          # in the guest's root; a tmpfs
ctl=$run/ctl           # the per-run read-write share of the host
bb=$run/busybox        # a copy of the static busybox, for stage 2

# 9p mount options.  msize: the virtio transport caps it at 512000.
p9='trans=virtio,version=9p2000.L,msize=512000'

uptime_now() {
	read -r up _ </proc/uptime 2>/dev/null || up='?'
}
say() {
	uptime_now
	echo "vm: [$up] $*"
}
vsay() {
	[ "${vm_verbose:-0}" = 1 ] && say "$@"
	return 0
}

# put FILE VALUE: one result for the host.  The control share is
# mounted with cache=none, so the write reaches the host file at once;
# the sync is belt and braces before an abrupt power-off.
put() {
	echo "$2" >"$ctldir/$1"
	$sync_cmd
}

stage1() {
	PATH=/bin
	export PATH
	mount -t devtmpfs devtmpfs /dev
	# The initramfs has no /dev/console node, so the kernel could not
	# give us stdio: take the program's terminal, ttyS0 (the kernel's
	# console is ttyS1), now that devtmpfs provides it.
	exec </dev/ttyS0 >/dev/ttyS0 2>&1
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	. /config.sh
	ctldir=/newroot$ctl
	sync_cmd=sync

	vsay "loading 9p modules"
	while read -r m; do
		insmod "/modules/$m" || { say "FATAL: insmod $m failed"; return 1; }
	done </modules.list

	# cache=loose: the root is read-only and the run short, so caching
	# is safe, and it makes exec from 9p several times faster.
	mount -t 9p -o "$p9,ro,cache=loose" hostroot /newroot ||
		{ say "FATAL: cannot mount the host root over 9p"; return 1; }
	mount -t proc proc /newroot/proc
	mount -t sysfs sysfs /newroot/sys
	mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null
	mount -t tracefs tracefs /newroot/sys/kernel/tracing 2>/dev/null
	# DMA-API debugging stops at its first report unless told not to.
	if [ -e /newroot/sys/kernel/debug/dma-api/all_errors ]; then
		echo 1 >/newroot/sys/kernel/debug/dma-api/all_errors
	fi
	mount -t devtmpfs devtmpfs /newroot/dev
	mkdir -p /newroot/dev/pts /newroot/dev/shm
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
	# What udev would add, and what scripts expect (bash's <(...)).
	ln -s /proc/self/fd /newroot/dev/fd
	ln -s /proc/self/fd/0 /newroot/dev/stdin
	ln -s /proc/self/fd/1 /newroot/dev/stdout
	ln -s /proc/self/fd/2 /newroot/dev/stderr
	hostname uptr-vm
	ip link set lo up
	# /run is the guest's scratch space: this script, busybox, the
	# control share and TMPDIR, none of which can go on the read-only
	# root.
	mount -t tmpfs -o mode=0755 tmpfs /newroot/run
	mkdir -p "/newroot$ctl" /newroot/run/tmp
	chmod 1777 /newroot/run/tmp
	cp /init "/newroot$run/init.sh"
	cp /config.sh "/newroot$run/config.sh"
	cp /bin/busybox "/newroot$bb"
	mount -t 9p -o "$p9" uptrctl "/newroot$ctl" ||
		{ say "FATAL: cannot mount the control share"; return 1; }

	# A tmpfs on /tmp would hide the build tree or the caller's cwd if
	# they live there (VM-NOTES); vm/run decided.
	if [ "$vm_tmpfs_tmp" = 1 ]; then
		mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
	fi
	i=0
	while [ "$i" -lt "$vm_nrw" ]; do
		eval "d=\$vm_rw$i"
		# Over the same path, so the command uses its usual file
		# names and what it writes lands on the host.  cache=none:
		# the host sees every write as it happens.
		if ! mount -t 9p -o "$p9" "uptrrw$i" "/newroot$d"; then
			say "FATAL: cannot mount --rwdir $d"
			put setup_error "rwdir $d"
			put 'done' 1
			return 1
		fi
		i=$((i + 1))
	done

	vsay "entering the host root"
	chroot /newroot /bin/sh "$run/init.sh" stage2
}

savelog() {
	$bb dmesg >"$ctldir/$1" 2>&1
	$bb sync
}

# After the command, and after a setup failure too: kernel log, unload,
# kernel log again (the module reports its unload), then "done".
finish() {
	savelog dmesg-before-rmmod.txt
	if [ -n "$vm_modname" ]; then
		vsay "rmmod $vm_modname"
		$bb rmmod "$vm_modname"
		put rmmod_status $?
	fi
	savelog dmesg.txt
	put 'done' 1
}

have_render_node() {
	for f in /dev/dri/renderD*; do
		[ -e "$f" ] && return 0
	done
	return 1
}

setup_failed() {
	say "FATAL: $2"
	put setup_error "$1: $2"
	finish
	exit 1
}

# shellcheck disable=SC2120 # config.sh sets the arguments
stage2() {
	PATH=$run/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root
	TMPDIR=/run/tmp
	LC_ALL=C.UTF-8
	TERM=dumb
	export PATH HOME TMPDIR LC_ALL TERM
	ctldir=$ctl
	sync_cmd="$bb sync"
	vm_modname=

	# vm_* settings, the UPTR_* environment, "set --" of the command.
	. "$run/config.sh"

	# The guest kernel's modules live in the bench's cache, not in the
	# root's /lib/modules: a modprobe first in PATH looks there, for
	# this script and for the command alike.
	mkdir -p "$run/bin"
	printf '#!/bin/sh\nexec /sbin/modprobe -d %s "$@"\n' "'$vm_kroot'" >"$run/bin/modprobe"
	chmod 755 "$run/bin/modprobe"

	if [ -n "$vm_zram" ]; then
		vsay "zram swap of $vm_zram"
		if ! { modprobe zram num_devices=1 &&
			echo "$vm_zram" >/sys/block/zram0/disksize &&
			$bb mkswap /dev/zram0 >/dev/null &&
			$bb swapon /dev/zram0; }; then
			setup_failed zram "zram swap setup failed"
		fi
	fi

	if [ -n "$vm_module" ]; then
		vsay "loading $vm_module (needs: ${vm_module_deps:-nothing})"
		# What modinfo says the module needs, from the guest kernel's
		# own module tree (built-in ones are found in modules.builtin).
		# shellcheck disable=SC2086 # a list of module names
		if [ -n "$vm_module_deps" ]; then
			modprobe -a $vm_module_deps ||
				setup_failed module "modprobe $vm_module_deps failed"
		fi
		# shellcheck disable=SC2086 # NAME=VALUE words, checked by vm/run
		insmod "$vm_module" $vm_module_params ||
			setup_failed module "insmod $vm_module $vm_module_params failed"
		vm_modname=$vm_module_name
		# The kernel ignores unknown parameters with a mere notice:
		# a --param that is not the module's is a setup error.
		for p in $vm_module_params; do
			[ -e "/sys/module/$vm_module_name/parameters/${p%%=*}" ] ||
				setup_failed module "$vm_module_name has no parameter ${p%%=*}"
		done
		# No udev: devtmpfs creates the node from the kernel side,
		# usually at once, but give it a moment.
		n=0
		while ! have_render_node; do
			n=$((n + 1))
			[ "$n" -le 50 ] ||
				setup_failed rendernode "no /dev/dri/renderD* after loading $vm_module"
			$bb sleep 0.1
		done
	fi

	cd "$vm_cwd" || setup_failed cwd "cannot cd to $vm_cwd in the guest"
	vsay "running: $*"
	if [ "$vm_shell" = 1 ]; then
		say "guest shell: the module is loaded; 'exit' powers the guest off"
		# A session of its own with the console as controlling
		# terminal, so that job control and ^C work.
		PS1='uptr-vm:\w# ' $bb setsid -c "$@"
	else
		"$@" </dev/null
	fi
	st=$?
	cd /
	vsay "command exited $st"
	put status "$st"
	finish
}

case "${1:-}" in
stage2)
	# shellcheck disable=SC2119 # config.sh sets the arguments
	stage2
	;;
*)
	stage1
	# Reached on success and on failure alike: flush and power off.
	sync
	umount "/newroot$ctl" 2>/dev/null
	# Keep "reboot: Power down" off the console.
	dmesg -n 1
	# poweroff -f calls reboot(2) at once; the sysrq is a fallback.
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
	;;
esac
