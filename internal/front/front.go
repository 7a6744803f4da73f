//go:build cgo

package front

/*
#include <stdlib.h>
#include "front.h"
*/
import "C"

import (
	"unsafe"
)

// Kinds of decision (front.h).
const (
	KindGo     = int(C.FRONT_GO)
	KindPass   = int(C.FRONT_PASS)
	KindCreate = int(C.FRONT_CREATE)
	KindExec   = int(C.FRONT_EXEC)
)

// Args is what the front end understood of argv.
type Args struct {
	Kind         int
	Root, Bundle string
	HasRoot      bool
	ID           string
}

// cStrings returns a NULL-terminated C array of copies of ss, and a func
// that frees them.
func cStrings(ss []string) (**C.char, func()) {
	arr := (**C.char)(C.calloc(C.size_t(len(ss)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	view := unsafe.Slice(arr, len(ss)+1)
	for i, s := range ss {
		view[i] = C.CString(s)
	}
	return arr, func() {
		for i := range ss {
			C.free(unsafe.Pointer(view[i]))
		}
		C.free(unsafe.Pointer(arr))
	}
}

// Parse runs the front end's argv parser on argv (argv[0] included).
func Parse(argv []string) Args {
	arr, free := cStrings(argv)
	defer free()
	var a C.struct_front_args
	C.front_parse(C.int(len(argv)), arr, &a)
	out := Args{Kind: int(a.kind)}
	if a.root != nil {
		out.Root, out.HasRoot = C.GoString(a.root), true
	}
	if a.bundle != nil {
		out.Bundle = C.GoString(a.bundle)
	}
	if a.id != nil {
		out.ID = C.GoString(a.id)
	}
	return out
}

// Decide runs the whole decision for argv and env with front files in dir,
// without exec. It may write a marker (KindCreate).
func Decide(argv, env []string, dir string) (kind int, runtime string) {
	arr, free := cStrings(argv)
	defer free()
	envp, freeEnv := cStrings(env)
	defer freeEnv()
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	buf := (*C.char)(C.malloc(4096))
	defer C.free(unsafe.Pointer(buf))
	k := C.front_decide(C.int(len(argv)), arr, envp, cdir, buf, 4096)
	if int(k) != KindGo {
		runtime = C.GoString(buf)
	}
	return int(k), runtime
}

// FNV is FNV-1a 64 of s, as the front end computes it.
func FNV(s string) uint64 {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	return uint64(C.front_fnv(cs))
}
