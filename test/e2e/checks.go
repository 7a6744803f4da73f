package e2e

// Check names. Each is one line of results.jsonl per machine it runs on.
const (
	// CheckProbeHost: on the host's stock kernel `hwcapctl probe --json
	// --fresh` reports no path that makes children inherit.
	CheckProbeHost = "probe.host"
	// CheckProbe: in the guest, on the patched kernel, every path the
	// kernel supports (map, and auxv since the guest's root holds
	// CAP_SYS_RESOURCE) reports "inherited".
	CheckProbe = "probe"
	// CheckBaseline: a container under plain runc without a mask: PID 1,
	// child and grandchild see the guest's hardware words in every view.
	CheckBaseline = "baseline"

	// Shim mode: runc run with process.args = hwcap-shim --deny F -- payload.
	CheckShimInit       = "shim.init"
	CheckShimChild      = "shim.child"
	CheckShimGrandchild = "shim.grandchild"
	// CheckShimProfile: an allow-list profile (hwcap.dev/v1 file) hides
	// every other bit, in every word.
	CheckShimProfile = "shim.profile"
	// CheckShimCannotAdd: an allow list that names features the CPU lacks
	// does not give them to anyone.
	CheckShimCannotAdd = "shim.cannot-add"
	// CheckShimCannotAddRaw: a raw mask of all ones leaves every word as
	// the hardware's.
	CheckShimCannotAddRaw = "shim.cannot-add-raw"

	// Wrapper mode: hwcap-runtime run -d with hwcap.dev/deny, then
	// hwcap-runtime exec.
	CheckWrapperInit       = "wrapper.init"
	CheckWrapperChild      = "wrapper.child"
	CheckWrapperGrandchild = "wrapper.grandchild"
	CheckWrapperExec       = "wrapper.exec"
	CheckWrapperExecChild  = "wrapper.exec-child"
	// CheckWrapperNone: through the wrapper without an annotation nothing
	// changes (init, descendants, exec).
	CheckWrapperNone = "wrapper.none"
	// CheckWrapperProfileArg: no annotation, but the runtime is called as
	// `hwcap-runtime --hwcap-profile NAME` (Docker's runtimeArgs): init,
	// descendants and exec get the profile's allow list.
	CheckWrapperProfileArg = "wrapper.profile-arg"

	// Hook guard (createRuntime in config.json, policy enforce).
	CheckHookWrapper = "hook.wrapper" // through hwcap-runtime: passes, decision masked
	CheckHookShim    = "hook.shim"    // plain runc, entrypoint hwcap-shim: passes, decision shim
	CheckHookPlain   = "hook.plain"   // plain runc: create fails with the guard's message

	// arm64: the payload's own dispatcher picks SVE or NEON from
	// getauxval(AT_HWCAP) & HWCAP_SVE.
	CheckDispatchUnmasked = "dispatch.unmasked" // every process: SVE if the CPU has it, else NEON
	CheckDispatchShim     = "dispatch.shim"     // deny sve,sve2 through the shim: NEON everywhere
	CheckDispatchWrapper  = "dispatch.wrapper"  // deny sve,sve2 through the wrapper: NEON everywhere
)

var (
	common = []string{CheckProbe, CheckBaseline,
		CheckShimInit, CheckShimChild, CheckShimGrandchild, CheckShimProfile, CheckShimCannotAdd, CheckShimCannotAddRaw,
		CheckWrapperInit, CheckWrapperChild, CheckWrapperGrandchild, CheckWrapperExec, CheckWrapperExecChild, CheckWrapperNone,
		CheckWrapperProfileArg, CheckHookWrapper, CheckHookShim, CheckHookPlain}
	checksByArch = map[string][]string{
		"amd64": common,
		"arm64": append(append([]string{}, common...), CheckDispatchUnmasked, CheckDispatchShim, CheckDispatchWrapper),
	}
	// A second, smaller arm64 guest on a CPU without SVE: the unmasked
	// dispatcher takes NEON there, and SVE cannot be added.
	smallCPUChecks = []string{CheckProbe, CheckBaseline, CheckShimProfile, CheckShimCannotAdd, CheckDispatchUnmasked}
)

// HostCPU is the CPU name of results from the host itself.
const HostCPU = "host"

// SmallCPUs are the guest CPU models that run only the small set of checks.
var SmallCPUs = map[string]bool{"neoverse-n1": true}

// Checks lists the checks machine m must report, in order.
func Checks(m Machine) []string {
	switch {
	case m.CPU == HostCPU:
		return []string{CheckProbeHost}
	case m.Arch == "arm64" && SmallCPUs[m.CPU]:
		return smallCPUChecks
	}
	return checksByArch[m.Arch]
}

// Runs reports whether machine m runs check c.
func Runs(m Machine, c string) bool {
	for _, x := range Checks(m) {
		if x == c {
			return true
		}
	}
	return false
}
