package admin

import (
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// behaviors returns the google.api.field_behavior annotations of a field.
func behaviors(fd protoreflect.FieldDescriptor) []annotations.FieldBehavior {
	b, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return b
}

// hasBehavior reports whether fd carries the annotation b.
func hasBehavior(fd protoreflect.FieldDescriptor, b annotations.FieldBehavior) bool {
	return slices.Contains(behaviors(fd), b)
}

// systemManaged reports whether clients never write fd: output-only fields,
// the resource name and the etag (which is a precondition, not content).
func systemManaged(fd protoreflect.FieldDescriptor) bool {
	return hasBehavior(fd, annotations.FieldBehavior_OUTPUT_ONLY) ||
		hasBehavior(fd, annotations.FieldBehavior_IDENTIFIER) ||
		fd.Name() == "etag"
}

// clearSystemManaged clears the top-level fields a client may not set, so a
// Create ignores them as AIP-203 asks.
func clearSystemManaged(m proto.Message) {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); systemManaged(fd) {
			r.Clear(fd)
		}
	}
}

// applyUpdate writes the fields of patch named by mask into dst, following
// AIP-134: an empty mask means every field set in patch; "*" means every
// client-writable field (a full replacement). Output-only fields in the mask
// are ignored; immutable fields may only be "changed" to their current value.
// field names the resource field of the request for error messages.
func applyUpdate(dst, patch proto.Message, mask *fieldmaskpb.FieldMask, field string) error {
	var v violations
	desc := dst.ProtoReflect().Descriptor()
	paths := mask.GetPaths()
	switch {
	case len(paths) == 0:
		patch.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			paths = append(paths, string(fd.Name()))
			return true
		})
	case slices.Contains(paths, "*"):
		if len(paths) != 1 {
			v.add("update_mask", `"*" must be the only path`)
			return v.err()
		}
		paths = paths[:0]
		fields := desc.Fields()
		for i := range fields.Len() {
			paths = append(paths, string(fields.Get(i).Name()))
		}
	}
	for _, p := range paths {
		if _, err := fieldmaskpb.New(dst, p); err != nil {
			v.add("update_mask", "%q is not a field of %s", p, desc.Name())
			continue
		}
		applyPath(&v, dst.ProtoReflect(), patch.ProtoReflect(), strings.Split(p, "."), field)
	}
	return v.err()
}

// applyPath copies the field at path from src to dst, creating intermediate
// messages in dst as needed.
func applyPath(v *violations, dst, src protoreflect.Message, path []string, field string) {
	fd := dst.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	field += "." + path[0]
	if systemManaged(fd) {
		return
	}
	if len(path) > 1 {
		// An unset src message reads as the empty message, so the sub-field
		// named by the path is cleared in dst, as the mask asks.
		applyPath(v, dst.Mutable(fd).Message(), src.Get(fd).Message(), path[1:], field)
		return
	}
	if hasBehavior(fd, annotations.FieldBehavior_IMMUTABLE) {
		if !src.Get(fd).Equal(dst.Get(fd)) && src.Has(fd) {
			v.add(field, "is immutable and cannot be changed after creation")
		}
		return
	}
	if !src.Has(fd) {
		dst.Clear(fd)
		return
	}
	val := src.Get(fd)
	if fd.Message() != nil && !fd.IsMap() && !fd.IsList() {
		val = protoreflect.ValueOfMessage(proto.Clone(val.Message().Interface()).ProtoReflect())
	} else if fd.IsMap() || fd.IsList() {
		// Copy through a fresh clone of the whole src to avoid aliasing.
		clone := proto.Clone(src.Interface()).ProtoReflect()
		val = clone.Get(fd)
	}
	dst.Set(fd, val)
}
