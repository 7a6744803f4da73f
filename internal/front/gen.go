//go:build ignore

// gen writes rules.h from wrapper.FrontRules: go generate ./internal/front.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/hwcap/hwcap/internal/wrapper"
)

func main() {
	out := flag.String("o", "rules.h", "output file")
	flag.Parse()
	if err := os.WriteFile(*out, wrapper.FrontRules(), 0o644); err != nil {
		log.Fatal(err)
	}
}
