// Package safeproto decodes protobuf bytes that someone else sent (a
// backend's response, a client's request) without letting a panic in the
// decoder take the gateway down.
//
// google.golang.org/protobuf's reflective decoder, the one every
// dynamicpb message goes through, panics on some malformed input instead of
// returning an error: a map entry that repeats its key with the wrong wire
// type, for example, makes proto.Unmarshal call MapKey on an invalid value.
// A panic there would crash the process on a gRPC handler goroutine and
// reset the connection on an HTTP one. The functions here turn it into an
// ordinary decode error, which callers map as they map any other
// undecodable message.
package safeproto
