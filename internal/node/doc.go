// Package node describes what a machine offers: its architecture and the
// AT_HWCAP* words its kernel passes to new processes, with where the
// description came from.
//
// A description is read from any of the inputs an operator has at hand:
// the JSON written by `hwcapctl features --json` (kind "node"), a raw
// /proc/cpuinfo capture, a profile (the allow list the shim, hook and
// wrapper read), or Kubernetes Node objects (`kubectl get nodes -o json`,
// ParseAll: one description per node, from the hwcap.dev/<arch>.<feature>
// labels `hwcapctl nfd` puts there). For /proc/cpuinfo only the lines the kernel derives from
// the same bits count: arm64 "Features:" (one name per HWCAP/HWCAP2/HWCAP3
// bit, printed from hwcap_str[]), and on x86 the "flags:" names of
// CPUID.1:EDX (AT_HWCAP) plus fsgsbase and ring3mwait (AT_HWCAP2); the
// hundreds of other x86 flags are CPUID bits the kernel never puts in the
// auxiliary vector and are ignored.
//
// Baseline intersects descriptions (the features every node shares) and
// Compare gives libvirt's three-way verdict of a profile against a node.
package node
