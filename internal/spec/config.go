package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MaxConfigSize bounds config.json, for every reader (hook, precreate,
// wrapper, and the C front end's MAX_BUNDLE_CONFIG). Real ones are a few
// KiB, tens with a seccomp profile; runc has no bound.
const MaxConfigSize = 32 << 20

// Config is the part of config.json hwcap reads.
type Config struct {
	Version     string            `json:"ociVersion"`
	Process     *Process          `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Process is the part of config.json's process hwcap reads.
type Process struct {
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd"`
}

// Args returns process.args, or nil.
func (c *Config) Args() []string {
	if c == nil || c.Process == nil {
		return nil
	}
	return c.Process.Args
}

// Getenv returns the value of key in process.env (last one wins, as in
// execve's consumers), or "".
func (c *Config) Getenv(key string) string {
	if c == nil || c.Process == nil {
		return ""
	}
	v := ""
	for _, kv := range c.Process.Env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			v = kv[len(key)+1:]
		}
	}
	return v
}

// LoadConfig reads bundle/config.json the way a runtime that chdirs into
// bundle reads it (ReadBundle).
func LoadConfig(bundle string) (*Config, error) {
	if bundle == "" {
		return nil, fmt.Errorf("%w: the state has no bundle directory", ErrBadConfig)
	}
	b, err := ReadBundle(bundle, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return ParseConfig(b.Data)
}

// ParseConfig decodes the fields of Config from a config.json document.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadConfig, MaxConfigSize)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if err := CheckMembers(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return &c, nil
}

// ReadAllLimited reads a config.json document from r (podman's precreate
// stdin) with the size limit.
func ReadAllLimited(r io.Reader) ([]byte, error) {
	data, err := readBounded(r, MaxConfigSize, ReadTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadConfig, MaxConfigSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadConfig)
	}
	return data, nil
}

var errNotObject = errors.New("not a JSON object")
