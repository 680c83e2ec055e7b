package h2relay

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// decodeBlock decodes one block with d, as a peer would.
func decodeBlock(t testing.TB, d *hpack.Decoder, block []byte) []hpack.HeaderField {
	t.Helper()
	fields, err := d.DecodeFull(block)
	if err != nil {
		t.Fatalf("decoding %x: %v", block, err)
	}
	return fields
}

// TestStaticTable checks the static table and staticIndex against x/net's
// decoder: index i decodes to entry i, and every static name and value
// maps to an entry of that name.
func TestStaticTable(t *testing.T) {
	d := hpack.NewDecoder(4096, nil)
	for i, want := range staticTable {
		got := decodeBlock(t, d, appendVarInt(nil, 7, 0x80, uint64(i+1)))
		if len(got) != 1 || got[0].Name != want.name || got[0].Value != want.value {
			t.Errorf("index %d: x/net decodes %v, the table says %q: %q", i+1, got, want.name, want.value)
		}
		for _, value := range []string{want.value, "other"} {
			idx, full := staticIndex(want.name, value)
			if idx == 0 || staticTable[idx-1].name != want.name {
				t.Errorf("staticIndex(%q, %q) = %d: not that name", want.name, value, idx)
				continue
			}
			if full != (staticTable[idx-1].value == value) {
				t.Errorf("staticIndex(%q, %q) = %d, %v", want.name, value, idx, full)
			}
		}
	}
	for _, name := range []string{"te", "grpc-timeout", "x-request-id", "grpc-status", "x"} {
		if idx, _ := staticIndex(name, ""); idx != 0 {
			t.Errorf("staticIndex(%q) = %d, want 0", name, idx)
		}
	}
}

// grpcRequest is a request block as a relay sends it: stable fields and
// per-call values.
func grpcRequest(call int, method string) []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: method},
		{Name: ":authority", Value: "127.0.0.1:50051"},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "user-agent", Value: "grpc-go/1.85.0"},
		{Name: "te", Value: "trailers"},
		{Name: "grpc-timeout", Value: strconv.Itoa(999000+call) + "u"},
		{Name: "x-request-id", Value: fmt.Sprintf("%032x", call*7919)},
		{Name: "x-forwarded-for", Value: "10.0.0.7"},
		{Name: "authorization", Value: "Bearer token-of-the-client", Sensitive: true},
		{Name: "traceparent", Value: fmt.Sprintf("00-%032x-%016x-01", call, call)},
	}
}

// TestHPACKEncoder encodes calls, responses and trailers with one encoder
// and decodes them with x/net's decoder, as the peer's: every block
// decodes to its fields, and once the first call has indexed the stable
// fields, the per-call values add nothing to the table (it does not churn)
// and a request block shrinks to the per-call values and a byte per
// stable field.
func TestHPACKEncoder(t *testing.T) {
	e := newHPACKEncoder()
	d := hpack.NewDecoder(4096, nil)
	var firstLen, added int
	for call := range 200 {
		method := "/grpc.testing.TestService/UnaryCall"
		if call%3 == 1 {
			method = "/grpc.testing.TestService/EmptyCall"
		}
		blocks := [][]hpack.HeaderField{
			grpcRequest(call, method),
			{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}, {Name: "x-request-id", Value: strconv.Itoa(call)}},
			{{Name: "grpc-status", Value: "0"}},
		}
		if call%10 == 9 {
			blocks[2] = []hpack.HeaderField{{Name: "grpc-status", Value: "5"}, {Name: "grpc-message", Value: "no book " + strconv.Itoa(call)}}
		}
		for i, fields := range blocks {
			block := e.appendBlock(nil, fields)
			if got := decodeBlock(t, d, block); !slices.Equal(got, fields) {
				t.Fatalf("call %d, block %d: decoded\n%v\nwant\n%v", call, i, got, fields)
			}
			if i == 0 && call == 0 {
				firstLen = len(block)
			}
			if i == 0 && call == 5 {
				// Per-call values: the timeout (7), request ID (33) and
				// trace context (56) with a byte or two of name each; the
				// authorization header is never indexed (30); one byte
				// for each other field.
				if max := 7 + 33 + 56 + 30 + 8 + 3*2; len(block) > max {
					t.Errorf("request block of call %d: %d bytes (the first was %d), want at most %d", call, len(block), firstLen, max)
				}
			}
		}
		if call == 9 {
			added = int(e.added) // every kind of block was seen
		}
	}
	if int(e.added) != added {
		t.Errorf("entries added after call 9: %d, want none (per-call values churn the table)", int(e.added)-added)
	}
}

// TestHPACKEncoderTableSize lowers the peer's table size mid-connection:
// the next block starts with the size update and the entries evicted to
// fit it are not referred to; a limit of zero indexes nothing.
func TestHPACKEncoderTableSize(t *testing.T) {
	for _, limit := range []uint32{0, 100, 200, 4096, 8192} {
		t.Run(strconv.Itoa(int(limit)), func(t *testing.T) {
			e := newHPACKEncoder()
			d := hpack.NewDecoder(4096, nil)
			for call := range 20 {
				if call == 5 {
					e.setLimit(limit)
					d.SetAllowedMaxDynamicTableSize(limit)
				}
				fields := grpcRequest(call, "/s.S/M"+strconv.Itoa(call%4))
				block := e.appendBlock(nil, fields)
				if call == 5 && limit < defaultTableSize && block[0]&0xe0 != 0x20 {
					t.Errorf("block after the limit fell to %d starts with %#x, not a size update", limit, block[0])
				}
				if got := decodeBlock(t, d, block); !slices.Equal(got, fields) {
					t.Fatalf("call %d: decoded\n%v\nwant\n%v", call, got, fields)
				}
				if e.size > e.maxSize || e.maxSize > e.limit {
					t.Fatalf("table size %d, maximum %d, limit %d", e.size, e.maxSize, e.limit)
				}
			}
		})
	}
}

// FuzzHPACKEncoder encodes blocks made from the input with one encoder,
// changing the peer's table size now and then, and decodes them with
// x/net's decoder, which must see the same fields.
func FuzzHPACKEncoder(f *testing.F) {
	f.Add([]byte("\x00\x01grpc-timeout\x02100m\x03:path\x04/a/b\xff\x05x-request-id\x06abc"))
	f.Add([]byte("\x10\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xfe\x00"))
	names := []string{":method", ":path", ":authority", ":status", ":scheme", "content-type", "user-agent", "te",
		"grpc-timeout", "x-request-id", "traceparent", "grpc-message", "grpc-status", "authorization",
		"accept-charset", "x-forwarded-for", "custom-key", "custom-bin", "date", "www-authenticate"}
	f.Fuzz(func(t *testing.T, in []byte) {
		e := newHPACKEncoder()
		d := hpack.NewDecoder(4096, nil)
		d.SetMaxStringLength(1 << 16)
		var fields []hpack.HeaderField
		flush := func() {
			block := e.appendBlock(nil, fields)
			got, err := d.DecodeFull(block)
			if err != nil {
				t.Fatalf("decoding %x (fields %v): %v", block, fields, err)
			}
			if len(got) == 0 && len(fields) == 0 {
				return
			}
			if !slices.Equal(got, fields) {
				t.Fatalf("decoded\n%v\nwant\n%v", got, fields)
			}
			fields = fields[:0]
		}
		for len(in) >= 2 {
			op, arg := in[0], in[1]
			in = in[2:]
			switch {
			case op == 0xff:
				flush()
			case op == 0xfe:
				flush()
				limit := uint32(arg) * 32
				e.setLimit(limit)
				d.SetAllowedMaxDynamicTableSize(limit)
			default:
				n := min(int(arg), len(in))
				value := string(in[:n])
				in = in[n:]
				fields = append(fields, hpack.HeaderField{Name: names[int(op)%len(names)], Value: value, Sensitive: op&0x80 != 0})
			}
		}
		flush()
	})
}

// BenchmarkHeaderBlock encodes a relayed request's header block, as
// after the first call on a connection.
func BenchmarkHeaderBlock(b *testing.B) {
	for _, tc := range []struct {
		name   string
		encode func([]hpack.HeaderField) []byte
	}{
		{"x-net", func() func([]hpack.HeaderField) []byte {
			var buf []byte
			w := &sliceWriter{&buf}
			enc := hpack.NewEncoder(w)
			return func(fields []hpack.HeaderField) []byte {
				buf = buf[:0]
				for _, f := range fields {
					_ = enc.WriteField(f)
				}
				return buf
			}
		}()},
		{"relay", func() func([]hpack.HeaderField) []byte {
			var buf []byte
			e := newHPACKEncoder()
			return func(fields []hpack.HeaderField) []byte {
				buf = e.appendBlock(buf[:0], fields)
				return buf
			}
		}()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			calls := make([][]hpack.HeaderField, 64)
			for i := range calls {
				calls[i] = grpcRequest(i, "/grpc.testing.TestService/UnaryCall")
			}
			i := 0
			var n int
			for b.Loop() {
				n += len(tc.encode(calls[i%len(calls)]))
				i++
			}
			b.ReportMetric(float64(n)/float64(i), "bytes/block")
		})
	}
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// TestHPACKEncoderIndex checks the encoder's indexes against a scan of its
// table while fields come and go: many names and values (more than the
// table holds, so entries are evicted, and more than the buckets, so
// chains form), repeated names with other values, a limit lowered and
// raised. The newest entry of each field and of each name is found, and
// nothing that left the table is.
func TestHPACKEncoderIndex(t *testing.T) {
	e := newHPACKEncoder()
	d := hpack.NewDecoder(4096, nil)
	check := func(step int, name, value string) {
		t.Helper()
		var wantField, wantName uint64
		for i := len(e.ents) - 1; i >= 0; i-- {
			ent := e.ents[i]
			if wantField == 0 && ent.name == name && ent.value == value {
				wantField = ent.id
			}
			if wantName == 0 && ent.name == name {
				wantName = ent.id
			}
		}
		if got := e.findField(name, value); got != wantField {
			t.Fatalf("step %d: findField(%q, %q) = %d, want %d", step, name, value, got, wantField)
		}
		if got := e.findName(name); got != wantName {
			t.Fatalf("step %d: findName(%q) = %d, want %d", step, name, got, wantName)
		}
	}
	for step := range 3000 {
		switch step {
		case 1000:
			e.setLimit(300)
			d.SetAllowedMaxDynamicTableSize(300)
		case 1500:
			e.setLimit(defaultTableSize)
			d.SetAllowedMaxDynamicTableSize(defaultTableSize)
		}
		name := "x-key-" + strconv.Itoa(step%37)
		value := strings.Repeat("v", step%5) + strconv.Itoa(step*7919%211)
		fields := []hpack.HeaderField{{Name: name, Value: value}, {Name: ":path", Value: "/s.S/M" + strconv.Itoa(step%97)}}
		block := e.appendBlock(nil, fields)
		if got := decodeBlock(t, d, block); !slices.Equal(got, fields) {
			t.Fatalf("step %d: decoded\n%v\nwant\n%v", step, got, fields)
		}
		for _, f := range fields {
			check(step, f.Name, f.Value)
		}
		check(step, "x-key-"+strconv.Itoa((step+5)%41), strconv.Itoa(step%211))
	}
}
