package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// ErrDuplicateKey: an hwcap.dev/* annotation appears twice in one document.
var ErrDuplicateKey = errors.New("duplicate annotation")

// CheckAnnotationKeys walks the top-level "annotations" object of a JSON
// document and refuses an hwcap.dev/* key given twice. encoding/json keeps
// the last of two equal keys; other parsers (crun's yajl, jq, a policy
// engine in front of the runtime) may keep the first, so a duplicate would
// let two readers of the same file see two different masks. encoding/json
// also matches the member name case-insensitively ("Annotations" fills the
// same field, merged), while C runtimes do not: an hwcap.dev/* key under
// such a member is refused too, so that every reader sees the same keys.
// Documents without any hwcap.dev/* annotation are not walked (callers
// check that first; the walk costs a second pass).
func CheckAnnotationKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil // not an object: the caller's decoder reports it
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil
		}
		member, _ := kt.(string)
		if !strings.EqualFold(member, "annotations") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil // null or a wrong type: the caller's decoder reports it
		}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			k, _ := kt.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil
			}
			if !hwcap.IsAnnotationKey(k) {
				continue
			}
			if member != "annotations" {
				return fmt.Errorf("%w: %s given under %q (the member is \"annotations\", lower-case; other runtimes ignore %q)", ErrDuplicateKey, k, member, member)
			}
			if seen[k] {
				return fmt.Errorf("%w: %s given twice (JSON readers disagree on which value wins; keep one)", ErrDuplicateKey, k)
			}
			seen[k] = true
		}
		if _, err := dec.Token(); err != nil {
			return nil
		}
	}
	return nil
}

func hasHWCAPKey(m map[string]string) bool {
	for k := range m {
		if hwcap.IsAnnotationKey(k) {
			return true
		}
	}
	return false
}
