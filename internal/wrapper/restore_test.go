package wrapper

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/testutil"
)

func TestImagePath(t *testing.T) {
	for args, want := range map[string]string{
		"restore c1":                                           "/cwd/checkpoint",
		"restore -b /bundle c1":                                "/cwd/checkpoint", // runc's default ignores --bundle
		"restore --image-path /img c1":                         "/img",
		"restore --image-path=/img/ c1":                        "/img",
		"restore -image-path rel c1":                           "/cwd/rel",
		"--root /r restore --image-path /a --image-path /b c1": "/b",
		"restore c1 --image-path /late":                        "/late", // urfave/cli reorders
		"--criu /usr/sbin/criu restore --work-path /w c1":      "/cwd/checkpoint",
	} {
		if got := ImagePath(Parse(strings.Fields(args)), "/cwd"); got != want {
			t.Errorf("%s: %q, want %q", args, got, want)
		}
	}
}

// arm64 nodes as in the QEMU captures: -cpu max (SVE, SME, ...) and N1.
var (
	maxWords = hwcap.Words{0xfdffffff, 0x7f83ffff}
	n1Words  = hwcap.Words{0x119fff}
)

var (
	ctlOnce  sync.Once
	ctlBuilt string
	ctlErr   error
)

// fakeHost makes the restore check run the real hwcapctl (built once)
// against a node description with words w instead of this host.
func fakeHost(t *testing.T, w hwcap.Words) {
	t.Helper()
	ctlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hwcap-wrapper-ctl-")
		if err != nil {
			ctlErr = err
			return
		}
		bins, err := testutil.BuildCommands(dir, "hwcapctl")
		ctlBuilt, ctlErr = bins["hwcapctl"], err
	})
	if ctlErr != nil {
		t.Fatalf("build hwcapctl: %v", ctlErr)
	}
	host := filepath.Join(t.TempDir(), "host.json")
	var buf bytes.Buffer
	if err := (&node.Node{Source: "this host", Kind: node.KindNode, Arch: "arm64", Words: w}).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	oldPath, oldHost := ctlPath, ctlHost
	ctlPath = func() (string, error) { return ctlBuilt, nil }
	ctlHost = host
	t.Cleanup(func() { ctlPath, ctlHost = oldPath, oldHost })
}

func images(t *testing.T, words hwcap.Words) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkpoint")
	if err := imgtest.WriteDir(dir, imgtest.Task{PID: 1, Comm: "payload", Machine: imgtest.Machine("arm64"), Words: words},
		imgtest.Task{PID: 5, PPID: 1, Comm: "child", Machine: imgtest.Machine("arm64"), Words: n1Words}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func setPolicy(t *testing.T, h *harness, policy string) {
	t.Helper()
	cfg := filepath.Join(h.dir, "node.json")
	if err := os.WriteFile(cfg, []byte(`{"runDir":"`+h.runDir+`","logFile":"`+filepath.Join(h.dir, "node.log")+`","profileDir":"/nonexistent","defaultPolicy":"`+policy+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreCheck(t *testing.T) {
	bundle := writeBundle(t, `{"annotations":{"other":"x"}}`)
	sve := images(t, maxWords)
	n1 := images(t, n1Words)
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, "inventory.img"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		host   hwcap.Words
		policy string
		images string
		code   int // ExitNotExec: the fake exec was reached
		stderr []string
	}{
		"sve checkpoint on n1, enforce": {n1Words, "enforce", sve, ExitRefused, []string{
			"hwcap-runtime: refusing restore under policy enforce: container c1: checkpoint needs CPU features this host lacks: checkpoint " + sve +
				": task(s) pid 1 (payload) were started with jscvt fcma sha3", " sve ", "sve2 ", "which this host lacks; restored, they get SIGILL"}},
		"sve checkpoint on n1, warn": {n1Words, "warn", sve, ExitNotExec, []string{
			"hwcap-runtime: policy warn: restoring anyway: container c1: checkpoint needs CPU features", "sve2"}},
		"n1 checkpoint on max":        {maxWords, "enforce", n1, ExitNotExec, nil},
		"n1 checkpoint on n1":         {n1Words, "enforce", n1, ExitNotExec, nil},
		"no images: the runtime says": {n1Words, "enforce", filepath.Join(t.TempDir(), "none"), ExitNotExec, nil},
		"unreadable images, enforce":  {n1Words, "enforce", garbage, ExitRefused, []string{"cannot check checkpoint " + garbage, "malformed criu image: inventory.img"}},
		"unreadable images, warn":     {n1Words, "warn", garbage, ExitNotExec, []string{"policy warn: restoring anyway", "cannot check"}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, bundle)
			setPolicy(t, h, tc.policy)
			fakeHost(t, tc.host)
			args := []string{"restore", "--image-path", tc.images, "--bundle", bundle, "-d", "c1"}
			code := h.run("/", args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, h.stderr.String())
			}
			if (code == ExitNotExec) != (h.execed != nil) {
				t.Errorf("exec'd %q with exit %d", h.execed, code)
			}
			got := h.stderr.String()
			if code == ExitNotExec {
				got = strings.TrimSuffix(got, "hwcap-runtime: exec "+h.runtime+": fake exec\n")
			}
			if len(tc.stderr) == 0 && got != "" {
				t.Errorf("stderr %q, want nothing", got)
			}
			if len(tc.stderr) > 0 && strings.Count(got, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", got)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(got, s) {
					t.Errorf("stderr %q lacks %q", got, s)
				}
			}
			log, _ := os.ReadFile(filepath.Join(h.dir, "node.log"))
			if !strings.Contains(string(log), `"stage":"restore"`) || !strings.Contains(string(log), `"images":"`) {
				t.Errorf("node log has no restore record: %s", log)
			}
			// A refusal is the restore decision itself: no "failed" line.
			if code == ExitRefused && (strings.Count(string(log), "\n") != 1 || strings.Contains(string(log), `"decision":"failed"`)) {
				t.Errorf("node log of a refused restore: %s", log)
			}
		})
	}
}

// TestRestoreRefusalInRuntimeLog: containerd and podman read the runtime's
// --log file, not stderr.
func TestRestoreRefusalInRuntimeLog(t *testing.T) {
	bundle := writeBundle(t, `{}`)
	h := newHarness(t, bundle)
	setPolicy(t, h, "enforce")
	fakeHost(t, n1Words)
	logFile := filepath.Join(h.dir, "log.json")
	code := h.run(bundle, "--log", logFile, "--log-format", "json", "restore", "--image-path", images(t, maxWords), "c1")
	if code != ExitRefused {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"level":"error","msg":"hwcap-runtime: refusing restore under policy enforce`) || !strings.Contains(string(b), "sve2") {
		t.Errorf("runtime log %q", b)
	}
}
