// Package logging writes hwcap's own log: one JSON line per hook or wrapper
// run, appended to a file, because runtimes swallow hook output (crun sends
// it to /dev/null, runc shows it only when the hook fails).
//
// The file is opened O_APPEND and each record is formatted in full before a
// single write(2), so concurrent hooks (many containers starting at once)
// never interleave within a line: on Linux an O_APPEND write to a regular
// file is positioned and performed under the inode lock as one unit.
package logging
