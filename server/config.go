package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/server/adminauth"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// Defaults of the Config fields. A zero field means its default, so the zero
// Config is a valid local setup.
const (
	// DefaultDataDir is the default Config.DataDir.
	DefaultDataDir = "./tollgate-data"
	// DefaultAdminAddr is the default Config.AdminAddr. It is a loopback
	// address because the admin API is cleartext unless given a
	// certificate: exposing it is a choice the operator must make
	// explicitly.
	DefaultAdminAddr = "127.0.0.1:9090"
	// DefaultListenAddr is the default Config.ListenAddr.
	DefaultListenAddr = ":8080"
	// DefaultLogFormat is the default Config.LogFormat.
	DefaultLogFormat = LogFormatText
	// DefaultMaxRouteTimeout is the default Config.MaxRouteTimeout: 29
	// seconds, the limit of Amazon API Gateway, which clients and load
	// balancers in front of gateways are commonly tuned for.
	DefaultMaxRouteTimeout = 29 * time.Second
	// DefaultShutdownTimeout is the default Config.ShutdownTimeout. It is
	// longer than DefaultMaxRouteTimeout so that a call that started just
	// before shutdown can still finish.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultAuditRetention is the default Config.AuditRetention: 90 days.
	DefaultAuditRetention = 90 * 24 * time.Hour
)

// Log formats accepted by Config.LogFormat.
const (
	// LogFormatText writes logfmt-style lines (key=value), for people.
	LogFormatText = "text"
	// LogFormatJSON writes one JSON object per line, for log collectors.
	LogFormatJSON = "json"
)

// minMaxRouteTimeout is the lower bound of Config.MaxRouteTimeout: the
// shortest timeout a route may have, so a smaller maximum would leave no
// valid route timeout at all.
const minMaxRouteTimeout = 50 * time.Millisecond

// Config is the configuration of a [Server]. Every field may be left zero
// to get its default; [DefaultConfig] returns the defaults spelled out. The
// field comments are the user documentation of the matching flags of
// `tollgate serve`.
type Config struct {
	// DataDir is the directory holding Tollgate's state: the database
	// (tollgate.db, unless Store names PostgreSQL) and the generated admin
	// token (admin-token). It is created with mode 0700 if missing. Only one
	// Tollgate process can use a data dir at a time. Default
	// "./tollgate-data".
	DataDir string

	// Store selects where the configuration is stored. Empty or "bolt" is
	// the embedded database in DataDir, for one process. A PostgreSQL URL
	// (postgres://user@host:5432/db?sslmode=require, or postgresql://...)
	// stores it in that database, shared by every process given the same
	// URL: each applies the writes of the others within about a second.
	// Prefer the environment (TOLLGATE_STORE) or PGPASSWORD/.pgpass to a
	// password on the command line. Default "" (bolt).
	Store string

	// Redis is the URL of a Redis shared by every gateway node
	// (redis://[user:password@]host:6379[/db], rediss:// for TLS; extra
	// ?addr=host:port parameters for a Redis Cluster's seed addresses, or
	// with ?master_name=name the Sentinels of that primary). With it,
	// throttling buckets and quota counts are shared by the nodes (a quota
	// is exact across them); when Redis fails, each node falls back to its
	// own buckets with the same limits and to its own quota counts
	// (logged, and counted in the tollgate.redis.* metrics) and never
	// waits on Redis for more than 500ms. Prefer the environment (TOLLGATE_REDIS) for a
	// URL holding a password. Default "" (no Redis: every limit is per
	// node).
	//
	// With Redis, WebSocket connections are shared too: a callback API
	// call (@connections, ConnectionsService) sent to any node reaches a
	// connection held by any other (see docs/scaling.md).
	Redis string

	// WebSocketEntryTTL is, with Redis, how long a WebSocket connection's
	// entry in Redis outlives the last heartbeat of the node holding it
	// (heartbeats run every third of it): the connections of a node that
	// died answer 410 Gone on other nodes' callback APIs within this
	// time. Default 0: 30s.
	WebSocketEntryTTL time.Duration
	// RedisThrottleBatch, when above zero with Redis, switches the shared
	// throttles to batch mode: each node takes tokens from Redis in leases
	// of at most rate × RedisThrottleBatch (sized to its own traffic) and
	// spends them locally, instead of one round trip per check. The fleet
	// then admits up to one lease per node more than the bucket within a
	// lease's life (max(RedisThrottleBatch, 1s)), and unspent tokens are
	// dropped. See docs/scaling.md for the measured accuracy and saving.
	// At most 1s. Default 0: one round trip per check, exact.
	RedisThrottleBatch time.Duration

	// AdminAddr is the host:port of the admin API, serving both gRPC and
	// REST/JSON on one port. Without AdminTLSCertFile it is cleartext, so
	// keep it on a loopback or private address then. Port 0 picks a free
	// port. Default "127.0.0.1:9090".
	AdminAddr string

	// ListenAddr is the host:port where deployed APIs are served to
	// clients. Port 0 picks a free port. Default ":8080" (every interface).
	ListenAddr string

	// LogFormat is the format of the logs written to Stderr: "text"
	// or "json". It is ignored when Logger is set. Default "text".
	LogFormat string

	// AdminToken is the token that admin API calls must send as
	// "authorization: Bearer <token>"; at least 16 visible ASCII
	// characters. Empty means: use the token in DataDir/admin-token,
	// generating it on first start. `tollgate serve` reads it only from the
	// environment (TOLLGATE_ADMIN_TOKEN), never from a flag, because
	// command lines are visible to every user of the machine.
	AdminToken string

	// Demo, when true, starts an example bookstore backend in the process
	// and deploys an API for it to the stage apis/bookstore/stages/demo, so
	// there is something to call right away. Running it again on the same
	// DataDir updates that API instead of duplicating it. Default false.
	Demo bool

	// MaxRouteTimeout is the largest backend timeout a route may be given;
	// at least 50ms. Default 29s.
	MaxRouteTimeout time.Duration

	// ShutdownTimeout is how long a graceful shutdown waits for calls in
	// flight before closing them. Default 30s.
	ShutdownTimeout time.Duration

	// PublicURL is the scheme and host ("https://gw.example.com") at which
	// backends reach the data port, used in the callback URLs of WebSocket
	// APIs sent with every integration call. Empty uses the host of each
	// upgrade request when a domain mapping names it, else the address the
	// client connected to. Default "".
	PublicURL string

	// TrustedProxies is a comma-separated list of CIDR prefixes or
	// addresses ("10.0.0.0/8, 192.168.1.10") of the proxies in front of the
	// data port. Only from these peers are X-Forwarded-For, -Host, -Proto
	// and Forwarded believed: the client IP is then the right-most
	// X-Forwarded-For address not in the list, and the received chain is
	// appended to. From every other peer, the gateway replaces those
	// headers (and X-Real-Ip) with what the connection says. Default "":
	// trust nobody.
	TrustedProxies string
	// AllowLinkLocalTargets lets integration, reflection, custom
	// authorizer and JWKS targets point at link-local and cloud metadata
	// addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254,
	// 100.100.100.200, and names such as metadata.google.internal). By
	// default the admin API refuses such targets with INVALID_ARGUMENT and
	// the data plane refuses to connect to such addresses (a name or stage
	// variable resolving to one included): a target there reads the
	// host's cloud credentials. Default false.
	AllowLinkLocalTargets bool
	// StreamWindow is the HTTP/2 flow-control window, in bytes, of each
	// gRPC call the data plane receives, from clients and from backends:
	// the most it buffers for one stream whose other side reads slower
	// than this side sends (a fast backend and a slow client), so stream
	// memory is bounded by it, not by either side's speed. 0 means the
	// default, 64 KiB (also the minimum); at most 16 MiB.
	StreamWindow int
	// GRPCRelay is how the data port serves and relays gRPC calls: "grpc"
	// (grpc-go's transport, every call relayed message by message) or
	// "frames" (the gateway's own HTTP/2 server; calls whose policies need
	// only headers are relayed frame by frame to cleartext backends, the
	// others message by message). Empty means "frames".
	GRPCRelay string

	// MaxConnections caps the connections open at once on the data port;
	// a connection over it is closed right after it is accepted. 0 means
	// 80% of the process's file descriptor limit (RLIMIT_NOFILE); -1
	// means no limit. Default 0.
	MaxConnections int

	// MaxConnectionsPerIP caps the connections open at once on the data
	// port from one client IP address. 0 means a tenth of the effective
	// MaxConnections (or of 80% of the file descriptor limit); -1 means no
	// limit, for a gateway behind a load balancer through which every
	// client shares one address. Default 0.
	MaxConnectionsPerIP int

	// BodyReadTimeout is how long a client may take to send a request
	// body (REST and plain HTTP routes, HTTP/1.1 and h2c), counted from
	// the end of its headers. A body still arriving then is answered 408
	// Request Timeout and, on HTTP/1.1, the connection is closed. gRPC
	// streams are not bounded (grpc-go's flow control and keepalive apply
	// to them). Default 60s.
	BodyReadTimeout time.Duration

	// MinBodyReadRate is the slowest a request body may arrive, in bytes
	// per second on average, once MinRateGrace has passed; a slower body is
	// answered 408 as with BodyReadTimeout. -1 means no minimum rate.
	// Default 1024 (1 KiB/s).
	MinBodyReadRate int

	// MinBodyWriteRate is the slowest a client may read a response, in
	// bytes per second: each write to the client must complete within
	// MinRateGrace plus its size at this rate, else the response is cut
	// off and the connection (HTTP/1.1) or stream (HTTP/2) closed. Slow
	// readers otherwise hold a connection, its buffers and a backend call
	// open. -1 means no minimum rate. Default 1024 (1 KiB/s).
	MinBodyWriteRate int

	// MinRateGrace is the slack of MinBodyReadRate and MinBodyWriteRate:
	// how long a body may trickle before its average rate counts, and
	// how long any single write may take beyond its size at the minimum
	// rate. Default 5s.
	MinRateGrace time.Duration

	// StreamResetLimit is how many streams a client may reset at once on
	// one HTTP/2 connection of the data port (gRPC or h2c); it regains a
	// tenth of that per second. A client resetting streams faster (the
	// HTTP/2 "rapid reset" attack) gets GOAWAY ENHANCE_YOUR_CALM and its
	// connection is closed. -1 means no limit. Default 1000, the streams a
	// client may have open at once: cancelling all of them is legitimate.
	StreamResetLimit int

	// TLSListenAddr is the host:port of the data plane's TLS listener:
	// HTTPS (HTTP/1.1 and HTTP/2 by ALPN) and gRPC over TLS on one port,
	// beside the cleartext ListenAddr. It needs TLSCertFile and TLSKeyFile.
	// Port 0 picks a free port. Default "" (no TLS listener).
	TLSListenAddr string

	// TLSCertFile is the PEM file of the data plane's default certificate
	// chain (leaf first), presented to clients whose server name (SNI) has
	// no certificate of its own. It is reloaded, with TLSKeyFile, when
	// either file changes and on [Server.ReloadCertificates] (SIGHUP),
	// without dropping open connections. Default "".
	TLSCertFile string

	// TLSKeyFile is the PEM file of TLSCertFile's private key. Default "".
	TLSKeyFile string

	// AdminTLSCertFile is the PEM file of the admin port's certificate
	// chain. With AdminTLSKeyFile, the admin port serves only TLS (gRPC
	// and REST/JSON, HTTP/2 and HTTP/1.1 by ALPN). Reloaded like
	// TLSCertFile. Default "" (cleartext).
	AdminTLSCertFile string

	// AdminTLSKeyFile is the PEM file of AdminTLSCertFile's private key.
	// Default "".
	AdminTLSKeyFile string

	// AdminClientCAFile is a PEM bundle of the certificate authorities
	// whose client certificates the admin port accepts; when set, every
	// admin caller must present one (the admin token is still required).
	// Needs AdminTLSCertFile. Default "" (no client certificates).
	AdminClientCAFile string

	// RequireAdminTLS refuses to start when AdminAddr is not a loopback
	// address and the admin port has no TLS, instead of only warning.
	// Default false.
	RequireAdminTLS bool

	// ProxyProtocol reads PROXY protocol v1/v2 headers on data-port
	// connections from TrustedProxies (layer-4 load balancers), whose
	// source address then is the connection's client address. Connections
	// from other peers are served as they come. Requires TrustedProxies.
	// Default false.
	ProxyProtocol bool

	// AuditRetention is how long the audit log of admin writes is kept;
	// older events are pruned hourly. Zero means DefaultAuditRetention.
	AuditRetention time.Duration

	// Logger receives the server's logs. Nil builds one that writes
	// LogFormat to Stderr.
	Logger *slog.Logger

	// Stderr is where a newly generated admin token is shown, once, to the
	// operator (it never goes to the logs), and where the default Logger
	// writes. Nil means os.Stderr.
	Stderr io.Writer

	// AccessLog is where stages with access logging enabled write one JSON
	// line per call. Nil means os.Stdout.
	AccessLog io.Writer

	// redisTimeout, set by tests only (export_test.go), replaces the short
	// bounds on every wait on Redis (redisconn.WithTimeout,
	// redisquota.WithTimeout): on a loaded CI machine a cold pool dialing
	// for a burst of calls can exceed them and fall back to local counts.
	redisTimeout time.Duration
}

// DefaultConfig returns the Config that the zero Config stands for, with
// every default spelled out, for flag defaults and documentation.
func DefaultConfig() Config {
	return Config{
		DataDir:         DefaultDataDir,
		AdminAddr:       DefaultAdminAddr,
		ListenAddr:      DefaultListenAddr,
		LogFormat:       DefaultLogFormat,
		MaxRouteTimeout: DefaultMaxRouteTimeout,
		ShutdownTimeout: DefaultShutdownTimeout,

		// Limits of slow clients on the data port.
		BodyReadTimeout:  DefaultBodyReadTimeout,
		MinBodyReadRate:  DefaultMinBodyRate,
		MinBodyWriteRate: DefaultMinBodyRate,
		MinRateGrace:     DefaultMinRateGrace,
		StreamResetLimit: DefaultStreamResetLimit,
		AuditRetention:   DefaultAuditRetention,
	}
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DataDir == "" {
		c.DataDir = d.DataDir
	}
	if c.AdminAddr == "" {
		c.AdminAddr = d.AdminAddr
	}
	if c.ListenAddr == "" {
		c.ListenAddr = d.ListenAddr
	}
	if c.LogFormat == "" {
		c.LogFormat = d.LogFormat
	}
	if c.MaxRouteTimeout == 0 {
		c.MaxRouteTimeout = d.MaxRouteTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = d.AuditRetention
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	return c.withEdgeDefaults(d)
}

// Validate reports every problem of c at once, joined, each prefixed with
// the name of the flag that sets the field (for example "admin-addr: ..."),
// so an operator can fix a configuration in one go. Zero fields are valid:
// they stand for their defaults. Validate does not touch the network or the
// file system.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	add("admin-addr", validateAddr(c.AdminAddr))
	add("listen", validateAddr(c.ListenAddr))
	if c.AdminAddr == c.ListenAddr && !hasPortZero(c.AdminAddr) {
		errs = append(errs, fmt.Errorf("listen: %q is also the admin-addr; the admin API and the data plane need separate ports", c.ListenAddr))
	}
	if c.StreamWindow < 0 || c.StreamWindow > 16<<20 {
		errs = append(errs, fmt.Errorf("stream-window: %d bytes is not between 0 (the default) and 16 MiB", c.StreamWindow))
	}
	switch c.GRPCRelay {
	case "", string(gateway.RelayGRPC), string(gateway.RelayFrames):
	default:
		errs = append(errs, fmt.Errorf("grpc-relay: %q is neither %q nor %q", c.GRPCRelay, gateway.RelayGRPC, gateway.RelayFrames))
	}
	switch c.LogFormat {
	case LogFormatText, LogFormatJSON:
	default:
		errs = append(errs, fmt.Errorf("log-format: %q is not a log format; use %q or %q", c.LogFormat, LogFormatText, LogFormatJSON))
	}
	if c.AdminToken != "" {
		add("admin-token", adminauth.ValidateToken(c.AdminToken))
	}
	if c.MaxRouteTimeout < minMaxRouteTimeout {
		errs = append(errs, fmt.Errorf("max-route-timeout: %s is too short; it must be at least %s", c.MaxRouteTimeout, minMaxRouteTimeout))
	}
	if c.PublicURL != "" {
		add("public-url", validatePublicURL(c.PublicURL))
	}
	if _, err := forwarded.ParsePrefixes(c.TrustedProxies); err != nil {
		add("trusted-proxies", err)
	}
	add("store", validateStore(c.Store))
	add("redis", validateRedis(c.Redis))
	if c.RedisThrottleBatch < 0 || c.RedisThrottleBatch > time.Second {
		add("redis-throttle-batch", fmt.Errorf("%s is not between 0 (one Redis round trip per check) and 1s", c.RedisThrottleBatch))
	} else if c.RedisThrottleBatch > 0 && c.Redis == "" {
		add("redis-throttle-batch", errors.New("needs --redis: without Redis every throttle is local already"))
	}

	errs = append(errs, c.validateTLS()...)
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown-timeout: %s is negative", c.ShutdownTimeout))
	}
	if c.WebSocketEntryTTL != 0 && c.WebSocketEntryTTL < 300*time.Millisecond {
		errs = append(errs, fmt.Errorf("websocket-entry-ttl: %s is under 300ms (or negative); heartbeats run every third of it", c.WebSocketEntryTTL))
	}
	errs = append(errs, c.validateEdge()...)
	if p, err := forwarded.ParsePrefixes(c.TrustedProxies); c.ProxyProtocol && err == nil && len(p) == 0 {
		errs = append(errs, errors.New("proxy-protocol: needs trusted-proxies, the load balancers that may send PROXY headers"))
	}
	if c.AuditRetention < time.Hour {
		errs = append(errs, fmt.Errorf("audit-retention: %s is too short; it must be at least 1h", c.AuditRetention))
	}
	return errors.Join(errs...)
}

// validatePublicURL checks that u is an http(s) URL with a host and no
// path, query or credentials.
func validatePublicURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %w", u, err)
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("%q must start with http:// or https://", u)
	case p.Host == "" || p.User != nil || (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "":
		return fmt.Errorf("%q must be a scheme and host only, e.g. https://gw.example.com", u)
	}
	return nil
}

// validateAddr checks that addr is host:port with a numeric port; the host
// may be empty (every interface). Names are not resolved here.
func validateAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// hasPortZero reports whether addr asks for a free port, in which case two
// equal addresses still get distinct ports.
func hasPortZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

// newLogger builds the default logger for c, which must have its defaults
// applied: LogFormat to c.Stderr.
func newLogger(c Config) *slog.Logger {
	if c.LogFormat == LogFormatJSON {
		return slog.New(slog.NewJSONHandler(c.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(c.Stderr, nil))
}
