package cache

import (
	"bytes"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

// TestCapacityBound: entries are weighed by their size, and the cache stays
// within its capacity however much is put in it.
func TestCapacityBound(t *testing.T) {
	const capacity = 16 << 10
	o := options{now: time.Now}
	sc, err := newStageCache(capacity, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.close()
	msg := bytes.Repeat([]byte("x"), 1000)
	for i := range 500 {
		e := &entry{msg: msg, expires: time.Now().Add(time.Hour), ttl: time.Hour}
		sc.put(sha256.Sum256([]byte(strconv.Itoa(i))), e, 0)
	}
	sc.entries.CleanUp()
	if w := sc.entries.WeightedSize(); w > capacity {
		t.Errorf("weighted size %d over the capacity %d", w, capacity)
	}
	if n := sc.entries.EstimatedSize(); n == 0 || n > capacity/1000 {
		t.Errorf("%d entries of ~1.2 KiB kept in %d bytes", n, capacity)
	}
	if w := (&entry{msg: msg}).weight(); w < 1000 {
		t.Errorf("an entry of a 1000-byte message weighs %d", w)
	}
}
