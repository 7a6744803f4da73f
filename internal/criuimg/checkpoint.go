package criuimg

import (
	"fmt"
	"sort"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit"
	criucore "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// Checkpoint is what hwcap reads from one set of CRIU images.
type Checkpoint struct {
	Source string // the directory or archive as given
	Format string // "directory", "tar", "tar+gzip" or "tar+zstd"
	Dir    string // where the images are inside an archive ("checkpoint/" or "")
	// ImgVersion is inventory.img's img_version.
	ImgVersion uint32
	Tasks      []Task // in pstree order (the root first)
}

// Task is one process of the checkpoint.
type Task struct {
	PID, PPID uint32
	Threads   int    // threads in the image (1 for a single-threaded process)
	Comm      string // the task's name (TaskCoreEntry.comm), as the kernel truncates it
	State     string // "alive", "stopped", "dead", "zombie" or "unknown"
	Machine   string // CRIU's machine type: "X86_64", "AARCH64", ...
	Arch      string // Machine as a GOARCH name ("" for machines hwcap has no table for)
	// Auxv is the saved auxiliary vector; nil for a task without memory
	// (dead or zombie).
	Auxv auxv.Vector
	// Stack is the auxiliary vector on the task's initial stack, read
	// from the checkpoint's pages: the words its programs saw. It differs
	// from Auxv only where hwcap's eBPF backend masked the task. nil when
	// it could not be read; StackNote then says why.
	Stack     auxv.Vector
	StackNote string
}

// Words returns the AT_HWCAP* words the task's programs saw (its stack's,
// when read; else the saved ones) and which copy they come from.
func (t *Task) Words() (hwcap.Words, string) {
	if t.Stack != nil {
		return t.Stack.HWCAPs(), "stack"
	}
	return t.Auxv.HWCAPs(), "saved"
}

// MaskedOnStack reports whether the task's stack shows fewer features than
// the kernel's saved copy: it was masked by hwcap's eBPF backend.
func (t *Task) MaskedOnStack() bool {
	return t.Stack != nil && t.Stack.HWCAPs() != t.Auxv.HWCAPs()
}

// HasHWCAP reports whether the task's saved vector carries AT_HWCAP.
func (t *Task) HasHWCAP() bool { return t.Auxv.Present()[0] }

// Label names the task in messages: "pid 1 (sleep)".
func (t *Task) Label() string {
	if t.Comm == "" {
		return fmt.Sprintf("pid %d", t.PID)
	}
	return fmt.Sprintf("pid %d (%s)", t.PID, t.Comm)
}

// machineArch maps CRIU's machine types to GOARCH names. CRIU's "PPC64"
// is little-endian only (CRIU supports no big-endian ppc64).
var machineArch = map[criucore.CoreEntryMarch]string{
	criucore.CoreEntry_X86_64:      "amd64",
	criucore.CoreEntry_AARCH64:     "arm64",
	criucore.CoreEntry_PPC64:       "ppc64le",
	criucore.CoreEntry_S390:        "s390x",
	criucore.CoreEntry_RISCV64:     "riscv64",
	criucore.CoreEntry_LOONGARCH64: "loong64",
}

// fileSource hands out image files by base name ("mm-1.img"); ok is false
// for a file that does not exist.
type fileSource interface {
	get(name string) (data []byte, ok bool, err error)
}

// build reads inventory, pstree, and each task's core and mm images.
func build(src fileSource, lim Limits) (*Checkpoint, error) {
	cp := &Checkpoint{}
	inv, ok, err := src.get("inventory.img")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no inventory.img (want a directory written by criu dump or runc checkpoint, or a podman/kubelet checkpoint archive)", ErrNotCheckpoint)
	}
	ie, err := decodeOne("inventory.img", inv, "INVENTORY", func() *inventory.InventoryEntry { return &inventory.InventoryEntry{} })
	if err != nil {
		return nil, err
	}
	cp.ImgVersion = ie.GetImgVersion()

	ps, ok, err := src.get("pstree.img")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: inventory.img but no pstree.img", ErrNotCheckpoint)
	}
	entries, err := decodeImage("pstree.img", ps, "PSTREE", lim.Tasks, func() *pstree.PstreeEntry { return &pstree.PstreeEntry{} })
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: pstree.img has no task", ErrNotCheckpoint)
	}
	seen := make(map[uint32]bool, len(entries))
	for _, e := range entries {
		pid := e.GetPid()
		if pid == 0 {
			return nil, fmt.Errorf("%w: pstree.img: a task with pid 0", ErrBadImage)
		}
		if seen[pid] {
			return nil, fmt.Errorf("%w: pstree.img: pid %d given twice", ErrBadImage, pid)
		}
		seen[pid] = true
		t, err := readTask(src, e)
		if err != nil {
			return nil, err
		}
		cp.Tasks = append(cp.Tasks, *t)
	}
	return cp, nil
}

func readTask(src fileSource, e *pstree.PstreeEntry) (*Task, error) {
	t := &Task{PID: e.GetPid(), PPID: e.GetPpid(), Threads: len(e.GetThreads())}
	coreName := fmt.Sprintf("core-%d.img", t.PID)
	b, ok, err := src.get(coreName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: task %d is in pstree.img but %s is missing", ErrNotCheckpoint, t.PID, coreName)
	}
	core, err := decodeOne(coreName, b, "CORE", func() *criucore.CoreEntry { return &criucore.CoreEntry{} })
	if err != nil {
		return nil, err
	}
	t.Machine = core.GetMtype().String()
	t.Arch = machineArch[core.GetMtype()]
	t.Comm = cleanComm(core.GetTc().GetComm())
	st := crit.TaskState(core.GetTc().GetTaskState())
	t.State = strings.ToLower(st.String())
	if !st.IsAliveOrStopped() {
		return t, nil
	}
	mmName := fmt.Sprintf("mm-%d.img", t.PID)
	b, ok, err = src.get(mmName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: task %s is %s but %s is missing", ErrNotCheckpoint, t.Label(), t.State, mmName)
	}
	m, err := decodeOne(mmName, b, "MM", func() *mm.MmEntry { return &mm.MmEntry{} })
	if err != nil {
		return nil, err
	}
	if t.Auxv, err = savedAuxv(mmName, m.GetMmSavedAuxv()); err != nil {
		return nil, err
	}
	if t.HasHWCAP() {
		t.Stack, t.StackNote = readStack(src, t.PID, m, t.Auxv, t.Arch)
	}
	return t, nil
}

// maxAuxvWords bounds mm_saved_auxv: the kernel's saved_auxv has
// AT_VECTOR_SIZE (about 50) words; auxv.MaxSize is the bound for the
// encoded form elsewhere.
const maxAuxvWords = auxv.MaxSize / 8

// savedAuxv turns CRIU's mm_saved_auxv (type, value, type, value, ...;
// 64-bit words on every architecture CRIU supports) into a vector. CRIU
// saves the kernel's whole array: the pairs after the first AT_NULL are
// padding.
func savedAuxv(name string, words []uint64) (auxv.Vector, error) {
	if len(words) > maxAuxvWords {
		return nil, fmt.Errorf("%w: %s: mm_saved_auxv has %d words (at most %d)", ErrBadImage, name, len(words), maxAuxvWords)
	}
	if len(words)%2 != 0 {
		return nil, fmt.Errorf("%w: %s: mm_saved_auxv has an odd number of words (%d): not type/value pairs", ErrBadImage, name, len(words))
	}
	v := auxv.Vector{}
	for i := 0; i < len(words); i += 2 {
		if words[i] == auxv.AT_NULL {
			break
		}
		v = append(v, auxv.Entry{Type: words[i], Val: words[i+1]})
	}
	return v, nil
}

// cleanComm keeps a task name printable: comm is at most 16 bytes in the
// kernel, but an image may say anything.
func cleanComm(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffd {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// Arch returns the checkpoint's architecture (of its first task with
// one), or "" if no task's machine is known.
func (cp *Checkpoint) Arch() string {
	for _, t := range cp.Tasks {
		if t.Arch != "" {
			return t.Arch
		}
	}
	return ""
}

// Machines lists the distinct CRIU machine types of the tasks, sorted.
func (cp *Checkpoint) Machines() []string {
	m := map[string]bool{}
	for _, t := range cp.Tasks {
		m[t.Machine] = true
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
