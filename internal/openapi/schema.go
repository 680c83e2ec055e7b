package openapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

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

// componentSchemas is where references to component schemas point.
const componentSchemas = "#/components/schemas/"

// schemaRef returns a reference to a component schema.
func schemaRef(name string) *Schema { return &Schema{Ref: componentSchemas + name} }

// statusRef returns the schema of google.rpc.Status, the body of every
// error the gateway and its backends answer.
func (b *builder) statusRef() *Schema {
	const name = "google.rpc.Status"
	if _, ok := b.schemas[name]; !ok {
		anyName := "google.protobuf.Any"
		b.schemas[anyName] = wellKnownSchema(protoreflect.FullName(anyName))
		b.schemas[name] = &Schema{
			Type:        "object",
			Description: "The error model of gRPC and of the gateway's JSON errors.",
			Properties: map[string]*Schema{
				"code":    int32Schema(),
				"message": stringSchema(""),
				"details": {Type: "array", Items: schemaRef(anyName)},
			},
		}
	}
	return schemaRef(name)
}

// messageRef returns a reference to md's component schema, adding it (and
// the messages it refers to) first. Well-known types are inlined.
func (b *builder) messageRef(md protoreflect.MessageDescriptor) *Schema {
	if ws := wellKnownSchema(md.FullName()); ws != nil {
		return ws
	}
	name := string(md.FullName())
	if _, ok := b.schemas[name]; !ok {
		// Placeholder first: recursive messages refer to themselves.
		s := &Schema{}
		b.schemas[name] = s
		*s = *b.messageSchema(md, nil)
	}
	return schemaRef(name)
}

// messageSchema returns md's object schema, without the top-level fields
// in skip (path parameters of a body "*" request).
func (b *builder) messageSchema(md protoreflect.MessageDescriptor, skip map[string]bool) *Schema {
	s := &Schema{Type: "object", Description: comment(md), Properties: map[string]*Schema{}}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if skip[string(fd.Name())] {
			continue
		}
		fs := b.fieldSchema(fd)
		if fs.Ref == "" {
			if c := comment(fd); c != "" && fs.Description == "" {
				fs.Description = c
			}
			if hasBehavior(fd, annotations.FieldBehavior_OUTPUT_ONLY) {
				fs.ReadOnly = true
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
func (b *builder) fieldSchema(fd protoreflect.FieldDescriptor) *Schema {
	if fd.IsMap() {
		return &Schema{Type: "object", AdditionalProperties: b.singularSchema(fd.MapValue())}
	}
	one := b.singularSchema(fd)
	if fd.IsList() {
		return &Schema{Type: "array", Items: one}
	}
	return one
}

func (b *builder) singularSchema(fd protoreflect.FieldDescriptor) *Schema {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return b.messageRef(fd.Message())
	case protoreflect.EnumKind:
		return b.enumRef(fd.Enum())
	}
	return b.scalarSchema(fd)
}

// enumRef returns a reference to ed's component schema: its value names,
// as protojson writes them.
func (b *builder) enumRef(ed protoreflect.EnumDescriptor) *Schema {
	name := string(ed.FullName())
	if _, ok := b.schemas[name]; !ok {
		s := stringSchema("")
		s.Description = comment(ed)
		s.Enum = enumValues(ed)
		b.schemas[name] = s
	}
	return schemaRef(name)
}

// enumValues are the names of ed's values, as protojson writes them.
func enumValues(ed protoreflect.EnumDescriptor) []string {
	out := make([]string, ed.Values().Len())
	for i := range out {
		out[i] = string(ed.Values().Get(i).Name())
	}
	return out
}

// scalarSchema returns the inline schema of a non-message field's value in
// protojson's mapping (64-bit integers are strings), or of a well-known
// type's, for parameters.
func (b *builder) scalarSchema(fd protoreflect.FieldDescriptor) *Schema {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return &Schema{Type: "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int32Schema()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return uint32Schema()
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return stringSchema("int64")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return stringSchema("uint64")
	case protoreflect.FloatKind:
		return &Schema{Type: "number", Format: "float"}
	case protoreflect.DoubleKind:
		return &Schema{Type: "number", Format: "double"}
	case protoreflect.BytesKind:
		return stringSchema("byte")
	case protoreflect.EnumKind:
		return &Schema{Type: "string", Enum: enumValues(fd.Enum())}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if ws := wellKnownSchema(fd.Message().FullName()); ws != nil {
			return ws
		}
		return &Schema{Type: "object"}
	}
	return stringSchema("")
}

func stringSchema(format string) *Schema { return &Schema{Type: "string", Format: format} }

func int32Schema() *Schema { return &Schema{Type: "integer", Format: "int32"} }

// uint32Schema is an unsigned 32-bit integer's: int64 is the format that
// holds all of its values.
func uint32Schema() *Schema {
	zero := 0.0
	return &Schema{Type: "integer", Format: "int64", Minimum: &zero}
}

// wellKnownSchema returns the schema of a well-known type's JSON form, or
// nil for other messages.
func wellKnownSchema(name protoreflect.FullName) *Schema {
	switch name {
	case "google.protobuf.Timestamp":
		return stringSchema("date-time")
	case "google.protobuf.Duration":
		return &Schema{Type: "string", Description: "A duration in seconds with up to nine fractional digits, ending with 's', e.g. \"3.5s\"."}
	case "google.protobuf.FieldMask":
		return &Schema{Type: "string", Description: "Comma-separated field paths."}
	case "google.protobuf.Struct", "google.protobuf.Empty":
		return &Schema{Type: "object"}
	case "google.protobuf.Value":
		return &Schema{}
	case "google.protobuf.ListValue":
		return &Schema{Type: "array", Items: &Schema{}}
	case "google.protobuf.Any":
		return &Schema{
			Type:                 "object",
			Properties:           map[string]*Schema{"@type": stringSchema("")},
			AdditionalProperties: true,
		}
	case "google.protobuf.BoolValue":
		return &Schema{Type: "boolean"}
	case "google.protobuf.StringValue":
		return stringSchema("")
	case "google.protobuf.BytesValue":
		return stringSchema("byte")
	case "google.protobuf.Int32Value":
		return int32Schema()
	case "google.protobuf.UInt32Value":
		return uint32Schema()
	case "google.protobuf.Int64Value":
		return stringSchema("int64")
	case "google.protobuf.UInt64Value":
		return stringSchema("uint64")
	case "google.protobuf.FloatValue":
		return &Schema{Type: "number", Format: "float"}
	case "google.protobuf.DoubleValue":
		return &Schema{Type: "number", Format: "double"}
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
