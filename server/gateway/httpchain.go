package gateway

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// httpMethodName is the method name plain HTTP calls have in the
// interceptor chain (and its logs): they are not gRPC calls, but they pass
// the same policy interceptors.
const httpMethodName = "/tollgate.gateway.HTTP/Proxy"

// serveHTTPRoute runs a plain HTTP route's call through the same policy
// interceptors as gRPC and REST calls, then proxies it. A refusal is written
// as the same google.rpc.Status JSON with the same HTTP status a transcoded
// call would get. rest is the escaped path relative to the stage, which the
// backend receives; canon is its canonical form (reqpath), which the
// policies see.
func (g *Gateway) serveHTTPRoute(w http.ResponseWriter, r *http.Request, route *routing.Route, rest, canon string) {
	call := newCall(route, httpMethodName)
	call.Protocol = callinfo.REST
	call.HTTPMethod, call.HTTPPath, call.RawQuery = r.Method, canon, r.URL.RawQuery
	call.SourceIP = clientIP(r)
	call.UserAgent = r.UserAgent()
	call.ClientCert = clientCertOf(r.TLS)
	// The entries a gRPC client would send as metadata, and, for stages
	// with authorizers, every header (else those the policies read).
	md := metadata.MD{}
	if vs := r.Header.Values(requestid.MetadataKey); len(vs) > 0 {
		md[requestid.MetadataKey] = vs
	}
	for _, k := range g.metadataHeaders {
		if vs := r.Header.Values(k); len(vs) > 0 {
			md[k] = vs
		}
	}
	if len(route.Stage.Authorizers) > 0 {
		addHeaders(md, r.Header)
	} else {
		addSomeHeaders(md, r.Header, g.requestHeaders)
	}
	ctx := metadata.NewIncomingContext(r.Context(), md)
	ctx = callinfo.NewContext(routing.NewContext(ctx, route), call)
	stream := &httpStream{ctx: ctx, w: w}
	err := chain(g.httpChain, stream, &grpc.StreamServerInfo{FullMethod: httpMethodName, IsClientStream: true, IsServerStream: true},
		func(_ any, ss grpc.ServerStream) error {
			out := r.WithContext(ss.Context())
			out.Header = r.Header.Clone()
			// The client's x-tollgate-* headers are removed once, here;
			// the gateway's own (principal, authorizer context) are set
			// after, so the backend gets them and only them.
			callinfo.StripInternal(out.Header)
			if id := requestid.FromContext(ss.Context()); id != "" {
				out.Header.Set(requestid.MetadataKey, id)
			}
			setHeaders(out.Header, call.BackendMetadata())
			stream.proxied = true
			cw := &countingWriter{ResponseWriter: w}
			g.httpProxy.serve(cw, out, route, rest)
			call.ResponseBytes = cw.n
			call.RequestBytes = max(r.ContentLength, 0)
			return nil
		})
	if err != nil && !stream.proxied {
		writeChainError(w, err, stageResponses(route.Stage, call.RequestID))
	}
}

// stageResponses applies the gateway responses of the API a stage serves.
func stageResponses(st *routing.Stage, requestID string) gatewayerr.WriteOption {
	return gatewayerr.WithResponses(st.Snapshot.GetApi().GetGatewayResponses(), requestID)
}

// writeChainError answers an HTTP request whose call the chain (or the
// gateway) refused: the HTTP status of a rejection, or the one of its gRPC
// code, with Retry-After when the refusal names one.
func writeChainError(w http.ResponseWriter, err error, opts ...gatewayerr.WriteOption) {
	gatewayerr.WriteHTTP(w, gatewayerr.HTTPStatusOf(err), status.Convert(err), opts...)
}

// setHeaders sets md's entries as HTTP headers, replacing the client's
// headers of the same names: what the gateway asserts to an HTTP backend.
func setHeaders(h http.Header, md metadata.MD) {
	for k, vs := range md {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
}

// chain runs interceptors around handler, the first outermost.
func chain(interceptors []grpc.StreamServerInterceptor, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if len(interceptors) == 0 {
		return handler(nil, ss)
	}
	return interceptors[0](nil, ss, info, func(srv any, ss grpc.ServerStream) error {
		return chain(interceptors[1:], ss, info, handler)
	})
}

// httpStream is the grpc.ServerStream of a plain HTTP call in the
// interceptor chain: response headers set by interceptors (the request ID)
// become HTTP headers; there are no messages.
type httpStream struct {
	ctx     context.Context
	w       http.ResponseWriter
	proxied bool
}

var _ grpc.ServerStream = (*httpStream)(nil)

// errNoMessages is returned by the message methods of an httpStream.
var errNoMessages = errors.New("gateway: a plain HTTP call has no gRPC messages")

func (s *httpStream) SetHeader(md metadata.MD) error {
	for k, vs := range md {
		for _, v := range vs {
			s.w.Header().Add(k, v)
		}
	}
	return nil
}
func (s *httpStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }
func (s *httpStream) SetTrailer(metadata.MD)          {}
func (s *httpStream) Context() context.Context        { return s.ctx }
func (s *httpStream) SendMsg(any) error               { return errNoMessages }
func (s *httpStream) RecvMsg(any) error               { return errNoMessages }

// countingWriter counts the body bytes written to the client.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

// Write counts and writes.
func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flushing,
// full duplex).
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
