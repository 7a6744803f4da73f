package vm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// run executes one of the scripts here and returns its exit code and
// stderr. Scripts print progress on stderr; the test log shows it.
func run(t *testing.T, script string, args ...string) (int, string) {
	t.Helper()
	res := testutil.Run(t, testutil.Cmd{Argv: append([]string{"./" + script}, args...), Timeout: scriptTimeout})
	if res.Code < 0 {
		t.Fatalf("%s: %s", script, res.Report())
	}
	return res.Code, res.Combined()
}

// scriptTimeout bounds one script: a cold cache downloads a kernel, and
// QEMU's own --timeout bounds each guest.
const scriptTimeout = 15 * time.Minute

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "guest.sh")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunOutputFilesAndAdd boots each architecture once: a file given with
// --add is in the guest, the script's output comes back between the
// markers, and binary files it leaves in $OUT come back byte for byte.
func TestRunOutputFilesAndAdd(t *testing.T) {
	for _, tc := range []struct{ arch, cpu, machine string }{
		{"amd64", "", "x86_64"},
		{"arm64", "neoverse-n1", "aarch64"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			host := t.TempDir()
			payload := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '\r'}, 1000)
			if err := os.MkdirAll(filepath.Join(host, "data", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(host, "data", "sub", "blob"), payload, 0o644); err != nil {
				t.Fatal(err)
			}
			script := writeScript(t, `set -e
echo "machine=$(uname -m)"
echo 'quoted "text" with $dollar'
cp /opt/data/sub/blob "$OUT/blob"
mkdir -p "$OUT/nested/dir"
echo deep >"$OUT/nested/dir/file"
`)
			out := t.TempDir()
			args := []string{"--arch", tc.arch, "--script", script, "--out", out, "--add", filepath.Join(host, "data") + ":/opt/data", "--timeout", "240"}
			if tc.cpu != "" {
				args = append(args, "--cpu", tc.cpu)
			}
			if code, _ := run(t, "run.sh", args...); code != 0 {
				t.Fatalf("run.sh exited %d", code)
			}
			want := "machine=" + tc.machine + "\nquoted \"text\" with $dollar\n"
			if got := readFile(t, filepath.Join(out, "output.txt")); got != want {
				t.Errorf("output.txt = %q, want %q", got, want)
			}
			if got := strings.TrimSpace(readFile(t, filepath.Join(out, "rc"))); got != "0" {
				t.Errorf("rc = %q", got)
			}
			if got := readFile(t, filepath.Join(out, "files", "blob")); got != string(payload) {
				t.Errorf("files/blob: %d bytes differ from the %d sent", len(got), len(payload))
			}
			if got := readFile(t, filepath.Join(out, "files", "nested", "dir", "file")); got != "deep\n" {
				t.Errorf("files/nested/dir/file = %q", got)
			}
			if s := readFile(t, filepath.Join(out, "seconds")); s == "" {
				t.Error("no boot time recorded")
			}
		})
	}
}

func TestRunScriptFailure(t *testing.T) {
	out := t.TempDir()
	script := writeScript(t, "echo before\nexit 7\n")
	code, stderr := run(t, "run.sh", "--arch", "amd64", "--script", script, "--out", out, "--timeout", "240")
	if code != 1 || !strings.Contains(stderr, "exited 7") {
		t.Errorf("exit %d, stderr %q; want 1 and \"exited 7\"", code, stderr)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "rc"))); got != "7" {
		t.Errorf("rc = %q, want 7", got)
	}
	if got := readFile(t, filepath.Join(out, "output.txt")); got != "before\n" {
		t.Errorf("output.txt = %q", got)
	}
}

func TestRunTimeout(t *testing.T) {
	out := t.TempDir()
	script := writeScript(t, "echo started\nsleep 600\n")
	start := time.Now()
	code, stderr := run(t, "run.sh", "--arch", "amd64", "--script", script, "--out", out, "--timeout", "20")
	if code != 124 || !strings.Contains(stderr, "timeout") {
		t.Errorf("exit %d, stderr %q; want 124 and a timeout message", code, stderr)
	}
	if d := time.Since(start); d > 90*time.Second {
		t.Errorf("took %v for a 20 s timeout", d)
	}
}

// TestRunPanic: a kernel that cannot start /init panics; with panic=-1 and
// -no-reboot QEMU exits and run.sh reports the missing marker as a panic.
func TestRunPanic(t *testing.T) {
	out := t.TempDir()
	script := writeScript(t, "echo unreachable\n")
	code, stderr := run(t, "run.sh", "--arch", "amd64", "--script", script, "--out", out,
		"--timeout", "240", "--append", "rdinit=/does-not-exist")
	if code != 2 || !strings.Contains(stderr, "panicked") {
		t.Errorf("exit %d, stderr %q; want 2 and \"panicked\"", code, stderr)
	}
}

// TestBadUsage: each bad input gives one line naming it, before any boot.
func TestBadUsage(t *testing.T) {
	script := writeScript(t, "true\n")
	out := t.TempDir()
	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown arch":   {[]string{"--arch", "sparc", "--script", script, "--out", out}, `--arch "sparc": unknown architecture`},
		"no arch":        {[]string{"--script", script, "--out", out}, "--arch is required"},
		"missing script": {[]string{"--arch", "amd64", "--script", "/nonexistent", "--out", out}, `--script "/nonexistent": no such file`},
		"bad timeout":    {[]string{"--arch", "amd64", "--script", script, "--out", out, "--timeout", "10s"}, `--timeout "10s"`},
		"bad mem":        {[]string{"--arch", "amd64", "--script", script, "--out", out, "--mem", "lots"}, `--mem "lots"`},
		"bad cpu":        {[]string{"--arch", "arm64", "--script", script, "--out", out, "--cpu", "max;reboot"}, `--cpu "max;reboot"`},
		"missing value":  {[]string{"--arch", "amd64", "--script"}, "--script needs a value"},
		"unknown flag":   {[]string{"--arch", "amd64", "--frobnicate"}, `unknown argument "--frobnicate"`},
		"bad add":        {[]string{"--arch", "amd64", "--script", script, "--out", out, "--add", "nocolon"}, `--add "nocolon": want SRC:DST`},
		"add missing":    {[]string{"--arch", "amd64", "--script", script, "--out", out, "--add", "/nonexistent:/x"}, `"/nonexistent" does not exist`},
		"missing kernel": {[]string{"--arch", "amd64", "--script", script, "--out", out, "--kernel", "/nonexistent"}, `--kernel "/nonexistent": no such file`},
		"share on amd64": {[]string{"--arch", "amd64", "--script", script, "--out", out, "--share", out + ":img"}, `only for --arch arm64`},
		"share bad tag":  {[]string{"--arch", "arm64", "--script", script, "--out", out, "--share", out + ":Bad Tag"}, `want DIR:TAG`},
		"share no dir":   {[]string{"--arch", "arm64", "--script", script, "--out", out, "--share", "/nonexistent:img"}, `want DIR:TAG with an existing DIR`},
		"unknown stock":  {[]string{"--arch", "amd64", "--script", script, "--out", out, "--stock", "9.9"}, `--stock "9.9": no amd64 kernel of that name in`},
		"stock and pkg":  {[]string{"--arch", "amd64", "--script", script, "--out", out, "--stock", "6.1", "--kernel-pkg", "linux-image-amd64"}, `give one of --stock, --kernel-pkg and --kernel`},
		"module, kernel": {[]string{"--arch", "amd64", "--script", script, "--out", out, "--kernel", script, "--module", "9p"}, `--module needs the kernel's package`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, stderr := run(t, "run.sh", tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q; want one line containing %q", stderr, tc.want)
			}
		})
	}
	if code, stderr := run(t, "capture-auxv.sh", "--check", "arm64-neoverse-v9"); code != 1 || !strings.Contains(stderr, `capture "arm64-neoverse-v9": unknown name`) {
		t.Errorf("capture-auxv.sh unknown name: exit %d, %q", code, stderr)
	}
}

// TestCapturesReproduce boots every captured configuration again and
// checks that the AT_HWCAP* words match the committed sidecars.
func TestCapturesReproduce(t *testing.T) {
	if code, _ := run(t, "capture-auxv.sh", "--check"); code != 0 {
		t.Fatalf("capture-auxv.sh --check exited %d", code)
	}
}

// TestStockKernels: every line of stock-kernels names a kernel for both
// architectures, once, as PACKAGE=VERSION, with a modules package or "-".
func TestStockKernels(t *testing.T) {
	seen := map[string]bool{}
	names := map[string]int{}
	for i, line := range strings.Split(readFile(t, "stock-kernels"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 4 {
			t.Errorf("line %d: %d fields, want NAME ARCH PACKAGE=VERSION MODULES: %q", i+1, len(f), line)
			continue
		}
		name, arch, pkg, mods := f[0], f[1], f[2], f[3]
		if arch != "amd64" && arch != "arm64" {
			t.Errorf("line %d: arch %q", i+1, arch)
		}
		p, v, ok := strings.Cut(pkg, "=")
		if !ok || !strings.HasPrefix(p, "linux-image-") || !strings.HasSuffix(p, "-"+arch) || v == "" {
			t.Errorf("line %d: package %q: want linux-image-...-%s=VERSION", i+1, pkg, arch)
		}
		if mods != "-" && !strings.Contains(mods, "=") {
			t.Errorf("line %d: modules %q: want - or PACKAGE=VERSION", i+1, mods)
		}
		if seen[name+" "+arch] {
			t.Errorf("line %d: %s %s twice", i+1, name, arch)
		}
		seen[name+" "+arch] = true
		names[name]++
	}
	for _, want := range []string{"6.1", "6.12", "7.3"} {
		if names[want] != 2 {
			t.Errorf("kernel %s: %d lines, want one per architecture", want, names[want])
		}
	}
}

// TestModules: modules.sh puts dependencies first, each once, skips
// built-in ones, decompresses .ko.xz, and names a missing module.
func TestModules(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib/modules/1.0")
	mod := func(path, depends string) {
		t.Helper()
		p := filepath.Join(dir, "kernel", path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// What matters of a module here: its .modinfo strings, NUL-separated.
		body := "\x7fELF\x00license=GPL\x00depends=" + depends + "\x00vermagic=1.0 SMP\x00"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mod("fs/9p/9p.ko", "9pnet,netfs")
	mod("net/9p/9pnet.ko", "")
	mod("fs/netfs/netfs.ko", "fscache-lib")
	mod("fs/fscache-lib.ko", "")
	mod("net/9p/9pnet_virtio.ko", "9pnet,virtio_ring")
	mod("loop/a.ko", "b")
	mod("loop/b.ko", "a")
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/virtio/virtio_ring.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := testutil.Run(t, testutil.Cmd{Argv: []string{"xz", filepath.Join(dir, "kernel/fs/9p/9p.ko")}}); res.Err != nil {
		t.Fatalf("%s", res.Report())
	}
	out := t.TempDir()
	if code, stderr := run(t, "modules.sh", "--dir", dir, "--out", out, "9p", "9pnet_virtio"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := "10-9pnet.ko 11-fscache_lib.ko 12-netfs.ko 13-9p.ko 14-9pnet_virtio.ko"
	if strings.Join(got, " ") != want {
		t.Errorf("modules %q, want %q", strings.Join(got, " "), want)
	}
	if b := readFile(t, filepath.Join(out, "13-9p.ko")); !strings.Contains(b, "depends=9pnet,netfs") {
		t.Errorf("9p.ko not decompressed: %q", b)
	}
	for args, msg := range map[string]string{
		"nosuch": `module "nosuch": not in`,
		"a":      "circular dependency",
		"bad/x":  `module "bad/x": not a module name`,
	} {
		code, stderr := run(t, "modules.sh", "--dir", dir, "--out", out, args)
		if code != 1 || !strings.Contains(stderr, msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("modules.sh %s: exit %d, %q; want exit 1 and one line with %q", args, code, stderr, msg)
		}
	}
}
