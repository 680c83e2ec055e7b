package h2relay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// frameReader reads a connection's frames, returning a HEADERS frame and
// its CONTINUATIONs as one *http2.MetaHeadersFrame, as http2.Framer does
// when its ReadMetaHeaders is set, with the same checks and errors. The
// Framer's version allocates the frame, its emit closure, the variables
// that closure captures and a growing field slice for every header block
// (~7 allocations a block, three blocks a call on each side); this one
// keeps that state in the connection and copies the fields out once.
// HEADERS, PING and WINDOW_UPDATE frames (the Framer allocates each; a
// unary call brings two of each besides its HEADERS) and DATA frames (the
// Framer copies their payload) are parsed in the read buffer into frames
// the reader reuses, with the Framer's checks and errors; the Framer
// still reads every frame header (its size limit and frame order checks)
// and the other frames.
//
// The returned frame is valid until the next ReadFrame, as every frame
// the Framer returns; a MetaHeadersFrame's Fields are the caller's to keep.
type frameReader struct {
	fr  *http2.Framer
	br  *bufio.Reader // what fr reads from
	dec *hpack.Decoder
	max uint32 // the header list limit

	// Frames returned, reused.
	hf   http2.HeadersFrame
	ping http2.PingFrame
	wu   http2.WindowUpdateFrame
	data bufferedData
	// pending is the length of a payload parsed in br and not yet
	// discarded (release).
	pending int

	// The state of the header block being decoded.
	mh             http2.MetaHeadersFrame
	fields         []hpack.HeaderField // reused: copied out per block
	slab           []hpack.HeaderField // where blocks' fields are copied out to
	headersRemain  uint32
	trailersRemain uint32
	sawRegular     bool
	invalid        error
}

func newFrameReader(fr *http2.Framer, br *bufio.Reader, maxList uint32) *frameReader {
	r := &frameReader{fr: fr, br: br, dec: hpack.NewDecoder(4096, nil), max: maxList}
	r.dec.SetMaxStringLength(int(maxList))
	r.dec.SetEmitFunc(r.emit)
	return r
}

// Errors of header blocks, as x/net's (which are unexported).
var (
	errPseudoAfterRegular   = errors.New("pseudo header field after regular")
	errMixPseudoHeaderTypes = errors.New("mix of request and response pseudo headers")
)

// bufferedData is a DATA frame as frameReader returns it, in place of
// *http2.DataFrame (whose data field only the Framer can set). Its data
// is valid until the reader's release, or its next ReadFrame.
type bufferedData struct {
	http2.FrameHeader
	data []byte
}

// Data returns the frame's data, without padding.
func (f *bufferedData) Data() []byte { return f.data }

// StreamEnded reports whether the frame ends its stream.
func (f *bufferedData) StreamEnded() bool { return f.Flags.Has(http2.FlagDataEndStream) }

// ReadFrame reads the next frame, decoding header blocks. A DATA frame
// comes as a *bufferedData, never a *http2.DataFrame; the caller calls
// release when done with it.
func (r *frameReader) ReadFrame() (http2.Frame, error) {
	r.release()
	fh, err := r.fr.ReadFrameHeader()
	if err != nil {
		return nil, err
	}
	if int(fh.Length) <= r.br.Size() {
		switch fh.Type {
		case http2.FrameData:
			return r.readData(fh)
		case http2.FrameHeaders:
			return r.readHeadersFrame(fh)
		case http2.FramePing:
			return r.readPing(fh)
		case http2.FrameWindowUpdate:
			return r.readWindowUpdate(fh)
		}
	}
	f, err := r.fr.ReadFrameForHeader(fh)
	if err != nil {
		return f, err
	}
	switch f := f.(type) {
	case *http2.HeadersFrame:
		return r.readHeaders(f, f.HeaderBlockFragment())
	case *http2.DataFrame:
		r.data = bufferedData{FrameHeader: f.FrameHeader, data: f.Data()}
		return &r.data, nil
	}
	return f, nil
}

// readData parses a DATA frame as http2.Framer does, in the read buffer:
// the Framer would copy its payload into a buffer of its own first (a
// copy of every byte relayed, 2 % of a stream's CPU).
func (r *frameReader) readData(fh http2.FrameHeader) (http2.Frame, error) {
	p, err := r.payload(fh)
	if err != nil {
		return nil, err
	}
	if fh.StreamID == 0 {
		r.release()
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	pad := 0
	if fh.Flags.Has(http2.FlagDataPadded) {
		if len(p) < 1 {
			r.release()
			return nil, io.ErrUnexpectedEOF
		}
		pad, p = int(p[0]), p[1:]
	}
	if pad > len(p) {
		r.release()
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	r.data = bufferedData{FrameHeader: fh, data: p[:len(p)-pad]}
	return &r.data, nil
}

// payload returns the payload of the frame fh heads in the read buffer,
// valid until release, which the caller must call before the next read.
func (r *frameReader) payload(fh http2.FrameHeader) ([]byte, error) {
	p, err := r.br.Peek(int(fh.Length))
	if err != nil {
		if errors.Is(err, io.EOF) && len(p) > 0 {
			err = io.ErrUnexpectedEOF // as io.ReadFull, which the Framer uses
		}
		return nil, err
	}
	r.pending = len(p)
	return p, nil
}

// release discards the payload parsed in the read buffer.
func (r *frameReader) release() {
	if r.pending > 0 {
		_, _ = r.br.Discard(r.pending)
		r.pending = 0
	}
}

// readPing parses a PING frame as http2.Framer does.
func (r *frameReader) readPing(fh http2.FrameHeader) (http2.Frame, error) {
	p, err := r.payload(fh)
	if err != nil {
		return nil, err
	}
	defer r.release()
	if len(p) != 8 {
		return nil, http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	if fh.StreamID != 0 {
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	r.ping = http2.PingFrame{FrameHeader: fh}
	copy(r.ping.Data[:], p)
	return &r.ping, nil
}

// readWindowUpdate parses a WINDOW_UPDATE frame as http2.Framer does.
func (r *frameReader) readWindowUpdate(fh http2.FrameHeader) (http2.Frame, error) {
	p, err := r.payload(fh)
	if err != nil {
		return nil, err
	}
	defer r.release()
	if len(p) != 4 {
		return nil, http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	inc := binary.BigEndian.Uint32(p) & 0x7fffffff
	if inc == 0 {
		if fh.StreamID == 0 {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil, http2.StreamError{StreamID: fh.StreamID, Code: http2.ErrCodeProtocol}
	}
	r.wu = http2.WindowUpdateFrame{FrameHeader: fh, Increment: inc}
	return &r.wu, nil
}

// readHeadersFrame parses a HEADERS frame as http2.Framer does and
// decodes the block it starts.
func (r *frameReader) readHeadersFrame(fh http2.FrameHeader) (http2.Frame, error) {
	p, err := r.payload(fh)
	if err != nil {
		return nil, err
	}
	defer r.release()
	if fh.StreamID == 0 {
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	r.hf = http2.HeadersFrame{FrameHeader: fh}
	pad := 0
	if fh.Flags.Has(http2.FlagHeadersPadded) {
		if len(p) < 1 {
			return nil, io.ErrUnexpectedEOF
		}
		pad, p = int(p[0]), p[1:]
	}
	if fh.Flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return nil, io.ErrUnexpectedEOF
		}
		v := binary.BigEndian.Uint32(p)
		r.hf.Priority = http2.PriorityParam{StreamDep: v & 0x7fffffff, Exclusive: v&0x80000000 != 0, Weight: p[4]}
		p = p[5:]
	}
	if len(p) < pad {
		return nil, http2.StreamError{StreamID: fh.StreamID, Code: http2.ErrCodeProtocol}
	}
	return r.readHeaders(&r.hf, p[:len(p)-pad])
}

// readHeaders decodes the block hf starts, whose first fragment is frag,
// following http2.Framer's readMetaFrame (x/net v0.61.0).
func (r *frameReader) readHeaders(hf *http2.HeadersFrame, frag []byte) (http2.Frame, error) {
	r.mh = http2.MetaHeadersFrame{HeadersFrame: hf}
	mh := &r.mh
	r.fields = r.fields[:0]
	r.headersRemain, r.trailersRemain = r.max, r.max
	r.sawRegular, r.invalid = false, nil
	r.dec.SetEmitEnabled(true)

	ended := hf.HeadersEnded()
	for {
		// Too much: a fragment more than twice what is left to accept, or
		// any CONTINUATION once over the limit. The connection ends.
		if int64(len(frag)) > 2*int64(r.headersRemain+r.trailersRemain) {
			return mh, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		// Sizes are not tracked past an invalid field.
		if r.invalid != nil {
			return mh, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if _, err := r.dec.Write(frag); err != nil {
			return mh, http2.ConnectionError(http2.ErrCodeCompression)
		}
		// A HEADERS payload parsed in the read buffer is used up: the
		// next frame is read after it.
		r.release()
		if ended {
			break
		}
		f, err := r.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		cf := f.(*http2.ContinuationFrame) // guaranteed by the Framer's frame order check
		frag, ended = cf.HeaderBlockFragment(), cf.HeadersEnded()
	}
	if err := r.dec.Close(); err != nil {
		return mh, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if len(r.fields) > 0 {
		mh.Fields = r.copyOut(r.fields)
	}
	clear(r.fields) // drop the strings until the next block
	if r.invalid != nil {
		return nil, http2.StreamError{StreamID: mh.StreamID, Code: http2.ErrCodeProtocol, Cause: r.invalid}
	}
	if err := checkPseudos(mh.PseudoFields()); err != nil {
		return nil, http2.StreamError{StreamID: mh.StreamID, Code: http2.ErrCodeProtocol, Cause: err}
	}
	return mh, nil
}

// slabFields is how many fields a slab of copied-out fields holds: the
// blocks of a few calls (a unary call's request has about eight fields,
// its response headers and trailers two or three each).
const slabFields = 32

// copyOut copies fields to the reader's slab, a new one when it is full:
// one allocation for the blocks of several calls instead of one a block.
// The copy is capped, so that an append to it copies it.
func (r *frameReader) copyOut(fields []hpack.HeaderField) []hpack.HeaderField {
	n := len(fields)
	if cap(r.slab)-len(r.slab) < n {
		if n > slabFields/2 {
			return slices.Clone(fields) // a large block: a slab of its own
		}
		r.slab = make([]hpack.HeaderField, 0, slabFields)
	}
	i := len(r.slab)
	r.slab = append(r.slab, fields...)
	return r.slab[i : i+n : i+n]
}

// emit takes one decoded field.
func (r *frameReader) emit(hf hpack.HeaderField) {
	if !validFieldValue(hf.Value) {
		// The value stays out of the error: it may be sensitive.
		r.invalid = fmt.Errorf("invalid header field value for %q", hf.Name)
	}
	if strings.HasPrefix(hf.Name, ":") {
		if r.sawRegular {
			r.invalid = errPseudoAfterRegular
		}
	} else {
		r.sawRegular = true
		if !validWireHeaderFieldName(hf.Name) {
			r.invalid = fmt.Errorf("invalid header field name %q", hf.Name)
		}
	}
	if r.invalid != nil {
		r.dec.SetEmitEnabled(false)
		return
	}
	remain := &r.headersRemain
	var size uint32
	if hf.Name == "trailer" {
		remain = &r.trailersRemain
		n := strings.Count(hf.Value, ",") + 1
		size = uint32(len(hf.Value)-n+1) + uint32(n)*hpack.HeaderField{}.Size()
	} else {
		size = hf.Size()
	}
	if size > *remain {
		r.dec.SetEmitEnabled(false)
		r.mh.Truncated = true
		r.headersRemain, r.trailersRemain = 0, 0
		return
	}
	*remain -= size
	r.fields = append(r.fields, hf)
}

// validWireHeaderFieldName reports whether v is a token in lower case, as
// HTTP/2 requires of a field name (httpguts.IsTokenRune, without upper
// case).
func validWireHeaderFieldName(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !nameByte[v[i]] {
			return false
		}
	}
	return true
}

// nameByte says which bytes validWireHeaderFieldName accepts.
var nameByte = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = httpguts.IsTokenRune(rune(c)) && !('A' <= c && c <= 'Z')
	}
	return t
}()

// validFieldValue is httpguts.ValidHeaderFieldValue (no control byte but
// a horizontal tab), eight bytes at a time: values are checked on every
// block, including the ones the HPACK table gives whole.
func validFieldValue(v string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		// A byte below 0x20, or 0x7f (a zero byte of x^0x7f…): the eight
		// are checked one by one (a tab is fine).
		y := x ^ (0x7f * ones)
		if (x-0x20*ones)&^x&highs != 0 || (y-ones)&^y&highs != 0 {
			if !validValueBytes(v[i : i+8]) {
				return false
			}
		}
	}
	return validValueBytes(v[i:])
}

// validValueBytes is validFieldValue a byte at a time.
func validValueBytes(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// checkPseudos reports unknown and repeated pseudo-header fields, and a
// mix of request and response ones.
func checkPseudos(pf []hpack.HeaderField) error {
	var isRequest, isResponse bool
	for i, hf := range pf {
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			isRequest = true
		case ":status":
			isResponse = true
		default:
			return fmt.Errorf("invalid pseudo-header %q", hf.Name)
		}
		for _, prev := range pf[:i] {
			if hf.Name == prev.Name {
				return fmt.Errorf("duplicate pseudo-header %q", hf.Name)
			}
		}
	}
	if isRequest && isResponse {
		return errMixPseudoHeaderTypes
	}
	return nil
}
