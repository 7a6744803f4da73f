package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The samples were captured from real runtimes by a hook that tees stdin
// (see TestCaptureLiveState, which re-captures them with -update).
func TestParseStateSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/state-*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseState(data)
			if err != nil {
				t.Fatal(err)
			}
			if s.Annotations["hwcap.dev/deny"] != "sve" || s.Annotations["io.example"] != "x" {
				t.Errorf("annotations = %v", s.Annotations)
			}
			if !filepath.IsAbs(s.Bundle) || s.ID == "" {
				t.Errorf("state = %+v", s)
			}
			crun := strings.Contains(f, "crun")
			if crun != (s.Version == "1.0") || crun != (s.Root == "rootfs") {
				t.Errorf("variant: version %q root %q", s.Version, s.Root)
			}
			// createRuntime/prestart/poststart carry the waiting init's host pid.
			if !strings.Contains(f, "createContainer") && !strings.Contains(f, "poststop") && s.Pid <= 1 {
				t.Errorf("pid = %d", s.Pid)
			}
		})
	}
}

func TestParseStateErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"empty":     {"", "empty"},
		"not json":  {"hello", "invalid character"},
		"no id":     {`{"ociVersion":"1.0","pid":3}`, `no "id"`},
		"neg pid":   {`{"id":"x","pid":-4}`, "negative pid"},
		"rel bund":  {`{"id":"x","bundle":"b"}`, "not an absolute path"},
		"bad annot": {`{"id":"x","annotations":{"a":1}}`, "cannot unmarshal"},
		"too big":   {`{"id":"` + strings.Repeat("x", MaxStateSize) + `"}`, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadState(strings.NewReader(tc.in))
			if err == nil || !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

const sampleConfig = `{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "args": ["sh", "-c", "echo hi"], "env": ["PATH=/bin", "HWCAP_DENY=a", "HWCAP_DENY=b"], "cwd": "/",
              "ioPriority": {"class": "IOPRIO_CLASS_IDLE"}, "x-vendor": {"k": [1, 2]}},
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}],
  "annotations": {"hwcap.dev/deny": "sse2", "other": "v"},
  "linux": {"namespaces": [{"type": "pid"}], "intelRdt": {"closID": "x"}},
  "x-unknown-top": {"deep": {"nested": true}}
}`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(sampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Args(), " ") != "sh -c echo hi" || c.Root.Path != "rootfs" || len(c.Mounts) != 1 ||
		c.Annotations["hwcap.dev/deny"] != "sse2" || c.Getenv("HWCAP_DENY") != "b" || c.Getenv("PATH") != "/bin" || c.Getenv("NOPE") != "" {
		t.Fatalf("config = %+v", c)
	}
	if _, err := ParseConfig([]byte(`{"process":{"args":"sh"}}`)); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("bad args: err = %v", err)
	}
	var empty Config
	if empty.Args() != nil || empty.Getenv("X") != "" {
		t.Fatal("empty config")
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(dir); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("missing: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(sampleConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(dir); err != nil || c.Process.Cwd != "/" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := LoadConfig(""); err == nil {
		t.Fatal("no bundle accepted")
	}
}

// flatten decodes JSON into generic values for semantic comparison.
func flatten(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRewriteKeepsUnknownFields(t *testing.T) {
	c, err := ParseRawConfig([]byte(sampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	args, err := c.Args()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetArgs(append([]string{"/shim", "--"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAnnotation("hwcap.dev/effective", "hwcap=0x1"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddMount(specs.Mount{Destination: "/shim", Type: "bind", Source: "/host/shim", Options: []string{"bind", "ro"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, want := flatten(t, out), flatten(t, []byte(sampleConfig))
	// Apply the three intended changes to want; everything else must match.
	wp := want["process"].(map[string]any)
	wp["args"] = []any{"/shim", "--", "sh", "-c", "echo hi"}
	want["annotations"].(map[string]any)["hwcap.dev/effective"] = "hwcap=0x1"
	want["mounts"] = append(want["mounts"].([]any), map[string]any{"destination": "/shim", "type": "bind", "source": "/host/shim", "options": []any{"bind", "ro"}})
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("rewrite changed more than intended:\n got %s\nwant %s", gb, wb)
	}
	ms, err := c.Mounts()
	if err != nil || len(ms) != 2 || ms[1].Source != "/host/shim" {
		t.Fatalf("mounts %+v %v", ms, err)
	}
}

func TestRewriteEdgeCases(t *testing.T) {
	for name, in := range map[string]string{
		"no annotations": `{"process":{"args":["a"]}}`,
		"null mounts":    `{"process":{"args":["a"]},"mounts":null}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseRawConfig([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.SetAnnotation("k", "v"); err != nil {
				t.Fatal(err)
			}
			if err := c.AddMount(specs.Mount{Destination: "/x"}); err != nil {
				t.Fatal(err)
			}
			out, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `"annotations":{"k":"v"}`) || !strings.Contains(string(out), `"destination":"/x"`) {
				t.Fatalf("out = %s", out)
			}
		})
	}
	for name, in := range map[string]string{
		"array":        `[]`,
		"null":         `null`,
		"bad process":  `{"process":[1]}`,
		"trailing":     `{"a":1} x`,
		"bad mounts":   `{"mounts":{}}`,
		"bad annotate": `{"annotations":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseRawConfig([]byte(in))
			if err == nil {
				err = c.AddMount(specs.Mount{})
				if err == nil {
					err = c.SetAnnotation("k", "v")
				}
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	c, _ := ParseRawConfig([]byte(`{"ociVersion":"1.0.2"}`))
	if err := c.SetArgs([]string{"x"}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("SetArgs without process: %v", err)
	}
}

func FuzzParseState(f *testing.F) {
	files, _ := filepath.Glob("testdata/state-*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseState(data)
		if err == nil && (s.ID == "" || s.Pid < 0) {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzRawConfig(f *testing.F) {
	f.Add([]byte(sampleConfig))
	f.Add([]byte(`{"process":null,"mounts":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseRawConfig(data)
		if err != nil {
			return
		}
		_ = c.SetAnnotation("k", "v")
		_ = c.AddMount(specs.Mount{Destination: "/x"})
		out, err := c.Marshal()
		if err != nil {
			return
		}
		if _, err := ParseRawConfig(out); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
	})
}
