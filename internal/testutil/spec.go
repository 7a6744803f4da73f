package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultSpec returns what `runc spec` writes (runc 1.1's specconv.Example),
// made non-interactive: no terminal, args as given, a writable rootfs at
// root.path "rootfs".
func DefaultSpec(args ...string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: SpecVersion,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Permitted: caps, Effective: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "hwcap-test",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
		},
	}
}

// Bundle is an OCI bundle in a temporary directory.
type Bundle struct {
	Dir    string
	Rootfs string
	Spec   *specs.Spec
}

// NewBundle creates a bundle with a busybox rootfs and DefaultSpec(args...);
// change b.Spec, then call Write.
func NewBundle(t testing.TB, args ...string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	b := &Bundle{Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), Spec: DefaultSpec(args...)}
	PopulateRootfs(t, b.Rootfs)
	return b
}

// ConfigPath is the bundle's config.json.
func (b *Bundle) ConfigPath() string { return filepath.Join(b.Dir, "config.json") }

// Write writes b.Spec to config.json.
func (b *Bundle) Write(t testing.TB) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.ConfigPath(), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// AddHook appends a hook to stage ("prestart", "createRuntime",
// "poststart", ...) of b.Spec.
func (b *Bundle) AddHook(stage string, h specs.Hook) {
	if b.Spec.Hooks == nil {
		b.Spec.Hooks = &specs.Hooks{}
	}
	hs := b.Spec.Hooks
	switch stage {
	case "prestart":
		hs.Prestart = append(hs.Prestart, h) //nolint:staticcheck // still run by runc and crun
	case "createRuntime":
		hs.CreateRuntime = append(hs.CreateRuntime, h)
	case "createContainer":
		hs.CreateContainer = append(hs.CreateContainer, h)
	case "startContainer":
		hs.StartContainer = append(hs.StartContainer, h)
	case "poststart":
		hs.Poststart = append(hs.Poststart, h)
	case "poststop":
		hs.Poststop = append(hs.Poststop, h)
	default:
		panic("testutil: unknown hook stage " + stage)
	}
}

// SpecVersion is the ociVersion written into test bundles: crun 1.8
// rejects versions newer than it knows ("unknown version specified"), so
// use the one runc 1.1 writes rather than the Go module's specs.Version.
const SpecVersion = "1.0.2"
