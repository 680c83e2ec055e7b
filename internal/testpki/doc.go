// Package testpki makes certificate authorities and certificates for
// tests: real X.509 certificates (ECDSA P-256) generated in the test, so
// that TLS tests run real handshakes without files checked in.
package testpki
