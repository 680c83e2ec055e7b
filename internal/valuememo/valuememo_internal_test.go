package valuememo

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestTable: a value's own result comes back, whichever value last took
// its slot; a value of the same length as the one in its slot is not
// taken for it; values over the limit are not remembered; the slots are
// made by the first Put and never outnumbered.
func TestTable(t *testing.T) {
	tb := New[string](16, 64, 0)
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
	tb := New[int](4, 0, 0)
	b := []byte("secret-value")
	v := string(b) // a copy already; the entry must hold its own too
	tb.Put(v, 1)
	e := tb.slot(*tb.slots.Load(), v).Load()
	if e == nil || bytesOf(e.value)[0] == 0 || &bytesOf(e.value)[0] == &bytesOf(v)[0] {
		t.Fatal("the entry shares the value's memory")
	}
}

// TestBudget: the values held never exceed the table's budget, whatever
// is put and from how many goroutines; a value that fits only after its
// slot's old value leaves replaces it; replaced and refused values give
// their bytes back.
func TestBudget(t *testing.T) {
	const budget = 1000
	tb := New[int](64, 400, budget)
	long := func(i int) string { return strconv.Itoa(i) + strings.Repeat("x", 300) }
	for i := range 10 {
		tb.Put(long(i), i)
	}
	remembered := 0
	for i := range 10 {
		if _, ok := tb.Get(long(i)); ok {
			remembered++
		}
	}
	if n, b := tb.Len(), tb.Bytes(); remembered == 0 || remembered > 3 || n != remembered || b > budget || b != heldBytes(tb) {
		t.Fatalf("%d of %d values remembered, %d bytes held (counted %d), budget %d", remembered, n, heldBytes(tb), b, budget)
	}
	// Short values still fit beside the long ones, and a value whose slot
	// held a longer one replaces it with the budget spent.
	tb.Put("short", 1)
	if _, ok := tb.Get("short"); !ok {
		t.Fatal("a short value did not fit in the budget's remainder")
	}

	// One slot, its budget spent: a value as long replaces the old one, a
	// longer one is refused and the old one stays.
	one := New[int](1, 400, 301)
	one.Put(long(0), 0)
	one.Put(long(1), 1)
	if r, ok := one.Get(long(1)); !ok || r != 1 || one.Bytes() != 301 {
		t.Fatalf("the replacing value: %d, %v, %d bytes", r, ok, one.Bytes())
	}
	one.Put(long(2)+"zz", 2)
	if _, ok := one.Get(long(2) + "zz"); ok || one.Bytes() != 301 {
		t.Fatalf("a value over the budget replaced the slot's (%d bytes held)", one.Bytes())
	}
	if _, ok := one.Get(long(1)); !ok {
		t.Fatal("a refused value evicted the slot's value")
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				v := strconv.Itoa(g*10000+i) + strings.Repeat("y", i%350)
				tb.Put(v, i)
				if b := tb.Bytes(); b > budget {
					t.Errorf("%d bytes held, budget %d", b, budget)
					return
				}
			}
		})
	}
	wg.Wait()
	if b := tb.Bytes(); b > budget || b != heldBytes(tb) {
		t.Fatalf("%d bytes counted, %d held, budget %d", b, heldBytes(tb), budget)
	}
}

// heldBytes adds up the values in tb's slots.
func heldBytes[R any](tb *Table[R]) int {
	n := 0
	for i := range *tb.slots.Load() {
		if e := (*tb.slots.Load())[i].Load(); e != nil {
			n += len(e.value)
		}
	}
	return n
}

// TestEqual: equal agrees with == for every length around the word size
// and for a difference in each byte.
func TestEqual(t *testing.T) {
	for n := range 40 {
		a := strings.Repeat("k", n)
		if !equal(a, strings.Clone(a)) {
			t.Fatalf("length %d: equal values differ", n)
		}
		for i := range n {
			b := []byte(a)
			b[i] ^= 0x80
			if equal(a, string(b)) {
				t.Fatalf("length %d: a difference at %d was not seen", n, i)
			}
		}
		if equal(a, a+"k") {
			t.Fatalf("lengths %d and %d compared equal", n, n+1)
		}
	}
}

func FuzzEqual(f *testing.F) {
	f.Add("bearer-token", "bearer-tokeN")
	f.Add(strings.Repeat("a", 17), strings.Repeat("a", 17))
	f.Fuzz(func(t *testing.T, a, b string) {
		if equal(a, b) != (a == b) {
			t.Fatalf("equal(%q, %q) = %v", a, b, !(a == b))
		}
	})
}

func BenchmarkGet(b *testing.B) {
	tb := New[[32]byte](4096, 0, 0)
	v := "tgk_0123456789abcdef0123456789abcdef01234567"
	tb.Put(v, [32]byte{1})
	for b.Loop() {
		if _, ok := tb.Get(v); !ok {
			b.Fatal("not remembered")
		}
	}
}

// BenchmarkGetLong is a hit on a 1,200-byte token: the seeded hash that
// picks its slot and the constant-time comparison.
func BenchmarkGetLong(b *testing.B) {
	tb := New[[32]byte](1024, 8<<10, 256<<10)
	v := strings.Repeat("eyJzdWIiOiJ1c2VyLTEifQ", 60)[:1200]
	tb.Put(v, [32]byte{1})
	for b.Loop() {
		if _, ok := tb.Get(v); !ok {
			b.Fatal("not remembered")
		}
	}
}
