// Package proxyproto reads PROXY protocol headers (HAProxy's v1 text and v2
// binary formats) on connections from trusted load balancers, so that a
// layer-4 balancer in front of the data port can tell the gateway the
// client's address.
//
// Only connections whose peer is trusted are looked at: from any other
// peer the bytes pass through untouched, so a client cannot claim another
// address (a PROXY header it sends is then an invalid request). From a
// trusted peer the header is optional: a connection without one keeps its
// peer address (health checks). A header of the LOCAL command, or of an
// address family other than TCP over IPv4 or IPv6, keeps it too.
package proxyproto
