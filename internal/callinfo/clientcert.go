package callinfo

import (
	"strings"
	"time"
)

// Metadata entries describing the client's verified TLS certificate
// (mutual TLS), sent to backends. The proxy removes a client's own
// x-tollgate-* entries first, so they cannot be forged.
const (
	// ClientCertSubjectKey is the certificate's subject (RFC 2253).
	ClientCertSubjectKey = "x-tollgate-client-cert-subject"
	// ClientCertIssuerKey is its issuer (RFC 2253).
	ClientCertIssuerKey = "x-tollgate-client-cert-issuer"
	// ClientCertSANsKey lists its subject alternative names, comma-separated
	// (DNS names, e-mail addresses, IP addresses, URIs).
	ClientCertSANsKey = "x-tollgate-client-cert-sans"
	// ClientCertSerialKey is its serial number in hex.
	ClientCertSerialKey = "x-tollgate-client-cert-serial"
	// ClientCertFingerprintKey is the hex SHA-256 of its DER encoding.
	ClientCertFingerprintKey = "x-tollgate-client-cert-fingerprint"
	// ClientCertNotBeforeKey is the start of its validity (RFC 3339).
	ClientCertNotBeforeKey = "x-tollgate-client-cert-not-before"
	// ClientCertNotAfterKey is the end of its validity (RFC 3339).
	ClientCertNotAfterKey = "x-tollgate-client-cert-not-after"
)

// ClientCert is the identity in a client certificate the gateway verified
// during the TLS handshake.
type ClientCert struct {
	// Subject and Issuer are distinguished names (RFC 2253).
	Subject, Issuer string
	// SANs are the subject alternative names.
	SANs []string
	// Serial is the serial number in hex.
	Serial string
	// Fingerprint is the hex SHA-256 of the certificate.
	Fingerprint string
	// NotBefore and NotAfter bound its validity.
	NotBefore, NotAfter time.Time
}

// Pairs returns c as metadata key/value pairs, in a fixed order.
func (c *ClientCert) Pairs() []string {
	return []string{
		ClientCertSubjectKey, c.Subject,
		ClientCertIssuerKey, c.Issuer,
		ClientCertSANsKey, strings.Join(c.SANs, ","),
		ClientCertSerialKey, c.Serial,
		ClientCertFingerprintKey, c.Fingerprint,
		ClientCertNotBeforeKey, c.NotBefore.UTC().Format(time.RFC3339),
		ClientCertNotAfterKey, c.NotAfter.UTC().Format(time.RFC3339),
	}
}
