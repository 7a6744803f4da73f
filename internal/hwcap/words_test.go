package hwcap

import "testing"

func TestWordsAlgebra(t *testing.T) {
	max := armReference["qemu -cpu max"].words
	n1 := armReference["qemu -cpu neoverse-n1"].words
	tests := map[string]struct {
		a, b               Words
		and, or, andNot    Words
		aSubB, bSubA, zero bool
	}{
		"n1 within max": {
			a: n1, b: max,
			and: n1, or: max, andNot: Words{},
			aSubB: true, bSubA: false,
		},
		"max minus n1": {
			a: max, b: n1,
			and: n1, or: max, andNot: Words{0xfdffffff &^ 0x119fff, 0x7f83ffff},
			aSubB: false, bSubA: true,
		},
		"disjoint words": {
			a: Words{0b1010, 0, 0, 1 << 63}, b: Words{0b0101, 1},
			and: Words{}, or: Words{0b1111, 1, 0, 1 << 63}, andNot: Words{0b1010, 0, 0, 1 << 63},
		},
		"all and zero": {
			a: All, b: Words{},
			and: Words{}, or: All, andNot: All,
			bSubA: true,
		},
		"equal": {
			a: n1, b: n1, and: n1, or: n1, andNot: Words{}, aSubB: true, bSubA: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.a.And(tc.b); got != tc.and {
				t.Errorf("And = %v, want %v", got, tc.and)
			}
			if got := tc.a.Or(tc.b); got != tc.or {
				t.Errorf("Or = %v, want %v", got, tc.or)
			}
			if got := tc.a.AndNot(tc.b); got != tc.andNot {
				t.Errorf("AndNot = %v, want %v", got, tc.andNot)
			}
			if got := tc.a.SubsetOf(tc.b); got != tc.aSubB {
				t.Errorf("a.SubsetOf(b) = %v, want %v", got, tc.aSubB)
			}
			if got := tc.b.SubsetOf(tc.a); got != tc.bSubA {
				t.Errorf("b.SubsetOf(a) = %v, want %v", got, tc.bSubA)
			}
			// And is commutative; a = (a AND b) OR (a ANDNOT b).
			if tc.a.And(tc.b) != tc.b.And(tc.a) {
				t.Error("And is not commutative")
			}
			if tc.a.And(tc.b).Or(tc.a.AndNot(tc.b)) != tc.a {
				t.Error("(a AND b) OR (a ANDNOT b) != a")
			}
		})
	}
}

func TestWordsCountHasIsZero(t *testing.T) {
	n1 := armReference["qemu -cpu neoverse-n1"].words
	if got := n1.Count(); got != 16 {
		t.Errorf("Count(n1) = %d, want 16 (the reference Features line has 16 names)", got)
	}
	if got := All.Count(); got != 256 {
		t.Errorf("Count(All) = %d, want 256", got)
	}
	if !(Words{}).IsZero() || n1.IsZero() || (Words{0, 0, 0, 1}).IsZero() {
		t.Error("IsZero wrong")
	}
	w := Words{0, 1 << 63, 0, 1}
	for _, c := range []struct {
		word int
		bit  uint
		want bool
	}{{1, 63, true}, {3, 0, true}, {0, 0, false}, {1, 62, false}, {2, 63, false}, {0, 64, false}} {
		if got := w.Has(c.word, c.bit); got != c.want {
			t.Errorf("Has(%d, %d) = %v, want %v", c.word, c.bit, got, c.want)
		}
	}
}

func TestWordsString(t *testing.T) {
	tests := map[string]struct {
		w    Words
		want string
	}{
		"zero":         {Words{}, "hwcap=0x0,hwcap2=0x0,hwcap3=0x0,hwcap4=0x0"},
		"host n1":      {Words{0x119fff}, "hwcap=0x119fff,hwcap2=0x0,hwcap3=0x0,hwcap4=0x0"},
		"all":          {All, "hwcap=0xffffffffffffffff"},
		"deny sve":     {All.AndNot(Words{1 << 22}), "hwcap=0xffffffffffbfffff"},
		"hide hwcap2":  {Words{^uint64(0), 0, ^uint64(0), ^uint64(0)}, "hwcap=0xffffffffffffffff,hwcap2=0x0"},
		"last word":    {Words{^uint64(0), ^uint64(0), ^uint64(0), 7}, "hwcap=0xffffffffffffffff,hwcap2=0xffffffffffffffff,hwcap3=0xffffffffffffffff,hwcap4=0x7"},
		"mixed middle": {Words{1, ^uint64(0), 2, ^uint64(0)}, "hwcap=0x1,hwcap2=0xffffffffffffffff,hwcap3=0x2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tc.w.String()
			if got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			back, _, err := ParseRaw(got)
			if err != nil {
				t.Fatalf("ParseRaw(%q): %v", got, err)
			}
			if back != tc.w {
				t.Errorf("ParseRaw(String()) = %#v, want %#v", back, tc.w)
			}
		})
	}
}

func TestParseRaw(t *testing.T) {
	f := ^uint64(0)
	tests := map[string]struct {
		in   string
		want Words
		set  [NumWords]bool
	}{
		"one word hex":     {"hwcap=0x119fff", Words{0x119fff, f, f, f}, [NumWords]bool{true}},
		"two words":        {"hwcap=0x119fff,hwcap2=0", Words{0x119fff, 0, f, f}, [NumWords]bool{true, true}},
		"any order":        {"hwcap4=1, hwcap2=0b101", Words{f, 5, f, 1}, [NumWords]bool{false, true, false, true}},
		"decimal octal":    {"hwcap=10,hwcap3=0o17", Words{10, f, 15, f}, [NumWords]bool{true, false, true}},
		"case and spaces":  {" HWCAP2 = 0X10 ", Words{f, 16, f, f}, [NumWords]bool{false, true}},
		"64-bit max":       {"hwcap=0xffffffffffffffff", All, [NumWords]bool{true}},
		"underscore digit": {"hwcap=0x11_9fff", Words{0x119fff, f, f, f}, [NumWords]bool{true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, set, err := ParseRaw(tc.in)
			if err != nil {
				t.Fatalf("ParseRaw(%q): %v", tc.in, err)
			}
			if got != tc.want || set != tc.set {
				t.Errorf("ParseRaw(%q) = %#v %v, want %#v %v", tc.in, got, set, tc.want, tc.set)
			}
		})
	}
}

func TestParseRawErrors(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
	}{
		"empty":         {"", []string{"empty", "hwcap=0x"}},
		"blank":         {"  ", []string{"empty"}},
		"no value":      {"hwcap", []string{`"hwcap" is not word=value`}},
		"trailing sep":  {"hwcap=1,", []string{`"" is not word=value`}},
		"unknown word":  {"hwcap5=1", []string{`unknown word "hwcap5"`, "hwcap, hwcap2, hwcap3, hwcap4"}},
		"twice":         {"hwcap=1,HWCAP=2", []string{`word "HWCAP" given twice`}},
		"bad number":    {"hwcap2=0x1g", []string{`"0x1g" is not a 64-bit number`}},
		"negative":      {"hwcap=-1", []string{`"-1" is not a 64-bit number`}},
		"overflow":      {"hwcap=0x10000000000000000", []string{"not a 64-bit number"}},
		"feature names": {"sve,sve2", []string{`"sve" is not word=value`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParseRaw(tc.in)
			wantErr(t, err, ErrBadMask, tc.want...)
		})
	}
}
