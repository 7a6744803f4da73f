// Command maskpayload is a checkpoint payload that hides CPU features from
// its own saved auxiliary vector (PR_SET_MM_MAP, as hwcap-shim does) and
// then keeps running: on a kernel without the inheritance series it is
// the one process whose saved AT_HWCAP* words a checkpoint records
// masked. It appends "tick N hwcap=0x.. hwcap2=0x.." lines (read back from
// /proc/self/auxv) to the file given with -log every -tick.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

func main() { os.Exit(run()) }

func run() int {
	deny := flag.String("deny", "", "comma-separated features to hide")
	logFile := flag.String("log", "", "file to append ticks to")
	tick := flag.Duration("tick", 200*time.Millisecond, "interval")
	flag.Parse()
	t, err := hwcap.Host()
	if err != nil {
		fmt.Fprintln(os.Stderr, "maskpayload:", err)
		return 1
	}
	bits, err := t.Bits(strings.Split(*deny, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "maskpayload:", err)
		return 2
	}
	if _, err := auxv.Apply(hwcap.All.AndNot(bits), auxv.PathMap); err != nil {
		fmt.Fprintln(os.Stderr, "maskpayload:", err)
		return 1
	}
	for n := 1; ; n++ {
		v, err := auxv.ReadSelf()
		if err != nil {
			fmt.Fprintln(os.Stderr, "maskpayload:", err)
			return 1
		}
		w := v.HWCAPs()
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			fmt.Fprintf(f, "tick %d hwcap=%#x hwcap2=%#x\n", n, w[0], w[1])
			f.Close()
		}
		time.Sleep(*tick)
	}
}
