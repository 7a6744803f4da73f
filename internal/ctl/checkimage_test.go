package ctl

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// fixtures are real CRIU images (internal/criuimg/testdata/README.md).
var fixtures = filepath.Join("..", "criuimg", "testdata", "x86_64")

// tarGz packs a fixture directory the way podman --export does
// (checkpoint/ plus podman's own files).
func tarGz(t *testing.T, dir string, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		add("checkpoint/"+e.Name(), b)
	}
	add("config.dump", []byte("{}"))
	for name, data := range extra {
		add(name, []byte(data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckImage(t *testing.T) {
	tree := filepath.Join(fixtures, "criu-tree")
	masked := filepath.Join(fixtures, "criu-masked")
	runcImg := filepath.Join(fixtures, "runc")
	for name, tc := range map[string]struct {
		image, host string
		code        int
		verdict     string
		lines       []string
	}{
		"tree on its own host": {tree, "x86_64-host.txt", ExitOK, "identical", []string{
			"(directory, 2 task(s), amd64)", "(svepath): identical; started with hwcap=0x178bfbff,hwcap2=0x2",
			"identical: " + capture("x86_64-host.txt") + " (AMD EPYC) has exactly the features the 2 checked task(s) were started with"}},
		"tree on qemu64": {tree, "x86_64-tcg.txt", ExitFail, "incompatible", []string{
			"(svepath): incompatible", "missing here: vme ht fsgsbase",
			"lacks 3 feature(s) the checkpointed tasks were started with: vme ht fsgsbase", "SIGILL"}},
		"runc on qemu64": {runcImg, "x86_64-tcg.txt", ExitFail, "incompatible", []string{"pid 1 (svepath): incompatible"}},
		"masked on qemu64": {masked, "x86_64-tcg.txt", ExitOK, "identical", []string{
			"(maskpayload): identical; started with hwcap=0x78bfbfd,hwcap2=0x0"}},
		"masked on haswell":  {masked, "x86_64-haswell.txt", ExitOK, "superset", []string{"superset: ", "and more"}},
		"x86 image on arm64": {tree, "arm64-cpu-max.txt", ExitFail, "incompatible", []string{"incompatible: the checkpoint is for amd64", "is arm64"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.code, "check-image", tc.image, "--host", capture(tc.host))
			for _, l := range tc.lines {
				if !strings.Contains(r.stdout, l) {
					t.Errorf("stdout lacks %q:\n%s", l, r.stdout)
				}
			}
			if r.stderr != "" {
				t.Errorf("stderr %q", r.stderr)
			}
			j := mustRun(t, tc.code, "check-image", "--json", "--host", capture(tc.host), tc.image)
			rep := decode[checkImageReport](t, j.stdout)
			if rep.Verdict != tc.verdict || rep.Image != tc.image || rep.Format != "directory" || rep.Arch != "amd64" || len(rep.Tasks) == 0 {
				t.Errorf("json report %+v", rep)
			}
		})
	}
}

func TestCheckImageJSON(t *testing.T) {
	r := mustRun(t, ExitFail, "check-image", "--json", "--host", capture("x86_64-tcg.txt"), filepath.Join(fixtures, "criu-tree"))
	rep := decode[checkImageReport](t, r.stdout)
	if !reflect.DeepEqual(rep.Blocking, []string{"vme", "ht", "fsgsbase"}) || rep.HostArch != "amd64" || len(rep.Tasks) != 2 {
		t.Fatalf("report %+v", rep)
	}
	root, child := rep.Tasks[0], rep.Tasks[1]
	if child.PPID != root.PID || root.Comm != "svepath" || root.State != "alive" || root.Machine != "X86_64" ||
		root.Verdict != "incompatible" || root.Words["hwcap"] != "0x178bfbff" || root.Words["hwcap2"] != "0x2" ||
		!reflect.DeepEqual(root.Missing, []string{"vme", "ht", "fsgsbase"}) || len(root.Features) != 24 || len(root.Extra) != 0 {
		t.Errorf("tasks %+v", rep.Tasks)
	}
}

// TestCheckImageArchive: a podman-style tar.gz, from a file and from stdin.
func TestCheckImageArchive(t *testing.T) {
	data := tarGz(t, filepath.Join(fixtures, "criu-tree"), map[string]string{"spec.dump": "{}"})
	p := filepath.Join(t.TempDir(), "export.tar.gz")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, ExitFail, "check-image", p, "--host", capture("x86_64-tcg.txt"))
	if !strings.Contains(r.stdout, "(tar+gzip, 2 task(s), amd64)") || !strings.Contains(r.stdout, "vme ht fsgsbase") {
		t.Errorf("stdout %q", r.stdout)
	}
	var out, errb bytes.Buffer
	code := mainEnv(&env{stdin: bytes.NewReader(data), stdout: &out, stderr: &errb}, []string{"check-image", "-", "--host", capture("x86_64-host.txt")})
	if code != ExitOK || !strings.Contains(out.String(), "checkpoint - (tar+gzip, 2 task(s), amd64)") {
		t.Errorf("stdin: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestCheckImageBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, filepath.Join(dir, "garbage.tar"), strings.Repeat("junk", 300))
	evil := filepath.Join(dir, "evil.tar.gz")
	if err := os.WriteFile(evil, tarGz(t, filepath.Join(fixtures, "runc"), map[string]string{"checkpoint/../../etc/cron.d/x": "boom"}), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(fixtures, "criu-tree")
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"nothing":        {[]string{"check-image"}, []string{"want one CRIU image directory or checkpoint archive", "got 0"}},
		"two":            {[]string{"check-image", tree, tree}, []string{"got 2"}},
		"missing":        {[]string{"check-image", filepath.Join(dir, "nope")}, []string{"nope", "no such file"}},
		"garbage":        {[]string{"check-image", garbage}, []string{"garbage.tar", "want a tar, tar.gz or tar.zst"}},
		"empty dir":      {[]string{"check-image", empty}, []string{"empty: not a criu checkpoint: no inventory.img"}},
		"traversal":      {[]string{"check-image", evil}, []string{"evil.tar.gz", `"checkpoint/../../etc/cron.d/x": path leaves the archive`}},
		"bad host":       {[]string{"check-image", tree, "--host", garbage}, []string{"garbage.tar"}},
		"stdin twice":    {[]string{"check-image", "-", "--host", "-"}, []string{"cannot both read stdin"}},
		"unknown flag":   {[]string{"check-image", tree, "--hots", "x"}, []string{"flag provided but not defined: -hots"}},
		"a device":       {[]string{"check-image", "/dev/null"}, []string{"/dev/null", "want a CRIU image directory or a checkpoint archive file"}},
		"image is stdin": {[]string{"check-image", "-"}, []string{"-: bad checkpoint archive: empty file"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != ExitUsage || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}

// FuzzCheckImage feeds any bytes as a checkpoint archive on stdin: exit
// 0, 1 or 2, never a panic, and on 2 one stderr line.
func FuzzCheckImage(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("junk"))
	for _, d := range []string{"criu-tree", "runc"} {
		dir := filepath.Join(fixtures, d)
		f.Add(tarGzFuzz(f, dir))
	}
	host := capture("x86_64-tcg.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		var out, errb bytes.Buffer
		code := mainEnv(&env{stdin: bytes.NewReader(data), stdout: &out, stderr: &errb}, []string{"check-image", "--host", host, "-"})
		switch code {
		case ExitOK, ExitFail:
			if !strings.Contains(out.String(), "checkpoint - (") {
				t.Fatalf("exit %d without a report: %q %q", code, out.String(), errb.String())
			}
		case ExitUsage:
			if strings.Count(errb.String(), "\n") != 1 || out.Len() != 0 {
				t.Fatalf("bad input: stdout %q, stderr %q", out.String(), errb.String())
			}
		default:
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	})
}

func tarGzFuzz(f *testing.F, dir string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: "checkpoint/" + e.Name(), Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			f.Fatal(err)
		}
		tw.Write(b) //nolint:errcheck
	}
	tw.Close()
	return buf.Bytes()
}

// TestCheckImageArm64: the images of the arm64 two-guest round trip
// (test/criu/vm-roundtrip.sh): the unmasked SVE checkpoint is
// incompatible with an N1 node, naming sve; the one taken under the
// baseline profile is compatible.
func TestCheckImageArm64(t *testing.T) {
	arm := filepath.Join("..", "criuimg", "testdata", "arm64")
	r := mustRun(t, ExitFail, "check-image", filepath.Join(arm, "plain"), "--host", capture("arm64-neoverse-n1.txt"))
	if !strings.Contains(r.stdout, "(svepath): incompatible; started with hwcap=0x415ffb") ||
		!strings.Contains(r.stdout, "lacks 2 feature(s) the checkpointed tasks were started with: fcma sve\n") {
		t.Errorf("stdout %q", r.stdout)
	}
	mustRun(t, ExitFail, "check-image", filepath.Join(arm, "plain"), "--host", capture("arm64-ref-graviton2-neoverse-n1.txt"))
	r = mustRun(t, ExitOK, "check-image", filepath.Join(arm, "masked"), "--host", capture("arm64-neoverse-n1.txt"))
	if !strings.Contains(r.stdout, "superset: ") {
		t.Errorf("stdout %q", r.stdout)
	}
	// The profile the masked checkpoint ran under is what check says too.
	mustRun(t, ExitOK, "check", "--profile", filepath.Join(arm, "profile.json"), "--host", capture("arm64-neoverse-n1.txt"))
}

// TestCheckImageNodes: "where can this checkpoint be restored" over a
// Kubernetes NodeList (three Gravitons) and captures.
func TestCheckImageNodes(t *testing.T) {
	arm := filepath.Join("..", "criuimg", "testdata", "arm64")
	list := filepath.Join("..", "node", "testdata", "nodelist-graviton.json")
	n1 := "node/ip-10-0-1-17.eu-west-1.compute.internal"

	// The SVE checkpoint: not on the Graviton 2 (N1), on the other two.
	r := mustRun(t, ExitOK, "check-image", "--nodes", list, filepath.Join(arm, "unmasked"))
	for _, want := range []string{"  incompatible " + n1 + " (lacks fcma sve)\n", "  superset     node/ip-10-0-2-41.eu-west-1.compute.internal\n", "restorable on 2 of 3 node(s)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// Masked with the baseline: everywhere.
	rep := decode[checkImageNodesReport](t, mustRun(t, ExitOK, "check-image", "--json", "--nodes", list, filepath.Join(arm, "wrapped")).stdout)
	if rep.Restorable != 3 || len(rep.Nodes) != 3 || rep.Arch != "arm64" || rep.Format != "directory" {
		t.Errorf("report %+v", rep)
	}
	// Nowhere: exit 1. Another architecture counts as a node that cannot.
	r = mustRun(t, ExitFail, "check-image", "--nodes", capture("arm64-neoverse-n1.txt"), "--nodes", capture("x86_64-host.txt"), filepath.Join(arm, "unmasked"))
	if !strings.Contains(r.stdout, "restorable on 0 of 2 node(s)") || !strings.Contains(r.stdout, "(lacks arch amd64)") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// --host and --nodes together, or both on stdin with the archive.
	if r := run(t, "", "check-image", "--host", list, "--nodes", list, filepath.Join(arm, "wrapped")); r.code != ExitUsage || !strings.Contains(r.stderr, "--host and --nodes exclude each other") {
		t.Errorf("--host with --nodes: %+v", r)
	}
	if r := run(t, "", "check-image", "--nodes", "-", "-"); r.code != ExitUsage || !strings.Contains(r.stderr, "cannot both read stdin") {
		t.Errorf("stdin twice: %+v", r)
	}
}

// TestCheckImageBPFMasked: a task that hwcap's eBPF backend masked saw the
// masked words on its initial stack, while CRIU saved the kernel's copy:
// check-image judges by the stack, says so, and reminds that BPF state is
// not in the checkpoint.
func TestCheckImageBPFMasked(t *testing.T) {
	a64fx := hwcap.Words{0xfdffffff, 0x7f83ffff}
	masked := a64fx.And(hwcap.Words{0x119fff, 0})
	dir := t.TempDir()
	if err := imgtest.WriteDir(dir, imgtest.Task{PID: 1, Comm: "app", Machine: imgtest.Machine("arm64"), Words: a64fx, Stack: &masked}); err != nil {
		t.Fatal(err)
	}
	n1 := capture("arm64-neoverse-n1.txt")
	r := mustRun(t, ExitOK, "check-image", dir, "--host", n1)
	for _, want := range []string{"words from its initial stack, masked by hwcap's eBPF backend (the kernel's copy, which CRIU saved, has hwcap=0xfdffffff,hwcap2=0x7f83ffff,hwcap3=0x0,hwcap4=0x0)",
		"note: BPF state is not in a checkpoint"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	j := mustRun(t, ExitOK, "check-image", "--json", dir, "--host", n1)
	var rep checkImageReport
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if tk := rep.Tasks[0]; tk.From != "stack" || !tk.MaskedOnStack || tk.SavedWords["hwcap"] != "0xfdffffff" || tk.Words["hwcap"] != "0x119fff" {
		t.Errorf("task %+v", tk)
	}
	// Without the stack page the saved words decide, and the output says
	// what cannot be told.
	if err := os.Remove(filepath.Join(dir, "pages-1.img")); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, ExitFail, "check-image", dir, "--host", n1)
	if !strings.Contains(r.stdout, "words from CRIU's saved copy: its initial stack cannot be read (pages-1.img is not available)") {
		t.Errorf("output:\n%s", r.stdout)
	}
}
