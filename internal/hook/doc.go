// Package hook is hwcap-hook: an OCI hook that checks, and for podman
// arranges, that a container asking for an HWCAP mask through hwcap.dev/*
// annotations really gets it.
//
// A hook cannot change what a container runs (changes to config.json after
// create do not count), so the hook is a guard: at createRuntime/prestart it
// looks at the waiting init (state.pid) and at process.args, and either
// finds the mask already in place (a wrapper runtime on a kernel that passes
// masks on), finds the container started through hwcap-shim on such a
// kernel, or refuses the container under policy enforce. The one stage that
// may change config.json is podman's precreate, which runs before the
// runtime reads it: there the hook prepends the shim and bind-mounts it in,
// with the host's probe cache (read-only) so the shim need not probe the
// kernel again in every container. poststart re-reads the started
// process's auxv to confirm.
//
// The host's words are the hook's own together with PID 1's: under
// hwcap-runtime the hook descends from the masked runtime, and on a kernel
// that passes masks on its own words are already masked.
//
// Runtimes swallow hook output (crun entirely), so every run that sees an
// hwcap.dev/* annotation appends one JSON line to the node's log file; a run
// without one returns at once without reading any file, because the hook is
// run for every container on the node.
package hook
