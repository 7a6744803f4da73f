// Package front is the C front end of hwcap-runtime: an ELF constructor
// that runs before the Go runtime starts and execs the real runtime at once
// when a call cannot need a mask. A Go start costs ~1.3 ms here (a static C
// exec 0.35 ms, docs/benchmarks.md): more than a 2 % budget of a
// `runc run`, on every runtime call of every container. runc does the same
// with its nsexec constructor, for a different reason (setns before Go's
// threads exist).
//
// The front end decides nothing about masks. It takes the fast path only
// where the Go wrapper would provably pass the call through unchanged, and
// returns to the Go wrapper on any doubt:
//
//   - state, list, ps, kill, start, pause, resume, events, features,
//     update, spec, checkpoint, mounts: exec the real runtime.
//   - create, run: when the bundle's config.json holds no "hwcap.dev/" in
//     any letter case and no JSON escape that could spell it (\u, \/), and
//     no --hwcap-* option was given. The bundle directory is opened as the
//     runtime's chdir resolves it and config.json read relative to it
//     (regular file, not a symlink, O_NONBLOCK|O_NOCTTY); a bundle given
//     other than as its physical path (a symlink, "..") is the Go
//     wrapper's, which passes the runtime the physical path. It leaves a
//     marker RunDir/containers/<root key>/<id>.plain naming that config
//     file by its physical path.
//   - exec: when that marker exists, no Go record <id>.json does, and the
//     config it names is still clean.
//   - delete, restore, --help and everything else: the Go wrapper.
//
// Options are read in the plain forms engines use (--name value,
// --name=value, -x value); abbreviations, grouped short options and
// unknown options go to the Go wrapper, whose parser (wrapper.Parse) has
// the last word. FuzzAgree checks that the two never disagree where the
// front end acts.
//
// The real runtime and the run directory come from the front file
// /run/hwcap/front-<FNV-1a of the config path>, which the Go wrapper
// writes whenever it has loaded and validated the node configuration
// (wrapper.WriteFront). The front file carries the configuration file's
// identity (device, inode, size, mtime, ctime); a changed, replaced or
// removed configuration makes it stale, and the next call is the Go
// wrapper's, which validates the new file and writes a new front file.
// A front file that recorded the default path as absent counts only while
// $HWCAP_CONFIG is unset: a missing file it names is the Go wrapper's
// error.
// The front file, record directory and marker must be owned by the
// effective user and writable by nobody else. HWCAP_FRONT=off turns the
// front end off.
//
// Without cgo (CGO_ENABLED=0) this package is empty and hwcap-runtime is
// the Go wrapper alone: the same behaviour, slower.
package front
