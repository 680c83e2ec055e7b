package stagevars

import "github.com/tollgate-gw/tollgate/internal/lazyregexp"

// ref matches ${stageVariables.NAME}; NAME is the first submatch.
var ref = lazyregexp.New(`\$\{stageVariables\.([A-Za-z0-9_]{1,64})\}`)

// Expand replaces every ${stageVariables.NAME} in s with value(NAME).
func Expand(s string, value func(name string) string) string {
	return ref.ReplaceAllStringFunc(s, func(m string) string {
		return value(ref.FindStringSubmatch(m)[1])
	})
}
