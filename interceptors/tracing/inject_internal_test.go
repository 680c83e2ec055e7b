package tracing

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// TestInjectW3C: injectW3C sets what propagation.TraceContext's Inject
// sets, for sampled and unsampled contexts, every flag, with and without
// a tracestate, and nothing for an invalid context.
func TestInjectW3C(t *testing.T) {
	ts, err := trace.ParseTraceState("vendor=a,other=b")
	if err != nil {
		t.Fatal(err)
	}
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	var contexts []trace.SpanContext
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsRandom, 0xff} {
		for _, state := range []trace.TraceState{{}, ts} {
			contexts = append(contexts, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, TraceState: state}))
		}
	}
	contexts = append(contexts, trace.SpanContext{}, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid}))
	for _, sc := range contexts {
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		want := metadata.MD{}
		propagation.TraceContext{}.Inject(ctx, Carrier(want))
		tc := &tracedCall{}
		tc.entries = tc.room[:0:len(tc.room)]
		tc.injectW3C(ctx)
		got := metadata.MD{}
		for _, e := range tc.entries {
			got[e.Key] = e.Values
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v (-TraceContext +injectW3C):\n%s", sc, diff)
		}
	}
}
