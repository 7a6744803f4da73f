package hwcap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// ProfileVersion is the version string a profile file carries.
const ProfileVersion = "hwcap.dev/v1"

// MaxProfileSize bounds a profile file; a full arm64 allow list is ~2 KiB.
const MaxProfileSize = 256 << 10

// Profile is an admin-written allow list for one architecture:
//
//	{"version": "hwcap.dev/v1", "arch": "arm64",
//	 "description": "Graviton2 and newer", "allow": ["fp", "asimd", ...]}
type Profile struct {
	Version     string   `json:"version"`
	Arch        string   `json:"arch"`
	Description string   `json:"description,omitempty"`
	Allow       []string `json:"allow"`
}

// Keep returns the AND mask of the profile on table t. The profile's arch
// must be t's.
func (p *Profile) Keep(t *Table) (Words, error) {
	arch, err := CanonicalArch(p.Arch)
	if err != nil {
		return Words{}, fmt.Errorf("%w: %w", ErrBadProfile, err)
	}
	if arch != t.Arch {
		return Words{}, fmt.Errorf("%w: profile is for %s, this host is %s", ErrBadProfile, arch, t.Arch)
	}
	return t.Bits(p.Allow)
}

// ParseProfile decodes and validates a profile. Unknown fields, a wrong
// version, an unknown arch or an unknown feature name are errors.
func ParseProfile(r io.Reader) (*Profile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxProfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
	}
	if len(data) > MaxProfileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadProfile, MaxProfileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadProfile)
	}
	if p.Version != ProfileVersion {
		return nil, fmt.Errorf("%w: version %q (want %q)", ErrBadProfile, p.Version, ProfileVersion)
	}
	t, err := Lookup(p.Arch)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
	}
	p.Arch = t.Arch
	if p.Allow == nil {
		return nil, fmt.Errorf("%w: no \"allow\" list (an empty list hides everything: write \"allow\": [])", ErrBadProfile)
	}
	for _, n := range p.Allow {
		if err := checkName(n); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
		}
	}
	if _, err := t.Bits(p.Allow); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
	}
	return &p, nil
}

// NewProfile builds a profile that allows exactly the named bits of w.
// Bits the table does not know are dropped.
func NewProfile(t *Table, w Words, description string) *Profile {
	names := t.Names(w.And(t.Known()))
	if names == nil {
		names = []string{}
	}
	return &Profile{Version: ProfileVersion, Arch: t.Arch, Description: description, Allow: names}
}

// Encode writes the profile as indented JSON with a trailing newline.
func (p *Profile) Encode(w io.Writer) error {
	q := *p
	q.Allow = append([]string(nil), p.Allow...)
	if t, err := Lookup(p.Arch); err == nil {
		if bits, err := t.Bits(q.Allow); err == nil {
			q.Allow = t.Names(bits)
		}
	} else {
		sort.Strings(q.Allow)
	}
	if q.Allow == nil {
		q.Allow = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&q)
}
