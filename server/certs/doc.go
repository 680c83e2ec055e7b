// Package certs holds the certificates the gateway presents in TLS
// handshakes and chooses between them.
//
// A [Store] serves tls.Config.GetCertificate from an atomic pointer, so a
// certificate can be replaced while connections are open: handshakes that
// already happened keep the certificate they got, new handshakes get the
// new one, and nothing is dropped. The default certificate comes from a
// pair of PEM files ([FilePair]), reloaded when their modification times
// change or when [FilePair.Reload] is called (on SIGHUP); certificates per
// server name (SNI), exact or wildcard ("*.example.com"), are set as a
// whole with [Store.SetNamed].
package certs
