package transcode

import (
	"cmp"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/runtime/protoiface"

	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// fastState says what a fastMessage holds.
type fastState uint8

const (
	fastEmpty fastState = iota
	// fastWire: the message's wire form (a request built from JSON).
	fastWire
	// fastJSON: the message's JSON form (a response received off the wire).
	fastJSON
	// fastDynamic: a dynamic message, once something looked inside.
	fastDynamic
)

// fastMessage is a request or response message of the fast path: a
// proto.Message whose wire form is its request JSON translated by a plan
// (proto.Marshal copies it) and whose proto.Unmarshal translates the wire
// form straight to the JSON the client gets. Anything else (reflection,
// proto.Merge into it, a second Unmarshal) turns it into the dynamic
// message of its type first, so it behaves as one in every respect: only
// the common path is fast.
type fastMessage struct {
	plan  *msgPlan
	typ   protoreflect.MessageType
	state fastState
	wire  []byte
	json  *[]byte // pooled (fastJSONPool)
	dyn   protoreflect.Message
}

var (
	_ proto.Message        = (*fastMessage)(nil)
	_ protoreflect.Message = (*fastMessage)(nil)
)

// WireForm returns the wire form of a request message the Transcoder
// built from JSON on its fast path, without the copy proto.Marshal makes:
// read-only, valid while the call lasts. ok is false for any other
// message (then proto.Marshal it).
func WireForm(m proto.Message) (wire []byte, ok bool) {
	if fm, isFast := m.(*fastMessage); isFast && fm.state == fastWire {
		return fm.wire, true
	}
	return nil, false
}

// fastJSONPool holds response JSON buffers, returned once the response is
// written.
var fastJSONPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledJSON is the largest buffer kept in the pool.
const maxPooledJSON = 64 << 10

// release returns m's JSON buffer to the pool; m is empty afterwards.
func (m *fastMessage) release() {
	if m.json != nil && cap(*m.json) <= maxPooledJSON {
		*m.json = (*m.json)[:0]
		fastJSONPool.Put(m.json)
	}
	m.json = nil
	m.Reset()
}

// Reset empties m (proto.Reset and proto.Unmarshal call it).
func (m *fastMessage) Reset() {
	m.state, m.wire, m.dyn = fastEmpty, nil, nil
	if m.json != nil {
		*m.json = (*m.json)[:0]
	}
}

// ProtoReflect returns m itself.
func (m *fastMessage) ProtoReflect() protoreflect.Message { return m }

// dynamic turns m into a dynamic message and returns it.
func (m *fastMessage) dynamic() protoreflect.Message {
	if m.state == fastDynamic {
		return m.dyn
	}
	d := m.typ.New()
	switch m.state {
	case fastWire:
		// Wire data written by the plan from accepted JSON: valid.
		_ = proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(m.wire, d.Interface())
	case fastJSON:
		// JSON written by the plan from valid wire data, which protojson
		// reads back to the same message (unknown fields aside, which the
		// JSON response leaves out anyway).
		_ = protojson.Unmarshal(*m.json, d.Interface())
		*m.json = (*m.json)[:0]
	}
	m.state, m.wire, m.dyn = fastDynamic, nil, d
	return d
}

// Descriptor returns the message descriptor.
func (m *fastMessage) Descriptor() protoreflect.MessageDescriptor { return m.typ.Descriptor() }

// Type returns the (dynamic) message type.
func (m *fastMessage) Type() protoreflect.MessageType { return m.typ }

// New returns a new dynamic message of the type.
func (m *fastMessage) New() protoreflect.Message { return m.typ.New() }

// Interface returns m.
func (m *fastMessage) Interface() protoreflect.ProtoMessage { return m }

// Range ranges over the populated fields.
func (m *fastMessage) Range(f func(protoreflect.FieldDescriptor, protoreflect.Value) bool) {
	m.dynamic().Range(f)
}

// Has reports whether fd is populated.
func (m *fastMessage) Has(fd protoreflect.FieldDescriptor) bool { return m.dynamic().Has(fd) }

// Clear clears fd.
func (m *fastMessage) Clear(fd protoreflect.FieldDescriptor) { m.dynamic().Clear(fd) }

// Get returns fd's value.
func (m *fastMessage) Get(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return m.dynamic().Get(fd)
}

// Set sets fd's value.
func (m *fastMessage) Set(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	m.dynamic().Set(fd, v)
}

// Mutable returns a mutable reference to fd's value.
func (m *fastMessage) Mutable(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return m.dynamic().Mutable(fd)
}

// NewField returns a new value for fd.
func (m *fastMessage) NewField(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return m.dynamic().NewField(fd)
}

// WhichOneof returns the populated field of od.
func (m *fastMessage) WhichOneof(od protoreflect.OneofDescriptor) protoreflect.FieldDescriptor {
	return m.dynamic().WhichOneof(od)
}

// GetUnknown returns the unknown fields.
func (m *fastMessage) GetUnknown() protoreflect.RawFields { return m.dynamic().GetUnknown() }

// SetUnknown sets the unknown fields.
func (m *fastMessage) SetUnknown(raw protoreflect.RawFields) { m.dynamic().SetUnknown(raw) }

// IsValid reports true: m is never a nil message.
func (m *fastMessage) IsValid() bool { return true }

// ProtoMethods returns the fast implementations of Marshal and Unmarshal.
func (m *fastMessage) ProtoMethods() *protoiface.Methods { return &fastMethods }

var fastMethods = protoiface.Methods{
	Flags:            protoiface.SupportMarshalDeterministic,
	Size:             fastSize,
	Marshal:          fastMarshal,
	Unmarshal:        fastUnmarshal,
	Merge:            fastMerge,
	CheckInitialized: fastCheckInitialized,
}

func fastSize(in protoiface.SizeInput) protoiface.SizeOutput {
	m := in.Message.(*fastMessage)
	switch m.state {
	case fastWire:
		return protoiface.SizeOutput{Size: len(m.wire)}
	case fastEmpty:
		return protoiface.SizeOutput{}
	}
	return protoiface.SizeOutput{Size: proto.Size(m.dynamic().Interface())}
}

func fastMarshal(in protoiface.MarshalInput) (protoiface.MarshalOutput, error) {
	m := in.Message.(*fastMessage)
	switch m.state {
	case fastWire:
		return protoiface.MarshalOutput{Buf: append(in.Buf, m.wire...)}, nil
	case fastEmpty:
		return protoiface.MarshalOutput{Buf: in.Buf}, nil
	}
	b, err := proto.MarshalOptions{
		AllowPartial:  true,
		Deterministic: in.Flags&protoiface.MarshalDeterministic != 0,
	}.MarshalAppend(in.Buf, m.dynamic().Interface())
	return protoiface.MarshalOutput{Buf: b}, err
}

// fastUnmarshal translates the wire form of a response straight to JSON if
// the message is empty and the plan can; otherwise it unmarshals into the
// dynamic message as proto.Unmarshal would (and fails as it would).
func fastUnmarshal(in protoiface.UnmarshalInput) (protoiface.UnmarshalOutput, error) {
	m := in.Message.(*fastMessage)
	if m.state == fastEmpty && m.plan != nil && in.Flags&protoiface.UnmarshalDiscardUnknown == 0 {
		if m.json == nil {
			m.json = fastJSONPool.Get().(*[]byte)
		}
		if b, ok := m.plan.appendJSON((*m.json)[:0], in.Buf, 0); ok {
			*m.json = b
			m.state = fastJSON
			return protoiface.UnmarshalOutput{Flags: protoiface.UnmarshalInitialized}, nil
		}
	}
	err := safeproto.UnmarshalOptions(proto.UnmarshalOptions{
		Merge:          true,
		AllowPartial:   true,
		DiscardUnknown: in.Flags&protoiface.UnmarshalDiscardUnknown != 0,
		Resolver:       in.Resolver,
		RecursionLimit: cmp.Or(in.Depth, protowireRecursionLimit),
	}, in.Buf, m.dynamic().Interface())
	return protoiface.UnmarshalOutput{Flags: protoiface.UnmarshalInitialized}, err
}

// fastMerge takes a whole message into an empty fast message through its
// wire form (a response a handler in the gateway sent as a message); any
// other merge is proto.Merge's reflective one.
func fastMerge(in protoiface.MergeInput) protoiface.MergeOutput {
	m, ok := in.Destination.(*fastMessage)
	if !ok || m.state != fastEmpty || m.plan == nil {
		return protoiface.MergeOutput{}
	}
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(in.Source.Interface())
	if err != nil {
		return protoiface.MergeOutput{}
	}
	if _, err := fastUnmarshal(protoiface.UnmarshalInput{Message: m, Buf: b, Depth: protowireRecursionLimit}); err != nil {
		m.Reset()
		return protoiface.MergeOutput{}
	}
	return protoiface.MergeOutput{Flags: protoiface.MergeComplete}
}

// protowireRecursionLimit is proto.Unmarshal's default recursion limit.
const protowireRecursionLimit = 10000

// fastCheckInitialized reports no missing required fields: plans are only
// made for proto3 messages, which have none.
func fastCheckInitialized(protoiface.CheckInitializedInput) (protoiface.CheckInitializedOutput, error) {
	return protoiface.CheckInitializedOutput{}, nil
}

// fastMarshaler is the Transcoder's outbound marshaler: a fast response
// holding its JSON is written as is, anything else as the wrapped
// marshaler writes it.
type fastMarshaler struct {
	runtime.Marshaler
}

// Marshal returns the JSON of v.
func (f fastMarshaler) Marshal(v any) ([]byte, error) {
	if m, ok := v.(*fastMessage); ok && m.state == fastJSON {
		return *m.json, nil
	}
	return f.Marshaler.Marshal(v)
}
