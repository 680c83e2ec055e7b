package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

// Format is the OpenAPI version of a document.
type Format int

const (
	// OpenAPI3 is OpenAPI 3.1.
	OpenAPI3 Format = iota
	// OpenAPI2 is OpenAPI 2.0 (Swagger).
	OpenAPI2
)

// ParseFormat reads a format as the admin API names it: "openapi3" (or
// "", the default) and "openapi2".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "openapi3":
		return OpenAPI3, nil
	case "openapi2":
		return OpenAPI2, nil
	}
	return 0, fmt.Errorf("unknown format %q: want openapi3 or openapi2", s)
}

// Output is the encoding of a document.
type Output int

const (
	// JSON encodes the document as JSON ("application/json").
	JSON Output = iota
	// YAML encodes the document as YAML ("application/yaml").
	YAML
)

// ParseOutput reads an output as the admin API names it: "json" (or "",
// the default) and "yaml".
func ParseOutput(s string) (Output, error) {
	switch s {
	case "", "json":
		return JSON, nil
	case "yaml":
		return YAML, nil
	}
	return 0, fmt.Errorf("unknown output %q: want json or yaml", s)
}

// ContentType returns the media type of documents encoded as o.
func (o Output) ContentType() string {
	if o == YAML {
		return "application/yaml"
	}
	return "application/json"
}

// Options say where the described API is served.
type Options struct {
	// ServerURL is the URL REST calls of the API start with, e.g.
	// "https://api.example.com/prod" or "/prod". Empty leaves the
	// document without servers (OpenAPI 2.0: without host and basePath).
	ServerURL string
	// Version is the document's info.version. Empty means "1".
	Version string
	// Files, when set, are the API's linked descriptors, described
	// instead of the snapshot's descriptor set: the data plane's stages
	// keep their descriptors linked and drop the bytes.
	Files *protoregistry.Files
}

// Render builds the document of snap and encodes it.
func Render(snap *adminv1.ApiSnapshot, f Format, o Output, opts Options) ([]byte, error) {
	doc, err := Build(snap, opts)
	if err != nil {
		return nil, err
	}
	return Encode(doc, f, o)
}

// Encode encodes a document built by Build in format f, as o.
func Encode(doc *Document, f Format, o Output) ([]byte, error) {
	var v any = doc
	if f == OpenAPI2 {
		d2, err := toSwagger(doc)
		if err != nil {
			return nil, err
		}
		v = d2
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the document: %w", err)
	}
	if o == YAML {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return nil, fmt.Errorf("encode the document as YAML: %w", err)
		}
	}
	return b, nil
}

// ErrNotREST is returned for APIs that have no REST description (WebSocket
// APIs).
var ErrNotREST = errors.New("only gRPC/REST APIs can be described as OpenAPI")

// Build returns the OpenAPI 3.1 document of snap.
func Build(snap *adminv1.ApiSnapshot, opts Options) (*Document, error) {
	api := snap.GetApi()
	if api.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET {
		return nil, ErrNotREST
	}
	b := &builder{
		snap:    snap,
		schemas: map[string]*Schema{},
		paths:   map[string]*PathItem{},
		keys:    map[string]string{},
		opIDs:   map[string]int{},
	}
	title := api.GetDisplayName()
	if title == "" {
		title = strings.TrimPrefix(api.GetName(), "apis/")
	}
	version := opts.Version
	if version == "" {
		version = "1"
	}
	doc := &Document{
		OpenAPI: "3.1.0",
		Info:    Info{Title: title, Description: api.GetDescription(), Version: version},
	}
	if opts.ServerURL != "" {
		doc.Servers = []Server{{URL: opts.ServerURL}}
	}
	files := opts.Files
	if set := api.GetFileDescriptorSet(); files == nil && set != nil {
		var err error
		if files, err = linkDescriptors(set); err != nil {
			return nil, err
		}
	}
	if files != nil {
		if err := b.addDescriptors(files); err != nil {
			return nil, err
		}
	}
	b.addHTTPRoutes()
	doc.Paths = b.paths
	doc.Components = Components{Schemas: b.schemas, SecuritySchemes: b.securitySchemes()}
	for _, t := range b.tags {
		doc.Tags = append(doc.Tags, Tag{Name: t})
	}
	return doc, nil
}

// builder accumulates one document.
type builder struct {
	snap    *adminv1.ApiSnapshot
	schemas map[string]*Schema
	paths   map[string]*PathItem
	// keys maps a path key ("/v1/{name}") to the template it was made
	// from, to tell templates apart that only differ in their patterns.
	keys  map[string]string
	opIDs map[string]int
	tags  []string
	// usesAPIKey and usedAuthorizers record the security schemes
	// operations refer to.
	usesAPIKey      bool
	usedAuthorizers map[string]bool
}

// linkDescriptors decodes and links a serialized FileDescriptorSet.
func linkDescriptors(raw []byte) (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("decode descriptors: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("link descriptors: %w", err)
	}
	return files, nil
}

// addDescriptors adds the operations of the services in files.
func (b *builder) addDescriptors(files *protoregistry.Files) error {
	var services []protoreflect.ServiceDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			services = append(services, fd.Services().Get(i))
		}
		return true
	})
	sort.Slice(services, func(i, j int) bool { return services[i].FullName() < services[j].FullName() })
	for _, sd := range services {
		b.tags = append(b.tags, string(sd.Name()))
		for i := range sd.Methods().Len() {
			if err := b.addMethod(sd.Methods().Get(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// addMethod adds the operations of one gRPC method's REST bindings.
func (b *builder) addMethod(md protoreflect.MethodDescriptor) error {
	rule, err := httpRule(md)
	if err != nil {
		return err
	}
	fullMethod := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	rules := []*annotations.HttpRule{rule}
	if rule == nil {
		rules = []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Post{Post: fullMethod}, Body: "*"}}
	} else {
		rules = append(rules, rule.GetAdditionalBindings()...)
	}
	route := b.routeOf(fullMethod)
	for i, r := range rules {
		verb, tpl := rulePattern(r)
		if tpl == "" || !documented[verb] {
			continue // OpenAPI has no place for custom HTTP methods (LOCK)
		}
		op, key, err := b.operation(md, r, tpl)
		if err != nil {
			return fmt.Errorf("%s: binding %s %s: %w", md.FullName(), verb, tpl, err)
		}
		op.OperationID = string(md.Parent().Name()) + "_" + string(md.Name())
		if i > 0 {
			op.OperationID += strconv.Itoa(i + 1)
		}
		op.Tags = []string{string(md.Parent().Name())}
		op.Summary, op.Description = comments(md)
		op.Security = b.security(route)
		b.addOperation(key, verb, op)
	}
	return nil
}

// addOperation sets the operation of verb on the path key.
func (b *builder) addOperation(key, verb string, op *Operation) {
	item := b.paths[key]
	if item == nil {
		item = &PathItem{}
		b.paths[key] = item
	}
	if slot := item.slot(strings.ToUpper(verb)); slot != nil {
		*slot = op
	}
}

// pathKey returns the document's path for tpl: grpc-gateway's ("{name}"
// for "{name=shelves/*}"), unless a different template already took a
// path of the same shape, which OpenAPI forbids (grpc-gateway then writes
// "{name_1}", an invalid document). Such a template's patterns are
// expanded into the path instead: "/v1/{name=shelves/*}" becomes
// "/v1/shelves/{shelf}", each wildcard a parameter named after the
// collection before it.
func (b *builder) pathKey(tpl string, vars []pathVar) (string, []pathVar) {
	key := renderPath(tpl, vars)
	shape := shapeOf(key)
	if prev, ok := b.keys[shape]; !ok || prev == tpl {
		b.keys[shape] = tpl
		return key, vars
	}
	key, vars = expandPath(tpl, vars)
	b.keys[shapeOf(key)] = tpl
	return key, vars
}

var paramPattern = lazyregexp.New(`\{[^}]*\}`)

// shapeOf is a path with its parameter names removed.
func shapeOf(key string) string { return paramPattern.ReplaceAllString(key, "{}") }

// operation builds the operation of one binding.
func (b *builder) operation(md protoreflect.MethodDescriptor, rule *annotations.HttpRule, tpl string) (*Operation, string, error) {
	vars, err := parseTemplate(tpl)
	if err != nil {
		return nil, "", err
	}
	in := md.Input()
	pathFields := map[string]bool{}
	for i := range vars {
		fds, err := fieldPath(in, vars[i].field)
		if err != nil {
			return nil, "", err
		}
		vars[i].name = jsonPath(fds)
		vars[i].leaf = fds[len(fds)-1]
		pathFields[vars[i].field] = true
	}
	key, vars := b.pathKey(tpl, vars)
	op := &Operation{}
	for _, v := range vars {
		s := b.scalarSchema(v.leaf)
		if v.pattern != "" {
			s.Pattern = v.pattern
		}
		op.Parameters = append(op.Parameters, &Parameter{In: "path", Name: v.name, Required: true, Schema: s, Description: fieldComment(v.leaf)})
	}
	body := rule.GetBody()
	switch {
	case md.IsStreamingClient():
		// The request body is a stream of whole request messages
		// (newline-delimited JSON), whatever the rule's body says; the
		// query string plays no part (grpc-gateway's shape).
		op.RequestBody = jsonBody(b.messageRef(in), "A stream of "+string(in.FullName())+" messages, as newline-delimited JSON (streaming inputs).")
	case body == "":
		b.queryParams(op, in, "", "", pathFields, nil, 0)
	case body == "*":
		// The message without its path fields, inline; the whole
		// message by reference (adding it to the components) otherwise.
		var s *Schema
		if len(pathFields) == 0 {
			s = b.messageRef(in)
		} else {
			s = b.messageSchema(in, pathFields)
		}
		op.RequestBody = jsonBody(s, "")
	default:
		fds, err := fieldPath(in, body)
		if err != nil {
			return nil, "", err
		}
		leaf := fds[len(fds)-1]
		op.RequestBody = jsonBody(b.fieldSchema(leaf), fieldComment(leaf))
		skip := map[string]bool{body: true}
		for f := range pathFields {
			skip[f] = true
		}
		b.queryParams(op, in, "", "", skip, nil, 0)
	}
	out := b.messageRef(md.Output())
	if rb := rule.GetResponseBody(); rb != "" {
		if fds, err := fieldPath(md.Output(), rb); err == nil {
			out = b.fieldSchema(fds[len(fds)-1])
		}
	}
	desc := "A successful response."
	if md.IsStreamingServer() {
		// grpc-gateway's shape: one {"result": ...} or {"error": ...}
		// object per message, newline-delimited (or Server-Sent Events
		// when the client asks for text/event-stream).
		out = &Schema{
			Type:       "object",
			Title:      "Stream result of " + string(md.Output().FullName()),
			Properties: map[string]*Schema{"result": out, "error": b.statusRef()},
		}
		desc = "A successful response (streaming responses)."
	}
	op.Responses = map[string]*Response{
		"200":     {Description: desc, Content: jsonContent(out)},
		"default": {Description: "An unexpected error response.", Content: jsonContent(b.statusRef())},
	}
	return op, key, nil
}

// jsonType is the media type of request and response bodies.
const jsonType = "application/json"

func jsonContent(s *Schema) map[string]*MediaType {
	return map[string]*MediaType{jsonType: {Schema: s}}
}

// jsonBody is a required JSON request body.
func jsonBody(s *Schema, description string) *RequestBody {
	return &RequestBody{Content: jsonContent(s), Description: description, Required: true}
}

// maxQueryDepth bounds how deep nested messages are expanded into query
// parameters ("a.b.c").
const maxQueryDepth = 5

// queryParams adds the query parameters of md's fields under prefix,
// except the fields in skip (path parameters and the body): scalars,
// enums, repeated scalars and well-known types that have a string form,
// and nested messages' fields with a dotted name, as grpc-gateway parses
// them.
func (b *builder) queryParams(op *Operation, md protoreflect.MessageDescriptor, prefix, jsonPrefix string, skip map[string]bool, seen []protoreflect.FullName, depth int) {
	if depth > maxQueryDepth {
		return
	}
	for _, s := range seen {
		if s == md.FullName() {
			return // a recursive message
		}
	}
	seen = append(seen, md.FullName())
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		protoPath := prefix + string(fd.Name())
		if skip[protoPath] || fd.IsMap() {
			continue
		}
		name := jsonPrefix + fd.JSONName()
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
			if ws := wellKnownSchema(fd.Message().FullName()); ws != nil && isQueryable(ws) {
				b.addQuery(op, name, fd, ws)
				continue
			}
			if fd.IsList() || wellKnownSchema(fd.Message().FullName()) != nil {
				continue
			}
			b.queryParams(op, fd.Message(), protoPath+".", name+".", skip, seen, depth+1)
			continue
		}
		b.addQuery(op, name, fd, b.scalarSchema(fd))
	}
}

func (b *builder) addQuery(op *Operation, name string, fd protoreflect.FieldDescriptor, s *Schema) {
	p := &Parameter{In: "query", Name: name, Schema: s, Description: fieldComment(fd)}
	if fd.IsList() {
		explode := true
		p.Schema, p.Explode = &Schema{Type: "array", Items: s}, &explode
	}
	op.Parameters = append(op.Parameters, p)
}

func isQueryable(s *Schema) bool {
	return s.Type != "" && s.Type != "object" && s.Type != "array"
}

// routeOf returns the route of the snapshot serving fullMethod: an exact
// grpc_method route, else a "/pkg.Service/*" route, else nil.
func (b *builder) routeOf(fullMethod string) *adminv1.Route {
	var wildcard *adminv1.Route
	for _, r := range b.snap.GetRoutes() {
		m := r.GetGrpcMethod()
		switch {
		case m == fullMethod:
			return r
		case strings.HasSuffix(m, "/*") && strings.HasPrefix(fullMethod, strings.TrimSuffix(m, "*")):
			wildcard = r
		}
	}
	return wildcard
}

// documented are the HTTP methods OpenAPI 3.1 and 2.0 both describe.
var documented = map[string]bool{
	http.MethodGet: true, http.MethodPut: true, http.MethodPost: true, http.MethodDelete: true,
	http.MethodPatch: true, http.MethodHead: true, http.MethodOptions: true,
}

// anyMethods are the operations a "*" HTTP route gets.
var anyMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// addHTTPRoutes adds the deployment's plain HTTP routes, whose payloads
// the gateway does not know.
func (b *builder) addHTTPRoutes() {
	for _, r := range b.snap.GetRoutes() {
		m := r.GetHttp()
		if m == nil {
			continue
		}
		vars, err := parseTemplate(m.GetPath())
		if err != nil {
			continue // the deployment refuses these; nothing to describe
		}
		for i := range vars {
			vars[i].name = vars[i].field
		}
		key, vars := b.pathKey(m.GetPath(), vars)
		methods := []string{strings.ToUpper(m.GetMethod())}
		if m.GetMethod() == "*" {
			methods = anyMethods
		}
		id := r.GetName()[strings.LastIndex(r.GetName(), "/")+1:]
		for _, verb := range methods {
			op := &Operation{OperationID: id}
			if len(methods) > 1 {
				op.OperationID = id + "_" + strings.ToLower(verb)
			}
			op.Description = r.GetDescription()
			for _, v := range vars {
				op.Parameters = append(op.Parameters, &Parameter{In: "path", Name: v.name, Required: true, Schema: &Schema{Type: "string", Pattern: v.pattern}})
			}
			op.Responses = map[string]*Response{"default": {Description: "The backend's response."}}
			op.Security = b.security(r)
			b.addOperation(key, verb, op)
		}
	}
}

// security returns the security requirements of route's operations, or
// nil when it asks for none.
func (b *builder) security(r *adminv1.Route) []SecurityRequirement {
	if r == nil {
		return nil
	}
	req := SecurityRequirement{}
	auth := r.GetAuthorization()
	if r.GetApiKeyRequired() || auth.GetType() == adminv1.RouteAuthorization_TYPE_API_KEY {
		b.usesAPIKey = true
		req[apiKeyScheme] = []string{}
	}
	if auth.GetType() == adminv1.RouteAuthorization_TYPE_AUTHORIZER {
		for _, a := range b.snap.GetAuthorizers() {
			if a.GetName() == auth.GetAuthorizer() {
				if b.usedAuthorizers == nil {
					b.usedAuthorizers = map[string]bool{}
				}
				b.usedAuthorizers[a.GetName()] = true
				req[schemeName(a)] = []string{}
			}
		}
	}
	if len(req) == 0 {
		return nil
	}
	return []SecurityRequirement{req}
}

// apiKeyScheme is the name of the API key's security scheme.
const apiKeyScheme = "api_key"

func schemeName(a *adminv1.Authorizer) string {
	return a.GetName()[strings.LastIndex(a.GetName(), "/")+1:]
}

// securitySchemes returns the schemes the operations refer to: every
// authorizer of the deployment, and the API key when a route requires one.
func (b *builder) securitySchemes() map[string]*SecurityScheme {
	out := map[string]*SecurityScheme{}
	if b.usesAPIKey {
		s := &SecurityScheme{Type: "apiKey", In: "header", Name: "x-api-key",
			Description: "An API key of a usage plan that covers the stage."}
		if b.snap.GetApi().GetApiKeySource() == adminv1.Api_API_KEY_SOURCE_AUTHORIZER {
			s.Description = "The API key is the usage identifier the authorizer returns."
		}
		out[apiKeyScheme] = s
	}
	for _, a := range b.snap.GetAuthorizers() {
		var sources []string
		var desc string
		switch {
		case a.GetJwt() != nil:
			sources = a.GetJwt().GetIdentitySources()
			desc = "A JSON Web Token issued by " + a.GetJwt().GetIssuer() + "."
		case a.GetCustom() != nil:
			sources = a.GetCustom().GetIdentitySources()
			desc = "Checked by a custom authorizer."
		}
		if a.GetDisplayName() != "" {
			desc = a.GetDisplayName() + ": " + desc
		}
		out[schemeName(a)] = identityScheme(a.GetJwt() != nil, sources, desc)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// identityScheme describes where an authorizer reads its credential: a
// bearer token from the Authorization header (the default), or an
// apiKey-style header or query parameter.
func identityScheme(jwt bool, sources []string, desc string) *SecurityScheme {
	src := "$request.header.Authorization"
	for _, s := range sources {
		if strings.HasPrefix(s, "$request.header.") || strings.HasPrefix(s, "$request.querystring.") {
			src = s
			break
		}
	}
	if name, ok := strings.CutPrefix(src, "$request.querystring."); ok {
		return &SecurityScheme{Type: "apiKey", In: "query", Name: name, Description: desc}
	}
	name := strings.TrimPrefix(src, "$request.header.")
	if jwt && strings.EqualFold(name, "Authorization") {
		return &SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: desc}
	}
	return &SecurityScheme{Type: "apiKey", In: "header", Name: name, Description: desc}
}

// httpRule returns the google.api.http option of md, or nil. The options
// are re-parsed from their wire form so that the extension is found
// whether the descriptors carry it resolved or as unknown fields.
func httpRule(md protoreflect.MethodDescriptor) (*annotations.HttpRule, error) {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil {
		return nil, nil
	}
	fresh, err := reparse(opts, &descriptorpb.MethodOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the options of %s: %w", md.FullName(), err)
	}
	if !proto.HasExtension(fresh, annotations.E_Http) {
		return nil, nil
	}
	rule, _ := proto.GetExtension(fresh, annotations.E_Http).(*annotations.HttpRule)
	return rule, nil
}

// reparse round-trips options through the wire format with the global
// types, which know the google.api extensions.
func reparse[T proto.Message](opts, fresh T) (T, error) {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return fresh, err
	}
	return fresh, proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}.Unmarshal(raw, fresh)
}

// FieldBehaviors returns the google.api.field_behavior annotations of fd.
func FieldBehaviors(fd protoreflect.FieldDescriptor) []annotations.FieldBehavior {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return nil
	}
	fresh, err := reparse(opts, &descriptorpb.FieldOptions{})
	if err != nil {
		return nil
	}
	fb, _ := proto.GetExtension(fresh, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return fb
}

func hasBehavior(fd protoreflect.FieldDescriptor, want annotations.FieldBehavior) bool {
	for _, b := range FieldBehaviors(fd) {
		if b == want {
			return true
		}
	}
	return false
}

// rulePattern returns the HTTP method and path template of rule.
func rulePattern(rule *annotations.HttpRule) (method, path string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// fieldPath resolves a dotted proto field path in md.
func fieldPath(md protoreflect.MessageDescriptor, path string) ([]protoreflect.FieldDescriptor, error) {
	var out []protoreflect.FieldDescriptor
	for i, name := range strings.Split(path, ".") {
		if md == nil {
			return nil, fmt.Errorf("field path %q: %s is not a message", path, out[i-1].Name())
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("field path %q: %s has no field %s", path, md.FullName(), name)
		}
		out = append(out, fd)
		md = fd.Message()
	}
	return out, nil
}

// jsonPath joins the JSON names of fds with dots, as grpc-gateway names
// path parameters.
func jsonPath(fds []protoreflect.FieldDescriptor) string {
	names := make([]string, len(fds))
	for i, fd := range fds {
		names[i] = fd.JSONName()
	}
	return strings.Join(names, ".")
}

// comments returns an operation's summary and description from the
// method's leading comment: its first paragraph is the summary when more
// follow, as grpc-gateway splits them.
func comments(d protoreflect.Descriptor) (summary, description string) {
	c := comment(d)
	if c == "" {
		return "", ""
	}
	if first, rest, ok := strings.Cut(c, "\n\n"); ok {
		return first, strings.TrimSpace(rest)
	}
	return c, ""
}

// comment returns the leading comment of d from its file's
// SourceCodeInfo, or "" when the set carries none.
func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	lines := strings.Split(strings.TrimSpace(loc.LeadingComments), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func fieldComment(fd protoreflect.FieldDescriptor) string { return comment(fd) }
