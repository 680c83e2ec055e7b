// Package requestid gives every data-plane call a request ID and logs the
// call when it ends.
//
// The ID is taken from the client's x-request-id metadata entry (or HTTP
// header, which transcoding forwards as metadata) when it is a sane token,
// and generated otherwise. It is returned to the client in the x-request-id
// response header, forwarded to the backend in the same entry, and
// available to later interceptors through FromContext.
package requestid
