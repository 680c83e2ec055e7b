// Package gatewayerr defines the errors the data plane raises itself, as
// opposed to errors a backend returned, so that every protocol edge maps
// them the same way: a gRPC status with a google.rpc.ErrorInfo detail whose
// reason says what went wrong, and the HTTP status that REST clients get.
package gatewayerr
