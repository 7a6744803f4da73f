package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/hwcap"
)

const armProfile = `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","asimd","sve"]}`

func arm64(t *testing.T) *hwcap.Table {
	t.Helper()
	tab, err := hwcap.Lookup("arm64")
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func testNode(t *testing.T) *Node {
	t.Helper()
	n := Defaults()
	n.ProfileDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(n.ProfileDir, "n1.json"), []byte(armProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDefaults(t *testing.T) {
	n := Defaults()
	if n.DefaultPolicy != hwcap.Enforce || n.AllowRelax || n.RunDir != "/run/hwcap" ||
		strings.Join(n.Runtimes, ",") != "runc,crun" || n.ShimPath == "" || n.ProfileDir == "" {
		t.Fatalf("unexpected defaults: %+v", n)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		body    string
		wantErr string // substring; "" = success
		check   func(*Node) bool
	}{
		"partial keeps defaults": {body: `{"defaultPolicy":"warn"}`, check: func(n *Node) bool {
			return n.DefaultPolicy == hwcap.Warn && n.RunDir == "/run/hwcap" && len(n.Runtimes) == 2
		}},
		"all fields": {body: `{"defaultPolicy":"enforce","profileDir":"/p","logFile":"","allowAnnotationRelax":true,"runtimes":["/usr/sbin/runc"],"shimPath":"/s","runDir":"/r"}`,
			check: func(n *Node) bool {
				return n.AllowRelax && n.LogFile == "" && n.Runtimes[0] == "/usr/sbin/runc" && n.RunDir == "/r"
			}},
		"unknown field":   {body: `{"prfileDir":"/x"}`, wantErr: `unknown field "prfileDir"`},
		"bad policy":      {body: `{"defaultPolicy":"strict"}`, wantErr: `field defaultPolicy: unknown policy "strict"`},
		"wrong type":      {body: `{"allowAnnotationRelax":"yes"}`, wantErr: `field allowAnnotationRelax: got a JSON string, want true or false`},
		"syntax":          {body: "{\n \"runDir\": \"/r\",\n}", wantErr: "line 3 column"},
		"relative path":   {body: `{"profileDir":"profiles"}`, wantErr: `field profileDir: "profiles" is not an absolute path`},
		"empty runtimes":  {body: `{"runtimes":[]}`, wantErr: "field runtimes: empty"},
		"relative rt":     {body: `{"runtimes":["bin/runc"]}`, wantErr: `"bin/runc" is a relative path`},
		"trailing":        {body: `{} {}`, wantErr: "trailing data"},
		"empty file":      {body: ``, wantErr: "empty file"},
		"too large":       {body: `{"logFile":"/` + strings.Repeat("a", MaxConfigSize) + `"}`, wantErr: "larger than"},
		"not an object":   {body: `[]`, wantErr: "got a JSON array"},
		"null is default": {body: `null`, check: func(n *Node) bool { return n.DefaultPolicy == hwcap.Enforce }},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
			if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv(EnvConfig, p)
			n, err := Load()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrBadConfig) {
					t.Fatalf("err = %v, want one naming %s and containing %q", err, p, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(n) || n.Source != p {
				t.Fatalf("unexpected config %+v", n)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	t.Setenv(EnvConfig, filepath.Join(t.TempDir(), "nope.json"))
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("explicit missing file: err = %v", err)
	}
	if _, err := os.Stat(DefaultPath); errors.Is(err, os.ErrNotExist) {
		t.Setenv(EnvConfig, "")
		n, err := Load()
		if err != nil || n.Source != "" || n.DefaultPolicy != hwcap.Enforce {
			t.Fatalf("missing default file: %+v, %v", n, err)
		}
	}
}

func TestLoadRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.json")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("SKIP: mkfifo: %v", err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0) // keep a writer so open does not block
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

func TestRequest(t *testing.T) {
	tab := arm64(t)
	for name, tc := range map[string]struct {
		ann     map[string]string
		relax   bool
		def     hwcap.Policy
		wantErr string
		check   func(*Request) bool
	}{
		"none":    {ann: map[string]string{"io.kubernetes.pod": "x"}, check: func(r *Request) bool { return r == nil }},
		"nil map": {ann: nil, check: func(r *Request) bool { return r == nil }},
		"deny": {ann: map[string]string{KeyDeny: "sve2, sve"}, check: func(r *Request) bool {
			return strings.Join(r.Spec.Deny, ",") == "sve2,sve" && r.Policy == hwcap.Enforce && r.Key == KeyDeny
		}},
		"allow":        {ann: map[string]string{KeyAllow: "fp,asimd"}, check: func(r *Request) bool { return len(r.Spec.Allow) == 2 }},
		"mask":         {ann: map[string]string{KeyMask: "hwcap=0x3,hwcap2=0"}, check: func(r *Request) bool { return r.Spec.Raw[0] == 3 && r.Spec.Raw[1] == 0 && r.Spec.Raw[2] == ^uint64(0) }},
		"profile":      {ann: map[string]string{KeyProfile: "n1"}, check: func(r *Request) bool { return r.Profile == "n1" && r.Spec.Profile != nil }},
		"tighten":      {ann: map[string]string{KeyDeny: "sve", KeyPolicy: "enforce"}, def: hwcap.Warn, check: func(r *Request) bool { return r.Policy == hwcap.Enforce }},
		"relax ok":     {ann: map[string]string{KeyDeny: "sve", KeyPolicy: "warn"}, relax: true, check: func(r *Request) bool { return r.Policy == hwcap.Warn }},
		"warn node":    {ann: map[string]string{KeyDeny: "sve"}, def: hwcap.Warn, check: func(r *Request) bool { return r.Policy == hwcap.Warn }},
		"effective":    {ann: map[string]string{KeyDeny: "sve", KeyEffective: "hwcap=0x1"}, check: func(r *Request) bool { return r.Effective != nil && r.Effective[0] == 1 }},
		"keys sorted":  {ann: map[string]string{KeyPolicy: "enforce", KeyDeny: "sve"}, check: func(r *Request) bool { return strings.Join(r.Keys, " ") == KeyDeny+" "+KeyPolicy }},
		"relax denied": {ann: map[string]string{KeyDeny: "sve", KeyPolicy: "warn"}, wantErr: `annotation hwcap.dev/policy: "warn" would relax this node's "enforce" policy`},
		"unknown feat": {ann: map[string]string{KeyDeny: "sve3"}, wantErr: `annotation hwcap.dev/deny: unknown feature "sve3" for arm64 (did you mean sve`},
		"bad char":     {ann: map[string]string{KeyAllow: "SVE"}, wantErr: `annotation hwcap.dev/allow: malformed mask: feature name "SVE"`},
		"empty list":   {ann: map[string]string{KeyAllow: ","}, wantErr: `annotation hwcap.dev/allow: malformed mask: empty feature list`},
		"empty value":  {ann: map[string]string{KeyDeny: " "}, wantErr: `annotation hwcap.dev/deny: empty value`},
		"bad mask":     {ann: map[string]string{KeyMask: "hwcap5=1"}, wantErr: `annotation hwcap.dev/mask: malformed mask: unknown word "hwcap5"`},
		"bad number":   {ann: map[string]string{KeyMask: "hwcap=0xZZ"}, wantErr: `annotation hwcap.dev/mask: malformed mask: "0xZZ" is not a 64-bit number`},
		"conflict":     {ann: map[string]string{KeyDeny: "sve", KeyAllow: "fp"}, wantErr: `annotation hwcap.dev/deny: conflicts with hwcap.dev/allow (give exactly one of`},
		"policy only":  {ann: map[string]string{KeyPolicy: "enforce"}, wantErr: `annotation hwcap.dev/policy: given without a mask (add one of hwcap.dev/profile`},
		"bad policy":   {ann: map[string]string{KeyDeny: "sve", KeyPolicy: "strict"}, wantErr: `annotation hwcap.dev/policy: unknown policy "strict" (want enforce or warn)`},
		"typo key":     {ann: map[string]string{"hwcap.dev/dney": "sve"}, wantErr: `annotation hwcap.dev/dney: unknown key (did you mean hwcap.dev/deny?)`},
		"upper prefix": {ann: map[string]string{"HWCAP.dev/deny": "sve"}, wantErr: `annotation HWCAP.dev/deny: unknown key (did you mean hwcap.dev/deny?)`},
		"far key":      {ann: map[string]string{"hwcap.dev/frobnicate": "1"}, wantErr: `annotation hwcap.dev/frobnicate: unknown key (known keys:`},
		"long value":   {ann: map[string]string{KeyDeny: strings.Repeat("a", MaxValueLen+1)}, wantErr: `annotation hwcap.dev/deny: value longer than`},
		"bad effect":   {ann: map[string]string{KeyDeny: "sve", KeyEffective: "all"}, wantErr: `annotation hwcap.dev/effective: malformed mask: "all" is not word=value`},
		"dotdot prof":  {ann: map[string]string{KeyProfile: "../etc/passwd"}, wantErr: `annotation hwcap.dev/profile: cannot use profile: bad profile name "../etc/passwd": character '.'`},
		"slash prof":   {ann: map[string]string{KeyProfile: "a/b"}, wantErr: `bad profile name "a/b": character '/'`},
		"missing prof": {ann: map[string]string{KeyProfile: "n2"}, wantErr: `annotation hwcap.dev/profile: cannot use profile "n2": no file n2.json in`},
	} {
		t.Run(name, func(t *testing.T) {
			n := testNode(t)
			n.AllowRelax = tc.relax
			if tc.def != "" {
				n.DefaultPolicy = tc.def
			}
			r, err := n.RequestFor(tc.ann, tab)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrAnnotation) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Count(err.Error(), "\n") != 0 {
					t.Fatalf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Fatalf("unexpected request %+v", r)
			}
		})
	}
}

func TestRequestNoFileAccessWithoutAnnotations(t *testing.T) {
	n := Defaults()
	n.ProfileDir = "/nonexistent/should/not/be/read"
	r, err := n.Request(map[string]string{"org.opencontainers.image.title": "x"})
	if r != nil || err != nil {
		t.Fatalf("got %v, %v", r, err)
	}
}

func TestRequestKeep(t *testing.T) {
	tab := arm64(t)
	n := testNode(t)
	r, err := n.RequestFor(map[string]string{KeyProfile: "n1"}, tab)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := r.Keep()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tab.Bits([]string{"fp", "asimd", "sve"})
	if keep != want {
		t.Fatalf("keep = %v, want %v", keep, want)
	}
}

func TestLoadProfileRefusesEscapes(t *testing.T) {
	n := testNode(t)
	outside := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(outside, []byte(armProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(n.ProfileDir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSymlink := func(old, new string) {
		t.Helper()
		if err := os.Symlink(old, filepath.Join(n.ProfileDir, new)); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(outside, "abs.json")
	mustSymlink("../"+filepath.Base(filepath.Dir(outside))+"/secret.json", "rel.json")
	mustSymlink("n1.json", "alias.json") // inside: allowed
	if err := syscall.Mkfifo(filepath.Join(n.ProfileDir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(n.ProfileDir, "dir.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := `{"version":"hwcap.dev/v1","arch":"arm64","description":"` + strings.Repeat("x", hwcap.MaxProfileSize) + `","allow":[]}`
	if err := os.WriteFile(filepath.Join(n.ProfileDir, "big.json"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.ProfileDir, "x86.json"), []byte(`{"version":"hwcap.dev/v1","arch":"amd64","allow":["sse"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"abs":   "symbolic link out of the profile directory",
		"rel":   "symbolic link out of the profile directory",
		"fifo":  "not a regular file",
		"dir":   "not a regular file",
		"big":   "more than the limit",
		"alias": "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := n.LoadProfile(name)
			if want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrProfile) {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
	if _, err := n.RequestFor(map[string]string{KeyProfile: "x86"}, arm64(t)); err == nil ||
		!strings.Contains(err.Error(), `annotation hwcap.dev/profile: profile "x86": malformed profile: profile is for amd64, this host is arm64`) {
		t.Fatalf("arch mismatch: err = %v", err)
	}
}

func TestCheckProfileName(t *testing.T) {
	for name, ok := range map[string]bool{
		"n1": true, "neoverse-n1": true, "a.b_c-d": true, "0": true, strings.Repeat("a", 63): true,
		"": false, ".": false, "..": false, ".hidden": false, "-x": false, "A": false, "a/b": false,
		"../x": false, "a b": false, strings.Repeat("a", 64): false, "a\x00": false,
	} {
		if err := CheckProfileName(name); (err == nil) != ok {
			t.Errorf("CheckProfileName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func FuzzRequest(f *testing.F) {
	f.Add("hwcap.dev/deny", "sve,sve2", "hwcap.dev/policy", "warn")
	f.Add("hwcap.dev/mask", "hwcap=0x1", "hwcap.dev/effective", "hwcap2=0")
	f.Add("hwcap.dev/profile", "../x", "", "")
	f.Add("hwcap.dev/allow", ",,,", "hwcap.dev/x", "")
	tab, err := hwcap.Lookup("arm64")
	if err != nil {
		f.Fatal(err)
	}
	n := Defaults()
	n.ProfileDir = f.TempDir()
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		r, err := n.RequestFor(map[string]string{k1: v1, k2: v2}, tab)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "annotation ") {
				t.Fatalf("error does not name the annotation: %v", err)
			}
			return
		}
		if r != nil {
			if _, err := r.Keep(); err != nil {
				t.Fatalf("validated request does not resolve: %v", err)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"defaultPolicy":"warn"}`))
	f.Add([]byte(`{"runtimes":["a"],"x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := hwcap.ParsePolicy(string(n.DefaultPolicy)); err != nil {
			t.Fatal(err)
		}
	})
}

// Without a writer, opening a FIFO read-only used to block LoadFile (and
// every hook run) for ever.
func TestLoadFIFOWithoutWriter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.json")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadFile(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LoadFile blocked on a FIFO")
	}
}
