// Package spec reads the two documents a hook sees: the container state a
// runtime writes on a hook's stdin (runc's and crun's variants) and the
// bundle's config.json; and rewrites config.json for podman's precreate
// stage.
//
// Only the fields hwcap needs are decoded (process.args and env, root.path,
// mounts, annotations), with size limits, because the state and the config
// come from the runtime but their contents (annotations, args) come from a
// tenant. A rewrite works on the raw JSON object (map of json.RawMessage)
// so that every field this package does not know — newer runtime-spec
// fields, vendor extensions — passes through byte for byte.
//
// Every reader here refuses a document that can name an hwcap.dev/ key
// and that JSON readers could read two ways (CheckMembers: repeated or
// case-folded members, which encoding/json and crun's yajl resolve
// differently). ReadBundle reads a bundle's config file the way the
// runtime will (the directory resolved by the kernel, the file relative
// to it, never through a symlink), and ReadRegular is the one bounded
// reader for untrusted files (config.json, records).
package spec
