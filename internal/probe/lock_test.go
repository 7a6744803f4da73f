package probe

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// A burst of first-time callers (50 containers on a fresh boot) used to
// probe once each and rewrite probe.json once each. Now the first probes
// and stores; the rest wait on the lock and read its result. Counted with
// inotify: exactly one rename onto probe.json, from separate processes'
// worth of callers (each goroutine opens its own lock description).
func TestCachedProbesOnceUnderConcurrency(t *testing.T) {
	dir := t.TempDir()
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, dir, unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	caches := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := Cached(dir)
			if err != nil {
				t.Error(err)
				return
			}
			caches[i] = r.Cache
		}(i)
	}
	wg.Wait()
	misses := 0
	for _, c := range caches {
		if c == "miss" {
			misses++
		}
	}
	renames, temps := 0, 0
	buf := make([]byte, 64<<10)
	for {
		k, err := unix.Read(in, buf)
		if k <= 0 || err != nil {
			break
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen], "\x00"))
			if mask&unix.IN_MOVED_TO != 0 && name == CacheFile {
				renames++
			}
			if mask&unix.IN_CREATE != 0 && name != lockFile {
				temps++
			}
			off += unix.SizeofInotifyEvent + nameLen
		}
	}
	if misses != 1 || renames != 1 || temps != 1 {
		t.Fatalf("%d callers: %d probed (caches %v), %d renames onto %s, %d temp files; want 1 each", n, misses, caches, renames, CacheFile, temps)
	}
	if _, err := os.Stat(dir + "/" + CacheFile); err != nil {
		t.Fatal(err)
	}
}
