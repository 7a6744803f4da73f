// Package enforce applies a mask to the calling process and decides, by
// policy, whether to go on when the kernel will not pass it to children.
//
// The order matters: the mask is applied first and verified by re-reading
// the saved vector, then the probe says whether the paths that worked make
// children inherit. Under "enforce" a kernel without support is an error,
// so the caller does not start the workload unmasked; under "warn" the
// caller goes on and logs the Outcome.
package enforce
