package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/spec"
)

func TestReadAnnotations(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    map[string]string
		wantErr string
	}{
		"none":          {`{"ociVersion":"1.0.2","process":{"args":["sh"]}}`, nil, ""},
		"some":          {`{"annotations":{"hwcap.dev/deny":"avx512f","io.x":"1"}}`, map[string]string{"hwcap.dev/deny": "avx512f", "io.x": "1"}, ""},
		"null":          {`{"annotations":null}`, nil, ""},
		"not string":    {`{"annotations":{"hwcap.dev/deny":1}}`, nil, "cannot unmarshal number"},
		"not object":    {`[1]`, nil, "cannot unmarshal array"},
		"empty file":    {``, nil, "unexpected end of JSON input"},
		"trailing data": {`{} {}`, nil, "after top-level value"},
		"truncated":     {`{"annotations":{"a":`, nil, "unexpected end of JSON input"},
		"dup key":       {`{"annotations":{"hwcap.dev/deny":"sve","hwcap.dev/deny":"fp"}}`, nil, `"hwcap.dev/deny" given twice in "annotations"`},
		"capital":       {`{"Annotations":{"hwcap.dev/allow":"fp"}}`, nil, `"Annotations" at the top level is read as "annotations"`},
		"null after":    {`{"annotations":{"hwcap.dev/allow":"fp"},"annotations":null}`, nil, `"annotations" given twice at the top level`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ReadAnnotations(writeBundle(t, tc.in))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestReadAnnotationsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadAnnotations(dir); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "config.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAnnotations(dir); !errors.Is(err, ErrBundle) || !errors.Is(err, spec.ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
	big := t.TempDir()
	if err := os.WriteFile(filepath.Join(big, "config.json"), []byte(`{"annotations":{"a":"`+strings.Repeat("x", spec.MaxConfigSize)+`"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAnnotations(big); !errors.Is(err, ErrBundle) || !errors.Is(err, spec.ErrTooLarge) {
		t.Errorf("big file: %v", err)
	}
	link := t.TempDir()
	if err := os.Symlink(filepath.Join(big, "config.json"), filepath.Join(link, "config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAnnotations(link); !errors.Is(err, ErrBundle) || !errors.Is(err, spec.ErrNotRegular) {
		t.Errorf("symlinked config.json: %v", err)
	}
}

// A FIFO as config.json used to block the wrapper in open(2) for ever.
func TestReadAnnotationsFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "config.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadAnnotations(dir); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadAnnotations blocked on a FIFO")
	}
}
