package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is how often a [FilePair] checks whether its files
// changed.
const DefaultPollInterval = 5 * time.Second

// FilePair is a certificate chain and private key read from two PEM files,
// reloaded when they change. A reload that fails (a half-written file, a key
// that does not match) keeps the previous certificate and is logged, so a
// rotation in progress never takes the listener down.
type FilePair struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration
	onChange          func(*tls.Certificate)

	cert atomic.Pointer[tls.Certificate]

	mu       sync.Mutex // serialises loads
	certStat fileStamp
	keyStat  fileStamp
}

// fileStamp identifies a version of a file for change detection.
type fileStamp struct {
	mod  time.Time
	size int64
}

// FileOption configures a [FilePair].
type FileOption func(*FilePair)

// WithLogger sets where reloads and failed reloads are logged. Default
// slog.Default().
func WithLogger(l *slog.Logger) FileOption { return func(p *FilePair) { p.log = l } }

// WithPollInterval sets how often [FilePair.Watch] checks the files.
// Default DefaultPollInterval.
func WithPollInterval(d time.Duration) FileOption { return func(p *FilePair) { p.interval = d } }

// WithOnChange sets a function called with every certificate loaded,
// including the first; it must not block.
func WithOnChange(f func(*tls.Certificate)) FileOption {
	return func(p *FilePair) { p.onChange = f }
}

// LoadFilePair reads the certificate chain in certFile and the private key
// in keyFile, which must match. It fails when either does not parse or the
// certificate has expired: a server must not start with a certificate no
// client accepts.
func LoadFilePair(certFile, keyFile string, opts ...FileOption) (*FilePair, error) {
	p := &FilePair{certFile: certFile, keyFile: keyFile, log: slog.Default(), interval: DefaultPollInterval}
	for _, o := range opts {
		o(p)
	}
	if _, err := p.load(true); err != nil {
		return nil, err
	}
	return p, nil
}

// Certificate returns the certificate in force.
func (p *FilePair) Certificate() *tls.Certificate { return p.cert.Load() }

// Reload reads the files again, whether or not they changed, and replaces
// the certificate if they hold a valid one; otherwise it keeps the current
// one and returns why.
func (p *FilePair) Reload() error {
	_, err := p.load(true)
	return err
}

// Watch checks the files every poll interval and reloads them when their
// modification time or size changed, until ctx is done.
func (p *FilePair) Watch(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failed reload is logged by load and retried at the
			// next change.
			_, _ = p.load(false)
		}
	}
}

// load reads the pair if force or if the files changed since the last
// load. It reports whether a new certificate is in force.
func (p *FilePair) load(force bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs, err := stamp(p.certFile)
	if err != nil {
		return false, p.failed(err)
	}
	ks, err := stamp(p.keyFile)
	if err != nil {
		return false, p.failed(err)
	}
	if !force && cs == p.certStat && ks == p.keyStat {
		return false, nil
	}
	// The stamps are remembered even when the load fails, so a broken
	// file is reported once, not at every poll.
	p.certStat, p.keyStat = cs, ks
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		return false, p.failed(fmt.Errorf("certs: load %s and %s: %w", p.certFile, p.keyFile, err))
	}
	if err := checkValidity(cert.Leaf, time.Now()); err != nil {
		return false, p.failed(fmt.Errorf("certs: %s: %w", p.certFile, err))
	}
	old := p.cert.Swap(&cert)
	if old != nil {
		p.log.Info("TLS certificate reloaded", "cert_file", p.certFile, "names", Names(cert.Leaf), "not_after", cert.Leaf.NotAfter)
	}
	if p.onChange != nil {
		p.onChange(&cert)
	}
	return true, nil
}

// failed logs a failed reload (the first load's error is the caller's to
// report) and returns err.
func (p *FilePair) failed(err error) error {
	if p.cert.Load() != nil {
		p.log.Error("TLS certificate not reloaded; the previous one stays in use", "error", err)
	}
	return err
}

// stamp returns the change-detection stamp of a file.
func stamp(name string) (fileStamp, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}, fmt.Errorf("certs: %w", err)
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// ErrExpired is returned for a certificate whose validity period has ended.
var ErrExpired = errors.New("certificate has expired")

// ErrNotYetValid is returned for a certificate whose validity period has
// not started.
var ErrNotYetValid = errors.New("certificate is not valid yet")

// checkValidity checks leaf's validity period against now.
func checkValidity(leaf *x509.Certificate, now time.Time) error {
	switch {
	case leaf == nil:
		return errors.New("no certificate")
	case now.After(leaf.NotAfter):
		return fmt.Errorf("%w (not after %s)", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("%w (not before %s)", ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// Names returns the names a certificate is for: its DNS and IP address
// SANs, or its subject common name when it has none.
func Names(leaf *x509.Certificate) []string {
	if leaf == nil {
		return nil
	}
	names := slices.Clone(leaf.DNSNames)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = append(names, leaf.Subject.CommonName)
	}
	return names
}

// LoadPool reads a PEM bundle of CA certificates into a pool. It fails when
// the file holds no certificate, so that a wrong file is not taken for an
// empty trust store.
func LoadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	pool, err := ParsePool(b)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", file, err)
	}
	return pool, nil
}

// ParsePool parses PEM CA certificates into a pool. Every PEM block must be
// a certificate that parses, and there must be at least one.
func ParsePool(pemCerts []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemCerts; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: found a %q block", ErrBadChain, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadChain, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrBadChain)
	}
	return pool, nil
}
