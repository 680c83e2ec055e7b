package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// clientCertOf returns the identity of the client certificate verified in
// the handshake of st, or nil: without TLS, without a certificate, or with
// one that was not verified (only verified chains count as identity).
func clientCertOf(st *tls.ConnectionState) *callinfo.ClientCert {
	if st == nil || len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return nil
	}
	c := st.VerifiedChains[0][0]
	sum := sha256.Sum256(c.Raw)
	cc := &callinfo.ClientCert{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: c.SerialNumber.Text(16), Fingerprint: hex.EncodeToString(sum[:]),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter,
	}
	cc.SANs = append(cc.SANs, c.DNSNames...)
	cc.SANs = append(cc.SANs, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		cc.SANs = append(cc.SANs, ip.String())
	}
	for _, u := range c.URIs {
		cc.SANs = append(cc.SANs, u.String())
	}
	return cc
}

// clientCertOfPeer returns the verified client certificate of a natively
// served gRPC call's connection (see connsplit.Credentials), or nil.
func clientCertOfPeer(p *peer.Peer) *callinfo.ClientCert {
	if p == nil {
		return nil
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		return clientCertOf(&info.State)
	}
	return nil
}

// WithServerCredentials sets the transport credentials of the data-plane
// gRPC server, e.g. connsplit.Credentials so that calls on TLS connections
// see their client certificate. Default: none (cleartext as handed over).
func WithServerCredentials(c credentials.TransportCredentials) Option {
	return func(g *Gateway) { g.serverCreds = c }
}

// credsOption is the grpc.ServerOption of WithServerCredentials.
func (g *Gateway) credsOption() grpc.ServerOption {
	if g.serverCreds == nil {
		return grpc.EmptyServerOption{}
	}
	return grpc.Creds(g.serverCreds)
}
