package loader

import "golang.org/x/sys/unix"

type unix_stat struct{ ino uint64 }

func stat(path string, st *unix_stat) error {
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		return err
	}
	st.ino = s.Ino
	return nil
}
