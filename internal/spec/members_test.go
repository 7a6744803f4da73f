package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// TestAmbiguousMembers (issue 16, finding 1): a document that can spell an
// hwcap.dev/ key and whose members repeat or fold onto each other on the
// way to the annotations is refused by every reader of this package, so
// that runc (encoding/json: last member wins, names fold) and crun (yajl:
// first member wins, exact names) cannot see two different masks.
func TestAmbiguousMembers(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"annotations then null":  {`{"ociVersion":"1.0.2","id":"x","annotations":{"hwcap.dev/deny":"sse2"},"annotations":null}`, `"annotations" given twice`},
		"annotations then empty": {`{"id":"x","annotations":{"hwcap.dev/deny":"sse2"},"annotations":{}}`, `"annotations" given twice`},
		"cased member after":     {`{"id":"x","annotations":{"hwcap.dev/deny":"sse2"},"Annotations":null}`, `"Annotations" and "annotations"`},
		"cased member before":    {`{"id":"x","ANNOTATIONS":{},"annotations":{"hwcap.dev/deny":"sse2"}}`, `"ANNOTATIONS" at the top level is read as "annotations"`},
		"long s folds to s":      {`{"id":"x","annotation\u017f":{"hwcap.dev/deny":"sse2"}}`, `"annotationſ" at the top level is read as "annotations"`},
		"escaped member name":    {`{"id":"x","annotations":{"hwcap.dev/deny":"sse2"},"annot\u0061tions":null}`, `"annotations" given twice`},
		"escaped key only":       {`{"id":"x","annotations":{},"annotations":{"hwcap\u002edev/deny":"sse2"}}`, `"annotations" given twice`},
		"key in value only":      {`{"id":"x","annotations":null,"annotations":{"io.x":"hwcap.dev/deny"}}`, `"annotations" given twice`},
		"dup process":            {`{"id":"x","process":{"args":["/bin/sh"]},"process":{"args":["/.hwcap-shim"]},"annotations":{"hwcap.dev/deny":"sse2"}}`, `"process" given twice`},
		"dup args":               {`{"id":"x","process":{"args":["/bin/sh"],"args":["/.hwcap-shim"]},"annotations":{"hwcap.dev/deny":"sse2"}}`, `"args" given twice`},
		"folded key in map":      {`{"id":"x","annotations":{"hwcap.dev/deny":"sse2","HWCAP.dev/deny":"fpu"}}`, `"HWCAP.dev/deny" and "hwcap.dev/deny"`},
		"dup other key":          {`{"id":"x","annotations":{"a":"1","a":"2","hwcap.dev/deny":"sve"}}`, `"a" given twice`},
		"nested null":            {`{"id":"x","annotations":{"hwcap.dev/deny":"sse2"},"x":{"annotations":null,"annotations":1}}`, `"annotations" given twice`},
		"control char dup":       {"{\"id\":\"x\",\"annotations\":{\"hwcap.dev/deny\\u001b[2K\\nforged\":\"a\",\"hwcap.dev/deny\\u001b[2K\\nforged\":\"b\"}}", `given twice`},
	} {
		t.Run(name, func(t *testing.T) {
			_, serr := ParseState([]byte(tc.doc))
			_, cerr := ParseConfig([]byte(tc.doc))
			raw, rerr := ParseRawConfig([]byte(tc.doc))
			if rerr == nil {
				_, rerr = raw.Annotations()
			}
			for i, err := range []error{serr, cerr, rerr} {
				if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("reader %d: err = %v, want ErrDuplicateKey with %q", i, err, tc.want)
				}
			}
		})
	}
	// Without hwcap.dev/ in any form, duplicates are the runtime's business.
	for _, doc := range []string{
		`{"id":"x","annotations":{"a":"1"},"annotations":null}`,
		`{"id":"x","annotations":{"a":"1","A":"2"},"Process":{}}`,
		`{"id":"x","annotations":{"a":"\u0026"},"annotations":{"b":"hwcap.dev"}}`,
	} {
		if _, err := ParseState([]byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
		if _, err := ParseConfig([]byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestMemberMessages(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"dup deny":       {`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap.dev/deny":"fp"}}`, `"hwcap.dev/deny" given twice in "annotations" (runc keeps the last, crun the first; keep one)`},
		"escaped dup":    {`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap\u002edev/deny":"fp"}}`, `"hwcap.dev/deny" given twice in "annotations"`},
		"capital member": {`{"id":"x","Annotations":{"hwcap.dev/deny":"sve"}}`, `"Annotations" at the top level is read as "annotations" by runc (encoding/json folds letter case) and ignored by crun; spell it "annotations"`},
		"cased process":  {`{"id":"x","PROCESS":{"args":["/.hwcap-shim"]},"annotations":{"hwcap.dev/deny":"sve"}}`, `"PROCESS" at the top level is read as "process"`},
		"cased args":     {`{"id":"x","process":{"ARGS":["/.hwcap-shim"]},"annotations":{"hwcap.dev/deny":"sve"}}`, `"ARGS" in "process" is read as "args"`},
		"mounts":         {`{"id":"x","mounts":[{"source":"a","source":"b"}],"annotations":{"hwcap.dev/deny":"sve"}}`, `"source" given twice in "mounts[0]"`},
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckMembers([]byte(tc.doc))
			if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	for _, ok := range []string{
		`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap.dev/policy":"warn"}}`,
		`{"id":"x","x-vendor":{"Args":1},"annotations":{"hwcap.dev/deny":"sve"}}`,
		`{"annotations":{"hwcap.dev/deny":"sve"}} trailing`, // not JSON: the decoder's to report
	} {
		if err := CheckMembers([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// firstWins reads a JSON document as crun's yajl-based parser does: of two
// equal member names the first counts, names match exactly. It returns the
// annotations and process.args, or ok=false where such a reader would fail
// (not JSON, a non-string annotation value).
func firstWins(data []byte) (ann map[string]string, args []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := decodeFirstWins(dec, &v); err != nil {
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false
	}
	top, isObj := v.(map[string]any)
	if !isObj {
		return nil, nil, false
	}
	if a, has := top["annotations"]; has && a != nil {
		m, isObj := a.(map[string]any)
		if !isObj {
			return nil, nil, false
		}
		ann = map[string]string{}
		for k, v := range m {
			s, isStr := v.(string)
			if !isStr {
				return nil, nil, false
			}
			ann[k] = s
		}
	}
	if p, has := top["process"].(map[string]any); has {
		if a, has := p["args"].([]any); has {
			for _, x := range a {
				s, _ := x.(string)
				args = append(args, s)
			}
		}
	}
	return ann, args, true
}

func decodeFirstWins(dec *json.Decoder, out *any) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch d := t.(type) {
	case json.Delim:
		switch d {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				var v any
				if err := decodeFirstWins(dec, &v); err != nil {
					return err
				}
				if k := kt.(string); !hasKey(m, k) {
					m[k] = v
				}
			}
			*out = m
		case '[':
			var a []any
			for dec.More() {
				var v any
				if err := decodeFirstWins(dec, &v); err != nil {
					return err
				}
				a = append(a, v)
			}
			*out = a
		}
		_, err := dec.Token()
		return err
	default:
		*out = t
	}
	return nil
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// hwcapView is the part of a reader's view that decides a mask.
func hwcapView(ann map[string]string, args []string) string {
	var keys []string
	for k, v := range ann {
		if hwcap.IsAnnotationKey(k) {
			keys = append(keys, k+"="+v)
		}
	}
	if len(keys) == 0 {
		return "" // no mask asked for: args do not matter
	}
	sort.Strings(keys)
	a0 := ""
	if len(args) > 0 {
		a0 = args[0]
	}
	return strings.Join(keys, "\x00") + "\x01" + a0
}

// FuzzMembersAgree: whenever encoding/json (runc, the hook, the wrapper)
// and a first-member-wins, case-exact reader (crun) see different
// hwcap.dev/ annotations or a different process.args[0], every reader of
// this package refuses the document.
func FuzzMembersAgree(f *testing.F) {
	for _, s := range []string{
		`{"ociVersion":"1.0.2","annotations":{"hwcap.dev/deny":"sse2"},"annotations":null}`,
		`{"annotations":{"hwcap.dev/deny":"sse2"},"Annotations":null}`,
		`{"annotations":{"hwcap.dev/deny":"a","hwcap.dev/deny":"b"}}`,
		`{"Annotations":{"hwcap.dev/deny":"a"},"annotations":{}}`,
		`{"annotation\u017f":{"hwcap.dev/deny":"a"}}`,
		`{"process":{"args":["a"],"args":["/.hwcap-shim"]},"annotations":{"hwcap.dev/deny":"x"}}`,
		`{"process":{"args":["sh"]},"annotations":{"hwcap\u002edev/deny":"sve","io.x":"y"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var goView struct {
			Annotations map[string]string `json:"annotations"`
			Process     *struct {
				Args []string `json:"args"`
			} `json:"process"`
		}
		if err := json.Unmarshal(data, &goView); err != nil {
			return // runc refuses it too
		}
		ann, args, ok := firstWins(data)
		if !ok {
			return
		}
		var goArgs []string
		if goView.Process != nil {
			goArgs = goView.Process.Args
		}
		gv, fv := hwcapView(goView.Annotations, goArgs), hwcapView(ann, args)
		if gv == fv {
			return // the same view, or no mask asked for in either
		}
		_, cerr := ParseConfig(data)
		_, serr := ParseState(data)
		raw, rerr := ParseRawConfig(data)
		if rerr == nil {
			_, rerr = raw.Annotations()
		}
		if cerr == nil || rerr == nil || (serr == nil) {
			t.Fatalf("readers disagree (encoding/json %v %q, first-wins %v %q) but accepted: config %v, state %v, raw %v",
				goView.Annotations, goArgs, ann, args, cerr, serr, rerr)
		}
	})
}
