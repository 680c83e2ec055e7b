package resourceid

import (
	"regexp"
	"strings"
	"testing"
)

// pattern is the syntax Valid checks, as a regular expression.
var pattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

func TestValid(t *testing.T) {
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
		if got := Valid(tc.id); got != tc.want || pattern.MatchString(tc.id) != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// FuzzValid: Valid agrees with the syntax's regular expression.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"prod", "a-b", "a-", "9", "", "x\x00", strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*MaxLen {
			// Too long for either (TestValid has the length rule); the
			// pattern's matcher is slow on the long inputs the fuzzer
			// grows, which can run a short fuzzing budget out while it
			// minimizes.
			t.Skip()
		}
		if got, want := Valid(s), pattern.MatchString(s); got != want {
			t.Fatalf("Valid(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
