package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"
)

// Shared is a second tier of the response cache that several gateway
// nodes share (for example Redis, see package rediscache): a response
// cached through one node is served by all of them. A Cache given one
// with WithShared uses it for the stages that opt in (Stage.shared_cache),
// behind its own memory: a node looks in Shared when its memory misses,
// once per key however many calls miss together, and stores there what
// its backend calls return.
//
// Entries are grouped by stage and generation: Flush moves a stage to a
// new generation in one operation, after which the older entries are
// never returned. Implementations must be safe for concurrent use and
// fail fast: the Cache treats an error as a miss (and a failed Set as
// nothing stored), so a failing store costs calls at most its timeout.
type Shared interface {
	// Get returns the value stored under key for stage in its current
	// generation with its remaining lifetime, or a nil value when there
	// is none, and the stage's current generation.
	Get(ctx context.Context, stage string, key [32]byte) (value []byte, ttl time.Duration, gen string, err error)
	// Set stores value under key for stage for ttl, unless the stage's
	// generation is no longer gen (it was flushed since gen was read).
	Set(ctx context.Context, stage string, key [32]byte, gen string, value []byte, ttl time.Duration) error
	// Flush moves stage to a new generation: no entry stored before is
	// returned again.
	Flush(ctx context.Context, stage string) error
}

// ErrTooLarge is what a Shared store's Set returns (wrapped) for a value
// it does not keep because of its size: the entry is then kept in the
// node's memory for its whole TTL, as on a stage that does not share.
var ErrTooLarge = errors.New("cache: the entry is too large for the shared cache")

// DefaultSharedLocalTTL is how long a node keeps in memory an entry of a
// stage whose cache is shared, at most, unless WithShared says otherwise.
const DefaultSharedLocalTTL = time.Second

// WithShared makes the stages that set Stage.shared_cache keep their
// entries in s too. localTTL bounds how long a node keeps such an entry
// in its own memory (zero or negative: DefaultSharedLocalTTL): a flush
// made on another node reaches this one through the caller (Cache.Flush,
// for example on a notice from that node), and when a notice is lost,
// within localTTL through s. Nil s means no shared tier, which is also
// the default.
func WithShared(s Shared, localTTL time.Duration) Option {
	return func(o *options) {
		o.shared = s
		o.sharedLocalTTL = localTTL
		if localTTL <= 0 {
			o.sharedLocalTTL = DefaultSharedLocalTTL
		}
	}
}

// FlushShared moves stage to a new generation in the shared tier, so that
// no node serves its older entries from there, and empties this node's
// memory of it as Flush does. The other nodes' memories must be flushed
// by the caller (they also expire within the local TTL of WithShared).
// Without a shared tier it is Flush.
func (c *Cache) FlushShared(ctx context.Context, stage string) error {
	c.Flush(stage)
	if c.opts.shared == nil {
		return nil
	}
	if err := c.opts.shared.Flush(ctx, stage); err != nil {
		return fmt.Errorf("cache: flush the shared cache of %s: %w", stage, err)
	}
	return nil
}

// entryFormat is the first byte of an encoded entry: a change of the
// encoding gets a new one, and older values are then ignored as misses.
const entryFormat = 1

// errBadEntry is decodeEntry's error for bytes that are not an entry.
var errBadEntry = errors.New("cache: malformed shared entry")

// encodeEntry returns e's header, message and trailer as bytes, for the
// shared tier: a format byte, then the header metadata, the message and
// the trailer metadata, each length-prefixed (uvarint).
func encodeEntry(e *entry) []byte {
	b := make([]byte, 0, 1+len(e.msg)+mdSize(e.header)+mdSize(e.trailer)+16)
	b = append(b, entryFormat)
	b = appendMD(b, e.header)
	b = binary.AppendUvarint(b, uint64(len(e.msg)))
	b = append(b, e.msg...)
	return appendMD(b, e.trailer)
}

// appendMD appends metadata: the number of keys, then each key with the
// number of its values and the values.
func appendMD(b []byte, md metadata.MD) []byte {
	b = binary.AppendUvarint(b, uint64(len(md)))
	for k, vs := range md {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return b
}

// appendString appends s, length-prefixed.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEntry reads what encodeEntry wrote. The entry's message shares
// memory with b, which must not change afterwards.
func decodeEntry(b []byte) (*entry, error) {
	d := decoder{b: b}
	if f := d.byte(); f != entryFormat {
		return nil, errBadEntry
	}
	e := &entry{header: d.md(), msg: d.bytes()}
	e.trailer = d.md()
	if d.err || len(d.b) != 0 {
		return nil, errBadEntry
	}
	return e, nil
}

// decoder reads an encoded entry; the first error sticks.
type decoder struct {
	b   []byte
	err bool
}

// byte reads one byte.
func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint reads a length or count, which cannot exceed what is left.
func (d *decoder) uvarint() int {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.err = true
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}

// bytes reads length-prefixed bytes, sharing d's memory.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// md reads metadata; keys repeated are joined.
func (d *decoder) md() metadata.MD {
	n := d.uvarint()
	if d.err {
		return nil
	}
	md := make(metadata.MD, min(n, 16))
	for range n {
		k := string(d.bytes())
		m := d.uvarint()
		if d.err {
			return nil
		}
		for range m {
			v := d.bytes()
			if d.err {
				return nil
			}
			md[k] = append(md[k], string(v))
		}
		if m == 0 && md[k] == nil {
			md[k] = []string{}
		}
	}
	return md
}
