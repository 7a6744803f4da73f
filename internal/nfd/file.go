package nfd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hwcap/hwcap/internal/atomicfile"
)

// DefaultDir is where nfd-worker reads local feature files.
const DefaultDir = "/etc/kubernetes/node-feature-discovery/features.d"

// MaxFileSize is nfd-worker's limit; a larger file is skipped whole.
const MaxFileSize = 65536

// ErrTooLarge means the rendered file exceeds MaxFileSize.
var ErrTooLarge = errors.New("feature file larger than nfd-worker accepts")

// File is the content of one feature file.
type File struct {
	Comments []string  // written first, each as "# ..."
	Expiry   time.Time // zero: no expiry directive
	Labels   []Label
}

// Render validates every label and returns the file's bytes: comments, the
// expiry directive, then the labels sorted by key. A key given twice is an
// error (NFD would keep only the last).
func (f *File) Render() ([]byte, error) {
	var b bytes.Buffer
	for _, c := range f.Comments {
		if strings.ContainsAny(c, "\r\n") {
			return nil, fmt.Errorf("%w: comment %q spans lines", ErrBadLabel, c)
		}
		if strings.HasPrefix(c, "+") {
			// "# +" starts an NFD directive; an unknown one is an error there.
			return nil, fmt.Errorf("%w: comment %q would read as an NFD directive", ErrBadLabel, c)
		}
		b.WriteString("# " + c + "\n")
	}
	if !f.Expiry.IsZero() {
		b.WriteString("# +expiry-time=" + f.Expiry.UTC().Format(time.RFC3339) + "\n")
	}
	labels := append([]Label(nil), f.Labels...)
	sort.Slice(labels, func(i, j int) bool { return labels[i].Key < labels[j].Key })
	for i, l := range labels {
		if err := ValidateKey(l.Key); err != nil {
			return nil, err
		}
		if err := ValidateValue(l.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", l.Key, err)
		}
		if i > 0 && labels[i-1].Key == l.Key {
			return nil, fmt.Errorf("%w: key %q given twice", ErrBadLabel, l.Key)
		}
		b.WriteString(l.String() + "\n")
	}
	if b.Len() > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, b.Len(), MaxFileSize)
	}
	return b.Bytes(), nil
}

// ValidateFileName checks a feature file name: a plain name in the
// directory that NFD does not skip (no leading dot).
func ValidateFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%w: feature file name %q (want a plain name without '/' or a leading dot, e.g. hwcap)", ErrBadLabel, name)
	}
	return nil
}

// WriteFile atomically replaces dir/name with data (atomicfile: its
// dot-named temporary file is one that nfd-worker ignores). A reader sees
// the old file or the new one, never a part. If the file already holds
// data, nothing is written (nfd-worker re-labels on every change event)
// and changed is false.
func WriteFile(dir, name string, data []byte) (changed bool, err error) {
	if err := ValidateFileName(name); err != nil {
		return false, err
	}
	if len(data) > MaxFileSize {
		return false, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxFileSize)
	}
	path := filepath.Join(dir, name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("write feature file: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return false, fmt.Errorf("feature file: %w", err)
	}
	return true, nil
}
