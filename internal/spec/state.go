package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MaxStateSize bounds the state JSON read from a hook's stdin. Kubernetes
// caps all annotations of an object at 256 KiB; the rest is small.
const MaxStateSize = 1 << 20

// Sentinel errors.
var (
	ErrBadState  = errors.New("invalid container state on stdin")
	ErrBadConfig = errors.New("invalid config.json")
)

// State is the container state a runtime passes to hooks. runc writes
// specs.State with its own ociVersion ("1.0.2-dev" for runc 1.1); crun
// writes ociVersion "1.0" and an extra "root" (the rootfs path as given in
// config.json). Both are accepted; other extra fields are ignored.
type State struct {
	specs.State
	// Root is crun's extra field; "" from runc.
	Root string `json:"root,omitempty"`
}

// ReadState decodes the state from r (at most MaxStateSize bytes).
func ReadState(r io.Reader) (*State, error) {
	data, err := readBounded(r, MaxStateSize, ReadTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	return ParseState(data)
}

// ParseState decodes and checks a state document.
func ParseState(data []byte) (*State, error) {
	if len(data) > MaxStateSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadState, MaxStateSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty (hwcap-hook is run by a container runtime, which writes the state JSON on stdin)", ErrBadState)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if err := CheckMembers(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if s.ID == "" {
		return nil, fmt.Errorf("%w: no \"id\"", ErrBadState)
	}
	if s.Pid < 0 {
		return nil, fmt.Errorf("%w: negative pid %d", ErrBadState, s.Pid)
	}
	if s.Bundle != "" && !filepath.IsAbs(s.Bundle) {
		return nil, fmt.Errorf("%w: bundle %q is not an absolute path", ErrBadState, s.Bundle)
	}
	return &s, nil
}
