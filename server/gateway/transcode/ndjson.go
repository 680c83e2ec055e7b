package transcode

import (
	"errors"
	"fmt"
	"io"
)

// ndjsonChunk is how much of a streamed request body is read at a time.
const ndjsonChunk = 32 << 10

// errValueTooLarge is what jsonValues.Next returns (wrapped, with the
// limit) for a value longer than the limit.
var errValueTooLarge = errors.New("a message of the request stream is larger than the limit")

// jsonValues splits a request body into the JSON values it holds one after
// the other, as grpc-gateway's generated handlers of client-streaming and
// bidirectional methods read it (encoding/json's Decoder on the body):
// values separated by optional JSON white space, usually one per line
// (newline-delimited JSON), but also concatenated ({"a":1}{"a":2}) or
// spread over several lines.
//
// It only finds where each value ends (brackets, strings and escapes);
// what a value holds is checked by the protojson decoder it is handed to.
// A value may not be longer than the limit, so that one stream holds at
// most the limit plus one read of the body in memory however long it
// runs.
type jsonValues struct {
	r     io.Reader
	limit int
	buf   []byte // read, not yet returned
	err   error  // the reader's error, once it returned one
}

// newJSONValues returns the values of r, each at most limit bytes.
func newJSONValues(r io.Reader, limit int64) *jsonValues {
	if limit <= 0 || limit > int64(^uint(0)>>1) {
		limit = int64(^uint(0) >> 1)
	}
	return &jsonValues{r: r, limit: int(limit)}
}

// Next returns the next value, valid until the following call. It returns
// io.EOF at the end of the body (white space only after the last value),
// io.ErrUnexpectedEOF for a body that ends inside a value, an error
// wrapping errValueTooLarge for a value over the limit, an error naming
// the character for a value that cannot start with it, and the reader's
// own errors.
func (s *jsonValues) Next() ([]byte, error) {
	// Skip white space, dropping it from the buffer.
	for {
		i := 0
		for i < len(s.buf) && isJSONSpace(s.buf[i]) {
			i++
		}
		s.buf = s.buf[i:]
		if len(s.buf) > 0 {
			break
		}
		if s.err != nil {
			return nil, s.endErr(false)
		}
		s.fill()
	}
	switch c := s.buf[0]; c {
	case '}', ']', ',', ':':
		return nil, fmt.Errorf("invalid character %q looking for beginning of value", c)
	}
	sc := valueScanner{}
	scanned := 0
	for {
		end, done := sc.scan(s.buf, scanned)
		if done {
			if end > s.limit {
				return nil, fmt.Errorf("%w of %d bytes", errValueTooLarge, s.limit)
			}
			v := s.buf[:end]
			s.buf = s.buf[end:]
			return v, nil
		}
		scanned = len(s.buf)
		if scanned > s.limit {
			return nil, fmt.Errorf("%w of %d bytes", errValueTooLarge, s.limit)
		}
		if s.err != nil {
			if sc.atEOFComplete() {
				// A number or literal that the body ends with.
				v := s.buf
				s.buf = nil
				return v, nil
			}
			return nil, s.endErr(true)
		}
		s.fill()
	}
}

// endErr is the error at the end of the body: io.EOF, or
// io.ErrUnexpectedEOF inside a value; a read error as it is.
func (s *jsonValues) endErr(inValue bool) error {
	if errors.Is(s.err, io.EOF) {
		if inValue {
			return io.ErrUnexpectedEOF
		}
		return io.EOF
	}
	return s.err
}

// fill reads more of the body into buf. When the buffer is full, the
// unreturned bytes move to a new one, twice as large (as a value grows)
// but never much larger than the limit plus one read.
func (s *jsonValues) fill() {
	if cap(s.buf)-len(s.buf) < ndjsonChunk {
		size := max(2*len(s.buf), ndjsonChunk)
		size = min(size, s.limit+1) + ndjsonChunk
		grown := make([]byte, len(s.buf), size)
		copy(grown, s.buf)
		s.buf = grown
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.err = err
	}
}

// isJSONSpace reports whether c is JSON white space.
func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// valueScanner finds the end of one JSON value, fed the growing buffer
// that starts with it. It keeps its state between calls, so every byte is
// looked at once.
type valueScanner struct {
	depth    int  // open objects and arrays
	inString bool // inside a string
	escaped  bool // after a backslash inside a string
	started  bool // the first byte was looked at
	scalar   bool // the value is a number or a literal (true, false, null)
}

// scan looks at buf[from:] and returns the length of the value and true
// once it ends in buf.
func (v *valueScanner) scan(buf []byte, from int) (int, bool) {
	for i := from; i < len(buf); i++ {
		c := buf[i]
		if !v.started {
			v.started = true
			switch c {
			case '{', '[':
				v.depth = 1
			case '"':
				v.inString = true
			default:
				v.scalar = true
			}
			continue
		}
		switch {
		case v.scalar:
			// A number or literal ends at white space or a character that
			// cannot be part of it (encoding/json stops there too).
			if isJSONSpace(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"' {
				return i, true
			}
		case v.inString:
			switch {
			case v.escaped:
				v.escaped = false
			case c == '\\':
				v.escaped = true
			case c == '"':
				v.inString = false
				if v.depth == 0 {
					return i + 1, true
				}
			}
		case c == '"':
			v.inString = true
		case c == '{' || c == '[':
			v.depth++
		case c == '}' || c == ']':
			v.depth--
			if v.depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// atEOFComplete reports whether the value is complete if the body ends
// here: a number or literal has no closing character.
func (v *valueScanner) atEOFComplete() bool { return v.started && v.scalar }
