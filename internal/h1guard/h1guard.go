package h1guard

import (
	"bytes"
	"net"
	"strconv"
	"strings"
)

// Conn is a server-side HTTP/1.x connection that refuses requests with
// both Content-Length and Transfer-Encoding (see the package doc).
type Conn struct {
	net.Conn
	p        parser
	pending  []byte // bytes read but not yet returned (after an insertion)
	onRefuse func()
}

// New returns c guarded. onRefuse (may be nil) is called for each refused
// request, for metrics and logs.
func New(c net.Conn, onRefuse func()) *Conn {
	return &Conn{Conn: c, p: parser{state: stateHead, first: true}, onRefuse: onRefuse}
}

// NetConn returns the guarded connection, as tls.Conn.NetConn does, so that
// what it wraps can still be found.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Buffered returns how many bytes read from the guarded connection are
// still to be returned (after an insertion). While it is not 0, reading
// the connection under NetConn would skip them.
func (c *Conn) Buffered() int { return len(c.pending) }

// malformed is inserted before the blank line that ends an ambiguous head:
// a header line without a colon, which net/http rejects with 400.
const malformed = "x\r\n"

// Read reads from the client, inspecting the framing on the way.
func (c *Conn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.Conn.Read(b)
	if n > 0 && c.p.state != stateOff {
		if at := c.p.scan(b[:n]); at >= 0 {
			if c.onRefuse != nil {
				c.onRefuse()
			}
			// b[:at] goes now, then the malformed line and the rest.
			rest := append([]byte(malformed), b[at:n]...)
			k := copy(b[at:], rest)
			c.pending = rest[k:]
			return at + k, err
		}
	}
	return n, err
}

// Parser states.
const (
	stateHead      = iota // reading a request head, line by line
	stateBody             // skipping remain bytes of a fixed-length body
	stateChunkSize        // reading a chunk-size line
	stateChunkData        // skipping remain bytes of chunk data
	stateChunkEnd         // reading the CRLF after chunk data
	stateTrailer          // reading trailer lines
	stateOff              // no longer inspecting
)

// maxLine bounds a buffered line: past it, net/http refuses the head
// anyway (its header limit is 1 MiB), so inspecting stops.
const maxLine = 1 << 20

// parser follows HTTP/1.x request framing over a byte stream.
type parser struct {
	state  int
	line   []byte
	remain int64

	// The head being read.
	first            bool // the next line is the request line
	cl, te, upgrade  bool
	chunked, clValid bool
	clValue          int64
}

// scan consumes b and returns the index in b of the line feed that ends
// an ambiguous head (after which the parser is off), or -1.
func (p *parser) scan(b []byte) int {
	for i := 0; i < len(b) && p.state != stateOff; {
		switch p.state {
		case stateBody, stateChunkData:
			k := int(min(p.remain, int64(len(b)-i)))
			p.remain -= int64(k)
			i += k
			if p.remain == 0 {
				if p.state == stateBody {
					p.resetHead()
				} else {
					p.state = stateChunkEnd
				}
			}
		default:
			nl := bytes.IndexByte(b[i:], '\n')
			if nl < 0 {
				if len(p.line)+len(b)-i > maxLine {
					p.state = stateOff
				}
				p.line = append(p.line, b[i:]...)
				return -1
			}
			line := append(p.line, b[i:i+nl]...)
			p.line = line[:0] // reused for the next line
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if p.endLine(string(line)) {
				p.state = stateOff
				return i + nl
			}
			i += nl + 1
		}
	}
	return -1
}

// resetHead expects the next request.
func (p *parser) resetHead() {
	*p = parser{state: stateHead, first: true, line: p.line[:0]}
}

// endLine handles one complete line and reports whether it ended an
// ambiguous head.
func (p *parser) endLine(line string) bool {
	switch p.state {
	case stateHead:
		return p.headLine(line)
	case stateChunkSize:
		s, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(s), 16, 64)
		switch {
		case err != nil || size < 0:
			p.state = stateOff
		case size == 0:
			p.state = stateTrailer
		default:
			p.state, p.remain = stateChunkData, size
		}
	case stateChunkEnd:
		if line != "" {
			p.state = stateOff
		} else {
			p.state = stateChunkSize
		}
	case stateTrailer:
		if line == "" {
			p.resetHead()
		}
	}
	return false
}

// headLine handles one line of a request head.
func (p *parser) headLine(line string) bool {
	if p.first {
		if line != "" { // net/http refuses an empty request line itself
			p.first = false
		}
		return false
	}
	if line != "" {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || name[0] == ' ' || name[0] == '\t' {
			p.state = stateOff // malformed or folded: net/http judges it
			return false
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			p.clValid = err == nil && n >= 0 && (!p.cl || n == p.clValue)
			p.cl, p.clValue = true, n
		case "transfer-encoding":
			p.te = true
			codings := strings.Split(value, ",")
			p.chunked = strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked")
		case "upgrade":
			p.upgrade = true
		}
		return false
	}
	// The blank line ends the head.
	switch {
	case p.cl && p.te:
		return true
	case p.upgrade:
		p.state = stateOff // the connection may become another protocol
	case p.te && p.chunked:
		p.state = stateChunkSize
	case p.te:
		p.state = stateOff // net/http refuses other codings
	case p.cl && !p.clValid:
		p.state = stateOff
	case p.cl && p.clValue > 0:
		p.state, p.remain = stateBody, p.clValue
	default:
		p.resetHead()
	}
	return false
}
