package auxv_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// FuzzDecode feeds arbitrary bytes to Decode in every format: it must not
// panic, must fail only with ErrMalformed, and whatever it accepts must
// encode back to the input's bytes up to its AT_NULL entry.
func FuzzDecode(f *testing.F) {
	bins, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		f.Fatal(err)
	}
	if len(bins) == 0 {
		f.Fatal("no testdata/*.bin seeds")
	}
	for _, b := range bins {
		raw, err := os.ReadFile(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[:len(raw)-16]) // without its AT_NULL
		f.Add(raw[:len(raw)-3])
	}
	if enc, err := synthetic.Encode(le32); err == nil {
		f.Add(enc)
	}
	f.Add([]byte{})
	fs := []auxv.Format{auxv.LE64, auxv.BE64, le32, be32}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fm := range fs {
			v, err := auxv.Decode(b, fm)
			if err != nil {
				if !errors.Is(err, auxv.ErrMalformed) {
					t.Fatalf("Decode error %v does not wrap ErrMalformed", err)
				}
				continue
			}
			enc, err := v.Encode(fm)
			if err != nil {
				t.Fatalf("Encode of a decoded vector: %v", err)
			}
			// The entries are b's; the terminator is b's AT_NULL type with
			// its value (ignored by Decode, and by the kernel) zeroed.
			n := len(enc) - fm.WordSize
			if len(enc) > len(b) || !bytes.Equal(enc[:n], b[:n]) || !allZero(enc[n:]) {
				t.Fatalf("Encode(Decode(b)) = %x does not match b = %x", enc, b)
			}
			back, err := auxv.Decode(enc, fm)
			if err != nil || !slices.Equal(back, v) {
				t.Fatalf("second round trip: %v, %v; want %v", back, err, v)
			}
			// Masking with its own words keeps them (the first entry of each
			// type is the one read; later duplicates may only lose bits), and
			// masking with nothing clears every AT_HWCAPn entry, duplicates
			// included; other entries never change.
			m := v.Masked(v.HWCAPs())
			z := v.Masked(hwcap.Words{})
			if len(m) != len(v) || len(z) != len(v) || m.HWCAPs() != v.HWCAPs() {
				t.Fatalf("Masked(own words) = %v, from %v", m, v)
			}
			for i, e := range v {
				isHW := slices.Contains(hwcap.AuxvType[:], e.Type)
				switch {
				case isHW && (z[i].Val != 0 || m[i].Val&^e.Val != 0):
					t.Fatalf("entry %d: Masked(0) = %v, Masked(own) = %v, from %v", i, z[i], m[i], e)
				case !isHW && (z[i] != e || m[i] != e):
					t.Fatalf("entry %d: non-HWCAP entry %v changed to %v / %v", i, e, z[i], m[i])
				}
			}
		}
	})
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
