package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/origin"
	"github.com/tollgate-gw/tollgate/internal/resourceid"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

// webCallKey marks the context of a gRPC-Web, Connect or WebSocket call
// translated in process (server/gateway/webclients) with the compiled
// stage that matched it. Only the gateway can put a value in a request's
// context, so routeInterceptor trusts it as it trusts in-process calls.
type webCallKey struct{}

// webStage returns the stage a translated web client call is pinned to,
// or nil.
func webStage(ctx context.Context) *routing.Stage {
	st, _ := ctx.Value(webCallKey{}).(*routing.Stage)
	return st
}

// webStream is the server stream of a translated web client call. When
// translating the client's request failed (a message that cannot be
// decoded or is too large), the gRPC server sees only a broken or ended
// request body; RecvMsg reports the translation's status instead, so that
// the chain and the client see INVALID_ARGUMENT or RESOURCE_EXHAUSTED and
// the backend never gets a call without its request.
type webStream struct {
	routedStream
}

// RecvMsg receives a request message.
func (s *webStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err != nil {
		if rerr := webclients.RequestError(s.ctx); rerr != nil {
			return rerr
		}
	}
	return err
}

// serveWebClient serves r if it is a gRPC-Web, Connect or gRPC-over-WebSocket
// call of a gRPC method, and reports whether it did. A WebSocket upgrade's
// Origin must be allowed by the stage's websocket.allowed_origins (or be
// the gateway's own host), as for WebSocket APIs. The stage is chosen
// as for REST — by domain mapping, or by the first path segment
// (/{stage}/pkg.Service/Method) — or, for /pkg.Service/Method, as for gRPC
// (the x-tollgate-stage header, else the one stage serving the method).
// The call is then translated into a gRPC call of the data plane's
// grpc.Server, pinned to that stage, so it passes the same interceptor
// chain and proxy as a gRPC call.
func (g *Gateway) serveWebClient(w http.ResponseWriter, r *http.Request) bool {
	p := webclients.Classify(r)
	if p == webclients.None {
		return false
	}
	raw := r.URL.EscapedPath()
	cur := g.current.Load()
	var (
		st     *routing.Stage
		method string
	)
	switch {
	case cur.table.IsMapped(r.Host):
		s, rest, ok := cur.table.StageForHost(r.Host, raw)
		if !ok {
			webclients.WriteError(w, r, gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, "no API is mapped at this path of "+r.Host))
			return true
		}
		if method, ok = rpcPath(rest); !ok {
			return false
		}
		st = pickWebStage(cur, []*routing.Stage{s}, method)
		if st == nil {
			st = s
		}
	case isRPCPath(raw):
		method = raw
		route, err := cur.table.ResolveGRPC(method, r.Header.Get(StageMetadataKey), "")
		if err != nil {
			if errors.Is(err, routing.ErrAmbiguous) {
				webclients.WriteError(w, r, status.Error(codes.FailedPrecondition, err.Error()))
			} else {
				webclients.WriteError(w, r, gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, err.Error()))
			}
			return true
		}
		st = route.Stage
	default:
		stageID, rest, _ := strings.Cut(raw[1:], "/")
		m, ok := rpcPath("/" + rest)
		if !ok || !resourceid.Valid(stageID) {
			return false
		}
		method = m
		stages := cur.table.StagesByID(stageID)
		if len(stages) == 0 {
			webclients.WriteError(w, r, gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, "no stage "+stageID+" is deployed"))
			return true
		}
		if st = pickWebStage(cur, stages, method); st == nil {
			st = stages[0]
		}
	}
	rt := cur.stages.Value(st)
	if rt == nil || rt.web == nil {
		webclients.WriteError(w, r, gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound,
			"stage "+st.Name+" has no schema: gRPC-Web and Connect calls need the API's descriptors"))
		return true
	}
	if _, ok := rt.web.Method(method); !ok {
		webclients.WriteError(w, r, gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, "stage "+st.Name+" does not serve "+method))
		return true
	}
	if p == webclients.WebSocket {
		// As for WebSocket APIs: a page of another site must not open a
		// connection the browser authenticates with the user's cookies.
		if o := r.Header.Get("Origin"); !origin.Allowed(o, r.Host, st.Config.GetWebsocket().GetAllowedOrigins()) {
			gatewayerr.WriteHTTP(w, http.StatusForbidden, status.Convert(gatewayerr.New(codes.PermissionDenied, gatewayerr.ReasonOriginNotAllowed,
				"origin "+strconv.Quote(o)+" may not connect to stage "+st.ID+": add it to the stage's websocket.allowedOrigins")))
			return true
		}
	}
	// The stage's CORS policy, as for its REST routes: browsers read the
	// answer only with its headers (preflights never reach here: they
	// carry no gRPC-Web or Connect content type, and serveStages answers
	// them).
	if st.CORS != nil && p != webclients.WebSocket {
		w = st.CORS.Writer(w, r.Header.Get("Origin"))
	}
	r2 := r.WithContext(context.WithValue(r.Context(), webCallKey{}, st))
	u := *r.URL
	u.Path, u.RawPath = method, ""
	r2.URL = &u
	if p == webclients.WebSocket {
		rt.web.ServeWebSocket(w, r2)
		return true
	}
	rt.web.ServeHTTP(w, r2)
	return true
}

// pickWebStage returns the first of stages (or its canary, for the
// canary's share of calls) whose schema has method, or nil.
func pickWebStage(cur *servedTable, stages []*routing.Stage, method string) *routing.Stage {
	for _, s := range stages {
		if !hasWebMethod(cur, s, method) {
			continue
		}
		if c := s.PickCanary(); c != s && hasWebMethod(cur, c, method) {
			return c
		}
		return s
	}
	return nil
}

// hasWebMethod reports whether a compiled stage serves method to web clients.
func hasWebMethod(cur *servedTable, s *routing.Stage, method string) bool {
	rt := cur.stages.Value(s)
	if rt == nil || rt.web == nil {
		return false
	}
	_, ok := rt.web.Method(method)
	return ok
}

// rpcPath returns p as a full method name if it is "/pkg.Service/Method".
func rpcPath(p string) (string, bool) {
	if isRPCPath(p) {
		return p, true
	}
	return "", false
}

// isRPCPath reports whether p is "/pkg.Service/Method": two segments of
// protobuf identifier characters, the first holding a dot (stage IDs hold
// none, so "/{stage}/x" is never taken for a method).
func isRPCPath(p string) bool {
	if len(p) < 4 || p[0] != '/' {
		return false
	}
	svc, m, ok := strings.Cut(p[1:], "/")
	return ok && strings.Contains(svc, ".") && isIdent(svc, true) && isIdent(m, false)
}

// isIdent reports whether s is a non-empty protobuf name (dots allowed in
// a full name), without leading, trailing or doubled dots.
func isIdent(s string, dots bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '.' && dots && s[i-1] != '.':
		default:
			return false
		}
	}
	return true
}
