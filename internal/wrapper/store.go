package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hwcap/hwcap/internal/atomicfile"
	"github.com/hwcap/hwcap/internal/spec"
)

// GCBatch is how many documents one GC call checks: a few, picked at
// random, so that a create costs the same with 5 or 500 containers on the
// node (reading every document cost +2 ms with 100 live containers, make
// bench exec-wrapper-mask-live). A stale document lives until a later call
// picks it; if every create left one behind, a quarter of a store would be
// stale. A stale document is harmless meanwhile: its readers check it
// against the files it names, and a create of the same id replaces it.
const GCBatch = 4

// pathKey names a records directory or a front file: FNV-1a 64 of s in
// hex. The keys are paths and values chosen by the node's operator and
// engine, not by containers.
func pathKey(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}

// A store is a directory of JSON documents, one file NAME.json each, that
// only this user may write: the records of one runtime root (Store) and
// the front files (frontStore). Every write is atomic (internal/atomicfile),
// every read bounded and refused unless the file is a regular file owned
// by this user and writable by nobody else (it would let someone else
// choose a mask), and gc removes what has gone stale.
type store[T any] struct {
	dir   string
	limit int64
	stale func(*T) bool
}

func (s store[T]) path(name string) string { return filepath.Join(s.dir, name+".json") }

// read returns the bytes of a trusted document; (nil, nil) when absent.
func (s store[T]) read(p string) ([]byte, error) {
	data, st, err := spec.ReadRegular(p, s.limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("not a regular file owned by uid %d and writable only by it", os.Geteuid())
	}
	return data, nil
}

// get decodes document name: (nil, nil) when there is none. Unknown
// fields and trailing data are errors.
func (s store[T]) get(name string) (*T, error) {
	data, err := s.read(s.path(name))
	if data == nil || err != nil {
		return nil, err
	}
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, errors.New("data after the document")
	}
	return &v, nil
}

// encode is v as stored: compact, no HTML escapes (the C front end reads
// strings without escapes only), one line.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// put stores v as document name unless it holds exactly that already,
// and reports whether it wrote.
func (s store[T]) put(name string, v *T) (bool, error) {
	data, err := encode(v)
	if err != nil {
		return false, err
	}
	if int64(len(data)) > s.limit {
		return false, fmt.Errorf("%d bytes, more than the %d its readers take", len(data), s.limit)
	}
	p := s.path(name)
	if old, err := s.read(p); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return false, err
	}
	return true, atomicfile.WriteFile(p, data, 0o600)
}

// remove deletes document name; a missing one is not an error.
func (s store[T]) remove(name string) error {
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// gc checks at most max documents (max <= 0: all of them), picked at
// random, removes the stale ones among them and returns how many it
// removed. Documents it cannot read are left alone: their readers ignore
// them too.
func (s store[T]) gc(max int) int {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return 0
	}
	var names []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && !strings.HasPrefix(name, ".") && e.Type().IsRegular() {
			names = append(names, name)
		}
	}
	if max > 0 && len(names) > max {
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		names = names[:max]
	}
	n := 0
	for _, name := range names {
		v, err := s.get(name)
		if err != nil || v == nil || !s.stale(v) {
			continue
		}
		if s.remove(name) == nil {
			n++
		}
	}
	return n
}
