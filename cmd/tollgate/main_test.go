package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseServe(t *testing.T) {
	d := server.DefaultConfig()
	with := func(f func(*server.Config)) server.Config {
		c := d
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    server.Config
		wantErr string
	}{
		{name: "defaults", want: d},
		{
			name: "environment over defaults",
			env: map[string]string{
				"TOLLGATE_DATA_DIR":          "/var/lib/tollgate",
				"TOLLGATE_ADMIN_ADDR":        "127.0.0.1:9999",
				"TOLLGATE_LISTEN":            ":80",
				"TOLLGATE_LOG_FORMAT":        "json",
				"TOLLGATE_DEMO":              "true",
				"TOLLGATE_MAX_ROUTE_TIMEOUT": "5s",
				"TOLLGATE_SHUTDOWN_TIMEOUT":  "1m",
				"TOLLGATE_ADMIN_TOKEN":       "env-token-0123456789",
			},
			want: server.Config{
				DataDir: "/var/lib/tollgate", AdminAddr: "127.0.0.1:9999", ListenAddr: ":80",
				LogFormat: "json", Demo: true, MaxRouteTimeout: 5 * time.Second,
				ShutdownTimeout: time.Minute, AdminToken: "env-token-0123456789",
				BodyReadTimeout: d.BodyReadTimeout, MinBodyReadRate: d.MinBodyReadRate, MinBodyWriteRate: d.MinBodyWriteRate, MinRateGrace: d.MinRateGrace,
				StreamResetLimit: d.StreamResetLimit,
				AuditRetention:   server.DefaultAuditRetention,
			},
		},
		{
			name: "flags over environment",
			args: []string{"--data-dir", "/flag", "--admin-addr=127.0.0.1:1", "-listen", ":2", "--log-format", "text",
				"--demo=false", "--max-route-timeout", "10s", "--shutdown-timeout", "3s"},
			env: map[string]string{
				"TOLLGATE_DATA_DIR": "/env", "TOLLGATE_ADMIN_ADDR": "127.0.0.1:9999", "TOLLGATE_LISTEN": ":80",
				"TOLLGATE_LOG_FORMAT": "json", "TOLLGATE_DEMO": "1", "TOLLGATE_MAX_ROUTE_TIMEOUT": "5s",
				"TOLLGATE_SHUTDOWN_TIMEOUT": "1m",
			},
			want: server.Config{
				DataDir: "/flag", AdminAddr: "127.0.0.1:1", ListenAddr: ":2", LogFormat: "text",
				MaxRouteTimeout: 10 * time.Second, ShutdownTimeout: 3 * time.Second,
				BodyReadTimeout: d.BodyReadTimeout, MinBodyReadRate: d.MinBodyReadRate, MinBodyWriteRate: d.MinBodyWriteRate, MinRateGrace: d.MinRateGrace,
				StreamResetLimit: d.StreamResetLimit,
				AuditRetention:   server.DefaultAuditRetention,
			},
		},
		{
			name: "edge limits",
			args: []string{"--max-connections", "500", "--min-body-write-rate=-1", "--min-rate-grace", "2s"},
			env: map[string]string{
				"TOLLGATE_MAX_CONNECTIONS": "9", "TOLLGATE_MAX_CONNECTIONS_PER_IP": "-1", "TOLLGATE_BODY_READ_TIMEOUT": "10s",
				"TOLLGATE_MIN_BODY_READ_RATE": "100", "TOLLGATE_STREAM_RESET_LIMIT": "50",
			},
			want: with(func(c *server.Config) {
				c.MaxConnections, c.MaxConnectionsPerIP, c.BodyReadTimeout = 500, -1, 10*time.Second
				c.MinBodyReadRate, c.MinBodyWriteRate, c.MinRateGrace = 100, -1, 2*time.Second
				c.StreamResetLimit = 50
			}),
		},
		{name: "demo flag", args: []string{"--demo"}, want: with(func(c *server.Config) { c.Demo = true })},
		{name: "demo env 1", env: map[string]string{"TOLLGATE_DEMO": "1"}, want: with(func(c *server.Config) { c.Demo = true })},
		{name: "demo env false", env: map[string]string{"TOLLGATE_DEMO": "false"}, want: d},
		{name: "empty env is unset", env: map[string]string{"TOLLGATE_DATA_DIR": "", "TOLLGATE_DEMO": ""}, want: d},
		{name: "one flag, other env", args: []string{"--listen", ":1"}, env: map[string]string{"TOLLGATE_DATA_DIR": "/env"},
			want: with(func(c *server.Config) { c.ListenAddr, c.DataDir = ":1", "/env" })},
		{name: "bad env duration", env: map[string]string{"TOLLGATE_SHUTDOWN_TIMEOUT": "soon"}, wantErr: `TOLLGATE_SHUTDOWN_TIMEOUT="soon"`},
		{name: "audit retention env", env: map[string]string{"TOLLGATE_AUDIT_RETENTION": "720h"},
			want: with(func(c *server.Config) { c.AuditRetention = 720 * time.Hour })},
		{name: "trusted proxies env", env: map[string]string{"TOLLGATE_TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1"},
			want: with(func(c *server.Config) { c.TrustedProxies = "10.0.0.0/8,192.168.1.1" })},
		{name: "trusted proxies flag over env", args: []string{"--trusted-proxies", "172.16.0.0/12"}, env: map[string]string{"TOLLGATE_TRUSTED_PROXIES": "10.0.0.0/8"},
			want: with(func(c *server.Config) { c.TrustedProxies = "172.16.0.0/12" })},
		{name: "bad env bool", env: map[string]string{"TOLLGATE_DEMO": "maybe"}, wantErr: `TOLLGATE_DEMO="maybe"`},
		{name: "bad flag duration", args: []string{"--max-route-timeout", "long"}, wantErr: "max-route-timeout"},
		{name: "admin token is not a flag", args: []string{"--admin-token", "x"}, wantErr: "flag provided but not defined: -admin-token"},
		{name: "unknown flag", args: []string{"--port", "1"}, wantErr: "not defined"},
		{name: "stray argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServe(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseServe() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseServe() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantErr    string
		wantStdout []string
		wantStderr []string
	}{
		{name: "no command", wantErr: "missing command", wantStderr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"start"}, wantErr: `unknown command "start"`, wantStderr: []string{"tollgate serve"}},
		{name: "version", args: []string{"version"}, wantStdout: []string{"tollgate "}},
		{name: "help", args: []string{"help"}, wantStdout: []string{"tollgate serve [flags]"}},
		{name: "--help", args: []string{"--help"}, wantStdout: []string{"tollgate version"}},
		{name: "help serve", args: []string{"help", "serve"}, wantStdout: []string{"TOLLGATE_ADMIN_TOKEN"}},
		{
			name: "serve --help documents every variable",
			args: []string{"serve", "--help"},
			wantStdout: []string{
				"--data-dir", "TOLLGATE_DATA_DIR", "TOLLGATE_ADMIN_ADDR", "TOLLGATE_LISTEN", "TOLLGATE_LOG_FORMAT",
				"TOLLGATE_DEMO", "TOLLGATE_MAX_ROUTE_TIMEOUT", "TOLLGATE_SHUTDOWN_TIMEOUT", "TOLLGATE_ADMIN_TOKEN",
				`(default "127.0.0.1:9090")`,
			},
		},
		{name: "serve with invalid config", args: []string{"serve", "--log-format", "xml"}, wantErr: "log-format:"},
		{name: "serve with short token", args: []string{"serve"}, env: map[string]string{"TOLLGATE_ADMIN_TOKEN": "short"}, wantErr: "admin-token:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, env(tc.env), &stdout, &stderr)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("run() = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("run() = %v, want an error containing %q", err, tc.wantErr)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestRunServe runs the gateway for real until its context ends.
func TestRunServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-format", "json"},
			env(map[string]string{"TOLLGATE_ADMIN_ADDR": "127.0.0.1:0"}), io.Discard, &stderr)
	}()
	// The token file is written before the ports open; its appearance
	// shows the server got that far from the flags and variables given.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "admin-token")); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no token file after 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run() = %v", err)
	}
	out := stderr.String()
	for _, want := range []string{"generated an admin token", `"msg":"tollgate is ready"`, `"msg":"tollgate stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}

func TestParseServeHelp(t *testing.T) {
	var stdout bytes.Buffer
	_, err := parseServe([]string{"-h"}, env(nil), &stdout)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseServe(-h) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stdout.String(), "Usage: tollgate serve") {
		t.Errorf("no help written:\n%s", stdout.String())
	}
}
