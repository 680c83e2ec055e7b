package examplebackend_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// testTimeout bounds every call a test makes.
const testTimeout = 10 * time.Second

// start runs a backend with Start and returns a client connection to it.
func start(t *testing.T) (*examplebackend.Server, *grpc.ClientConn) {
	t.Helper()
	srv, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv, dial(t, srv.Addr())
}

// serveRegistered runs b and e with Register on a plain grpc.Server (with
// no recovery interceptor) and returns a client connection to it.
func serveRegistered(t *testing.T, b *examplebackend.Bookstore, e *examplebackend.Echo) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := grpc.NewServer()
	examplebackend.Register(s, b, e)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return dial(t, lis.Addr().String())
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func clients(conn *grpc.ClientConn) (examplev1.BookstoreServiceClient, examplev1.EchoServiceClient) {
	return examplev1.NewBookstoreServiceClient(conn), examplev1.NewEchoServiceClient(conn)
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkStatus fails the test unless err has code want and, if field is not
// empty, a google.rpc.BadRequest detail naming field.
func checkStatus(t *testing.T, err error, want codes.Code, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != want {
		t.Fatalf("got status %v %q, want code %v", st.Code(), st.Message(), want)
	}
	if want != codes.OK && st.Message() == "" {
		t.Errorf("status %v has an empty message", st.Code())
	}
	if field == "" {
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					if v.GetDescription() == "" {
						t.Errorf("BadRequest violation for %q has no description", field)
					}
					return
				}
			}
			t.Fatalf("BadRequest detail %v does not name field %q", br, field)
		}
	}
	t.Fatalf("status %v %q has no BadRequest detail (details: %v)", st.Code(), st.Message(), st.Details())
}
