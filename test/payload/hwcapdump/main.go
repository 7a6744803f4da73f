// Command hwcapdump is a static test payload: it prints the AT_HWCAP* words
// the kernel gave it, one "hwcapN=0x..." line each, read from
// /proc/self/auxv, and with -children N it starts itself again through
// /bin/sh -c (if present) or directly, N levels deep, so that a test sees
// what a child and a grandchild were given.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

func main() {
	depth := flag.Int("children", 0, "levels of descendants to start")
	label := flag.String("label", "self", "label printed before each line")
	flag.Parse()
	v, err := auxv.ReadFile("/proc/self/auxv")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hwcapdump:", err)
		os.Exit(1)
	}
	w := v.HWCAPs()
	for i := range w {
		fmt.Printf("%s %s=0x%x\n", *label, hwcap.WordName[i], w[i])
	}
	if *depth > 0 {
		self, err := os.Executable()
		if err != nil {
			self = os.Args[0]
		}
		next := []string{self, "-children", strconv.Itoa(*depth - 1), "-label", *label + ".child"}
		var cmd *exec.Cmd
		if _, err := os.Stat("/bin/sh"); err == nil {
			cmd = exec.Command("/bin/sh", "-c", `exec "$@"`, "sh")
			cmd.Args = append(cmd.Args, next...)
		} else {
			cmd = exec.Command(next[0], next[1:]...)
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "hwcapdump: child:", err)
			os.Exit(1)
		}
	}
}
