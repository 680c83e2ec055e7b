// Package redistest starts throwaway Redis servers for tests.
//
// [Start] runs redis-server in the foreground on a free loopback port, with
// persistence switched off (a test's data dies with the test), and stops it
// when the test ends. Redis runs as root, so no user switching is needed.
//
// When redis-server is missing the test is skipped with a message saying
// how to install it, except when the environment says CI=true: there the
// test fails, so that CI never passes by skipping.
package redistest
