package certs

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"sync/atomic"
)

// ClientAuth is how the clients of one server name authenticate with
// certificates (mutual TLS).
type ClientAuth struct {
	// CAs are the certificate authorities client certificates must chain
	// to.
	CAs *x509.CertPool
	// Required makes a handshake without a valid client certificate fail;
	// otherwise a certificate is verified only if presented.
	Required bool
}

// clientAuthConfigs holds the per-name configurations derived from a base.
type clientAuthConfigs struct {
	base    *tls.Config
	configs atomic.Pointer[map[string]*tls.Config]
}

// TLSConfig returns base completed with the store's certificate selection
// (GetCertificate) and per-name client authentication (GetConfigForClient,
// see SetClientAuth). base must not be changed afterwards.
func (s *Store) TLSConfig(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cfg.GetCertificate = s.GetCertificate
	s.clientAuth.base = cfg.Clone()
	cfg.GetConfigForClient = s.getConfigForClient
	return cfg
}

// SetClientAuth replaces, at once, the client authentication of every
// server name (exact, lower-case names); other names ask for no client
// certificate. It applies to handshakes of configurations made by
// TLSConfig; open connections keep what they negotiated.
func (s *Store) SetClientAuth(byName map[string]ClientAuth) {
	configs := make(map[string]*tls.Config, len(byName))
	for name, ca := range byName {
		if s.clientAuth.base == nil {
			break
		}
		cfg := s.clientAuth.base.Clone()
		cfg.ClientCAs = ca.CAs
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if ca.Required {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		configs[name] = cfg
	}
	s.clientAuth.configs.Store(&configs)
}

// getConfigForClient is a tls.Config.GetConfigForClient: the configuration
// asking for client certificates for hello's server name, or nil (the base
// configuration) for names without client authentication.
func (s *Store) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	m := s.clientAuth.configs.Load()
	if m == nil || len(*m) == 0 || hello.ServerName == "" {
		return nil, nil
	}
	return (*m)[strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))], nil
}

// EmptyPool returns a pool that trusts no certificate authority.
func EmptyPool() *x509.CertPool { return x509.NewCertPool() }
