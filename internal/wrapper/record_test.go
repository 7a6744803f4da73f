package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
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

// configFile writes a bundle config file and returns its path and its
// identity.
func configFile(t *testing.T) (string, string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := Identity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, id
}

func TestRecordRoundTrip(t *testing.T) {
	run := t.TempDir()
	cfg, cfgID := configFile(t)
	s := StoreFor(run, "/run/x", "/usr/sbin/runc")
	r := &Record{Version: RecordVersion, ID: "c1", Bundle: filepath.Dir(cfg), Config: cfg, ConfigID: cfgID,
		Mask: &Mask{Keep: hwcap.Words{0xff, 1}, Policy: hwcap.Warn, Profile: "fleet"}}
	if err := s.Put(r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("c1")
	if err != nil || got == nil || !reflect.DeepEqual(got, r) || !got.Current() {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	// Stored as the C front end reads it: one compact line, owner only.
	data, err := os.ReadFile(s.Path("c1"))
	if err != nil || string(data) != `{"version":2,"id":"c1","bundle":"`+filepath.Dir(cfg)+`","config":"`+cfg+`","configId":"`+cfgID+`","mask":{"keep":[255,1,0,0],"policy":"warn","profile":"fleet"}}`+"\n" {
		t.Errorf("stored %q, %v", data, err)
	}
	if st, err := os.Stat(s.Path("c1")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	// Another root, same id: a different record.
	if other, err := StoreFor(run, "/run/y", "/usr/sbin/runc").Get("c1"); other != nil || err != nil {
		t.Errorf("record of another root: %+v, %v", other, err)
	}
	// The default root depends on the runtime (runc and crun differ).
	if d1, d2 := StoreFor(run, "", "/usr/sbin/runc").Dir(), StoreFor(run, "", "/usr/bin/crun").Dir(); d1 == d2 {
		t.Errorf("default roots of runc and crun share %s", d1)
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
	if err := s.Delete("c1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("c1"); got != nil || err != nil {
		t.Errorf("record survived Delete: %+v, %v", got, err)
	}
	if err := s.Delete("c1"); err != nil {
		t.Errorf("deleting a missing record: %v", err)
	}
	// An id that cannot name a record has none, and cannot get one.
	if got, err := s.Get("../x"); got != nil || err != nil {
		t.Errorf("Get(../x) = %+v, %v", got, err)
	}
	if err := s.Delete("../x"); err != nil {
		t.Errorf("Delete(../x) = %v", err)
	}
}

// TestStoreGC: GC keeps the records whose config file is still the one
// they were made from and removes the rest (gone, or replaced); with a
// bound, it checks no more records than that.
func TestStoreGC(t *testing.T) {
	run := t.TempDir()
	s := StoreFor(run, "/run/x", "/usr/sbin/runc")
	if n := s.GC(GCBatch); n != 0 {
		t.Fatalf("no store yet: GC removed %d", n)
	}
	put := func(s Store, id string) string {
		t.Helper()
		cfg, cfgID := configFile(t)
		if err := s.Put(&Record{Version: RecordVersion, ID: id, Config: cfg, ConfigID: cfgID}); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	put(s, "live")
	gone := put(s, "gone")
	replaced := put(s, "replaced")
	os.Remove(gone)
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(replaced+".new", []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(replaced+".new", replaced); err != nil {
		t.Fatal(err)
	}
	// A file that is not a record, and a record GC cannot read, stay.
	for _, name := range []string{".c1.json.1.tmp", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte(`{}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.Path("junk"), []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := s.GC(GCBatch); n != 2 { // 4 records: all checked
		t.Errorf("GC removed %d, want 2 (gone, replaced)", n)
	}
	for id, want := range map[string]bool{"live": true, "gone": false, "replaced": false} {
		if r, err := s.Get(id); (r != nil) != want || err != nil {
			t.Errorf("%s after GC: %+v, %v; want kept %v", id, r, err, want)
		}
	}
	for _, name := range []string{".c1.json.1.tmp", "notes.txt", "junk.json"} {
		if _, err := os.Stat(filepath.Join(s.Dir(), name)); err != nil {
			t.Errorf("GC removed %s: %v", name, err)
		}
	}

	// A bounded GC checks at most its bound; an unbounded one, all. Every
	// record here is stale, so what it removed is what it checked.
	many := StoreFor(run, "/run/y", "/usr/sbin/runc")
	for i := range 3*GCBatch + 1 {
		os.Remove(put(many, "c"+strconv.Itoa(i)))
	}
	for _, tc := range []struct{ max, want int }{{GCBatch, GCBatch}, {1, 1}, {0, 2 * GCBatch}, {0, 0}} {
		if n := many.GC(tc.max); n != tc.want {
			t.Errorf("GC(%d) removed %d, want %d", tc.max, n, tc.want)
		}
	}
}

func TestRecordRefused(t *testing.T) {
	run := t.TempDir()
	s := StoreFor(run, "/r", "/runc")
	p := s.Path("c1")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data string
		mode os.FileMode
		want string
	}{
		"group writable": {`{"version":2,"id":"c1"}`, 0o664, "writable only by it"},
		"unknown field":  {`{"version":2,"id":"c1","x":1}`, 0o600, "unknown field"},
		"old format":     {`{"version":1,"id":"c1","masked":false}`, 0o600, "unknown field"},
		"wrong id":       {`{"version":2,"id":"c2"}`, 0o600, `id "c2"`},
		"wrong version":  {`{"version":9,"id":"c1"}`, 0o600, "version 9"},
		"bad policy":     {`{"version":2,"id":"c1","mask":{"policy":"maybe"}}`, 0o600, "unknown policy"},
		"not json":       {`garbage`, 0o600, "invalid character"},
		"trailing data":  {`{"version":2,"id":"c1"}}`, 0o600, "data after the document"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tc.data), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			r, err := s.Get("c1")
			if r != nil || !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Get = %v, %v; want error with %q", r, err, tc.want)
			}
		})
	}
	if err := s.Put(&Record{ID: "../x"}); !errors.Is(err, ErrRecord) {
		t.Errorf("Put with a bad id: %v", err)
	}
}
