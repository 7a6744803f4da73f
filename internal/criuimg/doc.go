// Package criuimg reads what hwcap needs from CRIU checkpoint images: the
// process tree (pstree.img), each task's name, state and machine
// (core-PID.img) and the auxiliary vector the kernel gave it at exec
// (mm-PID.img, MmEntry.mm_saved_auxv). The saved AT_HWCAP* words are the
// CPU features the task was started with: CRIU restores them verbatim, and
// nothing in CRIU checks them against the CPU it restores on (on arm64 it
// checks no CPU feature at all), so a task that picked an SVE code path at
// start dies with SIGILL on a CPU without SVE.
//
// A task masked by hwcap's eBPF backend saw other words than the saved
// ones: the backend rewrites AT_HWCAP* on the task's initial stack, and the
// kernel's copy, which CRIU saves, keeps the unmasked words. So each task's
// initial stack is read from its memory pages too (pagemap-PID.img,
// pages-ID.img; stack.go), and the verdict uses what the task saw. When the
// stack cannot be read (no pages, a pre-dump parent, pages too large to
// keep from an archive), the saved words decide and Task.StackNote says
// why.
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
