// Command tollgate runs the Tollgate API gateway.
//
// Usage:
//
//	tollgate serve [flags]    run the gateway until SIGINT or SIGTERM
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
// TOLLGATE_ADMIN_TOKEN.
//
// The command only turns flags and environment into a server.Config; the
// gateway itself lives in package server.
package main
