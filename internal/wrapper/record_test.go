package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/hwcap"
)

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"c1": true, "abc-DEF_1.2+3": true, "": false, ".": false, "..": false, "a/b": false,
		"../x": false, "a b": false, "a\nb": false, strings.Repeat("a", 1025): false,
		strings.Repeat("a", 1024): true, "...": true, "+": true, "c1\n": false, "\x00": false, "é": false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

// FuzzValidID: the byte loop accepts exactly what runc's old pattern did.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"c1", ".", "..", "a/b", "a\n", "é", "x+y-z_.0"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[\w+\-.]+$`)
	f.Fuzz(func(t *testing.T, id string) {
		want := len(id) <= 1024 && id != "." && id != ".." && re.MatchString(id)
		if got := ValidID(id); got != want {
			t.Fatalf("ValidID(%q) = %v, pattern says %v", id, got, want)
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	run := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &Record{Version: RecordVersion, ID: "c1", Root: "/run/x", Runtime: "/usr/sbin/runc", Bundle: filepath.Dir(cfg), Config: cfg,
		Masked: true, Keep: hwcap.Words{0xff, 1}, Policy: hwcap.Warn, Keys: []string{"hwcap.dev/deny"}, Created: time.Unix(1, 0).UTC()}
	r.ConfigIno, r.ConfigMtime = fileID(st)
	if err := WriteRecord(run, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecord(run, "/run/x", "/usr/sbin/runc", "c1")
	if err != nil || got == nil || got.Keep != r.Keep || got.Policy != hwcap.Warn || !got.Current() {
		t.Fatalf("ReadRecord = %+v, %v", got, err)
	}
	// Another root, same id: a different record.
	if other, err := ReadRecord(run, "/run/y", "/usr/sbin/runc", "c1"); other != nil || err != nil {
		t.Errorf("record of another root: %+v, %v", other, err)
	}
	// The default root depends on the runtime (runc and crun differ).
	if p1, p2 := RecordPath(run, "", "/usr/sbin/runc", "c1"), RecordPath(run, "", "/usr/bin/crun", "c1"); p1 == p2 {
		t.Errorf("default roots of runc and crun share %s", p1)
	}
	// A rewritten config makes the record stale.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(cfg+".new", []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cfg+".new", cfg); err != nil {
		t.Fatal(err)
	}
	if got.Current() {
		t.Errorf("record still current after config.json was replaced")
	}
	// GC keeps records whose config exists, removes the rest.
	if n := GCRecords(run, "/run/x", "/usr/sbin/runc"); n != 0 {
		t.Errorf("GC removed %d records with existing configs", n)
	}
	os.Remove(cfg)
	if n := GCRecords(run, "/run/x", "/usr/sbin/runc"); n != 1 {
		t.Errorf("GC removed %d records, want 1", n)
	}
	if got, _ := ReadRecord(run, "/run/x", "/usr/sbin/runc", "c1"); got != nil {
		t.Errorf("record survived GC")
	}
	if err := RemoveRecord(run, "/run/x", "/usr/sbin/runc", "c1"); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
}

func TestReadRecordRefuses(t *testing.T) {
	run := t.TempDir()
	p := RecordPath(run, "/r", "/runc", "c1")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data string
		mode os.FileMode
		want string
	}{
		"group writable": {`{"version":1,"id":"c1"}`, 0o664, "writable only by it"},
		"unknown field":  {`{"version":1,"id":"c1","x":1}`, 0o600, "unknown field"},
		"wrong id":       {`{"version":1,"id":"c2"}`, 0o600, `id "c2"`},
		"wrong version":  {`{"version":9,"id":"c1"}`, 0o600, "version 9"},
		"bad policy":     {`{"version":1,"id":"c1","masked":true,"policy":"maybe"}`, 0o600, "unknown policy"},
		"not json":       {`garbage`, 0o600, "invalid character"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tc.data), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			r, err := ReadRecord(run, "/r", "/runc", "c1")
			if r != nil || !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadRecord = %v, %v; want error with %q", r, err, tc.want)
			}
		})
	}
	if err := WriteRecord(run, &Record{ID: "../x"}); !errors.Is(err, ErrRecord) {
		t.Errorf("WriteRecord with a bad id: %v", err)
	}
}
