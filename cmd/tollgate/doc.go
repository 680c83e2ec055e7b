// Command tollgate runs the Tollgate API gateway.
//
// Usage:
//
//	tollgate serve [flags]    run the gateway until SIGINT or SIGTERM
//	tollgate cert selfsigned  write a self-signed certificate and key (cert.pem, key.pem)
//	tollgate version          print the version
//	tollgate help [command]   show help
//
// Every flag of serve has an environment variable: TOLLGATE_ and the flag's
// name in upper case with underscores (--data-dir is TOLLGATE_DATA_DIR,
// --trusted-proxies TOLLGATE_TRUSTED_PROXIES); a flag wins over its
// variable, which wins over the default. The admin token is read only from
// TOLLGATE_ADMIN_TOKEN (at least 16 characters), never from a flag, because
// command lines are visible to every user of the machine. Run
// `tollgate serve --help` for the details.
//
// --store (TOLLGATE_STORE) selects where the configuration is kept: empty or
// "bolt" is the embedded database in --data-dir (one process), a
// postgres:// or postgresql:// URL a PostgreSQL database that several
// gateway processes share, each applying the admin writes made through any
// of them within about a second. Give such nodes the same
// TOLLGATE_ADMIN_TOKEN. --redis (TOLLGATE_REDIS) names a Redis the nodes
// share their throttling buckets and quota counts in; when it fails, each
// node falls back to its own. With it, a WebSocket callback sent to any
// node reaches a connection held by any other; --websocket-entry-ttl
// (TOLLGATE_WEBSOCKET_ENTRY_TTL, default 30s) bounds how long the
// connections of a node that died still look alive.
//
// TLS: --tls-listen opens a second data port beside --listen serving HTTPS
// (HTTP/1.1 and HTTP/2 by ALPN) and gRPC over TLS, with the default
// certificate from --tls-cert-file and --tls-key-file. The files are
// reloaded when they change (checked every few seconds) and on SIGHUP;
// open connections keep their certificate, new handshakes get the new one.
// --admin-tls-cert-file and --admin-tls-key-file make the admin port
// TLS-only, --admin-client-ca-file requires admin client certificates, and
// --require-admin-tls refuses a non-loopback --admin-addr without TLS.
//
// The command only turns flags and environment into a server.Config; the
// gateway itself lives in package server.
package main
