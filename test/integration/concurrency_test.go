package integration

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/testutil"
)

// dirEvents counts inotify events on one directory.
type dirEvents struct {
	fd int
}

func watchDir(t *testing.T, dir string) *dirEvents {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	return &dirEvents{fd: fd}
}

// drain returns, per file name, how many times it was created and renamed
// onto.
func (d *dirEvents) drain() (created, renamed map[string]int, overflow bool) {
	created, renamed = map[string]int{}, map[string]int{}
	buf := make([]byte, 256<<10)
	for {
		n, err := unix.Read(d.fd, buf)
		if n <= 0 || err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+l], "\x00"))
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				overflow = true
			case mask&unix.IN_MOVED_TO != 0:
				renamed[name]++
			case mask&unix.IN_CREATE != 0:
				created[name]++
			}
			off += unix.SizeofInotifyEvent + l
		}
	}
}

// TestConcurrency50Containers starts 50 containers at once through
// hwcap-runtime (wrapping runc) with the hook's createRuntime and
// poststart stages, half of them masked under policy warn (this kernel
// does not pass masks on, so they run unmasked, logged) and half with no
// annotation, from an empty run directory. All must start and exit 0; the
// probe cache is probed and written exactly once (inotify: one temp file,
// one rename onto probe.json); every line of the shared node log is a
// whole JSON record, with the records each container should leave.
func TestConcurrency50Containers(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	feat := hostFeatureName(t)
	n := newHookNode(t, "warn", false)
	w := wrapped(t, rt)
	if err := os.MkdirAll(n.RunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ev := watchDir(t, n.RunDir)
	hooks := exampleHooks(t, n)

	const total = 50
	type result struct {
		id     string
		masked bool
		code   int
		out    string
	}
	bundles := make([]*testutil.Bundle, total)
	ids := make([]string, total)
	for i := range bundles {
		b := testutil.NewBundle(t, "/bin/sh", "-c", "sleep 0.2")
		b.Spec.Process.Terminal = false
		b.Spec.Hooks = hooks
		if i%2 == 0 {
			b.Spec.Annotations = map[string]string{"hwcap.dev/deny": feat}
		}
		b.Write(t)
		bundles[i], ids[i] = b, testutil.ID(fmt.Sprintf("conc%02d", i))
		id := ids[i]
		t.Cleanup(func() { rt.Delete(t, id) })
	}
	env := append(n.envFor(rt.Bin), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	results := make([]result, total)
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			c := w.Cmd(bundles[i].Dir, env, "run", "--bundle", bundles[i].Dir, ids[i])
			c.Timeout = 90 * time.Second
			res := testutil.Try(t, c) // not Run: no t.Fatal off the test's goroutine
			out := res.Combined()
			if res.TimedOut {
				out = res.Report()
			}
			results[i] = result{id: ids[i], masked: i%2 == 0, code: res.Code, out: out}
		}(i)
	}
	close(start)
	wg.Wait()
	t.Logf("%d containers in %s", total, time.Since(began).Round(time.Millisecond))

	for _, r := range results {
		if r.code != 0 {
			t.Errorf("container %s (masked %v): exit %d: %s", r.id, r.masked, r.code, r.out)
		}
	}

	created, renamed, overflow := ev.drain()
	if overflow {
		t.Fatal("inotify queue overflowed")
	}
	temps := 0
	for name, k := range created {
		if strings.HasPrefix(name, "."+probe.CacheFile) {
			temps += k
		}
	}
	if renamed[probe.CacheFile] != 1 || temps != 1 {
		t.Errorf("probe cache: %d renames onto %s, %d temp files (events: created %v renamed %v); want 1 and 1: probed once, written once",
			renamed[probe.CacheFile], probe.CacheFile, temps, created, renamed)
	}
	if _, err := probe.Peek(n.RunDir); err != nil {
		t.Errorf("the cache does not read back: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(n.RunDir, ".*"))
	if len(left) != 0 {
		t.Errorf("temp files left in the run directory: %v", left)
	}

	// Whole lines: records() fails on any line that is not JSON.
	recs := n.records(t)
	per := map[string][]string{}
	for _, r := range recs {
		c, _ := r["container"].(string)
		per[c] = append(per[c], fmt.Sprintf("%v/%v=%v", r["component"], r["stage"], r["decision"]))
	}
	for _, r := range results {
		got := strings.Join(per[r.id], " ")
		if !r.masked {
			if got != "" {
				t.Errorf("unmasked %s logged %q", r.id, got)
			}
			continue
		}
		ok := strings.Contains(got, "hwcap-runtime/run=warned") && strings.Contains(got, "hwcap-hook/createRuntime=warned") &&
			(strings.Contains(got, "hwcap-hook/poststart=warned") || strings.Contains(got, "hwcap-hook/poststart=exited")) && len(per[r.id]) == 3
		if !ok {
			t.Errorf("masked %s logged %q, want the wrapper's run=warned and the hook's createRuntime and poststart", r.id, got)
		}
	}
	if len(recs) != total/2*3 {
		t.Errorf("%d log records, want %d", len(recs), total/2*3)
	}
}

// envFor is the hook node's configuration for hwcap-runtime wrapping bin.
func (n *hookNode) envFor(bin string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HWCAP_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env, "HWCAP_CONFIG="+n.Config, "HWCAP_RUNTIME="+bin)
}
