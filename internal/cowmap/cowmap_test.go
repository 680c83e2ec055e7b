package cowmap_test

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/cowmap"
)

// TestAgainstMap applies random updates to a Map and a Go map and checks
// that they agree after each, and that earlier versions never change.
func TestAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m cowmap.Map[string, int]
	want := map[string]int{}
	type version struct {
		m    cowmap.Map[string, int]
		want map[string]int
	}
	var versions []version
	for i := range 5000 {
		k := strconv.Itoa(r.IntN(600))
		if r.IntN(3) == 0 {
			m = m.Without(k)
			delete(want, k)
		} else {
			m = m.With(k, i)
			want[k] = i
		}
		if i%250 == 0 {
			versions = append(versions, version{m, maps.Clone(want)})
		}
	}
	versions = append(versions, version{m, want}, version{cowmap.From(want), want})
	for i, v := range versions {
		if v.m.Len() != len(v.want) {
			t.Fatalf("version %d: Len = %d, want %d", i, v.m.Len(), len(v.want))
		}
		got := maps.Collect(v.m.All())
		if !maps.Equal(got, v.want) {
			t.Fatalf("version %d: entries differ", i)
		}
		for k, x := range v.want {
			if y, ok := v.m.Get(k); !ok || y != x {
				t.Fatalf("version %d: Get(%s) = %d, %v; want %d", i, k, y, ok, x)
			}
		}
		if _, ok := v.m.Get("absent"); ok {
			t.Fatalf("version %d: Get of an absent key", i)
		}
	}
	var zero cowmap.Map[string, int]
	if _, ok := zero.Get("x"); ok || zero.Len() != 0 || zero.Without("x").Len() != 0 {
		t.Fatal("the zero Map is not empty")
	}
}

// BenchmarkWith is the cost of one update of a map of n entries.
func BenchmarkWith(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			src := map[string]int{}
			for i := range n {
				src["apis/shop/stages/s"+strconv.Itoa(i)] = i
			}
			m := cowmap.From(src)
			b.ReportAllocs()
			for b.Loop() {
				m = m.With("apis/shop/stages/s0", 1)
			}
		})
	}
}
