package h2relay

import (
	"golang.org/x/net/http2/hpack"
)

// hpackEncoder encodes a connection's header blocks (RFC 7541). It does
// what x/net's hpack.Encoder does for the fields that repeat from call to
// call (a method's :path, :authority, content-type, user-agent, a
// client's forwarding headers: indexed once, then one byte or two each),
// but it does not add the values that change on every call (perCallName:
// grpc-timeout, request IDs, trace context) to the dynamic table. x/net's
// encoder indexes every field that fits, so each call's fresh values
// evicted the stable entries, which the next call then sent again as
// literals and indexed again: the table search, additions, evictions and
// Huffman coding of that churn were most of a block's encoding cost.
// Here a per-call value is a literal without indexing, referring to its
// name in the static table or in the one entry of that name that is
// indexed; it is sent raw, as Huffman coding would save a few bytes for
// a loop over each byte.
//
// The caller serializes blocks (the connection's writer lock) and sends
// them in the order they were encoded, as HPACK requires.
type hpackEncoder struct {
	ents    []dynEntry // the dynamic table, oldest first
	size    uint32     // of the entries (RFC 7541 section 4.1)
	maxSize uint32     // the table's maximum size
	limit   uint32     // the peer's SETTINGS_HEADER_TABLE_SIZE
	added   uint64     // entries ever added: the id of the newest
	update  bool       // a maximum size update starts the next block

	// The entries by name and value and by name: each bucket holds the
	// id of the newest entry of its hash, each entry the id of the next
	// older one of its buckets. Entries leave the table oldest first, so
	// a chain ends at the first id no longer in it; nothing is deleted.
	// (Two maps did this before: their hashing and probing cost more
	// than the rest of a block's encoding.)
	byField, byName [hashBuckets]uint64
}

// hashBuckets is the number of buckets of each of an encoder's indexes: a
// 4,096-byte table holds at most 128 entries (32 bytes of overhead each).
const hashBuckets = 1 << hashBits

const hashBits = 6

// dynEntry is one entry of the dynamic table.
type dynEntry struct {
	fieldKey
	id uint64
	// nextField and nextName are the ids of the next older entries of
	// the entry's byField and byName buckets, 0 for none.
	nextField, nextName uint64
}

type fieldKey struct{ name, value string }

// defaultTableSize is HTTP/2's initial SETTINGS_HEADER_TABLE_SIZE.
const defaultTableSize = 4096

func newHPACKEncoder() *hpackEncoder {
	return &hpackEncoder{
		maxSize: defaultTableSize,
		limit:   defaultTableSize,
	}
}

// setLimit applies the peer's SETTINGS_HEADER_TABLE_SIZE: the table
// shrinks to it if larger, and the next block says so. It does not grow
// past the protocol's initial size, as x/net's encoder.
func (e *hpackEncoder) setLimit(v uint32) {
	e.limit = v
	if e.maxSize > v {
		e.maxSize = v
		e.evict(0)
		e.update = true
	}
}

// appendBlock appends the encoding of fields to b, as one header block.
func (e *hpackEncoder) appendBlock(b []byte, fields []hpack.HeaderField) []byte {
	if e.update {
		e.update = false
		b = appendVarInt(b, 5, 0x20, uint64(e.maxSize))
	}
	for i := range fields {
		b = e.appendField(b, &fields[i])
	}
	return b
}

func (e *hpackEncoder) appendField(b []byte, f *hpack.HeaderField) []byte {
	idx, full := staticIndex(f.Name, f.Value)
	if f.Sensitive {
		// Never indexed, here and by any intermediary after (RFC 7541
		// section 6.2.3): the peer asked for it.
		return appendLiteral(b, 4, 0x10, e.nameIndex(idx, f.Name), f, true)
	}
	if full {
		return appendVarInt(b, 7, 0x80, idx)
	}
	perCall := perCallName(f.Name)
	if !perCall {
		if id := e.findField(f.Name, f.Value); id != 0 {
			return appendVarInt(b, 7, 0x80, e.index(id))
		}
	}
	idx = e.nameIndex(idx, f.Name)
	size := fieldSize(f.Name, f.Value)
	// A per-call value is indexed only while its name has no entry, so
	// that later values can refer to the name.
	if size <= e.maxSize && (!perCall || idx == 0) {
		b = appendLiteral(b, 6, 0x40, idx, f, true)
		e.add(f.Name, f.Value, size)
		return b
	}
	return appendLiteral(b, 4, 0, idx, f, !perCall)
}

// nameIndex is the static index idx of a name, else the index of its
// newest dynamic entry, else 0 (a new name).
func (e *hpackEncoder) nameIndex(idx uint64, name string) uint64 {
	if idx != 0 {
		return idx
	}
	if id := e.findName(name); id != 0 {
		return e.index(id)
	}
	return 0
}

// findField returns the id of the newest entry of name and value, or 0.
func (e *hpackEncoder) findField(name, value string) uint64 {
	first := e.added + 1 - uint64(len(e.ents)) // ents[0]'s id
	for id := e.byField[fieldBucket(name, value)]; id >= first; {
		ent := &e.ents[id-first]
		if ent.name == name && ent.value == value {
			return id
		}
		id = ent.nextField
	}
	return 0
}

// findName returns the id of the newest entry of name, or 0.
func (e *hpackEncoder) findName(name string) uint64 {
	first := e.added + 1 - uint64(len(e.ents))
	for id := e.byName[nameBucket(name)]; id >= first; {
		ent := &e.ents[id-first]
		if ent.name == name {
			return id
		}
		id = ent.nextName
	}
	return 0
}

// nameBucket and fieldBucket are the buckets of a name and of a field.
// Their hash samples a string (its length and three of its bytes) rather
// than reading it whole: a few instructions instead of a hash function's
// call. Fields that share samples share a bucket and are told apart by
// comparison; a chain is never longer than the table (128 entries).
func nameBucket(name string) uint64 {
	return sample(name) * 0x9e3779b97f4a7c15 >> (64 - hashBits)
}

func fieldBucket(name, value string) uint64 {
	return (sample(name)*31 + sample(value)) * 0x9e3779b97f4a7c15 >> (64 - hashBits)
}

func sample(s string) uint64 {
	n := uint64(len(s))
	if n == 0 {
		return 0
	}
	return n<<24 ^ uint64(s[0])<<16 ^ uint64(s[n/2])<<8 ^ uint64(s[n-1])
}

// index is the HPACK index of the dynamic entry id: the newest entry is
// 62, just past the static table.
func (e *hpackEncoder) index(id uint64) uint64 {
	return uint64(len(staticTable)) + 1 + e.added - id
}

// add inserts a field, evicting the oldest entries to make room.
func (e *hpackEncoder) add(name, value string, size uint32) {
	e.evict(size)
	e.added++
	fb, nb := fieldBucket(name, value), nameBucket(name)
	e.ents = append(e.ents, dynEntry{fieldKey: fieldKey{name, value}, id: e.added, nextField: e.byField[fb], nextName: e.byName[nb]})
	e.size += size
	e.byField[fb], e.byName[nb] = e.added, e.added
}

// evict drops the oldest entries until room more bytes fit.
func (e *hpackEncoder) evict(room uint32) {
	n := 0
	for n < len(e.ents) && e.size+room > e.maxSize {
		old := &e.ents[n]
		e.size -= fieldSize(old.name, old.value)
		n++
	}
	if n > 0 {
		k := copy(e.ents, e.ents[n:])
		clear(e.ents[k:])
		e.ents = e.ents[:k]
	}
}

// fieldSize is a field's size in the table (RFC 7541 section 4.1).
func fieldSize(name, value string) uint32 { return uint32(len(name) + len(value) + 32) }

// perCallName reports whether a field's value is expected to change on
// every call: such values are not indexed (see hpackEncoder).
func perCallName(name string) bool {
	switch name {
	case "grpc-timeout", "x-request-id", "traceparent", "tracestate", "grpc-trace-bin",
		"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-amzn-trace-id",
		"x-cloud-trace-context", "content-length", "date",
		"grpc-message", "grpc-status-details-bin":
		return true
	}
	return false
}

// appendLiteral appends a literal field: its name as idx (or, if 0, as a
// string), its value as a string, Huffman-coded when huffman is set and
// that is shorter.
func appendLiteral(b []byte, prefix uint8, first byte, idx uint64, f *hpack.HeaderField, huffman bool) []byte {
	b = appendVarInt(b, prefix, first, idx)
	if idx == 0 {
		b = appendString(b, f.Name, huffman)
	}
	return appendString(b, f.Value, huffman)
}

// appendString appends an HPACK string literal (RFC 7541 section 5.2).
func appendString(b []byte, s string, huffman bool) []byte {
	if huffman {
		if n := hpack.HuffmanEncodeLength(s); n < uint64(len(s)) {
			b = appendVarInt(b, 7, 0x80, n)
			return hpack.AppendHuffmanString(b, s)
		}
	}
	b = appendVarInt(b, 7, 0, uint64(len(s)))
	return append(b, s...)
}

// appendVarInt appends i as an HPACK integer with an n-bit prefix, the
// prefix's byte's other bits set to first (RFC 7541 section 5.1).
func appendVarInt(b []byte, n uint8, first byte, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(b, first|byte(i))
	}
	b = append(b, first|byte(k))
	i -= k
	for ; i >= 128; i >>= 7 {
		b = append(b, byte(0x80|i&0x7f))
	}
	return append(b, byte(i))
}

// staticTable is HPACK's static table (RFC 7541 appendix A); entry i is
// index i+1.
var staticTable = [...]fieldKey{
	{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
	{":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
	{":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
	{":status", "404"}, {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
	{"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
	{"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
	{"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
	{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
	{"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""},
	{"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
	{"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
	{"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
	{"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
	{"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
	{"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""},
	{"www-authenticate", ""},
}

// staticIndex returns the static table's index of a name (0: none) and
// whether that entry's value is value too. The fields a gRPC call uses
// are tested first; a string switch costs less than a map's hash.
func staticIndex(name, value string) (uint64, bool) {
	switch name {
	case ":method":
		switch value {
		case "POST":
			return 3, true
		case "GET":
			return 2, true
		}
		return 2, false
	case ":scheme":
		switch value {
		case "http":
			return 6, true
		case "https":
			return 7, true
		}
		return 6, false
	case ":status":
		switch value {
		case "200":
			return 8, true
		case "204":
			return 9, true
		case "206":
			return 10, true
		case "304":
			return 11, true
		case "400":
			return 12, true
		case "404":
			return 13, true
		case "500":
			return 14, true
		}
		return 8, false
	case ":path":
		switch value {
		case "/":
			return 4, true
		case "/index.html":
			return 5, true
		}
		return 4, false
	case ":authority":
		return 1, value == ""
	case "content-type":
		return 31, value == ""
	case "user-agent":
		return 58, value == ""
	case "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "grpc-status", "grpc-message":
		return 0, false
	case "accept-encoding":
		return 16, value == "gzip, deflate"
	}
	if name == "" || name[0] == 'x' || name[0] == 'g' {
		// Metadata (x-...) and gRPC's own (grpc-...): no static name.
		return 0, false
	}
	if i, ok := staticNames[name]; ok {
		return i, value == "" // the other names' entries have no value
	}
	return 0, false
}

// staticNames maps the static table's names to their first index.
var staticNames = func() map[string]uint64 {
	m := make(map[string]uint64, len(staticTable))
	for i := len(staticTable) - 1; i >= 0; i-- {
		m[staticTable[i].name] = uint64(i + 1)
	}
	return m
}()
