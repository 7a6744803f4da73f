package criuimg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// Why the initial stack matters: hwcap's eBPF backend masks the AT_HWCAP*
// words a program sees by rewriting them on its new stack; the kernel's
// copy (mm->saved_auxv, /proc/PID/auxv) keeps the unmasked words, and that
// copy is what CRIU saves as mm_saved_auxv. The stack is ordinary memory
// and is in the checkpoint's pages: argc at mm_start_stack, then argv[],
// NULL, envp[], NULL and the auxiliary vector. Reading it tells which
// features the task really saw.

// pageSize is the page size of the checkpointed machine. CRIU does not
// record it; 4 KiB is every x86_64 kernel's and Debian's arm64 kernel's.
// A wrong guess yields a vector that does not match mm_saved_auxv, which
// is reported, never used.
const pageSize = 4096

// Pagemap entry flags (criu/include/pagemap.h).
const (
	pageParent  = 1 << 0 // the page is in a parent (pre-dump) image
	pagePresent = 1 << 2 // in pages-<id>.img (1 << 1, PE_LAZY, may be set too)
)

// Bounds of the walk from mm_start_stack: the argv and envp arrays.
const (
	maxArgs = 1 << 20
	maxEnvs = 1 << 20
)

// rangeSource is a fileSource that can also read part of a large file
// (pages-N.img) without holding all of it.
type rangeSource interface {
	getRange(name string, off int64, n int) (data []byte, ok bool, err error)
}

func (d *dirSource) getRange(name string, off int64, n int) ([]byte, bool, error) {
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: %s/%s: not a regular file", ErrBadImage, d.dir, name)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("%w: %s/%s: shorter than its pagemap says", ErrBadImage, d.dir, name)
		}
		return nil, false, err
	}
	return b, true, nil
}

func (m memSource) getRange(name string, off int64, n int) ([]byte, bool, error) {
	b, ok := m[name]
	if !ok {
		return nil, false, nil
	}
	if off < 0 || off+int64(n) > int64(len(b)) {
		return nil, false, fmt.Errorf("%w: %s: shorter than its pagemap says", ErrBadImage, name)
	}
	return b[off : off+int64(n)], true, nil
}

// stackPages maps the task's memory image for reads at user addresses.
type stackPages struct {
	src   rangeSource
	pages string            // pages-<id>.img
	ents  []pageRange       // sorted by start, not overlapping
	cache map[uint64][]byte // page address → contents
}

// pageRange is one pagemap entry: pages [start, start+n*pageSize) at
// page off of the pages file (when inFile).
type pageRange struct {
	start, n, off uint64
	flags         uint32
	inParent      bool
	inFile        bool
}

// ranges turns pagemap entries into sorted ranges with their offsets in
// the pages file; unsorted or overlapping entries (CRIU writes them in
// ascending order) are an error.
func ranges(ents []*pagemap.PagemapEntry) ([]pageRange, error) {
	out := make([]pageRange, 0, len(ents))
	var off, end uint64
	for i, e := range ents {
		n := e.GetNrPages()
		if n == 0 {
			n = uint64(e.GetCompatNrPages())
		}
		if n > (1<<52)/pageSize || e.GetVaddr()%pageSize != 0 || e.GetVaddr() > 1<<60 {
			return nil, fmt.Errorf("entry %d: %d pages at %#x", i+1, n, e.GetVaddr())
		}
		if i > 0 && e.GetVaddr() < end {
			return nil, fmt.Errorf("entry %d at %#x is not above the one before", i+1, e.GetVaddr())
		}
		flags := e.GetFlags()
		r := pageRange{start: e.GetVaddr(), n: n, off: off, flags: flags, inParent: flags&pageParent != 0 || e.GetInParent()}
		// PE_LAZY (1 << 1) marks pages a lazy restore may fetch later;
		// with PE_PRESENT they are in the file all the same (CRIU sets
		// both on anonymous private pages). Images older than the flags
		// have 0.
		r.inFile = !r.inParent && (flags&pagePresent != 0 || flags == 0)
		if r.inFile {
			off += n
		}
		end = r.start + n*pageSize
		out = append(out, r)
	}
	return out, nil
}

// errNoPage carries why an address cannot be read from the image.
type errNoPage struct{ why string }

func (e *errNoPage) Error() string { return e.why }

func (s *stackPages) word(addr uint64) (uint64, error) {
	if addr%8 != 0 {
		return 0, &errNoPage{fmt.Sprintf("misaligned stack address %#x", addr)}
	}
	page := addr &^ (pageSize - 1)
	if b, ok := s.cache[page]; ok {
		return binary.LittleEndian.Uint64(b[addr-page:]), nil
	}
	i := sort.Search(len(s.ents), func(i int) bool { return s.ents[i].start+s.ents[i].n*pageSize > page })
	if i < len(s.ents) && s.ents[i].start <= page {
		r := s.ents[i]
		switch {
		case r.inParent:
			return 0, &errNoPage{fmt.Sprintf("the stack page %#x is in a parent (pre-dump) image", page)}
		case !r.inFile:
			return 0, &errNoPage{fmt.Sprintf("the stack page %#x is not in the image (flags %#x)", page, r.flags)}
		}
		b, ok, err := s.src.getRange(s.pages, int64((r.off+(page-r.start)/pageSize)*pageSize), pageSize)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, &errNoPage{s.pages + " is not available"}
		}
		s.cache[page] = b
		return binary.LittleEndian.Uint64(b[addr-page:]), nil
	}
	return 0, &errNoPage{fmt.Sprintf("the stack page %#x is not in the pagemap", page)}
}

// readStack returns the auxiliary vector on task pid's initial stack, or
// nil and why it cannot be told. Only little-endian 64-bit images are
// read (every machine hwcap has a table for but s390x).
func readStack(src fileSource, pid uint32, m *mm.MmEntry, saved auxv.Vector, arch string) (auxv.Vector, string) {
	if arch == "s390x" {
		return nil, "the stack of a big-endian image is not read"
	}
	rs, ok := src.(rangeSource)
	if !ok {
		return nil, "the image source cannot read pages"
	}
	sp := m.GetMmStartStack()
	if sp == 0 {
		return nil, "mm_start_stack is 0"
	}
	name := fmt.Sprintf("pagemap-%d.img", pid)
	data, ok, err := src.get(name)
	if err != nil || !ok {
		return nil, name + " is not in the checkpoint (or too large to keep from an archive)"
	}
	// A pagemap_head (which pages-<id>.img), then pagemap_entry ranges.
	raw, err := frames(name, data, "PAGEMAP", 1<<22)
	if err != nil {
		return nil, err.Error()
	}
	if len(raw) == 0 {
		return nil, name + " is empty"
	}
	head := &pagemap.PagemapHead{}
	if err := proto.Unmarshal(raw[0], head); err != nil {
		return nil, fmt.Sprintf("%s: head: %v", name, err)
	}
	ents := make([]*pagemap.PagemapEntry, 0, len(raw)-1)
	for i, b := range raw[1:] {
		e := &pagemap.PagemapEntry{}
		if err := proto.Unmarshal(b, e); err != nil {
			return nil, fmt.Sprintf("%s: entry %d: %v", name, i+1, err)
		}
		ents = append(ents, e)
	}
	rs2, err := ranges(ents)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", name, err)
	}
	s := &stackPages{src: rs, pages: fmt.Sprintf("pages-%d.img", head.GetPagesId()), ents: rs2, cache: map[uint64][]byte{}}
	fail := func(err error) (auxv.Vector, string) { return nil, err.Error() }
	argc, err := s.word(sp)
	if err != nil {
		return fail(err)
	}
	if argc > maxArgs {
		return nil, fmt.Sprintf("argc %d at mm_start_stack is not plausible", argc)
	}
	at := sp + 8*(argc+1)
	if w, err := s.word(at); err != nil || w != 0 {
		return nil, "no NULL after argv at mm_start_stack + argc"
	}
	at += 8
	for n := 0; ; n++ {
		if n > maxEnvs {
			return nil, "no NULL after envp"
		}
		w, err := s.word(at)
		if err != nil {
			return fail(err)
		}
		at += 8
		if w == 0 {
			break
		}
	}
	var v auxv.Vector
	for n := 0; ; n++ {
		if n > len(saved) {
			return nil, "the stack's auxiliary vector is longer than the saved one"
		}
		typ, err := s.word(at)
		if err != nil {
			return fail(err)
		}
		val, err := s.word(at + 8)
		if err != nil {
			return fail(err)
		}
		at += 16
		if typ == auxv.AT_NULL {
			break
		}
		v = append(v, auxv.Entry{Type: typ, Val: val})
	}
	if why := stackMatches(v, saved); why != "" {
		return nil, why
	}
	return v, ""
}

// stackMatches says how the stack's vector differs from the saved one
// beyond what a mask may change (AT_HWCAP* words may only lose bits), or
// "" when it does not.
func stackMatches(stack, saved auxv.Vector) string {
	if len(stack) != len(saved) {
		return fmt.Sprintf("the stack's auxiliary vector has %d entries, the saved one %d (the program changed it?)", len(stack), len(saved))
	}
	for i := range stack {
		s, k := stack[i], saved[i]
		if s.Type != k.Type {
			return fmt.Sprintf("entry %d of the stack's auxiliary vector is type %d, the saved one's %d", i, s.Type, k.Type)
		}
		isHWCAP := false
		for _, t := range hwcap.AuxvType {
			isHWCAP = isHWCAP || s.Type == t
		}
		switch {
		case isHWCAP && s.Val&^k.Val != 0:
			return fmt.Sprintf("the stack's word of type %d has bits the saved one lacks", s.Type)
		case !isHWCAP && s.Val != k.Val:
			return fmt.Sprintf("entry %d (type %d) of the stack's auxiliary vector differs from the saved one", i, s.Type)
		}
	}
	return ""
}
