package logging

import "testing"

// Tenant input quoted in an error (annotation keys, container ids) used to
// reach the runtime's error output with its ESC sequences intact.
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                         "plain",
		"a\n b\t\tc\r\n":                "a b c",
		"key\x1b[31mred":                `key\x1b[31mred`,
		"nul\x00byte":                   `nul\x00byte`,
		"del\x7f":                       `del\x7f`,
		"csi\u009b31m":                  `csi\u009b31m`,
		"bidi\u202eevil":                `bidi\u202eevil`,
		"bad\xffutf8":                   `bad\xffutf8`,
		"ѕve look-alike stays readable": "ѕve look-alike stays readable",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
