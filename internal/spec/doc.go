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
package spec
