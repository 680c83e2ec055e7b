package transcode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// values reads every value of r with jsonValues.
func values(r io.Reader, limit int64) ([]string, error) {
	s := newJSONValues(r, limit)
	var out []string
	for {
		v, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(v))
	}
}

func TestJSONValues(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int64
		want  []string
		err   string
	}{
		{name: "empty", in: ""},
		{name: "white space", in: " \n\t\r\n"},
		{name: "lines", in: "{\"a\":1}\n{\"b\":[2,{\"c\":\"}\"}]}\n", want: []string{`{"a":1}`, `{"b":[2,{"c":"}"}]}`}},
		{name: "concatenated", in: `{}{"a":"\"}"}[]`, want: []string{`{}`, `{"a":"\"}"}`, `[]`}},
		{name: "spread", in: "\n{\n\"a\"\n:\n1\n}\n", want: []string{"{\n\"a\"\n:\n1\n}"}},
		{name: "scalars", in: `1 "x"null -2.5e3`, want: []string{`1`, `"x"`, `null`, `-2.5e3`}},
		{name: "escaped backslash", in: `{"a":"\\"}{}`, want: []string{`{"a":"\\"}`, `{}`}},
		{name: "truncated object", in: `{"a":1`, err: "unexpected EOF"},
		{name: "truncated string", in: `"abc`, err: "unexpected EOF"},
		{name: "stray bracket", in: `{} }`, want: []string{`{}`}, err: "invalid character '}'"},
		{name: "at the limit", in: `{"a":"xx"} {"a":"y"}`, limit: 10, want: []string{`{"a":"xx"}`, `{"a":"y"}`}},
		{name: "over the limit", in: `{"a":"y"} {"a":"xxx"}`, limit: 10, want: []string{`{"a":"y"}`}, err: "larger than the limit"},
		{name: "scalar over the limit", in: `12345678901`, limit: 10, err: "larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 20
			}
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := values(r, limit)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("values (-want +got):\n%s", diff)
				}
				if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
			}
		})
	}
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestJSONValuesBoundedMemory: a value over the limit is refused without
// reading much past the limit.
func TestJSONValuesBoundedMemory(t *testing.T) {
	const limit = 64 << 10
	r := &countingReader{r: io.MultiReader(strings.NewReader(`{"a":"`), strings.NewReader(strings.Repeat("x", 10<<20)))}
	s := newJSONValues(r, limit)
	if _, err := s.Next(); !errors.Is(err, errValueTooLarge) {
		t.Fatalf("error %v", err)
	}
	if r.n > limit+2*ndjsonChunk {
		t.Errorf("read %d bytes for a limit of %d", r.n, limit)
	}
	if c := cap(s.buf); c > limit+2*ndjsonChunk {
		t.Errorf("buffer of %d bytes for a limit of %d", c, limit)
	}
}

// FuzzJSONValues splits arbitrary bodies into values. It must never panic
// or return a value over the limit, and for a body that encoding/json's
// Decoder (what grpc-gateway reads request streams with) reads as a
// sequence of JSON objects, it must return exactly those objects.
func FuzzJSONValues(f *testing.F) {
	for _, seed := range []string{
		"", "{}", "{}\n{}", `{"a":"\"}"}{"b":[1,{}]}`, "{\n}\n\n{ }", `{"a":1`, `{} }`, `1 2`, `"a""b"`, `truefalse`,
		`{"a":"\\"}`, `[{"a":[]}]`, "\xff{}", `{"a":"\u00e9"}` + "\r\n",
	} {
		f.Add([]byte(seed), uint16(0))
		f.Add([]byte(seed), uint16(5))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		lim := int64(limit)
		if lim == 0 {
			lim = 1 << 20
		}
		got, err := values(iotest.HalfReader(bytes.NewReader(body)), lim)
		for _, v := range got {
			if int64(len(v)) > lim {
				t.Fatalf("value of %d bytes, limit %d", len(v), lim)
			}
		}
		var want []string
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var raw json.RawMessage
			derr := dec.Decode(&raw)
			if errors.Is(derr, io.EOF) {
				break
			}
			if derr != nil || raw[0] != '{' {
				return // not a stream of objects: any error will do
			}
			want = append(want, string(raw))
		}
		if limit != 0 {
			for _, v := range want {
				if int64(len(v)) > lim {
					return // refused for its size
				}
			}
		}
		if err != nil {
			t.Fatalf("error %v on a stream of objects %q", err, want)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("values (-encoding/json +ours):\n%s", diff)
		}
	})
}

// BenchmarkJSONValues splits 100 messages of about 1 KB, against
// encoding/json's Decoder (what grpc-gateway splits request streams with).
func BenchmarkJSONValues(b *testing.B) {
	body := strings.Repeat(`{"chunk":"`+strings.Repeat("QUJD", 256)+`","n":{"a":[1,2,"x\"y"]}}`+"\n", 100)
	b.Run("tollgate", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			s := newJSONValues(strings.NewReader(body), 1<<20)
			for {
				if _, err := s.Next(); err != nil {
					break
				}
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			d := json.NewDecoder(strings.NewReader(body))
			for {
				var raw json.RawMessage
				if err := d.Decode(&raw); err != nil {
					break
				}
			}
		}
	})
}
