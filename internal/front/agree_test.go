//go:build cgo

package front

import (
	"os"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/wrapper"
)

// FuzzRecordAgree: whatever a record file holds, the front end passes an
// exec through only where the Go wrapper reads the same file as a current
// record of that container without a mask (where it passes the exec
// through too).
func FuzzRecordAgree(f *testing.F) {
	e := newEnv(f)
	e.goCall("state x")
	if k, _ := e.decide("create --bundle " + e.bundle + " c1"); k != KindCreate {
		f.Fatalf("create: kind %d", k)
	}
	s := wrapper.StoreFor(e.run, "", e.rt)
	good, err := os.ReadFile(s.Path("c1"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(good))
	f.Add(strings.Replace(string(good), `"}`, `","mask":{"keep":[1,0,0,0],"policy":"warn"}}`, 1))
	f.Add(strings.Replace(string(good), `{"version":2,`, `{"version":2,"Version":1,`, 1))
	f.Add(strings.Replace(string(good), `"id":"c1"`, `"ID":"c2","id":"c1"`, 1))
	f.Add(" " + string(good) + " ")
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if err := os.WriteFile(s.Path("c1"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if k, _ := e.decide("exec c1"); k != KindExec {
			return
		}
		rec, err := s.Get("c1")
		if err != nil || rec == nil || rec.Mask != nil || !rec.Current() {
			t.Fatalf("front end passes the exec through on %q; the Go wrapper reads %+v, %v", doc, rec, err)
		}
	})
}

// FuzzFrontAgree: whatever a front file holds, the front end acts on it
// only where the Go wrapper reads it as the current front file of the
// call's key, and execs the runtime it names.
func FuzzFrontAgree(f *testing.F) {
	e := newEnv(f)
	e.goCall("state x")
	p := e.frontPath("")
	good, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(good))
	f.Add(strings.Replace(string(good), `"version":2`, `"version":2,"Version":1`, 1))
	f.Add(strings.Replace(string(good), `"runtime":"`, `"Runtime":"/bin/sh","runtime":"`, 1))
	f.Add(strings.Replace(string(good), `"key":[`, `"key":[],"key":[`, 1))
	f.Fuzz(func(t *testing.T, doc string) {
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		k, rt := e.decide("state x")
		if k == KindGo {
			return
		}
		fr, err := wrapper.ReadFront(e.front, wrapper.FrontKey{Config: e.cfg, Path: "/nonexistent:" + e.bin})
		if err != nil || fr == nil || !fr.Current() || fr.Runtime != rt || len(fr.Key) != 4 || fr.Key[0] != e.cfg {
			t.Fatalf("front end passes through to %s on %q; the Go wrapper reads %+v, %v", rt, doc, fr, err)
		}
	})
}
