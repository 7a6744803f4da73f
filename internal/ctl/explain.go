package ctl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

type explainReport struct {
	Mask     string            `json:"mask"`
	Arch     string            `json:"arch"`
	Against  string            `json:"against"`
	Keep     map[string]string `json:"keep"`
	Kept     []string          `json:"kept"`
	Hidden   []string          `json:"hidden"`
	Security []string          `json:"security"`
	Notes    []string          `json:"notes"`
}

// x86Note is why masking matters little on x86_64.
const x86Note = "x86_64: AT_HWCAP is only CPUID.1:EDX and most software (glibc's ifuncs included) asks CPUID directly, so hiding HWCAP bits rarely changes what x86 code runs; this matters on arm64"

func runExplain(e *env, args []string) error {
	fs := newFlags(e, "explain")
	archFlag := fs.String("arch", "", "explain against `ARCH`'s whole feature table instead of this host")
	hostFile := fs.String("host", "", "explain against the node described in `FILE` instead of this host")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one MASK or PROFILE (a profile file, raw words like hwcap2=0x0, allow:LIST or deny:LIST), got %d arguments", len(pos))
	}
	if *archFlag != "" && *hostFile != "" {
		return usagef("--arch and --host exclude each other")
	}
	arg := pos[0]

	// Against what: --host's node, --arch's whole table, or this host
	// (or, for a profile of another architecture, that whole table).
	var against *node.Node
	var t *hwcap.Table
	switch {
	case *hostFile != "":
		ns, err := readInputs(e, []string{*hostFile})
		if err != nil {
			return err
		}
		against = ns[0]
		warnUnknown(e, against)
		if t, err = against.Table(); err != nil {
			return err
		}
	case *archFlag != "":
		if t, err = hwcap.Lookup(*archFlag); err != nil {
			return err
		}
	default:
		if t, err = hwcap.Host(); err != nil {
			return err
		}
	}
	keep, maskArch, err := parseMask(e, arg, t)
	if err != nil {
		return err
	}
	if *hostFile == "" && *archFlag == "" {
		if maskArch != "" && maskArch != t.Arch {
			if t, err = hwcap.Lookup(maskArch); err != nil {
				return err
			}
		} else if against, err = node.Host(); err != nil {
			return err
		}
	}
	var base hwcap.Words
	rep := explainReport{Mask: arg, Notes: []string{}}
	if against != nil {
		base = against.Words.And(t.Known())
		rep.Against = against.Label()
	} else {
		base = t.Known()
		rep.Against = "every " + t.Arch + " feature"
	}
	if maskArch != "" && maskArch != t.Arch {
		return fmt.Errorf("%w: %s is a %s profile, explaining against %s (%s)", hwcap.ErrBadProfile, arg, maskArch, rep.Against, t.Arch)
	}
	rep.Arch = t.Arch
	rep.Keep = hexWords(keep)
	hidden := base.AndNot(keep)
	rep.Kept = nonNil(t.Names(base.And(keep)))
	rep.Hidden = nonNil(t.Names(hidden))
	rep.Security = []string{}
	for _, f := range t.Security(hidden) {
		rep.Security = append(rep.Security, f.Name)
	}
	if len(rep.Security) > 0 {
		rep.Notes = append(rep.Notes, "hiding "+strings.Join(rep.Security, ", ")+" weakens security: programs and libraries stop using those protections (e.g. pointer authentication, branch target identification, shadow stacks, memory tagging) wherever the hardware has them")
	}
	if f, ok := t.Feature("cpuid"); ok && t.Arch == "arm64" && !hidden.IsZero() && keep.Has(f.Word, f.Bit) && base.Has(f.Word, f.Bit) {
		rep.Notes = append(rep.Notes, "cpuid stays visible: software may read the ID registers (the kernel's MRS emulation) and find hidden features anyway; add cpuid to the hidden set for well-behaved software to rely on HWCAPs only")
	}
	if t.Arch == "amd64" {
		rep.Notes = append(rep.Notes, x86Note)
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	w := e.stdout
	fmt.Fprintf(w, "mask %s against %s [%s]:\n", arg, rep.Against, t.Arch)
	fmt.Fprintf(w, "  hides %d feature(s): %s\n", len(rep.Hidden), list(rep.Hidden))
	fmt.Fprintf(w, "  keeps %d feature(s): %s\n", len(rep.Kept), list(rep.Kept))
	if len(rep.Security) > 0 {
		fmt.Fprintf(w, "  SECURITY: hides %s\n", strings.Join(rep.Security, " "))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}

// parseMask reads MASK|PROFILE: an existing file or "-" (any input kind:
// its features are what is kept), raw words (hwcap2=0x0: keep these bits),
// allow:LIST or deny:LIST. It returns the keep mask and, for files, the
// architecture the file is for.
func parseMask(e *env, arg string, t *hwcap.Table) (hwcap.Words, string, error) {
	if arg == "-" || fileExists(arg) {
		ns, err := readInputs(e, []string{arg})
		if err != nil {
			return hwcap.Words{}, "", err
		}
		warnUnknown(e, ns[0])
		return ns[0].Words, ns[0].Arch, nil
	}
	kind, rest, _ := strings.Cut(arg, ":")
	switch kind {
	case "allow", "deny":
		names, err := hwcap.ParseList(rest)
		if err != nil {
			return hwcap.Words{}, "", fmt.Errorf("%s: %w", arg, err)
		}
		spec := hwcap.Spec{Allow: names}
		if kind == "deny" {
			spec = hwcap.Spec{Deny: names}
		}
		keep, err := spec.Keep(t)
		return keep, "", err
	}
	if strings.Contains(arg, "=") {
		keep, _, err := hwcap.ParseRaw(arg)
		return keep, "", err
	}
	return hwcap.Words{}, "", fmt.Errorf("%w: %q is not a file, raw words (hwcap2=0x0), allow:LIST or deny:LIST", hwcap.ErrBadMask, arg)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
