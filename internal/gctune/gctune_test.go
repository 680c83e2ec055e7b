package gctune_test

import (
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
		{"unset: the default", nil, 100, gctune.DefaultPercent},
		{"set: left as the runtime applied it", map[string]string{"GOGC": "150"}, 150, 150},
		{"off stays off", map[string]string{"GOGC": "off"}, -1, -1},
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
