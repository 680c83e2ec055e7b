package gctune_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/gctune"
)

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		name    string
		env     map[string]string
		current int // what the runtime has when Apply runs
		want    int
	}{
		{"set: left as the runtime applied it", map[string]string{"GOGC": "150"}, 150, 150},
		{"off stays off", map[string]string{"GOGC": "off"}, -1, -1},
		{"memory limit: the default under Go's limit", map[string]string{"GOMEMLIMIT": "1GiB"}, 100, gctune.DefaultPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.current)
			got := gctune.Apply(func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("Apply = %d, want %d", got, tt.want)
			}
			if now := debug.SetGCPercent(tt.current); now != tt.want {
				t.Errorf("runtime GOGC = %d after Apply, want %d", now, tt.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name              string
		live, roots, soft uint64
		want              int
	}{
		{"empty heap: the default", 0, 0, 16 * mib, gctune.DefaultPercent},
		{"small heap: the default", 2 * mib, 1 * mib, 16 * mib, gctune.DefaultPercent},
		{"at a fifth of the target: the default", 3 * mib, 0, 16 * mib, gctune.DefaultPercent},
		{"goal held at the target", 4 * mib, 0, 16 * mib, 300},
		{"roots count", 4 * mib, 2 * mib, 16 * mib, 200},
		{"half the target: Go's default", 8 * mib, 0, 16 * mib, gctune.MinPercent},
		{"past half: never below Go's default", 12 * mib, 0, 16 * mib, gctune.MinPercent},
		{"past the target", 64 * mib, 0, 16 * mib, gctune.MinPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gctune.Percent(tt.live, tt.roots, tt.soft); got != tt.want {
				t.Errorf("Percent(%d, %d, %d) = %d, want %d", tt.live, tt.roots, tt.soft, got, tt.want)
			}
		})
	}
}

// TestTunerFollowsLiveHeap: a live heap larger than half the soft target
// brings GOGC down to MinPercent after a collection, and back up to
// DefaultPercent once it is garbage.
func TestTunerFollowsLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	stop := gctune.Start(16 << 20)
	defer stop()
	if got := gcPercent(); got != gctune.DefaultPercent {
		t.Fatalf("GOGC = %d at start, want %d", got, gctune.DefaultPercent)
	}
	live := make([][]byte, 32)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	waitForPercent(t, gctune.MinPercent)
	runtime.KeepAlive(live)
	live = nil
	waitForPercent(t, gctune.DefaultPercent)
}

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// waitForPercent collects until the tuner (which runs after a collection,
// on the finalizer goroutine) has set GOGC to want.
func waitForPercent(t *testing.T, want int) {
	t.Helper()
	got := 0
	for range 200 {
		runtime.GC()
		runtime.Gosched()
		if got = gcPercent(); got == want {
			return
		}
	}
	t.Fatalf("GOGC = %d after 200 collections, want %d", got, want)
}
