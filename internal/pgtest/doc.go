// Package pgtest starts throwaway PostgreSQL servers for tests.
//
// [Start] runs initdb into a temporary directory and starts a server on a
// free loopback port, trusting local connections, with durability switched
// off (fsync=off) because a test's data dies with the test. PostgreSQL
// refuses to run as root, so when the test runs as root the server runs as
// the postgres user that Debian's package creates (runuser -u postgres).
//
// When the PostgreSQL binaries are missing the test is skipped with a
// message saying how to install them, except when the environment says
// CI=true: there the test fails, so that CI never passes by skipping.
package pgtest
