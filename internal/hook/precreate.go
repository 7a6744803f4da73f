package hook

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/spec"
)

// precreate is podman's extra stage: config.json on stdin, the config to
// use on stdout. Without an hwcap.dev/* annotation the input is copied
// through byte for byte.
func (r *run) precreate() int {
	data, err := spec.ReadAllLimited(r.h.Stdin)
	if err != nil {
		r.h.printf("precreate: %v", err)
		return ExitInvalid
	}
	raw, err := spec.ParseRawConfig(data)
	if err != nil {
		r.h.printf("precreate: %v", err)
		return ExitInvalid
	}
	ann, err := raw.Annotations()
	if err != nil {
		r.h.printf("precreate: %v", err)
		return ExitInvalid
	}
	if !config.HasAnnotations(ann) {
		if _, err := r.h.Stdout.Write(data); err != nil {
			r.h.printf("precreate: write config: %v", err)
			return ExitFailed
		}
		return ExitOK
	}
	// precreate has no container id yet; podman sets the hostname to the
	// id's first 12 characters, the best label for the log.
	if err := r.setup(raw.Hostname()); err != nil {
		return r.invalid(err)
	}
	m, err := r.resolve(ann)
	if err != nil {
		return r.fail(err)
	}
	args, err := raw.Args()
	if err != nil {
		return r.invalid(err)
	}
	if len(args) == 0 {
		return r.invalid(fmt.Errorf("%w: process.args is empty, nothing to wrap with hwcap-shim", spec.ErrBadConfig))
	}
	decision := DecisionWrapped
	if r.onBPF() {
		// The createRuntime stage masks the container's init and cgroup
		// from the host; a shim inside could not reach BPF anyway.
		decision = DecisionLeft
		r.field(enforce.FieldBackend, string(enforce.BackendBPF))
	} else if isShim(args[0], r.node.ShimPath) {
		mounts, err := raw.Mounts()
		if err == nil {
			err = shimMounted(args[0], r.node.ShimPath, mounts)
		}
		if err != nil {
			return r.invalid(err)
		}
		decision = DecisionAlready // never wrap twice
	} else {
		if err := checkShim(r.node.ShimPath); err != nil {
			return r.finish(ExitFailed, hwcap.DecisionFailed, err)
		}
		wrapped := []string{ShimMountPath, "--mask", m.keep.String(), "--policy", string(m.req.Policy)}
		mounts := []specs.Mount{{
			Destination: ShimMountPath, Type: "bind", Source: r.node.ShimPath,
			Options: []string{"bind", "ro", "nosuid", "nodev"},
		}}
		if cache := r.probeCache(); cache != "" {
			wrapped = append(wrapped, "--run-dir", ShimRunDir)
			mounts = append(mounts, specs.Mount{
				Destination: path.Join(ShimRunDir, probe.CacheFile), Type: "bind", Source: cache,
				Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"},
			})
		}
		if err := raw.SetArgs(append(append(wrapped, "--"), args...)); err != nil {
			return r.invalid(err)
		}
		for _, mnt := range mounts {
			if err := raw.AddMount(mnt); err != nil {
				return r.invalid(err)
			}
		}
	}
	if err := raw.SetAnnotation(config.KeyEffective, m.keep.String()); err != nil {
		return r.invalid(err)
	}
	out, err := raw.Marshal()
	if err != nil {
		return r.finish(ExitFailed, hwcap.DecisionFailed, err)
	}
	if _, err := r.h.Stdout.Write(out); err != nil {
		return r.finish(ExitFailed, hwcap.DecisionFailed, fmt.Errorf("write config: %w", err))
	}
	return r.finish(ExitOK, decision, nil)
}

// onBPF reports whether this node masks through the eBPF backend: the
// series does not work here and the backend does.
func (r *run) onBPF() bool {
	if r.h.BPF == nil {
		return false
	}
	pr, err := r.h.Probe(r.node.RunDir)
	return err == nil && !pr.Inherits(auxv.Paths...) && pr.BPFWorks()
}

// probeCache makes sure the host's probe cache is current (one probe per
// boot, then a read) and returns its path, or "" when there is none to
// share (an unwritable run directory): the shim then probes for itself.
func (r *run) probeCache() string {
	if _, err := r.h.Probe(r.node.RunDir); err != nil {
		return ""
	}
	file := filepath.Join(r.node.RunDir, probe.CacheFile)
	if st, err := os.Lstat(file); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return file
}

// checkShim makes sure the node's shim exists, so that a container is not
// created with an entrypoint that cannot run.
func checkShim(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("hwcap-shim is not installed at %s (shimPath in the node configuration): %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("hwcap-shim at %s (shimPath in the node configuration) is not an executable file", path)
	}
	return nil
}
