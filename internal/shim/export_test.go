package shim

import (
	"flag"

	"golang.org/x/sys/unix"
)

func errHelp() error { return flag.ErrHelp }

func mkfifo(path string) error { return unix.Mkfifo(path, 0o644) }
