package transcode

import (
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The ranges protojson accepts for Timestamp and Duration.
const (
	minTimestampSeconds  = -62135596800 // 0001-01-01T00:00:00Z
	maxTimestampSeconds  = 253402300799 // 9999-12-31T23:59:59Z
	maxDurationSeconds   = 315576000000 // 10,000 years
	maxNanos             = 999999999
	timestampFormat      = "2006-01-02T15:04:05.000000000"
	wrapperValueFieldNum = 1
)

// appendWKT appends the JSON form of a well-known type with a form of its
// own, from its wire form b, as protojson writes it, or reports false
// (invalid wire data, a value protojson refuses to write).
func (p *msgPlan) appendWKT(out, b []byte) ([]byte, bool) {
	if p.wkt == wktWrapper {
		var f *fieldPlan
		if len(p.fields) == 1 {
			f = p.fields[0]
		}
		if f == nil || f.num != wrapperValueFieldNum {
			return out, false
		}
		var at []byte
		var typ protowire.Type
		for off := 0; off < len(b); {
			num, t, v, next, valid := nextField(b, off)
			if !valid {
				return out, false
			}
			if num == wrapperValueFieldNum {
				if t != wireTypeOf(f.kind) || (at != nil && checked(f)) {
					return out, false
				}
				at, typ = v, t
			}
			off = next
		}
		if at == nil {
			return f.appendZero(out), true
		}
		out, _, ok := f.appendValue(out, typ, at, 0)
		return out, ok
	}

	// Timestamp and Duration: seconds (1, int64) and nanos (2, int32).
	var secs, nanos int64
	for off := 0; off < len(b); {
		num, t, raw, next, valid := nextField(b, off)
		if !valid {
			return out, false
		}
		if num == 1 || num == 2 {
			if t != protowire.VarintType {
				return out, false
			}
			v, _ := protowire.ConsumeVarint(raw)
			if num == 1 {
				secs = int64(v)
			} else {
				nanos = int64(int32(v))
			}
		}
		off = next
	}
	out = append(out, '"')
	start := len(out)
	switch p.wkt {
	case wktTimestamp:
		if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos > maxNanos {
			return out, false
		}
		out = time.Unix(secs, nanos).UTC().AppendFormat(out, timestampFormat)
		out = trimFraction(out, start)
		out = append(out, 'Z')
	case wktDuration:
		if secs < -maxDurationSeconds || secs > maxDurationSeconds || nanos < -maxNanos || nanos > maxNanos ||
			(secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
			return out, false
		}
		if secs < 0 || nanos < 0 {
			out = append(out, '-')
			secs, nanos = -secs, -nanos
		}
		out = appendUint(out, uint64(secs))
		out = append(out, '.')
		for d := int64(100000000); d > 0; d /= 10 {
			out = append(out, byte('0'+nanos/d%10))
		}
		out = trimFraction(out, start)
		out = append(out, 's')
	default:
		return out, false
	}
	return append(out, '"'), true
}

func appendUint(out []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(out, buf[i:]...)
}

// trimFraction shortens the nine fractional digits at the end of out (from
// start) to six, three or none, as protojson does: the trailing "000"
// twice, then ".000".
func trimFraction(out []byte, start int) []byte {
	for range 2 {
		if n := len(out); n-start >= 3 && string(out[n-3:]) == "000" {
			out = out[:n-3]
		}
	}
	if n := len(out); n-start >= 4 && string(out[n-4:]) == ".000" {
		out = out[:n-4]
	}
	return out
}

// wkt appends the wire form of a well-known type with a JSON form of its
// own, read as protojson reads it, or reports false.
func (d *fastDecoder) wkt(out []byte, p *msgPlan) ([]byte, bool) {
	if p.wkt == wktWrapper {
		if len(p.fields) != 1 || p.fields[0].num != wrapperValueFieldNum {
			return out, false
		}
		f := p.fields[0]
		out = protowire.AppendTag(out, f.num, wireTypeOf(f.kind))
		return d.scalar(out, f)
	}
	s, ok := d.str()
	if !ok {
		return out, false
	}
	var secs, nanos int64
	switch p.wkt {
	case wktTimestamp:
		// What protojson accepts: time.Parse's RFC 3339 with at most nine
		// fractional digits, within the years 1 to 9999.
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			return out, false
		}
		secs, nanos = t.Unix(), int64(t.Nanosecond())
		if secs < minTimestampSeconds || secs > maxTimestampSeconds {
			return out, false
		}
		dot, zone := -1, -1
		for i, c := range s {
			switch c {
			case '.':
				dot = i
			case 'Z', '-', '+':
				zone = i
			}
		}
		if dot >= 0 && zone >= dot && zone-dot > len(".999999999") {
			return out, false
		}
	case wktDuration:
		if secs, nanos, ok = parseDuration(s); !ok {
			return out, false
		}
	default:
		return out, false
	}
	if secs != 0 {
		out = protowire.AppendTag(out, 1, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(secs))
	}
	if nanos != 0 {
		out = protowire.AppendTag(out, 2, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(nanos))
	}
	return out, true
}

// parseDuration parses the usual forms of a Duration, -?(0|[1-9][0-9]*)
// with up to nine fractional digits and an "s", into what protojson makes
// of them; it refuses the rarer forms protojson also takes ("+1s", ".5s",
// "1.s"), which are left to it.
func parseDuration(s []byte) (secs, nanos int64, ok bool) {
	if len(s) < 2 || s[len(s)-1] != 's' {
		return 0, 0, false
	}
	s = s[:len(s)-1]
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if secs = secs*10 + int64(s[i]-'0'); secs > maxDurationSeconds {
			return 0, 0, false
		}
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, 0, false
	}
	if i < len(s) {
		if s[i] != '.' || len(s)-i-1 < 1 || len(s)-i-1 > 9 {
			return 0, 0, false
		}
		scale := int64(100000000)
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				return 0, 0, false
			}
			nanos += int64(c-'0') * scale
			scale /= 10
		}
	}
	if secs > maxDurationSeconds {
		return 0, 0, false
	}
	if neg {
		secs, nanos = -secs, -nanos
	}
	return secs, nanos, true
}
