package wrapper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvRuntime overrides the node configuration's runtimes list with one name
// or absolute path.
const EnvRuntime = "HWCAP_RUNTIME"

// Sentinel errors of the wrapper.
var (
	ErrNoRuntime  = errors.New("no real OCI runtime found")
	ErrBadRuntime = errors.New("invalid runtime setting")
	ErrBundle     = errors.New("cannot read the bundle's configuration")
	ErrRecord     = errors.New("bad container record")
)

// DefaultPath is searched when $PATH is unset or empty: podman's cleanup
// path (conmon, podman container cleanup) runs the runtime with no PATH.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Lookup finds the real runtime: the first of names that is an executable
// file, searching path (a $PATH value) for names without a slash. Any
// candidate that is the same file as self (the wrapper, e.g. installed as
// /usr/local/bin/runc ahead of /usr/sbin/runc) is skipped, so the wrapper
// never execs itself. It only stats files; it reads none.
func Lookup(names []string, path string, self os.FileInfo) (string, error) {
	rt, _, err := lookup(names, path, self)
	return rt, err
}

// lookup is Lookup that also returns what it looked at: every candidate
// path in order, the one found last, as "IDENTITY PATH" (watched). The
// front file carries that list, so that the C front end, instead of
// searching again, only checks that none of those files changed. watch is
// nil when a candidate could not be stat'ed for a reason other than its
// absence: then there is nothing to check against.
func lookup(names []string, path string, self os.FileInfo) (rt string, watch []string, err error) {
	if path == "" {
		path = DefaultPath
	}
	var tried []string
	watchable := true
	try := func(p string) bool {
		ok, id := usable(p, self)
		watch = append(watch, watched(p, id))
		watchable = watchable && id != ""
		return ok
	}
	for _, name := range names {
		if name == "" || strings.ContainsRune(name, 0) {
			return "", nil, fmt.Errorf("%w: runtime name %q (want a name on PATH or an absolute path)", ErrBadRuntime, name)
		}
		if strings.Contains(name, "/") {
			if !filepath.IsAbs(name) {
				return "", nil, fmt.Errorf("%w: %q is a relative path (want a name on PATH or an absolute path)", ErrBadRuntime, name)
			}
			tried = append(tried, name)
			if try(name) {
				return name, watchList(watch, watchable), nil
			}
			continue
		}
		for _, dir := range filepath.SplitList(path) {
			if dir == "" || !filepath.IsAbs(dir) {
				// A relative PATH entry would make the runtime depend on
				// the caller's cwd (often the bundle): never search it.
				continue
			}
			p := filepath.Join(dir, name)
			if try(p) {
				return p, watchList(watch, watchable), nil
			}
		}
		tried = append(tried, name)
	}
	return "", nil, fmt.Errorf("%w: tried %s on PATH=%q (install runc or crun, or set %s or \"runtimes\" in the node configuration)",
		ErrNoRuntime, strings.Join(tried, ", "), path, EnvRuntime)
}

func watchList(w []string, ok bool) []string {
	if !ok {
		return nil
	}
	return w
}

// usable reports whether p is an executable regular file other than self,
// and p's identity ("" if it could not be stat'ed for a reason other than
// its absence).
func usable(p string, self os.FileInfo) (bool, string) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, absent
	}
	if err != nil {
		return false, ""
	}
	ok := st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 && (self == nil || !os.SameFile(st, self))
	return ok, infoIdentity(st)
}

// ownExecutable returns the wrapper's own executable, for Lookup to skip.
// /proc/self/exe is a magic link, not a file read; if it fails, nothing
// can be excluded.
func ownExecutable() os.FileInfo {
	st, err := os.Stat("/proc/self/exe")
	if err != nil {
		return nil
	}
	return st
}
