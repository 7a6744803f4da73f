// Package config reads the node's hwcap configuration and turns a
// container's hwcap.dev/* annotations into a validated mask request.
//
// The node file (/etc/hwcap/config.json, or $HWCAP_CONFIG) is written by the
// administrator; annotations are written by tenants. Everything that comes
// from an annotation is therefore validated here, once, and every error names
// the annotation key and the bad token so that the one line a runtime shows
// is enough to fix it.
//
// Annotation precedence (documented for users in docs/configuration.md):
//
//   - exactly one of hwcap.dev/profile, hwcap.dev/allow, hwcap.dev/deny and
//     hwcap.dev/mask says what to keep; two of them together are a conflict,
//     not a precedence question, because any silent choice would hide a
//     feature the tenant did not expect to lose (or keep one they meant to
//     hide);
//   - hwcap.dev/policy (enforce | warn) overrides the node's default policy
//     for this container; it may always tighten warn to enforce, but may relax
//     enforce to warn only when the node sets allowAnnotationRelax;
//   - hwcap.dev/effective is written by the podman precreate stage; as input
//     it is only syntax-checked and must come with one of the four mask keys;
//   - any other hwcap.dev/* key is an error (typo protection: a misspelt key
//     must not silently run the container unmasked).
//
// Request is the fast path of every hook run: without an hwcap.dev/* key it
// returns (nil, nil) without touching the file system.
package config
