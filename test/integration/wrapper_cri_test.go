package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/hwcap/hwcap/internal/testutil"
)

// criImage is the image of the pods' sandboxes and containers, imported
// from an OCI archive of the busybox test rootfs (no registry here).
const criImage = "hwcap.test/busybox:1"

// criT is a private containerd with its CRI plugin: what the kubelet
// talks to. Its configuration is the example's runtime handler "hwcap"
// (examples/runtime/containerd/config.toml) with this build's wrapper.
type criT struct {
	rt  cri.RuntimeServiceClient
	dir string
}

func startCRI(t *testing.T, env []string) *criT {
	t.Helper()
	// The example as an administrator merges it, with this build's
	// binary; no systemd here, so cgroupfs.
	example := string(exampleFile(t, "containerd/config.toml"))
	for old, repl := range map[string]string{
		"version = 2\n": "",
		`BinaryName = "/usr/local/bin/hwcap-runtime"`: fmt.Sprintf("BinaryName = %q", wrapperBinary(t)),
		"SystemdCgroup = true":                        "SystemdCgroup = false",
	} {
		if !strings.Contains(example, old) {
			t.Fatalf("examples/runtime/containerd/config.toml has no %q", old)
		}
		example = strings.ReplaceAll(example, old, repl)
	}
	ctd := startContainerdWith(t, env, "k8s.io", func(dir string) string {
		for _, d := range []string{"cni-bin", "cni-conf"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  enable_selinux = false
  # A sandbox's oom_score_adj is -998; lowering it needs CAP_SYS_RESOURCE,
  # which the test machines lack (runc init then dies: "can't get final
  # child's PID from pipe"). Clamp to containerd's own, as rootless does.
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = %q
  conf_dir = %q
# The default handler, as in containerd config default.
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`, criImage, filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf")) + example
	})
	sock, dir := ctd.sock, ctd.dir
	archive := testutil.OCIArchive(t, testutil.BusyboxRootfs(t), criImage, []string{"/bin/sleep", "1000000"})
	if _, err := ctd.ctr(t, "images", "import", archive); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &criT{rt: cri.NewRuntimeServiceClient(conn), dir: dir}
	// The CRI plugin learns of the imported image from an event.
	img := cri.NewImageServiceClient(conn)
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := img.ImageStatus(ctx, &cri.ImageStatusRequest{Image: &cri.ImageSpec{Image: criImage}})
		cancel()
		if err == nil && st.Image != nil {
			break
		}
		if i == 50 {
			t.Fatalf("the CRI plugin does not see %s: %v", criImage, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

func criCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pod is a running pod sandbox (host network: no CNI here) with one
// container running `sleep`.
type pod struct {
	id, ctr string
}

// runPod runs a pod with the kubelet's calls: RunPodSandbox with the
// runtime handler, CreateContainer, StartContainer.
func (c *criT) runPod(t *testing.T, name, handler string, ann map[string]string) (*pod, error) {
	t.Helper()
	sb := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Uid: name + "-uid", Namespace: "default"},
		Annotations:  ann,
		LogDirectory: filepath.Join(c.dir, "pods", name),
		Linux: &cri.LinuxPodSandboxConfig{SecurityContext: &cri.LinuxSandboxSecurityContext{
			NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE}}},
	}
	r, err := c.rt.RunPodSandbox(criCtx(t), &cri.RunPodSandboxRequest{Config: sb, RuntimeHandler: handler})
	if err != nil {
		return nil, err
	}
	p := &pod{id: r.PodSandboxId}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = c.rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.id})
		_, _ = c.rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.id})
	})
	cr, err := c.rt.CreateContainer(criCtx(t), &cri.CreateContainerRequest{PodSandboxId: p.id, SandboxConfig: sb,
		Config: &cri.ContainerConfig{Metadata: &cri.ContainerMetadata{Name: "app"}, Image: &cri.ImageSpec{Image: criImage},
			Command: []string{"/bin/sleep", "120"}, Annotations: ann, LogPath: "app.log"}})
	if err != nil {
		return p, fmt.Errorf("CreateContainer: %w", err)
	}
	p.ctr = cr.ContainerId
	if _, err := c.rt.StartContainer(criCtx(t), &cri.StartContainerRequest{ContainerId: p.ctr}); err != nil {
		return p, fmt.Errorf("StartContainer: %w", err)
	}
	return p, nil
}

// TestWrapperCRI drives containerd's CRI plugin as the kubelet does, with
// the example's RuntimeClass handler "hwcap": pod annotations reach the
// sandbox's and the container's config.json (pod_annotations), both are
// created through hwcap-runtime, and ExecSync (kubectl exec, exec probes)
// goes through it too. A pod without annotations is untouched.
func TestWrapperCRI(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	node := newWrapperNode(t, "warn", nil)
	feature := hostFeatureName(t)
	writeDenyProfile(t, filepath.Join(filepath.Dir(node.Config), "profiles", "fleet.json"), feature)
	c := startCRI(t, node.env(rt.Bin))

	t.Run("annotated pod", func(t *testing.T) {
		before := countLines(t, node.LogFile)
		p, err := c.runPod(t, testutil.ID("cri-fleet"), "hwcap", map[string]string{"hwcap.dev/profile": "fleet"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.rt.ExecSync(criCtx(t), &cri.ExecSyncRequest{ContainerId: p.ctr, Cmd: []string{"/bin/echo", "exec works"}, Timeout: 30})
		if err != nil || r.ExitCode != 0 || string(r.Stdout) != "exec works\n" {
			t.Fatalf("ExecSync: %v %+v", err, r)
		}
		// Sandbox and container created, and the exec, each with the
		// profile: warned on this kernel, masked on one with the series.
		var got []string
		for _, id := range []string{p.id, p.ctr} {
			got = append(got, decisionsFor(t, node, before, id)...)
		}
		for _, want := range [][]string{
			{"create:warned:fleet", "create:warned:fleet", "exec:warned:fleet"},
			{"create:masked:fleet", "create:masked:fleet", "exec:masked:fleet"},
		} {
			if slices.Equal(got, want) {
				return
			}
		}
		t.Fatalf("node log for the pod %v: want the sandbox's and the container's create and the exec, with profile fleet", got)
	})

	t.Run("unannotated pod untouched", func(t *testing.T) {
		before := countLines(t, node.LogFile)
		p, err := c.runPod(t, testutil.ID("cri-plain"), "hwcap", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.rt.ExecSync(criCtx(t), &cri.ExecSyncRequest{ContainerId: p.ctr, Cmd: []string{"/bin/true"}, Timeout: 30}); err != nil {
			t.Fatal(err)
		}
		if n := countRecords(t, filepath.Join(node.RunDir, "containers"), p.ctr); n != 1 {
			t.Fatalf("%d records: the container was not created through hwcap-runtime", n)
		}
		if got := append(decisionsFor(t, node, before, p.id), decisionsFor(t, node, before, p.ctr)...); len(got) != 0 {
			t.Fatalf("node log for an unannotated pod: %v", got)
		}
	})

	t.Run("enforce refuses the sandbox", func(t *testing.T) {
		node.write(t, "enforce", nil)
		t.Cleanup(func() { node.write(t, "warn", nil) })
		before := countLines(t, node.LogFile)
		_, err := c.runPod(t, testutil.ID("cri-enf"), "hwcap", map[string]string{"hwcap.dev/profile": "fleet"})
		var masked bool
		for _, l := range node.nodeLog(t)[before:] {
			masked = masked || l["decision"] == "masked"
		}
		if masked {
			if err != nil {
				t.Fatalf("masked pod failed: %v", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), "hwcap-runtime: container ") || !strings.Contains(err.Error(), "policy enforce: kernel") {
			t.Fatalf("RunPodSandbox under enforce on a kernel without the series: %v", err)
		}
	})
}
