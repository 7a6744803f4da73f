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
// without exec. It may write a container record (KindCreate).
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

// Name is the name of the front file of key k, as the front end
// computes it (wrapper.FrontKey.Name is the Go wrapper's).
func Name(k [4]string) string {
	var ck [4]*C.char
	for i, s := range k {
		ck[i] = C.CString(s)
		defer C.free(unsafe.Pointer(ck[i]))
	}
	buf := (*C.char)(C.malloc(64))
	defer C.free(unsafe.Pointer(buf))
	C.front_name(&ck[0], buf, 64)
	return C.GoString(buf)
}

// Identity is the identity of the file at path as the front end formats
// it; ok is false when it cannot be stat'ed.
func Identity(path string) (id string, ok bool) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	buf := (*C.char)(C.malloc(256))
	defer C.free(unsafe.Pointer(buf))
	if C.front_identity(cp, buf, 256) < 0 {
		return "", false
	}
	return C.GoString(buf), true
}
