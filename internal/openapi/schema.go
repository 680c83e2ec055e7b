package openapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// pathVar is one variable of a path template.
type pathVar struct {
	field   string // the proto field path, "book.name"
	name    string // the parameter's name in the document
	pattern string // a regular expression of the variable's segments, or ""
	leaf    protoreflect.FieldDescriptor
}

// parseTemplate returns the variables of a google.api.http path template.
// Literals, wildcards and verbs (which may contain ':') are kept as they
// are by renderPath; only the variables are read here.
func parseTemplate(tpl string) ([]pathVar, error) {
	if !strings.HasPrefix(tpl, "/") {
		return nil, fmt.Errorf("path template %q does not start with /", tpl)
	}
	var vars []pathVar
	for rest := tpl; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("path template %q: unclosed variable", tpl)
		}
		inner := rest[open+1 : open+end]
		field, segs, hasSegs := strings.Cut(inner, "=")
		if field == "" {
			return nil, fmt.Errorf("path template %q: variable without a field", tpl)
		}
		v := pathVar{field: field}
		if hasSegs {
			v.pattern = segmentsPattern(segs)
		}
		vars = append(vars, v)
		rest = rest[open+end+1:]
	}
	return vars, nil
}

// segmentsPattern is a variable's segments as a regular expression, as
// grpc-gateway writes it: "shelves/*" is "shelves/[^/]+".
func segmentsPattern(segs string) string {
	parts := strings.Split(segs, "/")
	for i, p := range parts {
		switch p {
		case "*":
			parts[i] = "[^/]+"
		case "**":
			parts[i] = ".+"
		default:
			parts[i] = regexp.QuoteMeta(p)
		}
	}
	return strings.Join(parts, "/")
}

// renderPath writes tpl with its variables replaced by "{name}".
func renderPath(tpl string, vars []pathVar) string {
	var sb strings.Builder
	i := 0
	for rest := tpl; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			sb.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		sb.WriteString(rest[:open])
		name := ""
		if i < len(vars) {
			name = vars[i].name
		}
		sb.WriteString("{" + name + "}")
		i++
		rest = rest[open+end+1:]
	}
	return sb.String()
}

// schemaRef returns a reference to a component schema.
func schemaRef(name string) string { return "#/components/schemas/" + name }

// statusRef returns the schema of google.rpc.Status, the body of every
// error the gateway and its backends answer.
func (b *builder) statusRef() *openapi3.SchemaRef {
	const name = "google.rpc.Status"
	if _, ok := b.schemas[name]; !ok {
		anyName := "google.protobuf.Any"
		b.schemas[anyName] = openapi3.NewSchemaRef("", wellKnownSchema(protoreflect.FullName(anyName)))
		s := openapi3.NewObjectSchema()
		s.Description = "The error model of gRPC and of the gateway's JSON errors."
		s.Properties = openapi3.Schemas{
			"code":    openapi3.NewSchemaRef("", openapi3.NewInt32Schema()),
			"message": openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
			"details": openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(&openapi3.Schema{})),
		}
		s.Properties["details"].Value.Items = openapi3.NewSchemaRef(schemaRef(anyName), nil)
		b.schemas[name] = openapi3.NewSchemaRef("", s)
	}
	return openapi3.NewSchemaRef(schemaRef(name), nil)
}

// messageRef returns a reference to md's component schema, adding it (and
// the messages it refers to) first. Well-known types are inlined.
func (b *builder) messageRef(md protoreflect.MessageDescriptor) *openapi3.SchemaRef {
	if ws := wellKnownSchema(md.FullName()); ws != nil {
		return openapi3.NewSchemaRef("", ws)
	}
	name := string(md.FullName())
	if _, ok := b.schemas[name]; !ok {
		// Placeholder first: recursive messages refer to themselves.
		ref := &openapi3.SchemaRef{}
		b.schemas[name] = ref
		ref.Value = b.messageSchema(md, nil)
	}
	return openapi3.NewSchemaRef(schemaRef(name), nil)
}

// messageSchema returns md's object schema, without the top-level fields
// in skip (path parameters of a body "*" request).
func (b *builder) messageSchema(md protoreflect.MessageDescriptor, skip map[string]bool) *openapi3.Schema {
	s := openapi3.NewObjectSchema()
	s.Description = comment(md)
	s.Properties = openapi3.Schemas{}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if skip[string(fd.Name())] {
			continue
		}
		fs := b.fieldSchema(fd)
		if fs.Ref == "" {
			if c := comment(fd); c != "" && fs.Value.Description == "" {
				fs.Value.Description = c
			}
			if hasBehavior(fd, annotations.FieldBehavior_OUTPUT_ONLY) {
				fs.Value.ReadOnly = true
			}
		}
		s.Properties[fd.JSONName()] = fs
		if hasBehavior(fd, annotations.FieldBehavior_REQUIRED) {
			s.Required = append(s.Required, fd.JSONName())
		}
	}
	return s
}

// fieldSchema returns the schema of one field's JSON value.
func (b *builder) fieldSchema(fd protoreflect.FieldDescriptor) *openapi3.SchemaRef {
	if fd.IsMap() {
		s := openapi3.NewObjectSchema()
		v := b.singularSchema(fd.MapValue())
		s.AdditionalProperties = openapi3.AdditionalProperties{Schema: v}
		return openapi3.NewSchemaRef("", s)
	}
	one := b.singularSchema(fd)
	if fd.IsList() {
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: one})
	}
	return one
}

func (b *builder) singularSchema(fd protoreflect.FieldDescriptor) *openapi3.SchemaRef {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return b.messageRef(fd.Message())
	case protoreflect.EnumKind:
		return b.enumRef(fd.Enum())
	}
	return openapi3.NewSchemaRef("", b.scalarSchema(fd))
}

// enumRef returns a reference to ed's component schema: its value names,
// as protojson writes them.
func (b *builder) enumRef(ed protoreflect.EnumDescriptor) *openapi3.SchemaRef {
	name := string(ed.FullName())
	if _, ok := b.schemas[name]; !ok {
		s := openapi3.NewStringSchema()
		s.Description = comment(ed)
		for i := range ed.Values().Len() {
			s.Enum = append(s.Enum, string(ed.Values().Get(i).Name()))
		}
		b.schemas[name] = openapi3.NewSchemaRef("", s)
	}
	return openapi3.NewSchemaRef(schemaRef(name), nil)
}

// scalarSchema returns the inline schema of a non-message field's value in
// protojson's mapping (64-bit integers are strings), or of a well-known
// type's, for parameters.
func (b *builder) scalarSchema(fd protoreflect.FieldDescriptor) *openapi3.Schema {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return openapi3.NewBoolSchema()
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return openapi3.NewInt32Schema()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return openapi3.NewIntegerSchema().WithFormat("int64").WithMin(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return openapi3.NewStringSchema().WithFormat("int64")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return openapi3.NewStringSchema().WithFormat("uint64")
	case protoreflect.FloatKind:
		return openapi3.NewFloat64Schema().WithFormat("float")
	case protoreflect.DoubleKind:
		return openapi3.NewFloat64Schema().WithFormat("double")
	case protoreflect.BytesKind:
		return openapi3.NewStringSchema().WithFormat("byte")
	case protoreflect.EnumKind:
		s := openapi3.NewStringSchema()
		for i := range fd.Enum().Values().Len() {
			s.Enum = append(s.Enum, string(fd.Enum().Values().Get(i).Name()))
		}
		return s
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if ws := wellKnownSchema(fd.Message().FullName()); ws != nil {
			return ws
		}
		return openapi3.NewObjectSchema()
	}
	return openapi3.NewStringSchema()
}

// wellKnownSchema returns the schema of a well-known type's JSON form, or
// nil for other messages.
func wellKnownSchema(name protoreflect.FullName) *openapi3.Schema {
	switch name {
	case "google.protobuf.Timestamp":
		return openapi3.NewDateTimeSchema()
	case "google.protobuf.Duration":
		s := openapi3.NewStringSchema()
		s.Description = "A duration in seconds with up to nine fractional digits, ending with 's', e.g. \"3.5s\"."
		return s
	case "google.protobuf.FieldMask":
		s := openapi3.NewStringSchema()
		s.Description = "Comma-separated field paths."
		return s
	case "google.protobuf.Struct", "google.protobuf.Empty":
		return openapi3.NewObjectSchema()
	case "google.protobuf.Value":
		return &openapi3.Schema{}
	case "google.protobuf.ListValue":
		return openapi3.NewArraySchema().WithItems(&openapi3.Schema{})
	case "google.protobuf.Any":
		s := openapi3.NewObjectSchema()
		s.Properties = openapi3.Schemas{"@type": openapi3.NewSchemaRef("", openapi3.NewStringSchema())}
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(true)}
		return s
	case "google.protobuf.BoolValue":
		return openapi3.NewBoolSchema()
	case "google.protobuf.StringValue":
		return openapi3.NewStringSchema()
	case "google.protobuf.BytesValue":
		return openapi3.NewStringSchema().WithFormat("byte")
	case "google.protobuf.Int32Value":
		return openapi3.NewInt32Schema()
	case "google.protobuf.UInt32Value":
		return openapi3.NewIntegerSchema().WithFormat("int64").WithMin(0)
	case "google.protobuf.Int64Value":
		return openapi3.NewStringSchema().WithFormat("int64")
	case "google.protobuf.UInt64Value":
		return openapi3.NewStringSchema().WithFormat("uint64")
	case "google.protobuf.FloatValue":
		return openapi3.NewFloat64Schema().WithFormat("float")
	case "google.protobuf.DoubleValue":
		return openapi3.NewFloat64Schema().WithFormat("double")
	}
	return nil
}

// expandPath writes tpl with each patterned variable's segments in the
// path: literals as they are, each "*" a parameter named after the
// literal before it ("shelves/*" is "shelves/{shelf}"), "**" one named
// after the field. Variables without a pattern stay one parameter.
func expandPath(tpl string, vars []pathVar) (string, []pathVar) {
	var out []pathVar
	var sb strings.Builder
	i := 0
	used := map[string]int{}
	name := func(n string) string {
		used[n]++
		if used[n] > 1 {
			return n + "_" + strconv.Itoa(used[n]-1)
		}
		return n
	}
	for rest := tpl; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			sb.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		sb.WriteString(rest[:open])
		inner := rest[open+1 : open+end]
		rest = rest[open+end+1:]
		v := vars[i]
		i++
		_, segs, ok := strings.Cut(inner, "=")
		if !ok {
			v.name = name(v.name)
			out = append(out, v)
			sb.WriteString("{" + v.name + "}")
			continue
		}
		parts := strings.Split(segs, "/")
		for j, p := range parts {
			if j > 0 {
				sb.WriteByte('/')
			}
			switch p {
			case "*", "**":
				n := v.name
				if j > 0 && parts[j-1] != "*" && parts[j-1] != "**" {
					n = singular(parts[j-1])
				}
				pv := pathVar{field: v.field, name: name(n), leaf: v.leaf}
				if p == "**" {
					pv.pattern = ".+"
				}
				out = append(out, pv)
				sb.WriteString("{" + pv.name + "}")
			default:
				sb.WriteString(p)
			}
		}
	}
	return sb.String(), out
}

// singular turns a collection ID into a resource parameter name as AIP
// style does: "shelves" is "shelf", "apis" is "api".
func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "lves"):
		return strings.TrimSuffix(s, "ves") + "f"
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "xes"):
		return strings.TrimSuffix(s, "es")
	case strings.HasSuffix(s, "s") && len(s) > 1:
		return strings.TrimSuffix(s, "s")
	}
	return s
}
