package h2relay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// checkStreamContext returns what is wrong with a stream's context, as
// grpc-go's accessors and the context package see it.
func checkStreamContext(st *h2relay.Stream) error {
	ctx := st.Context()
	if h2relay.FromContext(ctx) != st {
		return errors.New("FromContext: not the stream")
	}
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok || len(md.Get("x-a")) != 2 || md.Get("x-a")[1] != "2" {
		return fmt.Errorf("FromIncomingContext: %v, %v", md, ok)
	}
	if v := metadata.ValueFromIncomingContext(ctx, "x-b"); len(v) != 1 || v[0] != "b" {
		return fmt.Errorf("ValueFromIncomingContext: %q", v)
	}
	if m, ok := grpc.Method(ctx); !ok || m != testgrpc.TestService_UnaryCall_FullMethodName {
		return fmt.Errorf("grpc.Method: %q, %v", m, ok)
	}
	if _, ok := peer.FromContext(ctx); !ok {
		return errors.New("no peer")
	}
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline from grpc-timeout")
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-set", "1")); err != nil {
		return fmt.Errorf("grpc.SetHeader: %w", err)
	}
	return nil
}

// TestStreamContext: a stream's context carries the stream, the incoming
// metadata, the method and the peer for grpc-go's accessors, the client's
// deadline, and a cancellation that contexts derived from it and
// context.Cause see when the client cancels.
func TestStreamContext(t *testing.T) {
	if !h2relay.StreamContextOwn() {
		t.Error("grpc-go's context keys were not found: streams fall back to a context.WithValue each")
	}
	checked := make(chan error, 1)
	ended := make(chan error, 1)
	conn := relayServer(t, func(st *h2relay.Stream) {
		checked <- checkStreamContext(st)
		child, cancel := context.WithCancel(st.Context())
		defer cancel()
		_ = st.SendHeader(nil)
		select {
		case <-child.Done():
			if context.Cause(st.Context()) == nil || context.Cause(child) != context.Cause(st.Context()) {
				ended <- fmt.Errorf("causes: stream %v, derived %v", context.Cause(st.Context()), context.Cause(child))
			} else {
				ended <- nil
			}
		case <-time.After(time.Minute):
			ended <- errors.New("the derived context was not cancelled")
		}
		st.Finish(child.Err())
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-a", "1", "x-a", "2", "x-b", "b")
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, testgrpc.TestService_UnaryCall_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-checked; err != nil {
		t.Error(err)
	}
	hdr, err := cs.Header()
	if err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-set"); len(got) != 1 || got[0] != "1" {
		t.Errorf("response header x-set = %q, want [1] (grpc.SetHeader on the stream's context)", got)
	}
	cancel()
	if err := <-ended; err != nil {
		t.Error(err)
	}
}

// TestSetHeaderField: a header entry set with SetHeaderField reaches the
// client as the same entry set with SetHeader would, alone or with other
// header metadata, whatever the key.
func TestSetHeaderField(t *testing.T) {
	type entry struct{ k, v string }
	tests := []struct {
		name    string
		before  metadata.MD // SetHeader before, if any
		entries []entry
	}{
		{name: "one", entries: []entry{{"x-request-id", "r1"}}},
		{name: "with SetHeader", before: metadata.Pairs("x-request-id", "r0", "x-cache", "miss"), entries: []entry{{"x-request-id", "r1"}}},
		{name: "two", entries: []entry{{"x-request-id", "r1"}, {"x-other", "o"}}},
		{name: "same key twice", entries: []entry{{"x-request-id", "r1"}, {"x-request-id", "r2"}}},
		{name: "binary", entries: []entry{{"x-trace-bin", "\x00\x01"}}},
		{name: "reserved", entries: []entry{{"grpc-status", "0"}, {"x-request-id", "r1"}}},
		{name: "pseudo", entries: []entry{{":status", "500"}}},
		{name: "hop-by-hop", entries: []entry{{"connection", "close"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := func(set func(st *h2relay.Stream, e entry)) map[string][]string {
				rc := dialRaw(t, func(st *h2relay.Stream) {
					if tt.before != nil {
						_ = st.SetHeader(tt.before)
					}
					for _, e := range tt.entries {
						set(st, e)
					}
					st.Finish(status.Error(codes.Unavailable, "after the headers"))
				})
				// SendHeader alone would send a header-only response
				// for an empty set: finishing sends the same either way.
				rc.headers(1, "application/grpc", true)
				var got map[string][]string
				rc.until("response headers", func(f http2.Frame) bool {
					mh, ok := f.(*http2.MetaHeadersFrame)
					if !ok || mh.StreamID != 1 {
						return false
					}
					got = map[string][]string{}
					for _, hf := range mh.RegularFields() {
						got[hf.Name] = append(got[hf.Name], hf.Value)
					}
					return true
				})
				return got
			}
			want := headers(func(st *h2relay.Stream, e entry) { _ = st.SetHeader(metadata.MD{e.k: {e.v}}) })
			got := headers(func(st *h2relay.Stream, e entry) { _ = st.SetHeaderField(e.k, e.v) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SetHeaderField's headers differ from SetHeader's (-SetHeader +SetHeaderField):\n%s", diff)
			}
		})
	}
}
