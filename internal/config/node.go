package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// EnvConfig names the environment variable that overrides DefaultPath.
const EnvConfig = "HWCAP_CONFIG"

// DefaultPath is where Load looks when $HWCAP_CONFIG is unset.
const DefaultPath = "/etc/hwcap/config.json"

// MaxConfigSize bounds the node configuration file.
const MaxConfigSize = 64 << 10

// Sentinel errors.
var (
	ErrBadConfig  = errors.New("invalid node configuration")
	ErrAnnotation = errors.New("invalid hwcap annotation")
	ErrProfile    = errors.New("cannot use profile")
)

//go:embed default.json
var defaultJSON []byte

// Node is the node-wide configuration written by the administrator.
type Node struct {
	// DefaultPolicy applies to containers that request a mask without
	// hwcap.dev/policy.
	DefaultPolicy hwcap.Policy `json:"defaultPolicy"`
	// ProfileDir holds the admin profiles named by hwcap.dev/profile.
	ProfileDir string `json:"profileDir"`
	// LogFile receives one JSON line per hook or wrapper run ("" = none).
	LogFile string `json:"logFile"`
	// AllowRelax lets hwcap.dev/policy=warn relax an enforce node.
	AllowRelax bool `json:"allowAnnotationRelax"`
	// Runtimes lists the runtimes the wrapper execs, first found on PATH.
	Runtimes []string `json:"runtimes"`
	// ShimPath is the host path of the static hwcap-shim.
	ShimPath string `json:"shimPath"`
	// RunDir holds the probe cache and wrapper records.
	RunDir string `json:"runDir"`

	// Source is the file the configuration came from, or "" for the
	// built-in defaults. It is not part of the file format.
	Source string `json:"-"`
}

// Defaults returns the built-in configuration (see default.json).
func Defaults() *Node {
	n, err := parseOnto(&Node{}, defaultJSON, "built-in defaults")
	if err != nil {
		panic("config: built-in defaults do not parse: " + err.Error())
	}
	return n
}

// Path returns the file Load reads: $HWCAP_CONFIG, else DefaultPath;
// explicit says it came from $HWCAP_CONFIG (then a missing file is an
// error, not the built-in defaults).
func Path() (path string, explicit bool) { return PathIn(os.Getenv) }

// PathIn is Path for the environment getenv.
func PathIn(getenv func(string) string) (path string, explicit bool) {
	if p := getenv(EnvConfig); p != "" {
		return p, true
	}
	return DefaultPath, false
}

// Load reads $HWCAP_CONFIG, else DefaultPath. A missing DefaultPath means
// the built-in defaults; a missing file named by $HWCAP_CONFIG is an error,
// because an explicit setting that points nowhere is a mistake.
func Load() (*Node, error) { return LoadPath(Path()) }

// LoadPath is Load of the file Path or PathIn returned.
func LoadPath(p string, explicit bool) (*Node, error) {
	if explicit {
		return LoadFile(p)
	}
	n, err := LoadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Defaults(), nil
	}
	return n, err
}

// LoadFile reads and validates the node configuration at path. Fields the
// file leaves out keep their built-in defaults.
func LoadFile(path string) (*Node, error) {
	// O_NONBLOCK: a FIFO as the node file fails the regular-file check
	// below instead of blocking every hook run in open(2).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadConfig, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadConfig, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w %s: not a regular file", ErrBadConfig, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadConfig, path, err)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrBadConfig, path, MaxConfigSize)
	}
	n, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	n.Source = path
	return n, nil
}

// Parse decodes a configuration held in memory; name is used in errors.
func Parse(data []byte, name string) (*Node, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrBadConfig, name, MaxConfigSize)
	}
	return parse(data, name)
}

// parse decodes data over the built-in defaults.
func parse(data []byte, name string) (*Node, error) {
	return parseOnto(Defaults(), data, name)
}

func parseOnto(n *Node, data []byte, name string) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(n); err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrBadConfig, name, describeJSONError(data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w %s: trailing data after the JSON object", ErrBadConfig, name)
	}
	if err := n.validate(); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadConfig, name, err)
	}
	return n, nil
}

func (n *Node) validate() error {
	pol, err := hwcap.ParsePolicy(string(n.DefaultPolicy))
	if err != nil {
		return fmt.Errorf("field defaultPolicy: %w", err)
	}
	n.DefaultPolicy = pol
	for _, f := range []struct {
		field, val string
		empty      bool
	}{
		{"profileDir", n.ProfileDir, false},
		{"logFile", n.LogFile, true},
		{"shimPath", n.ShimPath, false},
		{"runDir", n.RunDir, false},
	} {
		if f.val == "" && f.empty {
			continue
		}
		if !filepath.IsAbs(f.val) {
			return fmt.Errorf("field %s: %q is not an absolute path", f.field, f.val)
		}
	}
	if len(n.Runtimes) == 0 {
		return errors.New(`field runtimes: empty (want e.g. ["runc", "crun"])`)
	}
	for _, r := range n.Runtimes {
		if r == "" || strings.ContainsAny(r, "\x00\n") {
			return fmt.Errorf("field runtimes: bad entry %q (want a name on PATH or an absolute path)", r)
		}
		if strings.Contains(r, "/") && !filepath.IsAbs(r) {
			return fmt.Errorf("field runtimes: %q is a relative path (want a name on PATH or an absolute path)", r)
		}
	}
	return nil
}

// fieldNames lists the JSON names of Node, for error messages.
func fieldNames() []string {
	var out []string
	t := reflect.TypeFor[Node]()
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// describeJSONError turns encoding/json's errors into a message that names
// the field or the line and column.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Sprintf("line %d column %d: %s", line, col, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: got a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Sprintf("unknown field %s (known fields: %s)", field, strings.Join(fieldNames(), ", "))
	case errors.Is(err, io.EOF):
		return "empty file (want a JSON object, or delete the file to use the defaults)"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	}
	return t.String()
}

func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
