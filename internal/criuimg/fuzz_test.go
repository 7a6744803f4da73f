package criuimg

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// FuzzReadArchive: any bytes as a checkpoint archive give a checkpoint or
// an error of this package, never a panic or an unbounded allocation.
func FuzzReadArchive(f *testing.F) {
	files := synthImages(f,
		synthTask{pid: 1, comm: "a", march: arm64, state: 1, auxv: auxvWords(maxHwcap, maxHw2)},
		synthTask{pid: 2, ppid: 1, comm: "b", march: arm64, state: 2})
	f.Add(tarOf(f, "checkpoint/", files))
	f.Add(gzipOf(f, tarOf(f, "", files)))
	f.Add(zstdOf(f, tarOf(f, "checkpoint/", files)))
	f.Add([]byte{})
	lim := Limits{FileSize: 1 << 20, TotalKept: 4 << 20, Tasks: 1024, Entries: 4096, StreamBytes: 16 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := ReadArchive(bytes.NewReader(data), "fuzz.tar", lim)
		if err == nil && len(cp.Tasks) == 0 {
			t.Fatal("a checkpoint without tasks")
		}
	})
}

// FuzzImages: any bytes as one of the image files of an otherwise good
// checkpoint, seeded with the real fixtures' files.
func FuzzImages(f *testing.F) {
	good := synthImages(f, synthTask{pid: 1, comm: "a", march: arm64, state: 1, auxv: auxvWords(maxHwcap)})
	names := []string{"inventory.img", "pstree.img", "core-1.img", "mm-1.img"}
	for i, n := range names {
		f.Add(uint8(i), good[n])
	}
	real := filepath.Join("testdata", "x86_64", "runc")
	for i, n := range names {
		if b, err := os.ReadFile(filepath.Join(real, n)); err == nil {
			f.Add(uint8(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		files := memSource{}
		for k, v := range good {
			files[k] = v
		}
		files[names[int(which)%len(names)]] = data
		cp, err := build(files, DefaultLimits)
		if err == nil && len(cp.Tasks) == 0 {
			t.Fatal("a checkpoint without tasks")
		}
	})
}

// FuzzStack: any bytes as a task's pagemap and pages images (and any
// stack start) give a vector that matches the saved one, or a reason,
// never a panic or an unbounded walk.
func FuzzStack(f *testing.F) {
	masked := hwcap.Words{0x119fff}
	files, err := imgtest.Files(imgtest.Task{PID: 1, Comm: "a", Machine: imgtest.Machine("arm64"), Words: hwcap.Words{maxHwcap}, Stack: &masked})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(files["pagemap-1.img"], files["pages-1.img"], uint64(imgtest.StackPage+0x800))
	f.Add(files["pagemap-1.img"], files["pages-1.img"][:100], uint64(imgtest.StackPage+0x808))
	f.Add([]byte{}, []byte{}, uint64(0))
	saved := auxv.Vector{{Type: 6, Val: 4096}, {Type: auxv.AT_HWCAP, Val: maxHwcap}}
	f.Fuzz(func(t *testing.T, pm, pages []byte, sp uint64) {
		src := memSource{"pagemap-1.img": pm, "pages-1.img": pages}
		m := imgtest.MM(nil)
		m.MmStartStack = &sp
		v, why := readStack(src, 1, m, saved, "arm64")
		if v != nil && (why != "" || stackMatches(v, saved) != "") {
			t.Fatalf("vector %v with note %q", v, why)
		}
		if v == nil && why == "" {
			t.Fatal("no vector and no reason")
		}
	})
}
