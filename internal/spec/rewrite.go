package spec

import (
	"bytes"
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RawConfig is a config.json held as raw JSON members, for rewriting:
// members it does not touch are written back as they came (compacted),
// including fields unknown to this version of runtime-spec.
type RawConfig struct {
	top  map[string]json.RawMessage
	proc map[string]json.RawMessage
}

// ParseRawConfig decodes a config.json document for rewriting.
func ParseRawConfig(data []byte) (*RawConfig, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadConfig, MaxConfigSize)
	}
	c := &RawConfig{}
	if err := json.Unmarshal(data, &c.top); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if c.top == nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, errNotObject)
	}
	// Checked before anything is read from the raw members: this map
	// keeps the last of two equal members, as runc does, not crun.
	if err := CheckMembers(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if p, ok := c.top["process"]; ok && !isNull(p) {
		if err := json.Unmarshal(p, &c.proc); err != nil {
			return nil, fmt.Errorf("%w: process: %w", ErrBadConfig, err)
		}
	}
	return c, nil
}

func isNull(m json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(m), []byte("null")) }

// Args returns process.args.
func (c *RawConfig) Args() ([]string, error) {
	var args []string
	if a, ok := c.proc["args"]; ok {
		if err := json.Unmarshal(a, &args); err != nil {
			return nil, fmt.Errorf("%w: process.args: %w", ErrBadConfig, err)
		}
	}
	return args, nil
}

// SetArgs replaces process.args.
func (c *RawConfig) SetArgs(args []string) error {
	if c.proc == nil {
		return fmt.Errorf("%w: no process to wrap", ErrBadConfig)
	}
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	c.proc["args"] = b
	return nil
}

// Annotations returns the annotations (nil when there are none).
func (c *RawConfig) Annotations() (map[string]string, error) {
	var m map[string]string
	if a, ok := c.top["annotations"]; ok {
		if err := json.Unmarshal(a, &m); err != nil {
			return nil, fmt.Errorf("%w: annotations: %w", ErrBadConfig, err)
		}
	}
	return m, nil
}

// SetAnnotation sets one annotation, keeping the others.
func (c *RawConfig) SetAnnotation(key, value string) error {
	m, err := c.Annotations()
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	m[key] = value
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.top["annotations"] = b
	return nil
}

// Mounts returns the mounts.
func (c *RawConfig) Mounts() ([]specs.Mount, error) {
	var ms []specs.Mount
	if a, ok := c.top["mounts"]; ok {
		if err := json.Unmarshal(a, &ms); err != nil {
			return nil, fmt.Errorf("%w: mounts: %w", ErrBadConfig, err)
		}
	}
	return ms, nil
}

// AddMount appends a mount; the existing entries are kept as raw JSON, so
// their unknown fields (e.g. uidMappings on newer specs) survive.
func (c *RawConfig) AddMount(m specs.Mount) error {
	var raw []json.RawMessage
	if a, ok := c.top["mounts"]; ok && !isNull(a) {
		if err := json.Unmarshal(a, &raw); err != nil {
			return fmt.Errorf("%w: mounts: %w", ErrBadConfig, err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	raw = append(raw, b)
	if c.top["mounts"], err = json.Marshal(raw); err != nil {
		return err
	}
	return nil
}

// Marshal encodes the (possibly changed) document.
func (c *RawConfig) Marshal() ([]byte, error) {
	if c.proc != nil {
		b, err := json.Marshal(c.proc)
		if err != nil {
			return nil, err
		}
		c.top["process"] = b
	}
	return json.Marshal(c.top)
}

// Hostname returns the hostname member ("" if absent or not a string).
func (c *RawConfig) Hostname() string {
	var h string
	if a, ok := c.top["hostname"]; ok {
		_ = json.Unmarshal(a, &h)
	}
	return h
}
