package stagevars_test

import (
	"testing"

	"github.com/tollgate-gw/tollgate/internal/stagevars"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"host": "orders.internal", "port": "443"}
	tests := []struct{ in, want string }{
		{"${stageVariables.host}:${stageVariables.port}", "orders.internal:443"},
		{"https://${stageVariables.host}/v1", "https://orders.internal/v1"},
		{"${stageVariables.missing}:1", ":1"},
		{"no references", "no references"},
		{"${stageVariables.bad-name}", "${stageVariables.bad-name}"},
	}
	for _, tt := range tests {
		if got := stagevars.Expand(tt.in, func(n string) string { return vars[n] }); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
