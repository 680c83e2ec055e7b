package grpcproxy

import (
	"errors"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"

	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// Frame is one raw gRPC message: the payload of one length-prefixed
// message on the wire, never decoded. [Codec] fills a Frame on receipt and
// sends it unchanged.
//
// A Frame received by gRPC holds a reference to gRPC's pooled buffers
// rather than a copy, so whoever receives into a Frame must call
// [Frame.Free] when done with it, after sending it on if it is forwarded.
// The proxy frees each Frame once it has forwarded it: a policy that wraps
// the server stream sees a *Frame in RecvMsg and SendMsg and must not keep
// it past that call; [Frame.Bytes] gives a copy to keep. The zero Frame is
// an empty message. A Frame is not safe for concurrent use.
type Frame struct {
	data mem.BufferSlice
}

// NewFrame returns a Frame holding b, for a policy that replaces a message
// or a test that sends raw bytes. The Frame uses b without copying it; b
// must not be modified afterwards.
func NewFrame(b []byte) *Frame {
	if len(b) == 0 {
		return &Frame{}
	}
	return &Frame{data: mem.BufferSlice{mem.SliceBuffer(b)}}
}

// Len returns the size of the message in bytes.
func (f *Frame) Len() int {
	if f == nil {
		return 0
	}
	return f.data.Len()
}

// Bytes returns a copy of the message's bytes, which the caller owns and
// may keep after the Frame is freed, for example to decode the message
// later in a policy. It copies because the Frame's own buffers go back to
// gRPC's pool when the Frame is freed. It returns nil for an empty or freed
// Frame.
func (f *Frame) Bytes() []byte {
	if f == nil || f.data.Len() == 0 {
		return nil
	}
	return f.data.Materialize()
}

// Free releases the Frame's reference to its buffers, so that gRPC can
// reuse them, and empties the Frame. Free is safe to call more than once
// and on a nil Frame.
func (f *Frame) Free() {
	if f == nil {
		return
	}
	f.data.Free()
	f.data = nil
}

// errNilFrame is returned when a message is received into a nil *Frame.
var errNilFrame = errors.New("grpcproxy: cannot receive a message into a nil *Frame")

// codec is the pass-through encoding.CodecV2. It is stateless.
type codec struct {
	// base encodes every value that is not a *Frame, so that in-process
	// clients that send real messages still work over a connection that
	// forces this codec.
	base encoding.CodecV2
}

var _ encoding.CodecV2 = codec{}

// theCodec is shared: a codec has no state, and one value avoids an
// allocation per call when it is passed as a call option.
var theCodec = codec{base: encoding.GetCodecV2(grpcproto.Name)}

// Codec returns the pass-through codec, named "proto". It leaves received
// messages as raw bytes in a *[Frame] and sends a *Frame as it is, without
// copying; any other value must be a proto.Message, which it marshals and
// unmarshals as gRPC's standard codec does.
//
// Install it on the data-plane server with
// grpc.ForceServerCodecV2(grpcproxy.Codec()). Connections from a [Pool]
// already use it; other client connections can with
// grpc.WithDefaultCallOptions(grpc.ForceCodecV2(grpcproxy.Codec())).
//
// Its name is "proto" because a forced codec's name becomes the
// content-subtype of outgoing calls, and "application/grpc+proto" is what
// backends expect by default.
func Codec() encoding.CodecV2 { return theCodec }

// Marshal returns the Frame's buffers with an extra reference that gRPC
// frees once the message is written, so the caller still owns (and must
// free) the Frame afterwards. Other values go to the proto codec.
func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*Frame)
	if !ok {
		return c.base.Marshal(v)
	}
	if f == nil || len(f.data) == 0 {
		return nil, nil
	}
	f.data.Ref()
	return f.data, nil
}

// Unmarshal keeps a reference to data in a *Frame, because gRPC frees data
// as soon as Unmarshal returns. Other values go to the proto codec.
func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*Frame)
	if !ok {
		// A dynamicpb message's decoder can panic on malformed bytes.
		return safeproto.Guard(func() error { return c.base.Unmarshal(data, v) })
	}
	if f == nil {
		return errNilFrame
	}
	f.Free()
	data.Ref()
	f.data = data
	return nil
}

// Name returns "proto".
func (codec) Name() string { return grpcproto.Name }

// Messages converts between Frames and bytes for policies that keep
// messages past a call or send messages of their own, such as the response
// cache (its cache.Codec). It also accepts proto.Messages, which the
// server's codec accepts too.
type Messages struct{}

// NewMessage returns an empty *Frame.
func (Messages) NewMessage() any { return new(Frame) }

// Marshal returns a copy of a Frame's bytes, or a proto.Message's encoding.
func (Messages) Marshal(m any) ([]byte, error) {
	if f, ok := m.(*Frame); ok {
		return f.Bytes(), nil
	}
	bs, err := theCodec.base.Marshal(m)
	if err != nil {
		return nil, err
	}
	defer bs.Free()
	return bs.Materialize(), nil
}

// Unmarshal makes a *Frame hold b, without copying it (b must not be
// modified afterwards), or decodes b into a proto.Message.
func (Messages) Unmarshal(b []byte, m any) error {
	if f, ok := m.(*Frame); ok {
		if f == nil {
			return errNilFrame
		}
		f.Free()
		if len(b) > 0 {
			f.data = mem.BufferSlice{mem.SliceBuffer(b)}
		}
		return nil
	}
	return theCodec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}
