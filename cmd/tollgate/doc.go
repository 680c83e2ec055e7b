// Command tollgate runs the Tollgate API gateway.
//
// Usage:
//
//	tollgate serve [flags]    run the gateway until SIGINT or SIGTERM
//	tollgate cert selfsigned  write a self-signed certificate and key (cert.pem, key.pem)
//	tollgate version          print the version
//	tollgate help [command]   show help
//
// Every flag of serve has an environment variable (TOLLGATE_DATA_DIR,
// TOLLGATE_ADMIN_ADDR, TOLLGATE_LISTEN, TOLLGATE_LOG_FORMAT, TOLLGATE_DEMO,
// TOLLGATE_MAX_ROUTE_TIMEOUT, TOLLGATE_SHUTDOWN_TIMEOUT, TOLLGATE_PUBLIC_URL,
// TOLLGATE_TLS_LISTEN, TOLLGATE_TLS_CERT_FILE, TOLLGATE_TLS_KEY_FILE); a flag
// wins over its variable, which wins over the default.
//
// TLS: --tls-listen opens a second data port beside --listen serving HTTPS
// (HTTP/1.1 and HTTP/2 by ALPN) and gRPC over TLS, with the default
// certificate from --tls-cert-file and --tls-key-file. The files are
// reloaded when they change (checked every few seconds) and on SIGHUP;
// open connections keep their certificate, new handshakes get the new one. The admin token is read only
// from TOLLGATE_ADMIN_TOKEN, never from a flag, because command lines are
// visible to every user of the machine. Run `tollgate serve --help` for
// the details.
//
// The command only turns flags and environment into a server.Config; the
// gateway itself lives in package server.
package main
