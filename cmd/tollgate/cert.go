package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// runCert runs `tollgate cert selfsigned`: it writes a self-signed ECDSA
// P-256 certificate and its key, for trying the TLS listeners without
// openssl. Clients trust it with --cacert (curl) or -cacert (grpcurl).
func runCert(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "selfsigned" {
		return errors.New("cert: usage: tollgate cert selfsigned [--host names] [--days n] [--cert file] [--key file]")
	}
	fs := flag.NewFlagSet("cert selfsigned", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	hosts := fs.String("host", "localhost,127.0.0.1", "comma-separated DNS names and IP addresses the certificate is for")
	days := fs.Int("days", 365, "validity in days, from now")
	certFile := fs.String("cert", "cert.pem", "certificate file to write (PEM); must not exist")
	keyFile := fs.String("key", "key.pem", "private key file to write (PEM, mode 0600); must not exist")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: tollgate cert selfsigned [flags]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("cert: %w", err)
	}
	if *days < 1 {
		return fmt.Errorf("cert: --days must be at least 1, got %d", *days)
	}
	var names []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	if len(names) == 0 {
		return errors.New("cert: --host needs at least one name")
	}
	certPEM, keyPEM, err := selfSigned(names, time.Now(), time.Duration(*days)*24*time.Hour)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	// The key first, and neither over an existing file: a mistyped path
	// must not replace a production key.
	if err := writeNew(*keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	if err := writeNew(*certFile, certPEM, 0o644); err != nil {
		_ = os.Remove(*keyFile)
		return fmt.Errorf("cert: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s for %s, valid %d days\n", *certFile, *keyFile, strings.Join(names, ", "), *days)
	return nil
}

// selfSigned makes a self-signed certificate for names, valid from an hour
// before now for validity, and returns it and its key in PEM.
func selfSigned(names []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		// As `openssl req -x509`: its own CA, so clients can trust it
		// directly.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeNew writes data to a file that must not exist yet.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
