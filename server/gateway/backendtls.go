package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// WithClientCertificates sets how the gateway finds the certificate (and
// key) a backend_tls.client_certificate names, e.g. "certificates/x"; it is
// called at every handshake with such a backend, so a replaced certificate
// applies to new connections. Default: none, and such handshakes fail.
func WithClientCertificates(f func(name string) *tls.Certificate) Option {
	return func(g *Gateway) { g.backendTLS.clientCert = f }
}

// backendTLSConfigs builds the TLS configurations of integrations with
// backend_tls, once per distinct setting: equal settings share one
// *tls.Config, so that a gRPC backend keeps its pooled connection across
// deployments (the pool tells backends apart by it).
type backendTLSConfigs struct {
	clientCert func(name string) *tls.Certificate
	logger     *slog.Logger

	byMsg sync.Map // *adminv1.BackendTls → *tls.Config: the fast path per call

	mu         sync.Mutex
	byKey      map[string]*tls.Config          // canonical setting → config
	transports map[*tls.Config]*http.Transport // per config, for HTTP backends
}

// config returns the TLS configuration of bt (never nil).
func (b *backendTLSConfigs) config(bt *adminv1.BackendTls) *tls.Config {
	if c, ok := b.byMsg.Load(bt); ok {
		return c.(*tls.Config)
	}
	sum := sha256.Sum256([]byte(bt.GetCaPem()))
	key := hex.EncodeToString(sum[:]) + "|" + bt.GetClientCertificate() + "|" + bt.GetServerName() + "|" + strconv.FormatBool(bt.GetInsecureSkipVerify())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byKey == nil {
		b.byKey = make(map[string]*tls.Config)
	}
	cfg, ok := b.byKey[key]
	if !ok {
		cfg = b.build(bt)
		b.byKey[key] = cfg
	}
	b.byMsg.Store(bt, cfg)
	return cfg
}

// build makes the configuration of bt.
func (b *backendTLSConfigs) build(bt *adminv1.BackendTls) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: bt.GetServerName()}
	if ca := bt.GetCaPem(); ca != "" {
		pool := x509.NewCertPool()
		// Validated when the integration was written; an empty pool
		// trusts nothing, which fails safe.
		pool.AppendCertsFromPEM([]byte(ca))
		cfg.RootCAs = pool
	}
	if name := bt.GetClientCertificate(); name != "" {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if b.clientCert != nil {
				if c := b.clientCert(name); c != nil {
					return c, nil
				}
			}
			return nil, fmt.Errorf("gateway: backend client certificate %s is not available", name)
		}
	}
	if bt.GetInsecureSkipVerify() {
		cfg.InsecureSkipVerify = true //nolint:gosec // an explicit, logged choice per integration
		logger := b.logger
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			logger.Warn("connected to a backend without verifying its TLS certificate (insecure_skip_verify)",
				"server_name", cs.ServerName)
			return nil
		}
	}
	return cfg
}

// transport returns the HTTP transport of an integration with backend_tls
// or h2c, made once per distinct setting.
func (b *backendTLSConfigs) transport(h *httpIntegrations, hi *adminv1.HttpIntegration) http.RoundTripper {
	if hi.GetH2C() {
		return h.h2c
	}
	cfg := b.config(hi.GetBackendTls())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.transports == nil {
		b.transports = make(map[*tls.Config]*http.Transport)
	}
	tr, ok := b.transports[cfg]
	if !ok {
		tr = h.newTransport(cfg)
		b.transports[cfg] = tr
	}
	return tr
}

// closeIdle closes the idle connections of the per-setting transports.
func (b *backendTLSConfigs) closeIdle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, tr := range b.transports {
		tr.CloseIdleConnections()
	}
}

// backendOf is the pooled-connection key of a gRPC integration.
func (g *Gateway) backendOf(in *adminv1.GrpcIntegration) grpcproxy.Backend {
	b := grpcproxy.Backend{Target: in.GetTarget(), TLS: in.GetTls(), Authority: in.GetAuthority(), ConnectTimeout: in.GetConnectTimeout().AsDuration()}
	if bt := in.GetBackendTls(); bt != nil {
		b.TLS = true
		b.TLSConfig = g.backendTLS.config(bt)
	}
	return b
}
