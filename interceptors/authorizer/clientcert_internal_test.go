package authorizer

import (
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// TestClientCertIdentity: $context.identity.clientCert.* sources read the
// verified client certificate, and are missing without one.
func TestClientCertIdentity(t *testing.T) {
	nb := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &callinfo.ClientCert{Subject: "CN=alice", Issuer: "CN=ca", Serial: "2a", Fingerprint: "ff", NotBefore: nb, NotAfter: nb.Add(time.Hour)}
	for _, tc := range []struct {
		cert  *callinfo.ClientCert
		field string
		want  string
	}{
		{c, "subjectDN", "CN=alice"},
		{c, "issuerDN", "CN=ca"},
		{c, "serialNumber", "2a"},
		{c, "fingerprint", "ff"},
		{c, "validity.notBefore", "2026-01-02T03:04:05Z"},
		{c, "validity.notAfter", "2026-01-02T04:04:05Z"},
		{c, "clientCertPem", ""},
		{nil, "subjectDN", ""},
	} {
		if got := clientCertIdentity(tc.cert, tc.field); got != tc.want {
			t.Errorf("%s (cert %v): %q, want %q", tc.field, tc.cert != nil, got, tc.want)
		}
	}
}
