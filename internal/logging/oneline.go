package logging

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OneLine makes s safe to print as one line of a terminal or a runtime's
// error message: runs of white space (newlines included) become one space,
// and control characters (ESC, NUL, DEL, C1 such as CSI U+009B), Unicode
// bidirectional controls (U+202E ...) and bytes that are not UTF-8 are
// escaped as \xNN or \uNNNN. Error messages quote tenant input (annotation
// keys and values, container ids), which must not move the cursor, recolour
// the terminal or reorder the text a human reads.
func OneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
