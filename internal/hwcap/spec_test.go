package hwcap

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
	}{
		"one":            {"sve", []string{"sve"}},
		"two":            {"sve,sve2", []string{"sve", "sve2"}},
		"spaces":         {" sve , sve2 ", []string{"sve", "sve2"}},
		"empty items":    {",sve,,sve2,", []string{"sve", "sve2"}},
		"underscore":     {"lam_bh,lbt_x86", []string{"lam_bh", "lbt_x86"}},
		"digits":         {"3dnow,64", []string{"3dnow", "64"}},
		"duplicates ok":  {"fp,fp", []string{"fp", "fp"}},
		"tab separators": {"fp,\tasimd", []string{"fp", "asimd"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseList(tc.in)
			if err != nil {
				t.Fatalf("ParseList(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseList(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseListErrors(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
	}{
		"empty":        {"", []string{"empty feature list", "sve,sve2"}},
		"only commas":  {" , ,", []string{"empty feature list"}},
		"upper case":   {"fp,SVE", []string{`"SVE"`, `character 'S'`, "lower-case"}},
		"space inside": {"sve sve2", []string{`"sve sve2"`, `character ' '`}},
		"semicolon":    {"sve;sve2", []string{`"sve;sve2"`, `';'`}},
		"dash":         {"htm-nosc", []string{`"htm-nosc"`, `'-'`}},
		"non-ascii":    {"své", []string{`"své"`}},
		"too long":     {strings.Repeat("a", MaxNameLen+1), []string{"longer than 64 bytes"}},
		"raw mask":     {"hwcap=0x1", []string{`"hwcap=0x1"`, `'='`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseList(tc.in)
			if got != nil {
				t.Errorf("ParseList(%q) returned %q with the error", tc.in, got)
			}
			wantErr(t, err, ErrBadMask, tc.want...)
		})
	}
}

func TestSpecValidate(t *testing.T) {
	raw := Words{1}
	prof := &Profile{Version: ProfileVersion, Arch: "arm64", Allow: []string{"fp"}}
	tests := map[string]struct {
		spec Spec
		want string // "" = valid
	}{
		"zero":           {Spec{}, ""},
		"allow":          {Spec{Allow: []string{"fp"}}, ""},
		"empty allow":    {Spec{Allow: []string{}}, ""},
		"deny":           {Spec{Deny: []string{"sve"}}, ""},
		"raw":            {Spec{Raw: &raw}, ""},
		"profile":        {Spec{Profile: prof}, ""},
		"allow and deny": {Spec{Allow: []string{"fp"}, Deny: []string{"sve"}}, "allow and deny given together (use exactly one)"},
		"mask and prof":  {Spec{Raw: &raw, Profile: prof}, "mask and profile given together"},
		"three":          {Spec{Allow: []string{"fp"}, Raw: &raw, Profile: prof}, "allow and mask and profile given together"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantErr(t, err, ErrConflict, tc.want)
			_, err = tc.spec.Keep(mustLookup(t, "arm64"))
			wantErr(t, err, ErrConflict)
			_, err = tc.spec.Resolve(mustLookup(t, "arm64"), All)
			wantErr(t, err, ErrConflict)
		})
	}
	if !(Spec{}).IsZero() || (Spec{Allow: []string{}}).IsZero() || (Spec{Raw: &raw}).IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestSpecKeepResolve(t *testing.T) {
	arm := mustLookup(t, "arm64")
	n1 := armReference["qemu -cpu neoverse-n1"].words
	max := armReference["qemu -cpu max"].words
	n1Names := armReference["qemu -cpu neoverse-n1"].features
	raw := Words{0x3, 0}
	f := ^uint64(0)
	rawPartial := Words{0x119fff, f, f, f}
	armProfile := &Profile{Version: ProfileVersion, Arch: "aarch64", Allow: strings.Fields(n1Names)}

	tests := map[string]struct {
		spec Spec
		host Words
		keep Words
		want Words // resolved
	}{
		"zero keeps all": {
			spec: Spec{}, host: max, keep: All, want: max,
		},
		"allow n1 on max": {
			spec: Spec{Allow: strings.Fields(n1Names)}, host: max, keep: n1, want: n1,
		},
		"allow cannot add": {
			spec: Spec{Allow: []string{"fp", "sve", "sve2"}}, host: n1,
			keep: mustBits(t, arm, "fp sve sve2"), want: mustBits(t, arm, "fp"),
		},
		"empty allow hides all": {
			spec: Spec{Allow: []string{}}, host: max, keep: Words{}, want: Words{},
		},
		"deny": {
			spec: Spec{Deny: []string{"sve", "sve2", "paca"}}, host: max,
			keep: All.AndNot(mustBits(t, arm, "sve sve2 paca")),
			want: max.AndNot(mustBits(t, arm, "sve sve2 paca")),
		},
		"deny absent feature": {
			spec: Spec{Deny: []string{"sve"}}, host: n1,
			keep: All.AndNot(mustBits(t, arm, "sve")), want: n1,
		},
		"raw words": {
			spec: Spec{Raw: &raw}, host: max, keep: raw, want: Words{0x3, 0},
		},
		"raw leaves unnamed words": {
			spec: Spec{Raw: &rawPartial}, host: max, keep: rawPartial, want: Words{0x119fff, 0x7f83ffff},
		},
		"profile": {
			spec: Spec{Profile: armProfile}, host: max, keep: n1, want: n1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			keep, err := tc.spec.Keep(arm)
			if err != nil {
				t.Fatalf("Keep: %v", err)
			}
			if keep != tc.keep {
				t.Errorf("Keep = %v, want %v", keep, tc.keep)
			}
			got, err := tc.spec.Resolve(arm, tc.host)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got != tc.want {
				t.Errorf("Resolve = %s (%s)\nwant      %s (%s)", got, arm.Render(got), tc.want, arm.Render(tc.want))
			}
			if !got.SubsetOf(tc.host) {
				t.Errorf("Resolve added features: %v", arm.Missing(got, tc.host))
			}
		})
	}
}

func TestSpecKeepErrors(t *testing.T) {
	arm := mustLookup(t, "arm64")
	x86Profile := &Profile{Version: ProfileVersion, Arch: "x86_64", Allow: []string{"fpu"}}
	badArch := &Profile{Version: ProfileVersion, Arch: "mips", Allow: []string{"fp"}}
	tests := map[string]struct {
		spec   Spec
		target error
		want   []string
	}{
		"allow unknown": {Spec{Allow: []string{"fp", "sve3"}}, ErrUnknownFeature, []string{`unknown feature "sve3" for arm64`, "did you mean", "sve2"}},
		"deny unknown":  {Spec{Deny: []string{"neon"}}, ErrUnknownFeature, []string{`"neon"`}},
		"x86 name":      {Spec{Deny: []string{"sse2"}}, ErrUnknownFeature, []string{`"sse2" for arm64`}},
		"profile arch":  {Spec{Profile: x86Profile}, ErrBadProfile, []string{"profile is for amd64, this host is arm64"}},
		"profile bad":   {Spec{Profile: badArch}, ErrUnknownArch, []string{`"mips"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.spec.Keep(arm)
			wantErr(t, err, tc.target, tc.want...)
			_, err = tc.spec.Resolve(arm, All)
			wantErr(t, err, tc.target)
		})
	}
}

// A look-alike name (Cyrillic 'ѕ', U+0455) used to be reported as
// character 'Ñ', the first byte of its UTF-8 encoding read as Latin-1.
func TestParseListNamesNonASCII(t *testing.T) {
	for in, want := range map[string]string{
		"ѕve":       `feature name "ѕve" has character 'ѕ' (U+0455, not ASCII)`,
		"sv\u0435":  `has character 'е' (U+0435, not ASCII)`,
		"s\xffve":   `has byte 0xff (not UTF-8)`,
		"s\x00ve":   `has character '\x00'`,
		"sve,SVE2":  `feature name "SVE2" has character 'S'`,
		"s\u200bve": `has character '\u200b' (U+200B, not ASCII)`,
	} {
		_, err := ParseList(in)
		if !errors.Is(err, ErrBadMask) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseList(%q) = %v, want %q", in, err, want)
		}
	}
}
