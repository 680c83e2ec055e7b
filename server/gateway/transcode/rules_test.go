package transcode_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// ruleFiles returns a registry holding one service, rules.v1.RuleService,
// whose methods have the given rules (nil: no rule) and take a
// rules.v1.Request:
//
//	message Request {
//	  string name = 1; int64 id = 2; Inner inner = 3; repeated Inner inners = 4;
//	  map<string, string> labels = 5; google.protobuf.Timestamp time = 6;
//	}
//	message Inner { string name = 1; }
func ruleFiles(t *testing.T, rules ...*annotations.HttpRule) (*protoregistry.Files, protoreflect.ServiceDescriptor) {
	t.Helper()
	opt := func(n string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(n), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(n)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	optional, repeated := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	msgType, strType := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, descriptorpb.FieldDescriptorProto_TYPE_STRING
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("rules/v1/rules.proto"),
		Package:    proto.String("rules.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Request"), Field: []*descriptorpb.FieldDescriptorProto{
				opt("name", 1, strType, optional, ""),
				opt("id", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64, optional, ""),
				opt("inner", 3, msgType, optional, ".rules.v1.Inner"),
				opt("inners", 4, msgType, repeated, ".rules.v1.Inner"),
				opt("labels", 5, msgType, repeated, ".rules.v1.Request.LabelsEntry"),
				opt("time", 6, msgType, optional, ".google.protobuf.Timestamp"),
			}, NestedType: []*descriptorpb.DescriptorProto{{
				Name:    proto.String("LabelsEntry"),
				Field:   []*descriptorpb.FieldDescriptorProto{opt("key", 1, strType, optional, ""), opt("value", 2, strType, optional, "")},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}}},
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{opt("name", 1, strType, optional, "")}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("RuleService")}},
	}
	for i, r := range rules {
		m := &descriptorpb.MethodDescriptorProto{
			Name:       proto.String("M" + string(rune('a'+i))),
			InputType:  proto.String(".rules.v1.Request"),
			OutputType: proto.String(".rules.v1.Request"),
		}
		if r != nil {
			m.Options = &descriptorpb.MethodOptions{}
			proto.SetExtension(m.Options, annotations.E_Http, r)
		}
		file.Service[0].Method = append(file.Service[0].Method, m)
	}
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto), file,
	}}
	files := filesFrom(t, set)
	svc, err := files.FindDescriptorByName("rules.v1.RuleService")
	if err != nil {
		t.Fatal(err)
	}
	return files, svc.(protoreflect.ServiceDescriptor)
}

func getRule(path string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: path}}
}

func TestNewRejectsBadRules(t *testing.T) {
	conn := dial(t, "127.0.0.1:1")
	tests := []struct {
		name  string
		rules []*annotations.HttpRule
		want  string
	}{
		{"unknown path field", []*annotations.HttpRule{getRule("/v1/{nope}")}, `no field "nope"`},
		{"unknown nested path field", []*annotations.HttpRule{getRule("/v1/{inner.nope}")}, `no field "nope"`},
		{"path through a scalar", []*annotations.HttpRule{getRule("/v1/{name.x}")}, "not a singular message"},
		{"path through a repeated message", []*annotations.HttpRule{getRule("/v1/{inners.name}")}, "not a singular message"},
		{"message path variable", []*annotations.HttpRule{getRule("/v1/{inner}")}, "message type rules.v1.Inner"},
		{"map path variable", []*annotations.HttpRule{getRule("/v1/{labels}")}, "map field"},
		{"JSON name in path", []*annotations.HttpRule{getRule("/v1/{Name}")}, `no field "Name"`},
		{"invalid template", []*annotations.HttpRule{getRule("/v1/{name=**}/**")}, `a template may have only one "**"`},
		{"template without slash", []*annotations.HttpRule{getRule("v1")}, "path template"},
		{"GET with body", []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Get{Get: "/v1/x"}, Body: "*"}}, "GET binding must not have a body"},
		{"unknown body field", []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Post{Post: "/v1/x"}, Body: "nope"}}, `body: no field "nope"`},
		{"unknown response_body field", []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Post{Post: "/v1/x"}, ResponseBody: "nope"}}, `response_body: no field "nope"`},
		{"custom without kind", []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Path: "/v1/x"}}}}, "no kind"},
		{"nested additional bindings", []*annotations.HttpRule{{
			Pattern:            &annotations.HttpRule_Get{Get: "/v1/x"},
			AdditionalBindings: []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Get{Get: "/v1/y"}, AdditionalBindings: []*annotations.HttpRule{getRule("/v1/z")}}},
		}}, "must not have additional_bindings"},
		{"same binding twice", []*annotations.HttpRule{getRule("/v1/{name}"), getRule("/v1/{name=*}")}, "rules.v1.RuleService/Ma has the same binding"},
		{"same binding as a default one", []*annotations.HttpRule{nil, {Pattern: &annotations.HttpRule_Post{Post: "/rules.v1.RuleService/Ma"}}}, "has the same binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, svc := ruleFiles(t, tt.rules...)
			_, err := transcode.New(files, []protoreflect.ServiceDescriptor{svc}, conn)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsRules(t *testing.T) {
	conn := dial(t, "127.0.0.1:1")
	files, svc := ruleFiles(t,
		getRule("/v1/{name=a/*}/{id}/{inner.name}/{time}"),
		&annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/labels"}, Body: "labels", ResponseBody: "inners"},
		&annotations.HttpRule{Pattern: &annotations.HttpRule_Delete{Delete: "/v1/{name}"}, Body: "*"},
		&annotations.HttpRule{Body: "*"}, // no pattern: skipped, as by grpc-gateway
		nil,
	)
	tc, err := transcode.New(files, []protoreflect.ServiceDescriptor{svc}, conn)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var got []string
	for _, b := range tc.Bindings() {
		got = append(got, b.HTTPMethod+" "+b.Path)
	}
	want := "GET /v1/{name=a/*}/{id}/{inner.name}/{time}, POST /v1/labels, DELETE /v1/{name}, POST /rules.v1.RuleService/Me"
	if strings.Join(got, ", ") != want {
		t.Errorf("bindings %q, want %q", strings.Join(got, ", "), want)
	}
}
