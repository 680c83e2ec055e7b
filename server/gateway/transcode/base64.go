package transcode

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// base64Pairs maps 12 bits to the two characters of the standard base64
// alphabet that encode them, big-endian.
var base64Pairs = func() *[4096]uint16 {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var t [4096]uint16
	for i := range t {
		t[i] = uint16(alphabet[i>>6])<<8 | uint16(alphabet[i&63])
	}
	return &t
}()

// appendBase64 appends the standard, padded base64 encoding of src to dst,
// as base64.StdEncoding.AppendEncode does (protojson's encoding of bytes
// fields), six bytes at a time: one 8-byte load, four lookups of twelve
// bits each and one 8-byte store, where base64.Encoding looks up every six
// bits and stores every character.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	si, di := 0, 0
	// Eight bytes are loaded for six: stop while eight remain.
	for len(src)-si >= 8 && len(out)-di >= 8 {
		x := binary.BigEndian.Uint64(src[si:]) >> 16
		w := uint64(base64Pairs[x>>36&0xfff])<<48 | uint64(base64Pairs[x>>24&0xfff])<<32 |
			uint64(base64Pairs[x>>12&0xfff])<<16 | uint64(base64Pairs[x&0xfff])
		binary.BigEndian.PutUint64(out[di:], w)
		si += 6
		di += 8
	}
	base64.StdEncoding.Encode(out[di:], src[si:]) // the last seven bytes at most, padded
	return dst[:len(dst)+n]
}
