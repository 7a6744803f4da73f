package criuimg

import "errors"

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrBadImage: an image file is malformed (magic, framing, protobuf).
	ErrBadImage = errors.New("malformed criu image")
	// ErrNotCheckpoint: the input has no CRIU images (no inventory.img or
	// pstree.img), or a task's images are missing.
	ErrNotCheckpoint = errors.New("not a criu checkpoint")
	// ErrBadArchive: the archive is unreadable, uses an unsupported
	// format, or holds unsafe or ambiguous entries.
	ErrBadArchive = errors.New("bad checkpoint archive")
	// ErrTooLarge: a limit of Limits was exceeded.
	ErrTooLarge = errors.New("checkpoint too large")
)

// Limits bound what reading one checkpoint may cost. Image files hwcap
// needs are small (an mm image of a process with 10,000 mappings is about
// 700 KiB); the pages of a checkpoint can be gigabytes, and an archive
// must be decompressed to its end to find every image, so the stream has
// its own, much larger bound.
type Limits struct {
	FileSize    int64 // one kept image file
	TotalKept   int64 // all kept image files together
	Tasks       int   // pstree entries
	Entries     int   // archive members (any name)
	StreamBytes int64 // uncompressed archive bytes read, skipped members included
}

// DefaultLimits are used when a Limits field is zero.
var DefaultLimits = Limits{
	FileSize:    32 << 20,
	TotalKept:   256 << 20,
	Tasks:       1 << 16,
	Entries:     1 << 20,
	StreamBytes: 64 << 30,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.TotalKept > 0 {
		d.TotalKept = l.TotalKept
	}
	if l.Tasks > 0 {
		d.Tasks = l.Tasks
	}
	if l.Entries > 0 {
		d.Entries = l.Entries
	}
	if l.StreamBytes > 0 {
		d.StreamBytes = l.StreamBytes
	}
	return d
}
