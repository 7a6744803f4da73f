// Package ctl is hwcapctl, the fleet tool: it describes this node's HWCAP
// features, intersects several nodes' descriptions into a profile, checks a
// profile against a node, inspects the words a running process or
// container really has, explains what a mask hides, and publishes the
// node's features and satisfied profiles as node-feature-discovery labels.
//
// Main is the whole program (cmd/hwcapctl only calls it), so tests drive it
// with argument lists and buffers. Exit codes: 0 success or compatible, 1
// incompatible or a failed check or operation, 2 usage or bad input.
package ctl
