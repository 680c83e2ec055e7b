// Package cors is cross-origin resource sharing for the data port's HTTP
// edge, configured like Amazon API Gateway HTTP APIs' CorsConfiguration: a
// CorsConfiguration is compiled once per deployment into a Policy, which
// answers preflight requests and decorates the responses of actual
// requests whose Origin it allows.
//
// The admin API validates configurations with Validate, the same rules
// Compile applies, so that what was accepted is what runs.
//
// Origin patterns ("https://app.example.com", "https://*.example.com",
// "*") look like internal/origin's, which decide which pages may open
// WebSocket connections, but are matched by different rules, kept apart on
// purpose since merging would change what stored configurations mean:
// here any scheme is allowed (capacitor://, app://), an Origin is compared
// byte for byte (lowercased) with the serialized pattern as the Fetch
// standard does (no trailing "/"), a wildcard's subdomain is letters,
// digits, hyphens and dots, and there is no exception for requests without
// Origin or from the gateway's own host. internal/origin restricts schemes
// to http and https, parses both sides as URLs, and admits the gateway's
// own host and non-browser clients.
package cors
