package hwcap

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// NumWords is the number of AT_HWCAP words a mask covers (AT_HWCAP..AT_HWCAP4).
const NumWords = 4

// AuxvType is the auxiliary-vector type of each word: AT_HWCAP, AT_HWCAP2,
// AT_HWCAP3, AT_HWCAP4.
var AuxvType = [NumWords]uint64{16, 26, 29, 30}

// WordName is the lower-case name of each word as used in raw masks.
var WordName = [NumWords]string{"hwcap", "hwcap2", "hwcap3", "hwcap4"}

// Words holds the values of AT_HWCAP..AT_HWCAP4.
type Words [NumWords]uint64

// All is a Words value with every bit set: the identity for And.
var All = Words{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// And returns the bits set in both w and o.
func (w Words) And(o Words) Words {
	for i := range w {
		w[i] &= o[i]
	}
	return w
}

// Or returns the bits set in w or o.
func (w Words) Or(o Words) Words {
	for i := range w {
		w[i] |= o[i]
	}
	return w
}

// AndNot returns the bits of w that are not set in o.
func (w Words) AndNot(o Words) Words {
	for i := range w {
		w[i] &^= o[i]
	}
	return w
}

// SubsetOf reports whether every bit of w is also set in o.
func (w Words) SubsetOf(o Words) bool {
	return w.AndNot(o).IsZero()
}

// IsZero reports whether no bit is set.
func (w Words) IsZero() bool {
	return w == Words{}
}

// Count returns the number of set bits.
func (w Words) Count() int {
	n := 0
	for _, v := range w {
		n += bits.OnesCount64(v)
	}
	return n
}

// Has reports whether bit of word is set.
func (w Words) Has(word int, bit uint) bool {
	return w[word]&(1<<bit) != 0
}

// String renders the words in the raw-mask syntax ParseRaw accepts, so
// that ParseRaw(w.String()) gives w back: "hwcap=0x119fff,hwcap2=0x0,
// hwcap3=0x0,hwcap4=0x0". Trailing words with every bit set are left out,
// because ParseRaw reads a word that is not named as all ones (a mask that
// leaves it untouched): All.AndNot(sve) prints as one word. hwcap is always
// printed.
func (w Words) String() string {
	last := 0
	for i := range w {
		if w[i] != ^uint64(0) {
			last = i
		}
	}
	parts := make([]string, 0, last+1)
	for i := 0; i <= last; i++ {
		parts = append(parts, WordName[i]+"=0x"+strconv.FormatUint(w[i], 16))
	}
	return strings.Join(parts, ",")
}

// ParseRaw parses a raw mask: comma-separated word=value pairs such as
// "hwcap=0x119fff,hwcap2=0". Values are hexadecimal with 0x, octal with 0o,
// binary with 0b, or decimal. Words that are not named are returned with all
// bits set, so that the mask leaves them untouched; set reports which words
// were named.
func ParseRaw(s string) (mask Words, set [NumWords]bool, err error) {
	mask = All
	if strings.TrimSpace(s) == "" {
		return mask, set, fmt.Errorf("%w: empty (want e.g. hwcap=0x119fff,hwcap2=0x0)", ErrBadMask)
	}
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		key, val, ok := strings.Cut(tok, "=")
		if !ok {
			return mask, set, fmt.Errorf("%w: %q is not word=value (want e.g. hwcap2=0x0)", ErrBadMask, tok)
		}
		idx := -1
		for i, name := range WordName {
			if strings.EqualFold(strings.TrimSpace(key), name) {
				idx = i
			}
		}
		if idx < 0 {
			return mask, set, fmt.Errorf("%w: unknown word %q (want one of %s)", ErrBadMask, key, strings.Join(WordName[:], ", "))
		}
		if set[idx] {
			return mask, set, fmt.Errorf("%w: word %q given twice", ErrBadMask, key)
		}
		v, perr := strconv.ParseUint(strings.TrimSpace(val), 0, 64)
		if perr != nil {
			return mask, set, fmt.Errorf("%w: %q is not a 64-bit number (want e.g. 0x119fff)", ErrBadMask, val)
		}
		mask[idx] = v
		set[idx] = true
	}
	return mask, set, nil
}
