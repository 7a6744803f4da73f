package criuimg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

// captures are the committed /proc/cpuinfo files of real and QEMU nodes.
var captures = filepath.Join("..", "..", "testdata", "cpuinfo")

func capture(t *testing.T, name string) *node.Node {
	t.Helper()
	n, err := node.ReadFile(filepath.Join(captures, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRealFixtures reads the images real CRIU dumps wrote (see
// testdata/README.md) and checks them against node captures.
func TestRealFixtures(t *testing.T) {
	host := hwcap.Words{0x178bfbff, 0x2}
	masked := hwcap.Words{0x78bfbfd, 0x0}
	for _, tc := range []struct {
		dir      string
		comms    []string
		threads  []int
		words    hwcap.Words
		verdicts map[string]string // capture -> verdict
		blocking map[string][]string
	}{
		{"x86_64/criu-tree", []string{"svepath", "svepath"}, []int{1, 1}, host,
			map[string]string{"x86_64-host.txt": node.Identical, "x86_64-tcg.txt": node.Incompatible, "arm64-cpu-max.txt": node.Incompatible},
			map[string][]string{"x86_64-tcg.txt": {"vme", "ht", "fsgsbase"}}},
		{"x86_64/runc", []string{"svepath"}, []int{1}, host,
			map[string]string{"x86_64-host.txt": node.Identical, "x86_64-tcg.txt": node.Incompatible},
			map[string][]string{"x86_64-tcg.txt": {"vme", "ht", "fsgsbase"}}},
		{"x86_64/criu-masked", []string{"maskpayload"}, []int{5}, masked,
			map[string]string{"x86_64-host.txt": node.Superset, "x86_64-tcg.txt": node.Identical, "x86_64-haswell.txt": node.Superset},
			nil},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.dir)
			cp, err := ReadDir(dir, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if cp.ImgVersion != 2 || len(cp.Tasks) != len(tc.comms) {
				t.Fatalf("img_version %d, tasks %+v", cp.ImgVersion, cp.Tasks)
			}
			for i, task := range cp.Tasks {
				if task.Comm != tc.comms[i] || task.Threads != tc.threads[i] || task.State != "alive" ||
					task.Machine != "X86_64" || task.Arch != "amd64" || task.Auxv.HWCAPs() != tc.words {
					t.Errorf("task %d: %+v (words %v), want %s with %d threads and %v", i, task, task.Auxv.HWCAPs(), tc.comms[i], tc.threads[i], tc.words)
				}
				if pg, _ := task.Auxv.Lookup(6); pg != 4096 {
					t.Errorf("task %d: AT_PAGESZ %d", i, pg)
				}
			}
			if len(cp.Tasks) == 2 && cp.Tasks[1].PPID != cp.Tasks[0].PID {
				t.Errorf("child's ppid %d, root pid %d", cp.Tasks[1].PPID, cp.Tasks[0].PID)
			}
			for c, want := range tc.verdicts {
				r, err := Check(cp, capture(t, c))
				if err != nil {
					t.Fatal(err)
				}
				if r.Verdict != want || r.Compared != len(tc.comms) || !reflect.DeepEqual(r.Blocking, tc.blocking[c]) {
					t.Errorf("against %s: %s, blocking %v (compared %d); want %s, %v", c, r.Verdict, r.Blocking, r.Compared, want, tc.blocking[c])
				}
			}

			// The same images in the archive layouts podman and the
			// kubelet write.
			files := map[string][]byte{}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				files[e.Name()] = b
			}
			files["config.dump"] = []byte(`{"id":"x"}`)
			for _, data := range [][]byte{tarOf(t, "checkpoint/", files), gzipOf(t, tarOf(t, "checkpoint/", files)), zstdOf(t, tarOf(t, "checkpoint/", files))} {
				ac, err := ReadArchive(bytes.NewReader(data), "c.tar", Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(ac.Tasks, cp.Tasks) {
					t.Errorf("%s: tasks differ from the directory's", ac.Format)
				}
			}
		})
	}
}

// TestPodmanExport reads a real `podman container checkpoint --export`
// archive (podman 4.3.1, its default zstd compression, CRIU 4.1.1).
func TestPodmanExport(t *testing.T) {
	cp, err := Open(filepath.Join("testdata", "x86_64", "podman-export.tar.zst"), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Format != "tar+zstd" || cp.Dir != ArchiveDir || len(cp.Tasks) != 1 {
		t.Fatalf("%+v", cp)
	}
	task := cp.Tasks[0]
	if task.PID != 1 || task.Comm != "svepath" || task.Auxv.HWCAPs() != (hwcap.Words{0x178bfbff, 0x2}) {
		t.Errorf("task %+v", task)
	}
	// The archive holds the task's memory: its initial stack's vector is
	// found (argc, argv, envp walked in CRIU's pages) and, unmasked, equals
	// the saved one entry for entry.
	if task.Stack == nil || task.StackNote != "" || !reflect.DeepEqual(task.Stack, task.Auxv) || task.MaskedOnStack() {
		t.Errorf("stack vector %v (%q), want the saved %v", task.Stack, task.StackNote, task.Auxv)
	}
	r, err := Check(cp, capture(t, "x86_64-tcg.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != node.Incompatible || !reflect.DeepEqual(r.Blocking, []string{"vme", "ht", "fsgsbase"}) {
		t.Errorf("%s %v", r.Verdict, r.Blocking)
	}
	// The images podman keeps beside checkpoint/ are not read, and the
	// stream limit counts them: a limit below the archive's size stops it.
	f, err := os.Open(filepath.Join("testdata", "x86_64", "podman-export.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ReadArchive(f, "export", Limits{StreamBytes: 64 << 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("64 KiB stream limit: %v", err)
	}
}

// TestArm64Fixtures: images CRIU 4.1.1 dumped in an arm64 QEMU guest
// (-cpu a64fx, SVE) on the patched kernel (test/criu/vm-roundtrip.sh):
// svepath unmasked (it took the SVE path) and under hwcap-shim with the
// baseline profile of a64fx and N1 (it took the NEON path); then as a runc
// container, run through hwcap-runtime with that profile as
// hwcap.dev/profile (wrapped, NEON) and with plain runc (unmasked, SVE),
// both checkpointed by runc: one task, the container's pid 1. The a64fx
// capture (Debian's stock kernel) has evtstrm, which the test kernel does
// not enable: a superset, not identical.
func TestArm64Fixtures(t *testing.T) {
	for _, tc := range []struct {
		dir      string
		words    hwcap.Words
		verdicts map[string]string
		blocking []string // against N1
	}{
		{"plain", hwcap.Words{0x415ffb}, map[string]string{"arm64-neoverse-n1.txt": node.Incompatible, "arm64-a64fx.txt": node.Superset,
			"arm64-ref-graviton3-neoverse-v1.txt": node.Superset, "arm64-cortex-a72.txt": node.Incompatible}, []string{"fcma", "sve"}},
		{"masked", hwcap.Words{0x11ffb}, map[string]string{"arm64-neoverse-n1.txt": node.Superset, "arm64-a64fx.txt": node.Superset,
			"arm64-ref-graviton2-neoverse-n1.txt": node.Superset, "arm64-cortex-a72.txt": node.Incompatible}, nil},
		{"unmasked", hwcap.Words{0x415ffb}, map[string]string{"arm64-neoverse-n1.txt": node.Incompatible, "arm64-a64fx.txt": node.Superset,
			"arm64-ref-graviton2-neoverse-n1.txt": node.Incompatible}, []string{"fcma", "sve"}},
		{"wrapped", hwcap.Words{0x11ffb}, map[string]string{"arm64-neoverse-n1.txt": node.Superset, "arm64-a64fx.txt": node.Superset,
			"arm64-ref-graviton2-neoverse-n1.txt": node.Superset, "arm64-cortex-a72.txt": node.Incompatible}, nil},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cp, err := ReadDir(filepath.Join("testdata", "arm64", tc.dir), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cp.Tasks) != 1 || cp.Tasks[0].Comm != "svepath" || cp.Tasks[0].Arch != "arm64" || cp.Tasks[0].Machine != "AARCH64" ||
				cp.Tasks[0].Auxv.HWCAPs() != tc.words {
				t.Fatalf("tasks %+v", cp.Tasks)
			}
			for c, want := range tc.verdicts {
				r, err := Check(cp, capture(t, c))
				if err != nil {
					t.Fatal(err)
				}
				if r.Verdict != want {
					t.Errorf("against %s: %s (blocking %v), want %s", c, r.Verdict, r.Blocking, want)
				}
				if c == "arm64-neoverse-n1.txt" && !reflect.DeepEqual(r.Blocking, tc.blocking) {
					t.Errorf("against N1: blocking %v, want %v", r.Blocking, tc.blocking)
				}
			}
		})
	}
}
