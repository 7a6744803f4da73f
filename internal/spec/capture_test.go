package spec

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/state-*.json from the live runtimes")

// TestCaptureLiveState runs each real runtime with a hook that tees its
// stdin to a file, and checks that what the runtime writes today parses
// the same way as the stored samples. With -update it replaces them.
func TestCaptureLiveState(t *testing.T) {
	stages := []string{"prestart", "createRuntime", "createContainer", "poststart", "poststop"}
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			rt := testutil.RequireRuntime(t, name)
			out := t.TempDir()
			b := testutil.NewBundle(t, "true")
			b.Spec.Annotations = map[string]string{"hwcap.dev/deny": "sve", "io.example": "x"}
			for _, st := range stages {
				b.AddHook(st, specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$0"`, filepath.Join(out, st+".json")}})
			}
			b.Write(t)
			id := testutil.ID("capture")
			if res := rt.Run(t, b, id); res.Err != nil {
				t.Fatalf("%s run: %v: %s", name, res.Err, res.Combined())
			}
			ver := runtimeVersion(t, rt.Bin)
			for _, st := range stages {
				data, err := os.ReadFile(filepath.Join(out, st+".json"))
				if err != nil {
					t.Fatal(err)
				}
				s, err := ParseState(data)
				if err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				if s.ID != id || s.Bundle != b.Dir || s.Annotations["hwcap.dev/deny"] != "sve" {
					t.Errorf("%s: state %+v", st, s)
				}
				if (name == "crun") != (s.Root != "") {
					t.Errorf("%s: root %q", st, s.Root)
				}
				if (st == "createRuntime" || st == "prestart" || st == "poststart") && s.Pid <= 1 {
					t.Errorf("%s: pid %d is not a host pid", st, s.Pid)
				}
				if *update {
					dst := filepath.Join("testdata", "state-"+name+"-"+ver+"-"+st+".json")
					if err := os.WriteFile(dst, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

func runtimeVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
	v := f[len(f)-1]
	v, _, _ = strings.Cut(v, "+")
	return v
}
