//go:build cgo

package main

// The front end runs before the Go runtime: glibc calls ELF constructors
// with (argc, argv, envp) before main. It execs the real runtime for calls
// that cannot need a mask, or returns and the Go wrapper runs.

/*
#cgo CFLAGS: -I${SRCDIR}/../../internal/front
#include "front.h"

__attribute__((constructor)) static void hwcap_front_init(int argc, char **argv, char **envp)
{
	front_main(argc, argv, envp);
}
*/
import "C"

import _ "github.com/hwcap/hwcap/internal/front" // front_main
