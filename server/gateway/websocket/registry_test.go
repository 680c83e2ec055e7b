package websocket

import (
	"errors"
	"strconv"
	"testing"
)

func TestRegistryGroups(t *testing.T) {
	r := NewRegistry()
	a := r.Register(Info{ID: "a", Stage: "s1"}, LimitsOf(nil), nil, []string{"g1", "bad group"})
	b := r.Register(Info{ID: "b", Stage: "s1"}, LimitsOf(nil), nil, nil)
	other := r.Register(Info{ID: "c", Stage: "s2"}, LimitsOf(nil), nil, []string{"g1"})
	if got := len(r.members("s1", "g1")); got != 1 {
		t.Errorf("g1 of s1 has %d members, want 1 (groups are per stage)", got)
	}
	if got := len(r.members("s1", "")); got != 2 || r.Len() != 3 {
		t.Errorf("s1 has %d members, registry %d", got, r.Len())
	}
	if got := a.Groups(); len(got) != 1 || got[0] != "g1" {
		t.Errorf("a's groups %v (an invalid name is ignored)", got)
	}
	for i := range MaxGroups {
		if err := r.join(b, "g"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.join(b, "one-too-many"); !errors.Is(err, ErrInvalid) {
		t.Errorf("group %d: %v, want ErrInvalid", MaxGroups+1, err)
	}
	if err := r.join(b, "g1"); err != nil {
		t.Errorf("joining again: %v", err)
	}
	r.leave(b, "g1")
	if got := len(r.members("s1", "g1")); got != 1 {
		t.Errorf("after leave, g1 has %d members", got)
	}
	r.Abort(b)
	if err := r.join(b, "x"); !errors.Is(err, ErrGone) {
		t.Errorf("join after removal: %v", err)
	}
	if err := b.Send([]byte("x"), false); !errors.Is(err, ErrGone) {
		t.Errorf("send after removal: %v", err)
	}
	if _, ok := r.Get("b"); ok || len(r.members("s1", "g2")) != 0 {
		t.Error("a removed connection is still indexed")
	}
	// Queued before the upgrade, up to the queue size.
	small := Limits{SendQueueSize: 2, MaxMessageBytes: 10}
	q := r.Register(Info{ID: "q", Stage: "s1"}, small, nil, nil)
	for range 2 {
		if err := q.Send([]byte("x"), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send([]byte("x"), false); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third message: %v, want ErrQueueFull", err)
	}
	_ = other
}
