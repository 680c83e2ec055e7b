// Package cors is cross-origin resource sharing for the data port's HTTP
// edge, configured like Amazon API Gateway HTTP APIs' CorsConfiguration: a
// CorsConfiguration is compiled once per deployment into a Policy, which
// answers preflight requests and decorates the responses of actual
// requests whose Origin it allows.
//
// The admin API validates configurations with Validate, the same rules
// Compile applies, so that what was accepted is what runs.
package cors
