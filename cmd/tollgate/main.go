package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tollgate-gw/tollgate/internal/admincli"
	"github.com/tollgate-gw/tollgate/internal/gctune"
	"github.com/tollgate-gw/tollgate/server"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". Empty falls back to the module version
// recorded by `go install`, then to "(devel)".
var version = ""

// adminTokenEnv is the only way to set the admin token: flags show up in
// ps and shell history, the environment does not.
const adminTokenEnv = "TOLLGATE_ADMIN_TOKEN"

func main() {
	// The gateway's garbage collector target (gctune: GOGC=400 while the
	// heap stays under 24 MiB, lower above, unless GOGC or GOMEMLIMIT is set):
	// process-wide, so set here rather than in the server package.
	gctune.Apply(os.Getenv)
	// Nothing in this binary reads the heap profile (it serves no pprof
	// endpoint), so sampling allocations for it would only hold memory:
	// the runtime's profile hash table (1.4 MiB, touched page by page as
	// call stacks are sampled) and a record per sampled stack. Off as early
	// as main can: package initialisation has sampled a few stacks by now.
	runtime.MemProfileRate = 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tollgate: %v\n", err)
		os.Exit(1)
	}
}

// run executes the command line args (without the program name). getenv
// reads the environment; output asked for (help, version) goes to stdout,
// diagnostics and logs to stderr. It returns when the command is done: for
// serve, after ctx is cancelled and the server has shut down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		writeUsage(stderr)
		return errors.New("missing command")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		cfg, err := parseServe(rest, getenv, stdout)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		cfg.Stderr = stderr
		return serve(ctx, cfg)
	case "cert":
		return runCert(rest, stdout)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "tollgate %s (%s %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "help", "--help", "-help", "-h":
		if len(rest) > 0 && rest[0] == "serve" {
			writeServeUsage(stdout, newServeFlags(&server.Config{}))
			return nil
		}
		writeUsage(stdout)
		return nil
	default:
		if admincli.IsCommand(cmd) {
			// Manage a running gateway through its admin API.
			return admincli.Execute(ctx, args, admincli.Env(getenv), stdout, stderr)
		}
		writeUsage(stderr)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// writeUsage writes the top-level help.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Tollgate is a self-hosted API gateway for gRPC and REST.

Usage:
  tollgate serve [flags]    run the gateway until SIGINT or SIGTERM
  tollgate cert selfsigned  write a self-signed certificate and key (cert.pem, key.pem)
  tollgate version          print the version
  tollgate help [command]   show help

Manage a running gateway through its admin API:
  tollgate apis|routes|authorizers|deployments|stages|keys|plans|plan-keys|domains
           list|get|create|update|delete
  tollgate settings get|update
  tollgate deploy API --stage STAGE
  tollgate usage PLAN [--from DAY] [--to DAY]
  tollgate flush-cache API STAGE [--authorizers]
  tollgate apply -f FILE [--dry-run] [--prune]    tollgate export [-f FILE]    tollgate schema
  tollgate logs [--since 1h] [--follow]
  tollgate completion bash|zsh|fish|powershell

Run 'tollgate serve --help' for the gateway's flags and environment
variables, 'tollgate <command> --help' for the others.
`)
}

// versionString returns the version to report.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// serveFlagEnv maps each serve flag to its environment variable.
var serveFlagEnv = map[string]string{
	"data-dir":                 "TOLLGATE_DATA_DIR",
	"admin-addr":               "TOLLGATE_ADMIN_ADDR",
	"listen":                   "TOLLGATE_LISTEN",
	"log-format":               "TOLLGATE_LOG_FORMAT",
	"demo":                     "TOLLGATE_DEMO",
	"max-route-timeout":        "TOLLGATE_MAX_ROUTE_TIMEOUT",
	"shutdown-timeout":         "TOLLGATE_SHUTDOWN_TIMEOUT",
	"public-url":               "TOLLGATE_PUBLIC_URL",
	"trusted-proxies":          "TOLLGATE_TRUSTED_PROXIES",
	"allow-link-local-targets": "TOLLGATE_ALLOW_LINK_LOCAL_TARGETS",
	"stream-window":            "TOLLGATE_STREAM_WINDOW",
	"grpc-relay":               "TOLLGATE_GRPC_RELAY",

	"max-connections":        "TOLLGATE_MAX_CONNECTIONS",
	"max-connections-per-ip": "TOLLGATE_MAX_CONNECTIONS_PER_IP",
	"body-read-timeout":      "TOLLGATE_BODY_READ_TIMEOUT",
	"min-body-read-rate":     "TOLLGATE_MIN_BODY_READ_RATE",
	"min-body-write-rate":    "TOLLGATE_MIN_BODY_WRITE_RATE",
	"min-rate-grace":         "TOLLGATE_MIN_RATE_GRACE",
	"stream-reset-limit":     "TOLLGATE_STREAM_RESET_LIMIT",
	"store":                  "TOLLGATE_STORE",
	"redis":                  "TOLLGATE_REDIS",
	"websocket-entry-ttl":    "TOLLGATE_WEBSOCKET_ENTRY_TTL",
	"redis-throttle-batch":   "TOLLGATE_REDIS_THROTTLE_BATCH",
	"tls-listen":             "TOLLGATE_TLS_LISTEN",
	"tls-cert-file":          "TOLLGATE_TLS_CERT_FILE",
	"tls-key-file":           "TOLLGATE_TLS_KEY_FILE",
	"admin-tls-cert-file":    "TOLLGATE_ADMIN_TLS_CERT_FILE",
	"admin-tls-key-file":     "TOLLGATE_ADMIN_TLS_KEY_FILE",
	"admin-client-ca-file":   "TOLLGATE_ADMIN_CLIENT_CA_FILE",
	"require-admin-tls":      "TOLLGATE_REQUIRE_ADMIN_TLS",
	"audit-retention":        "TOLLGATE_AUDIT_RETENTION",
	"proxy-protocol":         "TOLLGATE_PROXY_PROTOCOL",
}

// newServeFlags defines the serve flags, writing into cfg, with the
// defaults of server.DefaultConfig.
func newServeFlags(cfg *server.Config) *flag.FlagSet {
	d := server.DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// Errors are returned, and help is written by parseServe, so the flag
	// package must not print anything itself.
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.DataDir, "data-dir", d.DataDir,
		"`dir`ectory for the database and the generated admin token; created with mode 0700")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", d.AdminAddr,
		"`host:port` of the admin API (gRPC and REST on one port); cleartext unless --admin-tls-cert-file is set, so keep it on loopback or a private network then")
	fs.StringVar(&cfg.ListenAddr, "listen", d.ListenAddr,
		"`host:port` where deployed APIs are served")
	fs.StringVar(&cfg.LogFormat, "log-format", d.LogFormat,
		"log `format` on stderr: text or json")
	fs.BoolVar(&cfg.Demo, "demo", d.Demo,
		"start the example backends and create what is missing of their APIs: the bookstore (gRPC and REST) on apis/bookstore/stages/demo and the WebSocket chat on apis/chat/stages/live")
	fs.DurationVar(&cfg.MaxRouteTimeout, "max-route-timeout", d.MaxRouteTimeout,
		"largest backend `timeout` a route may be given; at least 50ms")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout,
		"how long a shutdown waits for calls in flight before cutting them")
	fs.StringVar(&cfg.PublicURL, "public-url", d.PublicURL,
		"`URL` (scheme and host) clients reach the data port at, for the WebSocket callback URLs sent to backends; default: each upgrade request's own")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", d.TrustedProxies,
		"comma-separated `CIDRs` of proxies in front of the data port whose X-Forwarded-For/-Host/-Proto and Forwarded headers are believed; default: none (the gateway sets them from the connection)")
	fs.BoolVar(&cfg.AllowLinkLocalTargets, "allow-link-local-targets", d.AllowLinkLocalTargets,
		"let backends, authorizers and JWKS URLs be on link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, metadata.google.internal...), refused by default")
	fs.IntVar(&cfg.StreamWindow, "stream-window", d.StreamWindow,
		"HTTP/2 flow-control window of each gRPC call, in `bytes`: the most the gateway buffers for a stream whose receiver is slower than its sender; 0: 64 KiB, at most 16 MiB")
	fs.StringVar(&cfg.GRPCRelay, "grpc-relay", d.GRPCRelay,
		"how gRPC calls are relayed: `frames` (HTTP/2 frames passed through for calls whose policies need only headers, to cleartext backends; the others message by message; the default) or grpc (grpc-go's server and client, every call message by message)")
	addEdgeFlags(fs, cfg, d)
	fs.StringVar(&cfg.Store, "store", d.Store,
		"where the configuration is kept: `bolt` (embedded, in --data-dir) or a PostgreSQL URL (postgres://user@host:5432/db) shared by several gateway processes; give a password through TOLLGATE_STORE, PGPASSWORD or ~/.pgpass, not on the command line")
	fs.StringVar(&cfg.Redis, "redis", d.Redis,
		"`URL` of a Redis shared by several gateway processes (redis://host:6379/0; ?addr=host:port for more cluster seeds, ?master_name= for Sentinel), sharing their throttles and quotas; when it fails, limits fall back to each node's own; give a password through TOLLGATE_REDIS")
	fs.DurationVar(&cfg.WebSocketEntryTTL, "websocket-entry-ttl", d.WebSocketEntryTTL,
		"with --redis, how long a WebSocket connection's entry in Redis outlives its node's last heartbeat: another node's callbacks to the connections of a node that died answer 410 within it; 0: 30s")
	fs.DurationVar(&cfg.RedisThrottleBatch, "redis-throttle-batch", d.RedisThrottleBatch,
		"with --redis, take throttle tokens from Redis in leases of at most rate × `DURATION` (e.g. 10ms) and spend them locally, instead of one Redis round trip per check; trades accuracy (up to one lease per node over the limit) for latency and Redis load; 0: one round trip per check (exact); at most 1s")
	fs.StringVar(&cfg.TLSListenAddr, "tls-listen", d.TLSListenAddr,
		"`host:port` of the data plane's TLS listener (HTTPS and gRPC over TLS on one port), beside --listen; needs --tls-cert-file and --tls-key-file; empty: no TLS listener")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", d.TLSCertFile,
		"PEM `file` of the default TLS certificate chain (leaf first); reloaded when it changes and on SIGHUP, without dropping connections")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key-file", d.TLSKeyFile,
		"PEM `file` of the private key of --tls-cert-file")
	fs.StringVar(&cfg.AdminTLSCertFile, "admin-tls-cert-file", d.AdminTLSCertFile,
		"PEM `file` of the admin port's certificate chain; with --admin-tls-key-file the admin port serves only TLS; reloaded like --tls-cert-file")
	fs.StringVar(&cfg.AdminTLSKeyFile, "admin-tls-key-file", d.AdminTLSKeyFile,
		"PEM `file` of the private key of --admin-tls-cert-file")
	fs.StringVar(&cfg.AdminClientCAFile, "admin-client-ca-file", d.AdminClientCAFile,
		"PEM `file` of the CAs whose client certificates admin callers must present (on top of the admin token); needs --admin-tls-cert-file")
	fs.BoolVar(&cfg.RequireAdminTLS, "require-admin-tls", d.RequireAdminTLS,
		"refuse to start when --admin-addr is not a loopback address and the admin port has no TLS")
	fs.BoolVar(&cfg.ProxyProtocol, "proxy-protocol", d.ProxyProtocol,
		"read PROXY protocol v1/v2 headers on data-port connections from the trusted-proxies (layer-4 load balancers)")
	fs.DurationVar(&cfg.AuditRetention, "audit-retention", d.AuditRetention,
		"how long the audit log of admin writes is kept (`duration`, at least 1h)")
	return fs
}

// addEdgeFlags defines the flags of the data port's limits on connections
// and slow clients.
func addEdgeFlags(fs *flag.FlagSet, cfg *server.Config, d server.Config) {
	fs.IntVar(&cfg.MaxConnections, "max-connections", d.MaxConnections,
		"`n` connections open at once on the data port, more are closed on accept; 0: 80% of the file descriptor limit, -1: no limit")
	fs.IntVar(&cfg.MaxConnectionsPerIP, "max-connections-per-ip", d.MaxConnectionsPerIP,
		"`n` data-port connections open at once from one client IP; 0: a tenth of max-connections, -1: no limit (behind a load balancer)")
	fs.DurationVar(&cfg.BodyReadTimeout, "body-read-timeout", d.BodyReadTimeout,
		"how long a request body may take to arrive (REST and HTTP routes) before 408 Request Timeout")
	fs.IntVar(&cfg.MinBodyReadRate, "min-body-read-rate", d.MinBodyReadRate,
		"slowest average `bytes/s` a request body may arrive at after min-rate-grace, else 408; -1: no minimum")
	fs.IntVar(&cfg.MinBodyWriteRate, "min-body-write-rate", d.MinBodyWriteRate,
		"slowest `bytes/s` a client may read a response at (each write gets min-rate-grace plus its size at this rate), else it is cut off; -1: no minimum")
	fs.DurationVar(&cfg.MinRateGrace, "min-rate-grace", d.MinRateGrace,
		"slack of the minimum body rates")
	fs.IntVar(&cfg.StreamResetLimit, "stream-reset-limit", d.StreamResetLimit,
		"`n` streams a client may reset at once on one HTTP/2 connection (regaining n/10 per second), else GOAWAY and close (rapid reset); -1: no limit")
}

// parseServe turns the serve arguments and the environment into a Config:
// a flag wins over its environment variable, which wins over the default.
// An empty variable counts as unset. With -h or --help it writes the help
// to stdout and returns flag.ErrHelp.
func parseServe(args []string, getenv func(string) string, stdout io.Writer) (server.Config, error) {
	var cfg server.Config
	fs := newServeFlags(&cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeServeUsage(stdout, fs)
			return server.Config{}, err
		}
		return server.Config{}, fmt.Errorf("serve: %w (see 'tollgate serve --help')", err)
	}
	if fs.NArg() > 0 {
		return server.Config{}, fmt.Errorf("serve: unexpected argument %q (see 'tollgate serve --help')", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := serveFlagEnv[f.Name]
		val := getenv(env)
		if set[f.Name] || val == "" {
			return
		}
		// Setting the flag reuses its parser, so a variable accepts
		// exactly what its flag accepts.
		if err := fs.Set(f.Name, val); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", env, val, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return server.Config{}, fmt.Errorf("serve: %w", err)
	}
	cfg.AdminToken = getenv(adminTokenEnv)
	return cfg, nil
}

// writeServeUsage writes the help of serve, listing each flag with its
// environment variable and default.
func writeServeUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(`Usage: tollgate serve [flags]

Runs the gateway until SIGINT or SIGTERM: the admin API (gRPC and REST/JSON,
behind the admin token) on --admin-addr, and deployed APIs on --listen. Both
ports answer /healthz and /readyz.

Flags, each with its environment variable; a flag wins over its variable,
which wins over the default:
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "\n  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "  (env %s)\n", serveFlagEnv[f.Name])
		b.WriteString(wrap(fmt.Sprintf("%s (default %q)", usage, f.DefValue), "      ", 80))
	})
	b.WriteString(`
Environment only:

  ` + adminTokenEnv + `
      The admin token, at least 16 visible ASCII characters, that admin calls
      send as "authorization: Bearer <token>". It is not a flag because
      command lines are visible to every user of the machine. Unset: the token
      in <data-dir>/admin-token is used, generated on first start and shown
      once on stderr.
`)
	_, _ = io.WriteString(w, b.String())
}

// wrap breaks text into lines of at most width columns (longer words stay
// whole), each starting with indent and ending with a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
