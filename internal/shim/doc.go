// Package shim is hwcap-shim: parse a mask from flags or the environment,
// resolve the command, mask this process, check the kernel passes the mask
// on, and execve the command.
//
// The command is resolved before anything is changed so that a typo is an
// early "not found" (exit 127), as from a shell or runc, and never a masked
// process left doing nothing. The shim's own settings are removed from the
// environment before exec so they do not leak into the workload.
package shim
