package admin

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/tollgate-gw/tollgate/internal/resourceid"
)

// checkID reports why id is not a valid resource ID, or "".
func checkID(id string) string {
	if id == "" {
		return "must not be empty"
	}
	if !resourceid.Valid(id) {
		return "must be 1-63 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (got " + quoteShort(id) + ")"
	}
	return ""
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// newID returns a random ID that is a valid resource ID, for Create calls that
// leave the ID to the server.
func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newUID returns a random 128-bit identifier in UUID text form.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// parseName checks s against a pattern such as "apis/*/routes/*" and returns
// the IDs in order. It returns ok=false when s does not have that shape or an
// ID is invalid.
func parseName(s, pattern string) (ids []string, ok bool) {
	got := strings.Split(s, "/")
	want := strings.Split(pattern, "/")
	if len(got) != len(want) {
		return nil, false
	}
	for i, w := range want {
		if w == "*" {
			if checkID(got[i]) != "" {
				return nil, false
			}
			ids = append(ids, got[i])
			continue
		}
		if got[i] != w {
			return nil, false
		}
	}
	return ids, true
}

// checkName reports in v why s is not a name of the pattern; field names the
// request field. It returns the IDs when valid.
func checkName(v *violations, field, s, pattern string) []string {
	if s == "" {
		v.add(field, "is required, of the form %q", pattern)
		return nil
	}
	ids, ok := parseName(s, pattern)
	if !ok {
		v.add(field, "must be a resource name of the form %q with IDs of lowercase letters, digits and hyphens (got %s)", pattern, quoteShort(s))
		return nil
	}
	return ids
}

// parentOf returns the name of the resource containing a child name, e.g.
// "apis/shop" for "apis/shop/routes/get-book".
func parentOf(child string) string {
	i := strings.LastIndexByte(child, '/')
	if i < 0 {
		return ""
	}
	j := strings.LastIndexByte(child[:i], '/')
	if j < 0 {
		return ""
	}
	return child[:j]
}

// lastID returns the ID part of a name, e.g. "get-book" for "apis/shop/routes/get-book".
func lastID(n string) string {
	return n[strings.LastIndexByte(n, '/')+1:]
}
