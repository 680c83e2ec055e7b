package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// kindTollgateTLS is Tollgate as kindTollgate, called on its TLS listener
// (--tls-listen): TLS 1.3, ECDSA P-256 certificate, one handshake per
// connection (connections are kept alive, so the rows show what TLS costs
// per call once the handshake is paid).
const kindTollgateTLS = "tollgate-tls"

// writeSelfSigned writes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and its key to dir and returns the two paths.
func writeSelfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "loadbench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// benchClientTLS is the client side: the proxy's certificate is generated
// in its process, so the harness does not verify it (measuring only).
func benchClientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // a benchmark against its own child process
}

// dialGRPCTLS dials addr over TLS.
func dialGRPCTLS(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(benchClientTLS())))
}

// newHTTPSClient is newHTTPClient over TLS, still HTTP/1.1 (as the
// cleartext REST rows).
func newHTTPSClient() *http.Client {
	c := newHTTPClient()
	c.Transport.(*http.Transport).TLSClientConfig = benchClientTLS()
	return c
}
