package gateway

import (
	"regexp"
	"strings"
	"testing"
)

// stageIDPattern is the syntax isStageID checks.
var stageIDPattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

func TestIsStageID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"prod", true},
		{"a", true},
		{"a1", true},
		{"v1-beta", true},
		{"a" + strings.Repeat("b", 62), true},
		{"a" + strings.Repeat("b", 63), false},
		{"", false},
		{"1a", false},
		{"-a", false},
		{"a-", false},
		{"Prod", false},
		{"pr_d", false},
		{"pr%2Fd", false},
		{"pr.d", false},
		{"é", false},
	} {
		if got := isStageID(tc.id); got != tc.want || stageIDPattern.MatchString(tc.id) != tc.want {
			t.Errorf("isStageID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// FuzzIsStageID: isStageID agrees with the stage ID syntax's regular
// expression.
func FuzzIsStageID(f *testing.F) {
	for _, s := range []string{"prod", "a-b", "a-", "9", "", "x\x00", strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isStageID(s), stageIDPattern.MatchString(s); got != want {
			t.Fatalf("isStageID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
