// Package hostile runs the built hwcap-hook, hwcap-runtime and hwcap-shim
// against a corpus of bad input (cases/*.json, one case per file) and
// checks, for each: the documented exit code, exactly one stderr line (or
// the stated number) that matches the case's regexp and carries no control
// character, no panic or stack trace, a time limit (the hook must finish
// even when stdin never closes), a log file of whole JSON lines, and no
// temporary file left in the run or log directory.
//
// Exit codes checked (documented in docs/components.md):
//
//	hwcap-hook     0 ok/no-op/warned, 1 refused (enforce), 2 invalid input, 3 could not check
//	hwcap-runtime  1 refused or bad input, 126 runtime not executable, 127 runtime not found
//	hwcap-shim     125 the shim's own failure, 126 command not executable, 127 not found
//
// A case file names the binary and its args, the stdin (or the default
// state built from "annotations" and "pid"), the bundle's config.json
// ("bundleConfig", or "bundleMode": missing, truncated, fifo, sparse), the
// node configuration ("node" overrides, or "nodeMode"), extra files
// ("files": text, @fifo, @dir, @symlink:TARGET, @sparse:BYTES), and the
// expectations ("exit", "stderr", "stderrLines", "maxSeconds"). Text may use
// {{dir}}, {{bundle}}, {{feature}} (a feature this host has), {{shim}},
// {{pid}} and {{repeat:TEXT:N}}. The binaries are built once per test
// binary (TestMain), with a test-hooks build of the shim that pauses masked
// to stand in for another container's init.
package hostile
