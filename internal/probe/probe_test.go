package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/bpf/loader"
	"github.com/hwcap/hwcap/internal/testutil"
)

func TestMain(m *testing.M) {
	MaybeChild()
	os.Exit(m.Run())
}

func TestRunReportsEveryPath(t *testing.T) {
	r, err := Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.BootID == "" || r.Kernel == "" || r.Version != resultVersion {
		t.Errorf("incomplete result %+v", r)
	}
	for _, p := range auxv.Paths {
		pr, ok := r.Paths[p]
		if !ok {
			t.Fatalf("path %s missing from %+v", p, r.Paths)
		}
		t.Logf("%s: %s %s", p, pr.Status, pr.Detail)
	}
	// A path this process cannot use must say why; one it can use must
	// have been tried (inherited or not).
	avail := map[auxv.Path]bool{}
	for _, p := range auxv.AvailablePaths() {
		avail[p] = true
	}
	for _, p := range auxv.Paths {
		pr := r.Paths[p]
		if avail[p] && pr.Status == Unavailable {
			t.Errorf("%s is available to this process but the probe could not try it: %s", p, pr.Detail)
		}
		if !avail[p] && pr.Status != Unavailable {
			t.Errorf("%s needs CAP_SYS_RESOURCE, which this process lacks, yet status is %s", p, pr.Status)
		}
		if pr.Status == Unavailable && !strings.Contains(pr.Detail, "EPERM") {
			t.Errorf("%s unavailable without the errno: %q", p, pr.Detail)
		}
	}
}

func readCache(t *testing.T, dir string) *Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("cache file is not whole JSON: %v: %q", err, b)
	}
	return &r
}

func TestCached(t *testing.T) {
	type setup func(t *testing.T, dir string)
	write := func(content string, mode os.FileMode, uid int) setup {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, CacheFile)
			if err := os.WriteFile(p, []byte(content), mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, mode)
			if uid >= 0 {
				if err := os.Chown(p, uid, uid); err != nil {
					t.Skipf("chown: %v", err)
				}
			}
		}
	}
	// A cache entry for this boot that claims every path is inherited:
	// only a trusted, current, well-formed file may be believed.
	forged := func() string {
		r := Result{Version: resultVersion, BootID: bootID(), Kernel: kernelRelease(), Paths: map[auxv.Path]PathResult{},
			BPF: &PathResult{Status: Inherited}, BPFStamp: bpfStamp(bpf.Dir())}
		for _, p := range auxv.Paths {
			r.Paths[p] = PathResult{Status: Inherited}
		}
		b, _ := json.Marshal(r)
		return string(b)
	}()
	stale := strings.Replace(forged, bootID(), "00000000-0000-0000-0000-000000000000", 1)
	cases := map[string]struct {
		setup   setup
		wantHit bool
	}{
		"missing":              {func(*testing.T, string) {}, false},
		"trusted current file": {write(forged, 0o644, -1), true},
		"corrupt":              {write(`{"version":1,"bootID":`, 0o644, -1), false},
		"stale boot id":        {write(stale, 0o644, -1), false},
		"unknown field":        {write(strings.Replace(forged, `{"version"`, `{"x":1,"version"`, 1), 0o644, -1), false},
		"world-writable":       {write(forged, 0o666, -1), false},
		"foreign owner":        {write(forged, 0o644, 65534), false},
		"symlink": {func(t *testing.T, dir string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			os.WriteFile(target, []byte(forged), 0o644)
			if err := os.Symlink(target, filepath.Join(dir, CacheFile)); err != nil {
				t.Fatal(err)
			}
		}, false},
		"fifo": {func(t *testing.T, dir string) {
			if err := unix.Mkfifo(filepath.Join(dir, CacheFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "foreign owner" && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			dir := t.TempDir()
			tc.setup(t, dir)
			r, err := Cached(dir)
			if err != nil {
				t.Fatal(err)
			}
			if hit := r.Cache == "hit"; hit != tc.wantHit {
				t.Fatalf("cache = %q, want hit=%v", r.Cache, tc.wantHit)
			}
			if tc.wantHit {
				return
			}
			// Probed afresh: the forged verdict must not survive, and the
			// file must now hold the fresh, whole result.
			if r.Cache != "miss" {
				t.Fatalf("cache = %q, want miss (stored)", r.Cache)
			}
			fresh, err := Run()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range auxv.Paths {
				if r.Paths[p].Status != fresh.Paths[p].Status {
					t.Errorf("%s: cached %s, fresh probe %s", p, r.Paths[p].Status, fresh.Paths[p].Status)
				}
			}
			st, err := os.Lstat(filepath.Join(dir, CacheFile))
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o644 {
				t.Fatalf("cache file after store: %v %v", st, err)
			}
			if got := readCache(t, dir); got.BootID != bootID() {
				t.Errorf("stored boot id %q", got.BootID)
			}
			again, err := Cached(dir)
			if err != nil || again.Cache != "hit" {
				t.Errorf("second call: %v %v, want a hit", again, err)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(left) != 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

func TestCachedUnwritableDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Cached(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Cache, "off: ") {
		t.Errorf("cache = %q, want off: reason", r.Cache)
	}
}

func TestSummary(t *testing.T) {
	r := &Result{Paths: map[auxv.Path]PathResult{
		auxv.PathAuxv: {Status: Unavailable, Detail: "prctl(PR_SET_MM_AUXV): EPERM"},
		auxv.PathMap:  {Status: NotInherited, Detail: "child still saw hwcap bit 0"},
	}}
	if got, want := r.Summary(), "auxv=unavailable (prctl(PR_SET_MM_AUXV): EPERM), map=not-inherited"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	r.BPF = &PathResult{Status: Unavailable, Detail: "not installed (hwcapctl bpf install)"}
	if got, want := r.Summary(), "auxv=unavailable (prctl(PR_SET_MM_AUXV): EPERM), map=not-inherited, bpf=unavailable (not installed (hwcapctl bpf install))"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if r.Inherits(auxv.Paths...) {
		t.Error("Inherits true without an inherited path")
	}
	r.Paths[auxv.PathMap] = PathResult{Status: Inherited}
	if !r.Inherits(auxv.PathMap) || r.Inherits(auxv.PathAuxv) {
		t.Error("Inherits does not follow the paths asked about")
	}
}

// TestCachedBPFStamp: the prctl verdicts are per boot, the bpf verdict per
// installation of the backend: a cache written before an install (another
// stamp) keeps its prctl verdicts and probes the backend again.
func TestCachedBPFStamp(t *testing.T) {
	dir := t.TempDir()
	r := Result{Version: resultVersion, BootID: bootID(), Kernel: kernelRelease(), Paths: map[auxv.Path]PathResult{},
		BPF: &PathResult{Status: Inherited}, BPFStamp: bpf.Dir() + "|1:2.3"}
	for _, p := range auxv.Paths {
		r.Paths[p] = PathResult{Status: Inherited, Detail: "forged"}
	}
	b, _ := json.Marshal(r)
	if err := os.WriteFile(filepath.Join(dir, CacheFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Cached(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cache != "miss" || got.BPFStamp != bpfStamp(bpf.Dir()) {
		t.Fatalf("cache %q stamp %q, want a miss with stamp %q", got.Cache, got.BPFStamp, bpfStamp(bpf.Dir()))
	}
	if got.Paths[auxv.PathMap].Detail != "forged" {
		t.Errorf("the prctl verdicts were probed again: %+v", got.Paths)
	}
	fresh, err := runBPF(bpf.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got.BPF == nil || got.BPF.Status != fresh.Status {
		t.Errorf("bpf verdict %+v, a fresh probe says %+v", got.BPF, fresh)
	}
	if again, err := Cached(dir); err != nil || again.Cache != "hit" {
		t.Errorf("second call: %v, %v; want a hit", again.Cache, err)
	}
}

// TestRunBPFNotInstalled: with nothing installed the verdict says why the
// backend cannot work here (on a locked-down kernel: lockdown), without a
// child process.
func TestRunBPFNotInstalled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hwcap")
	pr, err := runBPF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Status != Unavailable || pr.Detail == "" {
		t.Fatalf("verdict %+v, want unavailable with a reason", pr)
	}
	want := "not installed"
	if cerr := bpf.Check(dir, bpf.ModeWrite); cerr != nil {
		want = cerr.Error()
	}
	if !strings.Contains(pr.Detail, want) {
		t.Errorf("detail %q does not say %q", pr.Detail, want)
	}
	t.Logf("bpf: %s (%s)", pr.Status, pr.Detail)
}

// TestRunBPFDryRun: a backend installed in dry-run mode is found and named,
// and does not count as masking.
func TestRunBPFDryRun(t *testing.T) {
	dir := testutil.BPFFS(t)
	if _, err := loader.Install(dir, bpf.ModeDryRun); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = bpf.Remove(dir) })
	t.Setenv(bpf.EnvDir, dir)
	r, err := Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.BPF == nil || r.BPF.Status != NotInherited || !strings.Contains(r.BPF.Detail, "dry-run mode") || r.BPFWorks() {
		t.Fatalf("bpf verdict %+v, want not-inherited naming dry-run mode", r.BPF)
	}
	if r.BPFStamp != bpfStamp(dir) || strings.HasSuffix(r.BPFStamp, "|absent") {
		t.Errorf("stamp %q for an installed backend", r.BPFStamp)
	}
}
