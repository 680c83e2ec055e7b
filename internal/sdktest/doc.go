// Package sdktest holds the tests of the SDKs that buf generates for other
// languages (gen/ts, gen/python): each runs a small client program in that
// language against a real gateway started on loopback, the way a user of
// the SDK would call it.
//
// The tests need the language's runtime (Node and the npm packages that
// `make tools` installs; Debian's python3-grpcio and python3-protobuf for
// /usr/bin/python3). Without it they skip with an install hint, except
// when CI=true, where they fail: CI installs everything and must run them.
package sdktest
