package h2relay

import (
	"context"
	"reflect"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// streamCtx is a Stream's context: the stream's cancellation (and the
// client's deadline) over the connection's context, answering the
// stream's own values itself — the Stream (FromContext), the incoming
// metadata and the grpc.ServerTransportStream — where a chain of
// context.WithValue would allocate one context per value. It lives in the
// Stream. Cancellation stays the standard contexts' below it, so that
// context.Cause and contexts derived from it work as on any other.
type streamCtx struct {
	context.Context
	st *Stream
}

// Value answers the stream's keys and asks the contexts below for others.
func (c *streamCtx) Value(key any) any {
	switch key {
	case any(streamKey{}):
		return c.st
	case incomingMDKey:
		return c.st.md
	case transportStreamKey:
		return transportStream{c.st}
	}
	return c.Context.Value(key)
}

// incomingMDKey and transportStreamKey are grpc-go's context keys of the
// incoming metadata and the server transport stream, read from what its
// own accessors ask a context for (the key types are unexported). Both are
// nil when grpc-go's accessors do not find the values a streamCtx answers
// with them: streams then carry them in context.WithValue, as before.
var incomingMDKey, transportStreamKey any

func init() { incomingMDKey, transportStreamKey = streamContextKeys() }

// keyRecorder is a context that remembers the last key it was asked for.
type keyRecorder struct {
	context.Context
	key any
}

func (r *keyRecorder) Value(key any) any {
	r.key = key
	return nil
}

// streamContextKeys finds grpc-go's keys and checks that its accessors
// read the values back from a streamCtx.
func streamContextKeys() (md, ts any) {
	r := &keyRecorder{Context: context.Background()}
	_, _ = metadata.FromIncomingContext(r)
	md = r.key
	r.key = nil
	_ = grpc.ServerTransportStreamFromContext(r)
	ts = r.key
	if md == nil || ts == nil || !reflect.TypeOf(md).Comparable() || !reflect.TypeOf(ts).Comparable() || md == ts {
		return nil, nil
	}
	incomingMDKey, transportStreamKey = md, ts
	defer func() { incomingMDKey, transportStreamKey = nil, nil }()
	st := &Stream{method: "/check/Keys", md: metadata.MD{"k": {"v"}}}
	ctx := &streamCtx{Context: context.Background(), st: st}
	got, ok := metadata.FromIncomingContext(ctx)
	if !ok || len(got) != 1 || len(got["k"]) != 1 || got["k"][0] != "v" {
		return nil, nil
	}
	if m, ok := grpc.Method(ctx); !ok || m != st.method {
		return nil, nil
	}
	return md, ts
}

// newStreamContext sets st's context over parent, the stream's
// cancellation context.
func (st *Stream) newStreamContext(parent context.Context) context.Context {
	if incomingMDKey == nil {
		ctx := context.WithValue(parent, streamKey{}, st)
		ctx = metadata.NewIncomingContext(ctx, st.md)
		return grpc.NewContextWithServerTransportStream(ctx, transportStream{st})
	}
	st.sctx = streamCtx{Context: parent, st: st}
	return &st.sctx
}
