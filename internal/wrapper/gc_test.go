package wrapper

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGCDue(t *testing.T) {
	run := t.TempDir()
	const root, rt = "/run/x", "/usr/sbin/runc"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	if !GCDue(run, root, rt, t0) {
		t.Fatal("no record directory yet: want a (no-op) scan")
	}
	if err := WriteRecord(run, &Record{Version: RecordVersion, ID: "c1", Root: root, Runtime: rt}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"first scan with records", t0, true},
		{"right after", t0.Add(time.Second), false},
		{"just before the interval", t0.Add(GCInterval - time.Second), false},
		{"interval elapsed", t0.Add(GCInterval), true},
		{"stamped again", t0.Add(GCInterval + time.Second), false},
		{"clock went back", t0, true},
	} {
		if got := GCDue(run, root, rt, tc.now); got != tc.want {
			t.Errorf("%s: GCDue = %v, want %v", tc.name, got, tc.want)
		}
	}
	// The stamp is not a record: GC ignores it and keeps it.
	if n := GCRecords(run, root, rt); n != 1 {
		t.Errorf("GC removed %d, want the one record without a config", n)
	}
	if _, err := os.Stat(filepath.Join(recordDir(run, root, rt), gcStamp)); err != nil {
		t.Errorf("stamp: %v", err)
	}
	// Another root has its own stamp.
	if !GCDue(run, "/run/y", rt, t0) {
		t.Error("a different root shares the stamp")
	}
}

func TestGCDueStampNotRegular(t *testing.T) {
	run := t.TempDir()
	const root, rt = "", "/usr/sbin/runc"
	dir := recordDir(run, root, rt)
	if err := os.MkdirAll(filepath.Join(dir, gcStamp), 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < 2; i++ {
		if !GCDue(run, root, rt, now) {
			t.Fatal("a directory in place of the stamp must not stop GC")
		}
	}
}
