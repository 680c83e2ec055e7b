package certs

import (
	"crypto/tls"
	"errors"
	"strings"
	"sync/atomic"
)

// Store chooses the certificate of each TLS handshake: the one named for the
// client's server name (SNI), else the default. Its zero value has no
// certificates; it is safe for concurrent use.
type Store struct {
	def        atomic.Pointer[func() *tls.Certificate]
	named      atomic.Pointer[map[string]*tls.Certificate]
	clientAuth clientAuthConfigs
}

// ErrNoCertificate is returned by [Store.GetCertificate] when there is no
// certificate for the handshake.
var ErrNoCertificate = errors.New("certs: no certificate for this server name")

// SetDefault sets the function giving the certificate for handshakes whose
// server name has none of its own (or no server name at all). It is read at
// every handshake, so a [FilePair]'s Certificate method keeps it current.
func (s *Store) SetDefault(f func() *tls.Certificate) { s.def.Store(&f) }

// SetNamed replaces every per-name certificate at once. Keys are lower-case
// DNS names, exact ("api.example.com") or wildcards of one label
// ("*.example.com"). The map must not be changed afterwards.
func (s *Store) SetNamed(named map[string]*tls.Certificate) { s.named.Store(&named) }

// GetCertificate is a tls.Config.GetCertificate: the certificate for
// hello.ServerName by exact name, then by wildcard of its first label, else
// the default.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.lookup(hello.ServerName); c != nil {
		return c, nil
	}
	if f := s.def.Load(); f != nil {
		if c := (*f)(); c != nil {
			return c, nil
		}
	}
	return nil, ErrNoCertificate
}

// lookup finds the certificate named for serverName, or nil.
func (s *Store) lookup(serverName string) *tls.Certificate {
	m := s.named.Load()
	if m == nil || len(*m) == 0 || serverName == "" {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if c := (*m)[name]; c != nil {
		return c
	}
	// A wildcard covers exactly one label, as in certificates (RFC 6125).
	if i := strings.IndexByte(name, '.'); i > 0 {
		return (*m)["*"+name[i:]]
	}
	return nil
}
