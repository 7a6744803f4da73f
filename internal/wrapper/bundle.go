package wrapper

import (
	"fmt"

	"github.com/hwcap/hwcap/internal/spec"
)

// readBundle reads the config file of the bundle inv names (--bundle,
// else the current directory; crun's --config) through internal/spec:
// the bundle directory resolved the way the runtime's chdir resolves it,
// the file regular and at most spec.MaxConfigSize, its members
// unambiguous. A relative bundle is resolved against this process's
// directory, which the runtime inherits.
func readBundle(inv *Invocation) (*spec.Bundle, map[string]string, error) {
	b, err := spec.ReadBundle(inv.Bundle, inv.ConfigName)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	c, err := spec.ParseConfig(b.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrBundle, b.Config, err)
	}
	return b, c.Annotations, nil
}

// ReadAnnotations returns the annotations of the bundle directory dir's
// config.json, read as readBundle does.
func ReadAnnotations(dir string) (map[string]string, error) {
	_, ann, err := readBundle(&Invocation{Bundle: dir, bundleAt: -1})
	return ann, err
}
