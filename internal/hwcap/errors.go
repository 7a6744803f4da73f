package hwcap

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error this package returns wraps one of them.
var (
	ErrUnknownArch    = errors.New("unknown architecture")
	ErrUnknownFeature = errors.New("unknown feature")
	ErrBadMask        = errors.New("malformed mask")
	ErrBadProfile     = errors.New("malformed profile")
	ErrConflict       = errors.New("conflicting mask settings")
	ErrBadPolicy      = errors.New("unknown policy")
)

// UnknownFeatureError names a feature that the architecture's table does not
// know, with the closest known names.
type UnknownFeatureError struct {
	Arch        string
	Name        string
	Suggestions []string
}

func (e *UnknownFeatureError) Error() string {
	msg := fmt.Sprintf("unknown feature %q for %s", e.Name, e.Arch)
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Is makes errors.Is(err, ErrUnknownFeature) true.
func (e *UnknownFeatureError) Is(target error) bool { return target == ErrUnknownFeature }
