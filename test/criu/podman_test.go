package criu

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/testutil"
)

// TestRestorePodman: podman --runtime hwcap-runtime checkpoints a
// container to an archive (--export) and restores it from the archive
// (--import): podman unpacks it and calls `runtime restore --image-path`,
// which the wrapper checks first. The real archive restores and keeps
// running; the same archive with one feature this host lacks added to the
// saved words is refused under enforce, and podman's error carries the
// wrapper's line naming the feature.
func TestRestorePodman(t *testing.T) {
	testutil.RequireRoot(t)
	podman := testutil.RequireCommand(t, "podman")
	testutil.RequireRuntime(t, "runc")
	gcc := testutil.RequireCommand(t, "gcc")
	crit := criu(t).Criu

	// Everything podman and its runtime need, in one directory that
	// runc's PATH also reaches: criu for runc checkpoint/restore, hwcapctl
	// next to hwcap-runtime for the restore check.
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	bins, err := testutil.BuildCommands(bin, "hwcap-runtime", "hwcapctl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(crit, filepath.Join(bin, "criu")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(tmp, "node.json")
	nodeLog := filepath.Join(tmp, "hwcap.log")
	data, _ := json.Marshal(map[string]any{"defaultPolicy": "enforce", "runDir": filepath.Join(tmp, "run"), "logFile": nodeLog, "runtimes": []string{"runc"}})
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// podman passes the runtime no environment of its own choosing.
	runtime := filepath.Join(bin, "rt.sh")
	script := fmt.Sprintf("#!/bin/sh\nPATH=%s:/usr/sbin:/usr/bin:/sbin:/bin HWCAP_CONFIG=%s exec %s \"$@\"\n", bin, cfg, bins["hwcap-runtime"])
	if err := os.WriteFile(runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-static", "-O2", "-o", filepath.Join(rootfs, "svepath"), "payload/svepath.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	logDir := filepath.Join(tmp, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(logDir, "log")

	storage := filepath.Join(tmp, "storage")
	// pod runs podman with args under testutil's deadline; logs are the
	// files its failure report shows (CRIU's, in the container's userdata).
	pod := func(logs []string, args ...string) (string, error) {
		t.Helper()
		argv := append([]string{podman, "--runtime", runtime, "--cgroup-manager", "cgroupfs", "--root", storage,
			"--runroot", filepath.Join(tmp, "runroot"), "--storage-driver", "vfs"}, args...)
		res := testutil.Run(t, testutil.Cmd{Argv: argv, Env: append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH")), Logs: append(logs, nodeLog)})
		if res.Err != nil {
			t.Log(res.Report())
		}
		return res.Combined(), res.Err
	}
	// userdata is where podman keeps CRIU's logs of container id.
	userdata := func(id string, logs ...string) []string {
		var out []string
		for _, l := range logs {
			out = append(out, filepath.Join(storage, "vfs-containers", id, "userdata", l))
		}
		return out
	}
	// An image, in a private store: podman 4.3.1 cannot restore --import
	// a --rootfs container ("repository name must have at least one
	// component").
	const image = "localhost/hwcap-svepath:1"
	imgTar := filepath.Join(tmp, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", imgTar, "svepath").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if _, err := pod(nil, "import", imgTar, image); err != nil {
		t.Fatal(err)
	}
	name := testutil.ID("criu-podman")
	t.Cleanup(func() {
		_, _ = pod(nil, "rm", "-f", "-t", "0", name)
		_, _ = pod(nil, "rmi", "-f", image)
	})
	out, err := pod(nil, "run", "-d", "--name", name, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"-v", logDir+":/log", image, "/svepath", "/log/log", "50")
	if err != nil {
		t.Fatal(err)
	}
	id := containerID(out)
	n := waitTicks(t, log, 0)
	archive := filepath.Join(tmp, "export.tar.zst")
	if _, err := pod(userdata(id, "dump.log"), "container", "checkpoint", "--export", archive, name); err != nil {
		t.Fatal(err)
	}
	if _, err := pod(nil, "rm", "-f", "-t", "0", name); err != nil {
		t.Fatal(err)
	}

	// A checkpoint from a CPU with one more feature: the same archive with
	// that feature in every task's saved words.
	host, err := node.Host()
	if err != nil {
		t.Fatal(err)
	}
	feature, extra := missingFeature(t, host)
	foreign := filepath.Join(tmp, "foreign.tar")
	unpacked := filepath.Join(tmp, "unpacked")
	untar(t, archive, unpacked)
	withExtra(t, filepath.Join(unpacked, "checkpoint"), filepath.Join(tmp, "foreign-checkpoint"), extra)
	if err := os.RemoveAll(filepath.Join(unpacked, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "foreign-checkpoint"), filepath.Join(unpacked, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	// Names as podman writes them ("config.dump", not "./config.dump"):
	// podman picks config.dump and spec.dump out of the archive by name.
	top, err := os.ReadDir(unpacked)
	if err != nil {
		t.Fatal(err)
	}
	tarArgs := []string{"-C", unpacked, "-cf", foreign}
	for _, e := range top {
		tarArgs = append(tarArgs, e.Name())
	}
	if out, err := exec.Command("tar", tarArgs...).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}

	out, err = pod(userdata(id, "restore.log"), "container", "restore", "--import", foreign)
	if err == nil {
		t.Fatal("podman restored a checkpoint that needs a feature this host lacks, under enforce")
	}
	if !strings.Contains(out, "refusing restore under policy enforce") || !strings.Contains(out, "were started with "+feature+", which this host lacks") {
		t.Fatalf("podman's error does not carry the wrapper's line naming %s:\n%s", feature, out)
	}
	_, _ = pod(nil, "rm", "-f", "-t", "0", name)

	if _, err := pod(userdata(id, "restore.log"), "container", "restore", "--import", archive); err != nil {
		t.Fatal(err)
	}
	waitTicks(t, log, n)
	if err := os.WriteFile(log+".fork", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLine(t, log, "child pid=")
	nl, _ := os.ReadFile(nodeLog)
	for _, want := range []string{`"decision":"incompatible"`, `"decision":"identical"`, `"stage":"restore"`} {
		if !strings.Contains(string(nl), want) {
			t.Errorf("node log lacks %s:\n%s", want, nl)
		}
	}
}

// containerID is the container id `podman run -d` prints (its output may
// hold warnings too): the last line of 64 hex digits, or "unknown".
func containerID(out string) string {
	id := "unknown"
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); len(l) == 64 && strings.Trim(l, "0123456789abcdef") == "" {
			id = l
		}
	}
	return id
}

// untar unpacks a podman export archive (zstd, gzip or plain tar) to dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				var b []byte
				if b, err = io.ReadAll(tr); err == nil {
					err = os.WriteFile(p, b, os.FileMode(h.Mode)&0o777)
				}
			}
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(h.Linkname, p)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
