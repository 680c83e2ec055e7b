// Package cowmap is an immutable map whose updates copy only a small part
// of it: the data plane's routing tables, replaced on every configuration
// change, share everything a change did not touch with the table before,
// so that a change to one stage of thousands costs about the same as one
// of ten.
package cowmap
