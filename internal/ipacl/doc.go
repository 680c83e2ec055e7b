// Package ipacl parses and evaluates IP allow and deny lists: the CIDRs of
// an IpPolicy, compiled once into net/netip prefixes. The admin API
// validates policies with ParsePrefix, the same code the data plane
// compiles them with, so that what was accepted is what runs.
package ipacl
