package transcode

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	_ "google.golang.org/genproto/googleapis/api/annotations" // google.api.http in fastTestFile
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fastTestFile is a proto3 file with a field of every kind the fast path
// plans: every scalar, enums, nested and recursive messages, packed and
// unpacked repeated fields, maps of several key kinds, a oneof, proto3
// optional fields, a custom json_name and the well-known types the fast
// path covers; Other reaches a Struct and has no plan. Service Fast binds Do and DoOther by default (POST, body
// "*"), and the others with path variables, a body field and a query
// string.
const fastTestFile = `
name: "fasttest.proto"
package: "fasttest"
dependency: "google/protobuf/empty.proto"
dependency: "google/protobuf/timestamp.proto"
dependency: "google/protobuf/duration.proto"
dependency: "google/protobuf/wrappers.proto"
dependency: "google/protobuf/struct.proto"
syntax: "proto3"
enum_type { name: "Color" value { name: "COLOR_UNSPECIFIED" number: 0 } value { name: "RED" number: 1 } value { name: "GREEN" number: 2 } value { name: "VERDE" number: 2 } options { allow_alias: true } }
message_type {
  name: "All"
  field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "i32" }
  field { name: "i64" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "i64" }
  field { name: "u32" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT32 json_name: "u32" }
  field { name: "u64" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT64 json_name: "u64" }
  field { name: "s32" number: 5 label: LABEL_OPTIONAL type: TYPE_SINT32 json_name: "s32" }
  field { name: "s64" number: 6 label: LABEL_OPTIONAL type: TYPE_SINT64 json_name: "s64" }
  field { name: "f32" number: 7 label: LABEL_OPTIONAL type: TYPE_FIXED32 json_name: "f32" }
  field { name: "f64" number: 8 label: LABEL_OPTIONAL type: TYPE_FIXED64 json_name: "f64" }
  field { name: "sf32" number: 9 label: LABEL_OPTIONAL type: TYPE_SFIXED32 json_name: "sf32" }
  field { name: "sf64" number: 10 label: LABEL_OPTIONAL type: TYPE_SFIXED64 json_name: "sf64" }
  field { name: "fl" number: 11 label: LABEL_OPTIONAL type: TYPE_FLOAT json_name: "fl" }
  field { name: "db" number: 12 label: LABEL_OPTIONAL type: TYPE_DOUBLE json_name: "db" }
  field { name: "b" number: 13 label: LABEL_OPTIONAL type: TYPE_BOOL json_name: "b" }
  field { name: "s" number: 14 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "s" }
  field { name: "by" number: 15 label: LABEL_OPTIONAL type: TYPE_BYTES json_name: "by" }
  field { name: "color" number: 16 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".fasttest.Color" json_name: "color" }
  field { name: "child" number: 17 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".fasttest.All" json_name: "child" }
  field { name: "r_i32" number: 18 label: LABEL_REPEATED type: TYPE_INT32 json_name: "rI32" }
  field { name: "r_i64" number: 19 label: LABEL_REPEATED type: TYPE_INT64 json_name: "rI64" }
  field { name: "r_db" number: 20 label: LABEL_REPEATED type: TYPE_DOUBLE json_name: "rDb" }
  field { name: "r_fl" number: 21 label: LABEL_REPEATED type: TYPE_FLOAT json_name: "rFl" }
  field { name: "r_b" number: 22 label: LABEL_REPEATED type: TYPE_BOOL json_name: "rB" }
  field { name: "r_s" number: 23 label: LABEL_REPEATED type: TYPE_STRING json_name: "rS" }
  field { name: "r_by" number: 24 label: LABEL_REPEATED type: TYPE_BYTES json_name: "rBy" }
  field { name: "r_color" number: 25 label: LABEL_REPEATED type: TYPE_ENUM type_name: ".fasttest.Color" json_name: "rColor" }
  field { name: "r_child" number: 26 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All" json_name: "rChild" }
  field { name: "r_s32" number: 27 label: LABEL_REPEATED type: TYPE_SINT32 json_name: "rS32" }
  field { name: "r_f64" number: 28 label: LABEL_REPEATED type: TYPE_FIXED64 json_name: "rF64" }
  field { name: "r_u32_unpacked" number: 29 label: LABEL_REPEATED type: TYPE_UINT32 json_name: "rU32Unpacked" options { packed: false } }
  field { name: "m_ss" number: 30 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All.MSsEntry" json_name: "mSs" }
  field { name: "m_i32" number: 31 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All.MI32Entry" json_name: "mI32" }
  field { name: "m_b" number: 32 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All.MBEntry" json_name: "mB" }
  field { name: "m_u64" number: 33 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All.MU64Entry" json_name: "mU64" }
  field { name: "m_s64" number: 34 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".fasttest.All.MS64Entry" json_name: "mS64" }
  field { name: "o_s" number: 40 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "oS" oneof_index: 0 }
  field { name: "o_child" number: 41 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".fasttest.All" json_name: "oChild" oneof_index: 0 }
  field { name: "o_i32" number: 42 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "oI32" oneof_index: 0 }
  field { name: "opt_i32" number: 43 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "optI32" oneof_index: 1 proto3_optional: true }
  field { name: "opt_s" number: 44 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "optS" oneof_index: 2 proto3_optional: true }
  field { name: "snake_case_name" number: 45 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "snakeCaseName" }
  field { name: "custom" number: 46 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "renamed" }
  field { name: "empty" number: 47 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Empty" json_name: "empty" }
  field { name: "ts" number: 48 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" json_name: "ts" }
  field { name: "dur" number: 49 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" json_name: "dur" }
  field { name: "sw" number: 50 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.StringValue" json_name: "sw" }
  field { name: "i64w" number: 51 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" json_name: "i64w" }
  field { name: "bw" number: 52 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.BytesValue" json_name: "bw" }
  field { name: "dw" number: 53 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.DoubleValue" json_name: "dw" }
  field { name: "bool_w" number: 55 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.BoolValue" json_name: "boolW" }
  field { name: "r_ts" number: 54 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" json_name: "rTs" }
  field { name: "big_number" number: 1000 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "bigNumber" }
  nested_type { name: "MSsEntry" field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "key" } field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "value" } options { map_entry: true } }
  nested_type { name: "MI32Entry" field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "key" } field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".fasttest.All" json_name: "value" } options { map_entry: true } }
  nested_type { name: "MBEntry" field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL json_name: "key" } field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "value" } options { map_entry: true } }
  nested_type { name: "MU64Entry" field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_UINT64 json_name: "key" } field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".fasttest.Color" json_name: "value" } options { map_entry: true } }
  nested_type { name: "MS64Entry" field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_SINT64 json_name: "key" } field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_BYTES json_name: "value" } options { map_entry: true } }
  oneof_decl { name: "choice" }
  oneof_decl { name: "_opt_i32" }
  oneof_decl { name: "_opt_s" }
}
message_type {
  name: "Other"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "name" }
  field { name: "attrs" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" json_name: "attrs" }
}
service {
  name: "Fast"
  method { name: "Do" input_type: ".fasttest.All" output_type: ".fasttest.All" }
  method { name: "DoOther" input_type: ".fasttest.Other" output_type: ".fasttest.Other" }
  method { name: "DoPath" input_type: ".fasttest.All" output_type: ".fasttest.All" options { [google.api.http] { post: "/v1/things/{s}/{o_child.i32}" body: "child" } } }
  method { name: "DoStar" input_type: ".fasttest.All" output_type: ".fasttest.All" options { [google.api.http] { post: "/v1/star/{s}/{child.s}" body: "*" } } }
  method { name: "DoRepeated" input_type: ".fasttest.All" output_type: ".fasttest.All" options { [google.api.http] { post: "/v1/repeated/{r_s}" body: "*" } } }
}
`

// fastTestFiles returns the registry of fastTestFile and its imports.
func fastTestFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := prototext.Unmarshal([]byte(fastTestFile), fdp); err != nil {
		t.Fatal(err)
	}
	files := &protoregistry.Files{}
	for _, fd := range []protoreflect.FileDescriptor{
		emptypb.File_google_protobuf_empty_proto, timestamppb.File_google_protobuf_timestamp_proto,
		durationpb.File_google_protobuf_duration_proto, wrapperspb.File_google_protobuf_wrappers_proto,
		structpb.File_google_protobuf_struct_proto,
	} {
		if err := files.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := protodesc.NewFile(fdp, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return files
}

// fastTestMessage returns the descriptor of fasttest.<name>.
func fastTestMessage(t testing.TB, files *protoregistry.Files, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := files.FindDescriptorByName(protoreflect.FullName("fasttest." + name))
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MessageDescriptor)
}

// slowDecode is the dynamicpb path's decoding of a body.
func slowDecode(md protoreflect.MessageDescriptor, in []byte) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(md)
	err := protojson.UnmarshalOptions{RecursionLimit: jsonRecursionLimit}.Unmarshal(in, m)
	return m, err
}

// slowJSON is the dynamicpb path's response JSON.
func slowJSON(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRequest fails unless the fast path decodes in as protojson does:
// when it takes in, protojson must take it too and both must give the
// same message; and the message's wire form must translate to the same
// JSON as protojson writes.
func checkRequest(t *testing.T, p *msgPlan, in []byte) (fast bool) {
	t.Helper()
	slow, slowErr := slowDecode(p.desc, in)
	wire, ok := p.appendWire(nil, in)
	if ok {
		if slowErr != nil {
			t.Fatalf("fast path took %q, protojson refused it: %v", in, slowErr)
		}
		got := dynamicpb.NewMessage(p.desc)
		if err := proto.Unmarshal(wire, got); err != nil {
			t.Fatalf("fast path wrote invalid wire data for %q: %v", in, err)
		}
		if g, w := slowJSON(t, got), slowJSON(t, slow); !bytes.Equal(g, w) {
			t.Fatalf("fast path decoded %q as\n%s\nprotojson as\n%s", in, g, w)
		}
	}
	if slowErr == nil {
		// Whatever the fast path takes as a request, it takes as a response.
		checkResponse(t, p, mustMarshal(t, slow), ok)
	}
	return ok
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkResponse fails unless the fast path translates the wire data b as
// proto.Unmarshal and protojson do: when it takes b, proto.Unmarshal must
// take it too and the JSON must be the same, byte for byte. wantFast says
// the fast path must take b.
func checkResponse(t *testing.T, p *msgPlan, b []byte, wantFast bool) {
	t.Helper()
	slow := dynamicpb.NewMessage(p.desc)
	slowErr := func() (err error) {
		// proto.Unmarshal panics on a map entry whose key has the wrong
		// wire type (protobuf-go 1.36.12, dynamic messages): the fast path
		// must refuse that too, and the gateway then fails as before.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return proto.Unmarshal(b, slow)
	}()
	got, ok := p.appendJSON(nil, b, 0)
	if !ok {
		if wantFast {
			t.Fatalf("fast path refused valid wire data %x", b)
		}
		return
	}
	if slowErr != nil {
		t.Fatalf("fast path took wire data %x, proto.Unmarshal refused it: %v", b, slowErr)
	}
	if want := slowJSON(t, slow); !bytes.Equal(got, want) {
		t.Fatalf("wire data %x: fast path wrote\n%s\nprotojson\n%s", b, got, want)
	}
}

// fastRequests are request bodies for the table test and the fuzz seeds:
// for each kind, values the fast path takes and values it leaves to
// protojson (fast false), valid or not.
var fastRequests = []struct {
	name string
	in   string
	fast bool
}{
	{"empty", `{}`, true},
	{"white space", " \t\r\n{ } \n", true},
	{"int32", `{"i32": -2147483648}`, true},
	{"int32 quoted", `{"i32": "2147483647"}`, true},
	{"int32 overflow", `{"i32": 2147483648}`, false},
	{"int32 exponent", `{"i32": 1e2}`, false},
	{"int32 fraction", `{"i32": 1.0}`, false},
	{"int32 minus zero", `{"i32": -0}`, true},
	{"int32 leading zero", `{"i32": 01}`, false},
	{"int64 quoted", `{"i64": "-9223372036854775808"}`, true},
	{"int64 number", `{"i64": 9223372036854775807}`, true},
	{"uint32 negative", `{"u32": -1}`, false},
	{"uint64", `{"u64": "18446744073709551614"}`, true},
	{"sint fixed", `{"s32": -5, "s64": "-6", "f32": 7, "f64": "8", "sf32": -9, "sf64": "-10"}`, true},
	{"floats", `{"fl": 1.5, "db": -2.25e-300}`, true},
	{"float specials", `{"fl": "NaN", "db": "-Infinity", "rDb": ["Infinity", 1, "2.5"]}`, true},
	{"float out of range", `{"fl": 1e39}`, false},
	{"double quoted with space", `{"db": " 1"}`, false},
	{"bool", `{"b": true}`, true},
	{"bool quoted", `{"b": "true"}`, false},
	{"string escapes", `{"s": "a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}`, true},
	{"string lone surrogate", `{"s": "\ud83d"}`, false},
	{"string control", "{\"s\": \"a\x01\"}", false},
	{"string invalid utf8", "{\"s\": \"a\xff\"}", false},
	{"bytes std", `{"by": "AAECAwQ="}`, true},
	{"bytes url unpadded", `{"by": "-_8"}`, true},
	{"bytes invalid", `{"by": "!!"}`, false},
	{"enum name", `{"color": "GREEN"}`, true},
	{"enum alias", `{"color": "VERDE"}`, true},
	{"enum number", `{"color": 7}`, true},
	{"enum unknown name", `{"color": "BLUE"}`, false},
	{"enum quoted number", `{"color": "1"}`, false},
	{"nested", `{"child": {"s": "x", "child": {"i32": 3}}}`, true},
	{"nested empty", `{"child": {}}`, true},
	{"null", `{"child": null, "s": null, "rS": null, "mSs": null, "color": null}`, true},
	{"repeated", `{"rI32": [1, -2, 3], "rI64": ["4", 5], "rFl": [0.5], "rB": [true, false], "rS": ["a", ""], "rBy": ["AQ=="], "rColor": ["RED", 2], "rS32": [-1], "rF64": ["9"], "rU32Unpacked": [1, 2]}`, true},
	{"repeated empty", `{"rI32": [], "rChild": []}`, true},
	{"repeated messages", `{"rChild": [{"s": "a"}, {}, {"rChild": [{"i32": 1}]}]}`, true},
	{"repeated null element", `{"rS": ["a", null]}`, false},
	{"maps", `{"mSs": {"b": "2", "a": "1", "": ""}, "mI32": {"-1": {"s": "x"}, "5": {}}, "mB": {"true": "1", "false": 2}, "mU64": {"18446744073709551615": "GREEN", "0": 9}, "mS64": {"-3": "AQ=="}}`, true},
	{"map int key with plus", `{"mI32": {"+1": {}}}`, true},
	{"map duplicate key", `{"mSs": {"a": "1", "a": "2"}}`, false},
	{"map duplicate int key", `{"mI32": {"1": {}, "01": {}}}`, false},
	{"map null value", `{"mSs": {"a": null}}`, false},
	{"map bad bool key", `{"mB": {"yes": 1}}`, false},
	{"oneof", `{"oChild": {"s": "x"}}`, true},
	{"oneof zero", `{"oI32": 0}`, true},
	{"oneof twice", `{"oS": "a", "oI32": 1}`, false},
	{"oneof null then set", `{"oS": null, "oI32": 1}`, true},
	{"optional zero", `{"optI32": 0, "optS": ""}`, true},
	{"proto names", `{"snake_case_name": "x", "r_i32": [1], "custom": 3}`, true},
	{"json names", `{"snakeCaseName": "x", "renamed": 3}`, true},
	{"duplicate via both names", `{"snakeCaseName": "x", "snake_case_name": "y"}`, false},
	{"duplicate field", `{"s": "x", "s": "y"}`, false},
	{"unknown field", `{"nope": 1}`, false},
	{"empty message type", `{"empty": {}}`, true},
	{"big field number", `{"bigNumber": 5}`, true},
	{"timestamp", `{"ts": "2024-10-01T12:34:56.789Z"}`, true},
	{"timestamp offset", `{"ts": "2024-10-01T12:34:56.000000001+02:00"}`, true},
	{"timestamp epoch", `{"ts": "1970-01-01T00:00:00Z"}`, true},
	{"timestamp limits", `{"rTs": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"]}`, true},
	{"timestamp too many digits", `{"ts": "2024-10-01T12:34:56.0000000001Z"}`, false},
	{"timestamp lower case", `{"ts": "2024-10-01t12:34:56z"}`, false},
	{"timestamp not a string", `{"ts": 1}`, false},
	{"timestamp null in list", `{"rTs": [null]}`, false},
	{"duration", `{"dur": "2592000s"}`, true},
	{"duration fraction", `{"dur": "-1.5s"}`, true},
	{"duration nanos", `{"dur": "0.000000001s"}`, true},
	{"duration limit", `{"dur": "315576000000.999999999s"}`, true},
	{"duration out of range", `{"dur": "315576000001s"}`, false},
	{"duration plus", `{"dur": "+1s"}`, false},
	{"duration no unit", `{"dur": "1"}`, false},
	{"wrappers", `{"sw": "x", "i64w": "-5", "bw": "AQI=", "dw": "NaN", "boolW": false}`, true},
	{"wrappers zero", `{"sw": "", "i64w": 0, "dw": 0}`, true},
	{"wrapper object", `{"sw": {"value": "x"}}`, false},
	{"trailing data", `{} {}`, false},
	{"trailing comma", `{"s": "x",}`, false},
	{"not an object", `[]`, false},
	{"truncated", `{"s": "x"`, false},
	{"deep", strings.Repeat(`{"child":`, 100) + `{}` + strings.Repeat(`}`, 100), false},
}

func TestFastJSONRequests(t *testing.T) {
	files := fastTestFiles(t)
	p := planCache{}.plan(fastTestMessage(t, files, "All"))
	if p == nil {
		t.Fatal("no plan for fasttest.All")
	}
	for _, tc := range fastRequests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkRequest(t, p, []byte(tc.in)); got != tc.fast {
				t.Errorf("fast path took the body: %v, want %v", got, tc.fast)
			}
		})
	}
}

func TestFastJSONPlans(t *testing.T) {
	files := fastTestFiles(t)
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"All", true},
		{"Other", false}, // a Struct
	} {
		if got := (planCache{}).plan(fastTestMessage(t, files, tc.name)) != nil; got != tc.want {
			t.Errorf("plan for %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if (planCache{}).plan(structpb.File_google_protobuf_struct_proto.Messages().ByName("Value")) != nil {
		t.Error("a plan for google.protobuf.Value")
	}
}

// fastResponses are wire forms for the response direction.
func fastResponses(t testing.TB, md protoreflect.MessageDescriptor) []struct {
	name string
	wire []byte
	fast bool
} {
	f := func(name string) protoreflect.FieldDescriptor { return md.Fields().ByName(protoreflect.Name(name)) }
	tag := func(name string, typ protowire.Type) []byte {
		return protowire.AppendTag(nil, f(name).Number(), typ)
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	varint := func(v uint64) []byte { return protowire.AppendVarint(nil, v) }
	lenp := func(b []byte) []byte { return protowire.AppendBytes(nil, b) }
	return []struct {
		name string
		wire []byte
		fast bool
	}{
		{"empty", nil, true},
		{"last scalar wins", cat(tag("i32", protowire.VarintType), varint(1), tag("i32", protowire.VarintType), varint(2)), true},
		{"negative int32", cat(tag("i32", protowire.VarintType), varint(math.MaxUint64)), true},
		{"sint32 with high bits", cat(tag("s32", protowire.VarintType), varint(1<<40|3)), true},
		{"packed and unpacked mixed", cat(tag("r_i32", protowire.BytesType), lenp(cat(varint(1), varint(2))), tag("r_i32", protowire.VarintType), varint(3)), true},
		{"packed fixed", cat(tag("r_f64", protowire.BytesType), lenp(protowire.AppendFixed64(nil, 7))), true},
		{"packed truncated", cat(tag("r_f64", protowire.BytesType), lenp([]byte{1, 2, 3})), false},
		{"unknown field", cat(protowire.AppendTag(nil, 999, protowire.VarintType), varint(5)), true},
		{"wrong wire type", cat(tag("i32", protowire.Fixed32Type), protowire.AppendFixed32(nil, 1)), false},
		{"message twice", cat(tag("child", protowire.BytesType), lenp(nil), tag("child", protowire.BytesType), lenp(nil)), false},
		{"oneof last wins", cat(tag("o_i32", protowire.VarintType), varint(0), tag("o_s", protowire.BytesType), lenp([]byte("a"))), true},
		{"oneof string replaced", cat(tag("o_s", protowire.BytesType), lenp([]byte("a")), tag("o_i32", protowire.VarintType), varint(0)), false},
		{"oneof invalid string replaced", cat(tag("o_s", protowire.BytesType), lenp([]byte{0xff}), tag("o_i32", protowire.VarintType), varint(0)), false},
		{"string replaced", cat(tag("s", protowire.BytesType), lenp([]byte{0xff}), tag("s", protowire.BytesType), lenp([]byte("a"))), false},
		{"map duplicate key", cat(
			tag("m_b", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(1), protowire.AppendTag(nil, 2, protowire.VarintType), varint(5))),
			tag("m_b", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(1), protowire.AppendTag(nil, 2, protowire.VarintType), varint(6)))), true},
		{"map duplicate key string values", cat(
			tag("m_ss", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.BytesType), lenp([]byte("k")), protowire.AppendTag(nil, 2, protowire.BytesType), lenp([]byte("1")))),
			tag("m_ss", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.BytesType), lenp([]byte("k")), protowire.AppendTag(nil, 2, protowire.BytesType), lenp([]byte("2"))))), false},
		{"map entry without key or value", cat(tag("m_i32", protowire.BytesType), lenp(nil), tag("m_b", protowire.BytesType), lenp(nil)), true},
		{"invalid utf8", cat(tag("s", protowire.BytesType), lenp([]byte{0xff})), false},
		{"truncated", cat(tag("s", protowire.BytesType), varint(5), []byte("ab")), false},
		{"float specials", cat(tag("fl", protowire.Fixed32Type), protowire.AppendFixed32(nil, math.Float32bits(float32(math.Inf(-1)))), tag("db", protowire.Fixed64Type), protowire.AppendFixed64(nil, math.Float64bits(math.NaN()))), true},
		{"float formats", cat(tag("r_db", protowire.BytesType), lenp(cat(protowire.AppendFixed64(nil, math.Float64bits(1e21)), protowire.AppendFixed64(nil, math.Float64bits(1e-7)), protowire.AppendFixed64(nil, math.Float64bits(-0.0)), protowire.AppendFixed64(nil, math.Float64bits(123.456))))), true},
		{"float32 formats", cat(tag("r_fl", protowire.BytesType), lenp(cat(protowire.AppendFixed32(nil, math.Float32bits(1e21)), protowire.AppendFixed32(nil, math.Float32bits(0.1)), protowire.AppendFixed32(nil, math.Float32bits(3e-7))))), true},
		{"enum unknown number", cat(tag("color", protowire.VarintType), varint(42)), true},
		{"timestamp", cat(tag("ts", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(1700000000), protowire.AppendTag(nil, 2, protowire.VarintType), varint(120000000)))), true},
		{"timestamp out of range", cat(tag("ts", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(1<<40)))), false},
		{"timestamp negative nanos", cat(tag("ts", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 2, protowire.VarintType), varint(math.MaxUint64)))), false},
		{"duration negative", cat(tag("dur", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(math.MaxUint64-1), protowire.AppendTag(nil, 2, protowire.VarintType), varint(math.MaxUint64-999)))), true},
		{"duration signs differ", cat(tag("dur", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(1), protowire.AppendTag(nil, 2, protowire.VarintType), varint(math.MaxUint64)))), false},
		{"empty wrappers", cat(tag("sw", protowire.BytesType), lenp(nil), tag("i64w", protowire.BytesType), lenp(nil), tag("dw", protowire.BytesType), lenp(nil)), true},
		{"wrapper value", cat(tag("i64w", protowire.BytesType), lenp(cat(protowire.AppendTag(nil, 1, protowire.VarintType), varint(7)))), true},
		{"string escapes", cat(tag("s", protowire.BytesType), lenp([]byte("\"\\\x00\x1f\x7f<>&\u2028é\ufffd"))), true},
	}
}

func TestFastJSONResponses(t *testing.T) {
	files := fastTestFiles(t)
	md := fastTestMessage(t, files, "All")
	p := planCache{}.plan(md)
	for _, tc := range fastResponses(t, md) {
		t.Run(tc.name, func(t *testing.T) {
			checkResponse(t, p, tc.wire, tc.fast)
			if _, ok := p.appendJSON(nil, tc.wire, 0); ok != tc.fast {
				t.Errorf("fast path took the wire data: %v, want %v", ok, tc.fast)
			}
		})
	}
}

// FuzzFastJSONRequest compares the fast path with protojson on random
// request bodies for fasttest.All (see checkRequest).
func FuzzFastJSONRequest(f *testing.F) {
	for _, tc := range fastRequests {
		f.Add([]byte(tc.in))
	}
	files := fastTestFiles(f)
	p := planCache{}.plan(fastTestMessage(f, files, "All"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRequest(t, p, in)
	})
}

// FuzzFastJSONResponse compares the fast path with proto.Unmarshal and
// protojson on random wire data for fasttest.All (see checkResponse).
func FuzzFastJSONResponse(f *testing.F) {
	files := fastTestFiles(f)
	md := fastTestMessage(f, files, "All")
	for _, tc := range fastResponses(f, md) {
		f.Add(tc.wire)
	}
	for _, tc := range fastRequests {
		if m, err := slowDecode(md, []byte(tc.in)); err == nil {
			f.Add(mustMarshal(f, m))
		}
	}
	p := planCache{}.plan(md)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkResponse(t, p, b, false)
	})
}

// echoConn answers every call with its request, through the wire format
// as the gateway's in-process connection does.
type echoConn struct{}

func (echoConn) Invoke(_ context.Context, _ string, args, reply any, _ ...grpc.CallOption) error {
	b, err := proto.Marshal(args.(proto.Message))
	if err != nil {
		return err
	}
	return proto.Unmarshal(b, reply.(proto.Message))
}

func (echoConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("not used")
}

// TestFastJSONTranscoder runs every request of the table through two
// Transcoders, one with the fast path and one without, and wants the same
// HTTP responses, byte for byte: status, Content-Type and body, errors
// included.
func TestFastJSONTranscoder(t *testing.T) {
	files := fastTestFiles(t)
	sd, err := files.FindDescriptorByName("fasttest.Fast")
	if err != nil {
		t.Fatal(err)
	}
	svc := []protoreflect.ServiceDescriptor{sd.(protoreflect.ServiceDescriptor)}
	fast, err := New(files, svc, echoConn{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := New(files, svc, echoConn{})
	if err != nil {
		t.Fatal(err)
	}
	planned := 0
	for _, c := range slow.bindings {
		if c.reqPlan != nil || c.respPlan != nil {
			planned++
		}
		c.reqPlan, c.respPlan = nil, nil
	}
	if planned != 4 {
		t.Fatalf("%d bindings with plans, want 4 (all but DoOther)", planned)
	}
	bodies := []string{"", " ", `{"name": "x", "attrs": {"a": [1, null]}}`,
		`{"s": "body", "oI32": 5, "child": {"s": "body", "i32": 7}, "rS": ["x"]}`, `{"oChild": {"s": "x", "i32": 1}}`}
	for _, tc := range fastRequests {
		bodies = append(bodies, tc.in)
	}
	for _, path := range []string{
		"/fasttest.Fast/Do", "/fasttest.Fast/DoOther",
		"/v1/things/abc/5", "/v1/things/abc/0", "/v1/things/abc/x", "/v1/things/abc/-1?i32=3&color=RED", "/v1/things/abc/2?",
		"/v1/star/abc/def", "/v1/star/%C3%A9/ghi?s=ignored",
		"/v1/repeated/a,b",
	} {
		for _, body := range bodies {
			var got, want *httptest.ResponseRecorder
			for _, tc := range []struct {
				h   http.Handler
				rec **httptest.ResponseRecorder
			}{{fast, &got}, {slow, &want}} {
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				*tc.rec = httptest.NewRecorder()
				tc.h.ServeHTTP(*tc.rec, req)
			}
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
				t.Errorf("POST %s %q:\nfast: %d %s %s\nslow: %d %s %s", path, body,
					got.Code, got.Header().Get("Content-Type"), got.Body, want.Code, want.Header().Get("Content-Type"), want.Body)
			}
		}
	}
}

// TestFastMessageReflection checks that a fast message behaves as a
// dynamic one when looked into: proto.Merge into a generated-style
// message, reflection on a request built from JSON, and a response
// merged from a message a handler sent.
func TestFastMessageReflection(t *testing.T) {
	files := fastTestFiles(t)
	md := fastTestMessage(t, files, "All")
	p := planCache{}.plan(md)
	typ := dynamicpb.NewMessageType(md)
	in := []byte(`{"s": "x", "rI32": [1, 2], "mSs": {"a": "b"}, "child": {"i32": 3}}`)
	want, err := slowDecode(md, in)
	if err != nil {
		t.Fatal(err)
	}

	wire, ok := p.appendWire(nil, in)
	if !ok {
		t.Fatal("fast path refused the body")
	}
	req := &fastMessage{plan: p, typ: typ, state: fastWire, wire: wire}
	dst := dynamicpb.NewMessage(md)
	proto.Merge(dst, req)
	if !proto.Equal(dst, want) {
		t.Errorf("merged %v, want %v", dst, want)
	}
	if got := req.Get(md.Fields().ByName("s")).String(); got != "x" {
		t.Errorf("field s: %q, want x", got)
	}
	req.Set(md.Fields().ByName("s"), protoreflect.ValueOfString("y"))
	again := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(mustMarshal(t, req), again); err != nil {
		t.Fatal(err)
	}
	if got := again.Get(md.Fields().ByName("s")).String(); got != "y" {
		t.Errorf("after Set and Marshal, field s: %q, want y", got)
	}

	resp := &fastMessage{plan: p, typ: typ}
	proto.Merge(resp, want)
	if resp.state != fastJSON {
		t.Fatalf("response merged from a message: state %d, want JSON", resp.state)
	}
	if got, w := *resp.json, slowJSON(t, want); !bytes.Equal(got, w) {
		t.Errorf("response JSON %s, want %s", got, w)
	}
	if !proto.Equal(resp, want) {
		t.Error("response not equal to the message it was merged from")
	}
	resp.release()
}

// TestFastJSONPathVariables checks which requests with path variables stay
// in wire form (the rest are covered by TestFastJSONTranscoder's
// comparison).
func TestFastJSONPathVariables(t *testing.T) {
	files := fastTestFiles(t)
	sd, err := files.FindDescriptorByName("fasttest.Fast")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := New(files, []protoreflect.ServiceDescriptor{sd.(protoreflect.ServiceDescriptor)}, echoConn{})
	if err != nil {
		t.Fatal(err)
	}
	binding := func(method string) *boundMethod {
		for _, c := range tc.bindings {
			if string(c.Method.Name()) == method {
				return c
			}
		}
		t.Fatalf("no binding for %s", method)
		return nil
	}
	for _, tt := range []struct {
		name   string
		method string
		target string
		params map[string]string
		body   string
		want   fastState
	}{
		{"scalars", "DoPath", "/v1/things/abc/5", map[string]string{"s": "abc", "o_child.i32": "5"}, `{"s": "x"}`, fastWire},
		{"empty body", "DoPath", "/v1/things/abc/5", map[string]string{"s": "abc", "o_child.i32": "5"}, ``, fastWire},
		{"zero value", "DoPath", "/v1/things/abc/0", map[string]string{"s": "abc", "o_child.i32": "0"}, `{}`, fastDynamic},
		{"query string", "DoPath", "/v1/things/abc/5?i32=1", map[string]string{"s": "abc", "o_child.i32": "5"}, `{}`, fastDynamic},
		{"body star", "DoStar", "/v1/star/a/b", map[string]string{"s": "a", "child.s": "b"}, `{"s": "x", "child": {"i32": 1}}`, fastWire},
		{"repeated", "DoRepeated", "/v1/repeated/a,b", map[string]string{"r_s": "a,b"}, `{}`, fastDynamic},
		{"body refused", "Do", "/fasttest.Fast/Do", nil, `{"i32": 1e2}`, fastDynamic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			m, err := tc.buildRequest(binding(tt.method), req, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.(*fastMessage).state; got != tt.want {
				t.Errorf("state %d, want %d", got, tt.want)
			}
		})
	}
}
