package resourceid

// MaxLen is the longest valid ID.
const MaxLen = 63

// Valid reports whether s is a valid resource ID, the syntax of
// ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$. It is checked by hand because the data
// plane runs it on every REST call's first path segment, where the regular
// expression cost more than the rest of the path's routing.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
