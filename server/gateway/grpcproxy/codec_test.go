package grpcproxy_test

import (
	"bytes"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// countingPool is a mem.BufferPool that counts buffers given back, to see
// that a Frame returns gRPC's buffers exactly once.
type countingPool struct{ puts atomic.Int32 }

// Get returns at least 4 KiB: smaller buffers are not pooled by mem.NewBuffer.
func (p *countingPool) Get(n int) *[]byte { b := make([]byte, n, max(n, 4096)); return &b }
func (p *countingPool) Put(*[]byte)       { p.puts.Add(1) }

func TestCodecName(t *testing.T) {
	if got := grpcproxy.Codec().Name(); got != "proto" {
		t.Errorf("Name() = %q, want proto", got)
	}
}

func TestCodecFrameOwnership(t *testing.T) {
	c := grpcproxy.Codec()
	pool := &countingPool{}
	raw := []byte("raw message bytes")
	buf := pool.Get(len(raw))
	copy(*buf, raw)
	// What gRPC passes to Unmarshal, and frees when Unmarshal returns.
	data := mem.BufferSlice{mem.NewBuffer(buf, pool)}

	var f grpcproxy.Frame
	if err := c.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	data.Free()
	if n := pool.puts.Load(); n != 0 {
		t.Fatalf("buffer returned to the pool while the Frame holds it (%d puts)", n)
	}
	if got := f.Bytes(); !bytes.Equal(got, raw) {
		t.Errorf("Bytes() = %q, want %q", got, raw)
	}
	if f.Len() != len(raw) {
		t.Errorf("Len() = %d, want %d", f.Len(), len(raw))
	}

	// Sending: gRPC frees what Marshal returns; the Frame stays valid.
	out, err := c.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Materialize(); !bytes.Equal(got, raw) {
		t.Errorf("Marshal() = %q, want %q", got, raw)
	}
	out.Free()
	if n := pool.puts.Load(); n != 0 {
		t.Fatalf("buffer returned to the pool after gRPC freed the marshalled copy (%d puts)", n)
	}
	kept := f.Bytes()

	f.Free()
	f.Free() // a second Free does nothing
	if n := pool.puts.Load(); n != 1 {
		t.Errorf("buffer returned %d times after Free, want 1", n)
	}
	if f.Bytes() != nil || f.Len() != 0 {
		t.Errorf("a freed Frame still has %d bytes", f.Len())
	}
	if !bytes.Equal(kept, raw) {
		t.Errorf("bytes from Bytes() changed after Free: %q", kept)
	}
}

func TestCodecFrameReuse(t *testing.T) {
	c := grpcproxy.Codec()
	pool := &countingPool{}
	f := grpcproxy.NewFrame([]byte("old"))
	for i, msg := range []string{"first", "second"} {
		buf := pool.Get(len(msg))
		copy(*buf, msg)
		data := mem.BufferSlice{mem.NewBuffer(buf, pool)}
		if err := c.Unmarshal(data, f); err != nil {
			t.Fatal(err)
		}
		data.Free()
		if got := string(f.Bytes()); got != msg {
			t.Errorf("Bytes() = %q, want %q", got, msg)
		}
		// Receiving into a Frame frees what it held before.
		if n := int(pool.puts.Load()); n != i {
			t.Errorf("after message %d: %d buffers returned, want %d", i, n, i)
		}
	}
	f.Free()
	if n := pool.puts.Load(); n != 2 {
		t.Errorf("%d buffers returned, want 2", n)
	}
}

func TestCodecEmptyFrame(t *testing.T) {
	c := grpcproxy.Codec()
	for _, f := range []*grpcproxy.Frame{nil, {}, grpcproxy.NewFrame(nil)} {
		out, err := c.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Errorf("Marshal(%v) has %d bytes, want 0", f, out.Len())
		}
		if f.Bytes() != nil {
			t.Errorf("Bytes() of an empty Frame = %q, want nil", f.Bytes())
		}
		f.Free()
	}
	if err := c.Unmarshal(nil, (*grpcproxy.Frame)(nil)); err == nil {
		t.Error("Unmarshal into a nil *Frame succeeded")
	}
}

// TestCodecProtoMessages checks that values other than Frames are real
// protobuf messages, so in-process clients can use connections that force
// the codec.
func TestCodecProtoMessages(t *testing.T) {
	c := grpcproxy.Codec()
	in := &examplev1.EchoRequest{Message: "hi", Payload: []byte{1, 2, 3}, Repeat: 2}
	data, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Free()
	want, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data.Materialize(), want) {
		t.Errorf("Marshal differs from proto.Marshal")
	}
	got := new(examplev1.EchoRequest)
	if err := c.Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, protocmp.Transform()); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	// A Frame's bytes decode as the message they carry.
	var f grpcproxy.Frame
	if err := c.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	decoded := new(examplev1.EchoRequest)
	if err := proto.Unmarshal(f.Bytes(), decoded); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, decoded, protocmp.Transform()); diff != "" {
		t.Errorf("Frame bytes mismatch (-want +got):\n%s", diff)
	}

	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("Marshal of a string succeeded")
	}
}
