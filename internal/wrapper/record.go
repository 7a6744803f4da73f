package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hwcap/hwcap/internal/atomicfile"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/spec"
)

// RecordVersion is the format version of a container record.
const RecordVersion = 1

// maxRecordSize bounds what we read back; a record is ~500 bytes.
const maxRecordSize = 64 << 10

// ValidID reports whether id can name a record (and a runc container):
// runc's rule (libcontainer's validateID), letters, digits and _ + - .,
// neither "." nor "..", since the id becomes a file name. A byte loop, as
// in runc: a regexp compiled at start-up costs every run of the wrapper.
func ValidID(id string) bool {
	if id == "" || len(id) > 1024 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// Record is what create/run/restore leave for a later exec into the same
// container: the mask its processes carry.
type Record struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Root    string `json:"root,omitempty"` // runtime --root as given
	Runtime string `json:"runtime"`        // real runtime path
	Bundle  string `json:"bundle"`
	Config  string `json:"config"` // config file path
	// ConfigIno/ConfigMtime identify the config file the mask came from;
	// exec ignores a record whose bundle config is no longer that file.
	ConfigIno   uint64 `json:"configIno"`
	ConfigMtime int64  `json:"configMtimeNs"`

	Masked  bool         `json:"masked"` // false: the container asked for nothing
	Keep    hwcap.Words  `json:"keep"`
	Policy  hwcap.Policy `json:"policy,omitempty"`
	Profile string       `json:"profile,omitempty"`
	Keys    []string     `json:"keys,omitempty"`
	Created time.Time    `json:"created"`
}

// Records are kept per runtime root: containerd gives each namespace its own
// --root, and ids are only unique within one. The directory is named by
// pathKey, which the C front end computes too (its .plain markers live
// next to the records).
func recordDir(runDir, root, runtime string) string {
	key := root
	if key == "" {
		key = "default:" + filepath.Base(runtime)
	}
	return filepath.Join(runDir, "containers", pathKey(key))
}

// RecordPath returns where the record of container id lives.
func RecordPath(runDir, root, runtime, id string) string {
	return filepath.Join(recordDir(runDir, root, runtime), id+".json")
}

// WriteRecord stores r atomically (atomicfile), so a concurrent exec sees
// the old record or the new one, never half of one.
func WriteRecord(runDir string, r *Record) error {
	if !ValidID(r.ID) {
		return fmt.Errorf("%w: container id %q (want letters, digits, _ + - .)", ErrRecord, r.ID)
	}
	dir := recordDir(runDir, r.Root, r.Runtime)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, r.ID+".json"), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// ReadRecord loads the record of id. A missing record is (nil, nil). A
// record not owned by this user, or writable by others, is refused: it
// would let someone else choose the mask.
func ReadRecord(runDir, root, runtime, id string) (*Record, error) {
	if !ValidID(id) {
		return nil, nil
	}
	p := RecordPath(runDir, root, runtime, id)
	data, st, err := spec.ReadRegular(p, maxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRecord, p, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%w %s: not a regular file owned by uid %d and writable only by it", ErrRecord, p, os.Geteuid())
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRecord, p, err)
	}
	if r.Version != RecordVersion || r.ID != id {
		return nil, fmt.Errorf("%w %s: version %d id %q (want version %d id %q)", ErrRecord, p, r.Version, r.ID, RecordVersion, id)
	}
	if r.Masked {
		if _, err := hwcap.ParsePolicy(string(r.Policy)); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrRecord, p, err)
		}
	}
	return &r, nil
}

// RemoveRecord deletes the record of id; a missing one is not an error.
func RemoveRecord(runDir, root, runtime, id string) error {
	return removeFor(id, RecordPath(runDir, root, runtime, id))
}

// removeFor removes p, the record or marker of id; nothing for an id that
// can name neither, and a missing file is not an error.
func removeFor(id, p string) error {
	if !ValidID(id) {
		return nil
	}
	err := os.Remove(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// Current reports whether the record still describes the container's
// config file: same path, same inode, same modification time.
func (r *Record) Current() bool {
	st, err := os.Stat(r.Config)
	if err != nil {
		return false
	}
	ino, mtime := fileID(st)
	return ino == r.ConfigIno && mtime == r.ConfigMtime
}

func fileID(st os.FileInfo) (ino uint64, mtimeNs int64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	return ino, st.ModTime().UnixNano()
}

// GCInterval is how often create garbage-collects the records of one
// root. A scan reads every live container's record (tens of µs each on a
// busy node), so scanning on every create made each create cost
// O(containers): +2 ms with 100 live containers (make bench,
// exec-wrapper-mask-live). A record left for up to GCInterval is harmless:
// exec checks it against the config file (Record.Current), and a create
// of the same id overwrites it.
const GCInterval = time.Minute

// gcStamp is the file whose mtime says when the records were last scanned
// (GCRecords only looks at *.json).
const gcStamp = ".gc"

// GCDue reports whether the records of (root, runtime) were not scanned in
// the GCInterval before now, and if so stamps the scan as done at now. A
// directory that does not exist yet has nothing to scan.
func GCDue(runDir, root, runtime string, now time.Time) bool {
	dir := recordDir(runDir, root, runtime)
	p := filepath.Join(dir, gcStamp)
	st, err := os.Lstat(p)
	if err == nil && st.Mode().IsRegular() {
		if age := now.Sub(st.ModTime()); age >= 0 && age < GCInterval {
			return false
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
		if err != nil {
			return true // no directory yet (nothing to scan), or unwritable: scan
		}
		f.Close()
	}
	_ = os.Chtimes(p, now, now)
	return true
}

// GCRecords removes the records (and the front end's markers) under the
// same root whose config file is gone: containers deleted without the wrapper seeing it (runc run without
// --detach deletes its container itself). It returns how many it removed.
func GCRecords(runDir, root, runtime string) int {
	dir := recordDir(runDir, root, runtime)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if filepath.Ext(name) == ".plain" && e.Type().IsRegular() {
			if gcPlain(filepath.Join(dir, name)) {
				n++
			}
			continue
		}
		if filepath.Ext(name) != ".json" || !e.Type().IsRegular() {
			continue
		}
		id := name[:len(name)-len(".json")]
		r, err := ReadRecord(runDir, root, runtime, id)
		if err != nil || r == nil {
			continue
		}
		if _, err := os.Stat(r.Config); errors.Is(err, fs.ErrNotExist) {
			if os.Remove(filepath.Join(dir, name)) == nil {
				n++
			}
		}
	}
	return n
}

// gcPlain removes a front-end marker (PlainPath) whose config file is gone.
func gcPlain(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil || len(data) > maxRecordSize {
		return false
	}
	cfg := strings.TrimSuffix(string(data), "\n")
	if !filepath.IsAbs(cfg) {
		return os.Remove(p) == nil
	}
	if _, err := os.Stat(cfg); errors.Is(err, fs.ErrNotExist) {
		return os.Remove(p) == nil
	}
	return false
}
