package safeproto

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ErrPanic is wrapped by the error that Unmarshal, UnmarshalOptions and
// Guard return when the decoder panicked.
var ErrPanic = errors.New("the protobuf decoder panicked on malformed input")

// Unmarshal is proto.Unmarshal, except that it returns an error wrapping
// ErrPanic where proto.Unmarshal would panic.
func Unmarshal(b []byte, m proto.Message) error {
	return UnmarshalOptions(proto.UnmarshalOptions{}, b, m)
}

// UnmarshalOptions is o.Unmarshal(b, m), except that it returns an error
// wrapping ErrPanic where o.Unmarshal would panic. m may then hold part of
// the message.
func UnmarshalOptions(o proto.UnmarshalOptions, b []byte, m proto.Message) (err error) {
	defer recoverInto(&err)
	return o.Unmarshal(b, m)
}

// Guard runs decode, a function that unmarshals protobuf bytes it cannot
// pass to Unmarshal (a gRPC or vanguard codec's Unmarshal), and returns an
// error wrapping ErrPanic if it panics.
func Guard(decode func() error) (err error) {
	defer recoverInto(&err)
	return decode()
}

// recoverInto sets *err if the deferring function is panicking.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrPanic, r)
	}
}
