package criu

import specs "github.com/opencontainers/runtime-spec/specs-go"

// specMount bind-mounts a host directory at /log for the payload's ticks.
func specMount(dir string) specs.Mount {
	return specs.Mount{Destination: "/log", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}
}
