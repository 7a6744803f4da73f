package hwcap

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"enforce": Enforce, "warn": Warn} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "Enforce", "warn ", "strict"} {
		if _, err := ParsePolicy(bad); !errors.Is(err, ErrBadPolicy) || !strings.Contains(err.Error(), "want enforce or warn") {
			t.Errorf("ParsePolicy(%q) err = %v", bad, err)
		}
	}
	if !Enforce.Stricter(Warn) || Warn.Stricter(Enforce) || Enforce.Stricter(Enforce) {
		t.Error("Stricter is wrong")
	}
}

func TestIsAnnotationKey(t *testing.T) {
	for k, want := range map[string]bool{
		"hwcap.dev/deny": true, "HWCAP.DEV/deny": true, "hwcap.dev/": true, "Hwcap.Dev/x": true,
		"hwcap.dev": false, "hwcap.devx/deny": false, "x.hwcap.dev/deny": false, "": false, "run.oci.hooks.stderr": false,
	} {
		if got := IsAnnotationKey(k); got != want {
			t.Errorf("IsAnnotationKey(%q) = %v, want %v", k, got, want)
		}
	}
}
