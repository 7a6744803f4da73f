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
//     configuration; a record RunDir/containers/<root-hash>/<id>.json
//     keeps the mask for later execs.
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
// In the hwcap-runtime binary a C front end (internal/front) runs first,
// before the Go runtime, and execs the real runtime itself for the calls
// this package would pass through unchanged (and for create/run/exec of
// containers whose config cannot hold an hwcap.dev/ key); WriteFront gives
// it the node configuration's runtimes and run directory, and
// RemovePlain/GCRecords clean up the markers it leaves.
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
