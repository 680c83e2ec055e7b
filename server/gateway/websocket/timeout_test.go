package websocket

import (
	"context"
	"testing"
	"time"
)

// deadlineOnly is a context whose deadline has a value but whose timer
// has not fired yet (Err is nil), as a route timeout's is for a moment
// after the backend ended the call at the same deadline.
type deadlineOnly struct {
	context.Context
	at time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.at, true }

// timedOut decides by the clock too: the $connect call a backend ended
// at the route deadline is the route timeout even before ctx's timer
// fired (the flake of TestWebSocketConnectRefusals).
func TestTimedOut(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"no deadline", context.Background(), false},
		{"deadline passed, timer not fired", deadlineOnly{context.Background(), time.Now().Add(-time.Millisecond)}, true},
		{"deadline ahead", deadlineOnly{context.Background(), time.Now().Add(time.Hour)}, false},
		{"context expired", expired, true},
	} {
		if got := timedOut(tt.ctx); got != tt.want {
			t.Errorf("%s: timedOut = %v, want %v", tt.name, got, tt.want)
		}
	}
}
