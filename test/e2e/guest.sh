# shellcheck shell=dash
# guest.sh: the script test/vm/run.sh runs as root in each e2e guest (busybox
# sh under test/vm/init.sh, which has mounted /proc, /sys, /dev, /tmp and
# /run). e2e.sh prepends the line that sets E2E_CPU. runc needs cgroup v2 at
# /sys/fs/cgroup; e2e-guest does the rest and writes $OUT/results.jsonl.
mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 1
mkdir -p /var/log/hwcap
rc=0
e2e-guest -cpu "$E2E_CPU" -out "$OUT/results.jsonl" -logs "$OUT/containers" || rc=$?
cp /var/log/hwcap/hwcap.log "$OUT/hwcap.log" 2>/dev/null
exit "$rc"
