package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/origin"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	ws "github.com/tollgate-gw/tollgate/server/gateway/websocket"
)

// Method names WebSocket calls have in the interceptor chain and its logs.
const (
	wsConnectMethod = "/tollgate.gateway.WebSocket/Connect"
	wsMessageMethod = "/tollgate.gateway.WebSocket/Message"
	// callbackPath is the path, relative to a stage, of its callback API.
	callbackPath = "/@connections"
	// maxIntegrationResponse bounds what is read of an HTTP backend's answer.
	maxIntegrationResponse = 4 << 20
)

// Headers the gateway sends to HTTP backends of WebSocket routes (see
// tollgate.data.v1.WebSocketIntegrationService), and the one it reads back.
const (
	hdrConnectionID     = "X-Tollgate-Connection-Id"
	hdrRouteKey         = "X-Tollgate-Route-Key"
	hdrRequestID        = "X-Tollgate-Request-Id"
	hdrStage            = "X-Tollgate-Stage"
	hdrCallbackURL      = "X-Tollgate-Callback-Url"
	hdrCallbackToken    = "X-Tollgate-Callback-Token"
	hdrConnectedAt      = "X-Tollgate-Connected-At"
	hdrSourceIP         = "X-Tollgate-Source-Ip"
	hdrDisconnectCode   = "X-Tollgate-Disconnect-Status-Code"
	hdrDisconnectReason = "X-Tollgate-Disconnect-Reason"
	hdrGroups           = "X-Tollgate-Groups"
)

// WithCallbackAdminToken lets callers of the WebSocket callback API
// authenticate with the admin token: check reports whether a bearer token
// is it (in constant time). Without it only callback tokens are accepted.
func WithCallbackAdminToken(check func(token string) bool) Option {
	return func(g *Gateway) { g.adminCheck = check }
}

// WithPublicURL sets the scheme and host ("https://gw.example.com") of the
// callback URLs sent to WebSocket backends. Default: the request's host
// when a domain mapping names it, else the local address the client
// connected to (never an arbitrary Host header: backends send their
// callback token to that URL).
func WithPublicURL(u string) Option {
	return func(g *Gateway) { g.publicURL = strings.TrimSuffix(u, "/") }
}

// webSockets is the data plane's WebSocket part.
type webSockets struct {
	reg     *ws.Registry
	auth    *ws.Authenticator
	service *ws.Service // ConnectionsService, on the data-plane gRPC server
}

// wsConnData is what the data plane keeps per connection, to give each
// message the $connect call's identity.
// The identity itself (principal, authorizer context) is in ws.Info. No
// secret (API key value, query string) is kept past $connect.
type wsConnData struct {
	stage     *routing.Stage // at connect, for $disconnect if undeployed since
	apiKey    *callinfo.APIKey
	usageKey  string
	requestMD metadata.MD // $connect only
	rawQuery  string      // $connect only
}

// initWebSockets builds the connection registry and the callback API.
func (g *Gateway) initWebSockets() error {
	auth, err := ws.NewAuthenticator(g.adminCheck)
	if err != nil {
		return err
	}
	reg := ws.NewRegistry(ws.WithLogger(g.logger))
	svc := ws.NewService(reg, auth)
	// The data-plane gRPC server serves svc (see New).
	g.ws = &webSockets{reg: reg, auth: auth, service: svc}
	return nil
}

// Connections returns the number of open WebSocket connections.
func (g *Gateway) Connections() int { return g.ws.reg.Len() }

// shutdownWebSockets closes every connection with 1001 and waits for their
// $disconnect integrations, before backend connections close.
func (g *Gateway) shutdownWebSockets(ctx context.Context) {
	g.ws.reg.Shutdown(ctx)
}

// closeRetiredWebSockets closes the connections of stages a new table no
// longer serves as WebSocket stages.
func (g *Gateway) closeRetiredWebSockets(t *routing.Table) {
	for name := range g.ws.reg.Stages() {
		if st := t.Stage(name); st == nil || st.WebSocket() == nil {
			g.ws.reg.CloseStage(name, ws.CloseGoingAway, ws.ReasonStageGone)
		}
	}
}

// serveWebSocketStages serves WebSocket upgrades and callback API calls of
// the first WebSocket stage among stages. It reports false when the
// request is neither, or no stage is a WebSocket stage.
func (g *Gateway) serveWebSocketStages(w http.ResponseWriter, r *http.Request, stages []*routing.Stage, rest string) bool {
	for _, st := range stages {
		if st.WebSocket() == nil {
			continue
		}
		switch {
		case rest == callbackPath || strings.HasPrefix(rest, callbackPath+"/"):
			g.ws.service.ServeHTTPCallback(w, r, st.Name, strings.TrimPrefix(rest, callbackPath))
			return true
		case rest == "/" && (len(stages) == 1 || strings.EqualFold(r.Header.Get("Upgrade"), "websocket")):
			// A plain GET is answered 426 only when no other API shares
			// the stage ID.
			g.serveUpgrade(w, r, st, rest)
			return true
		}
	}
	return false
}

// serveUpgrade runs a WebSocket upgrade as the $connect call: the stage's
// policies, then the $connect integration, then the upgrade; any refusal
// is an HTTP error before upgrading. The connection is then served by a
// goroutine of its own, and the HTTP handler returns.
func (g *Gateway) serveUpgrade(w http.ResponseWriter, r *http.Request, st *routing.Stage, rest string) {
	if g.ws.reg.Closing() {
		writeError(w, http.StatusServiceUnavailable, codes.Unavailable, "the gateway is shutting down")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		writeError(w, http.StatusUpgradeRequired, codes.FailedPrecondition, "stage "+st.ID+" serves a WebSocket API: connect with a WebSocket client")
		return
	}
	// Browsers send Origin; a page of another site must not open a
	// connection the browser authenticates with the user's cookies. This
	// runs before the chain, so no authorizer is called for it.
	if o := r.Header.Get("Origin"); !origin.Allowed(o, r.Host, st.Config.GetWebsocket().GetAllowedOrigins()) {
		g.logger.DebugContext(r.Context(), "websocket upgrade from a refused origin", "stage", st.Name, "origin", o)
		writeError(w, http.StatusForbidden, codes.PermissionDenied, "origin "+strconv.Quote(o)+" may not connect to stage "+st.ID+": add it to the stage's websocket.allowedOrigins")
		return
	}
	id, err := ws.NewID()
	if err != nil {
		writeError(w, http.StatusInternalServerError, codes.Internal, "could not create a connection")
		return
	}
	route := st.WebSocket().Connect
	call := newCall(route, wsConnectMethod)
	call.Protocol = callinfo.WebSocket
	call.HTTPMethod, call.HTTPPath, call.RawQuery = r.Method, rest, r.URL.RawQuery
	call.SourceIP = clientIP(r)
	call.UserAgent = r.UserAgent()
	call.ConnectionID = id
	call.ClientCert = clientCertOf(r.TLS)
	// Headers become metadata under their own names, as a gRPC client's
	// would: API keys, identity sources and REQUEST authorizers read them.
	// The client's x-tollgate-* headers are dropped here, once: the
	// $connect integration receives these headers.
	md := metadata.MD{}
	for k, vs := range r.Header {
		md[strings.ToLower(k)] = vs
	}
	callinfo.StripInternal(md)
	info := ws.Info{
		ID: id, API: st.API, Stage: st.Name, SourceIP: call.SourceIP, UserAgent: r.UserAgent(),
		CallbackURL: g.callbackURL(r, rest), ConnectedAt: time.Now(),
	}
	data := &wsConnData{stage: st, requestMD: md, rawQuery: r.URL.RawQuery}
	ctx := metadata.NewIncomingContext(r.Context(), md)
	ctx = callinfo.NewContext(routing.NewContext(ctx, route), call)
	stream := &httpStream{ctx: ctx, w: w}
	var (
		conn *websocket.Conn
		reg  *ws.Conn
	)
	err = chain(g.httpChain, stream, &grpc.StreamServerInfo{FullMethod: wsConnectMethod}, func(_ any, ss grpc.ServerStream) error {
		data.apiKey, data.usageKey = call.APIKey, call.UsageIdentifierKey
		info.Principal, info.AuthorizerContext = call.Principal, call.AuthorizerContext
		if call.APIKey != nil {
			info.APIKey = call.APIKey.Name
		}
		res, err := g.wsIntegrate(ss.Context(), call, route, info, data, wsEvent{key: routing.ConnectKey})
		if err != nil {
			return err
		}
		// Reachable through the callback API before the client learns
		// that it is connected.
		data.requestMD, data.rawQuery = nil, "" // only $connect sees them
		limits := ws.LimitsOf(st.Config.GetWebsocket())
		reg = g.ws.reg.Register(info, limits, data, res.groups)
		rw := w
		if limits.MaxFrameBytes > 0 {
			fl := ws.NewFrameLimiter(limits.MaxFrameBytes)
			fl.Attach(reg)
			rw = fl.Wrap(w)
		}
		var subprotocols []string
		if res.subprotocol != "" {
			subprotocols = []string{res.subprotocol}
		}
		c, err := websocket.Accept(rw, r, &websocket.AcceptOptions{
			Subprotocols: subprotocols, // what the $connect integration chose
			// The origin was checked above against the stage's
			// allowed origins, before the chain.
			InsecureSkipVerify: true,
		})
		stream.proxied = true // Accept answered, with 101 or an error
		if err != nil {
			g.ws.reg.Abort(reg)
			return status.Errorf(codes.InvalidArgument, "websocket upgrade: %v", err)
		}
		conn = c
		return nil
	})
	if err != nil && !stream.proxied {
		writeChainError(w, err)
		return
	}
	if conn == nil {
		return
	}
	g.ws.reg.Start(reg, conn, ws.Handlers{
		Message:    g.wsMessage,
		Disconnect: g.wsDisconnect,
	})
}

// callbackURL returns the callback API base URL of the stage a client
// reached: the public URL, the path prefix that selected the stage, and
// "/@connections". Without a public URL, the scheme and host are the
// request's only for a host a domain mapping names; otherwise the address
// the connection arrived on. A client's Host header alone is never trusted:
// backends send their callback token to this URL.
func (g *Gateway) callbackURL(r *http.Request, rest string) string {
	base := g.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		host := r.Host
		if !g.current.Load().table.IsMapped(host) {
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = a.String()
			}
		}
		base = scheme + "://" + host
	}
	prefix := r.URL.EscapedPath()
	if strings.HasSuffix(prefix, rest) {
		prefix = prefix[:len(prefix)-len(rest)]
	}
	return base + strings.TrimSuffix(prefix, "/") + callbackPath
}

// wsMessage runs one message of a connection as a call through the chain:
// route selection, throttling, usage plans, metering and logs, then the
// route's integration. Refusals and failures become an error frame; the
// connection stays open.
func (g *Gateway) wsMessage(c *ws.Conn, body []byte, binary bool) {
	data := c.Data.(*wsConnData)
	st := g.current.Load().table.Stage(c.Stage)
	if st == nil || st.WebSocket() == nil {
		c.Close(ws.CloseGoingAway, ws.ReasonStageGone)
		return
	}
	w := st.WebSocket()
	route, ok := w.Default, w.Default != nil
	if !binary {
		route, ok = w.Route(body)
	}
	if !ok {
		g.wsErrorFrame(c, "Forbidden", "")
		return
	}
	call := newCall(route, wsMessageMethod)
	call.Protocol = callinfo.WebSocket
	call.SourceIP, call.ConnectionID, call.UserAgent = c.SourceIP, c.ID, c.UserAgent
	call.Principal, call.AuthorizerContext = c.Principal, c.AuthorizerContext
	// The key resolved at $connect: usage plan throttles and quotas count
	// every message against it.
	call.APIKey, call.UsageIdentifierKey = data.apiKey, data.usageKey
	call.RequestBytes = int64(len(body))
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{})
	ctx = callinfo.NewContext(routing.NewContext(ctx, route), call)
	stream := &wsStream{ctx: ctx}
	err := chain(g.httpChain, stream, &grpc.StreamServerInfo{FullMethod: wsMessageMethod}, func(_ any, ss grpc.ServerStream) error {
		res, err := g.wsIntegrate(ss.Context(), call, route, c.Info, data, wsEvent{key: wsRouteKey(route), body: body, binary: binary})
		if err != nil {
			return err
		}
		if route.Config.GetReturnResponse() && len(res.body) > 0 {
			call.ResponseBytes = int64(len(res.body))
			return c.Send(res.body, binary)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ws.ErrGone) && !errors.Is(err, ws.ErrQueueFull) {
		g.wsErrorFrame(c, errorFrameMessage(err), stream.requestID)
	}
}

// wsDisconnect runs the $disconnect integration once a connection ended.
// It is not throttled (the connection is gone either way) and is best
// effort, as Amazon API Gateway's.
func (g *Gateway) wsDisconnect(c *ws.Conn, code int, reason string) {
	data := c.Data.(*wsConnData)
	st := g.current.Load().table.Stage(c.Stage)
	if st == nil || st.WebSocket() == nil {
		st = data.stage
	}
	route := st.WebSocket().Disconnect
	if route == nil || route.Integration == nil {
		return
	}
	call := newCall(route, wsMessageMethod)
	call.Protocol = callinfo.WebSocket
	call.SourceIP, call.ConnectionID, call.UserAgent = c.SourceIP, c.ID, c.UserAgent
	call.Principal, call.AuthorizerContext = c.Principal, c.AuthorizerContext
	ctx := requestid.NewContext(context.Background(), newRequestID())
	if _, err := g.wsIntegrate(ctx, call, route, c.Info, data, wsEvent{key: routing.DisconnectKey, code: code, reason: reason}); err != nil {
		g.logger.Warn("$disconnect integration failed", "connection_id", c.ID, "stage", c.Stage, "error", err)
	}
}

// newRequestID returns a request ID for calls the gateway starts itself.
func newRequestID() string {
	id, err := ws.NewID()
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return id
}

// wsRouteKey is the route key an integration is told: the route's key, or
// $default for the default route.
func wsRouteKey(r *routing.Route) string {
	if k := r.Config.GetWebsocketRouteKey(); k != "" {
		return k
	}
	return r.Key
}

// wsErrorFrame sends an error frame in Amazon API Gateway's shape.
func (g *Gateway) wsErrorFrame(c *ws.Conn, msg, requestID string) {
	b, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
	}{msg, c.ID, requestID})
	_ = c.Send(b, false)
}

// errorFrameMessage is the message of an error frame, as Amazon API
// Gateway words them.
func errorFrameMessage(err error) string {
	st := status.Convert(err)
	switch st.Code() {
	case codes.ResourceExhausted:
		if gatewayerr.Reason(err) != "" {
			// The gateway's own refusals are worded as AWS words them
			// ("Too Many Requests", "Limit Exceeded").
			return st.Message()
		}
		return "Too Many Requests"
	case codes.DeadlineExceeded:
		return "Endpoint request timed out"
	}
	code := runtime.HTTPStatusFromCode(st.Code())
	if code >= 500 {
		return "Internal server error"
	}
	return http.StatusText(code)
}

// wsStream is the grpc.ServerStream of a WebSocket message in the chain:
// it keeps the request ID for error frames; there are no gRPC messages.
type wsStream struct {
	ctx       context.Context
	requestID string
}

var _ grpc.ServerStream = (*wsStream)(nil)

// SetHeader keeps the request ID the chain sets, for error frames.
func (s *wsStream) SetHeader(md metadata.MD) error {
	if v := md.Get(requestid.MetadataKey); len(v) > 0 {
		s.requestID = v[0]
	}
	return nil
}
func (s *wsStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }
func (s *wsStream) SetTrailer(metadata.MD)          {}
func (s *wsStream) Context() context.Context        { return s.ctx }
func (s *wsStream) SendMsg(any) error               { return errNoMessages }
func (s *wsStream) RecvMsg(any) error               { return errNoMessages }

// wsEvent is what happened on a connection.
type wsEvent struct {
	key    string
	body   []byte
	binary bool
	code   int    // $disconnect
	reason string // $disconnect
}

// wsResult is an integration's answer.
type wsResult struct {
	body        []byte
	groups      []string
	subprotocol string // $connect only
}

// rejection is an HTTP backend's (or mock's) refusal, with its exact
// status for the upgrade response.
type rejection struct {
	httpStatus int
	msg        string
}

func (r *rejection) Error() string { return r.msg }

// GRPCStatus gives metrics and logs the gRPC code of the HTTP status.
func (r *rejection) GRPCStatus() *status.Status {
	return status.New(codeOfHTTP(r.httpStatus), r.msg)
}

// codeOfHTTP maps an HTTP status to a gRPC code.
func codeOfHTTP(s int) codes.Code {
	switch s {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	if s >= 500 {
		return codes.Internal
	}
	return codes.Unknown
}

// wsIntegrate calls a route's integration for one event.
func (g *Gateway) wsIntegrate(ctx context.Context, call *callinfo.Call, route *routing.Route, info ws.Info, data *wsConnData, ev wsEvent) (wsResult, error) {
	in := route.Integration
	if in == nil {
		return wsResult{}, nil
	}
	start := time.Now()
	defer func() { call.IntegrationLatency = time.Since(start) }()
	token, exp := g.ws.auth.Token(info.Stage)
	req := &datav1.HandleMessageRequest{
		ConnectionId:            info.ID,
		RouteKey:                ev.key,
		Body:                    ev.body,
		Binary:                  ev.binary,
		Api:                     info.API,
		Stage:                   info.Stage,
		RequestId:               requestid.FromContext(ctx),
		Principal:               call.Principal,
		AuthorizerContext:       call.AuthorizerContext,
		CallbackUrl:             info.CallbackURL,
		CallbackToken:           token,
		CallbackTokenExpireTime: timestamppb.New(exp),
		ConnectedAt:             timestamppb.New(info.ConnectedAt),
		SourceIp:                info.SourceIP,
		DisconnectStatusCode:    int32(ev.code),
		DisconnectReason:        ev.reason,
	}
	if ev.key == routing.ConnectKey {
		req.Headers = map[string]string{}
		// requestMD holds no x-tollgate-* entry (serveUpgrade removed
		// them): they would pass for the gateway's own assertions.
		for k, vs := range data.requestMD {
			req.Headers[k] = strings.Join(vs, ", ")
		}
		if q, err := url.ParseQuery(data.rawQuery); err == nil && len(q) > 0 {
			req.QueryStringParameters = map[string]string{}
			for k, vs := range q {
				req.QueryStringParameters[k] = strings.Join(vs, ",")
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, route.Timeout)
	defer cancel()
	switch {
	case in.GetMock() != nil:
		m := in.GetMock()
		if c := int(m.GetStatusCode()); c != 0 && (c < 200 || c > 299) {
			return wsResult{}, &rejection{httpStatus: c, msg: m.GetBody()}
		}
		return wsResult{body: []byte(m.GetBody())}, nil
	case in.GetGrpc() != nil:
		return g.wsGRPC(ctx, call, route, req)
	case in.GetHttp() != nil:
		return g.wsHTTP(ctx, call, route, req)
	}
	return wsResult{}, status.Errorf(codes.Internal, "%s has no integration", routeLabel(route))
}

// wsGRPC calls a gRPC integration's unary method with a HandleMessageRequest.
func (g *Gateway) wsGRPC(ctx context.Context, call *callinfo.Call, route *routing.Route, req *datav1.HandleMessageRequest) (wsResult, error) {
	in := route.Integration.GetGrpc()
	method := in.GetMethod()
	if method == "" {
		return wsResult{}, status.Errorf(codes.Internal, "%s: a WebSocket route's gRPC integration needs a method", routeLabel(route))
	}
	b, done, err := g.grpcBackend(ctx, route, in)
	if err != nil {
		return wsResult{}, err
	}
	if done != nil {
		defer done(nil)
	}
	cc, err := g.pool.Conn(b)
	if err != nil {
		g.logger.WarnContext(ctx, "websocket: no connection to the backend", "target", in.GetTarget(), "error", err)
		return wsResult{}, errBackendUnavailable
	}
	g.pool.Wake(ctx, cc)
	md := backendMetadata(call, req.GetRequestId())
	var resp datav1.HandleMessageResponse
	if err := cc.Invoke(metadata.NewOutgoingContext(ctx, md), method, req, &resp); err != nil {
		return wsResult{}, err
	}
	return wsResult{body: resp.GetBody(), groups: resp.GetGroups(), subprotocol: resp.GetSubprotocol()}, nil
}

// wsHTTP POSTs an event to an HTTP integration.
func (g *Gateway) wsHTTP(ctx context.Context, call *callinfo.Call, route *routing.Route, req *datav1.HandleMessageRequest) (wsResult, error) {
	in := route.Integration.GetHttp()
	method := in.GetMethod()
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(ctx, method, in.GetUri(), bytes.NewReader(req.GetBody()))
	if err != nil {
		return wsResult{}, status.Errorf(codes.Internal, "the integration URI of %s is invalid: %v", routeLabel(route), err)
	}
	h := hr.Header
	if req.GetRouteKey() == routing.ConnectKey {
		for k, v := range req.GetHeaders() {
			if !hopByHop[k] {
				h.Set(k, v)
			}
		}
		q := url.Values{}
		for k, v := range req.GetQueryStringParameters() {
			q.Set(k, v)
		}
		hr.URL.RawQuery = q.Encode()
	}
	h.Set(hdrConnectionID, req.GetConnectionId())
	h.Set(hdrRouteKey, req.GetRouteKey())
	h.Set(hdrRequestID, req.GetRequestId())
	h.Set(requestid.MetadataKey, req.GetRequestId())
	h.Set(hdrStage, req.GetStage())
	h.Set(hdrCallbackURL, req.GetCallbackUrl())
	h.Set(hdrCallbackToken, req.GetCallbackToken())
	h.Set(hdrConnectedAt, req.GetConnectedAt().AsTime().Format(time.RFC3339Nano))
	h.Set(hdrSourceIP, req.GetSourceIp())
	if req.GetRouteKey() == routing.DisconnectKey {
		h.Set(hdrDisconnectCode, strconv.Itoa(int(req.GetDisconnectStatusCode())))
		h.Set(hdrDisconnectReason, req.GetDisconnectReason())
	}
	setHeaders(h, call.BackendMetadata())
	if h.Get("Content-Type") == "" || req.GetRouteKey() != routing.ConnectKey {
		if req.GetBinary() {
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	resp, err := g.httpProxy.transportFor(in).RoundTrip(hr)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return wsResult{}, status.Errorf(codes.DeadlineExceeded, "the backend did not answer within the route timeout of %v", route.Timeout)
		}
		g.logger.WarnContext(ctx, "websocket: backend unavailable", "backend", hr.URL.Host, "error", err)
		return wsResult{}, errBackendUnavailable
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntegrationResponse))
	if err != nil {
		g.logger.WarnContext(ctx, "websocket: reading the backend's response", "backend", hr.URL.Host, "error", err)
		return wsResult{}, errBackendUnavailable
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(body))
		if msg == "" || len(msg) > 1024 {
			msg = http.StatusText(resp.StatusCode)
		}
		return wsResult{}, &rejection{httpStatus: resp.StatusCode, msg: msg}
	}
	res := wsResult{body: body, subprotocol: resp.Header.Get("Sec-WebSocket-Protocol")}
	for _, v := range resp.Header.Values(hdrGroups) {
		for _, grp := range strings.Split(v, ",") {
			if grp = strings.TrimSpace(grp); grp != "" {
				res.groups = append(res.groups, grp)
			}
		}
	}
	return res, nil
}

// hopByHop are the upgrade request's headers not forwarded to a $connect
// HTTP backend (Sec-WebSocket-Protocol is: the backend picks one).
var hopByHop = map[string]bool{
	"connection": true, "upgrade": true, "sec-websocket-key": true, "sec-websocket-version": true,
	"sec-websocket-extensions": true, "content-length": true,
	"transfer-encoding": true, "keep-alive": true, "te": true, "trailer": true, "host": true,
}

// errBackendUnavailable is what clients learn of a WebSocket integration
// that could not be reached: the address and the error go to the log.
var errBackendUnavailable = gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable")
