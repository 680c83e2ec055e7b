package connsplit

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
)

// Credentials returns server transport credentials for a grpc.Server that
// serves a Splitter's gRPC listener: connections are used as they are (TLS,
// if any, was terminated by the Splitter), and those that came over TLS
// report a credentials.TLSInfo, so handlers find the TLS state — the
// verified client certificate — in peer.FromContext as with grpc-go's own
// TLS credentials. Other connections report no security.
func Credentials() credentials.TransportCredentials { return splitCreds{} }

// splitCreds implements Credentials.
type splitCreds struct{}

// ServerHandshake reports the TLS state the Splitter negotiated.
func (splitCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if st, ok := TLSConnectionState(c); ok {
		return c, credentials.TLSInfo{State: st, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c, plainInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
}

// ClientHandshake is not supported: these are server credentials.
func (splitCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("connsplit: server-side credentials only")
}

// Info describes the credentials.
func (splitCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "connsplit"}
}

// Clone returns the credentials, which have no state.
func (splitCreds) Clone() credentials.TransportCredentials { return splitCreds{} }

// OverrideServerName is a no-op (deprecated in grpc-go, client side only).
func (splitCreds) OverrideServerName(string) error { return nil }

// plainInfo is the AuthInfo of a connection without TLS.
type plainInfo struct {
	credentials.CommonAuthInfo
}

// AuthType names the lack of security, as grpc-go's insecure credentials.
func (plainInfo) AuthType() string { return "insecure" }
