package redisconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Timeouts and pool size of the clients Open makes. Every data-plane use
// of Redis falls back to local state, so waiting much longer than this for
// Redis would only slow calls down; waiting less would fall back (and lose
// exactness) under a mere burst of calls queueing for connections.
const (
	// DialTimeout bounds connecting to a Redis server.
	DialTimeout = 500 * time.Millisecond
	// IOTimeout bounds each read and write on a connection.
	IOTimeout = 500 * time.Millisecond
	// PoolTimeout bounds waiting for a free connection of the pool.
	PoolTimeout = 500 * time.Millisecond
	// PoolSizePerCPU is the number of connections per GOMAXPROCS a client
	// may open (go-redis's default is 10): calls block on Redis's answer,
	// not on a CPU, so more of them can be in flight than cores.
	PoolSizePerCPU = 32
)

// Validate checks a Redis URL without connecting. Its errors never quote
// the URL, which may hold a password.
func Validate(rawURL string) error {
	_, err := parse(rawURL)
	return err
}

// Open returns a client of the Redis that rawURL names, without connecting
// yet. The URL has the form
//
//	redis://[user:password@]host:port[/db][?addr=host2:port&addr=...][&master_name=name][&cluster=true]
//
// (rediss:// for TLS). One address is a single server; extra addr
// parameters make it a Redis Cluster's seed addresses, or, with
// master_name, the Sentinel addresses of that primary. cluster=true
// selects Cluster mode with one seed address.
func Open(rawURL string, opts ...Option) (redis.UniversalClient, error) {
	o, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(o)
	}
	return redis.NewUniversalClient(o), nil
}

// Option adjusts the client Open makes.
type Option func(*redis.UniversalOptions)

// WithTimeout bounds dialing, each read and write, and waiting for a free
// connection to d instead of DialTimeout, IOTimeout and PoolTimeout (a
// test sharing two loaded cores between three nodes and a hundred
// concurrent calls needs longer; a gateway should keep the short
// defaults). Zero or less keeps the defaults.
func WithTimeout(d time.Duration) Option {
	return func(o *redis.UniversalOptions) {
		if d > 0 {
			o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = d, d, d, d
		}
	}
}

// parse turns a Redis URL into client options.
func parse(rawURL string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("the Redis URL does not parse; expected redis://host:6379/0")
	}
	o := &redis.UniversalOptions{
		DialTimeout:  DialTimeout,
		ReadTimeout:  IOTimeout,
		WriteTimeout: IOTimeout,
		PoolTimeout:  PoolTimeout,
		PoolSize:     PoolSizePerCPU * runtime.GOMAXPROCS(0),
		// Context deadlines bound the calls too, not only the timeouts above.
		ContextTimeoutEnabled: true,
		// A failed call falls back to local state at once: retrying would
		// only add latency to the call waiting for it.
		MaxRetries:    -1,
		DialerRetries: 1,
		// Redis 7.0 does not know the maintenance notifications handshake.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return nil, errors.New("the Redis URL must start with redis:// or rediss://")
	}
	if u.Host == "" {
		return nil, errors.New("the Redis URL has no host; expected redis://host:6379/0")
	}
	q := u.Query()
	for _, a := range append([]string{u.Host}, q["addr"]...) {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("the Redis address %q is not host:port", a)
		}
		o.Addrs = append(o.Addrs, a)
	}
	if o.TLSConfig != nil {
		o.TLSConfig.ServerName, _, _ = net.SplitHostPort(u.Host)
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("the Redis database %q is not a number", db)
		}
		o.DB = n
	}
	o.MasterName = q.Get("master_name")
	if c := q.Get("cluster"); c != "" {
		b, err := strconv.ParseBool(c)
		if err != nil {
			return nil, fmt.Errorf("the Redis URL's cluster=%q is not true or false", c)
		}
		o.IsClusterMode = b
	}
	if (o.IsClusterMode || (len(o.Addrs) > 1 && o.MasterName == "")) && o.DB != 0 {
		return nil, errors.New("a Redis Cluster has only database 0")
	}
	for k := range q {
		switch k {
		case "addr", "master_name", "cluster":
		default:
			return nil, fmt.Errorf("the Redis URL has an unknown parameter %q (known: addr, master_name, cluster)", k)
		}
	}
	return o, nil
}
