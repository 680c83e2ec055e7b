package websocket

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// stillClock is a clock that never moves: registered connections' timers
// never fire.
func stillClock() Option { return WithClock(testkit.NewClock(time.Unix(0, 0))) }

// TestApply runs each operation of the path local and forwarded callback
// calls share, on connections registered but not served (their messages
// wait in their queues).
func TestApply(t *testing.T) {
	r := NewRegistry(stillClock())
	small := LimitsOf(nil)
	small.MaxMessageBytes, small.SendQueueSize = 8, 2
	a := r.Register(Info{ID: "a", Stage: "s"}, small, nil, nil)
	r.Register(Info{ID: "b", Stage: "s"}, small, nil, []string{"g"})
	r.Register(Info{ID: "c", Stage: "other"}, small, nil, []string{"g"})
	cases := []struct {
		call Call
		want Result
		err  error
	}{
		{Call{Op: OpPostToConnection, ConnectionID: "a", Data: []byte("hi")}, Result{Sent: 1}, nil},
		{Call{Op: OpPostToConnection, ConnectionID: "a", Data: []byte("too large")}, Result{}, ErrTooLarge},
		{Call{Op: OpPostToConnection, ConnectionID: "nope"}, Result{}, ErrGone},
		{Call{Op: OpAddToGroup, ConnectionID: "a", Group: "g"}, Result{}, nil},
		{Call{Op: OpPostToGroup, Stage: "s", Group: "g", Data: []byte("g")}, Result{Sent: 2}, nil},
		{Call{Op: OpRemoveFromGroup, ConnectionID: "a", Group: "g"}, Result{}, nil},
		// a's queue (2) is full now: dropped, and a is closed.
		{Call{Op: OpPostToStage, Stage: "s", Data: []byte("all")}, Result{Sent: 1, Dropped: 1}, nil},
		{Call{Op: OpPostToStage, Stage: "s", Data: []byte("far too large")}, Result{}, ErrTooLarge},
		{Call{Op: OpDeleteConnection, ConnectionID: "b"}, Result{}, nil},
		{Call{Op: "unknown", ConnectionID: "c"}, Result{}, ErrInvalid},
	}
	for _, tc := range cases {
		got, err := r.Apply(tc.call)
		if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s %s: %+v, %v; want %+v, %v", tc.call.Op, tc.call.ConnectionID, got, err, tc.want, tc.err)
		}
	}
	if groups := a.Groups(); len(groups) != 0 {
		t.Errorf("a's groups %v", groups)
	}
}

// FuzzApply: a call from another node (JSON from Redis) never crashes the
// registry, and every error it ends with has a reason the caller's node
// maps back to the same error.
func FuzzApply(f *testing.F) {
	for _, s := range []string{
		`{"op":"post","id":"a","data":"aGk="}`, `{"op":"stage","stage":"s","data":"eA=="}`,
		`{"op":"join","id":"a","group":"g"}`, `{"op":"leave","id":"a","group":""}`,
		`{"op":"delete","id":"a"}`, `{"op":"group","stage":"s","group":"g","binary":true}`, `{"op":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var call Call
		if json.Unmarshal(b, &call) != nil {
			return
		}
		r := NewRegistry(stillClock())
		r.Register(Info{ID: "a", Stage: "s"}, LimitsOf(nil), nil, []string{"g"})
		_, err := r.Apply(call)
		if err == nil {
			return
		}
		reason := Reason(err)
		if reason == "" {
			t.Fatalf("%+v: error %v has no reason", call, err)
		}
		if back := FromReason(reason, err.Error()); Reason(back) != reason || back.Error() != err.Error() {
			t.Fatalf("%v came back as %v", err, back)
		}
	})
}
