// Package harness measures what hwcap costs per container against plain
// runc: paired, interleaved runs (A B A B ...) of real `runc run`, `runc
// state` and standalone hook/wrapper/shim executions, summarised as medians
// and quartiles of per-pair ratios and differences, so that machine drift
// (a busy neighbour, frequency scaling) hits both halves of a pair alike.
//
// It is driven by bench/cmd/hwcapbench (make bench) and never by `go test`:
// timings are reported against targets, not asserted.
package harness
