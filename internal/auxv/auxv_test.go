package auxv_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

var (
	le32 = auxv.Format{WordSize: 4, Order: binary.LittleEndian}
	be32 = auxv.Format{WordSize: 4, Order: binary.BigEndian}
)

// synthetic is a small vector shaped like a 32-bit arm one: AT_PHDR,
// AT_PAGESZ, AT_HWCAP, AT_HWCAP2, AT_RANDOM.
var synthetic = auxv.Vector{
	{Type: 3, Val: 0x10034},
	{Type: 6, Val: 4096},
	{Type: auxv.AT_HWCAP, Val: 0x0037b0d6},
	{Type: auxv.AT_HWCAP2, Val: 0x1f},
	{Type: 25, Val: 0xbefff6cb},
}

// words encodes a sequence of words by hand, independently of Encode.
func words(f auxv.Format, ws ...uint64) []byte {
	var b []byte
	for _, w := range ws {
		if f.WordSize == 4 {
			b = f.Order.AppendUint32(b, uint32(w))
		} else {
			b = f.Order.AppendUint64(b, w)
		}
	}
	return b
}

func TestEncodeDecodeSynthetic(t *testing.T) {
	var flat []uint64
	for _, e := range synthetic {
		flat = append(flat, e.Type, e.Val)
	}
	flat = append(flat, 0, 0)
	for name, f := range map[string]auxv.Format{"LE32": le32, "BE32": be32, "LE64": auxv.LE64, "BE64": auxv.BE64} {
		t.Run(name, func(t *testing.T) {
			want := words(f, flat...)
			enc, err := synthetic.Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, want) {
				t.Fatalf("Encode = %x\n    want %x", enc, want)
			}
			if len(enc) != (len(synthetic)+1)*2*f.WordSize {
				t.Errorf("len = %d", len(enc))
			}
			v, err := auxv.Decode(enc, f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v, synthetic) {
				t.Errorf("Decode(Encode(v)) = %v, want %v", v, synthetic)
			}
			if got := v.HWCAPs(); got != (hwcap.Words{0x0037b0d6, 0x1f, 0, 0}) {
				t.Errorf("HWCAPs = %v", got)
			}
			if got := v.Present(); got != [hwcap.NumWords]bool{true, true, false, false} {
				t.Errorf("Present = %v", got)
			}
		})
	}
	// The same bytes read with the other byte order must not round-trip to
	// the same vector: the order really is honoured.
	enc, _ := synthetic.Encode(le32)
	if v, err := auxv.Decode(enc, be32); err == nil && slices.Equal(v, synthetic) {
		t.Error("LE32 bytes decoded as BE32 gave the same vector")
	}
}

func TestDecodeStopsAtNull(t *testing.T) {
	// Bytes after the AT_NULL entry (PR_GET_AUXV's zero padding, or
	// anything) are not part of the vector.
	b := words(auxv.LE64, auxv.AT_HWCAP, 7, auxv.AT_NULL, 0, auxv.AT_HWCAP2, 9)
	v, err := auxv.Decode(b, auxv.LE64)
	if err != nil {
		t.Fatal(err)
	}
	if want := (auxv.Vector{{Type: auxv.AT_HWCAP, Val: 7}}); !slices.Equal(v, want) {
		t.Errorf("got %v, want %v", v, want)
	}
	// An AT_NULL entry with a non-zero value still ends the vector.
	v, err = auxv.Decode(words(le32, 6, 4096, 0, 1), le32)
	if err != nil || len(v) != 1 {
		t.Errorf("got %v, %v", v, err)
	}
	// An empty vector is just the terminator.
	v, err = auxv.Decode(words(le32, 0, 0), le32)
	if err != nil || len(v) != 0 {
		t.Errorf("terminator only: %v, %v", v, err)
	}
	enc, err := auxv.Vector(nil).Encode(le32)
	if err != nil || !bytes.Equal(enc, make([]byte, 8)) {
		t.Errorf("Encode(nil) = %x, %v", enc, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	full := func(n int, f auxv.Format) []byte { // n bytes of AT_PAGESZ entries ending in AT_NULL
		es := 2 * f.WordSize
		var ws []uint64
		for i := 0; i < n/es-1; i++ {
			ws = append(ws, 6, 4096)
		}
		return words(f, append(ws, 0, 0)...)
	}
	tests := map[string]struct {
		in []byte
		f  auxv.Format
	}{
		"empty":                  {nil, auxv.LE64},
		"odd length 64":          {make([]byte, 17), auxv.LE64},
		"half entry 64":          {words(auxv.LE64, 16, 1, 0), auxv.LE64},
		"odd length 32":          {make([]byte, 6), le32},
		"32-bit entries as 64":   {words(le32, 16, 1, 0, 0, 6, 4096), auxv.LE64},
		"no AT_NULL 64":          {words(auxv.LE64, 16, 1), auxv.LE64},
		"no AT_NULL 32":          {words(be32, 16, 1, 26, 2), be32},
		"over MaxSize":           {full(auxv.MaxSize+16, auxv.LE64), auxv.LE64},
		"over MaxSize zeros":     {make([]byte, auxv.MaxSize+16), auxv.LE64},
		"word size 0":            {make([]byte, 16), auxv.Format{Order: binary.LittleEndian}},
		"word size 2":            {make([]byte, 16), auxv.Format{WordSize: 2, Order: binary.LittleEndian}},
		"word size 16":           {make([]byte, 64), auxv.Format{WordSize: 16, Order: binary.LittleEndian}},
		"native but truncated":   {words(auxv.Native, 16, 1, 0, 0)[:15], auxv.Native},
		"32-bit value truncated": {words(le32, 16, 1, 0, 0)[:7], le32},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := auxv.Decode(tc.in, tc.f)
			if !errors.Is(err, auxv.ErrMalformed) {
				t.Fatalf("Decode = %v, %v; want an error wrapping ErrMalformed", v, err)
			}
			if v != nil {
				t.Errorf("Decode returned a vector with its error: %v", v)
			}
		})
	}
	// The bound is inclusive: exactly MaxSize bytes decode.
	if _, err := auxv.Decode(full(auxv.MaxSize, auxv.LE64), auxv.LE64); err != nil {
		t.Errorf("MaxSize bytes: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := map[string]struct {
		v auxv.Vector
		f auxv.Format
	}{
		"value over 32 bits": {auxv.Vector{{Type: auxv.AT_HWCAP, Val: 1 << 32}}, le32},
		"type over 32 bits":  {auxv.Vector{{Type: 1 << 40, Val: 1}}, be32},
		"word size 3":        {synthetic, auxv.Format{WordSize: 3, Order: binary.LittleEndian}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := tc.v.Encode(tc.f)
			if !errors.Is(err, auxv.ErrMalformed) || b != nil {
				t.Errorf("Encode = %x, %v; want nil and an error wrapping ErrMalformed", b, err)
			}
		})
	}
	// 64-bit values fit 64-bit words.
	v := auxv.Vector{{Type: auxv.AT_HWCAP, Val: ^uint64(0)}}
	b, err := v.Encode(auxv.BE64)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := auxv.Decode(b, auxv.BE64); err != nil || !slices.Equal(back, v) {
		t.Errorf("round trip = %v, %v", back, err)
	}
}

func TestLookup(t *testing.T) {
	v := auxv.Vector{{Type: 6, Val: 4096}, {Type: auxv.AT_HWCAP, Val: 1}, {Type: auxv.AT_HWCAP, Val: 2}}
	if x, ok := v.Lookup(auxv.AT_HWCAP); !ok || x != 1 {
		t.Errorf("Lookup(AT_HWCAP) = %d, %v; want the first entry, 1", x, ok)
	}
	if x, ok := v.Lookup(auxv.AT_HWCAP2); ok || x != 0 {
		t.Errorf("Lookup(AT_HWCAP2) = %d, %v; want 0, false", x, ok)
	}
}

func TestMaskedSynthetic(t *testing.T) {
	keep := hwcap.Words{0x00000006, 0x10, 0xff, 0xff}
	m := synthetic.Masked(keep)
	want := slices.Clone(synthetic)
	want[2].Val = 0x0037b0d6 & 0x6
	want[3].Val = 0x1f & 0x10
	if !slices.Equal(m, want) {
		t.Errorf("Masked = %v\n want %v", m, want)
	}
	// AT_HWCAP3/4 were absent and stay absent: nothing is added.
	if m.Present() != synthetic.Present() {
		t.Errorf("Present changed: %v", m.Present())
	}
	// A masked 32-bit vector still fits 32-bit words.
	if _, err := m.Encode(le32); err != nil {
		t.Error(err)
	}
	// Masked copies: changing the result leaves the original alone.
	m[0].Val = 1
	if synthetic[0].Val != 0x10034 {
		t.Error("Masked shares storage with its receiver")
	}
}
