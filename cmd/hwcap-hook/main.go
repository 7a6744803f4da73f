// Command hwcap-hook is an OCI hook that guards, and for podman arranges,
// HWCAP masks requested by hwcap.dev/* annotations. See internal/hook.
package main

import (
	"os"

	"github.com/hwcap/hwcap/internal/hook"
	"github.com/hwcap/hwcap/internal/probe"
)

func main() {
	probe.MaybeChild() // the kernel probe re-executes this binary
	os.Exit(hook.Main(os.Args[1:]))
}
