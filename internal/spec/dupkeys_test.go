package spec

import (
	"errors"
	"strings"
	"testing"
)

// reader; other duplicate keys are not this package's business.
func TestDuplicateAnnotationKeys(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"dup deny":       {`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap.dev/deny":"fp"}}`, "hwcap.dev/deny given twice"},
		"dup across":     {`{"id":"x","annotations":{"hwcap.dev/deny":"sve"},"annotations":{"hwcap.dev/deny":"fp"}}`, "hwcap.dev/deny given twice"},
		"escaped dup":    {`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap\u002edev/deny":"fp"}}`, "hwcap.dev/deny given twice"},
		"capital member": {`{"id":"x","Annotations":{"hwcap.dev/deny":"sve"}}`, `hwcap.dev/deny given under "Annotations"`},
		"other dup ok":   {`{"id":"x","annotations":{"a":"1","a":"2","hwcap.dev/deny":"sve"}}`, ""},
		"distinct ok":    {`{"id":"x","annotations":{"hwcap.dev/deny":"sve","hwcap.dev/policy":"warn"}}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, serr := ParseState([]byte(tc.doc))
			_, cerr := ParseConfig([]byte(tc.doc))
			var rerr error
			raw, err := ParseRawConfig([]byte(tc.doc))
			if err == nil {
				_, rerr = raw.Annotations()
			}
			for _, err := range []error{serr, cerr, rerr} {
				if tc.want == "" {
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					continue
				}
				if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
			}
		})
	}
}

// FuzzParseConfig: the config.json subset the guard reads. Whatever is
// accepted has no hwcap.dev/* key that another JSON reader could see with
// a different value.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"process":{"args":["a"]},"annotations":{"hwcap.dev/deny":"sve"}}`))
	f.Add([]byte(`{"annotations":{"hwcap.dev/deny":"a","hwcap.dev/deny":"b"}}`))
	f.Add([]byte(`{"Annotations":{"hwcap.dev/deny":"a"},"annotations":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if hasHWCAPKey(c.Annotations) {
			if err := CheckAnnotationKeys(data); err != nil {
				t.Fatalf("accepted a document CheckAnnotationKeys refuses: %v", err)
			}
		}
	})
}
