package h2relay

// msgScanner follows gRPC's length-prefixed messages (a flag byte, a
// 4-byte big-endian length, the payload) across the DATA frames of one
// direction without copying or decoding them: it checks each length
// against the limit and counts messages and payload bytes.
type msgScanner struct {
	max     uint32 // largest payload allowed
	hdr     [5]byte
	hdrLen  int    // bytes of the current prefix seen
	remain  uint32 // payload bytes of the current message still to come
	msgs    int64  // messages whose prefix was seen
	payload int64  // payload bytes seen
}

// scanResult says what a scan found.
type scanResult struct {
	tooLarge uint32 // the length of a message over the limit, or 0
	messages int    // prefixes completed in this chunk
}

// scan follows p, the next bytes of the direction. After a message over
// the limit it stops: the call must end.
func (m *msgScanner) scan(p []byte) scanResult {
	var r scanResult
	for len(p) > 0 {
		if m.remain > 0 {
			n := min(uint32(len(p)), m.remain)
			m.remain -= n
			m.payload += int64(n)
			p = p[n:]
			continue
		}
		n := copy(m.hdr[m.hdrLen:], p)
		m.hdrLen += n
		p = p[n:]
		if m.hdrLen < len(m.hdr) {
			break
		}
		m.hdrLen = 0
		size := uint32(m.hdr[1])<<24 | uint32(m.hdr[2])<<16 | uint32(m.hdr[3])<<8 | uint32(m.hdr[4])
		m.msgs++
		r.messages++
		if size > m.max {
			r.tooLarge = size
			return r
		}
		m.remain = size
	}
	return r
}

// complete reports whether the bytes seen end on a message boundary.
func (m *msgScanner) complete() bool { return m.remain == 0 && m.hdrLen == 0 }
