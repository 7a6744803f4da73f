package front

import (
	"bytes"
	"os"
	"testing"

	"github.com/hwcap/hwcap/internal/wrapper"
)

// TestRulesCurrent: rules.h is what wrapper.FrontRules generates, so the
// C front end applies the Go wrapper's rules as they are, not as they were.
func TestRulesCurrent(t *testing.T) {
	got, err := os.ReadFile("rules.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wrapper.FrontRules()) {
		t.Fatal("rules.h is stale: regenerate it with go generate ./internal/front and review the diff")
	}
}
