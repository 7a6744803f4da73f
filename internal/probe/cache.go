package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/atomicfile"
	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
)

// CacheFile is the name of the cache file inside the run directory.
const CacheFile = "probe.json"

// maxCacheSize bounds what we read back; a real file is ~300 bytes.
const maxCacheSize = 16 << 10

// DefaultDir is where the cache lives unless HWCAP_RUN_DIR says otherwise.
const DefaultDir = "/run/hwcap"

// Dir returns $HWCAP_RUN_DIR or DefaultDir.
func Dir() string {
	if d := os.Getenv("HWCAP_RUN_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

// Cached returns this boot's probe result from dir/probe.json, probing and
// storing it when the file is missing, stale (other boot, kernel or format),
// corrupt or untrusted. A path that the cached run could not try
// (Unavailable) but that this process may use now is probed again. Failing
// to store is not an error: the result says so in Cache.
func Cached(dir string) (*Result, error) {
	boot := bootID()
	bpfDir := bpf.Dir()
	stamp := bpfStamp(bpfDir)
	r, ok := load(dir, boot)
	if ok && !needsRetry(r) && r.BPFStamp == stamp && !bpfNeedsRetry(r, stamp) {
		r.Cache = "hit"
		return r, nil
	}
	// Serialise probing: without the lock, every container of a burst
	// started on a fresh boot probes (two execs per path) and rewrites the
	// file. The first to take the lock probes and stores; the others wait
	// and read its result. No lock (e.g. an unwritable dir): probe anyway.
	if unlock := lock(dir); unlock != nil {
		defer unlock()
		r, ok = load(dir, boot)
	}
	if ok && !needsRetry(r) {
		if r.BPFStamp == stamp && !bpfNeedsRetry(r, stamp) {
			r.Cache = "hit"
			return r, nil
		}
		// The prctl verdicts stand for the boot; only the bpf backend was
		// installed, upgraded or removed since (or cannot be seen from
		// here: a container without the host's bpffs).
		pr, err := runBPF(bpfDir)
		if err != nil {
			return nil, err
		}
		r.BPF, r.BPFStamp = pr, stamp
		storeAs(dir, r)
		return r, nil
	}
	r, err := Run()
	if err != nil {
		return nil, err
	}
	storeAs(dir, r)
	return r, nil
}

// storeAs stores r and records in r.Cache how that went; failing to store
// is not an error.
func storeAs(dir string, r *Result) {
	if err := store(dir, r); err != nil {
		r.Cache = "off: " + err.Error()
	} else {
		r.Cache = "miss"
	}
}

// needsRetry is true when a path the cached run could not try is one this
// process can use (e.g. cached by an unprivileged caller, read by root).
func needsRetry(r *Result) bool {
	for _, p := range auxv.AvailablePaths() {
		if r.Paths[p].Status == Unavailable {
			return true
		}
	}
	return false
}

// bpfNeedsRetry: an installed backend that the cached run could not use
// (a caller without CAP_BPF, or a container without the host's bpffs,
// wrote the cache) is probed again by a caller that may use it.
func bpfNeedsRetry(r *Result, stamp string) bool {
	return r.BPF != nil && r.BPF.Status == Unavailable && !strings.HasSuffix(stamp, "|absent") && bpf.MayUse()
}

// load reads and validates the cache file. Any doubt means "not cached".
func load(dir, boot string) (*Result, bool) {
	if boot == "" {
		return nil, false
	}
	// Plain open/fstat/read/close: this runs on every container start, and
	// an *os.File (poller registration, Fd() back to blocking) doubles the
	// system calls (make bench, BenchmarkCached).
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Open(filepath.Join(dir, CacheFile), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	if !trusted(fd) {
		return nil, false
	}
	b, err := readAllFD(fd, maxCacheSize)
	if err != nil {
		return nil, false
	}
	var r Result
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, false
	}
	if r.Version != resultVersion || r.BootID != boot || r.Kernel != kernelRelease() {
		return nil, false
	}
	for _, p := range auxv.Paths {
		switch r.Paths[p].Status {
		case Inherited, NotInherited, Unavailable:
		default:
			return nil, false
		}
	}
	if r.BPF != nil {
		switch r.BPF.Status {
		case Inherited, NotInherited, Unavailable:
		default:
			return nil, false
		}
	}
	return &r, true
}

// trusted: a regular file, owned by root or by our effective uid, not
// writable by group or others.
func trusted(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return false
	}
	return st.Mode&0o022 == 0
}

// store writes the result atomically (atomicfile: temp file, fsync, rename).
// A reader sees the old file or the new one, never a torn one.
func store(dir string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CacheFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("store probe cache: %w", err)
	}
	return nil
}

// lockFile serialises probing in the run directory.
const lockFile = "probe.lock"

// lock takes an exclusive flock on dir/probe.lock, waiting for it; nil if
// the lock file cannot be opened. The lock is released when the process
// exits, so a killed prober does not block the next one.
func lock(dir string) func() {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	fd, err := unix.Open(filepath.Join(dir, lockFile), unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil
	}
	return func() { unix.Close(fd) }
}

// ErrNoCache is returned by Peek when there is no valid cache entry.
var ErrNoCache = errors.New("no valid probe cache for this boot")

// Peek returns the cached result without probing.
func Peek(dir string) (*Result, error) {
	r, ok := load(dir, bootID())
	if !ok {
		return nil, ErrNoCache
	}
	r.Cache = "hit"
	return r, nil
}
