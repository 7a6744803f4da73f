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
)

func TestDecodeAnnotations(t *testing.T) {
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
		"empty file":    {``, nil, "EOF"},
		"trailing data": {`{} {}`, nil, "trailing data"},
		"truncated":     {`{"annotations":{"a":`, nil, "unexpected EOF"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeAnnotations([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
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
	if _, _, err := ReadAnnotations(filepath.Join(dir, "config.json")); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := ReadAnnotations(dir); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	p := filepath.Join(dir, "big.json")
	if err := os.WriteFile(p, []byte(`{"annotations":{"a":"`+strings.Repeat("x", MaxConfigSize)+`"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadAnnotations(p); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func FuzzDecodeAnnotations(f *testing.F) {
	f.Add([]byte(`{"annotations":{"hwcap.dev/allow":"fp,asimd"}}`))
	f.Add([]byte(`{"annotations":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeAnnotations(b)
	})
}

// The wrapper and the hook read the same config.json; a duplicated
// hwcap.dev/* key must not let them (or the runtime) disagree on the mask.
func TestDecodeAnnotationsDuplicateKey(t *testing.T) {
	for in, want := range map[string]string{
		`{"annotations":{"hwcap.dev/deny":"sve","hwcap.dev/deny":"fp"}}`: "hwcap.dev/deny given twice",
		`{"Annotations":{"hwcap.dev/allow":"fp"}}`:                       `hwcap.dev/allow given under "Annotations"`,
	} {
		if _, err := decodeAnnotations([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
	if a, err := decodeAnnotations([]byte(`{"annotations":{"x":"1","x":"2"}}`)); err != nil || a["x"] != "2" {
		t.Errorf("unrelated duplicate: %v %v", a, err)
	}
}

// A FIFO as config.json used to block the wrapper in open(2) for ever.
func TestReadAnnotationsFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := ReadAnnotations(p); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadAnnotations blocked on a FIFO")
	}
}
