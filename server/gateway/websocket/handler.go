package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/clock"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/origin"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// Method names WebSocket calls have in the interceptor chain and its logs.
const (
	ConnectMethod = "/tollgate.gateway.WebSocket/Connect"
	MessageMethod = "/tollgate.gateway.WebSocket/Message"
)

const (
	// CallbackPath is the path, relative to a stage, of its callback API.
	CallbackPath = "/@connections"
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

// Host is what the data plane lends its WebSocket part: the interceptor
// chain every call passes, the routing table it serves and its backends.
// The WebSocket part knows no interceptor; the data plane knows no
// WebSocket detail beyond handing requests over. Every field is required.
type Host struct {
	// Chain runs the data plane's interceptor chain (after routing) around
	// handler, for one call whose route is in ss's context.
	Chain func(ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error
	// Table returns the routing table being served.
	Table func() *routing.Table
	// NewCall describes a routed call for the interceptors.
	NewCall func(r *routing.Route, fullMethod string) *callinfo.Call
	// ClientIP returns the client's address of an upgrade request (after
	// the forwarding headers were checked).
	ClientIP func(r *http.Request) string
	// ClientCert returns the client certificate of an upgrade request, or
	// nil.
	ClientCert func(r *http.Request) *callinfo.ClientCert
	// GRPCConn returns a connection to the backend of a gRPC integration
	// for one call, and a function (possibly nil) to call when the call
	// ends. Its errors are what the client may learn.
	GRPCConn func(ctx context.Context, r *routing.Route, in *adminv1.GrpcIntegration) (grpc.ClientConnInterface, func(error), error)
	// HTTPTransport returns the transport of an HTTP integration.
	HTTPTransport func(in *adminv1.HttpIntegration) http.RoundTripper
}

// Config configures a Handler.
type Config struct {
	// Host is the data plane's part. Required.
	Host Host
	// Logger logs; nil discards.
	Logger *slog.Logger
	// Clock times connections (idle, maximum duration, keepalive); nil is
	// the system clock.
	Clock clock.Clock
	// AdminToken reports whether a bearer token is the admin token (in
	// constant time); nil accepts callback tokens only on the callback API.
	AdminToken func(token string) bool
	// PublicURL is the scheme and host ("https://gw.example.com") of the
	// callback URLs sent to backends. Empty: the request's host when a
	// domain mapping names it, else the local address the client connected
	// to (never an arbitrary Host header: backends send their callback
	// token to that URL).
	PublicURL string
	// Fleet shares connections with the other nodes of a fleet, so that
	// the callback API of any node reaches them; nil keeps them to this
	// node.
	Fleet Fleet
	// CallbackKey signs callback tokens; the nodes of a fleet share it, so
	// that a token minted by one is accepted by all. Nil: a random key
	// made now (tokens then die with the process).
	CallbackKey []byte
}

// validate checks a Config.
func (c *Config) validate() error {
	h := c.Host
	if h.Chain == nil || h.Table == nil || h.NewCall == nil || h.ClientIP == nil || h.ClientCert == nil || h.GRPCConn == nil || h.HTTPTransport == nil {
		return errors.New("websocket: every Host function is required")
	}
	if c.CallbackKey != nil && len(c.CallbackKey) < 16 {
		return errors.New("websocket: a callback key has at least 16 bytes")
	}
	return nil
}

// Handler is the data plane's WebSocket part: it serves the upgrades of
// WebSocket stages as $connect calls, each message as a call through the
// chain, $disconnect once per connection, and the callback API.
type Handler struct {
	host      Host
	logger    *slog.Logger
	clock     clock.Clock
	publicURL string
	reg       *Registry
	auth      *Authenticator
	service   *Service
}

// connData is what the handler keeps per connection, to give each
// message the $connect call's identity.
// The identity itself (principal, authorizer context) is in Info. No
// secret (API key value, query string) is kept past $connect.
type connData struct {
	stage     *routing.Stage // at connect, for $disconnect if undeployed since
	apiKey    *callinfo.APIKey
	usageKey  string
	requestMD metadata.MD // $connect only
	rawQuery  string      // $connect only
}

// New returns a Handler with an empty registry.
func New(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	auth, err := NewAuthenticator(cfg.AdminToken)
	if err != nil {
		return nil, err
	}
	if cfg.CallbackKey != nil {
		auth.key = cfg.CallbackKey
	}
	auth.now = cfg.Clock.Now
	reg := NewRegistry(WithLogger(cfg.Logger), WithClock(cfg.Clock), WithFleet(cfg.Fleet))
	return &Handler{
		host: cfg.Host, logger: cfg.Logger, clock: cfg.Clock, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		reg: reg, auth: auth, service: NewService(reg, auth),
	}, nil
}

// Service returns the callback API, to serve on the data plane's gRPC
// server with its UnaryServerInterceptor.
func (h *Handler) Service() *Service { return h.service }

// Connections returns the number of open connections.
func (h *Handler) Connections() int { return h.reg.Len() }

// Shutdown closes every connection with 1001 and waits for their
// $disconnect integrations (or ctx), before backend connections close.
func (h *Handler) Shutdown(ctx context.Context) { h.reg.Shutdown(ctx) }

// CloseRetired closes the connections of stages a new table no longer
// serves as WebSocket stages.
func (h *Handler) CloseRetired(t *routing.Table) {
	for name := range h.reg.Stages() {
		if st := t.Stage(name); st == nil || st.WebSocket() == nil {
			h.reg.CloseStage(name, CloseGoingAway, ReasonStageGone)
		}
	}
}

// ServeStages serves WebSocket upgrades and callback API calls of the
// first WebSocket stage among stages, rest being the request path after
// the stage's prefix. It reports false when the request is neither, or no
// stage is a WebSocket stage.
func (h *Handler) ServeStages(w http.ResponseWriter, r *http.Request, stages []*routing.Stage, rest string) bool {
	for _, st := range stages {
		if st.WebSocket() == nil {
			continue
		}
		switch {
		case rest == CallbackPath || strings.HasPrefix(rest, CallbackPath+"/"):
			h.service.ServeHTTPCallback(w, r, st.Name, strings.TrimPrefix(rest, CallbackPath))
			return true
		case rest == "/" && (len(stages) == 1 || strings.EqualFold(r.Header.Get("Upgrade"), "websocket")):
			// A plain GET is answered 426 only when no other API shares
			// the stage ID.
			h.serveUpgrade(w, r, st, rest)
			return true
		}
	}
	return false
}

// upgradeStream is the grpc.ServerStream of an upgrade request in the
// interceptor chain: response headers set by interceptors (the request
// ID) become HTTP headers; there are no messages.
type upgradeStream struct {
	ctx      context.Context
	w        http.ResponseWriter
	answered bool // the upgrade was answered (101 or an error)
}

var _ grpc.ServerStream = (*upgradeStream)(nil)

// errNoMessages is returned by the message methods of the chain's streams.
var errNoMessages = errors.New("websocket: a WebSocket call has no gRPC messages")

// SetHeader adds md to the upgrade response's headers.
func (s *upgradeStream) SetHeader(md metadata.MD) error {
	for k, vs := range md {
		for _, v := range vs {
			s.w.Header().Add(k, v)
		}
	}
	return nil
}
func (s *upgradeStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }
func (s *upgradeStream) SetTrailer(metadata.MD)          {}
func (s *upgradeStream) Context() context.Context        { return s.ctx }
func (s *upgradeStream) SendMsg(any) error               { return errNoMessages }
func (s *upgradeStream) RecvMsg(any) error               { return errNoMessages }

// serveUpgrade runs a WebSocket upgrade as the $connect call: the stage's
// policies, then the $connect integration, then the upgrade; any refusal
// is an HTTP error before upgrading. The connection is then served by a
// goroutine of its own, and the HTTP handler returns.
func (h *Handler) serveUpgrade(w http.ResponseWriter, r *http.Request, st *routing.Stage, rest string) {
	// Refusals before the chain have no request ID; the API's gateway
	// responses apply to them as to REST's.
	refuse := func(httpStatus int, code codes.Code, reason, msg string) {
		gatewayerr.WriteHTTP(w, httpStatus, status.Convert(gatewayerr.New(code, reason, msg)), stageResponses(st, ""))
	}
	if h.reg.Closing() {
		refuse(http.StatusServiceUnavailable, codes.Unavailable, gatewayerr.ReasonShuttingDown, "the gateway is shutting down")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		refuse(http.StatusUpgradeRequired, codes.FailedPrecondition, gatewayerr.ReasonUpgradeRequired, "stage "+st.ID+" serves a WebSocket API: connect with a WebSocket client")
		return
	}
	// Browsers send Origin; a page of another site must not open a
	// connection the browser authenticates with the user's cookies. This
	// runs before the chain, so no authorizer is called for it.
	if o := r.Header.Get("Origin"); !origin.Allowed(o, r.Host, st.Config.GetWebsocket().GetAllowedOrigins()) {
		h.logger.DebugContext(r.Context(), "websocket upgrade from a refused origin", "stage", st.Name, "origin", o)
		refuse(http.StatusForbidden, codes.PermissionDenied, gatewayerr.ReasonOriginNotAllowed, "origin "+strconv.Quote(o)+" may not connect to stage "+st.ID+": add it to the stage's websocket.allowedOrigins")
		return
	}
	id, err := NewID()
	if err != nil {
		writeHTTPError(w, status.Error(codes.Internal, "could not create a connection"), st, "")
		return
	}
	route := st.WebSocket().Connect
	call := h.host.NewCall(route, ConnectMethod)
	call.Protocol = callinfo.WebSocket
	call.HTTPMethod, call.HTTPPath, call.RawQuery = r.Method, rest, r.URL.RawQuery
	call.SourceIP = h.host.ClientIP(r)
	call.UserAgent = r.UserAgent()
	call.ConnectionID = id
	call.ClientCert = h.host.ClientCert(r)
	// Headers become metadata under their own names, as a gRPC client's
	// would: API keys, identity sources and REQUEST authorizers read them.
	// The client's x-tollgate-* headers are dropped here, once: the
	// $connect integration receives these headers.
	md := metadata.MD{}
	for k, vs := range r.Header {
		md[strings.ToLower(k)] = vs
	}
	callinfo.StripInternal(md)
	info := Info{
		ID: id, API: st.API, Stage: st.Name, SourceIP: call.SourceIP, UserAgent: r.UserAgent(),
		CallbackURL: h.callbackURL(r, rest), ConnectedAt: h.clock.Now(),
	}
	data := &connData{stage: st, requestMD: md, rawQuery: r.URL.RawQuery}
	ctx := metadata.NewIncomingContext(r.Context(), md)
	ctx = callinfo.NewContext(routing.NewContext(ctx, route), call)
	stream := &upgradeStream{ctx: ctx, w: w}
	var (
		conn *websocket.Conn
		reg  *Conn
	)
	err = h.host.Chain(stream, &grpc.StreamServerInfo{FullMethod: ConnectMethod}, func(_ any, ss grpc.ServerStream) error {
		data.apiKey, data.usageKey = call.APIKey, call.UsageIdentifierKey
		info.Principal, info.AuthorizerContext = call.Principal, call.AuthorizerContext
		if call.APIKey != nil {
			info.APIKey = call.APIKey.Name
		}
		res, err := h.integrate(ss.Context(), call, route, info, data, event{key: routing.ConnectKey})
		if err != nil {
			return err
		}
		// Reachable through the callback API before the client learns
		// that it is connected.
		data.requestMD, data.rawQuery = nil, "" // only $connect sees them
		limits := LimitsOf(st.Config.GetWebsocket())
		reg = h.reg.Register(info, limits, data, res.groups)
		rw := w
		if limits.MaxFrameBytes > 0 {
			fl := NewFrameLimiter(limits.MaxFrameBytes)
			fl.Attach(reg)
			rw = fl.Wrap(w)
		}
		rw = smallBuffers(rw)
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
		stream.answered = true // Accept answered, with 101 or an error
		if err != nil {
			h.reg.Abort(reg)
			return status.Errorf(codes.InvalidArgument, "websocket upgrade: %v", err)
		}
		conn = c
		return nil
	})
	if err != nil && !stream.answered {
		writeHTTPError(w, err, st, call.RequestID)
		return
	}
	if conn == nil {
		return
	}
	h.reg.Start(reg, conn, Handlers{
		Message:    h.message,
		Disconnect: h.disconnect,
	})
}

// writeHTTPError answers an upgrade request the chain (or the handler)
// refused: the exact status of an integration's rejection, else the one
// of its gRPC code, with Retry-After when the refusal names one. The
// gateway's own refusals (those with a data-plane reason: API key,
// authorizer, throttle, quota, IP policy, backend unavailable) get the
// API's gateway responses, as REST's do; a backend's refusal (its HTTP
// status, or its gRPC status) is written as the backend gave it.
func writeHTTPError(w http.ResponseWriter, err error, st *routing.Stage, requestID string) {
	var rej *rejection
	if errors.As(err, &rej) {
		gatewayerr.WriteHTTP(w, rej.httpStatus, rej.GRPCStatus())
		return
	}
	var opts []gatewayerr.WriteOption
	if gatewayerr.Reason(err) != "" {
		opts = append(opts, stageResponses(st, requestID))
	}
	gatewayerr.WriteHTTP(w, gatewayerr.HTTPStatusOf(err), status.Convert(err), opts...)
}

// stageResponses applies the gateway responses of the API a stage serves.
func stageResponses(st *routing.Stage, requestID string) gatewayerr.WriteOption {
	return gatewayerr.WithResponses(st.Snapshot.GetApi().GetGatewayResponses(), requestID)
}

// callbackURL returns the callback API base URL of the stage a client
// reached: the public URL, the path prefix that selected the stage, and
// "/@connections". Without a public URL, the scheme and host are the
// request's only for a host a domain mapping names; otherwise the address
// the connection arrived on. A client's Host header alone is never trusted:
// backends send their callback token to this URL.
func (h *Handler) callbackURL(r *http.Request, rest string) string {
	base := h.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		host := r.Host
		if !h.host.Table().IsMapped(host) {
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
	return base + strings.TrimSuffix(prefix, "/") + CallbackPath
}

// message runs one message of a connection as a call through the chain:
// route selection, throttling, usage plans, metering and logs, then the
// route's integration. Refusals and failures become an error frame; the
// connection stays open.
func (h *Handler) message(c *Conn, body []byte, binary bool) {
	data := c.Data.(*connData)
	st := h.host.Table().Stage(c.Stage)
	if st == nil || st.WebSocket() == nil {
		c.Close(CloseGoingAway, ReasonStageGone)
		return
	}
	w := st.WebSocket()
	route, ok := w.Default, w.Default != nil
	if !binary {
		route, ok = w.Route(body)
	}
	if !ok {
		h.errorFrame(c, "Forbidden", "", gatewayerr.ReasonRouteNotFound)
		return
	}
	call := h.host.NewCall(route, MessageMethod)
	call.Protocol = callinfo.WebSocket
	call.SourceIP, call.ConnectionID, call.UserAgent = c.SourceIP, c.ID, c.UserAgent
	call.Principal, call.AuthorizerContext = c.Principal, c.AuthorizerContext
	// The key resolved at $connect: usage plan throttles and quotas count
	// every message against it.
	call.APIKey, call.UsageIdentifierKey = data.apiKey, data.usageKey
	call.RequestBytes = int64(len(body))
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{})
	ctx = callinfo.NewContext(routing.NewContext(ctx, route), call)
	stream := &messageStream{ctx: ctx}
	err := h.host.Chain(stream, &grpc.StreamServerInfo{FullMethod: MessageMethod}, func(_ any, ss grpc.ServerStream) error {
		res, err := h.integrate(ss.Context(), call, route, c.Info, data, event{key: routeKey(route), body: body, binary: binary})
		if err != nil {
			return err
		}
		if route.Config.GetReturnResponse() && len(res.body) > 0 {
			call.ResponseBytes = int64(len(res.body))
			return c.Send(res.body, binary)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrGone) && !errors.Is(err, ErrQueueFull) {
		h.errorFrame(c, errorFrameMessage(err), stream.requestID, gatewayerr.AnyReason(err))
	}
}

// disconnect runs the $disconnect integration once a connection ended.
// It is not throttled (the connection is gone either way) and is best
// effort, as Amazon API Gateway's.
func (h *Handler) disconnect(c *Conn, code int, reason string) {
	data := c.Data.(*connData)
	st := h.host.Table().Stage(c.Stage)
	if st == nil || st.WebSocket() == nil {
		st = data.stage
	}
	route := st.WebSocket().Disconnect
	if route == nil || route.Integration == nil {
		return
	}
	call := h.host.NewCall(route, MessageMethod)
	call.Protocol = callinfo.WebSocket
	call.SourceIP, call.ConnectionID, call.UserAgent = c.SourceIP, c.ID, c.UserAgent
	call.Principal, call.AuthorizerContext = c.Principal, c.AuthorizerContext
	ctx := requestid.NewContext(context.Background(), newRequestID())
	if _, err := h.integrate(ctx, call, route, c.Info, data, event{key: routing.DisconnectKey, code: code, reason: reason}); err != nil {
		h.logger.Warn("$disconnect integration failed", "connection_id", c.ID, "stage", c.Stage, "error", err)
	}
}

// newRequestID returns a request ID for calls the gateway starts itself.
func newRequestID() string {
	id, err := NewID()
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return id
}

// routeKey is the route key an integration is told: the route's key, or
// $default for the default route.
func routeKey(r *routing.Route) string {
	if k := r.Config.GetWebsocketRouteKey(); k != "" {
		return k
	}
	return r.Key
}

// errorFrame sends an error frame in Amazon API Gateway's shape, plus the
// refusal's ErrorInfo reason when it has one (THROTTLED, QUOTA_EXCEEDED,
// a backend's own, ...), so that clients need not parse the message.
func (h *Handler) errorFrame(c *Conn, msg, requestID, reason string) {
	b, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
		Reason       string `json:"reason,omitempty"`
	}{msg, c.ID, requestID, reason})
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

// messageStream is the grpc.ServerStream of a WebSocket message in the
// chain: it keeps the request ID for error frames; there are no gRPC
// messages.
type messageStream struct {
	ctx       context.Context
	requestID string
}

var _ grpc.ServerStream = (*messageStream)(nil)

// SetHeader keeps the request ID the chain sets, for error frames.
func (s *messageStream) SetHeader(md metadata.MD) error {
	if v := md.Get(requestid.MetadataKey); len(v) > 0 {
		s.requestID = v[0]
	}
	return nil
}
func (s *messageStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }
func (s *messageStream) SetTrailer(metadata.MD)          {}
func (s *messageStream) Context() context.Context        { return s.ctx }
func (s *messageStream) SendMsg(any) error               { return errNoMessages }
func (s *messageStream) RecvMsg(any) error               { return errNoMessages }

// event is what happened on a connection.
type event struct {
	key    string
	body   []byte
	binary bool
	code   int    // $disconnect
	reason string // $disconnect
}

// result is an integration's answer.
type result struct {
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

// integrate calls a route's integration for one event.
func (h *Handler) integrate(ctx context.Context, call *callinfo.Call, route *routing.Route, info Info, data *connData, ev event) (result, error) {
	in := route.Integration
	if in == nil {
		return result{}, nil
	}
	start := time.Now()
	defer func() { call.IntegrationLatency = time.Since(start) }()
	token, exp := h.auth.Token(info.Stage)
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
			return result{}, &rejection{httpStatus: c, msg: m.GetBody()}
		}
		return result{body: []byte(m.GetBody())}, nil
	case in.GetGrpc() != nil:
		return h.callGRPC(ctx, call, route, req)
	case in.GetHttp() != nil:
		return h.callHTTP(ctx, call, route, req)
	}
	return result{}, status.Errorf(codes.Internal, "%s has no integration", route.Label())
}

// backendMetadata is what a backend call carries in place of the client's
// entries of the same keys: what the gateway asserts about the call and
// its request ID.
func backendMetadata(call *callinfo.Call, requestID string) metadata.MD {
	md := call.BackendMetadata()
	if requestID != "" {
		if md == nil {
			md = metadata.MD{}
		}
		md[requestid.MetadataKey] = []string{requestID}
	}
	return md
}

// callGRPC calls a gRPC integration's unary method with a
// HandleMessageRequest.
func (h *Handler) callGRPC(ctx context.Context, call *callinfo.Call, route *routing.Route, req *datav1.HandleMessageRequest) (result, error) {
	in := route.Integration.GetGrpc()
	method := in.GetMethod()
	if method == "" {
		return result{}, status.Errorf(codes.Internal, "%s: a WebSocket route's gRPC integration needs a method", route.Label())
	}
	cc, done, err := h.host.GRPCConn(ctx, route, in)
	if err != nil {
		return result{}, err
	}
	if done != nil {
		defer done(nil)
	}
	md := backendMetadata(call, req.GetRequestId())
	var resp datav1.HandleMessageResponse
	// A stream rather than Invoke, to tell the gateway's failures to reach
	// the backend (NewStream's errors, whose messages name the address and
	// the dial error) from the backend's own status.
	cs, err := cc.NewStream(metadata.NewOutgoingContext(ctx, md), &grpc.StreamDesc{StreamName: method}, method)
	if err != nil {
		return result{}, h.backendError(ctx, route, err, true)
	}
	// With io.EOF from SendMsg, RecvMsg returns the stream's status.
	if err := cs.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return result{}, h.backendError(ctx, route, err, false)
	}
	if err := cs.CloseSend(); err != nil {
		return result{}, h.backendError(ctx, route, err, false)
	}
	if err := cs.RecvMsg(&resp); err != nil {
		return result{}, h.backendError(ctx, route, err, false)
	}
	return result{body: resp.GetBody(), groups: resp.GetGroups(), subprotocol: resp.GetSubprotocol()}, nil
}

// backendError is what a client learns of a failed gRPC integration call:
// the backend's status as it sent it, or, when the gateway could not reach
// the backend (atStart), the stream broke or the route timeout ended it,
// the gateway's own error with its reason. Addresses and dial errors go to
// the log only.
func (h *Handler) backendError(ctx context.Context, route *routing.Route, err error, atStart bool) error {
	st := status.Convert(err)
	target := route.Integration.GetGrpc().GetTarget()
	switch {
	case timedOut(ctx):
		h.logger.InfoContext(ctx, "websocket: route timeout", "route", route.Label(), "target", target, "timeout", route.Timeout)
		return errTimeout(route)
	case atStart || brokenStream(st):
		h.logger.WarnContext(ctx, "websocket: backend unavailable", "route", route.Label(), "target", target, "error", st.Message())
		return ErrBackendUnavailable
	}
	return err
}

// timedOut reports whether ctx's deadline has passed. ctx.Err() alone
// is not enough: the backend learns the deadline through grpc-timeout and
// may end the call (DEADLINE_EXCEEDED, or RST_STREAM CANCEL) a moment
// before ctx's own timer has fired here. The backend's deadline is never
// earlier than ours (grpc-timeout is rounded up and counted from later),
// so once it ended the call, ours has passed too.
func timedOut(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// brokenStream reports whether st is grpc-go's report of a connection or
// stream that broke rather than a status the backend sent (as grpcproxy
// tells them apart): those never carry details.
func brokenStream(st *status.Status) bool {
	if len(st.Proto().GetDetails()) > 0 || (st.Code() != codes.Unavailable && st.Code() != codes.Internal && st.Code() != codes.Unknown) {
		return false
	}
	for _, s := range []string{"RST_STREAM", "error reading from server", "transport is closing", "connection closed", "connection error", "server closed the stream without sending trailers"} {
		if strings.Contains(st.Message(), s) {
			return true
		}
	}
	return false
}

// errTimeout is the error of an integration that did not answer within
// the route timeout.
func errTimeout(route *routing.Route) error {
	return gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonBackendTimeout,
		"the backend did not answer within the route timeout of "+route.Timeout.String())
}

// callHTTP POSTs an event to an HTTP integration.
func (h *Handler) callHTTP(ctx context.Context, call *callinfo.Call, route *routing.Route, req *datav1.HandleMessageRequest) (result, error) {
	in := route.Integration.GetHttp()
	method := in.GetMethod()
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(ctx, method, in.GetUri(), bytes.NewReader(req.GetBody()))
	if err != nil {
		h.logger.ErrorContext(ctx, "websocket: invalid integration URI", "route", route.Label(), "error", err)
		return result{}, status.Errorf(codes.Internal, "the integration of %s is misconfigured", route.Label())
	}
	hd := hr.Header
	if req.GetRouteKey() == routing.ConnectKey {
		for k, v := range req.GetHeaders() {
			if !hopByHop[k] {
				hd.Set(k, v)
			}
		}
		q := url.Values{}
		for k, v := range req.GetQueryStringParameters() {
			q.Set(k, v)
		}
		hr.URL.RawQuery = q.Encode()
	}
	hd.Set(hdrConnectionID, req.GetConnectionId())
	hd.Set(hdrRouteKey, req.GetRouteKey())
	hd.Set(hdrRequestID, req.GetRequestId())
	hd.Set(requestid.MetadataKey, req.GetRequestId())
	hd.Set(hdrStage, req.GetStage())
	hd.Set(hdrCallbackURL, req.GetCallbackUrl())
	hd.Set(hdrCallbackToken, req.GetCallbackToken())
	hd.Set(hdrConnectedAt, req.GetConnectedAt().AsTime().Format(time.RFC3339Nano))
	hd.Set(hdrSourceIP, req.GetSourceIp())
	if req.GetRouteKey() == routing.DisconnectKey {
		hd.Set(hdrDisconnectCode, strconv.Itoa(int(req.GetDisconnectStatusCode())))
		hd.Set(hdrDisconnectReason, req.GetDisconnectReason())
	}
	// What the gateway asserts replaces the client's headers of the same
	// names.
	for k, vs := range call.BackendMetadata() {
		hd.Del(k)
		for _, v := range vs {
			hd.Add(k, v)
		}
	}
	if hd.Get("Content-Type") == "" || req.GetRouteKey() != routing.ConnectKey {
		if req.GetBinary() {
			hd.Set("Content-Type", "application/octet-stream")
		} else {
			hd.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	resp, err := h.host.HTTPTransport(in).RoundTrip(hr)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return result{}, errTimeout(route)
		}
		h.logger.WarnContext(ctx, "websocket: backend unavailable", "backend", hr.URL.Host, "error", err)
		return result{}, ErrBackendUnavailable
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntegrationResponse))
	if err != nil {
		h.logger.WarnContext(ctx, "websocket: reading the backend's response", "backend", hr.URL.Host, "error", err)
		return result{}, ErrBackendUnavailable
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(body))
		if msg == "" || len(msg) > 1024 {
			msg = http.StatusText(resp.StatusCode)
		}
		return result{}, &rejection{httpStatus: resp.StatusCode, msg: msg}
	}
	res := result{body: body, subprotocol: resp.Header.Get("Sec-WebSocket-Protocol")}
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

// ErrBackendUnavailable is what clients learn of a WebSocket integration
// that could not be reached: the address and the error go to the log.
var ErrBackendUnavailable = gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable")
