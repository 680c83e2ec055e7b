package safeproto_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// labelsMessage returns a message type with one field, map<string,string>
// labels = 1, built at run time as the gateway builds uploaded ones.
func labelsMessage(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("labels.proto"), Package: proto.String("labels"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Labels"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("labels"), JsonName: proto.String("labels"), Number: proto.Int32(1),
				Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
				TypeName: proto.String(".labels.Labels.LabelsEntry"),
			}},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name:    proto.String("LabelsEntry"),
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("key"), JsonName: proto.String("key"), Number: proto.Int32(1), Label: opt, Type: str},
					{Name: proto.String("value"), JsonName: proto.String("value"), Number: proto.Int32(2), Label: opt, Type: str},
				},
			}},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().Get(0)
}

// badMapEntry is labels = {key: "a", key: 7}: the entry repeats its key
// with the varint wire type, on which proto.Unmarshal into a dynamicpb
// message panics (google.golang.org/protobuf v1.36.12).
func badMapEntry() []byte {
	entry := protowire.AppendTag(nil, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "a")
	entry = protowire.AppendTag(entry, 1, protowire.VarintType)
	entry = protowire.AppendVarint(entry, 7)
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, entry)
}

func TestUnmarshal(t *testing.T) {
	md := labelsMessage(t)
	good := protowire.AppendTag(nil, 1, protowire.BytesType)
	good = protowire.AppendBytes(good, protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a"))
	tests := []struct {
		name      string
		in        []byte
		wantPanic bool // the error is the recovered panic
		wantErr   bool
	}{
		{name: "valid", in: good},
		{name: "key repeated with the wrong wire type", in: badMapEntry(), wantErr: true, wantPanic: true},
		{name: "truncated", in: good[:len(good)-1], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, decode := range map[string]func() error{
				"Unmarshal": func() error { return safeproto.Unmarshal(tt.in, dynamicpb.NewMessage(md)) },
				"UnmarshalOptions": func() error {
					return safeproto.UnmarshalOptions(proto.UnmarshalOptions{Merge: true}, tt.in, dynamicpb.NewMessage(md))
				},
				"Guard": func() error {
					return safeproto.Guard(func() error { return proto.Unmarshal(tt.in, dynamicpb.NewMessage(md)) })
				},
			} {
				err := decode()
				if (err != nil) != tt.wantErr || errors.Is(err, safeproto.ErrPanic) != tt.wantPanic {
					t.Errorf("%s: error %v, want error %v, panic %v", name, err, tt.wantErr, tt.wantPanic)
				}
			}
		})
	}
}

// TestUpstreamStillPanics logs once google.golang.org/protobuf stops
// panicking on badMapEntry, to say that this package may then go.
func TestUpstreamStillPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Log("proto.Unmarshal no longer panics on a map key with the wrong wire type")
		}
	}()
	_ = proto.Unmarshal(badMapEntry(), dynamicpb.NewMessage(labelsMessage(t)))
}
