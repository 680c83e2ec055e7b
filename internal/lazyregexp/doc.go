// Package lazyregexp is a regular expression compiled on first use.
//
// A package-level regexp.MustCompile runs at program start, in every
// process that links the package, whether or not the expression is ever
// matched: the admin API's validation patterns alone cost about 850 KB of
// allocations and a live program of several hundred kilobytes (counted
// repetitions such as {0,61} are expanded into one instruction per
// repetition) in a gateway that may never receive an admin write. A Regexp
// from New compiles on its first match instead, once; in a test binary it
// compiles at once, so a malformed pattern still fails the tests of the
// package that declares it.
package lazyregexp
