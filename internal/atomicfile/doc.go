// Package atomicfile replaces a file whole: every reader (the hook, the C
// front end, nfd-worker, a config-management agent) sees the old content or
// the new, never a part, and once WriteFile returns the new content and its
// name survive a crash. It is the one atomic write of the tree: the probe
// cache, the wrapper's records and front file, hwcapctl's outputs, the NFD
// feature file and the generated tables all go through it.
package atomicfile
