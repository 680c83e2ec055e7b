package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/cors"
	"github.com/tollgate-gw/tollgate/internal/cowmap"
	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
	"github.com/tollgate-gw/tollgate/internal/reqpath"
	"github.com/tollgate-gw/tollgate/internal/resourceid"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

// servedTable is one routing table with the runtime parts built for it:
// what the data plane serves until the next Load.
type servedTable struct {
	table  *routing.Table
	stages cowmap.Map[*routing.Stage, *stageRuntime] // copy-on-write: a Load shares what it did not change
}

// restIndex finds the REST runtimes of a table being built by key: those
// built for it, else those of the previous table, looked up first among
// the runtimes of the stage's own previous compilation and only then, once,
// among all (so that a change that keeps a stage's descriptors never looks
// at the other stages).
type restIndex struct {
	prev    *servedTable
	m       map[restKey]*restRuntime
	scanned bool
}

// get returns the runtime of key, looking at the previous runtimes of
// the stage named stage first.
func (x *restIndex) get(key restKey, stage string) *restRuntime {
	if r := x.m[key]; r != nil {
		return r
	}
	if x.prev == nil {
		return nil
	}
	if st := x.prev.table.Stage(stage); st != nil {
		for _, s := range []*routing.Stage{st, st.Canary()} {
			if rt := x.prev.stages.Value(s); rt != nil && rt.rest != nil && restKeyOf(s) == key {
				return rt.rest
			}
		}
	}
	if !x.scanned {
		x.scanned = true
		for s, rt := range x.prev.stages.All() {
			if rt.rest != nil {
				if _, ok := x.m[restKeyOf(s)]; !ok {
					x.m[restKeyOf(s)] = rt.rest
				}
			}
		}
	}
	return x.m[key]
}

// stageRuntime is what serves REST calls for one compiled stage.
type stageRuntime struct {
	ref      *stageRef
	stage    *routing.Stage
	rest     *restRuntime        // nil without descriptors
	web      *webclients.Handler // gRPC-Web, Connect, WebSocket calls: rest's; nil without descriptors
	backends []grpcproxy.Backend // the gRPC backends the stage uses
	openapi  *openapiDoc         // the stage's OpenAPI document, built on the first request for it
}

// restRuntime is a transcoder with its REST bindings. It depends only on
// the linked descriptors (and the API's gateway responses), so every stage
// with the same (shared) descriptors shares one: each call's restRequest
// says which stage it is for.
type restRuntime struct {
	transcoder *transcode.Transcoder
	web        *webclients.Handler          // nil if the schema cannot be served to web clients
	bindings   map[string]*pathtemplate.Set // HTTP verb → REST bindings, to choose between APIs
}

// restKey identifies a restRuntime.
type restKey struct {
	files     *protoregistry.Files
	responses string // the API's gateway responses (deterministic wire form), which the transcoder writes
	headers   string // the API's header mapping (deterministic wire form), which the transcoder applies
}

// restKeyOf returns the key of a stage's restRuntime.
func restKeyOf(s *routing.Stage) restKey {
	return restKey{files: s.Files, responses: gatewayResponsesKey(s), headers: headerMappingKey(s)}
}

// stageRuntime returns the runtime of a compiled stage: prev itself when it
// serves the same compiled stage (carried over unchanged), prev's reference
// with the stage's REST runtime otherwise, when prev serves the same
// descriptors, or a new reference. Reusing the reference keeps in-process
// calls that were matched on the previous table valid. Load registers the
// reference. rests holds the REST runtimes by key; stageRuntime adds to it.
func (g *Gateway) stageRuntime(s *routing.Stage, prev *stageRuntime, rests *restIndex) (*stageRuntime, error) {
	if prev != nil && prev.stage == s {
		return prev, nil
	}
	var rest *restRuntime
	if s.Files != nil && len(s.Services) > 0 {
		key := restKeyOf(s)
		rest = rests.get(key, s.Name)
		if rest == nil {
			var err error
			if rest, err = g.newRESTRuntime(s, s.Snapshot.GetApi()); err != nil {
				return nil, err
			}
			rests.m[key] = rest
		}
	}
	var ref *stageRef
	if prev != nil && prev.rest == rest {
		ref = prev.ref
	} else {
		ref = g.newRef()
	}
	rt := &stageRuntime{ref: ref, stage: s, rest: rest, backends: g.stageBackends(s), openapi: &openapiDoc{}}
	if rest != nil {
		rt.web = rest.web
	}
	return rt, nil
}

// newRESTRuntime builds the transcoder of a stage's descriptors, with what
// its API configures of REST calls (gateway responses, header mapping).
func (g *Gateway) newRESTRuntime(s *routing.Stage, api *adminv1.Api) (*restRuntime, error) {
	hm := api.GetHeaderMapping()
	tc, err := transcode.New(s.Files, s.Services, g.transcoded,
		transcode.WithMaxBodyBytes(g.maxBodyBytes),
		transcode.WithRequestMetadata(requestMetadata),
		transcode.WithLogger(g.logger),
		transcode.WithGatewayResponses(api.GetGatewayResponses()),
		transcode.WithHeaderMapping(transcode.HeaderMapping{
			RequestHeaders:            hm.GetRequestHeadersToMetadata(),
			ResponseMetadataAsHeaders: hm.GetResponseMetadataAsHeaders(),
		}),
	)
	if err != nil {
		return nil, err
	}
	rest := &restRuntime{transcoder: tc, bindings: map[string]*pathtemplate.Set{}}
	// Web clients are an addition to what a stage serves: a schema the
	// translator cannot take leaves them unserved (they get
	// UNIMPLEMENTED) rather than failing the stage. The handler depends
	// on the descriptors only (the stage travels with each call), so it
	// is shared as the transcoder is.
	web, err := webclients.New(s.Files, s.Services, g.grpcServer, webclients.WithMaxMessageBytes(g.maxRecvMsgSize))
	if err != nil {
		g.logger.Warn("stage not served to gRPC-Web and Connect clients", "stage", s.Name, "deployment", s.Deployment, "error", err)
	}
	rest.web = web
	for _, b := range tc.Bindings() {
		tpl, err := pathtemplate.Parse(b.Path)
		if err != nil {
			continue // still served when this API is the only one on the stage ID
		}
		set := rest.bindings[b.HTTPMethod]
		if set == nil {
			set = &pathtemplate.Set{}
			rest.bindings[b.HTTPMethod] = set
		}
		_ = set.Add(tpl, b)
	}
	return rest, nil
}

// gatewayResponsesKey is the API's gateway responses in a deterministic
// wire form: REST runtimes are shared only by stages whose APIs customise
// the gateway's answers alike.
func gatewayResponsesKey(s *routing.Stage) string {
	r := s.Snapshot.GetApi().GetGatewayResponses()
	if len(r) == 0 {
		return ""
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&adminv1.Api{GatewayResponses: r})
	return string(b)
}

// headerMappingKey is the API's header mapping in a deterministic wire
// form: REST runtimes are shared only by stages whose APIs map headers
// alike.
func headerMappingKey(s *routing.Stage) string {
	hm := s.Snapshot.GetApi().GetHeaderMapping()
	if hm == nil {
		return ""
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(hm)
	return string(b)
}

// restRequest is what the gateway knows of a transcoded call's HTTP
// request: the stage that matched it and the details the policies read. It
// reaches routeInterceptor as a context value — the unary call runs in
// process on the HTTP handler's goroutine — or, for a streaming call, which
// crosses the in-process gRPC transport, through Gateway.restCalls. Never
// as metadata a client could imitate.
type restRequest struct {
	ref                    string // the stageRef of the stage that matched
	method, path, rawQuery string // path: relative to the stage, canonical (reqpath)
	sourceIP               string
	header                 http.Header // the request's own, read-only
	clientCert             *callinfo.ClientCert
}

// restRequestKey is the context key of a transcoded call's *restRequest.
type restRequestKey struct{}

// restRequestOf returns the restRequest of a transcoded call: from the
// context of an in-process unary call, or registered under the token of a
// streaming call over bufconn (taken once). Other calls have none, whatever
// metadata they carry.
func (g *Gateway) restRequestOf(ctx context.Context) *restRequest {
	if rec, ok := ctx.Value(restRequestKey{}).(*restRequest); ok {
		return rec
	}
	if !inProcess(ctx) {
		return nil
	}
	token := firstValue(ctx, callTokenMetadataKey)
	if token == "" {
		return nil
	}
	v, ok := g.restCalls.LoadAndDelete(token)
	if !ok {
		return nil
	}
	return v.(*restRequest)
}

// requestMetadata returns the metadata of a transcoded call's request that
// policies and backends read as a gRPC call's: the gateway's forwarding
// headers (setForwarded), which replace the entries grpc-gateway derives
// from the request (it would append the peer to X-Forwarded-For once
// more). The gateway's own facts about the call travel in its restRequest.
func requestMetadata(r *http.Request) metadata.MD {
	md := make(metadata.MD, len(forwarded.Names))
	// One backing array for the values, each entry clipped to its own.
	vals := make([]string, len(forwarded.Names))
	for i, k := range forwarded.Names {
		if v := r.Header.Get(k); v != "" {
			vals[i] = v
			md[forwardedKeys[i]] = vals[i : i+1 : i+1]
		}
	}
	return md
}

// forwardedKeys are forwarded.Names as metadata keys (lowercase).
var forwardedKeys = func() []string {
	keys := make([]string, len(forwarded.Names))
	for i, k := range forwarded.Names {
		keys[i] = strings.ToLower(k)
	}
	return keys
}()

// canonicalPath is the canonical form of a transcoded call's path relative
// to the stage, which ServeHTTP already checked (encoded slashes included:
// a REST binding never allows them).
func canonicalPath(escaped string) string {
	p, err := reqpath.Canonical(escaped, false)
	if err != nil {
		return escaped // unreachable: serveStages refused the call
	}
	return p
}

// matches reports whether a REST binding of the stage matches.
func (rt *stageRuntime) matches(method, path string) bool {
	if rt.rest == nil {
		return false
	}
	set := rt.rest.bindings[method]
	if set == nil {
		return false
	}
	_, _, ok := set.Lookup(path)
	return ok
}

// ServeHTTP serves the data port: gRPC calls; gRPC-Web, Connect and
// gRPC-over-WebSocket calls translated onto gRPC (serveWebClient); REST/JSON
// calls transcoded onto gRPC; and plain HTTP routes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.serveWebClient(w, r) {
		return
	}
	if isGRPC(r) {
		g.grpcServer.ServeHTTP(w, r)
		return
	}
	g.setForwarded(r)
	// Only origin-form targets ("/path?query") are routed: an absolute or
	// opaque target ("http://internal/x", "http:http://x") could otherwise
	// make the matched path differ from the path a backend receives.
	if r.URL.Opaque != "" || r.URL.Scheme != "" || r.URL.Host != "" || r.URL.User != nil {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "the request target must be a path such as /stage/resource")
		return
	}
	raw := r.URL.EscapedPath()
	// Paths a backend could read otherwise than the gateway are refused
	// before routing; an encoded slash only once the route is known, since
	// a plain HTTP route may allow it.
	if _, err := reqpath.Canonical(raw, true); err != nil {
		writePathError(w, err)
		return
	}
	cur := g.current.Load()
	if cur.table.IsMapped(r.Host) {
		st, rest, ok := cur.table.StageForHost(r.Host, raw)
		if !ok {
			writeError(w, http.StatusNotFound, codes.NotFound, "no API is mapped at this path of "+r.Host)
			return
		}
		g.serveStages(w, r, cur, []*routing.Stage{st}, rest)
		return
	}
	stageID, rest, _ := strings.Cut(raw[1:], "/")
	rest = "/" + rest
	// Checked before any lookup, so that an encoded or odd first segment
	// never selects a stage.
	if !resourceid.Valid(stageID) {
		writeError(w, http.StatusNotFound, codes.NotFound, "no API is deployed at this path: it must start with /{stage}/")
		return
	}
	stages := cur.table.StagesByID(stageID)
	if len(stages) == 0 {
		writeError(w, http.StatusNotFound, codes.NotFound, "no stage "+stageID+" is deployed")
		return
	}
	g.serveStages(w, r, cur, stages, rest)
}

// serveStages serves a REST or HTTP call on the first of stages with a
// matching route. rest is the escaped path relative to the stage, already
// checked by reqpath except for encoded slashes, which only a plain HTTP
// route with allow_encoded_slashes accepts.
func (g *Gateway) serveStages(w http.ResponseWriter, r *http.Request, cur *servedTable, stages []*routing.Stage, rest string) {
	canon, slashErr := reqpath.Canonical(rest, false)
	if slashErr == nil && g.ws.ServeStages(w, r, stages, rest) {
		return
	}
	// CORS before routing: a preflight is answered here, without the
	// chain (no authorizer, throttle or backend: it carries no
	// credentials), and every other response of a stage with a CORS
	// policy, the gateway's errors included, carries its headers.
	if p := corsPolicy(cur, stages, r, rest); p != nil {
		if cors.IsPreflight(r) {
			p.Preflight(w, r)
			return
		}
		w = p.Writer(w, r.Header.Get("Origin"))
	}
	for _, st := range stages {
		if route, _, ok := st.HTTPRoute(r.Method, rest); ok {
			if c := st.PickCanary(); c != st {
				if cr, _, ok := c.HTTPRoute(r.Method, rest); ok {
					route = cr
				}
			}
			if slashErr != nil {
				if !route.Config.GetAllowEncodedSlashes() {
					writePathError(w, slashErr, stageResponses(st, ""))
					return
				}
				var err error
				if canon, err = reqpath.Canonical(rest, true); err != nil {
					writePathError(w, err, stageResponses(st, ""))
					return
				}
			}
			g.serveHTTPRoute(w, r, route, rest, canon)
			return
		}
	}
	if slashErr != nil {
		writePathError(w, slashErr, stageResponses(stages[0], ""))
		return
	}
	if rest == openapiPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) && g.serveOpenAPI(w, r, cur, stages, rest) {
		return
	}
	var only *stageRuntime
	transcoders := 0
	for _, st := range stages {
		rt := cur.stages.Value(st.PickCanary())
		if rt == nil || rt.rest == nil {
			continue
		}
		transcoders++
		only = rt
		if rt.matches(r.Method, rest) {
			g.transcode(w, r, rt, rest)
			return
		}
	}
	if transcoders == 1 {
		// The API's own transcoder answers 404/405 the way grpc-gateway does.
		g.transcode(w, r, only, rest)
		return
	}
	gatewayerr.WriteHTTP(w, http.StatusNotFound,
		status.Convert(gatewayerr.New(codes.NotFound, gatewayerr.ReasonRouteNotFound, "no route of stage "+stages[0].ID+" matches "+r.Method+" "+rest)),
		stageResponses(stages[0], ""))
}

// corsPolicy returns the CORS policy of the stage that serves r (for a
// preflight, the request it announces), or nil. Several APIs may share a
// stage ID: the one whose route or REST binding matches decides.
func corsPolicy(cur *servedTable, stages []*routing.Stage, r *http.Request, rest string) *cors.Policy {
	some := false
	for _, st := range stages {
		some = some || st.CORS != nil
	}
	if !some {
		return nil
	}
	if len(stages) == 1 {
		return stages[0].CORS
	}
	method := r.Method
	if cors.IsPreflight(r) {
		method = r.Header.Get("Access-Control-Request-Method")
	}
	for _, st := range stages {
		if _, _, ok := st.HTTPRoute(method, rest); ok {
			return st.CORS
		}
	}
	for _, st := range stages {
		if rt := cur.stages.Value(st); rt != nil && rt.matches(method, rest) {
			return st.CORS
		}
	}
	return nil
}

// transcode hands a REST call to a stage's transcoder, with the path
// relative to the stage.
func (g *Gateway) transcode(w http.ResponseWriter, r *http.Request, rt *stageRuntime, rest string) {
	decoded, err := url.PathUnescape(rest)
	if err != nil {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "the request path is not validly percent-encoded")
		return
	}
	rt.ref.acquire(&g.refs, rt)
	defer rt.ref.release(&g.refs)
	rec := &restRequest{
		ref: rt.ref.id, method: r.Method, path: canonicalPath(rest), rawQuery: r.URL.RawQuery,
		sourceIP: clientIP(r), header: r.Header, clientCert: clientCertOf(r.TLS),
	}
	r2 := r.WithContext(context.WithValue(r.Context(), restRequestKey{}, rec))
	u := *r.URL
	u.Path, u.RawPath = decoded, rest
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	rt.rest.transcoder.ServeHTTP(w, r2)
}

// writePathError answers a request whose path reqpath refused: 400, with an
// ErrorInfo whose reason is reqpath.Reason.
func writePathError(w http.ResponseWriter, err error, opts ...gatewayerr.WriteOption) {
	writeChainError(w, gatewayerr.New(codes.InvalidArgument, reqpath.Reason, err.Error()), opts...)
}

// writeError writes a google.rpc.Status JSON error, the shape every error of
// the data plane has (gatewayerr.WriteHTTP).
func writeError(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	gatewayerr.WriteHTTP(w, httpStatus, status.New(code, msg))
}
