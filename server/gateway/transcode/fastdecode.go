package transcode

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// appendWire appends the wire form of the JSON message in (one JSON object,
// white space around it allowed) of type p to out, or reports false if the
// fast path does not take in exactly as protojson would (see fastplan.go):
// the caller then decodes in with protojson instead, which also gives the
// error for bad input.
func (p *msgPlan) appendWire(out, in []byte) ([]byte, bool) {
	d := fastDecoder{in: in}
	out, ok := d.message(out, p, 0)
	if !ok {
		return out, false
	}
	d.ws()
	return out, d.pos == len(d.in)
}

// fastDecoder reads request JSON.
type fastDecoder struct {
	in  []byte
	pos int
	// scratch holds the last string that had escapes, unescaped.
	scratch []byte
	// bytesBuf holds decoded base64.
	bytesBuf []byte
}

// ws skips JSON white space.
func (d *fastDecoder) ws() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

// consume skips c if it comes next (after white space).
func (d *fastDecoder) consume(c byte) bool {
	d.ws()
	if d.pos < len(d.in) && d.in[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// literal skips the literal lit if it comes next.
func (d *fastDecoder) literal(lit string) bool {
	if len(d.in)-d.pos >= len(lit) && string(d.in[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// message appends the fields of the JSON object at d's position.
func (d *fastDecoder) message(out []byte, p *msgPlan, depth int) ([]byte, bool) {
	if depth > maxFastDepth || len(p.fields) > 64 || p.oneofs > 64 {
		return out, false
	}
	if p.wkt != wktNone {
		return d.wkt(out, p)
	}
	if !d.consume('{') {
		return out, false
	}
	if d.consume('}') {
		return out, true
	}
	var seen, oneofs uint64
	for {
		d.ws()
		name, ok := d.str()
		if !ok {
			return out, false
		}
		f := p.byName[string(name)]
		if f == nil || seen&(1<<f.index) != 0 {
			return out, false // unknown or duplicate: protojson's error
		}
		seen |= 1 << f.index
		if !d.consume(':') {
			return out, false
		}
		d.ws()
		if !d.literal("null") {
			if f.oneof >= 0 {
				if oneofs&(1<<f.oneof) != 0 {
					return out, false
				}
				oneofs |= 1 << f.oneof
			}
			if out, ok = d.field(out, f, depth); !ok {
				return out, false
			}
		}
		if d.consume(',') {
			continue
		}
		return out, d.consume('}')
	}
}

// field appends the value of f at d's position (not null).
func (d *fastDecoder) field(out []byte, f *fieldPlan, depth int) ([]byte, bool) {
	switch {
	case f.isMap:
		return d.mapValue(out, f, depth)
	case f.list:
		if !d.consume('[') {
			return out, false
		}
		if d.consume(']') {
			return out, true
		}
		start := -1
		if f.packed {
			out = protowire.AppendTag(out, f.num, protowire.BytesType)
			start = len(out)
			out = append(out, 0)
		}
		for {
			d.ws()
			var ok bool
			if f.packed {
				out, ok = d.scalar(out, f)
			} else {
				out, ok = d.value(out, f, f.num, depth)
			}
			if !ok {
				return out, false
			}
			if d.consume(',') {
				continue
			}
			if !d.consume(']') {
				return out, false
			}
			if f.packed {
				out = finishLength(out, start)
			}
			return out, true
		}
	default:
		return d.value(out, f, f.num, depth)
	}
}

// value appends one value of f as field num: tag and value.
func (d *fastDecoder) value(out []byte, f *fieldPlan, num protowire.Number, depth int) ([]byte, bool) {
	out = protowire.AppendTag(out, num, wireTypeOf(f.kind))
	if f.kind != protoreflect.MessageKind {
		return d.scalar(out, f)
	}
	start := len(out)
	out = append(out, 0)
	out, ok := d.message(out, f.msg, depth+1)
	if !ok {
		return out, false
	}
	return finishLength(out, start), true
}

// finishLength writes the length of what follows out[start] (a one-byte
// placeholder) as a varint in its place.
func finishLength(out []byte, start int) []byte {
	n := len(out) - start - 1
	if n < 0x80 {
		out[start] = byte(n)
		return out
	}
	size := protowire.SizeVarint(uint64(n))
	for range size - 1 {
		out = append(out, 0)
	}
	copy(out[start+size:], out[start+1:start+1+n])
	protowire.AppendVarint(out[start:start], uint64(n))
	return out
}

// mapKey is a map key seen, to find duplicates (an error for protojson).
type mapKey struct {
	s string
	n int64
}

// mapValue appends the entries of the JSON object of map field f.
func (d *fastDecoder) mapValue(out []byte, f *fieldPlan, depth int) ([]byte, bool) {
	if !d.consume('{') {
		return out, false
	}
	if d.consume('}') {
		return out, true
	}
	var keysBuf [16]mapKey
	keys := keysBuf[:0]
	for {
		d.ws()
		name, ok := d.str()
		if !ok {
			return out, false
		}
		out = protowire.AppendTag(out, f.num, protowire.BytesType)
		start := len(out)
		out = append(out, 0)
		var key mapKey
		switch k := f.key.kind; k {
		case protoreflect.StringKind:
			key.s = string(name)
			out = protowire.AppendTag(out, 1, protowire.BytesType)
			out = protowire.AppendBytes(out, name)
		case protoreflect.BoolKind:
			switch string(name) {
			case "true":
				key.n = 1
			case "false":
			default:
				return out, false
			}
			out = protowire.AppendTag(out, 1, protowire.VarintType)
			out = protowire.AppendVarint(out, uint64(key.n))
		default:
			// protojson parses integer keys with strconv, signs and
			// leading zeros allowed.
			signed := k == protoreflect.Int32Kind || k == protoreflect.Sint32Kind || k == protoreflect.Sfixed32Kind ||
				k == protoreflect.Int64Kind || k == protoreflect.Sint64Kind || k == protoreflect.Sfixed64Kind
			bitSize := 64
			if k == protoreflect.Int32Kind || k == protoreflect.Sint32Kind || k == protoreflect.Sfixed32Kind ||
				k == protoreflect.Uint32Kind || k == protoreflect.Fixed32Kind {
				bitSize = 32
			}
			var bits uint64
			if signed {
				n, err := strconv.ParseInt(string(name), 10, bitSize)
				if err != nil {
					return out, false
				}
				key.n, bits = n, uint64(n)
			} else {
				n, err := strconv.ParseUint(string(name), 10, bitSize)
				if err != nil {
					return out, false
				}
				key.n, bits = int64(n), n
			}
			out = protowire.AppendTag(out, 1, wireTypeOf(k))
			out = appendInteger(out, k, bits)
		}
		for _, seen := range keys {
			if seen == key {
				return out, false // duplicate key: protojson's error
			}
		}
		if len(keys) >= 1024 {
			return out, false
		}
		keys = append(keys, key)
		if !d.consume(':') {
			return out, false
		}
		d.ws()
		if d.literal("null") {
			return out, false // an error for protojson
		}
		if out, ok = d.value(out, f.val, 2, depth); !ok {
			return out, false
		}
		out = finishLength(out, start)
		if d.consume(',') {
			continue
		}
		return out, d.consume('}')
	}
}

// appendInteger appends an integer of kind k (its bits) without the tag.
func appendInteger(out []byte, k protoreflect.Kind, v uint64) []byte {
	switch k {
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.AppendVarint(out, protowire.EncodeZigZag(int64(v)))
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return protowire.AppendFixed32(out, uint32(v))
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return protowire.AppendFixed64(out, v)
	default:
		return protowire.AppendVarint(out, v)
	}
}

// scalar appends one non-message value of f, without its tag.
func (d *fastDecoder) scalar(out []byte, f *fieldPlan) ([]byte, bool) {
	switch k := f.kind; k {
	case protoreflect.BoolKind:
		switch {
		case d.literal("true"):
			return append(out, 1), true
		case d.literal("false"):
			return append(out, 0), true
		}
		return out, false
	case protoreflect.StringKind:
		s, ok := d.str()
		if !ok {
			return out, false
		}
		return protowire.AppendBytes(out, s), true
	case protoreflect.BytesKind:
		s, ok := d.str()
		if !ok {
			return out, false
		}
		// As protojson: URL-safe if it has URL characters, unpadded if its
		// length says so.
		enc := base64.StdEncoding
		if bytes.IndexByte(s, '-') >= 0 || bytes.IndexByte(s, '_') >= 0 {
			enc = base64.URLEncoding
		}
		if len(s)%4 != 0 {
			enc = enc.WithPadding(base64.NoPadding)
		}
		b, err := enc.AppendDecode(d.bytesBuf[:0], s)
		d.bytesBuf = b
		if err != nil {
			return out, false
		}
		return protowire.AppendBytes(out, b), true
	case protoreflect.EnumKind:
		if d.pos < len(d.in) && d.in[d.pos] == '"' {
			s, ok := d.str()
			if !ok {
				return out, false
			}
			n, ok := f.enumByName[string(s)]
			if !ok {
				return out, false // unknown names are errors for protojson
			}
			return protowire.AppendVarint(out, uint64(int64(n))), true
		}
		v, ok := d.integer(true, 32, false)
		if !ok {
			return out, false
		}
		return protowire.AppendVarint(out, v), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bitSize := 64
		if k == protoreflect.FloatKind {
			bitSize = 32
		}
		v, ok := d.float(bitSize)
		if !ok {
			return out, false
		}
		if bitSize == 32 {
			return protowire.AppendFixed32(out, math.Float32bits(float32(v))), true
		}
		return protowire.AppendFixed64(out, math.Float64bits(v)), true
	default:
		signed, bitSize := integerKind(k)
		v, ok := d.integer(signed, bitSize, true)
		if !ok {
			return out, false
		}
		return appendInteger(out, k, v), true
	}
}

// integerKind returns the signedness and size of an integer kind.
func integerKind(k protoreflect.Kind) (signed bool, bitSize int) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return true, 32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return false, 32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return false, 64
	default:
		return true, 64
	}
}

// integer reads a JSON integer, plain or (if quoted) in a string, that
// fits the type: its two's complement bits, sign-extended. Fractions and
// exponents, which protojson takes when the value is integral, are left to
// it.
func (d *fastDecoder) integer(signed bool, bitSize int, quoted bool) (uint64, bool) {
	q := quoted && d.pos < len(d.in) && d.in[d.pos] == '"'
	if q {
		d.pos++
	}
	neg := d.pos < len(d.in) && d.in[d.pos] == '-'
	if neg {
		if !signed {
			return 0, false
		}
		d.pos++
	}
	start := d.pos
	var mag uint64
	for d.pos < len(d.in) && d.in[d.pos] >= '0' && d.in[d.pos] <= '9' {
		digit := uint64(d.in[d.pos] - '0')
		if mag > (math.MaxUint64-digit)/10 {
			return 0, false
		}
		mag = mag*10 + digit
		d.pos++
	}
	digits := d.pos - start
	if digits == 0 || (digits > 1 && d.in[start] == '0') {
		return 0, false
	}
	if d.pos < len(d.in) {
		if c := d.in[d.pos]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	if q {
		if d.pos >= len(d.in) || d.in[d.pos] != '"' {
			return 0, false
		}
		d.pos++
	}
	if !signed {
		if bitSize == 32 && mag > math.MaxUint32 {
			return 0, false
		}
		return mag, true
	}
	limit := uint64(math.MaxInt64)
	if bitSize == 32 {
		limit = math.MaxInt32
	}
	if neg {
		if mag > limit+1 {
			return 0, false
		}
		return -mag, true
	}
	if mag > limit {
		return 0, false
	}
	return mag, true
}

// float reads a JSON number, or a string holding one or "NaN", "Infinity"
// or "-Infinity", as protojson reads floats.
func (d *fastDecoder) float(bitSize int) (float64, bool) {
	if d.pos < len(d.in) && d.in[d.pos] == '"' {
		s, ok := d.str()
		if !ok {
			return 0, false
		}
		switch string(s) {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(+1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
		if n := numberLength(s); n == 0 || n != len(s) {
			return 0, false
		}
		return parseFloat(s, bitSize)
	}
	n := numberLength(d.in[d.pos:])
	if n == 0 {
		return 0, false
	}
	lit := d.in[d.pos : d.pos+n]
	d.pos += n
	return parseFloat(lit, bitSize)
}

// parseFloat parses a valid JSON number literal.
func parseFloat(lit []byte, bitSize int) (float64, bool) {
	// strconv copies the string it is given into any error it returns, so
	// the literal can be passed without a copy.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(lit), len(lit)), bitSize)
	return v, err == nil
}

// numberLength returns the length of the JSON number at the start of b, or
// 0 if there is none.
func numberLength(b []byte) int {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// str reads a JSON string and returns its value, valid UTF-8. The value
// is only valid until the next call.
func (d *fastDecoder) str() ([]byte, bool) {
	if d.pos >= len(d.in) || d.in[d.pos] != '"' {
		return nil, false
	}
	start := d.pos + 1
	// The common case, a string without escapes, found with the vectorised
	// byte searches: the closing quote, then no backslash or control
	// character before it. Otherwise the byte loop below decides, from
	// the first backslash or control character on.
	rest := d.in[start:]
	if q := bytes.IndexByte(rest, '"'); q >= 0 {
		s := rest[:q]
		if bytes.IndexByte(s, '\\') < 0 && !hasControl(s) {
			if !utf8.Valid(s) {
				return nil, false
			}
			d.pos = start + q + 1
			return s, true
		}
	}
	for i := start; i < len(d.in); i++ {
		switch c := d.in[i]; {
		case c == '"':
			s := d.in[start:i]
			if !utf8.Valid(s) {
				return nil, false
			}
			d.pos = i + 1
			return s, true
		case c == '\\':
			return d.escaped(start, i)
		case c < ' ':
			return nil, false
		}
	}
	return nil, false
}

// hasControl reports whether s has a byte below 0x20, eight bytes at a
// time: (x - 0x20…) & ^x & 0x80… is non-zero exactly when some byte of x
// is below 0x20 (a borrow can mark a wrong byte, never a wrong word).
func hasControl(s []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		if (x-0x20*ones)&^x&highs != 0 {
			return true
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < ' ' {
			return true
		}
	}
	return false
}

// escaped reads the rest of a string with escapes, from the first escape
// at i.
func (d *fastDecoder) escaped(start, i int) ([]byte, bool) {
	out := append(d.scratch[:0], d.in[start:i]...)
	for i < len(d.in) {
		c := d.in[i]
		switch {
		case c == '"':
			d.scratch = out
			if !utf8.Valid(out) {
				return nil, false
			}
			d.pos = i + 1
			return out, true
		case c < ' ':
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(d.in) {
			return nil, false
		}
		switch e := d.in[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.in[i+2:])
			if !ok {
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				// Only a valid pair; protojson rejects a lone surrogate.
				if len(d.in) < i+12 || d.in[i+6] != '\\' || d.in[i+7] != 'u' {
					return nil, false
				}
				r2, ok := hex4(d.in[i+8:])
				if !ok {
					return nil, false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

// hex4 decodes the four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
