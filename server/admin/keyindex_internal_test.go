package admin

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeHash: decodeHash accepts exactly the 64-digit hex strings, as
// encoding/hex decodes them.
func FuzzDecodeHash(f *testing.F) {
	f.Add(strings.Repeat("ab", 32))
	f.Add(strings.Repeat("AB", 32))
	f.Add(strings.Repeat("g0", 32))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeHash(s)
		want, err := hex.DecodeString(s)
		wantOK := err == nil && len(want) == len(got)
		if ok != wantOK {
			t.Fatalf("decodeHash(%q) ok = %v, want %v", s, ok, wantOK)
		}
		if ok && !bytes.Equal(got[:], want) {
			t.Fatalf("decodeHash(%q) = %x, want %x", s, got, want)
		}
	})
}

// FuzzKeyChange: a change log entry decodes to the names written.
func FuzzKeyChange(f *testing.F) {
	f.Add("apiKeys/one", "usagePlans/gold")
	f.Fuzz(func(t *testing.T, key, plan string) {
		if key == "" || plan == "" || strings.ContainsAny(key+plan, "\n\r") {
			return // resource names hold neither
		}
		var got keyChange
		want := keyChange{keys: []string{key}, plans: []string{plan}}
		parseKeyChange(encodeKeyChange(want), &got)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(keyChange{})); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}
