package wrapper

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hwcap/hwcap/internal/config"
)

// FrontDir holds the front files that hwcap-runtime's C front end reads
// (internal/front), whatever the node configuration's runDir: the front
// end must find its file before it knows any configuration.
const FrontDir = "/run/hwcap/front"

// FrontVersion is the format version of a front file.
const FrontVersion = 2

// maxFrontSize bounds a front file (the front end reads it into a buffer
// of this size).
const maxFrontSize = 16 << 10

// EnvFront set to "off" turns the C front end off: every call is the Go
// wrapper's.
const EnvFront = "HWCAP_FRONT"

// FrontKey is what a front file answers for: the caller's $HWCAP_CONFIG,
// $PATH and $HWCAP_RUNTIME and the --root it gives, byte for byte. What
// the Go wrapper derives from them (the node configuration, the runtime
// Lookup finds, the records directory) is in the file; the front end
// derives nothing.
type FrontKey struct{ Config, Path, Runtime, Root string }

// frontKeyOf is the key of a call with environment getenv and --root root.
func frontKeyOf(getenv func(string) string, root string) FrontKey {
	return FrontKey{Config: getenv(config.EnvConfig), Path: getenv("PATH"), Runtime: getenv(EnvRuntime), Root: root}
}

func (k FrontKey) list() []string { return []string{k.Config, k.Path, k.Runtime, k.Root} }

// Name names the key's front file: FNV-1a 64 of its four strings joined
// by NUL bytes, in hex. It is the one value the front end computes itself
// (front.c, front_name; TestFrontName compares the two).
func (k FrontKey) Name() string { return pathKey(strings.Join(k.list(), "\x00")) }

// FrontPath returns the front file of key k in dir.
func FrontPath(dir string, k FrontKey) string { return frontStore(dir).path(k.Name()) }

// Front is a front file: for one FrontKey, the real runtime and the
// records directory, valid while every watched file keeps its identity.
// The Go wrapper writes it after it has loaded and validated the node
// configuration and found the runtime; the C front end only reads it.
type Front struct {
	Version int `json:"version"`
	// Key is the FrontKey as a list (config, path, runtime, root): the
	// front end compares it with its own, so a hash collision is a miss.
	Key []string `json:"key"`
	// Watch lists "IDENTITY PATH": the node configuration first, then
	// every runtime candidate Lookup looked at, the runtime last. If one
	// of them changed (a runtime installed earlier on PATH, an upgrade,
	// an edited configuration) the file is stale and the next call is the
	// Go wrapper's, which writes it again.
	Watch   []string `json:"watch"`
	Runtime string   `json:"runtime"`
	// Records is the records directory of the key's root (Store.Dir).
	Records string `json:"records"`
}

func frontStore(dir string) store[Front] {
	return store[Front]{dir: dir, limit: maxFrontSize, stale: func(f *Front) bool { return !f.Current() }}
}

// ReadFront returns the front file of key k in dir: (nil, nil) if there is
// none, an error if it is not a front file this user alone could have
// written. It does not check that the file is current.
func ReadFront(dir string, k FrontKey) (*Front, error) { return frontStore(dir).get(k.Name()) }

// Current reports whether every file f watches still has its identity.
func (f *Front) Current() bool { return stillWatched(f.Watch) }

// WriteFront stores f as the front file of its key in dir, unless it
// holds exactly that already; when it writes, it also collects stale
// front files (a test's configuration gone, an old runtime).
func WriteFront(dir string, f *Front) error {
	if len(f.Key) != 4 {
		return fmt.Errorf("front file key %q: want 4 strings", f.Key)
	}
	k := FrontKey{Config: f.Key[0], Path: f.Key[1], Runtime: f.Key[2], Root: f.Key[3]}
	// /run/hwcap is also the default runDir, which others read (the probe
	// cache): 0755 as the probe makes it; the front directory is 0700.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	s := frontStore(dir)
	wrote, err := s.put(k.Name(), f)
	if wrote && err == nil {
		s.gc(GCBatch)
	}
	return err
}

// writeFront leaves the front file of this call's key for the C front
// end, if the node configuration and the runtime's lookup can be watched
// (cfgWatch from loadNode, watch from lookup), and makes the records
// directory the front end writes into. Errors are ignored: without a
// front file hwcap-runtime is only slower.
func (w *Wrapper) writeFront(cfgWatch string, watch []string) {
	if w.FrontDir == "" || cfgWatch == "" || watch == nil || !filepath.IsAbs(w.node.RunDir) {
		return
	}
	f := &Front{
		Version: FrontVersion,
		Key:     frontKeyOf(w.Getenv, w.inv.Root).list(),
		Watch:   append([]string{cfgWatch}, watch...),
		Runtime: w.runtime,
		Records: w.store().Dir(),
	}
	_ = WriteFront(w.FrontDir, f)
	_ = os.MkdirAll(f.Records, 0o700)
}
