package criuimg

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	criucore "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"google.golang.org/protobuf/proto"

	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

const (
	n1Hwcap  = 0x119fff   // arm64 -cpu neoverse-n1 (kernel 7.3.4)
	maxHwcap = 0xfdffffff // arm64 -cpu max
	maxHw2   = 0x7f83ffff
)

var arm64 = criucore.CoreEntry_AARCH64

// twoTasks: an SVE task and its zombie-free child on the same mm words.
func twoTasks(t *testing.T) map[string][]byte {
	return synthImages(t,
		synthTask{pid: 1, comm: "payload", march: arm64, state: 1, auxv: auxvWords(maxHwcap, maxHw2)},
		synthTask{pid: 7, ppid: 1, comm: "child", march: arm64, state: 3, auxv: auxvWords(n1Hwcap, 0)},
		synthTask{pid: 9, ppid: 1, comm: "gone", march: arm64, state: 2},
	)
}

func writeDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadFormats(t *testing.T) {
	files := twoTasks(t)
	for name, tc := range map[string]struct {
		data   []byte
		format string
		dir    string
	}{
		"tar checkpoint/":    {tarOf(t, "checkpoint/", files), "tar", "checkpoint/"},
		"tar ./checkpoint/":  {tarOf(t, "./checkpoint/", files), "tar", "checkpoint/"},
		"tar top level":      {tarOf(t, "", files), "tar", ""},
		"tar.gz checkpoint/": {gzipOf(t, tarOf(t, "checkpoint/", files)), "tar+gzip", "checkpoint/"},
		"tar.zst":            {zstdOf(t, tarOf(t, "checkpoint/", files)), "tar+zstd", "checkpoint/"},
	} {
		t.Run(name, func(t *testing.T) {
			cp, err := ReadArchive(bytes.NewReader(tc.data), "a.tar", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if cp.Format != tc.format || cp.Dir != tc.dir || cp.Source != "a.tar" {
				t.Errorf("format %q dir %q source %q, want %q %q", cp.Format, cp.Dir, cp.Source, tc.format, tc.dir)
			}
			checkTwoTasks(t, cp)
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := writeDir(t, files)
		cp, err := Open(dir, nil, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if cp.Format != "directory" || cp.Source != dir {
			t.Errorf("format %q source %q", cp.Format, cp.Source)
		}
		checkTwoTasks(t, cp)
	})
	t.Run("archive file and stdin", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "c.tar.gz")
		data := gzipOf(t, tarOf(t, "checkpoint/", files))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cp, err := Open(p, nil, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		checkTwoTasks(t, cp)
		cp, err = Open("-", bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		checkTwoTasks(t, cp)
	})
}

func checkTwoTasks(t *testing.T, cp *Checkpoint) {
	t.Helper()
	if cp.ImgVersion != 2 || len(cp.Tasks) != 3 {
		t.Fatalf("img_version %d, %d tasks: %+v", cp.ImgVersion, len(cp.Tasks), cp.Tasks)
	}
	want := []struct {
		pid, ppid   uint32
		comm, state string
		words       hwcap.Words
		hasAuxv     bool
	}{
		{1, 0, "payload", "alive", hwcap.Words{maxHwcap, maxHw2}, true},
		{7, 1, "child", "stopped", hwcap.Words{n1Hwcap}, true},
		{9, 1, "gone", "dead", hwcap.Words{}, false},
	}
	for i, w := range want {
		got := cp.Tasks[i]
		if got.PID != w.pid || got.PPID != w.ppid || got.Comm != w.comm || got.State != w.state ||
			got.Machine != "AARCH64" || got.Arch != "arm64" || got.Auxv.HWCAPs() != w.words || (got.Auxv != nil) != w.hasAuxv {
			t.Errorf("task %d = %+v, want %+v", i, got, w)
		}
	}
	if v, _ := cp.Tasks[0].Auxv.Lookup(6); v != 4096 {
		t.Errorf("AT_PAGESZ = %d, want 4096 (the vector before AT_NULL is kept whole)", v)
	}
}

// TestBadInput: every malformed or hostile input is one error naming the
// file and the problem, with the right sentinel, and never a panic.
func TestBadInput(t *testing.T) {
	good := twoTasks(t)
	with := func(name string, data []byte) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range good {
			m[k] = v
		}
		if data == nil {
			delete(m, name)
		} else {
			m[name] = data
		}
		return m
	}
	mmBad := func(words []uint64) []byte { return encodeImage(t, "MM", imgtest.MM(words)) }
	tarWith := func(hdrs ...*tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hdrs {
			data := good[filepath.Base(h.Name)]
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(data))
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				tw.Write(data) //nolint:errcheck
			}
		}
		tw.Close()
		return buf.Bytes()
	}
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600} }
	full := func(extra ...*tar.Header) []byte {
		var hs []*tar.Header
		for _, n := range sortedKeys(good) {
			hs = append(hs, reg("checkpoint/"+n))
		}
		return tarWith(append(hs, extra...)...)
	}
	cases := map[string]struct {
		files   map[string][]byte // as a directory and as a tar
		archive []byte            // archive only
		lim     Limits
		want    error
		msg     string
	}{
		"no inventory":         {files: with("inventory.img", nil), want: ErrNotCheckpoint, msg: "no inventory.img"},
		"no pstree":            {files: with("pstree.img", nil), want: ErrNotCheckpoint, msg: "no pstree.img"},
		"no core":              {files: with("core-7.img", nil), want: ErrNotCheckpoint, msg: "core-7.img is missing"},
		"no mm for alive task": {files: with("mm-1.img", nil), want: ErrNotCheckpoint, msg: "pid 1 (payload) is alive but mm-1.img is missing"},
		"wrong magic":          {files: with("mm-1.img", good["core-1.img"]), want: ErrBadImage, msg: "mm-1.img: image type CORE (want MM)"},
		"unknown magic":        {files: with("pstree.img", []byte{1, 2, 3, 4, 5, 6, 7, 8}), want: ErrBadImage, msg: "unknown magic 0x4030201"},
		"short":                {files: with("inventory.img", []byte{1, 2}), want: ErrBadImage, msg: "too short"},
		"truncated entry":      {files: with("mm-1.img", good["mm-1.img"][:len(good["mm-1.img"])-3]), want: ErrBadImage, msg: "mm-1.img: entry at offset 8 claims"},
		"trailing bytes":       {files: with("core-1.img", append(append([]byte{}, good["core-1.img"]...), 1, 2)), want: ErrBadImage, msg: "2 trailing bytes"},
		"two mm entries":       {files: with("mm-1.img", append(append([]byte{}, good["mm-1.img"]...), good["mm-1.img"][8:]...)), want: ErrTooLarge, msg: "more than 1 entries"},
		"garbage protobuf":     {files: with("mm-1.img", append(good["mm-1.img"][:8:8], 3, 0, 0, 0, 0xff, 0xff, 0xff)), want: ErrBadImage, msg: "mm-1.img: entry 0"},
		"no entry":             {files: with("inventory.img", encodeImage(t, "INVENTORY")), want: ErrBadImage, msg: "inventory.img: no entry"},
		"missing required":     {files: with("inventory.img", encodeImage(t, "INVENTORY", &inventory.InventoryEntry{})), want: ErrBadImage, msg: "required field inventory_entry.img_version not set"},
		"common magic only":    {files: with("core-1.img", good["core-1.img"][:4]), want: ErrBadImage, msg: "no image type after the common magic"},
		"odd auxv":             {files: with("mm-1.img", mmBad([]uint64{16, 1, 26})), want: ErrBadImage, msg: "odd number of words (3)"},
		"huge auxv":            {files: with("mm-1.img", mmBad(make([]uint64, 1000))), want: ErrBadImage, msg: "1000 words"},
		"empty pstree":         {files: with("pstree.img", encodeImage(t, "PSTREE")), want: ErrNotCheckpoint, msg: "no task"},
		"pid twice": {files: with("pstree.img", encodeImage(t, "PSTREE",
			&pstree.PstreeEntry{Pid: proto.Uint32(1), Ppid: proto.Uint32(0), Pgid: proto.Uint32(1), Sid: proto.Uint32(1)},
			&pstree.PstreeEntry{Pid: proto.Uint32(1), Ppid: proto.Uint32(0), Pgid: proto.Uint32(1), Sid: proto.Uint32(1)})), want: ErrBadImage, msg: "pid 1 given twice"},
		"too many tasks": {files: good, lim: Limits{Tasks: 2}, want: ErrTooLarge, msg: "pstree.img: more than 2 entries"},
		"file too large": {files: good, lim: Limits{FileSize: 20}, want: ErrTooLarge, msg: "more than 20"},
		"kept too large": {files: good, lim: Limits{TotalKept: 100}, want: ErrTooLarge, msg: "exceed 100 bytes"},

		"empty archive":     {archive: []byte{}, want: ErrBadArchive, msg: "empty file"},
		"not a tar":         {archive: bytes.Repeat([]byte("x"), 1024), want: ErrBadArchive, msg: "want a tar, tar.gz or tar.zst"},
		"xz":                {archive: []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, want: ErrBadArchive, msg: "xz-compressed"},
		"bad gzip":          {archive: []byte{0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, want: ErrBadArchive, msg: "gzip"},
		"bad zstd":          {archive: []byte{0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff}, want: ErrBadArchive, msg: ""},
		"no images":         {archive: tarWith(reg("config.dump")), want: ErrNotCheckpoint, msg: "archive without CRIU images"},
		"dotdot":            {archive: full(reg("checkpoint/../../etc/mm-1.img")), want: ErrBadArchive, msg: `path leaves the archive`},
		"dotdot elsewhere":  {archive: full(reg("rootfs/../x")), want: ErrBadArchive, msg: `"rootfs/../x": path leaves`},
		"absolute":          {archive: full(reg("/checkpoint/mm-1.img")), want: ErrBadArchive, msg: "absolute path"},
		"duplicate":         {archive: full(reg("./checkpoint/mm-1.img")), want: ErrBadArchive, msg: "twice"},
		"symlink":           {archive: tarWith(&tar.Header{Name: "checkpoint/mm-1.img", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}), want: ErrBadArchive, msg: "symbolic link"},
		"hardlink":          {archive: tarWith(&tar.Header{Name: "checkpoint/pstree.img", Typeflag: tar.TypeLink, Linkname: "x"}), want: ErrBadArchive, msg: "hard link"},
		"both layouts":      {archive: full(reg("inventory.img")), want: ErrBadArchive, msg: "both at the top level and under checkpoint/"},
		"entries limit":     {archive: full(), lim: Limits{Entries: 3}, want: ErrTooLarge, msg: "more than 3 archive entries"},
		"stream limit":      {archive: full(), lim: Limits{StreamBytes: 2048}, want: ErrTooLarge, msg: "unpacks to more than 2048 bytes"},
		"truncated archive": {archive: full()[:1200], want: ErrBadArchive, msg: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			check := func(how string, err error) {
				t.Helper()
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("%s: err = %v, want %v containing %q", how, err, tc.want, tc.msg)
				}
				if err != nil && strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: multi-line error %q", how, err)
				}
			}
			if tc.files != nil {
				_, err := ReadDir(writeDir(t, tc.files), tc.lim)
				check("directory", err)
				if !errors.Is(tc.want, ErrTooLarge) || tc.lim.Tasks > 0 || tc.lim.FileSize > 0 || tc.lim.TotalKept > 0 {
					_, err = ReadArchive(bytes.NewReader(tarOf(t, "checkpoint/", tc.files)), "x.tar", tc.lim)
					check("tar", err)
				}
			} else {
				_, err := ReadArchive(bytes.NewReader(tc.archive), "x.tar", tc.lim)
				check("archive", err)
			}
		})
	}
}

func TestDirRefusesSpecialFiles(t *testing.T) {
	dir := writeDir(t, twoTasks(t))
	if err := os.Remove(filepath.Join(dir, "mm-1.img")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "mm-1.img"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDir(dir, Limits{})
	if !errors.Is(err, ErrBadImage) || !strings.Contains(err.Error(), "mm-1.img: not a regular file") {
		t.Errorf("fifo: %v", err)
	}
	// A symlink out of the directory is refused by os.Root.
	if err := os.Remove(filepath.Join(dir, "mm-1.img")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "mm.img")
	if err := os.WriteFile(outside, twoTasks(t)["mm-1.img"], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "mm-1.img")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir, Limits{}); err == nil || !strings.Contains(err.Error(), "mm-1.img") {
		t.Errorf("symlink out of the directory: %v", err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(fifo, nil, Limits{}); !errors.Is(err, ErrNotCheckpoint) || !strings.Contains(err.Error(), "want a CRIU image directory") {
		t.Errorf("Open(fifo) = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "nonexistent"), nil, Limits{}); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("Open(nonexistent) = %v", err)
	}
}

func TestSplitName(t *testing.T) {
	for in, want := range map[string][2]string{
		"checkpoint/mm-1.img":     {"checkpoint/", "mm-1.img"},
		"./checkpoint//mm-1.img":  {"checkpoint/", "mm-1.img"},
		"./././pstree.img":        {"", "pstree.img"},
		"checkpoint/./x/core.img": {"checkpoint/x/", "core.img"},
		"./":                      {"", ""},
	} {
		d, b, err := splitName(in)
		if err != nil || d != want[0] || b != want[1] {
			t.Errorf("splitName(%q) = %q, %q, %v; want %q", in, d, b, err, want)
		}
	}
}

// TestStackWords: a task masked by hwcap's eBPF backend saw the masked
// words on its stack while CRIU's mm_saved_auxv has the kernel's; the
// verdict follows what it saw, and says where the words come from. What
// cannot be read is named, and the saved words decide.
func TestStackWords(t *testing.T) {
	a64fx := hwcap.Words{0xfdffffff, 0x7f83ffff}               // -cpu max-like words
	n1 := hwcap.Words{0x119fff, 0}                             // neoverse-n1
	masked := a64fx.And(hwcap.Words{0x119fff, 0})              // masked to N1 on the stack
	host := &node.Node{Source: "n1", Arch: "arm64", Words: n1} // the restoring node
	for name, tc := range map[string]struct {
		stack   *hwcap.Words
		flags   uint32
		from    string
		verdict string
		note    string
	}{
		"masked on the stack": {&masked, 0, "stack", node.Identical, ""},
		"unmasked":            {&a64fx, 0, "stack", node.Incompatible, ""},
		"no pages":            {nil, 0, "saved", node.Incompatible, ""},
		"parent image":        {&masked, 1, "saved", node.Incompatible, "is in a parent (pre-dump) image"},
		"not present":         {&masked, 2, "saved", node.Incompatible, "is not in the image"},
		"stack has more":      {&hwcap.Words{0xffffffff, 0x7f83ffff}, 0, "saved", node.Incompatible, "has bits the saved one lacks"},
	} {
		t.Run(name, func(t *testing.T) {
			files, err := imgtest.Files(imgtest.Task{PID: 1, Comm: "app", Machine: imgtest.Machine("arm64"), Words: a64fx, Stack: tc.stack, StackFlags: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			for _, read := range []func() (*Checkpoint, error){
				func() (*Checkpoint, error) { return ReadDir(writeDir(t, files), Limits{}) },
				func() (*Checkpoint, error) {
					return ReadArchive(bytes.NewReader(tarOf(t, ArchiveDir, files)), "a.tar", Limits{})
				},
			} {
				cp, err := read()
				if err != nil {
					t.Fatal(err)
				}
				task := cp.Tasks[0]
				if !strings.Contains(task.StackNote, tc.note) || (tc.from == "stack") != (task.StackNote == "") {
					t.Errorf("stack note %q, want %q", task.StackNote, tc.note)
				}
				r, err := Check(cp, host)
				if err != nil {
					t.Fatal(err)
				}
				if r.Verdict != tc.verdict || r.Tasks[0].From != tc.from {
					t.Errorf("%s: verdict %s from %s, want %s from %s", cp.Format, r.Verdict, r.Tasks[0].From, tc.verdict, tc.from)
				}
				if task.MaskedOnStack() != (tc.from == "stack" && *tc.stack != a64fx) {
					t.Errorf("MaskedOnStack = %v", task.MaskedOnStack())
				}
			}
		})
	}
}
