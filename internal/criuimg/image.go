package criuimg

import (
	"encoding/binary"
	"fmt"

	"github.com/checkpoint-restore/go-criu/v8/magic"
	"google.golang.org/protobuf/proto"
)

// magics are CRIU's image magic numbers (criu/include/magic.h, as
// generated into go-criu's magic package).
var magics = magic.LoadMagic()

// decodeImage checks that data is a CRIU image of type want ("MM",
// "PSTREE", "CORE", "INVENTORY") and returns its entries, each decoded by
// newMsg. At most maxEntries entries are accepted. An image starts with
// IMG_COMMON or IMG_SERVICE and the type's magic (older images with the
// type's magic alone are accepted too), then holds entries: a
// little-endian uint32 length and that many bytes of protobuf.
func decodeImage[M proto.Message](name string, data []byte, want string, maxEntries int, newMsg func() M) ([]M, error) {
	raw, err := frames(name, data, want, maxEntries)
	if err != nil {
		return nil, err
	}
	out := make([]M, 0, len(raw))
	for i, b := range raw {
		msg := newMsg()
		if err := proto.Unmarshal(b, msg); err != nil {
			return nil, fmt.Errorf("%w: %s: entry %d: %w", ErrBadImage, name, i, err)
		}
		out = append(out, msg)
	}
	return out, nil
}

// frames checks the magic of an image of type want and returns its
// entries' undecoded bytes (see decodeImage), for images whose entries are
// not all of one message type (pagemap: a head, then entries).
func frames(name string, data []byte, want string, maxEntries int) ([][]byte, error) {
	wantMagic, ok := magics.ByName[want]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no magic for image type %s", ErrBadImage, name, want)
	}
	off := 0
	word := func() (uint32, bool) {
		if len(data)-off < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(data[off:])
		off += 4
		return v, true
	}
	m, ok := word()
	if !ok {
		return nil, fmt.Errorf("%w: %s: %d bytes, too short for a magic number", ErrBadImage, name, len(data))
	}
	if uint64(m) == magics.ByName["IMG_COMMON"] || uint64(m) == magics.ByName["IMG_SERVICE"] {
		if m, ok = word(); !ok {
			return nil, fmt.Errorf("%w: %s: no image type after the common magic", ErrBadImage, name)
		}
	}
	if uint64(m) != wantMagic {
		got := magics.ByValue[uint64(m)]
		if got == "" {
			got = fmt.Sprintf("unknown magic %#x", m)
		}
		return nil, fmt.Errorf("%w: %s: image type %s (want %s)", ErrBadImage, name, got, want)
	}
	var out [][]byte
	for off < len(data) {
		n, ok := word()
		if !ok {
			return nil, fmt.Errorf("%w: %s: %d trailing bytes at offset %d, not an entry", ErrBadImage, name, len(data)-off, off)
		}
		if uint64(n) > uint64(len(data)-off) {
			return nil, fmt.Errorf("%w: %s: entry at offset %d claims %d bytes, %d left", ErrBadImage, name, off-4, n, len(data)-off)
		}
		if len(out) == maxEntries {
			return nil, fmt.Errorf("%w: %s: more than %d entries", ErrTooLarge, name, maxEntries)
		}
		out = append(out, data[off:off+int(n)])
		off += int(n)
	}
	return out, nil
}

// decodeOne decodes an image that must hold exactly one entry.
func decodeOne[M proto.Message](name string, data []byte, want string, newMsg func() M) (M, error) {
	var zero M
	es, err := decodeImage(name, data, want, 1, newMsg)
	if err != nil {
		return zero, err
	}
	if len(es) != 1 {
		return zero, fmt.Errorf("%w: %s: no entry", ErrBadImage, name)
	}
	return es[0], nil
}
