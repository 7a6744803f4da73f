package wrapper

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// absent is the identity of a path that does not exist.
const absent = "absent"

// formatIdentity names one version of a file: device, inode, size, and the
// modification and change times to the nanosecond, in decimal. A file
// rewritten, replaced, renamed over, chmod'ed or linked gets another. A
// record holds its config file's identity, and a front file those of the
// node configuration and of every runtime candidate; the C front end
// compares the same string, formatted the same way (front.c,
// format_identity; TestIdentity compares the two).
func formatIdentity(st *syscall.Stat_t) string {
	return fmt.Sprintf("%d %d %d %d %d %d %d", uint64(st.Dev), st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

// Identity returns the identity of the file at path (symlinks followed),
// "absent" when it does not exist, and an error for any other failure.
func Identity(path string) (string, error) {
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	if errors.Is(err, syscall.ENOENT) {
		return absent, nil
	}
	if err != nil {
		return "", &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return formatIdentity(&st), nil
}

// infoIdentity is the identity of a file already opened and stat'ed.
func infoIdentity(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return formatIdentity(st)
	}
	return ""
}

// watched is "IDENTITY PATH", the form a front file lists its files in.
func watched(path, id string) string { return id + " " + path }

// stillWatched reports whether every "IDENTITY PATH" of w still holds.
func stillWatched(w []string) bool {
	for _, e := range w {
		id, path, ok := cutIdentity(e)
		if !ok {
			return false
		}
		if now, err := Identity(path); err != nil || now != id {
			return false
		}
	}
	return true
}

// cutIdentity splits "IDENTITY PATH": the identity is "absent" or seven
// numbers, the path the rest.
func cutIdentity(e string) (id, path string, ok bool) {
	if p, ok := strings.CutPrefix(e, absent+" "); ok && p != "" {
		return absent, p, true
	}
	f := strings.SplitN(e, " ", 8)
	if len(f) != 8 || f[7] == "" {
		return "", "", false
	}
	return strings.Join(f[:7], " "), f[7], true
}
