package h2relay_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// TestSetHeaderJoins: response header metadata set several times leaves
// with every value, and the first map handed over is not changed by the
// later ones.
func TestSetHeaderJoins(t *testing.T) {
	first := metadata.Pairs("x-request-id", "r1")
	h := func(st *h2relay.Stream) {
		_ = st.SetHeader(first)
		_ = st.SetHeader(metadata.Pairs("x-request-id", "r2", "x-cache", "miss"))
		_ = st.SendHeader(metadata.Pairs("x-sent", "1"))
	}
	rc := dialRaw(t, h)
	rc.headers(1, "application/grpc", false)
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
	want := map[string][]string{
		"content-type": {"application/grpc"},
		"x-request-id": {"r1", "r2"},
		"x-cache":      {"miss"},
		"x-sent":       {"1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(metadata.Pairs("x-request-id", "r1"), first); diff != "" {
		t.Errorf("the first SetHeader's map changed (-want +got):\n%s", diff)
	}
}
