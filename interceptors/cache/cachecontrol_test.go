package cache

import (
	"strings"
	"testing"
)

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		values       []string
		refresh, nos bool
	}{
		{nil, false, false},
		{[]string{"max-age=0"}, true, false},
		{[]string{"MAX-AGE=0"}, true, false},
		{[]string{`max-age="0"`}, true, false},
		{[]string{"max-age=00"}, true, false},
		{[]string{"max-age=10"}, false, false},
		{[]string{"max-age="}, false, false},
		{[]string{"public, max-age=0"}, true, false},
		{[]string{"public", " max-age = 0 "}, true, false},
		{[]string{"no-cache"}, true, true},
		{[]string{"no-store"}, false, true},
		{[]string{"private"}, false, true},
		{[]string{`private="set-cookie"`}, false, true},
		{[]string{`ext="a,max-age=0"`}, false, false},
		{[]string{`ext="a\",max-age=0"`}, false, false},
		{[]string{"s-maxage=0"}, false, false},
	}
	for _, tt := range tests {
		d := parseCacheControl(tt.values)
		if d.maxAgeZero != tt.refresh || d.noStore != tt.nos {
			t.Errorf("parseCacheControl(%q) = %+v, want max-age=0 %v no-store %v", tt.values, d, tt.refresh, tt.nos)
		}
	}
}

// FuzzParseCacheControl: any header parses, and without quotes one value
// listing directives means the same as the directives as separate values.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=0", "no-store, private", `a="b,c", max-age=0`, `"`, `\`, ",,,", "no-cache"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseCacheControl([]string{s})
		if strings.ContainsAny(s, `"\`) {
			return
		}
		if split := parseCacheControl(strings.Split(s, ",")); split != d {
			t.Errorf("parseCacheControl(%q) = %+v, split into values %+v", s, d, split)
		}
	})
}
