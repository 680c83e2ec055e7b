package transcode

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxFastDepth is how deeply messages may nest on the fast path; deeper
// input takes the dynamicpb path (which has its own, higher, limits).
const maxFastDepth = 64

// smallFields is how many fields a message may have for its scan state to
// stay on the stack.
const smallFields = 32

// appendJSON appends the JSON form of the message of type p whose wire
// form is b, as protojson writes it with EmitUnpopulated, or reports false
// if it cannot tell that form for sure (invalid wire data, invalid UTF-8,
// a message field sent twice, which would be merged): the caller then
// decodes b with proto.Unmarshal into a dynamic message instead.
func (p *msgPlan) appendJSON(out, b []byte, depth int) ([]byte, bool) {
	if depth > maxFastDepth {
		return out, false
	}
	if p.wkt != wktNone {
		return p.appendWKT(out, b)
	}
	// at[i] is where the value of field i starts in b: its last occurrence
	// for a singular field (the one that counts), its first for a repeated
	// field or map; -1 if absent.
	var atBuf [smallFields]int32
	var at []int32
	if len(p.fields) <= smallFields {
		at = atBuf[:len(p.fields)]
	} else {
		at = make([]int32, len(p.fields))
	}
	for i := range at {
		at[i] = -1
	}
	// setOneof[o] is the field index of oneof o's member set last.
	var oneofBuf [smallFields]int32
	var setOneof []int32
	if p.oneofs <= smallFields {
		setOneof = oneofBuf[:p.oneofs]
	} else {
		setOneof = make([]int32, p.oneofs)
	}

	for i := range setOneof {
		setOneof[i] = -1
	}

	for off := 0; off < len(b); {
		num, typ, _, next, valid := nextField(b, off)
		if !valid {
			return out, false
		}
		if f := p.fieldByNum(num); f != nil {
			if !f.wireTypeOK(typ) {
				return out, false
			}
			switch {
			case f.list || f.isMap:
				if at[f.index] < 0 {
					at[f.index] = int32(off)
				}
			default:
				// A value replaced by a later one is not written, so not
				// checked here; proto.Unmarshal checks it (a string's
				// UTF-8, a message's content), or merges it (a message):
				// leave those cases to it.
				if at[f.index] >= 0 && checked(f) {
					return out, false
				}
				at[f.index] = int32(off)
				if f.oneof >= 0 {
					if prev := setOneof[f.oneof]; prev >= 0 && prev != int32(f.index) && checked(p.fields[prev]) {
						return out, false
					}
					setOneof[f.oneof] = int32(f.index)
				}
			}
		}
		off = next
	}

	out = append(out, '{')
	first := true
	ok := true
	for _, f := range p.fields {
		start := at[f.index]
		if f.oneof >= 0 && (start < 0 || setOneof[f.oneof] != int32(f.index)) {
			continue // unset oneof members are left out, even with EmitUnpopulated
		}
		if !first {
			out = appendComma(out)
		}
		first = false
		out = append(out, f.name...)
		switch {
		case f.isMap:
			out, ok = f.appendMap(out, b, int(start), depth)
		case f.list:
			out, ok = f.appendList(out, b, int(start), depth)
		case start < 0:
			out = f.appendZero(out)
		default:
			_, typ, tl := protowire.ConsumeTag(b[start:])
			out, _, ok = f.appendValue(out, typ, b[int(start)+tl:], depth)
		}
		if !ok {
			return out, false
		}
	}
	return append(out, '}'), true
}

// checked reports whether proto.Unmarshal checks the content of f's
// values (valid UTF-8, a valid message) beyond their wire syntax.
func checked(f *fieldPlan) bool {
	return f.kind == protoreflect.StringKind || f.kind == protoreflect.MessageKind
}

// appendComma appends the separator protojson writes between values.
func appendComma(out []byte) []byte {
	if commaSpace {
		return append(out, ',', ' ')
	}
	return append(out, ',')
}

// wireTypeOK reports whether a value of f may come with wire type typ. A
// field with another wire type would be kept as an unknown field by
// proto.Unmarshal: the fast path leaves that case to it.
func (f *fieldPlan) wireTypeOK(typ protowire.Type) bool {
	if f.isMap {
		return typ == protowire.BytesType
	}
	want := wireTypeOf(f.kind)
	return typ == want || (f.list && want != protowire.BytesType && typ == protowire.BytesType)
}

// wireTypeOf is the wire type of one value of kind k.
func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	default:
		return protowire.BytesType
	}
}

// appendZero appends the value protojson writes for an unpopulated
// singular field: null for a message, the zero value otherwise.
func (f *fieldPlan) appendZero(out []byte) []byte {
	switch f.kind {
	case protoreflect.MessageKind:
		return append(out, "null"...)
	case protoreflect.BoolKind:
		return append(out, "false"...)
	case protoreflect.StringKind, protoreflect.BytesKind:
		return append(out, `""`...)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind,
		protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return append(out, `"0"`...)
	case protoreflect.EnumKind:
		return f.appendEnum(out, 0)
	default:
		return append(out, '0')
	}
}

// appendEnum appends an enum value: its name, or its number if it has none.
func (f *fieldPlan) appendEnum(out []byte, n int32) []byte {
	if name, ok := f.enumByNum[n]; ok {
		out = append(out, '"')
		out = append(out, name...)
		return append(out, '"')
	}
	return strconv.AppendInt(out, int64(n), 10)
}

// appendValue appends one value of f (a singular field, a list element or
// a map value) of wire type typ at the start of b, and returns how many
// bytes of b it took.
func (f *fieldPlan) appendValue(out []byte, typ protowire.Type, b []byte, depth int) ([]byte, int, bool) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return out, 0, false
		}
		switch f.kind {
		case protoreflect.BoolKind:
			if v != 0 {
				return append(out, "true"...), n, true
			}
			return append(out, "false"...), n, true
		case protoreflect.EnumKind:
			return f.appendEnum(out, int32(v)), n, true
		case protoreflect.Int32Kind:
			return strconv.AppendInt(out, int64(int32(v)), 10), n, true
		case protoreflect.Sint32Kind:
			return strconv.AppendInt(out, int64(int32(protowire.DecodeZigZag(v&math.MaxUint32))), 10), n, true
		case protoreflect.Uint32Kind:
			return strconv.AppendUint(out, uint64(uint32(v)), 10), n, true
		case protoreflect.Int64Kind:
			return appendQuoted(strconv.AppendInt(append(out, '"'), int64(v), 10)), n, true
		case protoreflect.Sint64Kind:
			return appendQuoted(strconv.AppendInt(append(out, '"'), protowire.DecodeZigZag(v), 10)), n, true
		case protoreflect.Uint64Kind:
			return appendQuoted(strconv.AppendUint(append(out, '"'), v, 10)), n, true
		}
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(b)
		if n < 0 {
			return out, 0, false
		}
		switch f.kind {
		case protoreflect.Fixed32Kind:
			return strconv.AppendUint(out, uint64(v), 10), n, true
		case protoreflect.Sfixed32Kind:
			return strconv.AppendInt(out, int64(int32(v)), 10), n, true
		case protoreflect.FloatKind:
			return appendFloat(out, float64(math.Float32frombits(v)), 32), n, true
		}
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return out, 0, false
		}
		switch f.kind {
		case protoreflect.Fixed64Kind:
			return appendQuoted(strconv.AppendUint(append(out, '"'), v, 10)), n, true
		case protoreflect.Sfixed64Kind:
			return appendQuoted(strconv.AppendInt(append(out, '"'), int64(v), 10)), n, true
		case protoreflect.DoubleKind:
			return appendFloat(out, math.Float64frombits(v), 64), n, true
		}
	case protowire.BytesType:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return out, 0, false
		}
		switch f.kind {
		case protoreflect.StringKind:
			out, ok := appendJSONString(out, v)
			return out, n, ok
		case protoreflect.BytesKind:
			out = append(out, '"')
			out = appendBase64(out, v)
			return append(out, '"'), n, true
		case protoreflect.MessageKind:
			out, ok := f.msg.appendJSON(out, v, depth+1)
			return out, n, ok
		}
	}
	return out, 0, false
}

func appendQuoted(out []byte) []byte { return append(out, '"') }

// appendList appends the JSON array of the repeated field f, whose first
// value is at start in the message b (or -1).
func (f *fieldPlan) appendList(out, b []byte, start, depth int) ([]byte, bool) {
	out = append(out, '[')
	if start < 0 {
		return append(out, ']'), true
	}
	first := true
	for off := start; off < len(b); {
		num, typ, tl := protowire.ConsumeTag(b[off:])
		vl := protowire.ConsumeFieldValue(num, typ, b[off+tl:])
		if num != f.num {
			off += tl + vl
			continue
		}
		v := b[off+tl : off+tl+vl]
		off += tl + vl
		if typ == protowire.BytesType && wireTypeOf(f.kind) != protowire.BytesType {
			// Packed.
			packed, _ := protowire.ConsumeBytes(v)
			elemType := wireTypeOf(f.kind)
			for len(packed) > 0 {
				if !first {
					out = appendComma(out)
				}
				first = false
				var n int
				var ok bool
				if out, n, ok = f.appendValue(out, elemType, packed, depth); !ok {
					return out, false
				}
				packed = packed[n:]
			}
			continue
		}
		if !first {
			out = appendComma(out)
		}
		first = false
		var ok bool
		if out, _, ok = f.appendValue(out, typ, v, depth); !ok {
			return out, false
		}
	}
	return append(out, ']'), true
}

// mapEntry is one entry of a map on the wire.
type mapEntry struct {
	// key is the key's JSON name, quoted; the other fields order it.
	str  []byte
	num  int64
	unum uint64
	// val is the value's wire type and bytes (nil: the zero value).
	typ protowire.Type
	val []byte
}

// appendMap appends the JSON object of the map field f, whose first entry
// is at start in the message b (or -1), keys sorted as protojson sorts
// them, the last entry winning for a key sent twice.
func (f *fieldPlan) appendMap(out, b []byte, start, depth int) ([]byte, bool) {
	out = append(out, '{')
	if start < 0 {
		return append(out, '}'), true
	}
	var buf [16]mapEntry
	entries := buf[:0]
	for off := start; off < len(b); {
		num, typ, tl := protowire.ConsumeTag(b[off:])
		vl := protowire.ConsumeFieldValue(num, typ, b[off+tl:])
		if num != f.num {
			off += tl + vl
			continue
		}
		raw, _ := protowire.ConsumeBytes(b[off+tl : off+tl+vl])
		off += tl + vl
		e, ok := f.parseEntry(raw)
		if !ok {
			return out, false
		}
		entries = append(entries, e)
	}
	key := f.key.kind
	slices.SortStableFunc(entries, func(x, y mapEntry) int {
		switch key {
		case protoreflect.StringKind:
			return slices.Compare(x.str, y.str)
		case protoreflect.BoolKind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
			return cmpOrdered(x.unum, y.unum)
		default:
			return cmpOrdered(x.num, y.num)
		}
	})
	first := true
	for i, e := range entries {
		if i+1 < len(entries) && sameKey(key, e, entries[i+1]) {
			// A later entry with the same key replaces this one, unchecked.
			if checked(f.val) {
				return out, false
			}
			continue
		}
		if !first {
			out = appendComma(out)
		}
		first = false
		var ok bool
		switch key {
		case protoreflect.StringKind:
			if out, ok = appendJSONString(out, e.str); !ok {
				return out, false
			}
		case protoreflect.BoolKind:
			if e.unum != 0 {
				out = append(out, `"true"`...)
			} else {
				out = append(out, `"false"`...)
			}
		case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
			out = appendQuoted(strconv.AppendUint(append(out, '"'), e.unum, 10))
		default:
			out = appendQuoted(strconv.AppendInt(append(out, '"'), e.num, 10))
		}
		out = append(out, ':')
		if e.val == nil {
			if f.val.kind == protoreflect.MessageKind {
				out, ok = f.val.msg.appendJSON(out, nil, depth+1)
			} else {
				out, ok = f.val.appendZero(out), true
			}
		} else {
			out, _, ok = f.val.appendValue(out, e.typ, e.val, depth)
		}
		if !ok {
			return out, false
		}
	}
	return append(out, '}'), true
}

func cmpOrdered[T int64 | uint64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// sameKey reports whether two entries have the same key.
func sameKey(k protoreflect.Kind, x, y mapEntry) bool {
	switch k {
	case protoreflect.StringKind:
		return string(x.str) == string(y.str)
	case protoreflect.BoolKind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return x.unum == y.unum
	default:
		return x.num == y.num
	}
}

// parseEntry decodes a map entry's key and finds its value.
func (f *fieldPlan) parseEntry(b []byte) (mapEntry, bool) {
	var e mapEntry
	for off := 0; off < len(b); {
		num, typ, v, next, valid := nextField(b, off)
		if !valid {
			return e, false
		}
		off = next
		switch num {
		case 1:
			if typ != wireTypeOf(f.key.kind) {
				return e, false
			}
			if !f.key.decodeKey(&e, v) {
				return e, false
			}
		case 2:
			if !f.val.wireTypeOK(typ) || f.val.list {
				return e, false
			}
			if checked(f.val) && e.val != nil {
				return e, false // sent twice: merged, or the first one unchecked
			}
			e.typ, e.val = typ, v
		}
	}
	return e, true
}

// decodeKey decodes a map key of f's kind into e.
func (f *fieldPlan) decodeKey(e *mapEntry, b []byte) bool {
	switch f.kind {
	case protoreflect.StringKind:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 || !utf8.Valid(v) {
			return false
		}
		e.str = v
		return true
	case protoreflect.Fixed32Kind:
		v, n := protowire.ConsumeFixed32(b)
		e.unum = uint64(v)
		return n >= 0
	case protoreflect.Sfixed32Kind:
		v, n := protowire.ConsumeFixed32(b)
		e.num = int64(int32(v))
		return n >= 0
	case protoreflect.Fixed64Kind:
		v, n := protowire.ConsumeFixed64(b)
		e.unum = v
		return n >= 0
	case protoreflect.Sfixed64Kind:
		v, n := protowire.ConsumeFixed64(b)
		e.num = int64(v)
		return n >= 0
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return false
	}
	switch f.kind {
	case protoreflect.BoolKind:
		// Assigned either way: a key sent twice is the last one.
		e.unum = 0
		if v != 0 {
			e.unum = 1
		}
	case protoreflect.Int32Kind:
		e.num = int64(int32(v))
	case protoreflect.Sint32Kind:
		e.num = int64(int32(protowire.DecodeZigZag(v & math.MaxUint32)))
	case protoreflect.Uint32Kind:
		e.unum = uint64(uint32(v))
	case protoreflect.Int64Kind:
		e.num = int64(v)
	case protoreflect.Sint64Kind:
		e.num = protowire.DecodeZigZag(v)
	case protoreflect.Uint64Kind:
		e.unum = v
	default:
		return false
	}
	return true
}

// appendJSONString appends s as a JSON string, escaped as protojson
// escapes it, or reports false if s is not valid UTF-8.
func appendJSONString(out, s []byte) ([]byte, bool) {
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				return out, false
			}
			out = append(out, s[i:i+n]...)
			i += n
			continue
		}
		i++
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c >= ' ':
			out = append(out, c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u')
			out = append(out, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			out = strconv.AppendUint(out, uint64(c), 16)
		}
	}
	return append(out, '"'), true
}

// appendFloat appends a float as protojson writes it: the special values
// as the strings "NaN", "Infinity" and "-Infinity", the others as
// encoding/json writes them.
func appendFloat(out []byte, n float64, bitSize int) []byte {
	switch {
	case math.IsNaN(n):
		return append(out, `"NaN"`...)
	case math.IsInf(n, +1):
		return append(out, `"Infinity"`...)
	case math.IsInf(n, -1):
		return append(out, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 {
		if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	out = strconv.AppendFloat(out, n, format, -1, bitSize)
	if format == 'e' {
		n := len(out)
		if n >= 4 && out[n-4] == 'e' && out[n-3] == '-' && out[n-2] == '0' {
			out[n-2] = out[n-1]
			out = out[:n-1]
		}
	}
	return out
}

// nextField reads the field that starts at b[off]: its number, wire type
// and value (without the tag), and where the next field starts. valid is
// false when the bytes there are not a well-formed field.
func nextField(b []byte, off int) (num protowire.Number, typ protowire.Type, v []byte, next int, valid bool) {
	num, typ, tl := protowire.ConsumeTag(b[off:])
	if tl < 0 || num > protowire.MaxValidNumber {
		return 0, 0, nil, 0, false
	}
	vl := protowire.ConsumeFieldValue(num, typ, b[off+tl:])
	if vl < 0 {
		return 0, 0, nil, 0, false
	}
	return num, typ, b[off+tl : off+tl+vl], off + tl + vl, true
}
