// Package enforce makes the processes its caller execs next carry a mask,
// by the first backend that works on this kernel, and decides by policy
// when none does.
//
// The order matters: the mask is applied to the caller first (prctl, then
// verified by re-reading the saved vector), then the per-boot probe says
// whether the paths that worked make children inherit (the "series"
// backend: a kernel with "exec: inherit HWCAPs from the parent process").
// On the kernels people run today they do not, and the eBPF backend takes
// over when it is installed and the probe saw it work: the caller's task
// gets the mask in BPF task storage, which its exec and every descendant
// inherit. A process that cannot reach BPF (inside a container) accepts a
// mask only when its own initial stack already shows it, set by the host
// side. Under "enforce" no working backend is an error, so the caller does
// not start the workload unmasked; under "warn" the caller goes on and
// logs the Outcome, which names the backend.
package enforce
