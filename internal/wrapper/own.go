package wrapper

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hwcap/hwcap/internal/config"
)

// FlagProfile is the wrapper's own option: the profile for containers
// whose config.json has no hwcap.dev/* annotation. It is for engines that
// cannot set annotations but can give a runtime fixed arguments: Docker's
// daemon.json "runtimeArgs" (Docker before 24 has no --annotation), a
// runtime registered once per node type. Only leading arguments are the
// wrapper's; they are removed before the real runtime runs.
const FlagProfile = "--hwcap-profile"

// ErrOwnFlag: a bad --hwcap-* argument.
var ErrOwnFlag = errors.New("bad hwcap-runtime option")

// ownFlags are the wrapper's own options, taken from the front of argv.
type ownFlags struct {
	Profile string // --hwcap-profile NAME ("" = none)
}

// splitOwn takes the wrapper's own options from the front of args (argv[1:])
// and returns them and the rest, which is what the real runtime gets.
// "--hwcap-profile NAME" and "--hwcap-profile=NAME" are accepted, once;
// anything else that starts with --hwcap- is an error, so a typo is not
// passed on to runc as an unknown global flag.
func splitOwn(args []string) (ownFlags, []string, error) {
	var own ownFlags
	seen := false
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "--hwcap-") {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		if name != FlagProfile {
			return own, args[i:], fmt.Errorf("%w: unknown option %.70q (the only hwcap-runtime option is %s NAME, given before the runtime's own)", ErrOwnFlag, name, FlagProfile)
		}
		if seen {
			return own, args[i:], fmt.Errorf("%w: %s given twice (give it once)", ErrOwnFlag, FlagProfile)
		}
		seen = true
		if !hasVal {
			if i+1 >= len(args) {
				return own, nil, fmt.Errorf("%w: %s needs a profile name (e.g. %s fleet)", ErrOwnFlag, FlagProfile, FlagProfile)
			}
			val = args[i+1]
			i++
		}
		if err := config.CheckProfileName(val); err != nil {
			return own, args[i+1:], fmt.Errorf("%w: %s: %w", ErrOwnFlag, FlagProfile, err)
		}
		own.Profile = val
		i++
	}
	return own, args[i:], nil
}

// withDefault returns the annotations the wrapper acts on: the container's
// own when it has any hwcap.dev/* key, else hwcap.dev/profile set to the
// --hwcap-profile given to the runtime (if any). The map is not modified.
func (o ownFlags) withDefault(ann map[string]string) map[string]string {
	if o.Profile == "" || config.HasAnnotations(ann) {
		return ann
	}
	out := make(map[string]string, len(ann)+1)
	maps.Copy(out, ann)
	out[config.KeyProfile] = o.Profile
	return out
}
