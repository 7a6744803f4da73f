package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// errSource is wrapped by every error about the kernel sources.
var errSource = errors.New("kernel source")

// tree reads files of a kernel tree. Every error names the file.
type tree struct{ dir string }

func (t tree) read(rel string) (*cfile, error) {
	data, err := os.ReadFile(filepath.Join(t.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSource, err)
	}
	// Join continuation lines so that a #define split over two lines
	// (powerpc's PPC_FEATURE_PSERIES_PERFMON_COMPAT) is one line.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	return &cfile{name: rel, text: text}, nil
}

// cfile is the text of one source file.
type cfile struct {
	name string
	text string
}

// errorf returns an error naming the file.
func (f *cfile) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errSource, f.name, fmt.Sprintf(format, args...))
}

// defines returns the matches of full on every line that starts a #define
// of a macro whose name matches prefix. A #define with that prefix that
// full does not match is an error: the generator never skips what it does
// not understand. At least one match is required.
func (f *cfile) defines(prefix string, full *regexp.Regexp) ([][]string, error) {
	start := regexp.MustCompile(`^#\s*define\s+` + prefix)
	var out [][]string
	for _, line := range strings.Split(f.text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if !start.MatchString(line) {
			continue
		}
		m := full.FindStringSubmatch(line)
		if m == nil {
			return nil, f.errorf("cannot parse %q (expected form %s)", line, full)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, f.errorf("no #define %s... found", prefix)
	}
	return out, nil
}

// block returns the body of the C initialiser named what ("hwcap_str[]")
// that follows the first match of head (which must end at the opening
// brace), up to the first "};".
func (f *cfile) block(what, head string) (string, error) {
	re := regexp.MustCompile(head)
	loc := re.FindStringIndex(f.text)
	if loc == nil {
		return "", f.errorf("table %s not found (looked for %s)", what, head)
	}
	rest := f.text[loc[1]:]
	end := strings.Index(rest, "};")
	if end < 0 {
		return "", f.errorf("table %s has no closing };", what)
	}
	return rest[:end], nil
}

// entries matches every non-blank line of a table body against entry. A
// line it does not match (after comments are removed) is an error.
func (f *cfile) entries(what, body string, entry *regexp.Regexp) ([][]string, error) {
	var out [][]string
	for _, line := range strings.Split(stripComments(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := entry.FindStringSubmatch(line)
		if m == nil {
			return nil, f.errorf("%s: cannot parse %q (expected form %s)", what, line, entry)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, f.errorf("%s is empty", what)
	}
	return out, nil
}

var (
	reBlockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	reLineComment  = regexp.MustCompile(`//[^\n]*`)
)

// stripComments removes C comments, keeping line breaks of block comments
// out of the picture (a comment spanning lines becomes one blank).
func stripComments(s string) string {
	s = reBlockComment.ReplaceAllString(s, " ")
	return reLineComment.ReplaceAllString(s, "")
}
