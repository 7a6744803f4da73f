package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	c := filepath.Join(dir, "c")
	wrapper := mk("a/runc", 0o755) // the wrapper installed as "runc" first on PATH
	realRunc := mk("b/runc", 0o755)
	mk("a/crun", 0o644) // not executable
	realCrun := mk("c/crun", 0o755)
	if err := os.Symlink(wrapper, filepath.Join(c, "runc")); err != nil { // a symlink to the wrapper
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d", "runc"), 0o755); err != nil { // a directory
		t.Fatal(err)
	}
	self, err := os.Stat(wrapper)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "d")
	tests := map[string]struct {
		names []string
		path  string
		self  os.FileInfo
		want  string
		err   error
	}{
		"first on path":          {[]string{"runc"}, b + ":" + a, self, realRunc, nil},
		"skips itself":           {[]string{"runc"}, a + ":" + b, self, realRunc, nil},
		"skips symlink to self":  {[]string{"runc"}, c + ":" + b, self, realRunc, nil},
		"no self: first wins":    {[]string{"runc"}, a + ":" + b, nil, wrapper, nil},
		"skips non-executable":   {[]string{"crun"}, a + ":" + c, self, realCrun, nil},
		"skips directory":        {[]string{"runc"}, d + ":" + b, self, realRunc, nil},
		"second name":            {[]string{"youki", "crun"}, a + ":" + c, self, realCrun, nil},
		"order of names wins":    {[]string{"crun", "runc"}, b + ":" + c, self, realCrun, nil},
		"absolute path":          {[]string{realCrun}, "", self, realCrun, nil},
		"absolute path is self":  {[]string{wrapper, "runc"}, b, self, realRunc, nil},
		"relative PATH skipped":  {[]string{"runc"}, "b:" + b, self, realRunc, nil},
		"empty PATH entry":       {[]string{"runc"}, ":" + b, self, realRunc, nil},
		"empty PATH: default":    {[]string{"sh"}, "", self, "/usr/bin/sh", nil},
		"none found":             {[]string{"runc", "crun"}, a, self, "", ErrNoRuntime},
		"only self":              {[]string{"runc"}, a + ":" + c, self, "", ErrNoRuntime},
		"relative runtime path":  {[]string{"bin/runc"}, b, self, "", ErrBadRuntime},
		"empty name":             {[]string{""}, b, self, "", ErrBadRuntime},
		"nul in name":            {[]string{"ru\x00nc"}, b, self, "", ErrBadRuntime},
		"missing absolute, next": {[]string{"/nonexistent/runc", "runc"}, b, self, realRunc, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Lookup(tc.names, tc.path, tc.self)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Lookup(%q, %q) = %q, %v; want %q, %v", tc.names, tc.path, got, err, tc.want, tc.err)
			}
		})
	}
}
