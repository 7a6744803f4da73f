// Package hwcap is the feature model: which bit of which AT_HWCAPn word is
// which CPU feature, per architecture, and the set algebra and parsers that
// turn a user's allow list, deny list, raw words or profile into the exact
// words a masked process will carry.
//
// The tables are generated from the kernel's own uapi headers and
// /proc/cpuinfo name tables (see gen.go and internal/gen), so names are
// exactly what /proc/cpuinfo prints. A mask can only hide: every resolution ANDs with the
// host's words, because the kernel ANDs with what the hardware has anyway
// and pretending otherwise would mislead the operator.
//
// It also holds the words every component shares, so that the packages
// above it need not import each other for them: the hwcap.dev/ annotation
// prefix, the Policy (enforce or warn) and the Decision names of the node
// log (policy.go).
package hwcap
