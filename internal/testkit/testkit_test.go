package testkit_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/internal/clock"
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

func TestClockTimers(t *testing.T) {
	c := testkit.NewClock(time.Unix(0, 0))
	var fired []string
	a := c.AfterFunc(2*time.Second, func() { fired = append(fired, "a") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "b") })
	var again clock.Timer
	again = c.AfterFunc(500*time.Millisecond, func() {
		fired = append(fired, "again")
		if len(fired) < 3 {
			again.Reset(time.Second) // due again within the same Advance
		}
	})
	stopped := c.AfterFunc(time.Second, func() { fired = append(fired, "stopped") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true then false")
	}
	if n := c.Armed(); n != 3 {
		t.Fatalf("Armed = %d, want 3", n)
	}
	c.Advance(1900 * time.Millisecond)
	if want := []string{"again", "b", "again"}; !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if !a.Reset(time.Second) {
		t.Fatal("Reset of an armed timer reported false")
	}
	c.Advance(200 * time.Millisecond) // a's old deadline: not due anymore
	if len(fired) != 3 {
		t.Fatalf("fired %v", fired)
	}
	c.Advance(time.Second)
	if fired[len(fired)-1] != "a" || c.Armed() != 0 {
		t.Fatalf("fired %v, armed %d", fired, c.Armed())
	}
}
