package testkit

import (
	"bytes"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTP2Answer is how an [HTTP2Backend] answers one request: frame by
// frame, as a misbehaving gRPC server might (a reset, a response that is
// not gRPC, two messages to a unary call).
type HTTP2Answer struct {
	// Framer writes the connection's frames.
	Framer *http2.Framer
	// StreamID is the request's stream.
	StreamID uint32
	// Request is the request's header fields.
	Request []hpack.HeaderField
	// Conn is the connection, for an answer written in pieces of its
	// own choosing (frames built with Encode); Framer writes to it too.
	Conn net.Conn

	enc func(fields []hpack.HeaderField) []byte
}

// Encode returns fields as a header block of the connection's HPACK
// encoder, for a HEADERS frame an answer writes itself.
func (a *HTTP2Answer) Encode(fields ...hpack.HeaderField) []byte { return a.enc(fields) }

// Headers writes a HEADERS frame of fields, ending the stream if end.
func (a *HTTP2Answer) Headers(end bool, fields ...hpack.HeaderField) error {
	return a.Framer.WriteHeaders(http2.HeadersFrameParam{StreamID: a.StreamID, BlockFragment: a.enc(fields), EndHeaders: true, EndStream: end})
}

// Message writes one gRPC message (its 5-byte prefix and payload) as a
// DATA frame.
func (a *HTTP2Answer) Message(payload []byte) error {
	n := len(payload)
	return a.Framer.WriteData(a.StreamID, false, append([]byte{0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, payload...))
}

// Reset writes RST_STREAM with code.
func (a *HTTP2Answer) Reset(code http2.ErrCode) error {
	return a.Framer.WriteRSTStream(a.StreamID, code)
}

// HTTP2Backend serves cleartext HTTP/2 (prior knowledge) on loopback
// until the test ends and calls answer for each request once the request
// has ended (its END_STREAM), on the connection's goroutine. It returns
// the listener's address.
func HTTP2Backend(t testing.TB, answer func(a *HTTP2Answer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveHTTP2(c, answer)
		}
	}()
	return ln.Addr().String()
}

func serveHTTP2(c net.Conn, answer func(a *HTTP2Answer)) {
	defer c.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var b bytes.Buffer
	henc := hpack.NewEncoder(&b)
	enc := func(fields []hpack.HeaderField) []byte {
		b.Reset()
		for _, f := range fields {
			_ = henc.WriteField(f)
		}
		return bytes.Clone(b.Bytes())
	}
	if fr.WriteSettings() != nil {
		return
	}
	requests := map[uint32][]hpack.HeaderField{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		var end bool
		var id uint32
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			requests[f.StreamID] = f.Fields
			end, id = f.StreamEnded(), f.StreamID
		case *http2.DataFrame:
			if n := f.Length; n > 0 {
				// Given back at once: the answer does not depend on
				// the request's size.
				_ = fr.WriteWindowUpdate(0, n)
				_ = fr.WriteWindowUpdate(f.StreamID, n)
			}
			end, id = f.StreamEnded(), f.StreamID
		}
		if end {
			answer(&HTTP2Answer{Framer: fr, StreamID: id, Request: requests[id], Conn: c, enc: enc})
			delete(requests, id)
		}
	}
}
