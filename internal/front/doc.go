// Package front is the C front end of hwcap-runtime: an ELF constructor
// that runs before the Go runtime starts and execs the real runtime at once
// when a call cannot need a mask. A Go start costs ~1.3 ms here (a static C
// exec 0.35 ms, docs/benchmarks.md): more than a 2 % budget of a
// `runc run`, on every runtime call of every container. runc does the same
// with its nsexec constructor, for a different reason (setns before Go's
// threads exist).
//
// The front end decides nothing about masks and keeps no copy of a Go
// rule. It takes the fast path only where the Go wrapper would provably
// pass the call through unchanged, and returns to the Go wrapper on any
// doubt:
//
//   - state, list, ps, kill, start, pause, resume, events, features,
//     update, spec, checkpoint, mounts: exec the real runtime.
//   - create, run: when the bundle's config.json holds no "hwcap.dev/" in
//     any letter case and no JSON escape that could spell it (\u, \/), and
//     no --hwcap-* option was given. The bundle directory is opened as the
//     runtime's chdir resolves it and config.json read relative to it
//     (regular file, not a symlink, O_NONBLOCK|O_NOCTTY); a bundle given
//     other than as its physical path (a symlink, "..") is the Go
//     wrapper's, which passes the runtime the physical path. It writes the
//     container's record (wrapper.Record, without a mask) byte for byte as
//     the Go wrapper would, unless a record it cannot read as one without
//     a mask is there.
//   - exec: when the container's record has no mask, its config file is
//     still the one it was made from (the identity in the record) and is
//     still clean.
//   - delete, restore, --help and everything else: the Go wrapper.
//
// Where its rules come from. The options it may read (and those it must
// leave to the Go wrapper), the commands it passes through, the container
// id rule, the names, members, versions and bounds of the files are the Go
// wrapper's tables, generated into rules.h (wrapper.FrontRules; go generate
// ./internal/front; TestRulesCurrent fails when rules.h is stale). What the
// Go wrapper computes per call it writes into a front file, which the
// front end only reads: /run/hwcap/front/<name>.json, one per key
// (wrapper.FrontKey: the caller's $HWCAP_CONFIG, $PATH and $HWCAP_RUNTIME
// and --root), holding the real runtime Lookup found, the records
// directory of that root, and the identity (device, inode, size, mtime,
// ctime) of the node configuration and of every runtime candidate Lookup
// looked at. A changed, replaced or removed configuration, a runtime
// installed earlier on PATH or upgraded, makes the file stale, and the
// next call is the Go wrapper's, which validates again and writes a new
// one. The one value the front end computes itself is the front file's
// name, FNV-1a of the key (TestFrontName). With $HWCAP_RUNTIME an absolute
// path, a pass-through command reads no file at all.
//
// Options are read in the plain forms engines use (--name value,
// --name=value, -x value); abbreviations, grouped short options and
// unknown options go to the Go wrapper, whose parser (wrapper.Parse) has
// the last word. FuzzAgree checks that the two never disagree where the
// front end acts; FuzzRecordAgree and FuzzFrontAgree that it acts on a
// record or front file only where the Go wrapper reads the same file the
// same way. The front file, the records directory and a record must be
// owned by the effective user and writable by nobody else. The front end
// never execs itself. HWCAP_FRONT=off turns it off.
//
// Without cgo (CGO_ENABLED=0) this package is empty and hwcap-runtime is
// the Go wrapper alone: the same behaviour, slower.
package front

//go:generate go run gen.go -o rules.h
