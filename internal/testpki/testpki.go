package testpki

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
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate in PEM, for trust stores and files.
	PEM []byte
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	// CertPEM is the certificate chain in PEM (the leaf only: the CA is
	// the trust anchor).
	CertPEM []byte
	// KeyPEM is the PKCS #8 private key in PEM.
	KeyPEM []byte
	// TLS is the certificate and key for a tls.Config.
	TLS tls.Certificate
}

// Options of an issued certificate.
type Options struct {
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
	// Client makes a client certificate (ExtKeyUsageClientAuth) instead of
	// a server certificate.
	Client bool
	// CommonName is the subject CN. Default: the first name.
	CommonName string
	// Serial defaults to a random serial number.
	Serial *big.Int
}

// NewCA returns a new self-signed CA.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Tollgate tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Pool returns a pool holding only the CA, for RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue issues a certificate for names (DNS names or IP addresses) with
// default options.
func (ca *CA) Issue(t testing.TB, names ...string) *Leaf {
	t.Helper()
	return ca.IssueWith(t, Options{}, names...)
}

// IssueWith issues a certificate for names with opts.
func (ca *CA) IssueWith(t testing.TB, opts Options, names ...string) *Leaf {
	t.Helper()
	key := newKey(t)
	if opts.NotBefore.IsZero() {
		opts.NotBefore = time.Now().Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if opts.CommonName == "" && len(names) > 0 {
		opts.CommonName = names[0]
	}
	if opts.Serial == nil {
		opts.Serial = serial(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber: opts.Serial,
		Subject:      pkix.Name{CommonName: opts.CommonName, Organization: []string{"Tollgate tests"}},
		NotBefore:    opts.NotBefore,
		NotAfter:     opts.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if opts.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := &Leaf{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	l.TLS, err = tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// WriteFiles writes the certificate and key to cert.pem and key.pem in
// dir and returns their paths.
func (l *Leaf) WriteFiles(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	l.Replace(t, certFile, keyFile)
	return certFile, keyFile
}

// Replace writes the certificate and key over certFile and keyFile, each
// atomically (a temporary file renamed into place), as rotation tools do.
func (l *Leaf) Replace(t testing.TB, certFile, keyFile string) {
	t.Helper()
	writeAtomic(t, keyFile, l.KeyPEM)
	writeAtomic(t, certFile, l.CertPEM)
}

// WriteFile writes data to name atomically (through a renamed temporary
// file).
func WriteFile(t testing.TB, name string, data []byte) {
	t.Helper()
	writeAtomic(t, name, data)
}

// writeAtomic writes data to name through a renamed temporary file.
func writeAtomic(t testing.TB, name string, data []byte) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
