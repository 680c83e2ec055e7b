package cache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/metadata"
)

// TestEntryEncoding: an entry survives encoding for the shared tier;
// truncated or altered bytes are refused, never a crash.
func TestEntryEncoding(t *testing.T) {
	tests := []*entry{
		{},
		{msg: []byte("hello"), header: metadata.Pairs("content-type", "application/grpc", "x-a", "1", "x-a", "2"), trailer: metadata.Pairs("x-t", "")},
		{header: metadata.MD{"x-empty": {}}, msg: make([]byte, 300)},
	}
	for _, e := range tests {
		b := encodeEntry(e)
		got, err := decodeEntry(b)
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", e, err)
		}
		norm := func(md metadata.MD) metadata.MD {
			if len(md) == 0 {
				return nil
			}
			return md
		}
		if diff := cmp.Diff(norm(e.header), norm(got.header)); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(norm(e.trailer), norm(got.trailer)); diff != "" {
			t.Errorf("trailer (-want +got):\n%s", diff)
		}
		if string(got.msg) != string(e.msg) {
			t.Errorf("msg %q, want %q", got.msg, e.msg)
		}
		for i := range len(b) {
			if _, err := decodeEntry(b[:i]); err == nil {
				t.Errorf("the first %d of %d bytes decode", i, len(b))
			}
		}
	}
	if _, err := decodeEntry([]byte{2, 0, 0, 0}); err == nil {
		t.Error("an unknown format decodes")
	}
}

// FuzzDecodeEntry: any bytes read from the shared tier decode or fail
// cleanly, and what decodes encodes back to a value that decodes equal.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&entry{msg: []byte("m"), header: metadata.Pairs("a", "b"), trailer: metadata.Pairs("c", "d")}))
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		again, err := decodeEntry(encodeEntry(e))
		if err != nil {
			t.Fatalf("a decoded entry does not decode after encoding: %v", err)
		}
		if string(again.msg) != string(e.msg) || len(again.header) != len(e.header) || len(again.trailer) != len(e.trailer) {
			t.Fatalf("round trip changed the entry: %+v → %+v", e, again)
		}
	})
}
