package transcode

import (
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The fast path translates request JSON straight to the protobuf wire
// format and response wire bytes straight to JSON, from a plan compiled
// once per message type, instead of going through dynamicpb messages and
// protojson's reflection. A plan covers proto3 messages made of scalars,
// enums, nested messages, repeated fields, maps and the well-known types
// Timestamp, Duration, the wrappers and Empty; a message that reaches any
// other well-known type (Any, Struct, Value, ListValue, FieldMask), a
// proto2 or editions file or a group has no plan and keeps the dynamicpb
// path.
//
// The fast path never decides an error itself: input it does not take
// exactly as protojson would (anything malformed, unknown, duplicated, and
// a few rare valid forms such as integers written with an exponent) makes
// it give up, and the dynamicpb path then decodes the same bytes, with its
// own result and error messages. So the fast path only ever has to agree
// with protojson on input that both accept.

// msgPlan is the compiled plan of one message type.
type msgPlan struct {
	desc   protoreflect.MessageDescriptor
	fields []*fieldPlan // in declaration order, protojson's output order
	// byName finds a field by its JSON name or its proto name, as
	// protojson's decoder does.
	byName map[string]*fieldPlan
	// byNum finds a field by number: a slice for small numbers, a map
	// beyond.
	byNum    []*fieldPlan
	byNumMap map[protowire.Number]*fieldPlan
	oneofs   int
	ok       bool
	// wkt is the well-known type p is, if its JSON form is its own.
	wkt wktKind
}

// wktKind is a well-known type with a JSON form of its own that the fast
// path writes and reads.
type wktKind uint8

const (
	wktNone wktKind = iota
	wktTimestamp
	wktDuration
	// wktWrapper: google.protobuf.Int32Value and the like, whose JSON form
	// is that of their field "value" (number 1).
	wktWrapper
)

// wellKnownKinds are the well-known types the fast path covers.
var wellKnownKinds = map[protoreflect.FullName]wktKind{
	"google.protobuf.Empty":       wktNone, // an ordinary message in JSON
	"google.protobuf.Timestamp":   wktTimestamp,
	"google.protobuf.Duration":    wktDuration,
	"google.protobuf.DoubleValue": wktWrapper,
	"google.protobuf.FloatValue":  wktWrapper,
	"google.protobuf.Int64Value":  wktWrapper,
	"google.protobuf.UInt64Value": wktWrapper,
	"google.protobuf.Int32Value":  wktWrapper,
	"google.protobuf.UInt32Value": wktWrapper,
	"google.protobuf.BoolValue":   wktWrapper,
	"google.protobuf.StringValue": wktWrapper,
	"google.protobuf.BytesValue":  wktWrapper,
}

// fieldPlan is the compiled plan of one field.
type fieldPlan struct {
	fd    protoreflect.FieldDescriptor
	index int
	num   protowire.Number
	kind  protoreflect.Kind
	// name is `"jsonName":`, ready to append.
	name   []byte
	list   bool
	isMap  bool
	packed bool
	// oneof is the index of the containing oneof (real or synthetic), or -1.
	oneof int
	// msg is the plan of a message field's type.
	msg *msgPlan
	// enumByName and enumByNum translate an enum field's values.
	enumByName map[string]int32
	enumByNum  map[int32]string
	// key and val describe a map field's entry.
	key, val *fieldPlan
}

// maxSmallFieldNumber bounds the field numbers looked up by slice.
const maxSmallFieldNumber = 256

// fieldByNum returns the field numbered n, or nil.
func (p *msgPlan) fieldByNum(n protowire.Number) *fieldPlan {
	if int(n) < len(p.byNum) {
		return p.byNum[n]
	}
	return p.byNumMap[n]
}

// planCache compiles plans, each message type once.
type planCache map[protoreflect.FullName]*msgPlan

// plan returns the plan of md, or nil if the fast path does not cover it.
func (c planCache) plan(md protoreflect.MessageDescriptor) *msgPlan {
	p := c.compile(md)
	// A message is covered if every message it reaches is: propagate the
	// local verdicts through the (possibly cyclic) graph of plans.
	for changed := true; changed; {
		changed = false
		for _, q := range c {
			if !q.ok {
				continue
			}
			for _, f := range q.fields {
				if (f.msg != nil && !f.msg.ok) || (f.val != nil && f.val.msg != nil && !f.val.msg.ok) {
					q.ok = false
					changed = true
					break
				}
			}
		}
	}
	if !p.ok {
		return nil
	}
	return p
}

// compile builds the plan of md and of the messages it reaches, with their
// local verdicts.
func (c planCache) compile(md protoreflect.MessageDescriptor) *msgPlan {
	if p, ok := c[md.FullName()]; ok {
		return p
	}
	p := &msgPlan{desc: md, byName: map[string]*fieldPlan{}, ok: supportedMessage(md)}
	c[md.FullName()] = p
	if !p.ok {
		return p
	}
	p.oneofs = md.Oneofs().Len()
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		f := c.field(fd)
		if f == nil {
			p.ok = false
			return p
		}
		f.index = i
		p.fields = append(p.fields, f)
		p.byName[fd.JSONName()] = f
		if _, dup := p.byName[fd.TextName()]; !dup {
			p.byName[fd.TextName()] = f
		}
		if f.num < maxSmallFieldNumber {
			for len(p.byNum) <= int(f.num) {
				p.byNum = append(p.byNum, nil)
			}
			p.byNum[f.num] = f
		} else {
			if p.byNumMap == nil {
				p.byNumMap = map[protowire.Number]*fieldPlan{}
			}
			p.byNumMap[f.num] = f
		}
	}
	// protojson looks names up by JSON name first: a JSON name must win
	// over another field's proto name.
	for _, f := range p.fields {
		p.byName[f.fd.JSONName()] = f
	}
	p.wkt = wellKnownKinds[md.FullName()]
	return p
}

// field compiles one field, or returns nil if the fast path cannot take it.
func (c planCache) field(fd protoreflect.FieldDescriptor) *fieldPlan {
	if fd.IsExtension() || fd.Kind() == protoreflect.GroupKind || fd.IsWeak() {
		return nil
	}
	f := &fieldPlan{
		fd:     fd,
		num:    fd.Number(),
		kind:   fd.Kind(),
		name:   jsonName(fd.JSONName()),
		list:   fd.IsList(),
		isMap:  fd.IsMap(),
		packed: fd.IsPacked(),
		oneof:  -1,
	}
	if od := fd.ContainingOneof(); od != nil {
		f.oneof = od.Index()
	}
	if f.isMap {
		f.key = c.field(fd.MapKey())
		f.val = c.field(fd.MapValue())
		if f.key == nil || f.val == nil {
			return nil
		}
		return f
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		f.msg = c.compile(fd.Message())
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if strings.HasPrefix(string(ed.FullName()), "google.protobuf.") {
			return nil // NullValue has its own JSON form
		}
		f.enumByName = map[string]int32{}
		f.enumByNum = map[int32]string{}
		vals := ed.Values()
		for i := range vals.Len() {
			v := vals.Get(i)
			f.enumByName[string(v.Name())] = int32(v.Number())
			if _, ok := f.enumByNum[int32(v.Number())]; !ok {
				// protojson writes the first name of an aliased number.
				f.enumByNum[int32(v.Number())] = string(vals.ByNumber(v.Number()).Name())
			}
		}
	}
	return f
}

// supportedMessage reports whether md itself (not what it reaches) can
// have a plan: a proto3 message that is not a well-known type with its own
// JSON form.
func supportedMessage(md protoreflect.MessageDescriptor) bool {
	if md.ParentFile() == nil || md.ParentFile().Syntax() != protoreflect.Proto3 {
		return false
	}
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		_, ok := wellKnownKinds[md.FullName()]
		return ok
	}
	return true
}

// commaSpace reports whether protojson writes a space after each comma in
// this binary: it does so at random (per build, to keep clients from
// depending on its output byte for byte), and the fast path writes what
// protojson would, so that the two paths give the same bytes.
var commaSpace = func() bool {
	b, err := protojson.Marshal(&descriptorpb.FileDescriptorProto{Name: proto.String("a"), Package: proto.String("b")})
	return err == nil && strings.Contains(string(b), ", ")
}()

// jsonName returns `"name":`.
func jsonName(name string) []byte {
	b, _ := appendJSONString(nil, []byte(name))
	return append(b, ':')
}
