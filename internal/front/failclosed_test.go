//go:build cgo

package front

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/testutil"
	"github.com/hwcap/hwcap/internal/wrapper"
)

// TestDecideAmbiguousHandedOver (issue 16, finding 1): a config.json that
// spells hwcap.dev/ is never passed through, whatever its members do;
// the Go wrapper refuses it.
func TestDecideAmbiguousHandedOver(t *testing.T) {
	e := newEnv(t)
	e.goCall("state x")
	for _, cfg := range []string{
		`{"ociVersion":"1.0.2","annotations":{"hwcap.dev/deny":"sse2"},"annotations":null}`,
		`{"ociVersion":"1.0.2","annotations":{"hwcap.dev/deny":"sse2"},"Annotations":null}`,
		`{"ociVersion":"1.0.2","annotations":{},"annotations":{"hwcap\u002edev/deny":"sse2"}}`,
		`{"ociVersion":"1.0.2","Annotations":{"HWCAP.DEV/deny":"sse2"}}`,
	} {
		e.bundleConfig(cfg)
		e.want("create --bundle "+e.bundle+" c1", KindGo)
	}
}

// TestDecideBundlePhysical (issue 16, finding 2): the front end passes a
// create through only when the bundle it was given is the directory's
// physical path (so the runtime is given the directory whose config was
// read, as the Go wrapper does), reads config.json relative to the
// opened directory, never through a symlink, and records the physical
// path in the container's record.
func TestDecideBundlePhysical(t *testing.T) {
	e := newEnv(t)
	e.goCall("state x")
	x := e.dir
	for _, d := range []string{"deep/sub", "b", "deep/b"} {
		if err := os.MkdirAll(filepath.Join(x, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("deep/sub", filepath.Join(x, "lnk")); err != nil {
		t.Fatal(err)
	}
	e.write(filepath.Join(x, "b", "config.json"), `{"ociVersion":"1.0.2"}`, 0o644)
	e.write(filepath.Join(x, "deep", "b", "config.json"), `{"ociVersion":"1.0.2"}`, 0o644)
	// Through a symlink and "..": the Go wrapper, which passes the
	// runtime the physical path.
	e.want("create --bundle "+x+"/lnk/../b c1", KindGo)
	e.want("create --bundle "+x+"/deep//b c1", KindGo)
	e.want("create --bundle "+x+"/deep/b/ c1", KindCreate)
	e.want("create --bundle "+x+"/deep/b c1", KindCreate)
	e.wantRecord("", "c1", x+"/deep/b/config.json")
	// A symlinked config.json: the Go wrapper refuses it.
	if err := os.Remove(filepath.Join(x, "b", "config.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(x, "deep", "b", "config.json"), filepath.Join(x, "b", "config.json")); err != nil {
		t.Fatal(err)
	}
	e.want("create --bundle "+x+"/b c2", KindGo)
	// The exec of c1 re-reads the marker's config, not through a symlink.
	e.want("exec c1", KindExec)
	if err := os.Rename(filepath.Join(x, "deep", "b", "config.json"), filepath.Join(x, "deep", "b", "real.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.json", filepath.Join(x, "deep", "b", "config.json")); err != nil {
		t.Fatal(err)
	}
	e.want("exec c1", KindGo)
}

// TestDecideExplicitConfigMissing (issue 16, also): $HWCAP_CONFIG naming
// a file that does not exist is an error for the Go wrapper, so the front
// end never passes a call through on the strength of a front file that
// recorded the default path as absent: that file's key has no
// $HWCAP_CONFIG.
func TestDecideExplicitConfigMissing(t *testing.T) {
	if _, err := os.Stat(config.DefaultPath); !errors.Is(err, fs.ErrNotExist) {
		testutil.Skip(t, "%s exists on this host: the test needs it absent", config.DefaultPath)
	}
	e := newEnv(t)
	rtID, err := wrapper.Identity(e.rt)
	if err != nil {
		t.Fatal(err)
	}
	// What the Go wrapper writes for a call without $HWCAP_CONFIG (the
	// built-in defaults, but with the test's runtime).
	f := &wrapper.Front{Version: wrapper.FrontVersion, Key: []string{"", e.bin, "", ""},
		Watch: []string{"absent " + config.DefaultPath, rtID + " " + e.rt}, Runtime: e.rt, Records: e.run}
	if err := wrapper.WriteFront(e.front, f); err != nil {
		t.Fatal(err)
	}
	argv := []string{"hwcap-runtime", "state", "x"}
	path := "PATH=" + e.bin
	if k, _ := Decide(argv, []string{path}, e.front); k != KindPass {
		t.Fatalf("default path absent, not named: kind %d, want pass", k)
	}
	for _, v := range []string{config.DefaultPath, "/nonexistent/hwcap.json"} {
		if k, _ := Decide(argv, []string{path, "HWCAP_CONFIG=" + v}, e.front); k != KindGo {
			t.Fatalf("HWCAP_CONFIG=%s (missing): kind %d, want the Go wrapper's (which refuses it)", v, k)
		}
	}
}
