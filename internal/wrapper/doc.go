// Package wrapper is hwcap-runtime: an OCI runtime that is invoked exactly
// like runc or crun, masks the AT_HWCAP* words of the processes the real
// runtime starts, and execs the real runtime with its argv unchanged
// (except a --bundle that names the bundle through a symlink or "..",
// which becomes the directory's physical path: the one whose config.json
// the wrapper read).
//
// A hook cannot change what runs, and no hook runs on exec: processes that
// kubectl exec, podman exec or a containerd exec probe start are not
// descendants of the container's init. A wrapper sees every create, run,
// restore and exec. It applies the container's mask to itself
// (PR_SET_MM_AUXV with CAP_SYS_RESOURCE, else PR_SET_MM_MAP) and execve's
// the real runtime: on a kernel that passes masks on, runc, its init and
// the workload all inherit the mask, with no binary in the image and no
// capability inside the container.
//
// Per command:
//   - create, run, restore: annotations from the bundle's config.json
//     (crun's --config file name honoured), read through internal/spec
//     from the bundle directory as the runtime resolves it, resolved by the node
//     configuration; the container's Record keeps the mask for later execs.
//   - exec: the record's mask; without a (current) record, the bundle
//     that "<runtime> --root R state ID" reports. Only a definite "no such
//     container" from it lets the exec pass unmasked; any other failure
//     refuses it under the node's enforce (warns under warn).
//   - restore on the eBPF backend with --detach: the real runtime runs as
//     a child (same argv, environment, inherited descriptors); once it has
//     returned, the restored init and every process below it get the mask
//     in the backend and the container's cgroup is registered (BPF state is
//     not checkpointed). A task that cannot be masked deletes the
//     container under enforce (restorebpf.go).
//   - delete: the record is removed before the exec (the wrapper cannot
//     act after it); a failed delete only costs a later exec a state call.
//   - every other command (state, list, ps, kill, start, features, ...):
//     straight execve. With $HWCAP_RUNTIME set, no file is opened at all;
//     otherwise only the node configuration, which names the runtime.
//
// One container state. All the wrapper keeps of a container is its
// Record, RunDir/containers/<hash of the runtime root>/<id>.json, like
// runc's state.json: the config file it was made from with that file's
// identity, and the mask (none for a container that asked for nothing).
// A Store holds the records of one root, with Get, Put, Delete and GC:
// writes are atomic (internal/atomicfile), reads bounded
// (spec.ReadRegular) and refused unless the file is owned by this user
// and writable by nobody else, and GC, on each create, checks a few
// records picked at random (GCBatch) and removes those whose config file
// is gone or replaced. The
// front files (below) are documents of the same kind, with the same
// checks and clean-up.
//
// Errors are values: every step returns an error, and Run turns it into
// the exit code in one place (exitCode: 127 no runtime, 126 exec failed,
// else 1) and into one line on stderr, in the runtime's --log and, unless
// the node log has the decision already (a refused mask or restore), a
// "failed" line there.
//
// In the hwcap-runtime binary a C front end (internal/front) runs first,
// before the Go runtime, and execs the real runtime itself for the calls
// this package would pass through unchanged (and for create/run/exec of
// containers whose config cannot hold an hwcap.dev/ key, whose records it
// writes and reads as this package does). It keeps no rule of its own:
// FrontRules generates its tables (rules.h), and each Go call that loaded
// the node configuration leaves it a front file (Front, for the call's
// FrontKey) with the runtime it found, the records directory, and the
// identities of the files that answer depends on.
//
// The wrapper's only option of its own, --hwcap-profile NAME, is taken
// from the front of argv and never passed on: the profile for containers
// without hwcap.dev/* annotations, for engines that give a runtime fixed
// arguments but cannot set annotations (Docker's runtimeArgs).
//
// Argument parsing follows urfave/cli v1 (runc: -flag and --flag, =value,
// argument reordering for create/run/restore, in-order for exec) and argp
// (crun: abbreviations, -bDIR, grouped short options). Where the two
// disagree the wrapper takes the reading that masks. The wrapper never
// writes to stdout: callers parse state, ps and features output.
package wrapper
