package lazyregexp

import (
	"os"
	"regexp"
	"strings"
	"sync"
)

// Regexp is a regular expression compiled on its first use. It is safe for
// concurrent use, like regexp.Regexp.
type Regexp struct {
	str  string
	once sync.Once
	rx   *regexp.Regexp
}

// inTest reports whether this is a test binary, where patterns compile at
// once so that a malformed one fails the package's tests (as
// regexp.MustCompile at package level would) rather than at its first use.
var inTest = strings.HasSuffix(os.Args[0], ".test")

// New returns the regular expression str, compiled (with
// regexp.MustCompile, so a malformed pattern panics) on its first use.
func New(str string) *Regexp {
	r := &Regexp{str: str}
	if inTest {
		r.re()
	}
	return r
}

func (r *Regexp) re() *regexp.Regexp {
	r.once.Do(func() { r.rx = regexp.MustCompile(r.str) })
	return r.rx
}

// String returns the source text of the expression.
func (r *Regexp) String() string { return r.str }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string { return r.re().ReplaceAllString(src, repl) }

// ReplaceAllStringFunc is regexp.Regexp.ReplaceAllStringFunc.
func (r *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return r.re().ReplaceAllStringFunc(src, repl)
}
