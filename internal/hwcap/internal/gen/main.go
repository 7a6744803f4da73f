// Command gen writes internal/hwcap's feature tables (zz_generated_tables.go)
// from the kernel's own sources: the uapi hwcap headers for the bits and the
// /proc/cpuinfo name tables for the names, so that a new kernel's bits are
// one command away:
//
//	HWCAP_KERNEL_SRC=$(hack/kernel-src.sh | tail -n1) go generate ./internal/hwcap
//
// It reads only the files listed in sources.go (hack/kernel-src.sh extracts
// exactly those from Debian's linux-source tarball) and is strict: a table
// it cannot find, a line inside a table it does not understand, or a name
// that maps to no bit is an error, never a silently shorter table.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hwcap/hwcap/internal/atomicfile"
)

// defaultCache mirrors hack/kernel-src.sh: ${HWCAP_CACHE:-/var/cache/hwcap}.
const (
	defaultCache = "/var/cache/hwcap"
	cacheSubdir  = "linux-source-7.3-hwcap"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("src", "", "kernel source tree (default $HWCAP_KERNEL_SRC, else ${HWCAP_CACHE:-"+defaultCache+"}/"+cacheSubdir+")")
	out := fs.String("o", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "gen: unexpected argument %q (usage: gen [-src DIR] [-o FILE])\n", fs.Arg(0))
		return 2
	}
	dir, err := sourceDir(*src, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	code, err := Generate(dir)
	if err != nil {
		fmt.Fprintf(stderr, "gen: %s: %v\n", dir, err)
		return 1
	}
	if *out == "-" {
		if _, err := stdout.Write(code); err != nil {
			fmt.Fprintf(stderr, "gen: write stdout: %v\n", err)
			return 1
		}
		return 0
	}
	if err := atomicfile.WriteFile(*out, code, 0o644); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	return 0
}

// sourceDir picks the kernel tree: the flag, else $HWCAP_KERNEL_SRC, else
// the directory hack/kernel-src.sh extracts to.
func sourceDir(flagValue string, getenv func(string) string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = getenv("HWCAP_KERNEL_SRC")
	}
	if dir == "" {
		cache := getenv("HWCAP_CACHE")
		if cache == "" {
			cache = defaultCache
		}
		dir = filepath.Join(cache, cacheSubdir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("kernel source %s does not exist (run hack/kernel-src.sh, or set HWCAP_KERNEL_SRC or -src)", dir)
		}
		return "", fmt.Errorf("kernel source: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("kernel source %s is not a directory (want the top of a kernel tree)", dir)
	}
	return dir, nil
}
