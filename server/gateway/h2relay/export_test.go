package h2relay

// StreamContextOwn reports whether streams answer their context values
// themselves (grpc-go's context keys were found).
func StreamContextOwn() bool { return incomingMDKey != nil && transportStreamKey != nil }
