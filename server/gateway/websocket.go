package gateway

import (
	"context"
	"net/http"

	"google.golang.org/grpc"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/clock"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	ws "github.com/tollgate-gw/tollgate/server/gateway/websocket"
)

// The data plane's WebSocket part is package websocket: this file only
// lends it the chain, the routing table and the backends (ws.Host).

// WithCallbackAdminToken lets callers of the WebSocket callback API
// authenticate with the admin token: check reports whether a bearer token
// is it (in constant time). Without it only callback tokens are accepted.
func WithCallbackAdminToken(check func(token string) bool) Option {
	return func(g *Gateway) { g.wsConfig.AdminToken = check }
}

// WithPublicURL sets the scheme and host ("https://gw.example.com") of the
// callback URLs sent to WebSocket backends. Default: the request's host
// when a domain mapping names it, else the local address the client
// connected to (never an arbitrary Host header: backends send their
// callback token to that URL).
func WithPublicURL(u string) Option {
	return func(g *Gateway) { g.wsConfig.PublicURL = u }
}

// WithWebSocketClock sets the clock timing WebSocket connections (idle,
// maximum duration, keepalive). The default is the system clock; tests
// move a testkit.Clock.
func WithWebSocketClock(c clock.Clock) Option {
	return func(g *Gateway) { g.wsConfig.Clock = c }
}

// initWebSockets builds the WebSocket handler over the gateway's chain,
// table and backends.
func (g *Gateway) initWebSockets() error {
	cfg := g.wsConfig
	cfg.Logger = g.logger
	cfg.Host = ws.Host{
		Chain: func(ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return chain(g.httpChain, ss, info, handler)
		},
		Table:    func() *routing.Table { return g.current.Load().table },
		NewCall:  newCall,
		ClientIP: clientIP,
		ClientCert: func(r *http.Request) *callinfo.ClientCert {
			return clientCertOf(r.TLS)
		},
		GRPCConn:      g.wsBackendConn,
		HTTPTransport: func(in *adminv1.HttpIntegration) http.RoundTripper { return g.httpProxy.transportFor(in) },
	}
	h, err := ws.New(cfg)
	if err != nil {
		return err
	}
	g.ws = h
	return nil
}

// wsBackendConn returns a connection to the backend of a WebSocket route's
// gRPC integration for one call.
func (g *Gateway) wsBackendConn(ctx context.Context, r *routing.Route, in *adminv1.GrpcIntegration) (grpc.ClientConnInterface, func(error), error) {
	b, done, err := g.grpcBackend(ctx, r, in)
	if err != nil {
		return nil, nil, err
	}
	cc, err := g.pool.Conn(b)
	if err != nil {
		if done != nil {
			done(nil)
		}
		g.logger.WarnContext(ctx, "websocket: no connection to the backend", "target", in.GetTarget(), "error", err)
		return nil, nil, ws.ErrBackendUnavailable
	}
	g.pool.Wake(ctx, cc)
	return cc, done, nil
}

// Connections returns the number of open WebSocket connections.
func (g *Gateway) Connections() int { return g.ws.Connections() }
