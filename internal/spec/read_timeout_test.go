package spec

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// after ReadTimeout, using what arrived if it is one complete document.
func TestReadStateNeverClosed(t *testing.T) {
	old := ReadTimeout
	ReadTimeout = 200 * time.Millisecond
	t.Cleanup(func() { ReadTimeout = old })
	for name, tc := range map[string]struct{ write, wantErr string }{
		"nothing":  {"", "stdin was not closed within 200ms and holds 0 bytes"},
		"partial":  {`{"id":"x","pid":`, "holds 16 bytes that are not one complete JSON document"},
		"complete": {`{"id":"x","pid":0}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			if _, err := io.WriteString(w, tc.write); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			s, err := ReadState(r)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("ReadState took %s", d)
			}
			if tc.wantErr == "" {
				if err != nil || s.ID != "x" {
					t.Fatalf("got %+v, %v", s, err)
				}
				return
			}
			if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
