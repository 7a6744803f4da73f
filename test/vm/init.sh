#!/bin/busybox sh
# shellcheck shell=dash
# init.sh: /init of the test initramfs (runs in the guest as PID 1).
# It mounts the usual file systems, runs /vm/script with $OUT=/out, prints
# the script's output and exit code between markers on the console, sends
# the files the script left in /out as a base64 tar.gz, and ends the VM.
# The markers must match run.sh.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /out /sbin /usr/bin /usr/sbin /root
/bin/busybox mount -t proc proc /proc
# hwcap.tmpfsroot on the kernel command line (run.sh --tmpfs-root): copy the
# initramfs into a tmpfs and switch_root into it, as a real node's root is.
# On the initramfs itself pivot_root(2) fails, so runc needs --no-pivot,
# and CRIU cannot checkpoint a container whose root is not a mount.
if [ -z "${HWCAP_SWITCHED:-}" ] && /bin/busybox grep -qw hwcap.tmpfsroot /proc/cmdline; then
	/bin/busybox mkdir -p /newroot
	/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
	for e in /*; do
		case $e in /proc | /newroot | /dev) continue ;; esac
		/bin/busybox cp -a "$e" /newroot/
	done
	/bin/busybox mkdir -p /newroot/proc /newroot/dev
	/bin/busybox umount /proc
	export HWCAP_SWITCHED=1
	exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root OUT=/out TERM=dumb
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Without a /dev/console in the archive the kernel gave us no stdio.
exec </dev/console >/dev/console 2>&1
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Keep kernel messages from interleaving with the marked output.
dmesg -n 1
# run.sh --module: the modules and their dependencies, in load order.
for m in /vm/modules/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || echo "init: insmod $m failed"
done
stty -onlcr 2>/dev/null
cd /
echo "@@HWCAP-VM-BEGIN@@"
sh /vm/script
rc=$?
echo "@@HWCAP-VM-END rc=$rc@@"
if [ -n "$(ls -A /out)" ]; then
	echo "@@HWCAP-VM-FILES-BEGIN@@"
	tar -C /out -czf - . | base64
	echo "@@HWCAP-VM-FILES-END@@"
fi
echo "@@HWCAP-VM-DONE@@"
sync
# QEMU runs with -no-reboot, so a reset ends it. Unlike poweroff, reboot
# needs no ACPI/PSCI power-off support in a minimal test kernel.
reboot -f
