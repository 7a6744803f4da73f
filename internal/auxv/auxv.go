package auxv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Auxiliary vector types used here (include/uapi/linux/auxvec.h).
const (
	AT_NULL   = 0
	AT_HWCAP  = 16
	AT_HWCAP2 = 26
	AT_HWCAP3 = 29
	AT_HWCAP4 = 30
)

// MaxSize bounds an encoded vector we accept: the kernel's saved_auxv is
// AT_VECTOR_SIZE (well under 100) entries; 4 KiB leaves room and stops a
// hostile /proc/PID/auxv stand-in from costing memory.
const MaxSize = 4096

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed auxiliary vector")

// Entry is one (type, value) pair.
type Entry struct {
	Type uint64
	Val  uint64
}

// Vector is an auxiliary vector without its terminating AT_NULL entry.
type Vector []Entry

// ByteOrder is what both binary.LittleEndian and binary.BigEndian are.
type ByteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Format is the word size and byte order of an encoded vector.
type Format struct {
	WordSize int // 4 or 8
	Order    ByteOrder
}

// Native is the format of this process.
var Native = Format{WordSize: wordSize, Order: binary.NativeEndian}

// Formats of the architectures with feature tables, for testdata dumps.
var (
	LE64 = Format{WordSize: 8, Order: binary.LittleEndian}
	BE64 = Format{WordSize: 8, Order: binary.BigEndian}
)

// Decode parses an encoded vector. It stops at the first AT_NULL entry; a
// vector without one, a length that is not a whole number of entries, or
// more than MaxSize bytes is an error.
func Decode(b []byte, f Format) (Vector, error) {
	if f.WordSize != 4 && f.WordSize != 8 {
		return nil, fmt.Errorf("%w: word size %d (want 4 or 8)", ErrMalformed, f.WordSize)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxSize)
	}
	es := 2 * f.WordSize
	if len(b)%es != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte entries", ErrMalformed, len(b), es)
	}
	word := func(p []byte) uint64 {
		if f.WordSize == 4 {
			return uint64(f.Order.Uint32(p))
		}
		return f.Order.Uint64(p)
	}
	v := make(Vector, 0, len(b)/es)
	for off := 0; off+es <= len(b); off += es {
		e := Entry{Type: word(b[off:]), Val: word(b[off+f.WordSize:])}
		if e.Type == AT_NULL {
			return v, nil
		}
		v = append(v, e)
	}
	return nil, fmt.Errorf("%w: no AT_NULL terminator", ErrMalformed)
}

// Encode returns the vector in format f with its AT_NULL terminator.
// Values that do not fit a 4-byte word are an error.
func (v Vector) Encode(f Format) ([]byte, error) {
	if f.WordSize != 4 && f.WordSize != 8 {
		return nil, fmt.Errorf("%w: word size %d (want 4 or 8)", ErrMalformed, f.WordSize)
	}
	out := make([]byte, 0, (len(v)+1)*2*f.WordSize)
	put := func(x uint64) error {
		if f.WordSize == 4 {
			if x > 0xffffffff {
				return fmt.Errorf("%w: value %#x does not fit 32 bits", ErrMalformed, x)
			}
			out = f.Order.AppendUint32(out, uint32(x))
			return nil
		}
		out = f.Order.AppendUint64(out, x)
		return nil
	}
	for _, e := range append(v, Entry{}) {
		if err := put(e.Type); err != nil {
			return nil, err
		}
		if err := put(e.Val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Lookup returns the value of the first entry of type typ.
func (v Vector) Lookup(typ uint64) (uint64, bool) {
	for _, e := range v {
		if e.Type == typ {
			return e.Val, true
		}
	}
	return 0, false
}

// HWCAPs returns the AT_HWCAP..AT_HWCAP4 words; absent entries read as 0.
func (v Vector) HWCAPs() hwcap.Words {
	var w hwcap.Words
	for i, t := range hwcap.AuxvType {
		w[i], _ = v.Lookup(t)
	}
	return w
}

// Present reports which AT_HWCAPn entries the vector has.
func (v Vector) Present() [hwcap.NumWords]bool {
	var p [hwcap.NumWords]bool
	for i, t := range hwcap.AuxvType {
		_, p[i] = v.Lookup(t)
	}
	return p
}

// Masked returns a copy of v whose AT_HWCAPn entries are ANDed with keep.
// No other entry changes, and no entry is added: a word the kernel did not
// pass cannot be masked and need not be.
func (v Vector) Masked(keep hwcap.Words) Vector {
	out := make(Vector, len(v))
	copy(out, v)
	for i := range out {
		for w, t := range hwcap.AuxvType {
			if out[i].Type == t {
				out[i].Val &= keep[w]
			}
		}
	}
	return out
}
