package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/recovery"
	"github.com/tollgate-gw/tollgate/server/adminauth"
	"github.com/tollgate-gw/tollgate/server/audit"
	"github.com/tollgate-gw/tollgate/server/console"
)

const (
	// maxRequestBytes bounds an admin request: a REST body, or one gRPC
	// message. It is well above gRPC's 4 MiB default because APIs upload
	// their FileDescriptorSet, which for a large schema with all its
	// imports runs to several megabytes.
	maxRequestBytes = 16 << 20
	// maxResponseBytes bounds one admin response read by the REST gateway.
	// A list page may hold many APIs with their descriptor sets, so it is
	// larger than a request.
	maxResponseBytes = 256 << 20
	// memBufferBytes is the buffer of the in-memory connection between the
	// REST gateway and the gRPC server.
	memBufferBytes = 1 << 20
)

// buildAdminAPI builds the admin gRPC server and the REST gateway in front
// of it, and the handler that shares the admin port between them.
func (s *Server) buildAdminAPI(auth *adminauth.Authenticator) error {
	s.grpc = grpc.NewServer(
		// The audit log wraps authorization, so that writes a role may not
		// make are recorded too.
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(s.log),
			audit.UnaryServerInterceptor(s.admin, auth.Authenticate, s.log), auth.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(s.log), auth.StreamServerInterceptor()),
		grpc.MaxRecvMsgSize(maxRequestBytes),
	)
	adminv1.RegisterAdminServiceServer(s.grpc, s.admin)
	s.health = health.NewServer()
	// Health reports NOT_SERVING until Serve is ready, like /readyz.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(adminv1.AdminService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	// Reflection lets grpcurl and IDEs discover the admin API. It stays
	// behind the admin token (grpcurl sends -H headers on reflection calls
	// too), so the schema of a gateway is not public.
	reflection.Register(s.grpc)

	// The REST gateway reaches the gRPC server over an in-memory listener
	// rather than calling the service directly
	// (RegisterAdminServiceHandlerServer), because only a real gRPC call
	// passes the server's interceptors: REST calls must be authenticated
	// exactly like gRPC calls.
	s.memLis = bufconn.Listen(memBufferBytes)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return s.memLis.DialContext(ctx)
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxResponseBytes),
			grpc.MaxCallSendMsgSize(maxRequestBytes),
		),
	)
	if err != nil {
		return fmt.Errorf("server: connect REST gateway: %w", err)
	}
	s.gwConn = conn
	mux := runtime.NewServeMux(
		// Unknown JSON fields are an error (400), not silently dropped: a
		// misspelled field in a configuration call must not look like
		// success. The default error handler answers with a
		// google.rpc.Status JSON body (code, message, details).
		// HTTPBodyMarshaler writes google.api.HttpBody responses
		// (ExportDeployment's documents) as their bytes and content type.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithErrorHandler(errorHandler),
	)
	// grpc-gateway forwards the HTTP Authorization header as the
	// "authorization" metadata that adminauth checks; the server tests
	// verify this end to end.
	if err := adminv1.RegisterAdminServiceHandler(context.Background(), mux, conn); err != nil {
		return fmt.Errorf("server: register REST gateway: %w", err)
	}
	s.adminAPI = routeAdmin(s.grpc, limitBody(mux, maxRequestBytes), s.metrics())
	return nil
}

// bearerChallenge is the WWW-Authenticate value of a 401 from the admin
// API (RFC 6750, section 3).
const bearerChallenge = `Bearer realm="tollgate-admin"`

// errorHandler is grpc-gateway's default error handler, whose body and
// status mapping it keeps, with one fix: the default sets WWW-Authenticate
// on a 401 to the status message, which is not a valid challenge and trips
// up HTTP clients that parse it. A 401 gets a proper Bearer challenge.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, challengeWriter{w}, r, err)
}

// challengeWriter sets the Bearer challenge as a 401 is written.
type challengeWriter struct {
	http.ResponseWriter
}

// WriteHeader implements http.ResponseWriter.
func (c challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		c.Header().Set("WWW-Authenticate", bearerChallenge)
	}
	c.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// consoleFiles serves the web console's embedded files.
var consoleFiles = console.Handler()

// routeAdmin shares the admin port between gRPC, the web console and REST:
// HTTP/2 requests with a gRPC content type go to the gRPC server, paths
// under /console/ to the console's files, everything else to the REST
// gateway.
func routeAdmin(grpcServer *grpc.Server, rest, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Prometheus scrapes without the admin token, like the health
		// probes: the admin port listens on loopback by default.
		if r.URL.Path == metricsPath && metrics != nil && r.Method == http.MethodGet {
			metrics.ServeHTTP(w, r)
			return
		}
		if isGRPC(r) {
			grpcServer.ServeHTTP(w, r)
			return
		}
		// The web console's static files need no token (they hold no
		// data); the page then calls the REST admin API with the token
		// its user signs in with.
		if console.Matches(r.URL.Path) {
			consoleFiles.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// isGRPC reports whether r is a gRPC call ("application/grpc",
// "application/grpc+proto", ...). gRPC needs HTTP/2, so an HTTP/1 request
// is never one.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// limitBody refuses request bodies over max bytes: at once with 413 when
// the Content-Length says so, else when reading passes the limit (the
// gateway then answers 400).
func limitBody(h http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeStatusJSON(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
				fmt.Sprintf("request body is %d bytes; the limit is %d bytes", r.ContentLength, max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		h.ServeHTTP(w, r)
	})
}
