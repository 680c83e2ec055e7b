package gateway_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// BenchmarkStageScale serves n stages of one API, each with its own
// deployment of the same descriptor set (as n deploys of an unchanged API
// make), and measures the reload after a change to one stage (a PATCH) and
// the heap each stage costs. "delta" is the reload the server does after
// an admin write (Config.Delta: the changed stage only), "full" a reload
// given every stage (after another node's change).
func BenchmarkStageScale(b *testing.B) {
	be := backend(b)
	for _, n := range []int{10, 100, 1000} {
		for _, delta := range []bool{true, false} {
			name := fmt.Sprintf("stages=%d/full", n)
			if delta {
				name = fmt.Sprintf("stages=%d/delta", n)
			}
			b.Run(name, func(b *testing.B) {
				tg := startGateway(b)
				entries := make([]routing.Entry, n)
				for i := range n {
					entries[i] = entry("shop", "s"+strconv.Itoa(i), deployment(b, "shop", "d"+strconv.Itoa(i), be.Addr()), nil)
				}
				heapBefore := heapAllocated() // the entries are the caller's, not the gateway's
				tg.load(b, entries...)
				perStage := float64(heapAllocated()-heapBefore) / float64(n)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					// A PATCH of one stage: a new message with one variable changed.
					st := proto.CloneOf(entries[0].Stage)
					st.Variables = map[string]string{"v": strconv.Itoa(i)}
					entries[0].Stage = st
					i++
					if delta {
						tg.loadDelta(b, entries[0])
					} else {
						tg.load(b, entries...)
					}
				}
				b.ReportMetric(perStage, "heapB/stage")
			})
		}
	}
}

// BenchmarkOtherAPIChange measures the reload after a change to another
// API while 1,000 stages of one API are served.
func BenchmarkOtherAPIChange(b *testing.B) {
	be := backend(b)
	tg := startGateway(b)
	var entries []routing.Entry
	for i := range 1000 {
		entries = append(entries, entry("shop", "s"+strconv.Itoa(i), deployment(b, "shop", "d"+strconv.Itoa(i), be.Addr()), nil))
	}
	other := entry("other", "prod", deployment(b, "other", "v1", be.Addr()), nil)
	entries = append(entries, other)
	tg.load(b, entries...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		st := proto.CloneOf(other.Stage)
		st.Variables = map[string]string{"v": strconv.Itoa(i)}
		entries[len(entries)-1].Stage = st
		i++
		tg.load(b, entries...)
	}
}

// heapAllocated returns the live heap after a collection.
func heapAllocated() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRedeploys redeploys one stage b.N times, each time to a new
// deployment (read afresh, as from the store), and reports the heap then
// against the heap after the first deploy: retired runtimes must be freed,
// not held for a grace period.
func BenchmarkRedeploys(b *testing.B) {
	be := backend(b)
	tg := startGateway(b)
	tg.load(b, entry("shop", "prod", deployment(b, "shop", "d0", be.Addr()), nil))
	steady := heapAllocated()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tg.load(b, entry("shop", "prod", deployment(b, "shop", "d"+strconv.Itoa(i+1), be.Addr()), nil))
	}
	b.StopTimer()
	b.ReportMetric(float64(heapAllocated())/float64(steady), "heap/steady")
}
