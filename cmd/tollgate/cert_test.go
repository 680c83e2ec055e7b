package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
)

// TestCertSelfSigned: the helper writes a matching pair for the names asked,
// with a 0600 key, and never overwrites a file.
func TestCertSelfSigned(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	args := []string{"cert", "selfsigned", "--host", "gw.example.com,127.0.0.1", "--days", "30", "--cert", certFile, "--key", keyFile}
	var out bytes.Buffer
	if err := run(context.Background(), args, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if err := leaf.VerifyHostname("gw.example.com"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if days := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; days < 30 || days > 31 {
		t.Errorf("valid %.1f days, want 30", days)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if err := run(context.Background(), args, env(nil), &out, &out); err == nil {
		t.Error("a second run overwrote the files")
	}
	for _, bad := range [][]string{{"cert"}, {"cert", "selfsigned", "--days", "0"}, {"cert", "selfsigned", "--host", ","}} {
		if err := run(context.Background(), bad, env(nil), &out, &out); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
