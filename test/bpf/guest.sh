# shellcheck shell=dash
# guest.sh: run by test/vm/run.sh as root in the guest (busybox sh under
# test/vm/init.sh); vm-check.sh prepends DENY= and LOCKDOWN=. Prints one
# "RESULT name=... pass|fail detail" line per check (see vm-check.sh).
# Raw outputs go to $OUT.
set -u
ARM=''
[ "$(uname -m)" != aarch64 ] || ARM=1
REPORT=/usr/local/libexec/hwcapreport
W=/tmp/bpfcheck
mkdir -p /sys/fs/bpf /var/log/hwcap /etc/hwcap/profiles "$W"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "mount cgroup2 failed"
mount -t bpf bpf /sys/fs/bpf || echo "mount bpffs failed"
cat >/etc/hwcap/config.json <<'JSON'
{"defaultPolicy": "enforce", "allowAnnotationRelax": true, "runtimes": ["runc"], "runDir": "/run/hwcap",
 "logFile": "/var/log/hwcap/hwcap.log", "profileDir": "/etc/hwcap/profiles"}
JSON
echo "kernel $(uname -r) $(uname -m); lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null || echo '?')"

result() { # result NAME pass|fail DETAIL...
	n=$1 s=$2
	shift 2
	echo "RESULT name=$n $s $*"
}
check() { # check NAME DETAIL -- COMMAND...: pass when COMMAND succeeds
	n=$1 d=$2
	shift 3
	if "$@"; then result "$n" pass "$d"; else result "$n" fail "$d"; fi
}

# words FILE LABEL DEPTH SRC: the four words of one HWCAP line of hwcapreport
words() {
	awk -v l="label=$2" -v d="depth=$3" -v s="src=$4" \
		'$1=="HWCAP" && $2==l && $3==d && $6==s {print $7, $8, $9, $10; exit}' "$1"
}

# bundle DIR ANNOTATIONS_JSON [nohooks]: a runc bundle whose init runs
# hwcapreport (child and grandchild through sh -c, then pauses) with output
# in $W/log/<DIR's name>.txt, and hwcap-hook as its only hwcap part
# (createRuntime, poststart, poststop), as examples/runc/config-hooks.json;
# with nohooks, no hook at all.
bundle() {
	d=$1
	hooks='"hooks": {"createRuntime": ['"$(hook createRuntime)"'], "poststart": ['"$(hook poststart)"'], "poststop": ['"$(hook poststop)"']},'
	[ "${3:-}" != nohooks ] || hooks=
	mkdir -p "$d/rootfs/bin" "$d/rootfs/proc" "$d/rootfs/dev" "$d/rootfs/log" "$W/log"
	cp /bin/busybox "$d/rootfs/bin/busybox"
	ln -sf busybox "$d/rootfs/bin/sh"
	cp $REPORT "$d/rootfs/hwcapreport"
	n=$(basename "$d")
	cat >"$d/config.json" <<CFG
{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
    "args": ["/bin/sh", "-c", "exec /hwcapreport --label init --children 2 --pause >/log/$n.txt 2>&1"],
    "env": ["PATH=/bin"], "noNewPrivileges": true},
  "root": {"path": "rootfs"},
  "hostname": "$n",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/log", "type": "bind", "source": "$W/log", "options": ["rbind", "rw"]}
  ],
  $hooks
  "annotations": $2,
  "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
}
CFG
}
hook() { printf '{"path": "/usr/local/bin/hwcap-hook", "args": ["hwcap-hook", "%s"], "env": ["HWCAP_CONFIG=/etc/hwcap/config.json"], "timeout": 30}' "$1"; }
# waitlines FILE N: wait until FILE has N HWCAP lines (at most 20 s)
# (grep -c prints 0 and fails on a file without such lines; nothing at all
# on a missing file.)
waitlines() {
	i=0
	while n=$(grep -c '^HWCAP' "$1" 2>/dev/null); [ "${n:-0}" -lt "$2" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# The host's words (this unmasked shell's child) and the mask to apply.
$REPORT --label host >"$W/host.txt" 2>&1
HOST=$(words "$W/host.txt" host 0 proc)
# keepof SPEC: the keep words of hwcapctl explain SPEC ("hwcap=0x.. ...").
keepof() {
	hwcapctl explain "$1" --json >"$W/explain.json" 2>&1 || return 1
	# the first four "hwcapN": "0x..." lines (the "keep" object)
	awk -F'"' '/"hwcap[0-9]*": "0x/ {printf "%s=%s ", $2, $4; if (++n == 4) exit}' "$W/explain.json"
}
# andwords WORDS KEEP: WORDS & KEEP, word by word ("absent" stays absent).
andwords() {
	r=''
	for hw in $1; do
		k=${hw%%=*} v=${hw#*=}
		if [ "$v" = absent ]; then
			r="$r $k=absent"
			continue
		fi
		m=$(echo "$2" | tr ' ' '\n' | sed -n "s/^$k=//p")
		r="$r $(printf '%s=0x%x' "$k" $((v & m)))"
	done
	echo "${r# }"
}
KEEP=$(keepof "deny:$DENY")
EXPECT=$(andwords "$HOST" "$KEEP")
echo "host:   $HOST"
echo "keep:   $KEEP"
echo "expect: $EXPECT"
[ "$EXPECT" != "$HOST" ] || result setup fail "deny $DENY hides nothing on this CPU"

if [ -n "$LOCKDOWN" ]; then
	hwcapctl bpf install >"$W/install.out" 2>&1
	rc=$?
	cat "$W/install.out"
	lines=$(wc -l <"$W/install.out")
	check install.lockdown "exit $rc, $lines line(s): $(head -n1 "$W/install.out")" -- sh -c "[ $rc = 1 ] && [ $lines = 1 ] && grep -q 'lockdown is \"integrity\"' $W/install.out"
	hwcapctl probe --json >"$W/probe.json" 2>&1
	hwcapctl probe | tee "$W/probe.txt"
	check probe.lockdown "bpf unavailable (lockdown)" -- sh -c "grep -q '^path bpf   unavailable (kernel lockdown' $W/probe.txt && grep -q 'backend none' $W/probe.txt"
	# Plain runc with the hook: enforce refuses before the container runs.
	bundle "$W/enforce" "{\"hwcap.dev/deny\": \"$DENY\"}"
	(cd "$W/enforce" && runc run -d enforce) >"$W/enforce.out" 2>&1
	rc=$?
	cat "$W/enforce.out"
	check hook.enforce "runc exit $rc, the hook's reason in its error" -- sh -c "[ $rc != 0 ] && grep -q 'cannot take effect' $W/enforce.out && grep -q 'bpf=unavailable (kernel lockdown' $W/enforce.out && [ ! -s $W/log/enforce.txt ]"
	runc delete -f enforce >/dev/null 2>&1
	# warn: it runs, unmasked, and the node log says why.
	bundle "$W/warn" "{\"hwcap.dev/deny\": \"$DENY\", \"hwcap.dev/policy\": \"warn\"}"
	(cd "$W/warn" && runc run -d warn) >"$W/warn.out" 2>&1
	waitlines "$W/log/warn.txt" 9
	got=$(words "$W/log/warn.txt" init 0 stack)
	grep '"stage":"createRuntime"' /var/log/hwcap/hwcap.log | tail -n1 >"$W/warn.log"
	check hook.warn "init stack: $got; log: $(cut -c1-200 "$W/warn.log")" -- sh -c "[ '$got' = '$HOST' ] && grep -q '\"decision\":\"warned\"' $W/warn.log && grep -q 'kernel lockdown' $W/warn.log"
	runc kill warn KILL >/dev/null 2>&1
	sleep 0.5
	runc delete -f warn >/dev/null 2>&1
	cp "$W"/*.txt "$W"/*.json "$W"/*.out "$W"/*.log "$OUT/" 2>/dev/null
	cp /var/log/hwcap/hwcap.log "$OUT/" 2>/dev/null
	exit 0
fi

hwcapctl bpf install 2>&1 | tee "$W/install.out"
check install "$(head -n1 "$W/install.out")" -- grep -q '^installed: write mode' "$W/install.out"
hwcapctl bpf install >"$W/install2.out" 2>&1
check install.again "$(head -n1 "$W/install2.out")" -- grep -q '^unchanged: write mode' "$W/install2.out"
dmesg | grep -i 'bpf_probe_write_user' | tail -n1
hwcapctl probe | tee "$W/probe.txt"
check probe "path bpf inherited, backend bpf" -- sh -c "grep -q '^path bpf   inherited' $W/probe.txt && grep -q '(backend bpf)' $W/probe.txt"

# Shim mode: the process the shim execs, its child and grandchild (sh -c).
hwcap-shim --deny "$DENY" -- $REPORT --label shim --children 2 >"$W/shim.txt" 2>&1
cat "$W/shim.txt"
for d in 0 1 2; do
	n=self
	[ $d = 1 ] && n=child
	[ $d = 2 ] && n=grandchild
	got=$(words "$W/shim.txt" shim $d stack)
	proc=$(words "$W/shim.txt" shim $d proc)
	check "shim.$n" "stack: $got; proc: $proc" -- sh -c "[ '$got' = '$EXPECT' ] && [ '$proc' = '$HOST' ]"
done
# hwcapctl features describes the words its process started with (the
# initial stack), so under the shim it lists none of the hidden features.
hwcapctl features --json >"$W/features-plain.json" 2>&1
hwcap-shim --deny "$DENY" -- hwcapctl features --json >"$W/features-masked.json" 2>&1
fok=1
for f in $(echo "$DENY" | tr , ' '); do
	grep -q "\"$f\"" "$W/features-plain.json" || fok=0
	! grep -q "\"$f\"" "$W/features-masked.json" || fok=0
done
check features "hwcapctl features under hwcap-shim --deny $DENY lists none of them; without the shim all" -- [ "$fok" = 1 ]
$REPORT --label plain >"$W/plain.txt" 2>&1
got=$(words "$W/plain.txt" plain 0 stack)
check plain "stack: $got" -- [ "$got" = "$HOST" ]

# A feature the CPU lacks cannot be added: an allow list of features this
# CPU lacks keeps none of them (hardware & allow list, in every word), and a
# raw mask of all ones leaves the hardware's words.
case $(uname -m) in aarch64) cands="uscat sme sme2" ;; *) cands="vme ring3mwait" ;; esac
absent=''
for f in $cands; do
	k=$(keepof "allow:$f") || continue
	[ -n "$k" ] || continue
	zero=$(andwords "$HOST" "$k" | tr ' ' '\n' | grep -cv -e '=0x0$' -e '=absent$')
	[ "$zero" != 0 ] || absent="$absent,$f"
done
absent=${absent#,}
if [ -z "$absent" ]; then
	result cannot-add fail "precondition: this CPU has each of $cands; name one it lacks"
else
	want=$(andwords "$HOST" "$(keepof "allow:$absent")")
	hwcap-shim --allow "$absent" -- $REPORT --label add --children 1 >"$W/add.txt" 2>&1
	got=$(words "$W/add.txt" add 0 stack)
	got1=$(words "$W/add.txt" add 1 stack)
	check cannot-add "--allow $absent (this CPU lacks them): stack $got, child $got1; want $want" -- sh -c "[ '$got' = '$want' ] && [ '$got1' = '$want' ]"
fi
raw=''
for hw in $HOST; do
	[ "${hw#*=}" = absent ] || raw="$raw,${hw%%=*}=0xffffffffffffffff"
done
hwcap-shim --mask "${raw#,}" -- $REPORT --label raw --children 1 >"$W/raw.txt" 2>&1
got=$(words "$W/raw.txt" raw 0 stack)
got1=$(words "$W/raw.txt" raw 1 stack)
check cannot-add.raw "--mask ${raw#,}: stack $got, child $got1" -- sh -c "[ '$got' = '$HOST' ] && [ '$got1' = '$HOST' ]"

# Hook-only: plain runc, hwcap-hook in config.json, nothing else of hwcap.
bundle "$W/hooked" "{\"hwcap.dev/deny\": \"$DENY\"}"
(cd "$W/hooked" && runc run -d hooked) >"$W/hooked.out" 2>&1 || cat "$W/hooked.out"
waitlines "$W/log/hooked.txt" 9
runc exec hooked /bin/sh -c '/hwcapreport --label exec --children 1 >/log/exec.txt 2>&1'
cat "$W/log/hooked.txt" "$W/log/exec.txt"
hwcapctl bpf status >"$W/status-running.txt" 2>&1
# hwcapctl inspect reads the init's stack (/proc/PID/auxv keeps the kernel's words).
hwcapctl inspect --container hooked --json >"$W/inspect.json" 2>&1
check inspect "$(tr -d ' \n' <"$W/inspect.json" | cut -c1-200)" -- sh -c "grep -q '\"from\": \"stack\"' $W/inspect.json && grep -q '\"masked\": true' $W/inspect.json && grep -q 'through the eBPF backend' $W/inspect.json"
for spec in init:0:init child:1:init grandchild:2:init exec:0:exec exec-child:1:exec; do
	n=${spec%%:*} rest=${spec#*:}
	d=${rest%%:*} l=${rest#*:}
	f=$W/log/hooked.txt
	[ "$l" = exec ] && f=$W/log/exec.txt
	got=$(words "$f" "$l" "$d" stack)
	proc=$(words "$f" "$l" "$d" proc)
	# getauxval(3) of static glibc reads the stack copy; on x86_64 glibc
	# answers AT_HWCAP itself, so only arm64 compares that view.
	gav=$EXPECT
	[ "$(uname -m)" != aarch64 ] || gav=$(words "$f" "$l" "$d" getauxval)
	check "hook.$n" "stack: $got; proc: $proc${ARM:+; getauxval: $gav}" -- sh -c "[ '$got' = '$EXPECT' ] && [ '$proc' = '$HOST' ] && [ '$gav' = '$EXPECT' ]"
done
grep '"stage":"createRuntime"' /var/log/hwcap/hwcap.log | tail -n1 >"$W/hooked.log"
check hook.log "$(cut -c1-240 "$W/hooked.log")" -- sh -c "grep -q '\"decision\":\"masked\"' $W/hooked.log && grep -q '\"backend\":\"bpf\"' $W/hooked.log"
runc kill hooked KILL
sleep 0.5
runc delete hooked
hwcapctl bpf status >"$W/status-deleted.txt" 2>&1
check hook.gc "after delete: $(grep '^cgroups:' "$W/status-deleted.txt")" -- sh -c "grep -q '^cgroups:  1 masked' $W/status-running.txt && grep -q '^cgroups:  0 masked' $W/status-deleted.txt"
# The same container without an annotation: untouched.
bundle "$W/plainctr" '{}'
(cd "$W/plainctr" && runc run -d plainctr) >"$W/plainctr.out" 2>&1 || cat "$W/plainctr.out"
waitlines "$W/log/plainctr.txt" 9
got=$(words "$W/log/plainctr.txt" init 2 stack)
check hook.unannotated "grandchild stack: $got" -- [ "$got" = "$HOST" ]
runc kill plainctr KILL
sleep 0.5
runc delete plainctr

# Wrapper mode: hwcap-runtime (wrapping runc) alone, no hook: init and
# descendants, and a process started with hwcap-runtime exec.
bundle "$W/wrapped" "{\"hwcap.dev/deny\": \"$DENY\"}" nohooks
(cd "$W/wrapped" && hwcap-runtime run -d wrapped) >"$W/wrapped.out" 2>&1 || cat "$W/wrapped.out"
waitlines "$W/log/wrapped.txt" 9
hwcap-runtime exec wrapped /bin/sh -c '/hwcapreport --label exec --children 1 >/log/wexec.txt 2>&1'
for spec in init:0:init grandchild:2:init exec:0:exec exec-child:1:exec; do
	n=${spec%%:*} rest=${spec#*:}
	d=${rest%%:*} l=${rest#*:}
	f=$W/log/wrapped.txt
	[ "$l" = exec ] && f=$W/log/wexec.txt
	got=$(words "$f" "$l" "$d" stack)
	check "wrapper.$n" "stack: $got" -- [ "$got" = "$EXPECT" ]
done
grep '"component":"hwcap-runtime"' /var/log/hwcap/hwcap.log | tail -n1 >"$W/wrapped.log"
check wrapper.log "$(cut -c1-200 "$W/wrapped.log")" -- grep -q '"backend":"bpf"' "$W/wrapped.log"
# arm64: the payload's dispatcher picks SVE or NEON from getauxval(AT_HWCAP)
# & HWCAP_SVE, like glibc's ifuncs: NEON in every masked process, and what
# the CPU has in the unmasked container.
if [ -n "$ARM" ]; then
	dispatch() { # dispatch NAME WANT COUNT FILE...: COUNT DISPATCH lines, all path=WANT
		n=$1 want=$2 cnt=$3
		shift 3
		all=$(cat "$@" 2>/dev/null | grep -c '^DISPATCH')
		bad=$(cat "$@" 2>/dev/null | grep '^DISPATCH' | grep -vc " path=$want ")
		check "$n" "$all process(es), $bad not on path=$want" -- sh -c "[ $all = $cnt ] && [ $bad = 0 ]"
	}
	unmasked=neon
	[ $(($(echo "$HOST" | sed 's/^hwcap=\([^ ]*\).*/\1/') & (1 << 22))) = 0 ] || unmasked=sve
	dispatch dispatch.unmasked "$unmasked" 4 "$W/plain.txt" "$W/log/plainctr.txt"
	dispatch dispatch.shim neon 3 "$W/shim.txt"
	dispatch dispatch.hook neon 5 "$W/log/hooked.txt" "$W/log/exec.txt"
	dispatch dispatch.wrapper neon 5 "$W/log/wrapped.txt" "$W/log/wexec.txt"
fi
hwcap-runtime kill wrapped KILL
sleep 0.5
hwcap-runtime delete wrapped

# Upgrade keeps the masks: a masked shell waits while the programs are
# replaced twice (write -> dry-run -> write); what it then execs is masked.
# The shell waits for a file, not a time: under TCG an install takes seconds.
hwcap-shim --deny "$DENY" -- sh -c "while [ ! -e $W/upgrade.go ]; do sleep 0.1; done; exec $REPORT --label upgraded" >"$W/upgraded.txt" 2>&1 &
up=$!
sleep 1
hwcapctl bpf install --dry-run >"$W/upgrade1.out" 2>&1
hwcapctl bpf install >"$W/upgrade2.out" 2>&1
touch "$W/upgrade.go"
wait $up
got=$(words "$W/upgraded.txt" upgraded 0 stack)
check upgrade "$(head -n1 "$W/upgrade1.out"); $(head -n1 "$W/upgrade2.out"); stack: $got" -- sh -c "grep -q '^upgraded: dry-run mode' $W/upgrade1.out && grep -q '^upgraded: write mode' $W/upgrade2.out && [ '$got' = '$EXPECT' ]"

hwcapctl bpf status | tee "$W/status.txt"
check status "no layout or auxv mismatch" -- sh -c "grep -q 'miss-layout=0 ' $W/status.txt && grep -q 'miss-mismatch=0 ' $W/status.txt"
cp "$W"/*.txt "$W"/*.json "$W"/*.out "$OUT/" 2>/dev/null
cp /var/log/hwcap/hwcap.log "$OUT/" 2>/dev/null
exit 0
