package transcode

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
)

const (
	httpBodyName  protoreflect.FullName = "google.api.HttpBody"
	fieldMaskName protoreflect.FullName = "google.protobuf.FieldMask"
)

// boundMethod is a Binding with everything its handler needs, computed
// once.
type boundMethod struct {
	Binding

	reqType  protoreflect.MessageType
	respType protoreflect.MessageType
	// httpBody reports whether the response type is google.api.HttpBody; the
	// response is then received into the generated type, which
	// runtime.HTTPBodyMarshaler recognises.
	httpBody bool

	params []pathParam
	// hasBody reports whether the binding takes a request body; bodyPath is
	// the field it fills, empty for body "*".
	hasBody  bool
	bodyPath []protoreflect.FieldDescriptor
	// query reports whether query parameters are parsed (grpc-gateway's
	// HasQueryParam), skipping the fields in filter.
	query  bool
	filter *utilities.DoubleArray
	// patchMask is the request's FieldMask field that a PATCH fills from the
	// body's fields when the request sets none (grpc-gateway's
	// allow_patch_feature, on by default), or nil.
	patchMask protoreflect.FieldDescriptor
	// responseBody, if not nil, extracts the response_body field.
	responseBody func(protoreflect.Message) any

	// reqPlan, if not nil, translates the request body (body "*") straight
	// to the wire format; respPlan, if not nil, the unary response straight
	// to JSON (see fastplan.go).
	reqPlan  *msgPlan
	respPlan *msgPlan
}

// planFast gives c the plans of the fast path where it applies: a request
// whose body is the whole request (body "*") or a message field of it
// (except a PATCH that derives a field mask from the body), of a type with
// a plan; a unary response written whole (no response_body, not
// google.api.HttpBody).
func (c *boundMethod) planFast(plans planCache) {
	if c.hasBody && c.patchMask == nil && !c.ClientStreaming {
		switch req := plans.plan(c.Method.Input()); {
		case req == nil:
		case len(c.bodyPath) == 0:
			c.reqPlan = req
		default:
			last := c.bodyPath[len(c.bodyPath)-1]
			if last.Message() != nil && !last.IsList() && !last.IsMap() {
				c.reqPlan = plans.plan(last.Message())
			}
		}
	}
	if !c.ServerStreaming && !c.httpBody && c.responseBody == nil {
		c.respPlan = plans.plan(c.Method.Output())
	}
}

// pathParam sets one path variable's field.
type pathParam struct {
	name string // the field path, as in the template
	set  func(m protoreflect.Message, val string) error
	// fields are the fields of the path, the last one the field set.
	fields []protoreflect.FieldDescriptor
}

// httpRule returns the google.api.http option of md, or nil. The options
// are re-parsed from their wire form, so that the extension is found
// whether the descriptors came with it resolved, unresolved (unknown
// fields) or resolved to a dynamic type.
func httpRule(md protoreflect.MethodDescriptor) (*annotations.HttpRule, error) {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil {
		return nil, nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("reading the options of %s: %w", md.FullName(), err)
	}
	fresh := &descriptorpb.MethodOptions{}
	// GlobalTypes knows google.api.http: this package imports annotations.
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, fresh); err != nil {
		return nil, fmt.Errorf("reading the options of %s: %w", md.FullName(), err)
	}
	if !proto.HasExtension(fresh, annotations.E_Http) {
		return nil, nil
	}
	rule, ok := proto.GetExtension(fresh, annotations.E_Http).(*annotations.HttpRule)
	if !ok {
		return nil, fmt.Errorf("the google.api.http option of %s is not a google.api.HttpRule", md.FullName())
	}
	return rule, nil
}

// procedure returns the gRPC method name of md, "/pkg.Service/Method".
func procedure(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// rulePattern returns the HTTP method and path template of rule, or "" if
// it sets none.
func rulePattern(rule *annotations.HttpRule) (method, path string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// methodRules returns the rules of md's bindings in grpc-gateway's order:
// the rule itself, then its additional_bindings. A method without a rule
// gets the default binding, POST /pkg.Service/Method with body "*".
func methodRules(md protoreflect.MethodDescriptor) (rules []*annotations.HttpRule, isDefault bool, err error) {
	rule, err := httpRule(md)
	if err != nil {
		return nil, false, err
	}
	if rule == nil {
		return []*annotations.HttpRule{{
			Pattern: &annotations.HttpRule_Post{Post: procedure(md)},
			Body:    "*",
		}}, true, nil
	}
	rules = append(rules, rule)
	for _, add := range rule.GetAdditionalBindings() {
		if len(add.GetAdditionalBindings()) > 0 {
			return nil, false, fmt.Errorf("%s: an additional binding must not have additional_bindings", md.FullName())
		}
		rules = append(rules, add)
	}
	return rules, false, nil
}

// compileBinding compiles one rule of a unary or server-streaming method.
// It returns nil (and no error) for a rule without a pattern, which
// grpc-gateway skips too.
func compileBinding(md protoreflect.MethodDescriptor, rule *annotations.HttpRule, isDefault bool) (*boundMethod, error) {
	verb, path := rulePattern(rule)
	if path == "" {
		return nil, nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: binding %s %s: %s", md.FullName(), verb, path, fmt.Sprintf(format, args...))
	}
	if verb == "" {
		return nil, fail("the custom pattern has no kind")
	}
	tmpl, err := pathtemplate.Parse(path)
	if err != nil {
		return nil, fail("%v", err)
	}
	req, resp := md.Input(), md.Output()
	c := &boundMethod{
		Binding: Binding{
			Method:          md,
			Procedure:       procedure(md),
			HTTPMethod:      verb,
			Path:            path,
			Body:            rule.GetBody(),
			ResponseBody:    rule.GetResponseBody(),
			ServerStreaming: md.IsStreamingServer(),
			Default:         isDefault,
		},
		reqType:  dynamicpb.NewMessageType(req),
		respType: dynamicpb.NewMessageType(resp),
		httpBody: resp.FullName() == httpBodyName,
	}

	// Path variables.
	var seqs [][]string
	for _, fp := range tmpl.FieldPaths() {
		p, err := compilePathParam(req, fp)
		if err != nil {
			return nil, fail("%v", err)
		}
		c.params = append(c.params, p)
	}

	// Body.
	switch body := rule.GetBody(); body {
	case "":
	case "*":
		c.hasBody = true
	default:
		c.hasBody = true
		fields, err := resolveFieldPath(req, body)
		if err != nil {
			return nil, fail("body: %v", err)
		}
		c.bodyPath = fields
		seqs = append(seqs, strings.Split(body, "."))
	}
	if verb == http.MethodGet && c.hasBody {
		return nil, fail("a GET binding must not have a body")
	}
	for _, fp := range tmpl.FieldPaths() {
		seqs = append(seqs, strings.Split(fp, "."))
	}

	// Query parameters: grpc-gateway parses them unless the body is "*" or
	// every top-level field is bound by name to the path or the body.
	if rule.GetBody() != "*" {
		left := map[string]bool{}
		fields := req.Fields()
		for i := range fields.Len() {
			left[string(fields.Get(i).Name())] = true
		}
		if rule.GetBody() != "" {
			delete(left, rule.GetBody())
		}
		for _, fp := range tmpl.FieldPaths() {
			delete(left, fp)
		}
		c.query = len(left) > 0
	}
	c.filter = utilities.NewDoubleArray(seqs)

	// PATCH with a body field and exactly one FieldMask field.
	if verb == http.MethodPatch && len(c.bodyPath) > 0 && c.bodyPath[len(c.bodyPath)-1].Message() != nil {
		var mask protoreflect.FieldDescriptor
		fields := req.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			if f.Message() != nil && f.Message().FullName() == fieldMaskName && !f.IsList() {
				if mask != nil {
					mask = nil
					break
				}
				mask = f
			}
		}
		c.patchMask = mask
	}

	// Response body.
	if rb := rule.GetResponseBody(); rb != "" && rb != "*" {
		fields, err := resolveFieldPath(resp, rb)
		if err != nil {
			return nil, fail("response_body: %v", err)
		}
		c.responseBody = responseBodyFunc(fields)
	}
	return c, nil
}

// resolveFieldPath resolves a dotted path of proto field names (not JSON
// names, as in grpc-gateway) starting at md. Every field but the last must
// be a singular message.
func resolveFieldPath(md protoreflect.MessageDescriptor, path string) ([]protoreflect.FieldDescriptor, error) {
	var fields []protoreflect.FieldDescriptor
	for i, name := range strings.Split(path, ".") {
		if i > 0 {
			prev := fields[i-1]
			if prev.Message() == nil || prev.IsList() || prev.IsMap() {
				return nil, fmt.Errorf("field %q of %q is not a singular message", prev.Name(), path)
			}
			md = prev.Message()
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("no field %q in %s", name, md.FullName())
		}
		fields = append(fields, fd)
	}
	return fields, nil
}

// wellKnownPathTypes are the message types a path variable may have.
var wellKnownPathTypes = map[protoreflect.FullName]func(string) (proto.Message, error){
	"google.protobuf.Timestamp":   func(v string) (proto.Message, error) { return runtime.Timestamp(v) },
	"google.protobuf.Duration":    func(v string) (proto.Message, error) { return runtime.Duration(v) },
	"google.protobuf.StringValue": func(v string) (proto.Message, error) { return stringValue(v) },
	"google.protobuf.FloatValue":  func(v string) (proto.Message, error) { return runtime.FloatValue(v) },
	"google.protobuf.DoubleValue": func(v string) (proto.Message, error) { return runtime.DoubleValue(v) },
	"google.protobuf.BoolValue":   func(v string) (proto.Message, error) { return runtime.BoolValue(v) },
	"google.protobuf.BytesValue":  func(v string) (proto.Message, error) { return runtime.BytesValue(v) },
	"google.protobuf.Int32Value":  func(v string) (proto.Message, error) { return runtime.Int32Value(v) },
	"google.protobuf.UInt32Value": func(v string) (proto.Message, error) { return runtime.UInt32Value(v) },
	"google.protobuf.Int64Value":  func(v string) (proto.Message, error) { return runtime.Int64Value(v) },
	"google.protobuf.UInt64Value": func(v string) (proto.Message, error) { return runtime.UInt64Value(v) },
}

func stringValue(v string) (proto.Message, error) {
	if !utf8.ValidString(v) {
		return nil, errInvalidUTF8
	}
	return runtime.StringValue(v)
}

// compilePathParam compiles the setter of one path variable. It converts
// values the way grpc-gateway's generated code does: a top-level field with
// the runtime package's converters (repeated fields split at ","), a nested
// field with runtime.PopulateFieldFromPath's rules.
func compilePathParam(req protoreflect.MessageDescriptor, fieldPath string) (pathParam, error) {
	fields, err := resolveFieldPath(req, fieldPath)
	if err != nil {
		return pathParam{}, fmt.Errorf("path variable %q: %v", fieldPath, err)
	}
	leaf := fields[len(fields)-1]
	switch {
	case leaf.IsMap():
		return pathParam{}, fmt.Errorf("path variable %q: a map field cannot be a path variable", fieldPath)
	case leaf.Message() != nil && (leaf.IsList() || wellKnownPathTypes[leaf.Message().FullName()] == nil):
		return pathParam{}, fmt.Errorf("path variable %q: a field of message type %s cannot be a path variable; use a scalar type such as string", fieldPath, leaf.Message().FullName())
	}
	wrap := func(err error) error {
		return status.Errorf(codes.InvalidArgument, "type mismatch, parameter: %s, error: %v", fieldPath, err)
	}
	if len(fields) > 1 {
		return pathParam{name: fieldPath, fields: fields, set: func(m protoreflect.Message, val string) error {
			if err := populateFieldFromPath(m, fieldPath, val); err != nil {
				return wrap(err)
			}
			return nil
		}}, nil
	}
	conv := pathConverter(leaf)
	if leaf.IsList() {
		return pathParam{name: fieldPath, fields: fields, set: func(m protoreflect.Message, val string) error {
			parts := strings.Split(val, ",")
			values := make([]protoreflect.Value, len(parts))
			for i, p := range parts {
				v, err := conv(p)
				if err != nil {
					return wrap(err)
				}
				values[i] = v
			}
			list := m.Mutable(leaf).List()
			for _, v := range values {
				list.Append(v)
			}
			return nil
		}}, nil
	}
	return pathParam{name: fieldPath, fields: fields, set: func(m protoreflect.Message, val string) error {
		v, err := conv(val)
		if err != nil {
			return wrap(err)
		}
		m.Set(leaf, v)
		return nil
	}}, nil
}

// pathConverter returns the converter of a top-level path variable's
// values: the runtime function grpc-gateway's generated code calls for the
// field's type.
func pathConverter(fd protoreflect.FieldDescriptor) func(string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.DoubleKind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Float64(s)
			return protoreflect.ValueOfFloat64(v), err
		}
	case protoreflect.FloatKind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Float32(s)
			return protoreflect.ValueOfFloat32(v), err
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Int64(s)
			return protoreflect.ValueOfInt64(v), err
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Uint64(s)
			return protoreflect.ValueOfUint64(v), err
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Int32(s)
			return protoreflect.ValueOfInt32(v), err
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Uint32(s)
			return protoreflect.ValueOfUint32(v), err
		}
	case protoreflect.BoolKind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Bool(s)
			return protoreflect.ValueOfBool(v), err
		}
	case protoreflect.StringKind:
		return func(s string) (protoreflect.Value, error) {
			if !utf8.ValidString(s) {
				return protoreflect.Value{}, errInvalidUTF8
			}
			return protoreflect.ValueOfString(s), nil
		}
	case protoreflect.BytesKind:
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Bytes(s)
			return protoreflect.ValueOfBytes(v), err
		}
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		byName := make(map[string]int32, values.Len())
		for i := range values.Len() {
			byName[string(values.Get(i).Name())] = int32(values.Get(i).Number())
		}
		return func(s string) (protoreflect.Value, error) {
			v, err := runtime.Enum(s, byName)
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(v)), err
		}
	case protoreflect.MessageKind:
		conv := wellKnownPathTypes[fd.Message().FullName()]
		return func(s string) (protoreflect.Value, error) {
			m, err := conv(s)
			if err != nil {
				return protoreflect.Value{}, err
			}
			return protoreflect.ValueOfMessage(m.ProtoReflect()), nil
		}
	}
	return func(string) (protoreflect.Value, error) {
		return protoreflect.Value{}, fmt.Errorf("unsupported field kind %v", fd.Kind())
	}
}
