package webclients

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
)

// gRPC-Web's text form (application/grpc-web-text) is the binary form
// base64-encoded, request and response bodies alike. vanguard speaks only
// the binary form, so a text request is decoded on the way in and its
// response encoded on the way out; the transcoder sees binary gRPC-Web.

// errTextTruncated means a text request body ended inside a base64 quantum.
var errTextTruncated = errors.New("grpc-web-text: the body ends inside a base64 quantum")

// toBinary turns a gRPC-Web text request into the binary form in place and
// returns the writer that encodes the response; call its finish once the
// response is written.
func toBinary(w http.ResponseWriter, r *http.Request) *textWriter {
	ct := r.Header.Get("Content-Type")
	r.Header.Set("Content-Type", grpcWebContentType+strings.TrimPrefix(ct, grpcWebTextContentType))
	r.Body = &textReader{src: r.Body}
	r.ContentLength = -1
	r.Header.Del("Content-Length")
	return &textWriter{w: w}
}

// textReader decodes a base64 body in which any quantum may be padded:
// clients may send each message as its own padded base64 string.
type textReader struct {
	src  io.ReadCloser
	raw  [4096]byte // raw[:nraw] is input not yet decoded (less than a quantum after decoding)
	nraw int
	dec  [3072]byte
	out  []byte // decoded, not yet returned
	err  error
}

// Read returns decoded bytes.
func (t *textReader) Read(p []byte) (int, error) {
	for len(t.out) == 0 {
		if t.err != nil {
			if t.err == io.EOF && t.nraw != 0 {
				return 0, errTextTruncated
			}
			return 0, t.err
		}
		n, err := t.src.Read(t.raw[t.nraw:])
		t.nraw += n
		t.err = err
		whole := t.nraw - t.nraw%4
		m, derr := decodeQuanta(t.dec[:], t.raw[:whole])
		if derr != nil {
			t.err = derr
			t.nraw = 0
		} else {
			t.nraw = copy(t.raw[:], t.raw[whole:t.nraw])
		}
		t.out = t.dec[:m]
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

// Close closes the source.
func (t *textReader) Close() error { return t.src.Close() }

// decodeQuanta decodes src, whole base64 quanta any of which may end with
// padding, into dst, which must hold 3/4 of len(src).
func decodeQuanta(dst, src []byte) (int, error) {
	n := 0
	for len(src) > 0 {
		end := len(src)
		if i := bytes.IndexByte(src, '='); i >= 0 {
			end = i - i%4 + 4 // the padded quantum ends the run
		}
		m, err := base64.StdEncoding.Decode(dst[n:], src[:end])
		n += m
		if err != nil {
			return n, err
		}
		src = src[end:]
	}
	return n, nil
}

// textWriter base64-encodes a binary gRPC-Web response. Whole 3-byte groups
// are written as they come; the rest is written, padded, on Flush (after
// each message) and by finish, so each flushed chunk is valid base64 on its
// own, as Envoy's grpc_web filter sends it.
type textWriter struct {
	w       http.ResponseWriter
	rest    [2]byte
	nrest   int
	buf     []byte
	written bool
}

// Header returns the response headers.
func (t *textWriter) Header() http.Header { return t.w.Header() }

// WriteHeader sends the headers with the text Content-Type.
func (t *textWriter) WriteHeader(code int) {
	if t.written {
		return
	}
	t.written = true
	h := t.w.Header()
	if ct := h.Get("Content-Type"); strings.HasPrefix(ct, grpcWebContentType) {
		h.Set("Content-Type", grpcWebTextContentType+strings.TrimPrefix(ct, grpcWebContentType))
	}
	h.Del("Content-Length")
	t.w.WriteHeader(code)
}

// Write encodes p.
func (t *textWriter) Write(p []byte) (int, error) {
	t.WriteHeader(http.StatusOK)
	total := len(p)
	if t.nrest > 0 {
		need := 3 - t.nrest
		if len(p) < need {
			t.nrest += copy(t.rest[t.nrest:], p)
			return total, nil
		}
		var group [3]byte
		copy(group[:], t.rest[:t.nrest])
		copy(group[t.nrest:], p[:need])
		p = p[need:]
		t.nrest = 0
		if err := t.emit(group[:]); err != nil {
			return 0, err
		}
	}
	whole := len(p) - len(p)%3
	if err := t.emit(p[:whole]); err != nil {
		return 0, err
	}
	t.nrest = copy(t.rest[:], p[whole:])
	return total, nil
}

// emit writes the encoding of p.
func (t *textWriter) emit(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	t.buf = base64.StdEncoding.AppendEncode(t.buf[:0], p)
	_, err := t.w.Write(t.buf)
	return err
}

// Flush writes the bytes held back, padded, and flushes.
func (t *textWriter) Flush() {
	t.finish()
	if f, ok := t.w.(http.Flusher); ok {
		f.Flush()
	}
}

// finish writes the bytes held back, padded.
func (t *textWriter) finish() {
	if t.nrest > 0 {
		n := t.nrest
		t.nrest = 0
		_ = t.emit(t.rest[:n])
	}
}
