# shellcheck shell=dash
# guest.sh: run by test/vm/run.sh as root in the guest (busybox sh under
# test/vm/init.sh); vm-check.sh prepends DENY= and LOCKDOWN=. Prints one
# "RESULT name=... pass|fail detail" line per check (see vm-check.sh).
# Raw outputs go to $OUT.
set -u
REPORT=/usr/local/libexec/hwcapreport
W=/tmp/bpfcheck
mkdir -p /sys/fs/bpf /var/log/hwcap /etc/hwcap/profiles "$W"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "mount cgroup2 failed"
mount -t bpf bpf /sys/fs/bpf || echo "mount bpffs failed"
cat >/etc/hwcap/config.json <<'JSON'
{"defaultPolicy": "enforce", "runtimes": ["runc"], "runDir": "/run/hwcap",
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

# The host's words (this unmasked shell's child) and the mask to apply.
$REPORT --label host >"$W/host.txt" 2>&1
HOST=$(words "$W/host.txt" host 0 proc)
hwcapctl explain "deny:$DENY" --json >"$W/explain.json" 2>&1
# keep words: the first four "hwcapN": "0x..." lines (the "keep" object)
KEEP=$(awk -F'"' '/"hwcap[0-9]*": "0x/ {printf "%s=%s ", $2, $4; if (++n == 4) exit}' "$W/explain.json")
# expected: host & keep, word by word ("absent" stays absent)
EXPECT=''
for hw in $HOST; do
	k=${hw%%=*} v=${hw#*=}
	if [ "$v" = absent ]; then
		EXPECT="$EXPECT $k=absent"
		continue
	fi
	m=$(echo "$KEEP" | tr ' ' '\n' | sed -n "s/^$k=//p")
	EXPECT="$EXPECT $(printf '%s=0x%x' "$k" $((v & m)))"
done
EXPECT=${EXPECT# }
echo "host:   $HOST"
echo "keep:   $KEEP"
echo "expect: $EXPECT"
[ "$EXPECT" != "$HOST" ] || result setup fail "deny $DENY hides nothing on this CPU"

if [ -n "$LOCKDOWN" ]; then
	hwcapctl bpf install >"$W/install.out" 2>&1
	rc=$?
	cat "$W/install.out"
	lines=$(wc -l <"$W/install.out")
	check install.lockdown "exit $rc, $lines line(s)" -- sh -c "[ $rc = 1 ] && [ $lines = 1 ] && grep -q 'lockdown is \"integrity\"' $W/install.out"
	hwcapctl probe --json >"$W/probe.json" 2>&1
	hwcapctl probe | tee "$W/probe.txt"
	check probe.lockdown "bpf unavailable (lockdown)" -- sh -c "grep -q '^path bpf   unavailable (kernel lockdown' $W/probe.txt && grep -q 'backend none' $W/probe.txt"
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
$REPORT --label plain >"$W/plain.txt" 2>&1
got=$(words "$W/plain.txt" plain 0 stack)
check plain "stack: $got" -- [ "$got" = "$HOST" ]

hwcapctl bpf status | tee "$W/status.txt"
check status "no layout or auxv mismatch" -- sh -c "grep -q 'miss-layout=0 ' $W/status.txt && grep -q 'miss-mismatch=0 ' $W/status.txt"
cp "$W"/*.txt "$W"/*.json "$W"/*.out "$OUT/" 2>/dev/null
cp /var/log/hwcap/hwcap.log "$OUT/" 2>/dev/null
exit 0
