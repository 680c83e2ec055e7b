package quota

import (
	"context"
	"testing"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// blockingStore is a fakeStore whose AddCounts waits for release, as a
// store's writes wait for its write lock while another writer holds it.
type blockingStore struct {
	*fakeStore
	entered, release chan struct{}
}

func (s *blockingStore) AddCounts(ctx context.Context, deltas []Delta) error {
	close(s.entered)
	<-s.release
	return s.fakeStore.AddCounts(ctx, deltas)
}

// TestLoadDoesNotWaitForFlush checks that a load of stored counts (a key's
// first call in a period) goes on while a flush waits for the Store (issue
// 23: a slow admin write held every new key's first call), counting the
// calls the flush carries, and that the entry is exact again after it.
func TestLoadDoesNotWaitForFlush(t *testing.T) {
	st := &blockingStore{fakeStore: newFakeStore(), entered: make(chan struct{}), release: make(chan struct{})}
	clk := newFakeClock(epoch)
	c := NewCounter(st, WithClock(clk.Now))
	daily := dailyPlan(10)
	for range 3 {
		mustTake(t, c, daily, "k")
	}
	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush(context.Background()) }()
	<-st.entered

	// The same key under a weekly quota loads its counts again, and a new
	// key loads its own: neither waits for the flush.
	weekly := newPlan("usagePlans/gold", 10, adminv1.QuotaSettings_PERIOD_WEEK, 0)
	took := make(chan int64, 2)
	go func() {
		_, rem, _ := mustTake(t, c, weekly, "k")
		took <- rem
		_, rem, _ = mustTake(t, c, daily, "new")
		took <- rem
	}()
	for _, want := range []int64{6, 9} { // the 3 calls being flushed count
		select {
		case rem := <-took:
			if rem != want {
				t.Errorf("during the flush: remaining %d, want %d", rem, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a load waited for the flush")
		}
	}
	close(st.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	// Loaded again from the Store (3 stored, 1 pending), then counted.
	if _, rem, _ := mustTake(t, c, weekly, "k"); rem != 5 {
		t.Errorf("after the flush: remaining %d, want 5", rem)
	}
}
