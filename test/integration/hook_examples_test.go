package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// TestHookExamples checks the shipped examples: the node config and the
// profiles load, and the hooks.d files are schema 1.0.0 with anchored
// annotation regexes that match exactly the keys the hook handles.
func TestHookExamples(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(root, "examples")
	if _, err := config.LoadFile(filepath.Join(ex, "config.json")); err != nil {
		t.Fatal(err)
	}
	profiles, _ := filepath.Glob(filepath.Join(ex, "profiles", "*.json"))
	if len(profiles) == 0 {
		t.Fatal("no example profiles")
	}
	for _, p := range profiles {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hwcap.ParseProfile(f); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}
	files, _ := filepath.Glob(filepath.Join(ex, "hooks.d", "*", "*.json"))
	if len(files) != 7 {
		t.Fatalf("hooks.d examples: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Version string `json:"version"`
			Hook    struct {
				Path string   `json:"path"`
				Args []string `json:"args"`
			} `json:"hook"`
			When struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"when"`
			Stages []string `json:"stages"`
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if h.Version != "1.0.0" || len(h.Stages) != 1 || len(h.Hook.Args) != 2 || h.Hook.Args[1] != h.Stages[0] || len(h.When.Annotations) != 1 {
			t.Fatalf("%s: %+v", f, h)
		}
		if filepath.Base(filepath.Dir(f)) == "crio" && h.Stages[0] == "precreate" {
			t.Fatalf("%s: CRI-O rejects precreate", f)
		}
		for k, v := range h.When.Annotations {
			kr, vr := regexp.MustCompile(k), regexp.MustCompile(v)
			for key, want := range map[string]bool{"hwcap.dev/deny": true, "HWCAP.dev/dney": true, "hwcap.dev/profile": true,
				"xhwcap.dev/deny": false, "hwcap.devx/deny": false, "io.hwcap.dev/deny": false, "hwcapXdev/deny": false} {
				if kr.MatchString(key) != want || want != config.HasAnnotations(map[string]string{key: "v"}) {
					t.Errorf("%s: key regex %q on %q: %v, hook's HasAnnotations: %v", f, k, key, kr.MatchString(key), config.HasAnnotations(map[string]string{key: "v"}))
				}
			}
			if !vr.MatchString("a\nb") || !vr.MatchString("") {
				t.Errorf("%s: value regex %q must match any value", f, v)
			}
		}
	}
}
