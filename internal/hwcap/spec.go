package hwcap

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen bounds a single feature name; real names are at most ~20 bytes.
const MaxNameLen = 64

// Spec is a user's request: what to keep of the host's features. At most
// one of Allow, Deny, Raw and Profile may be set (see Validate); the zero
// Spec keeps everything.
type Spec struct {
	Allow   []string
	Deny    []string
	Raw     *Words
	Profile *Profile
}

// IsZero reports whether the spec asks for nothing.
func (s Spec) IsZero() bool {
	return s.Allow == nil && s.Deny == nil && s.Raw == nil && s.Profile == nil
}

// Validate checks that at most one kind of setting is given.
func (s Spec) Validate() error {
	var kinds []string
	if s.Allow != nil {
		kinds = append(kinds, "allow")
	}
	if s.Deny != nil {
		kinds = append(kinds, "deny")
	}
	if s.Raw != nil {
		kinds = append(kinds, "mask")
	}
	if s.Profile != nil {
		kinds = append(kinds, "profile")
	}
	if len(kinds) > 1 {
		return fmt.Errorf("%w: %s given together (use exactly one)", ErrConflict, strings.Join(kinds, " and "))
	}
	return nil
}

// Keep returns the AND mask the spec stands for on table t: the bits a
// masked process may keep. Unknown names are errors.
func (s Spec) Keep(t *Table) (Words, error) {
	if err := s.Validate(); err != nil {
		return Words{}, err
	}
	switch {
	case s.Allow != nil:
		return t.Bits(s.Allow)
	case s.Deny != nil:
		deny, err := t.Bits(s.Deny)
		if err != nil {
			return Words{}, err
		}
		return All.AndNot(deny), nil
	case s.Raw != nil:
		return *s.Raw, nil
	case s.Profile != nil:
		return s.Profile.Keep(t)
	}
	return All, nil
}

// Resolve returns the words a process masked with s will see on a host that
// offers host: Keep(t) AND host. A mask can only hide features.
func (s Spec) Resolve(t *Table, host Words) (Words, error) {
	keep, err := s.Keep(t)
	if err != nil {
		return Words{}, err
	}
	return host.And(keep), nil
}

// ParseList splits a comma-separated list of feature names ("sve, sve2").
// Empty items are skipped; names must be lower-case letters, digits and
// underscores, as the kernel prints them. An empty list is an error.
func ParseList(s string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		if err := checkName(tok); err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty feature list (want e.g. sve,sve2)", ErrBadMask)
	}
	return out, nil
}

func checkName(tok string) error {
	if len(tok) > MaxNameLen {
		return fmt.Errorf("%w: feature name %.20q... longer than %d bytes", ErrBadMask, tok, MaxNameLen)
	}
	for i, r := range tok {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("%w: feature name %q has %s (names are lower-case letters, digits and _ as in /proc/cpuinfo)", ErrBadMask, tok, describeChar(tok[i:]))
		}
	}
	return nil
}

// describeChar names the first character of s for an error message: a
// look-alike such as Cyrillic 'ѕ' (U+0455) must not print as 's', and a
// byte that is not UTF-8 as a mangled rune.
func describeChar(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && size <= 1:
		return fmt.Sprintf("byte 0x%02x (not UTF-8)", s[0])
	case r >= utf8.RuneSelf:
		return fmt.Sprintf("character %q (U+%04X, not ASCII)", r, r)
	}
	return fmt.Sprintf("character %q", r)
}
