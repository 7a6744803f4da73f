# shellcheck shell=dash
# bench-guest.sh: run by test/vm/run.sh as root in a stock-kernel guest
# (busybox sh under test/vm/init.sh); bench.sh prepends DENY=, ROUNDS=,
# N_EXEC= and N_RUNC=. Prints one line per measurement, nanoseconds:
#   BENCH exec round=R none=NS unmasked=NS masked=NS
#     mean fork+execve+wait of a static no-op, N_EXEC in a row (after 50
#     untimed ones of the same case): without the
#     eBPF programs, with them (this process not masked), and with them
#     from a process masked with hwcap-shim --deny DENY (every child
#     inherits the mask, every exec rewrites its stack words)
#   BENCH runc pair=I plain=NS hook=NS masked=NS
#     one `runc run` of the no-op container: plain (no hook), with
#     hwcap-hook in config.json but no annotation, and with the hook and
#     hwcap.dev/deny (hook-only masking on the eBPF backend)
#   BENCH prog kind=unmasked|masked exec_cnt=N exec_ns=T fork_cnt=N fork_ns=T
#     the kernel's run-time statistics of hwcap_exec and hwcap_fork
#     (kernel.bpf_stats_enabled) over N_EXEC fork+execs from an unmasked,
#     then from a masked process: the programs' own cost per call
# The order inside a round or pair alternates, so slow drift of a shared
# machine falls on both sides.
set -u
FE=/usr/local/libexec/forkexec
PS=/usr/local/libexec/progstats
WARM=50
NOP=/usr/local/libexec/nop
W=/tmp/bench
mkdir -p /sys/fs/bpf /var/log/hwcap /etc/hwcap/profiles "$W"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "mount cgroup2 failed"
mount -t bpf bpf /sys/fs/bpf || echo "mount bpffs failed"
cat >/etc/hwcap/config.json <<'JSON'
{"defaultPolicy": "enforce", "runtimes": ["runc"], "runDir": "/run/hwcap",
 "logFile": "/var/log/hwcap/hwcap.log", "profileDir": "/etc/hwcap/profiles"}
JSON
echo "kernel $(uname -r) $(uname -m); $(grep -c ^processor /proc/cpuinfo) cpu(s)"
fail() { echo "BENCH-ERROR $*" >&2; exit 1; }

hwcapctl bpf install >/dev/null 2>&1 || fail "hwcapctl bpf install failed"
hwcap-shim --deny "$DENY" -- "$FE" loop 20 "$NOP" >/dev/null || fail "the masked loop failed (hwcap-shim --deny $DENY)"
hwcapctl bpf remove >/dev/null 2>&1 || fail "hwcapctl bpf remove failed"
"$FE" loop 20 "$NOP" >/dev/null || fail "forkexec loop failed"

# Each timed loop follows an untimed one of the same case: after an install
# or remove (the verifier's run, new JIT code) an emulated CPU translates
# the kernel's paths again, which would fall on whichever case came next.
none() { "$FE" loop "$WARM" "$NOP" >/dev/null && "$FE" loop "$N_EXEC" "$NOP"; }
unmasked() { none; }
masked() { hwcap-shim --deny "$DENY" -- sh -c "$FE loop $WARM $NOP >/dev/null && exec $FE loop $N_EXEC $NOP"; }
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		n=$(none)
		hwcapctl bpf install >/dev/null 2>&1 || fail "install (round $r)"
		u=$(unmasked)
		m=$(masked)
		hwcapctl bpf remove >/dev/null 2>&1 || fail "remove (round $r)"
	else
		hwcapctl bpf install >/dev/null 2>&1 || fail "install (round $r)"
		m=$(masked)
		u=$(unmasked)
		hwcapctl bpf remove >/dev/null 2>&1 || fail "remove (round $r)"
		n=$(none)
	fi
	echo "BENCH exec round=$r none=$n unmasked=$u masked=$m"
	r=$((r + 1))
done

# The programs' own cost per call, from the kernel's BPF statistics.
hwcapctl bpf install >/dev/null 2>&1 || fail "install (prog)"
echo 1 >/proc/sys/kernel/bpf_stats_enabled || fail "cannot enable kernel.bpf_stats_enabled"
snap() { "$PS" /sys/fs/bpf/hwcap/link_exec /sys/fs/bpf/hwcap/link_fork || fail "progstats failed"; }
get() { # get SNAP LINK FIELD
	echo "$1" | sed -n "s|^/sys/fs/bpf/hwcap/$2 .*$3=\([0-9]*\).*|\1|p"
}
masked_count() { hwcapctl bpf status | sed -n 's/.*exec-masked=\([0-9]*\).*/\1/p'; }
prog() { # prog KIND SNAP0 SNAP1
	echo "BENCH prog kind=$1 exec_cnt=$(($(get "$3" link_exec run_cnt) - $(get "$2" link_exec run_cnt))) exec_ns=$(($(get "$3" link_exec run_time_ns) - $(get "$2" link_exec run_time_ns))) fork_cnt=$(($(get "$3" link_fork run_cnt) - $(get "$2" link_fork run_cnt))) fork_ns=$(($(get "$3" link_fork run_time_ns) - $(get "$2" link_fork run_time_ns)))"
}
s0=$(snap)
"$FE" loop "$N_EXEC" "$NOP" >/dev/null
s1=$(snap)
m0=$(masked_count)
s2=$(snap)
hwcap-shim --deny "$DENY" -- "$FE" loop "$N_EXEC" "$NOP" >/dev/null
s3=$(snap)
m1=$(masked_count)
echo 0 >/proc/sys/kernel/bpf_stats_enabled
[ $((m1 - m0)) -ge "$N_EXEC" ] || fail "the masked loop was not masked: exec-masked went from $m0 to $m1 over $N_EXEC execs"
prog unmasked "$s0" "$s1"
prog masked "$s2" "$s3"

# runc run: three bundles of the same static no-op, read-only rootfs.
hook() { printf '{"path": "/usr/local/bin/hwcap-hook", "args": ["hwcap-hook", "%s"], "env": ["HWCAP_CONFIG=/etc/hwcap/config.json"], "timeout": 30}' "$1"; }
HOOKS='"hooks": {"createRuntime": ['"$(hook createRuntime)"'], "poststart": ['"$(hook poststart)"'], "poststop": ['"$(hook poststop)"']},'
bundle() { # bundle NAME HOOKS ANNOTATIONS
	mkdir -p "$W/$1/rootfs/proc" "$W/$1/rootfs/dev"
	cp "$NOP" "$W/$1/rootfs/nop"
	cat >"$W/$1/config.json" <<CFG
{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["/nop"], "env": ["PATH=/"], "noNewPrivileges": true},
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "$1",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
  $2
  "annotations": $3,
  "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
}
CFG
}
bundle plain "" '{}'
bundle hook "$HOOKS" '{}'
bundle masked "$HOOKS" "{\"hwcap.dev/deny\": \"$DENY\"}"
hwcapctl bpf install >/dev/null 2>&1 || fail "install (runc)"
one() { # one KIND I: nanoseconds of one runc run
	(cd "$W/$1" && "$FE" time /usr/sbin/runc run "$1-$2" </dev/null 2>"$W/$1.err") || fail "runc run $1-$2: $(tail -n1 "$W/$1.err")"
}
for k in plain hook masked; do one "$k" 0 >/dev/null; done
i=1
while [ "$i" -le "$N_RUNC" ]; do
	if [ $((i % 2)) = 1 ]; then
		p=$(one plain "$i") h=$(one hook "$i") m=$(one masked "$i")
	else
		m=$(one masked "$i") h=$(one hook "$i") p=$(one plain "$i")
	fi
	echo "BENCH runc pair=$i plain=$p hook=$h masked=$m"
	i=$((i + 1))
done
grep -c '"decision":"masked"' /var/log/hwcap/hwcap.log | sed 's/^/masked decisions in the node log: /'
hwcapctl bpf status | grep -E '^(counters|tasks|cgroups):'
