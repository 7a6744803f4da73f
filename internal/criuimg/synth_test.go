package criuimg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"

	criucore "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
)

// encodeImage frames messages the way CRIU 4.1 writes an image
// (imgtest.Image).
func encodeImage(t testing.TB, typ string, msgs ...proto.Message) []byte {
	t.Helper()
	b, err := imgtest.Image(typ, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// synthTask describes one task of a synthetic checkpoint.
type synthTask struct {
	pid, ppid uint32
	comm      string
	march     criucore.CoreEntryMarch
	state     uint32   // 1 alive, 2 dead, 3 stopped
	auxv      []uint64 // nil: no mm image
}

// synthImages returns a checkpoint's image files by name.
func synthImages(t testing.TB, tasks ...synthTask) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"inventory.img": encodeImage(t, "INVENTORY", &inventory.InventoryEntry{ImgVersion: proto.Uint32(2)}),
	}
	var ps []proto.Message
	for _, s := range tasks {
		ps = append(ps, &pstree.PstreeEntry{Pid: proto.Uint32(s.pid), Ppid: proto.Uint32(s.ppid),
			Pgid: proto.Uint32(s.pid), Sid: proto.Uint32(s.pid), Threads: []uint32{s.pid}})
		m := s.march
		files[fmt.Sprintf("core-%d.img", s.pid)] = encodeImage(t, "CORE", &criucore.CoreEntry{
			Mtype: &m,
			Tc: &criucore.TaskCoreEntry{TaskState: proto.Uint32(s.state), ExitCode: proto.Uint32(0),
				Personality: proto.Uint32(0), Flags: proto.Uint32(0), BlkSigset: proto.Uint64(0), Comm: proto.String(s.comm)},
		})
		if s.auxv != nil {
			files[fmt.Sprintf("mm-%d.img", s.pid)] = encodeImage(t, "MM", imgtest.MM(s.auxv))
		}
	}
	files["pstree.img"] = encodeImage(t, "PSTREE", ps...)
	return files
}

// auxvWords is a saved auxv as CRIU stores it: pairs, AT_NULL, padding.
func auxvWords(hw ...uint64) []uint64 {
	w := []uint64{6, 4096} // AT_PAGESZ
	types := []uint64{16, 26, 29, 30}
	for i, v := range hw {
		w = append(w, types[i], v)
	}
	return append(w, 0, 0, 0, 0)
}

// tarOf packs files into a tar under dir.
func tarOf(t testing.TB, dir string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: dir + name, Mode: 0o600, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdOf(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}
