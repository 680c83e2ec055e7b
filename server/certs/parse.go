package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Errors of [ParsePair], telling which half of a pair is wrong.
var (
	// ErrBadChain means the certificate chain is not PEM certificates.
	ErrBadChain = errors.New("not a PEM certificate chain")
	// ErrBadKey means the private key is not a PEM private key.
	ErrBadKey = errors.New("not a PEM private key (PKCS #1, PKCS #8 or SEC 1)")
	// ErrKeyMismatch means the private key is not the leaf certificate's.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
)

// ParseChain parses a PEM certificate chain, leaf first, and checks the
// leaf's validity period at now.
func ParseChain(chainPEM []byte, now time.Time) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for rest := chainPEM; ; {
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
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, ErrBadChain
	}
	if err := checkValidity(chain[0], now); err != nil {
		return nil, err
	}
	return chain, nil
}

// ParsePair parses a PEM certificate chain and the leaf's PEM private key
// into a certificate for a tls.Config, checking that the key is the
// leaf's and that the leaf is valid at now. Its errors wrap ErrBadChain,
// ErrBadKey, ErrKeyMismatch, ErrExpired or ErrNotYetValid.
func ParsePair(chainPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	chain, err := ParseChain(chainPEM, now)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, ErrKeyMismatch
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// parseKey parses the first PEM private key block of keyPEM.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrBadKey
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue // e.g. "EC PARAMETERS" before the key, as openssl writes
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		}
		return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadKey, key)
	}
}

// Fingerprint returns the hex SHA-256 of a certificate's DER encoding.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// DaysLeft returns the days from now until leaf expires, negative once it
// has.
func DaysLeft(leaf *x509.Certificate, now time.Time) float64 {
	return leaf.NotAfter.Sub(now).Hours() / 24
}
