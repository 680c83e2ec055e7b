package lazyregexp

import (
	"strings"
	"sync"
	"testing"
)

func TestMatchesLikeRegexp(t *testing.T) {
	r := New(`^\$\{stageVariables\.([A-Za-z0-9_]{1,64})\}$`)
	tests := []struct {
		in    string
		match bool
		sub   string
	}{
		{in: "${stageVariables.host}", match: true, sub: "host"},
		{in: "${stageVariables." + strings.Repeat("a", 65) + "}", match: false},
		{in: "${stage.host}", match: false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := r.MatchString(tt.in); got != tt.match {
				t.Errorf("MatchString = %v, want %v", got, tt.match)
			}
			m := r.FindStringSubmatch(tt.in)
			if tt.match && (len(m) != 2 || m[1] != tt.sub) {
				t.Errorf("FindStringSubmatch = %q, want [_ %q]", m, tt.sub)
			}
		})
	}
	if got := r.String(); got != `^\$\{stageVariables\.([A-Za-z0-9_]{1,64})\}$` {
		t.Errorf("String = %q", got)
	}
	braces := New(`\{[^}]*\}`)
	if got := braces.ReplaceAllString("/v1/{name}/x/{id}", "{}"); got != "/v1/{}/x/{}" {
		t.Errorf("ReplaceAllString = %q", got)
	}
	if got := braces.ReplaceAllStringFunc("{a}{b}", strings.ToUpper); got != "{A}{B}" {
		t.Errorf("ReplaceAllStringFunc = %q", got)
	}
}

func TestCompilesOnceOnFirstUse(t *testing.T) {
	r := &Regexp{str: `^a+$`} // as New outside a test binary
	if r.rx != nil {
		t.Fatal("compiled before first use")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !r.MatchString("aaa") {
				t.Error("no match")
			}
		})
	}
	wg.Wait()
	first := r.rx
	if first == nil || !r.MatchString("a") || r.rx != first {
		t.Error("not compiled exactly once")
	}
}

func TestMalformedPatternPanicsInTests(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New of a malformed pattern did not panic in a test binary")
		}
	}()
	New(`(`)
}
