package transcode

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/internal/headermap"
	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
)

// jsonRecursionLimit is how deeply messages may nest in a request body.
// protojson counts one level per JSON object or array, while the wire
// decoder of the backend (10,000 levels by default) counts up to three for
// one JSON level (a google.protobuf.Value in a Struct is a Value, a Struct
// and a map entry), so 3,000 keeps every accepted body decodable. Without
// it a body nested 9,000 levels deep is sent and fails in the backend with
// INTERNAL.
const jsonRecursionLimit = 3000

// Binding describes one REST binding of a gRPC method: an HTTP method and
// path template that call it, and how the request and response map to
// HTTP bodies.
type Binding struct {
	// Method is the gRPC method the binding calls.
	Method protoreflect.MethodDescriptor
	// Procedure is the method's gRPC name, "/pkg.Service/Method".
	Procedure string
	// HTTPMethod is "GET", "PUT", "POST", "DELETE", "PATCH", or the kind of
	// a custom pattern, such as "LOCK".
	HTTPMethod string
	// Path is the path template as written in the rule, such as
	// "/v1/{name=shelves/*/books/*}:publish".
	Path string
	// Body is the rule's body: "" (no body), "*" (the whole request) or the
	// path of the request field that the body fills.
	Body string
	// ResponseBody is the rule's response_body: "" (the whole response) or
	// the response field that is the HTTP response body.
	ResponseBody string
	// ServerStreaming reports whether the method is server-streaming (or
	// bidirectional): the response is then a stream of messages (see the
	// package documentation).
	ServerStreaming bool
	// ClientStreaming reports whether the method is client-streaming (or
	// bidirectional): the request body is then a stream of JSON messages.
	ClientStreaming bool
	// Default reports whether the binding is the default one of a method
	// without a google.api.http rule: POST /pkg.Service/Method, body "*".
	Default bool
}

// Transcoder is an http.Handler that serves the REST bindings of some gRPC
// services: it turns each HTTP request into a gRPC call, made on the
// connection given to [New], and the call's outcome into the HTTP response,
// as grpc-gateway's generated handlers would. It works from descriptors at
// run time (dynamic messages), so it needs no generated code.
//
// A Transcoder is built once per deployment by New, never changes
// afterwards and is safe for concurrent use.
type Transcoder struct {
	// customised reports whether the API customises gateway responses.
	customised bool
	mux        *runtime.ServeMux
	conn       grpc.ClientConnInterface
	bindings   []*boundMethod
	// templates are the bindings' paths, parsed once, for the Allow header
	// of a 405 (a binding whose path does not parse is left out of it).
	templates []boundTemplate
	logger    *slog.Logger
	maxBody   int64

	marshaler   *runtime.HTTPBodyMarshaler
	unmarshaler protojson.UnmarshalOptions
	// outgoingHeader maps response header metadata to HTTP headers.
	outgoingHeader runtime.HeaderMatcherFunc
	// requestHeaders are the API's header mapping patterns (nil: none),
	// incoming the request header matcher built on them (annotate).
	requestHeaders *headermap.Patterns
	incoming       runtime.HeaderMatcherFunc
	// outgoing and perRequest are WithOutgoingMetadata's and
	// WithRequestMetadata's metadata (annotate).
	outgoing   metadata.MD
	perRequest func(*http.Request) metadata.MD
	// plans are the fast path's plans, by message type; only New uses it.
	plans planCache
}

var _ http.Handler = (*Transcoder)(nil)

// New compiles the REST bindings of services, whose descriptors (and those
// of every type they use) are in files, into a Transcoder that calls them
// on conn.
//
// Every method gets the bindings of its google.api.http rule (the rule,
// then its additional_bindings), or, without a rule, the default binding
// POST /pkg.Service/Method with the whole request as the JSON body.
// Client-streaming and bidirectional methods take a stream of JSON
// messages as their body; a rule of theirs that grpc-gateway's generator
// refuses for them is answered with 501 Not Implemented.
//
// New returns an error, naming the method and binding, for a rule that
// grpc-gateway's generator would reject (a path variable or body naming no
// field, a message-typed path variable other than a well-known wrapper, a
// GET with a body, nested additional_bindings, an invalid path template),
// for two bindings with the same HTTP method and path template, and for
// invalid options.
func New(files *protoregistry.Files, services []protoreflect.ServiceDescriptor, conn grpc.ClientConnInterface, opts ...Option) (*Transcoder, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case files == nil:
		return nil, errors.New("transcode: no descriptors (files is nil)")
	case conn == nil:
		return nil, errors.New("transcode: no connection (conn is nil)")
	case o.maxBodyBytes <= 0:
		return nil, fmt.Errorf("transcode: the body limit must be positive, got %d", o.maxBodyBytes)
	}

	requestHeaders, err := headermap.Compile(o.headers.RequestHeaders)
	if err != nil {
		return nil, fmt.Errorf("transcode: header mapping: %w", err)
	}

	types := resolver{api: dynamicpb.NewTypes(files)}
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: false, Resolver: types, RecursionLimit: jsonRecursionLimit}
	t := &Transcoder{
		customised: len(o.responses) > 0,
		conn:       conn,
		logger:     o.logger,
		maxBody:    o.maxBodyBytes,
		marshaler: &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true, Resolver: types},
			UnmarshalOptions: unmarshal,
		}},
		unmarshaler:    unmarshal,
		outgoingHeader: outgoingHeaderMatcher(o.headers.ResponseMetadataAsHeaders),
		requestHeaders: requestHeaders,
		incoming:       incomingHeaderMatcher(requestHeaders),
		outgoing:       o.outgoing.Copy(),
		perRequest:     o.perRequest,
	}
	// The request's metadata is derived by annotate, not by the mux (its
	// incoming header matcher and metadata annotators go unused).
	t.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, fastMarshaler{Marshaler: t.marshaler}),
		runtime.WithOutgoingHeaderMatcher(t.outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(outgoingTrailerMatcher(o.headers.ResponseMetadataAsHeaders)),
		runtime.WithRoutingErrorHandler(t.routingErrorHandler),
		runtime.WithErrorHandler(t.errorHandler(o.responses)),
	)

	t.plans = planCache{}
	seen := map[string]string{} // "VERB canonical-template" → procedure
	seenSvc := map[protoreflect.FullName]bool{}
	for _, svc := range services {
		if svc == nil {
			return nil, errors.New("transcode: a service descriptor is nil")
		}
		if seenSvc[svc.FullName()] {
			return nil, fmt.Errorf("transcode: service %s is listed twice", svc.FullName())
		}
		seenSvc[svc.FullName()] = true
		if _, err := files.FindDescriptorByName(svc.FullName()); err != nil {
			return nil, fmt.Errorf("transcode: service %s is not in the descriptors: %w", svc.FullName(), err)
		}
		methods := svc.Methods()
		for i := range methods.Len() {
			if err := t.addMethod(methods.Get(i), seen); err != nil {
				return nil, fmt.Errorf("transcode: %w", err)
			}
		}
	}
	t.plans = nil
	return t, nil
}

// addMethod registers the bindings of md on the mux.
func (t *Transcoder) addMethod(md protoreflect.MethodDescriptor, seen map[string]string) error {
	rules, isDefault, err := methodRules(md)
	if err != nil {
		return err
	}
	claim := func(verb, path string) error {
		tmpl, err := pathtemplate.Parse(path)
		if err != nil {
			return fmt.Errorf("%s: binding %s %s: %w", md.FullName(), verb, path, err)
		}
		key := verb + " " + tmpl.String()
		if other, ok := seen[key]; ok {
			return fmt.Errorf("%s: binding %s %s: %s has the same binding", md.FullName(), verb, path, other)
		}
		seen[key] = procedure(md)
		return nil
	}
	if md.IsStreamingClient() {
		return t.addStreamingClientMethod(md, rules, isDefault, claim)
	}
	for _, rule := range rules {
		c, err := compileBinding(md, rule, isDefault)
		if err != nil {
			return err
		}
		if c == nil {
			t.logger.Debug("transcode: skipping a rule without a pattern", "method", procedure(md))
			continue
		}
		if err := claim(c.HTTPMethod, c.Path); err != nil {
			return err
		}
		c.planFast(t.plans)
		if err := t.mux.HandlePath(c.HTTPMethod, c.Path, t.handler(c)); err != nil {
			return fmt.Errorf("%s: binding %s %s: %w", md.FullName(), c.HTTPMethod, c.Path, err)
		}
		t.bindings = append(t.bindings, c)
		if tpl, err := pathtemplate.Parse(c.Path); err == nil {
			t.templates = append(t.templates, boundTemplate{tpl: tpl, method: c.HTTPMethod})
		}
	}
	return nil
}

// addStreamingClientMethod registers the bindings of a client-streaming or
// bidirectional method. A rule that grpc-gateway's generator would refuse
// for such a method (a path variable, a body or response_body naming no
// field) is not served, but its path is still claimed and answered with
// 501 Not Implemented saying why: a deployment that was served before
// client streams were keeps being served.
func (t *Transcoder) addStreamingClientMethod(md protoreflect.MethodDescriptor, rules []*annotations.HttpRule, isDefault bool, claim func(verb, path string) error) error {
	for _, rule := range rules {
		verb, path := rulePattern(rule)
		if path == "" || verb == "" {
			continue
		}
		if err := claim(verb, path); err != nil {
			return err
		}
		c, err := compileBinding(md, rule, isDefault)
		if err == nil && len(c.params) > 0 {
			err = fmt.Errorf("%s: binding %s %s: a client-streaming method cannot take path variables", md.FullName(), verb, path)
		}
		var handler runtime.HandlerFunc
		if err == nil {
			handler = t.streamingHandler(c)
		} else {
			t.logger.Debug("transcode: binding not served", "method", procedure(md), "error", err)
			unsupported := status.Errorf(codes.Unimplemented, "%s cannot be called with REST/JSON at %s %s: %v; call it with gRPC", procedure(md), verb, path, err)
			handler = func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
				_, outbound := runtime.MarshalerForRequest(t.mux, r)
				runtime.HTTPError(r.Context(), t.mux, outbound, w, r, unsupported)
			}
		}
		if err := t.mux.HandlePath(verb, path, handler); err != nil {
			return fmt.Errorf("%s: binding %s %s: %w", md.FullName(), verb, path, err)
		}
		if err != nil {
			continue
		}
		c.ClientStreaming = true
		t.bindings = append(t.bindings, c)
		if tpl, err := pathtemplate.Parse(c.Path); err == nil {
			t.templates = append(t.templates, boundTemplate{tpl: tpl, method: c.HTTPMethod})
		}
	}
	return nil
}

// ServeHTTP serves a REST call. r.URL.Path is the path relative to the
// stage (the caller strips "/{stage}"); it is matched against the bindings
// as grpc-gateway's runtime.ServeMux matches it (its default
// UnescapingModeLegacy: the already-decoded path is split at "/"). An
// unknown path is answered with 404, a known path with another HTTP method
// with 405, both with a google.rpc.Status JSON body.
func (t *Transcoder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mux.ServeHTTP(w, r)
}

// boundTemplate is a binding's parsed path and HTTP method.
type boundTemplate struct {
	tpl    *pathtemplate.Template
	method string
}

// allowed returns the HTTP methods bound to a request path, sorted.
func (t *Transcoder) allowed(path string) []string {
	var out []string
	for _, b := range t.templates {
		if _, ok := b.tpl.Match(path); ok && !slices.Contains(out, b.method) {
			out = append(out, b.method)
		}
	}
	slices.Sort(out)
	return out
}

// Bindings returns every binding the Transcoder serves, in the order of the
// services and methods given to New, each method's rule before its
// additional bindings. The caller may change the returned slice.
func (t *Transcoder) Bindings() []Binding {
	out := make([]Binding, len(t.bindings))
	for i, c := range t.bindings {
		out[i] = c.Binding
	}
	return slices.Clip(out)
}
