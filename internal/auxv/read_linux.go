package auxv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReadSelf returns this process's saved auxiliary vector: PR_GET_AUXV
// (Linux 6.4+), else /proc/self/auxv.
func ReadSelf() (Vector, error) {
	buf := make([]byte, MaxSize)
	n, err := prctlGetAuxv(buf)
	if err == nil && n > 0 && n <= len(buf) {
		return Decode(trimNull(buf[:n]), Native)
	}
	return ReadFile("/proc/self/auxv")
}

// ReadPID returns the saved auxiliary vector of process pid from
// /proc/PID/auxv (which needs ptrace read access to pid).
func ReadPID(pid int) (Vector, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("read auxv: invalid pid %d", pid)
	}
	return ReadFile("/proc/" + strconv.Itoa(pid) + "/auxv")
}

// ReadFile decodes a native-format auxv file (a /proc/PID/auxv or a dump).
func ReadFile(path string) (Vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) == 0 {
		// The kernel returns an empty file for a zombie or kernel thread.
		return nil, fmt.Errorf("read %s: %w: empty (process exited?)", path, ErrMalformed)
	}
	// /proc/PID/auxv ends at AT_NULL: decode it whole, so that the size
	// and shape checks of Decode apply to what a file holds.
	v, err := Decode(b, Native)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(v) == 0 {
		// A process between fork and the kernel's writing of its new
		// saved vector reads as all zeros.
		return nil, fmt.Errorf("read %s: %w", path, ErrEmpty)
	}
	return v, nil
}

// trimNull cuts an encoded native vector after its first AT_NULL entry, so
// that the zero padding PR_GET_AUXV copies out does not count.
func trimNull(b []byte) []byte {
	es := 2 * Native.WordSize
	for off := 0; off+es <= len(b); off += es {
		var typ uint64
		if Native.WordSize == 4 {
			typ = uint64(Native.Order.Uint32(b[off:]))
		} else {
			typ = Native.Order.Uint64(b[off:])
		}
		if typ == AT_NULL {
			return b[:off+es]
		}
	}
	return b
}

// ErrEmpty is returned for a vector with no entries: what /proc/PID/auxv
// shows for a process that has exited (a zombie) or is still in execve.
var ErrEmpty = fmt.Errorf("%w: no entries (process exited, or still in execve)", ErrMalformed)

// ErrNoGetAuxv means the kernel predates PR_GET_AUXV.
var ErrNoGetAuxv = errors.New("PR_GET_AUXV not supported")

// ReadStack returns the auxiliary vector as it was on this process's
// initial stack, where the Go runtime read it at start (x/sys/unix.Auxv).
// That copy is what programs see (glibc's getauxval, Go's runtime, static
// C walking past envp); the saved vector (ReadSelf, /proc/PID/auxv) is the
// kernel's own, which the eBPF backend cannot change. The two differ only
// in a process that the eBPF backend masked.
func ReadStack() (Vector, error) {
	pairs, err := unix.Auxv()
	if err != nil {
		return nil, fmt.Errorf("read the initial stack's auxiliary vector: %w", err)
	}
	v := make(Vector, 0, len(pairs))
	for _, p := range pairs {
		if p[0] == AT_NULL {
			break
		}
		v = append(v, Entry{Type: uint64(p[0]), Val: uint64(p[1])})
	}
	if len(v) == 0 {
		return nil, ErrEmpty
	}
	return v, nil
}

// ReadPIDStack returns the auxiliary vector on process pid's initial stack
// (what its programs saw), read through /proc/PID/mem from the stack start
// in /proc/PID/stat: argc, argv[], NULL, envp[], NULL, then the vector. It
// needs ptrace access to pid. The kernel's copy, ReadPID, differs from it
// only in a process masked by hwcap's eBPF backend, or one that rewrote
// its own stack.
func ReadPIDStack(pid int) (Vector, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("read stack auxv: invalid pid %d", pid)
	}
	if wordSize != 8 {
		return nil, errors.New("read stack auxv: only 64-bit processes")
	}
	p := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(p + "/stat")
	if err != nil {
		return nil, err
	}
	f, err := statFields(stat)
	if err != nil {
		return nil, fmt.Errorf("%s/stat: %w", p, err)
	}
	sp := f[28] // startstack
	if sp == 0 {
		return nil, fmt.Errorf("%s/stat: no stack start (kernel thread, or exited)", p)
	}
	mem, err := os.Open(p + "/mem")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	buf := make([]byte, 8)
	word := func(addr uint64) (uint64, error) {
		if _, err := mem.ReadAt(buf, int64(addr)); err != nil {
			return 0, fmt.Errorf("%s/mem at %#x: %w", p, addr, err)
		}
		return Native.Order.Uint64(buf), nil
	}
	argc, err := word(sp)
	if err != nil {
		return nil, err
	}
	if argc > 1<<20 {
		return nil, fmt.Errorf("%w: argc %d at the stack start of pid %d", ErrMalformed, argc, pid)
	}
	at := sp + 8*(argc+2) // past argv[] and its NULL
	for n := 0; ; n++ {
		w, err := word(at)
		if err != nil {
			return nil, err
		}
		at += 8
		if w == 0 {
			break
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("%w: no end of envp on the stack of pid %d", ErrMalformed, pid)
		}
	}
	var v Vector
	for len(v) <= MaxSize/16 {
		typ, err := word(at)
		if err != nil {
			return nil, err
		}
		val, err := word(at + 8)
		if err != nil {
			return nil, err
		}
		at += 16
		if typ == AT_NULL {
			return v, nil
		}
		v = append(v, Entry{Type: typ, Val: val})
	}
	return nil, fmt.Errorf("%w: no AT_NULL on the stack of pid %d", ErrMalformed, pid)
}
