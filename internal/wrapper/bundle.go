package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/spec"
)

// MaxConfigSize bounds the bundle's config.json the wrapper reads. Real
// ones are a few KiB (tens with a seccomp profile); runc has no bound.
const MaxConfigSize = 32 << 20

// bundleConfig is the part of an OCI runtime config the wrapper needs.
type bundleConfig struct {
	Annotations map[string]string `json:"annotations"`
}

// ReadAnnotations returns the annotations of the OCI config file at path,
// and the file's identity (recorded so that exec can tell a record made for
// this config from a stale one).
func ReadAnnotations(path string) (map[string]string, os.FileInfo, error) {
	// O_NONBLOCK: a FIFO as config.json fails the regular-file check below
	// instead of blocking the open until a writer appears.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is not a regular file", ErrBundle, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrBundle, path, err)
	}
	a, err := decodeAnnotations(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrBundle, path, err)
	}
	return a, st, nil
}

func decodeAnnotations(data []byte) (map[string]string, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxConfigSize)
	}
	var c bundleConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("not a valid OCI config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a valid OCI config: trailing data after the JSON object")
	}
	if config.HasAnnotations(c.Annotations) {
		if err := spec.CheckAnnotationKeys(data); err != nil {
			return nil, fmt.Errorf("not a valid OCI config: %w", err)
		}
	}
	return c.Annotations, nil
}
