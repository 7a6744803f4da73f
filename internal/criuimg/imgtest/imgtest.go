// Package imgtest writes small CRIU image sets (inventory, pstree, core
// and mm images, framed as CRIU 4.1 writes them) for tests that need a
// checkpoint with chosen HWCAP words, e.g. one this host cannot restore.
package imgtest

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	criucore "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"github.com/checkpoint-restore/go-criu/v8/magic"
	"google.golang.org/protobuf/proto"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Task is one process of the checkpoint: alive, single-threaded.
type Task struct {
	PID, PPID uint32
	Comm      string
	Machine   criucore.CoreEntryMarch
	Words     hwcap.Words // saved AT_HWCAP..AT_HWCAP4 (AT_HWCAP3/4 only when non-zero)
	// Stack, when set, adds the task's initial stack page (pagemap and
	// pages images, mm_start_stack) whose auxiliary vector is the saved
	// one with these AT_HWCAP* words: what hwcap's eBPF backend leaves.
	Stack *hwcap.Words
	// StackFlags are the stack page's pagemap flags (0: present, lazy).
	StackFlags uint32
}

// StackPage is the address of the synthetic stack page; mm_start_stack
// is StackPage + 0x800.
const StackPage = 0x7ffc12340000

// Machine returns CRIU's machine type for a GOARCH name.
func Machine(goarch string) criucore.CoreEntryMarch {
	switch goarch {
	case "amd64":
		return criucore.CoreEntry_X86_64
	case "arm64":
		return criucore.CoreEntry_AARCH64
	case "ppc64le":
		return criucore.CoreEntry_PPC64
	case "s390x":
		return criucore.CoreEntry_S390
	case "riscv64":
		return criucore.CoreEntry_RISCV64
	case "loong64":
		return criucore.CoreEntry_LOONGARCH64
	}
	return criucore.CoreEntry_UNKNOWN
}

var magics = magic.LoadMagic()

// Image frames msgs as a CRIU image of type typ ("MM", "CORE", ...).
func Image(typ string, msgs ...proto.Message) ([]byte, error) {
	var b []byte
	if typ != "INVENTORY" {
		b = binary.LittleEndian.AppendUint32(b, uint32(magics.ByName["IMG_COMMON"]))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(magics.ByName[typ]))
	for _, m := range msgs {
		p, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m)
		if err != nil {
			return nil, err
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b, nil
}

// Files returns the image files of a checkpoint of tasks, by name.
func Files(tasks ...Task) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name, typ string, msgs ...proto.Message) error {
		b, err := Image(typ, msgs...)
		files[name] = b
		return err
	}
	if err := add("inventory.img", "INVENTORY", &inventory.InventoryEntry{ImgVersion: proto.Uint32(2)}); err != nil {
		return nil, err
	}
	var ps []proto.Message
	z := proto.Uint64(0)
	for _, t := range tasks {
		ps = append(ps, &pstree.PstreeEntry{Pid: proto.Uint32(t.PID), Ppid: proto.Uint32(t.PPID),
			Pgid: proto.Uint32(t.PID), Sid: proto.Uint32(t.PID), Threads: []uint32{t.PID}})
		m := t.Machine
		if err := add(fmt.Sprintf("core-%d.img", t.PID), "CORE", &criucore.CoreEntry{Mtype: &m,
			Tc: &criucore.TaskCoreEntry{TaskState: proto.Uint32(1), ExitCode: proto.Uint32(0), Personality: proto.Uint32(0),
				Flags: proto.Uint32(0), BlkSigset: z, Comm: proto.String(t.Comm)}}); err != nil {
			return nil, err
		}
		auxv := []uint64{6, 4096}
		for i, typ := range hwcap.AuxvType {
			if i < 2 || t.Words[i] != 0 {
				auxv = append(auxv, typ, t.Words[i])
			}
		}
		auxv = append(auxv, 0, 0)
		mme := MM(auxv)
		if t.Stack != nil {
			mme.MmStartStack = proto.Uint64(StackPage + 0x800)
			if err := addStack(files, t, auxv); err != nil {
				return nil, err
			}
		}
		if err := add(fmt.Sprintf("mm-%d.img", t.PID), "MM", mme); err != nil {
			return nil, err
		}
	}
	if err := add("pstree.img", "PSTREE", ps...); err != nil {
		return nil, err
	}
	return files, nil
}

// addStack writes pagemap-PID.img and pages-PID.img: one page holding the
// initial stack (argc 1, argv, NULL, one environment string, NULL, then
// saved with t.Stack's words in place of the AT_HWCAP* values).
func addStack(files map[string][]byte, t Task, saved []uint64) error {
	page := make([]byte, 4096)
	words := []uint64{1, StackPage + 0xf00, 0, StackPage + 0xf10, 0}
	for i := 0; i+1 < len(saved); i += 2 {
		val := saved[i+1]
		for w, typ := range hwcap.AuxvType {
			if saved[i] == typ {
				val = t.Stack[w]
			}
		}
		words = append(words, saved[i], val)
	}
	for i, w := range words {
		binary.LittleEndian.PutUint64(page[0x800+8*i:], w)
	}
	copy(page[0xf00:], "app\x00")
	copy(page[0xf10:], "PATH=/bin\x00")
	flags := t.StackFlags
	if flags == 0 {
		flags = 1<<1 | 1<<2 // PE_LAZY | PE_PRESENT, as CRIU marks anonymous pages
	}
	pm, err := Image("PAGEMAP", &pagemap.PagemapHead{PagesId: proto.Uint32(t.PID)},
		&pagemap.PagemapEntry{Vaddr: proto.Uint64(StackPage), CompatNrPages: proto.Uint32(1), Flags: proto.Uint32(flags)})
	if err != nil {
		return err
	}
	files[fmt.Sprintf("pagemap-%d.img", t.PID)] = pm
	files[fmt.Sprintf("pages-%d.img", t.PID)] = page
	return nil
}

// MM is an mm image entry with saved auxv auxv (CRIU's pairs, AT_NULL) and
// the fields CRIU requires set to zero.
func MM(auxv []uint64) *mm.MmEntry {
	z := proto.Uint64(0)
	return &mm.MmEntry{MmStartCode: z, MmEndCode: z, MmStartData: z, MmEndData: z, MmStartStack: z,
		MmStartBrk: z, MmBrk: z, MmArgStart: z, MmArgEnd: z, MmEnvStart: z, MmEnvEnd: z,
		ExeFileId: proto.Uint32(1), MmSavedAuxv: auxv}
}

// WriteDir writes the images of tasks into dir (created).
func WriteDir(dir string, tasks ...Task) error {
	files, err := Files(tasks...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
