// Package nfd writes node-feature-discovery "local" feature files: plain
// text in /etc/kubernetes/node-feature-discovery/features.d, one
// `<namespace>/<name>[=<value>]` label per line, `#` comments, an optional
// `# +expiry-time=RFC3339` directive, at most 64 kB, files whose names start
// with a dot ignored.
//
// nfd-worker watches that directory with inotify and reads a file as soon
// as it changes, so a file must never be seen half-written: WriteFile writes
// a dot-named temporary file (which NFD ignores) in the same directory,
// syncs it, and renames it over the old one. Every key and value is checked
// against Kubernetes' label syntax first, because nfd-master drops (and
// only logs) a label it cannot apply.
package nfd
