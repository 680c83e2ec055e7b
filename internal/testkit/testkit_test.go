package testkit_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testkit.NewClock(start)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now after Set = %v", got)
	}
}

func TestServerStream(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	s := testkit.NewServerStream(ctx)
	if s.Context() != ctx {
		t.Fatal("Context is not the stream's")
	}
	_ = s.SetHeader(metadata.Pairs("a", "1"))
	_ = s.SendHeader(metadata.Pairs("a", "2"))
	s.SetTrailer(metadata.Pairs("t", "x"))
	if got := s.Header().Get("a"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("header a = %v", got)
	}
	if got := s.Trailer().Get("t"); len(got) != 1 {
		t.Errorf("trailer t = %v", got)
	}
	if err := s.RecvMsg(nil); !errors.Is(err, io.EOF) {
		t.Errorf("RecvMsg = %v, want io.EOF", err)
	}
}
