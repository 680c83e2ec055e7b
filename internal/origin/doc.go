// Package origin decides which browser origins may open WebSocket
// connections to a stage (cross-site WebSocket hijacking: a page on another
// site opening a connection that the browser authenticates with the
// user's cookies). One implementation serves the admin API (validating
// patterns) and the data plane (matching Origin headers).
//
// A pattern is an exact origin, "scheme://host" or "scheme://host:port"
// (the port only when it is not the scheme's default), or a subdomain
// wildcard, "scheme://*.example.com", which matches any host ending in
// ".example.com" (not example.com itself), or "*", which matches every
// origin. Schemes are http or https; matching ignores case.
//
// Package internal/cors matches CORS allow_origins with patterns of the
// same shape but not the same rules, and the two stay apart on purpose:
// merging either into the other would change what stored configurations
// mean. Here a pattern's scheme must be http or https (a WebSocket is
// opened by a web page), a trailing "/" is tolerated on patterns and
// origins (both are parsed as URLs), a wildcard's subdomain may hold any
// host characters but a port, a request without Origin or from the
// gateway's own host is allowed (not a cross-site page), and "*" admits
// even "null". cors follows the Fetch standard's comparison instead: any
// scheme (capacitor://, app://), byte-exact lowercase comparison of the
// serialized origin (no trailing "/"), subdomains of letters, digits,
// hyphens and dots only, and no same-host or missing-Origin exception
// (a response without Origin needs no CORS headers).
package origin
