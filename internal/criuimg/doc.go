// Package criuimg reads what hwcap needs from CRIU checkpoint images: the
// process tree (pstree.img), each task's name, state and machine
// (core-PID.img) and the auxiliary vector the kernel gave it at exec
// (mm-PID.img, MmEntry.mm_saved_auxv). The saved AT_HWCAP* words are the
// CPU features the task was started with: CRIU restores them verbatim, and
// nothing in CRIU checks them against the CPU it restores on (on arm64 it
// checks no CPU feature at all), so a task that picked an SVE code path at
// start dies with SIGILL on a CPU without SVE.
//
// Images come from a directory (what runc checkpoint --image-path and criu
// dump -D write) or from a checkpoint archive: podman container checkpoint
// --export (tar, gzip- or zstd-compressed, images under checkpoint/) and the
// kubelet's checkpoint archives (CRI-O, containerd: tar with checkpoint/).
// Archives are tenant input: they are streamed and kept in memory with
// limits (Limits), never extracted; only the few image files needed are
// kept, names must not climb out of the archive, and a needed file given
// twice, or as a link or device, is refused.
//
// Decoding uses the message types of github.com/checkpoint-restore/go-criu
// (crit/images); the image framing (magic words, then length-prefixed
// protobuf entries) is read here with bounds, because crit's own readers
// want an *os.File and trust the lengths they read.
package criuimg
