// Command tollgate runs the Tollgate API gateway.
//
// Usage:
//
//	tollgate serve [flags]    run the gateway until SIGINT or SIGTERM
//	tollgate version          print the version
//	tollgate help [command]   show help
//
// Every flag of serve has an environment variable (TOLLGATE_DATA_DIR,
// TOLLGATE_ADMIN_ADDR, TOLLGATE_LISTEN, TOLLGATE_LOG_FORMAT, TOLLGATE_DEMO,
// TOLLGATE_MAX_ROUTE_TIMEOUT, TOLLGATE_SHUTDOWN_TIMEOUT,
// TOLLGATE_PUBLIC_URL, TOLLGATE_STORE); a flag wins over its variable,
// which wins over the default.
//
// --store (TOLLGATE_STORE) selects where the configuration is kept: empty or
// "bolt" is the embedded database in --data-dir (one process), a
// postgres:// or postgresql:// URL a PostgreSQL database that several
// gateway processes share, each applying the admin writes made through any
// of them within about a second. Give such nodes the same
// TOLLGATE_ADMIN_TOKEN.
//
// The admin token is read only from TOLLGATE_ADMIN_TOKEN (at least 16
// characters), never from a flag, because command lines are visible to
// every user of the machine. Run `tollgate serve --help` for the details.
//
// The command only turns flags and environment into a server.Config; the
// gateway itself lives in package server.
package main
