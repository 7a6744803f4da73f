package hwcap

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"sve,sve2", " fp , asimd ,", "", ",,", "SVE", "sve3", "lam_bh", "a,b,c",
		"htm-nosc", "hwcap=0x1", "\x00", "fp,\xff", strings.Repeat("a", 65),
	} {
		f.Add(s)
	}
	arm := mustLookup(f, "arm64")
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseList(s)
		if err != nil {
			if !errors.Is(err, ErrBadMask) || names != nil {
				t.Fatalf("ParseList(%q) = %q, %v", s, names, err)
			}
			return
		}
		if len(names) == 0 {
			t.Fatalf("ParseList(%q) returned no names and no error", s)
		}
		for _, n := range names {
			if n == "" || checkName(n) != nil {
				t.Fatalf("ParseList(%q) returned bad name %q", s, n)
			}
		}
		again, err := ParseList(strings.Join(names, ","))
		if err != nil || !slices.Equal(again, names) {
			t.Fatalf("round trip of %q: %q, %v", names, again, err)
		}
		// Looking the names up never panics, and the error is typed.
		w, err := arm.Bits(names)
		var ue *UnknownFeatureError
		switch {
		case err == nil:
			if w.Count() > len(names) || !w.SubsetOf(arm.Known()) {
				t.Fatalf("Bits(%q) = %v", names, w)
			}
		case errors.As(err, &ue):
			if len(ue.Suggestions) > 3 {
				t.Fatalf("%d suggestions", len(ue.Suggestions))
			}
			for _, s := range ue.Suggestions {
				if _, ok := arm.Feature(s); !ok {
					t.Fatalf("suggested unknown name %q", s)
				}
			}
		default:
			t.Fatalf("Bits(%q): untyped error %v", names, err)
		}
	})
}

func FuzzParseRaw(f *testing.F) {
	for _, s := range []string{
		"hwcap=0x119fff", "hwcap=0x119fff,hwcap2=0", "HWCAP2=0b101, hwcap4=7", "hwcap=-1",
		"hwcap", "", "hwcap=1,hwcap=1", "hwcap5=1", "hwcap=0x10000000000000000", "hwcap=0o17,",
		"hwcap=0xffffffffffffffff,hwcap2=0x0,hwcap3=0x0,hwcap4=0x0", "=", ",=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, set, err := ParseRaw(s)
		if err != nil {
			if !errors.Is(err, ErrBadMask) {
				t.Fatalf("ParseRaw(%q): error %v does not wrap ErrBadMask", s, err)
			}
			return
		}
		named := false
		for i := range set {
			if !set[i] && w[i] != ^uint64(0) {
				t.Fatalf("ParseRaw(%q): word %d not named but %#x", s, i, w[i])
			}
			named = named || set[i]
		}
		if !named {
			t.Fatalf("ParseRaw(%q) succeeded without naming a word", s)
		}
		back, _, err := ParseRaw(w.String())
		if err != nil || back != w {
			t.Fatalf("ParseRaw(%q).String() = %q does not parse back: %v, %v", s, w.String(), back, err)
		}
	})
}

func FuzzWordsString(f *testing.F) {
	f.Add(uint64(0x119fff), uint64(0), uint64(0), uint64(0))
	f.Add(^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0))
	f.Add(uint64(0xfdffffff), uint64(0x7f83ffff), ^uint64(0), uint64(1))
	f.Add(uint64(0), ^uint64(0), uint64(0), ^uint64(0))
	f.Fuzz(func(t *testing.T, a, b, c, d uint64) {
		w := Words{a, b, c, d}
		s := w.String()
		back, set, err := ParseRaw(s)
		if err != nil {
			t.Fatalf("ParseRaw(%q): %v", s, err)
		}
		if back != w {
			t.Fatalf("ParseRaw(%q) = %#v, want %#v", s, back, w)
		}
		if !set[0] {
			t.Fatalf("%q does not name hwcap", s)
		}
	})
}

func FuzzParseProfile(f *testing.F) {
	for _, s := range []string{
		`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","asimd"]}`,
		`{"version":"hwcap.dev/v1","arch":"x86_64","description":"x","allow":[]}`,
		`{"version":"hwcap.dev/v1","arch":"arm64","allow":["sve3"]}`,
		`{"version":"hwcap.dev/v1","arch":"mips","allow":["fp"]}`,
		`{"version":"hwcap.dev/v2"}`,
		`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"]} []`,
		`{"version":"hwcap.dev/v1","arch":"arm64","allow":null}`,
		`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"],"x":1}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(bytes.NewReader(data))
		if err != nil {
			if p != nil || !errors.Is(err, ErrBadProfile) {
				t.Fatalf("ParseProfile: %+v, %v", p, err)
			}
			return
		}
		if p.Version != ProfileVersion || p.Allow == nil {
			t.Fatalf("accepted %+v", p)
		}
		tab, err := Lookup(p.Arch)
		if err != nil || tab.Arch != p.Arch {
			t.Fatalf("accepted arch %q is not canonical: %v", p.Arch, err)
		}
		keep, err := p.Keep(tab)
		if err != nil {
			t.Fatalf("Keep of an accepted profile: %v", err)
		}
		var buf bytes.Buffer
		if err := p.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		q, err := ParseProfile(&buf)
		if err != nil {
			t.Fatalf("Encode output does not parse: %v\n%s", err, buf.String())
		}
		keep2, err := q.Keep(tab)
		if err != nil || keep2 != keep || q.Description != p.Description {
			t.Fatalf("round trip changed the profile: %v vs %v (%v)", keep2, keep, err)
		}
	})
}
