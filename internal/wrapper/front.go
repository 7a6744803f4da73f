package wrapper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hwcap/hwcap/internal/atomicfile"
	"github.com/hwcap/hwcap/internal/config"
)

// FrontDir holds the front files that hwcap-runtime's C front end reads
// (internal/front): one per node configuration path, whatever its runDir.
const FrontDir = "/run/hwcap"

// frontHeader is the first line of a front file; frontMaxRuntimes and
// frontMaxSize are the front end's limits (front.c).
const (
	frontHeader      = "hwcap-front 1"
	frontMaxRuntimes = 16
	frontMaxSize     = 16<<10 - 1
)

// pathKey names a front file or a record directory: FNV-1a 64 of s in hex,
// which the front end computes the same way. The keys are paths chosen by
// the node's operator and engine, not by containers.
func pathKey(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}

// FrontPath returns the front file for the node configuration at cfgPath.
func FrontPath(dir, cfgPath string) string {
	return filepath.Join(dir, "front-"+pathKey(cfgPath))
}

// FrontContent returns the front file for node n, loaded from cfgPath
// whose identity is st (nil: the file is absent and n holds the built-in
// defaults). ok is false when a value cannot be written on one line; then
// there is no front file and every call is the Go wrapper's.
func FrontContent(cfgPath string, st *syscall.Stat_t, n *config.Node) (data []byte, ok bool) {
	if n == nil || len(n.Runtimes) == 0 || len(n.Runtimes) > frontMaxRuntimes || !filepath.IsAbs(n.RunDir) {
		return nil, false
	}
	for _, s := range append([]string{cfgPath, n.RunDir}, n.Runtimes...) {
		if s == "" || strings.ContainsAny(s, "\n\x00") {
			return nil, false
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nconfig %s\n", frontHeader, cfgPath)
	if st == nil {
		b.WriteString("stat absent\n")
	} else {
		fmt.Fprintf(&b, "stat %d %d %d %d %d %d %d\n", st.Dev, st.Ino, st.Size,
			st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	}
	fmt.Fprintf(&b, "run-dir %s\n", n.RunDir)
	for _, r := range n.Runtimes {
		fmt.Fprintf(&b, "runtime %s\n", r)
	}
	b.WriteString("end\n")
	if b.Len() > frontMaxSize {
		return nil, false
	}
	return b.Bytes(), true
}

// statConfig returns the identity of the configuration file: (nil, nil)
// when it does not exist.
func statConfig(path string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	if errors.Is(err, syscall.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

func sameFile(a, b *syscall.Stat_t) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Dev == b.Dev && a.Ino == b.Ino && a.Size == b.Size && a.Mtim == b.Mtim && a.Ctim == b.Ctim
}

// WriteFront keeps the front file for cfgPath current after n was loaded
// from it. before and after are the file's identity around the load: if
// they differ, the file changed while it was read and no front file is
// written (the next call loads it again). An explicit path ($HWCAP_CONFIG)
// that is absent never gets one. The file is replaced atomically and only
// when its content changes; errors are returned for the caller to ignore:
// without a front file hwcap-runtime is only slower.
func WriteFront(dir, cfgPath string, explicit bool, before, after *syscall.Stat_t, n *config.Node) error {
	if !sameFile(before, after) || (after == nil && explicit) {
		return nil
	}
	data, ok := FrontContent(cfgPath, after, n)
	if !ok {
		return nil
	}
	p := FrontPath(dir, cfgPath)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	gcFronts(dir, p)
	return nil
}

// gcFronts removes the front files in dir, other than keep, whose
// configuration file no longer exists (a test's, or a moved one). It runs
// only when a front file was written.
func gcFronts(dir, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if !strings.HasPrefix(e.Name(), "front-") || !e.Type().IsRegular() || p == keep {
			continue
		}
		cfg, ok := frontConfig(p)
		if !ok {
			continue
		}
		if _, err := os.Stat(cfg); errors.Is(err, fs.ErrNotExist) {
			os.Remove(p)
		}
	}
}

// frontConfig returns the configuration path a front file names.
func frontConfig(p string) (string, bool) {
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() || s.Text() != frontHeader || !s.Scan() {
		return "", false
	}
	return strings.CutPrefix(s.Text(), "config ")
}

// PlainPath returns the marker the front end leaves for container id when
// it passed a create through (a config without hwcap.dev/ keys): it holds
// the config file's path, for a later exec.
func PlainPath(runDir, root, runtime, id string) string {
	return filepath.Join(recordDir(runDir, root, runtime), id+".plain")
}

// RemovePlain deletes the marker of id; a missing one is not an error.
func RemovePlain(runDir, root, runtime, id string) error {
	return removeFor(id, PlainPath(runDir, root, runtime, id))
}
