package enforce

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

func TestMain(m *testing.M) {
	probe.MaybeChild()
	os.Exit(m.Run())
}

// TestMaskSelf masks this test process for real (it is about to exit anyway
// after the subtests) and checks the decision against the probe.
func TestMaskSelf(t *testing.T) {
	v, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	host := v.HWCAPs()
	keep := hwcap.All
	for w := range host {
		if host[w] != 0 {
			keep[w] &^= host[w] & -host[w] // hide the lowest set bit
			break
		}
	}
	pr, err := probe.Run()
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range []hwcap.Policy{hwcap.Warn, hwcap.Enforce} {
		t.Run(string(pol), func(t *testing.T) {
			out, err := MaskSelf(keep, pol, t.TempDir())
			if out == nil {
				t.Fatal("nil outcome")
			}
			if out.After != host.And(keep) {
				t.Errorf("After = %s, want %s", out.After, host.And(keep))
			}
			if len(out.Paths) == 0 || out.Probe == nil {
				t.Fatalf("outcome %+v", out)
			}
			inherits := pr.Inherits(out.Paths...)
			if out.Inherited != inherits {
				t.Errorf("Inherited = %v, probe says %v", out.Inherited, inherits)
			}
			switch {
			case inherits:
				if err != nil || out.Decision != hwcap.DecisionMasked {
					t.Errorf("decision %q err %v, want masked", out.Decision, err)
				}
			case pol == hwcap.Warn:
				if err != nil || out.Decision != hwcap.DecisionWarned || !strings.Contains(out.Reason, "does not pass HWCAP masks") {
					t.Errorf("decision %q reason %q err %v, want warned", out.Decision, out.Reason, err)
				}
			default:
				if !errors.Is(err, ErrNotInherited) || out.Decision != hwcap.DecisionRefused {
					t.Errorf("decision %q err %v, want refused with ErrNotInherited", out.Decision, err)
				}
				if err != nil && (!strings.HasPrefix(err.Error(), "kernel "+pr.Kernel+" does not pass HWCAP masks") || strings.Contains(err.Error(), "\n")) {
					t.Errorf("error is not the one-line reason: %q", err)
				}
			}
		})
	}
}

// TestMaskedByHost: a stack that shows the mask over the kernel's words
// counts as masked by the host; the kernel's own words do not.
func TestMaskedByHost(t *testing.T) {
	v, err := auxv.ReadStack()
	if err != nil {
		t.Fatal(err)
	}
	stack := v.HWCAPs()
	// A bit of AT_HWCAP this stack does not show.
	free := uint64(1) << 63
	for free != 0 && stack[0]&free != 0 {
		free >>= 1
	}
	if free == 0 {
		t.Fatalf("AT_HWCAP %#x has every bit set", stack[0])
	}
	keep := hwcap.All
	keep[0] &^= free
	// Nothing masked this test process: its stack equals its words.
	if _, ok := maskedByHost(stack, keep); ok {
		t.Error("an unmasked stack counted as masked by the host")
	}
	// As if the kernel had given that bit and the host's mask hid it.
	before := stack
	before[0] |= free
	if got, ok := maskedByHost(before, keep); !ok || got != stack {
		t.Errorf("maskedByHost = %s, %v; want %s, true", got, ok, stack)
	}
	// A mask stricter than what the stack shows is not in place.
	if stack[0] != 0 {
		stricter := keep
		stricter[0] &^= stack[0] & -stack[0]
		if _, ok := maskedByHost(before, stricter); ok {
			t.Error("a stack that still shows a hidden bit counted as masked")
		}
	}
}
