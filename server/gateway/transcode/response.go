package transcode

import (
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// responseBodyMessage is a response whose HTTP body is one of its fields.
// runtime.ForwardResponseMessage and runtime.ForwardResponseStream marshal
// what XXX_ResponseBody returns instead of the message, as they do for the
// response_X types of grpc-gateway's generated code.
type responseBodyMessage struct {
	proto.Message
	body any
}

// XXX_ResponseBody returns the response_body field's value; the method name
// is the one grpc-gateway's runtime looks for.
func (m responseBodyMessage) XXX_ResponseBody() any { return m.body }

// responseBodyFunc returns the function that extracts the response_body
// field at the end of fields from a response. The value has the shape that
// grpc-gateway's generated code returns (the Go field's value), so that the
// runtime's JSONPb marshals it the same way: messages as protojson, lists
// of messages element by element, enums by name, maps key by key, and other
// scalars with encoding/json (which makes an int64 a JSON number here, as in
// grpc-gateway).
func responseBodyFunc(fields []protoreflect.FieldDescriptor) func(protoreflect.Message) any {
	leaf := fields[len(fields)-1]
	parents := fields[:len(fields)-1]
	conv := goValueFunc(leaf)
	return func(m protoreflect.Message) any {
		for _, fd := range parents {
			m = m.Get(fd).Message()
		}
		return conv(m, leaf)
	}
}

// goValueFunc returns the converter of fd's value to the value of the
// generated Go field.
func goValueFunc(fd protoreflect.FieldDescriptor) func(protoreflect.Message, protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		val := singularGoValue(fd.MapValue())
		return func(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
			mp := m.Get(fd).Map()
			out := make(map[string]any, mp.Len())
			mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				out[fmt.Sprintf("%v", k.Interface())] = val(v)
				return true
			})
			return out
		}
	case fd.IsList() && fd.Message() != nil:
		val := singularGoValue(fd)
		return func(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
			list := m.Get(fd).List()
			var out []proto.Message
			for i := range list.Len() {
				out = append(out, val(list.Get(i)).(proto.Message))
			}
			return out
		}
	case fd.IsList() && fd.Enum() != nil:
		ed := fd.Enum()
		return func(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
			list := m.Get(fd).List()
			var out []string
			for i := range list.Len() {
				out = append(out, enumName(ed, list.Get(i).Enum()))
			}
			return out
		}
	case fd.IsList():
		return func(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
			list := m.Get(fd).List()
			var out []any
			for i := range list.Len() {
				out = append(out, list.Get(i).Interface())
			}
			return out
		}
	default:
		val := singularGoValue(fd)
		return func(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
			if fd.Message() != nil && fd.Message().FullName() == httpBodyName && !m.Has(fd) {
				return (*httpbody.HttpBody)(nil)
			}
			return val(m.Get(fd))
		}
	}
}

// singularGoValue returns the converter of one value of fd's type.
func singularGoValue(fd protoreflect.FieldDescriptor) func(protoreflect.Value) any {
	switch {
	case fd.Message() != nil && fd.Message().FullName() == httpBodyName:
		return func(v protoreflect.Value) any { return toHTTPBody(v.Message().Interface()) }
	case fd.Message() != nil:
		return func(v protoreflect.Value) any { return v.Message().Interface() }
	case fd.Enum() != nil:
		ed := fd.Enum()
		return func(v protoreflect.Value) any { return enumName(ed, v.Enum()) }
	default:
		return func(v protoreflect.Value) any { return v.Interface() }
	}
}

// enumName returns what the String method of a generated enum returns: the
// value's name, or its number if it has none.
func enumName(ed protoreflect.EnumDescriptor, n protoreflect.EnumNumber) string {
	if v := ed.Values().ByNumber(n); v != nil {
		return string(v.Name())
	}
	return strconv.Itoa(int(n))
}

// toHTTPBody returns m, a google.api.HttpBody of any Go type, as the
// generated type that runtime.HTTPBodyMarshaler writes raw.
func toHTTPBody(m proto.Message) *httpbody.HttpBody {
	if hb, ok := m.(*httpbody.HttpBody); ok {
		return hb
	}
	hb := &httpbody.HttpBody{}
	b, err := proto.Marshal(m)
	if err == nil {
		err = proto.Unmarshal(b, hb)
	}
	if err != nil {
		// Cannot happen for a message that was just received off the wire.
		return &httpbody.HttpBody{}
	}
	return hb
}
