package nfd

// DefaultPrefix is the label namespace, the same as the annotations'.
const DefaultPrefix = "hwcap.dev"

// FeatureKey is the label of one HWCAP feature: "hwcap.dev/arm64.sve2".
// The architecture is part of the name because names repeat across
// architectures with different meanings (e.g. "aes").
func FeatureKey(prefix, arch, feature string) string {
	return prefix + "/" + arch + "." + feature
}

// ProfileKey is the label of a profile this node satisfies:
// "hwcap.dev/profile.graviton2".
func ProfileKey(prefix, profile string) string {
	return prefix + "/profile." + profile
}

// InheritKey says whether this node's kernel passes masks on to children
// (the probe's verdict), so restores that need a mask can require it.
func InheritKey(prefix string) string {
	return prefix + "/kernel.inherit"
}

// InstalledKey marks a node where hwcap's node agent installed the
// runtime pieces; the RuntimeClass schedules onto it.
func InstalledKey(prefix string) string {
	return prefix + "/installed"
}
