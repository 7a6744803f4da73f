package criuimg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ArchiveDir is where podman's --export and the kubelet's checkpoint
// archives keep the CRIU images.
const ArchiveDir = "checkpoint/"

// maxZstdWindow bounds the memory a zstd frame may ask for. podman writes
// zstd with the default window (8 MiB at its level); zstd --long uses
// 128 MiB.
const maxZstdWindow = 128 << 20

// wanted matches the image files hwcap reads.
var wanted = regexp.MustCompile(`^(inventory\.img|pstree\.img|(core|mm)-[1-9][0-9]{0,9}\.img)$`)

// wantedIfSmall matches the files of the tasks' memory, read to find the
// words on each task's initial stack (hwcap's eBPF backend masks them
// there). They are kept only within maxPagesKept, and skipped (not an
// error) beyond it: the verdict then rests on the saved words, and says so.
var wantedIfSmall = regexp.MustCompile(`^(pagemap|pages)-[1-9][0-9]{0,9}\.img$`)

// maxPagesKept bounds the memory images kept from one archive.
const maxPagesKept = 64 << 20

// Compression magic numbers.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	magicBzip2 = []byte{'B', 'Z', 'h'}
)

// memSource is the image files kept from an archive.
type memSource map[string][]byte

func (m memSource) get(name string) ([]byte, bool, error) {
	b, ok := m[name]
	return b, ok, nil
}

// limitedReader fails with ErrTooLarge past its limit, instead of
// io.LimitReader's silent EOF (a cut tar stream would look truncated).
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%w: the archive unpacks to more than %d bytes", ErrTooLarge, l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ReadArchive reads a checkpoint archive: tar, gzip-compressed tar or
// zstd-compressed tar (podman container checkpoint --export, with
// --compress gzip, zstd or none; kubelet checkpoint archives), with the
// images under checkpoint/ or at the top level. Nothing is extracted:
// the stream is read once and only the image files hwcap needs are kept.
func ReadArchive(r io.Reader, source string, lim Limits) (*Checkpoint, error) {
	lim = lim.withDefaults()
	cp, err := readArchive(r, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	cp.Source = source
	return cp, nil
}

func readArchive(r io.Reader, lim Limits) (*Checkpoint, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
	}
	format := "tar"
	var stream io.Reader = br
	switch {
	case len(head) == 0:
		return nil, fmt.Errorf("%w: empty file (want a CRIU image directory or a tar, tar.gz or tar.zst checkpoint archive)", ErrBadArchive)
	case bytes.HasPrefix(head, magicGzip):
		format = "tar+gzip"
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrBadArchive, err)
		}
		defer zr.Close()
		stream = zr
	case bytes.HasPrefix(head, magicZstd):
		format = "tar+zstd"
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %w", ErrBadArchive, err)
		}
		defer zr.Close()
		stream = zr
	case bytes.HasPrefix(head, magicXz):
		return nil, fmt.Errorf("%w: xz-compressed (want tar, tar.gz or tar.zst: unpack it with xz -d first)", ErrBadArchive)
	case bytes.HasPrefix(head, magicBzip2):
		return nil, fmt.Errorf("%w: bzip2-compressed (want tar, tar.gz or tar.zst: unpack it with bzip2 -d first)", ErrBadArchive)
	}
	tr := tar.NewReader(&limitedReader{r: stream, left: lim.StreamBytes, limit: lim.StreamBytes})
	files := map[string]memSource{"": {}, ArchiveDir: {}}
	var kept, pagesKept int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return nil, fmt.Errorf("%w: no tar entries (want a tar, tar.gz or tar.zst checkpoint archive)", ErrBadArchive)
			}
			break
		}
		if err != nil {
			switch {
			case errors.Is(err, ErrTooLarge):
				return nil, err
			case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
				return nil, fmt.Errorf("%w: zstd frame wants a window over %d bytes", ErrTooLarge, maxZstdWindow)
			}
			return nil, fmt.Errorf("%w: %s: entry %d: %w (want a tar, tar.gz or tar.zst checkpoint archive)", ErrBadArchive, format, n+1, err)
		}
		if n >= lim.Entries {
			return nil, fmt.Errorf("%w: more than %d archive entries", ErrTooLarge, lim.Entries)
		}
		dir, base, err := splitName(hdr.Name)
		if err != nil {
			return nil, err
		}
		set, ok := files[dir]
		if !ok {
			continue
		}
		if wantedIfSmall.MatchString(base) {
			if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 || hdr.Size > lim.FileSize || pagesKept+hdr.Size > maxPagesKept {
				continue
			}
			if _, dup := set[base]; dup {
				return nil, fmt.Errorf("%w: entry %q is in the archive twice (which one would a restore use?)", ErrBadArchive, hdr.Name)
			}
			b := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, b); err != nil {
				if errors.Is(err, ErrTooLarge) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: entry %q: %w", ErrBadArchive, hdr.Name, err)
			}
			pagesKept += hdr.Size
			set[base] = b
			continue
		}
		if !wanted.MatchString(base) {
			continue
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA { //nolint:staticcheck // old writers use TypeRegA
			return nil, fmt.Errorf("%w: entry %q is a %s, not a regular file", ErrBadArchive, hdr.Name, typeName(hdr.Typeflag))
		}
		if _, dup := set[base]; dup {
			return nil, fmt.Errorf("%w: entry %q is in the archive twice (which one would a restore use?)", ErrBadArchive, hdr.Name)
		}
		if hdr.Size < 0 || hdr.Size > lim.FileSize {
			return nil, fmt.Errorf("%w: entry %q: %d bytes, more than %d", ErrTooLarge, hdr.Name, hdr.Size, lim.FileSize)
		}
		if kept += hdr.Size; kept > lim.TotalKept {
			return nil, fmt.Errorf("%w: image files needed exceed %d bytes", ErrTooLarge, lim.TotalKept)
		}
		b := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: entry %q: %w", ErrBadArchive, hdr.Name, err)
		}
		set[base] = b
	}
	top, sub := files[""], files[ArchiveDir]
	dir := ArchiveDir
	switch {
	case len(top) > 0 && len(sub) > 0:
		return nil, fmt.Errorf("%w: CRIU images both at the top level and under %s (which would a restore use?)", ErrBadArchive, ArchiveDir)
	case len(sub) == 0 && len(top) == 0:
		return nil, fmt.Errorf("%w: %s archive without CRIU images (no %sinventory.img or pstree.img)", ErrNotCheckpoint, format, ArchiveDir)
	case len(top) > 0:
		dir = ""
	}
	cp, err := build(files[dir], lim)
	if err != nil {
		if dir != "" {
			return nil, fmt.Errorf("%s: %w", strings.TrimSuffix(dir, "/"), err)
		}
		return nil, err
	}
	cp.Format, cp.Dir = format, dir
	return cp, nil
}

// splitName returns the directory ("" or "checkpoint/", other directories
// as they are) and base name of an archive member. Leading "./" and empty
// or "." components are dropped, as tar does on extraction; an absolute
// name or a ".." component is refused outright: nothing is extracted
// here, but such an archive is not what podman or the kubelet write, and
// the tools that restore it might follow the name.
func splitName(name string) (dir, base string, err error) {
	if strings.HasPrefix(name, "/") {
		return "", "", fmt.Errorf("%w: entry %q has an absolute path", ErrBadArchive, name)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", "", fmt.Errorf("%w: entry %q: path leaves the archive (\"..\")", ErrBadArchive, name)
		}
		parts = append(parts, p)
	}
	switch len(parts) {
	case 0:
		return "", "", nil
	case 1:
		return "", parts[0], nil
	}
	return strings.Join(parts[:len(parts)-1], "/") + "/", parts[len(parts)-1], nil
}

func typeName(f byte) string {
	switch f {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeDir:
		return "directory"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("tar type %q", f)
}
