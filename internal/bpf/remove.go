package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Remove detaches the programs and removes everything pinned under dir,
// then dir itself. Masks set on tasks and cgroups are gone with their maps.
// Removing what is not installed is not an error; it reports what it
// removed.
func Remove(dir string) ([]string, error) {
	var removed []string
	for _, name := range append([]string{PinLinkExec + "_new", PinLinkFork + "_new"}, AllPins...) {
		err := os.Remove(PinPath(dir, name))
		switch {
		case err == nil:
			removed = append(removed, name)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return removed, fmt.Errorf("remove %s: %w", PinPath(dir, name), err)
		}
	}
	err := os.Remove(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fmt.Errorf("remove %s: %w (something else is pinned there)", dir, err)
	}
	return removed, nil
}
