package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// annotationPrefix is hwcap.AnnotationPrefix, short for the byte scans below.
const annotationPrefix = hwcap.AnnotationPrefix

// ErrDuplicateKey: a document that can name an hwcap.dev/ key has an
// object whose members repeat or fold onto each other, or a member spelt
// so that only some JSON readers see it.
var ErrDuplicateKey = errors.New("duplicate member")

// decodedNames are the member names hwcap (and runc) decode into structs
// at the top level and in "process": encoding/json matches them in any
// letter case (bytes.EqualFold), C runtimes only as spelt.
var decodedNames = map[string][]string{
	"":         {"ociVersion", "id", "status", "pid", "bundle", "annotations", "root", "process", "mounts", "hostname"},
	".process": {"args", "env", "cwd"},
}

// CheckMembers refuses a document in which two JSON readers could see two
// different masks. Whenever a string of data, key or value, spells
// "hwcap.dev/" in any letter case or through JSON escapes, every object of
// the document, at any depth, must have members whose names are distinct
// after unescaping and do not fold onto each other; and a member of the
// top level or of "process" must not fold onto a name hwcap reads unless
// it is spelt exactly so. encoding/json (runc, containerd, the hook) keeps
// the last of two equal members ("annotations":null after the real ones
// empties the map) and matches struct fields in any case ("Annotations",
// "annotationſ"); yajl (crun) keeps the first and matches exactly.
//
// Documents whose bytes cannot spell the prefix (no "hwcap.dev/" in any
// case, no \u or \/ escape) are not walked; neither is one that is not
// valid JSON (the caller's decoder reports it).
func CheckMembers(data []byte) error {
	if !mayNameHWCAP(data) {
		return nil
	}
	w := &memberWalk{dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	if err := w.value(""); err != nil {
		return nil // not valid JSON: the caller's decoder says why
	}
	if w.hwcap && w.bad != nil {
		return w.bad
	}
	return nil
}

// mayNameHWCAP is the front end's test (front.c config_clean) negated:
// the bytes hold "hwcap.dev/" in any case, or an escape that could spell it.
func mayNameHWCAP(data []byte) bool {
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\\' && i+1 < len(data) && (data[i+1] == 'u' || data[i+1] == '/'):
			return true
		case (c == 'h' || c == 'H') && len(data)-i >= len(annotationPrefix) &&
			bytes.EqualFold(data[i:i+len(annotationPrefix)], []byte(annotationPrefix)):
			return true
		}
	}
	return false
}

// spellsHWCAP reports whether a decoded string holds the prefix in any
// letter case (the letters of "hwcap.dev/" have no non-ASCII folds).
func spellsHWCAP(s string) bool {
	for i := 0; i+len(annotationPrefix) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(annotationPrefix)], annotationPrefix) {
			return true
		}
	}
	return false
}

type memberWalk struct {
	dec   *json.Decoder
	hwcap bool  // some string spells the prefix
	bad   error // the first ambiguity found
}

var errSyntax = errors.New("not JSON")

// value walks one JSON value; path is its place ("" for the document,
// ".annotations", ".mounts[0]").
func (w *memberWalk) value(path string) error {
	t, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch v := t.(type) {
	case string:
		w.hwcap = w.hwcap || spellsHWCAP(v)
	case json.Delim:
		switch v {
		case '{':
			return w.object(path)
		case '[':
			for i := 0; w.dec.More(); i++ {
				if err := w.value(path + "[" + strconv.Itoa(i) + "]"); err != nil {
					return err
				}
			}
			_, err := w.dec.Token()
			return err
		default:
			return errSyntax
		}
	}
	return nil
}

func (w *memberWalk) object(path string) error {
	seen := map[string]bool{}
	folded := map[string]string{} // lower-case form -> first spelling
	for w.dec.More() {
		t, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, ok := t.(string)
		if !ok {
			return errSyntax
		}
		w.hwcap = w.hwcap || spellsHWCAP(name)
		if w.bad == nil {
			w.bad = checkName(path, name, seen, folded)
		}
		seen[name] = true
		if _, ok := folded[foldKey(name)]; !ok {
			folded[foldKey(name)] = name
		}
		if err := w.value(path + "." + name); err != nil {
			return err
		}
	}
	_, err := w.dec.Token()
	return err
}

func checkName(path, name string, seen map[string]bool, folded map[string]string) error {
	where := "at the top level"
	if path != "" {
		where = "in " + strconv.Quote(path[1:])
	}
	if seen[name] {
		return fmt.Errorf("%w: %q given twice %s (runc keeps the last, crun the first; keep one)", ErrDuplicateKey, name, where)
	}
	if first, ok := folded[foldKey(name)]; ok {
		return fmt.Errorf("%w: %q and %q %s differ only in letter case (runc reads them as one member, crun as two; keep one spelling)", ErrDuplicateKey, name, first, where)
	}
	for _, n := range decodedNames[path] {
		if name != n && bytes.EqualFold([]byte(name), []byte(n)) {
			return fmt.Errorf("%w: %q %s is read as %q by runc (encoding/json folds letter case) and ignored by crun; spell it %q", ErrDuplicateKey, name, where, n, n)
		}
	}
	return nil
}

// foldKey maps names that bytes.EqualFold (encoding/json's matching)
// treats as equal onto one key: each rune becomes the smallest of its
// simple-folding orbit.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}
