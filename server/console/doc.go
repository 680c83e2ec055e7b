// Package console is Tollgate's web console: static HTML, CSS and
// JavaScript modules, embedded in the binary and served by the admin port
// at /console/. The page talks to the REST admin API on the same origin
// with fetch, sending the admin token it was given at sign-in (kept in
// sessionStorage, never in a cookie), so it has no server side of its own
// and no authority beyond the token's role.
//
// Every response carries a strict Content-Security-Policy: scripts,
// styles and fetches from the console's own origin only, no inline script
// or style, no framing.
package console
