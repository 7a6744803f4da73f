package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// shimInherits observes, on the host, whether a child of the shim gets the
// mask: the shim runs cat on /proc/self/auxv with feature f denied.
func shimInherits(t *testing.T, shim string, f hwcap.Feature) bool {
	t.Helper()
	cmd := exec.Command(shim, "--policy", "warn", "--run-dir", t.TempDir(), "--deny", f.Name, "--", "cat", "/proc/self/auxv")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("shim on the host: %v", err)
	}
	v, err := auxv.Decode(out, auxv.Native)
	if err != nil {
		t.Fatal(err)
	}
	return !v.HWCAPs().Has(f.Word, f.Bit)
}

// TestShimStaticInBareRootfs: `make build`'s hwcap-shim is static and starts
// a static program under runc and crun in a rootfs holding nothing else.
func TestShimStaticInBareRootfs(t *testing.T) {
	testutil.RequireRoot(t)
	bins := hookBinaries(t)
	shim := bins["hwcap-shim"]
	out, err := exec.Command(testutil.RequireCommand(t, "file"), "-L", shim).Output()
	if err != nil || !strings.Contains(string(out), "statically linked") {
		t.Fatalf("file %s: %s %v; want statically linked", shim, out, err)
	}
	dump := filepath.Join(t.TempDir(), "hwcapdump")
	build := exec.Command("go", "build", "-trimpath", "-o", dump, "./test/payload/hwcapdump")
	build.Dir, _ = testutil.ModuleRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build payload: %v %s", err, out)
	}
	hf, _, tab := testutil.HostFeature(t)
	name := hf.Name
	f, _ := tab.Feature(name)
	host, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	inherits := shimInherits(t, shim, f)
	want := host.HWCAPs()
	if inherits {
		want = want.AndNot(f.Words())
	}
	for _, rt := range []string{"runc", "crun"} {
		t.Run(rt, func(t *testing.T) {
			r := testutil.RequireRuntime(t, rt)
			for _, policy := range []string{"warn", "enforce"} {
				t.Run(policy, func(t *testing.T) {
					b := &testutil.Bundle{Dir: t.TempDir()}
					b.Rootfs = filepath.Join(b.Dir, "rootfs")
					for _, d := range []string{"proc", "dev", "sys"} {
						if err := os.MkdirAll(filepath.Join(b.Rootfs, d), 0o755); err != nil {
							t.Fatal(err)
						}
					}
					testutil.CopyFile(t, shim, filepath.Join(b.Rootfs, "hwcap-shim"), 0o755)
					testutil.CopyFile(t, dump, filepath.Join(b.Rootfs, "hwcapdump"), 0o755)
					b.Spec = testutil.DefaultSpec("/hwcap-shim", "--policy", policy, "--deny", name, "--", "/hwcapdump")
					b.Spec.Root.Readonly = true
					b.Write(t)
					entries, _ := os.ReadDir(b.Rootfs)
					if len(entries) != 5 {
						t.Fatalf("rootfs has %d entries, want only proc, dev, sys and the two binaries", len(entries))
					}
					res := r.Run(t, b, testutil.ID("shim-"+policy))
					if policy == "enforce" && !inherits {
						if res.Err == nil || !strings.Contains(res.Stderr, "refusing to start /hwcapdump under policy enforce") {
							t.Fatalf("enforce on a kernel without inheritance: err=%v stderr=%q; want the refusal", res.Err, res.Stderr)
						}
						if strings.Contains(res.Stdout, "hwcap=") {
							t.Error("payload ran although the shim refused")
						}
						return
					}
					if res.Err != nil {
						t.Fatalf("run: %v", res.Err)
					}
					var wantOut bytes.Buffer
					for i := range want {
						fmt.Fprintf(&wantOut, "self %s=0x%x\n", hwcap.WordName[i], want[i])
					}
					if res.Stdout != wantOut.String() {
						t.Errorf("payload printed\n%s\nwant (inherits=%v)\n%s", res.Stdout, inherits, wantOut.String())
					}
				})
			}
		})
	}
}
