package valuememo

import (
	"strconv"
	"strings"
	"testing"
)

// TestTable: a value's own result comes back, whichever value last took
// its slot; a value of the same length as the one in its slot is not
// taken for it; values over the limit are not remembered; the slots are
// made by the first Put and never outnumbered.
func TestTable(t *testing.T) {
	tb := New[string](16, 64)
	if tb.slots.Load() != nil {
		t.Fatal("slots made before any value was remembered")
	}
	if _, ok := tb.Get("a"); ok {
		t.Fatal("an empty table remembered a value")
	}
	values := []string{"", "a", "bench-caller", strings.Repeat("y", 64)}
	for _, v := range values {
		tb.Put(v, "r:"+v)
	}
	for _, v := range values {
		if r, ok := tb.Get(v); ok && r != "r:"+v {
			t.Fatalf("%q: result %q, want its own", v, r)
		}
	}
	last := values[len(values)-1]
	if r, ok := tb.Get(last); !ok || r != "r:"+last {
		t.Fatalf("%q, the last value put, not remembered (%q, %v)", last, r, ok)
	}
	long := strings.Repeat("z", 65)
	tb.Put(long, "long")
	if _, ok := tb.Get(long); ok {
		t.Fatal("a value over the limit was remembered")
	}

	other := "bench-calleR" // the same length as a remembered value
	tb.slot(*tb.slots.Load(), other).Store(&entry[string]{value: "bench-caller", result: "r:bench-caller"})
	if r, ok := tb.Get(other); ok {
		t.Fatalf("a value was given another's result %q", r)
	}

	for i := range 1000 {
		tb.Put("value-"+strconv.Itoa(i), "x")
	}
	if n := tb.Len(); n > 16 {
		t.Fatalf("%d slots filled, more than the table's 16", n)
	}
}

// TestPutCopies: an entry does not keep the caller's bytes alive or see
// them change.
func TestPutCopies(t *testing.T) {
	tb := New[int](4, 0)
	b := []byte("secret-value")
	v := string(b) // a copy already; the entry must hold its own too
	tb.Put(v, 1)
	e := tb.slot(*tb.slots.Load(), v).Load()
	if e == nil || bytesOf(e.value)[0] == 0 || &bytesOf(e.value)[0] == &bytesOf(v)[0] {
		t.Fatal("the entry shares the value's memory")
	}
}

func BenchmarkGet(b *testing.B) {
	tb := New[[32]byte](4096, 0)
	v := "tgk_0123456789abcdef0123456789abcdef01234567"
	tb.Put(v, [32]byte{1})
	for b.Loop() {
		if _, ok := tb.Get(v); !ok {
			b.Fatal("not remembered")
		}
	}
}
