package wrapper

import (
	"fmt"
	"path/filepath"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// RecordVersion is the format version of a container record (2: one
// record for every container, the C front end's included; the config
// file's identity; the mask as one member).
const RecordVersion = 2

// maxRecordSize bounds what we read back; a record is ~300 bytes.
const maxRecordSize = 64 << 10

// maxIDLen is the longest container id a record can be kept for.
const maxIDLen = 1024

// ValidID reports whether id can name a record (and a runc container):
// runc's rule (libcontainer's validateID), letters, digits and _ + - .,
// neither "." nor "..", since the id becomes a file name. A byte loop, as
// in runc: a regexp compiled at start-up costs every run of the wrapper.
// The C front end checks ids with the same rule (rules.h, generated from
// idByte and maxIDLen).
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return false
		}
	}
	return true
}

// idByte reports whether c may appear in a container id.
func idByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
		c == '_', c == '+', c == '-', c == '.':
		return true
	}
	return false
}

// Record is all the wrapper keeps of a container: enough for a later exec
// into it to get the mask its processes carry. create, run and restore
// write it; the C front end writes the record of a container it passed
// through (which never has a mask). It lives in the runtime root's Store
// as ID.json, like runc's state.json.
type Record struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Bundle  string `json:"bundle"`
	Config  string `json:"config"` // the config file the mask came from
	// ConfigID is that file's identity when it was read: exec uses a
	// record only while its config file is still that very file.
	ConfigID string `json:"configId"`
	// Mask is nil for a container that asked for nothing.
	Mask *Mask `json:"mask,omitempty"`
}

// Mask is what a container asked for: the words its processes keep and
// the policy that decides when the mask cannot take effect.
type Mask struct {
	Keep    hwcap.Words  `json:"keep"`
	Policy  hwcap.Policy `json:"policy"`
	Profile string       `json:"profile,omitempty"`
}

// Current reports whether the record still describes the container's
// config file: the same path holds the same file, unchanged.
func (r *Record) Current() bool {
	id, err := Identity(r.Config)
	return err == nil && id == r.ConfigID
}

// check refuses a record that is not one this wrapper wrote for id.
func (r *Record) check(id string) error {
	if r.Version != RecordVersion || r.ID != id {
		return fmt.Errorf("version %d id %q (want version %d id %q)", r.Version, r.ID, RecordVersion, id)
	}
	if r.Mask != nil {
		if _, err := hwcap.ParsePolicy(string(r.Mask.Policy)); err != nil {
			return err
		}
	}
	return nil
}

// Store holds the records of one runtime root: containerd gives each
// namespace its own --root, and ids are only unique within one. It is a
// directory RunDir/containers/<hash of the root>; the C front end does not
// compute that name, the front file gives it (Front.Records).
type Store struct{ s store[Record] }

// StoreFor returns the store of the runtime root root ("" = the default
// root of runtime, which differs between runc and crun) under runDir.
func StoreFor(runDir, root, runtime string) Store {
	key := root
	if key == "" {
		key = "default:" + filepath.Base(runtime)
	}
	return Store{store[Record]{
		dir:   filepath.Join(runDir, "containers", pathKey(key)),
		limit: maxRecordSize,
		stale: func(r *Record) bool { return !r.Current() },
	}}
}

// Dir is the store's directory.
func (s Store) Dir() string { return s.s.dir }

// Path returns where the record of container id lives.
func (s Store) Path(id string) string { return s.s.path(id) }

// Get loads the record of id. No record (or an id that cannot have one)
// is (nil, nil); a record that is not a regular file owned by this user
// and writable only by it, or not a record for id, is an error.
func (s Store) Get(id string) (*Record, error) {
	if !ValidID(id) {
		return nil, nil
	}
	r, err := s.s.get(id)
	if err == nil && r != nil {
		err = r.check(id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRecord, s.Path(id), err)
	}
	return r, nil
}

// Put stores r atomically, so a concurrent exec sees the old record or
// the new one, never half of one.
func (s Store) Put(r *Record) error {
	if !ValidID(r.ID) {
		return fmt.Errorf("%w: container id %q (want letters, digits, _ + - .)", ErrRecord, r.ID)
	}
	if _, err := s.s.put(r.ID, r); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// Delete removes the record of id; a missing one is not an error.
func (s Store) Delete(id string) error {
	if !ValidID(id) {
		return nil
	}
	if err := s.s.remove(id); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// GC checks at most max records (max <= 0: all), picked at random, and
// removes those whose config file is gone or replaced (containers deleted
// without the wrapper seeing it: runc run without --detach deletes its
// container itself); it returns how many it removed. create checks
// GCBatch.
func (s Store) GC(max int) int { return s.s.gc(max) }
