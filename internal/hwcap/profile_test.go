package hwcap

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseProfile(t *testing.T) {
	tests := map[string]struct {
		in    string
		arch  string
		allow []string
	}{
		"arm64": {
			in:   `{"version":"hwcap.dev/v1","arch":"arm64","description":"Graviton2","allow":["fp","asimd","sve"]}`,
			arch: "arm64", allow: []string{"fp", "asimd", "sve"},
		},
		"alias canonicalised": {
			in:   `{"version":"hwcap.dev/v1","arch":"x86_64","allow":["fpu","sse2"]}`,
			arch: "amd64", allow: []string{"fpu", "sse2"},
		},
		"empty allow": {
			in:   "{\"version\":\"hwcap.dev/v1\",\"arch\":\"riscv64\",\"allow\":[]}\n\n",
			arch: "riscv64", allow: []string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := ParseProfile(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseProfile: %v", err)
			}
			if p.Arch != tc.arch || !slices.Equal(p.Allow, tc.allow) || p.Version != ProfileVersion {
				t.Errorf("got %+v, want arch %s allow %q", p, tc.arch, tc.allow)
			}
		})
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := map[string]struct {
		in     string
		target error
		want   []string
	}{
		"not json":       {`allow: [fp]`, ErrBadProfile, []string{"malformed profile", "invalid character"}},
		"empty":          {``, ErrBadProfile, []string{"EOF"}},
		"wrong version":  {`{"version":"hwcap.dev/v2","arch":"arm64","allow":["fp"]}`, ErrBadProfile, []string{`version "hwcap.dev/v2" (want "hwcap.dev/v1")`}},
		"no version":     {`{"arch":"arm64","allow":["fp"]}`, ErrBadProfile, []string{`version ""`}},
		"unknown field":  {`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"],"deny":["sve"]}`, ErrBadProfile, []string{`unknown field "deny"`}},
		"trailing data":  {`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"]} {}`, ErrBadProfile, []string{"trailing data"}},
		"no allow":       {`{"version":"hwcap.dev/v1","arch":"arm64"}`, ErrBadProfile, []string{`no "allow" list`, `"allow": []`}},
		"null allow":     {`{"version":"hwcap.dev/v1","arch":"arm64","allow":null}`, ErrBadProfile, []string{`no "allow" list`}},
		"unknown arch":   {`{"version":"hwcap.dev/v1","arch":"mips64","allow":["fp"]}`, ErrUnknownArch, []string{`"mips64"`, "want one of"}},
		"unknown name":   {`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","sve3"]}`, ErrUnknownFeature, []string{`unknown feature "sve3" for arm64`, "sve2"}},
		"bad characters": {`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","SVE"]}`, ErrBadMask, []string{`"SVE"`}},
		"wrong type":     {`{"version":"hwcap.dev/v1","arch":"arm64","allow":"fp,sve"}`, ErrBadProfile, []string{"cannot unmarshal"}},
		"too large":      {`{"version":"hwcap.dev/v1","arch":"arm64","description":"` + strings.Repeat("x", MaxProfileSize) + `","allow":[]}`, ErrBadProfile, []string{"larger than"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := ParseProfile(strings.NewReader(tc.in))
			if p != nil {
				t.Errorf("got a profile with the error: %+v", p)
			}
			wantErr(t, err, tc.target, tc.want...)
			wantErr(t, err, ErrBadProfile)
		})
	}
}

func TestProfileRoundTrip(t *testing.T) {
	arm := mustLookup(t, "arm64")
	max := armReference["qemu -cpu max"].words
	// Unknown bits (hwcap4) are dropped: a profile holds names only.
	p := NewProfile(arm, max.Or(Words{0, 0, 0, 1}), "qemu max")
	if p.Arch != "arm64" || p.Version != ProfileVersion || p.Description != "qemu max" {
		t.Errorf("NewProfile = %+v", p)
	}
	if got := strings.Join(p.Allow, " "); got != armReference["qemu -cpu max"].features {
		t.Errorf("NewProfile allow = %s", got)
	}
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "}\n") || !strings.Contains(buf.String(), "\n  \"allow\": [\n    \"fp\",") {
		t.Errorf("Encode is not indented JSON with a trailing newline:\n%s", buf.String())
	}
	back, err := ParseProfile(&buf)
	if err != nil {
		t.Fatalf("ParseProfile(Encode): %v", err)
	}
	keep, err := back.Keep(arm)
	if err != nil || keep != max {
		t.Errorf("Keep after round trip = %v, %v; want %v", keep, err, max)
	}

	// Encode sorts names into table order and writes [] for an empty list.
	q := &Profile{Version: ProfileVersion, Arch: "arm64", Allow: []string{"sve", "fp"}}
	buf.Reset()
	if err := q.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\"fp\",\n    \"sve\"") {
		t.Errorf("Encode did not order names:\n%s", buf.String())
	}
	if !slices.Equal(q.Allow, []string{"sve", "fp"}) {
		t.Errorf("Encode changed the caller's list: %v", q.Allow)
	}
	empty := NewProfile(arm, Words{}, "")
	buf.Reset()
	if err := empty.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"allow": []`) {
		t.Errorf("empty profile encodes as:\n%s", buf.String())
	}
	if _, err := ParseProfile(&buf); err != nil {
		t.Errorf("empty profile does not parse back: %v", err)
	}
}
