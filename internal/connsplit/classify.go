package connsplit

import (
	"bytes"
	"encoding/binary"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// Kind is where a connection goes.
type Kind int

const (
	// Undecided means more bytes are needed.
	Undecided Kind = iota
	// HTTP is every connection that is not gRPC: HTTP/1.x, h2c REST, and
	// anything malformed (the HTTP server answers it with a proper error).
	HTTP
	// GRPC is a cleartext HTTP/2 connection whose first request is gRPC.
	GRPC
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case HTTP:
		return "http"
	case GRPC:
		return "grpc"
	}
	return "undecided"
}

// clientPreface starts every HTTP/2 connection (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// HTTP/2 frame layout (RFC 9113 §4.1, §6.2, §6.10).
const (
	frameHeaderLen       = 9
	frameHeaders         = 0x1
	frameContinuation    = 0x9
	flagEndHeaders       = 0x4
	flagPadded           = 0x8
	flagPriority         = 0x20
	defaultMaxFrameSize  = 1 << 14 // what a client may send before the server's SETTINGS
	maxFramesBeforeFirst = 32      // SETTINGS, WINDOW_UPDATE, PRIORITY…: a handful in practice
	// maxSniffBytes bounds what is buffered to classify one connection.
	maxSniffBytes = 64 << 10
)

// Classify decides from the first bytes of a connection where it goes.
// It returns Undecided while it needs more bytes. Only the first request's
// content-type matters: a cleartext HTTP/2 connection whose first HEADERS
// frame says "application/grpc" (or "application/grpc+proto", …) is gRPC;
// everything else, including malformed input, is HTTP. Classify never
// fails and never reads past buf.
func Classify(buf []byte) Kind {
	kind := classify(buf)
	if kind == Undecided && len(buf) > maxSniffBytes {
		return HTTP
	}
	return kind
}

// classify is Classify without the size bound.
func classify(buf []byte) Kind {
	if len(buf) < len(clientPreface) {
		if strings.HasPrefix(clientPreface, string(buf)) {
			return Undecided
		}
		return HTTP
	}
	if string(buf[:len(clientPreface)]) != clientPreface {
		return HTTP
	}
	off := len(clientPreface)
	for frames := 0; ; frames++ {
		if frames >= maxFramesBeforeFirst {
			return HTTP
		}
		typ, flags, stream, payload, next, kind := readFrame(buf, off)
		if kind != Undecided || payload == nil {
			return kind
		}
		if typ != frameHeaders {
			off = next
			continue
		}
		block, kind := headerBlock(buf, next, flags, stream, payload)
		if kind != Undecided || block == nil {
			return kind
		}
		if isGRPCContentType(block) {
			return GRPC
		}
		return HTTP
	}
}

// readFrame reads the frame at off. A nil payload with Undecided means the
// frame is not complete yet; a non-Undecided kind ends classification.
func readFrame(buf []byte, off int) (typ, flags byte, stream uint32, payload []byte, next int, kind Kind) {
	if len(buf)-off < frameHeaderLen {
		return 0, 0, 0, nil, 0, Undecided
	}
	h := buf[off : off+frameHeaderLen]
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if length > defaultMaxFrameSize {
		return 0, 0, 0, nil, 0, HTTP
	}
	start := off + frameHeaderLen
	if len(buf)-start < length {
		return 0, 0, 0, nil, 0, Undecided
	}
	stream = binary.BigEndian.Uint32(h[5:9]) & 0x7fffffff
	return h[3], h[4], stream, buf[start : start+length : start+length], start + length, Undecided
}

// headerBlock assembles the header block of the HEADERS frame with the given
// flags and payload, and of the CONTINUATION frames that follow it at off.
func headerBlock(buf []byte, off int, flags byte, stream uint32, payload []byte) ([]byte, Kind) {
	if flags&flagPadded != 0 {
		if len(payload) < 1 {
			return nil, HTTP
		}
		pad := int(payload[0])
		payload = payload[1:]
		if pad > len(payload) {
			return nil, HTTP
		}
		payload = payload[:len(payload)-pad]
	}
	if flags&flagPriority != 0 {
		if len(payload) < 5 {
			return nil, HTTP
		}
		payload = payload[5:]
	}
	block := payload
	for flags&flagEndHeaders == 0 {
		typ, f, s, p, next, kind := readFrame(buf, off)
		if kind != Undecided || p == nil {
			return nil, kind
		}
		if typ != frameContinuation || s != stream {
			return nil, HTTP
		}
		block = append(bytes.Clone(block), p...)
		flags, off = f, next
	}
	return block, Undecided
}

// isGRPCContentType decodes an HPACK header block (the connection's first,
// so the dynamic table starts empty) and reports whether its content-type
// is gRPC's. gRPC-Web is not gRPC here: only the HTTP side serves it.
func isGRPCContentType(block []byte) bool {
	var contentType string
	found := false
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if !found && f.Name == "content-type" {
			contentType, found = f.Value, true
		}
	})
	d.SetMaxStringLength(maxSniffBytes)
	if _, err := d.Write(block); err != nil {
		return false
	}
	if err := d.Close(); err != nil {
		return false
	}
	if !strings.HasPrefix(contentType, "application/grpc") {
		return false
	}
	rest := contentType[len("application/grpc"):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}
