package routing

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/cors"
	"github.com/tollgate-gw/tollgate/internal/cowmap"
	"github.com/tollgate-gw/tollgate/internal/deployed"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
	"github.com/tollgate-gw/tollgate/internal/stagevars"
)

// DefaultTimeout is the route timeout when a route sets none: 29 s, as
// Amazon API Gateway's integration timeout.
const DefaultTimeout = 29 * time.Second

// DefaultStreamIdleTimeout is how long a gRPC stream may carry no message
// either way when its route sets no stream_idle_timeout.
const DefaultStreamIdleTimeout = 5 * time.Minute

// Errors of resolution. The data plane maps them to statuses at its edge.
var (
	// ErrNoRoute means no deployed stage serves the call.
	ErrNoRoute = errors.New("no deployed API serves this call")
	// ErrAmbiguous means several stages serve the call and none was chosen.
	ErrAmbiguous = errors.New("several stages serve this call")
)

// Entry is one stage to compile with the deployments it serves: the type
// the admin service reads them as (see package deployed).
type Entry = deployed.Stage

// Route is what serves one call: a stage and an integration.
type Route struct {
	// Stage is the compiled stage (or canary) serving the call.
	Stage *Stage
	// Config is the matched route, or nil when the API's default
	// integration serves a method that no route names.
	Config *adminv1.Route
	// Integration is where the call goes, with stage variables substituted.
	Integration *adminv1.Integration
	// Timeout caps a unary backend call; for a stream it bounds only the
	// wait for the backend's first response.
	Timeout time.Duration
	// StreamIdleTimeout ends a stream that carries no message either way
	// for this long; MaxStreamDuration (zero: none) ends any stream after
	// this long.
	StreamIdleTimeout, MaxStreamDuration time.Duration
	// Method describes the gRPC method, or is nil when the API has no
	// descriptors or the route is a plain HTTP route.
	Method protoreflect.MethodDescriptor
	// Template is the path template of an HTTP route, or nil.
	Template *pathtemplate.Template
	// Key identifies the route within its stage for per-route settings and
	// buckets: the route's ID, or the full method served by the default
	// integration.
	Key string
	// ThrottleKey is the stage-level bucket of the route, "{stage}|{Key}".
	ThrottleKey string
	// Unary reports whether Method is unary; NoSideEffects whether it is
	// marked idempotency_level = NO_SIDE_EFFECTS. Both are false without a
	// descriptor. They tell the response cache what it may cache.
	Unary, NoSideEffects bool
	// ValidateRequest reports whether the call's request messages are
	// validated against Method's rules (the route's validate_request, else
	// the API's validate_requests). False without a descriptor.
	ValidateRequest bool
	// GRPCResource is the authorizer-policy resource of a gRPC method
	// route, "{api}/{stage}/GRPC/{pkg.Service/Method}", or "" when it
	// depends on the call.
	GRPCResource string
	// IPPolicy is the compiled IP policy of every level that applies to
	// the route (API, stage, the stage's route settings, route), or nil
	// when none sets one.
	IPPolicy ipacl.Policy

	// facts are the route's part of every call record, built once when
	// the stage is compiled (see Facts).
	facts *callinfo.RouteFacts
}

// Name returns the route's resource name, or "" for the default integration.
func (r *Route) Name() string { return r.Config.GetName() }

// Label names the route in messages: "route {name}", or "the default
// integration of {api}" for a method without a route of its own.
func (r *Route) Label() string {
	if n := r.Name(); n != "" {
		return "route " + n
	}
	return "the default integration of " + r.Stage.API
}

// Facts returns what the route contributes to every call's record: built
// once when its stage was compiled and shared, read-only, by its calls. A
// Route built by hand (not by Compile) gets a fresh one per call.
func (r *Route) Facts() *callinfo.RouteFacts {
	if r.facts != nil {
		return r.facts
	}
	return r.buildFacts()
}

// buildFacts builds the route's callinfo.RouteFacts.
func (r *Route) buildFacts() *callinfo.RouteFacts {
	st := r.Stage
	f := &callinfo.RouteFacts{
		API:            st.API,
		Stage:          st.Name,
		Deployment:     st.Deployment,
		Route:          r.Config,
		Authorizers:    st.Authorizers,
		APIKeySource:   st.Snapshot.GetApi().GetApiKeySource(),
		StageVariables: st.Variables,
		StageConfig:    st.Config,
		RouteKey:       r.Key,
		ThrottleKey:    r.ThrottleKey,
		GRPCResource:   r.GRPCResource,
		Unary:          r.Unary,
		NoSideEffects:  r.NoSideEffects,
		IPPolicy:       r.IPPolicy,
	}
	if r.ValidateRequest && r.Method != nil {
		f.RequestType = r.Method.Input()
	}
	return f
}

// compileFacts builds the call-record facts of every route of the stage,
// once its routes are final.
func (s *Stage) compileFacts() {
	set := func(r *Route) {
		if r != nil {
			r.facts = r.buildFacts()
		}
	}
	for _, r := range s.methods {
		set(r)
	}
	for _, r := range s.wildcards {
		set(r)
	}
	for _, r := range s.httpList {
		set(r)
	}
	set(s.fallback)
	if w := s.ws; w != nil {
		set(w.Connect)
		set(w.Disconnect)
		set(w.Default)
		for _, r := range w.routes {
			set(r)
		}
	}
}

// Stage is one stage compiled from one deployment.
type Stage struct {
	// API is the API's resource name, e.g. "apis/shop".
	API string
	// Name is the stage's resource name, e.g. "apis/shop/stages/prod".
	Name string
	// ID is the stage's ID, the first segment of its REST paths.
	ID string
	// Deployment is the deployment's resource name.
	Deployment string
	// IsCanary reports whether this is the canary of the stage.
	IsCanary bool
	// Config is the stage's configuration.
	Config *adminv1.Stage
	// Snapshot is the deployed API, without its descriptor set (Files
	// holds it, linked and shared by every stage with the same bytes).
	Snapshot *adminv1.ApiSnapshot
	// Variables are the stage variables (with canary overrides applied).
	Variables map[string]string
	// Files holds the API's descriptors, or is nil.
	Files *protoregistry.Files
	// Services lists the gRPC services of the API's descriptors.
	Services []protoreflect.ServiceDescriptor
	// Authorizers are the deployment's authorizers by resource name, with
	// the stage's variables substituted in custom authorizers' callout
	// targets (each stage has its own copies).
	Authorizers map[string]*adminv1.Authorizer
	// CORS is the stage's CORS policy (the stage's own, or else the
	// API's), or nil when neither sets one.
	CORS *cors.Policy

	methods   map[string]*Route // exact full method names
	wildcards map[string]*Route // "/pkg.Service/" prefixes of "/pkg.Service/*" routes
	fallback  *Route            // the default integration for any method (no descriptors)
	http      map[string]*pathtemplate.Set
	httpList  []*Route // the plain HTTP routes, in configuration order
	canary    *Stage
	canaryPct float64
	ipPolicy  ipacl.Policy // the API's and the stage's
	ws        *WebSocket   // WebSocket APIs only
	schema    *schema      // the linked descriptors, shared by content, or nil
}

// compiledFrom reports whether the stage (a stage, not a canary) was
// compiled from what e holds: the same stage configuration, deployment and
// canary deployment. Deployments are immutable, so their names stand for
// their content.
func (s *Stage) compiledFrom(e Entry) bool {
	if s.Deployment != e.Deployment.GetName() || !proto.Equal(s.Config, e.Stage) {
		return false
	}
	canary := ""
	if e.Canary != nil && e.Stage.GetCanary().GetPercent() > 0 {
		canary = e.Canary.GetName()
	}
	have := ""
	if s.canary != nil {
		have = s.canary.Deployment
	}
	return canary == have
}

// HTTPRoutes returns the stage's plain HTTP routes in configuration order.
// The caller must not change the slice.
func (s *Stage) HTTPRoutes() []*Route { return s.httpList }

// Methods returns the full method names the stage serves, sorted.
func (s *Stage) Methods() []string {
	out := make([]string, 0, len(s.methods))
	for m := range s.methods {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Method returns the route of a gRPC method on this stage.
func (s *Stage) Method(fullMethod string) (*Route, bool) {
	if r, ok := s.explicit(fullMethod); ok {
		return r, true
	}
	if s.fallback != nil {
		return s.fallback, true
	}
	return nil, false
}

// explicit returns the route of a method the stage names: in its schema or
// in a route, as opposed to its catch-all default integration.
func (s *Stage) explicit(fullMethod string) (*Route, bool) {
	if r, ok := s.methods[fullMethod]; ok {
		return r, true
	}
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
		if r, ok := s.wildcards[fullMethod[:i+1]]; ok {
			return r, true
		}
	}
	return nil, false
}

// HTTPRoute returns the plain HTTP route matching a method and a path
// relative to the stage, with the path's variable bindings.
func (s *Stage) HTTPRoute(method, path string) (*Route, map[string]string, bool) {
	for _, m := range []string{method, "*"} {
		set := s.http[m]
		if set == nil {
			continue
		}
		if v, b, ok := set.Lookup(path); ok {
			return v.(*Route), b, true
		}
	}
	return nil, nil, false
}

// PickCanary returns the stage's canary for a share of calls as configured,
// or the stage itself.
func (s *Stage) PickCanary() *Stage {
	if s.canary != nil && rand.Float64()*100 < s.canaryPct {
		return s.canary
	}
	return s
}

// Canary returns the compiled canary of the stage, or nil.
func (s *Stage) Canary() *Stage { return s.canary }

// Config is what a table is compiled from.
type Config struct {
	// Stages are the deployed stages: all of them, or with Delta only
	// those added or changed since Previous.
	Stages []Entry
	// DomainMappings serve stages under host names: always all of them.
	DomainMappings []*adminv1.DomainMapping
	// Previous is the table being replaced, or nil. Its stages compiled
	// from the same stage configuration and deployments (immutable, so
	// known by name) are served as they are, and its linked descriptors
	// are reused for descriptor sets with the same bytes.
	Previous *Table
	// Delta makes Stages and Removed a change to Previous: its stages
	// not named in either are served as they are, without being looked
	// at, so that the cost of a change is the size of the change, not of
	// the table. Ignored without Previous.
	Delta bool
	// Removed names the stages of Previous no longer served (with Delta).
	Removed []string
	// KeepPrevious makes a stage that cannot be compiled keep serving its
	// compilation in Previous, if it has one, instead of being left out.
	KeepPrevious bool
	// Keep names stages whose compilation in Previous is served as it is
	// (with its canary), without compiling them again: stages whose
	// compilation the data plane could not complete.
	Keep map[string]bool
}

// StageError reports a stage that could not be compiled.
type StageError struct {
	// Stage is the stage's resource name.
	Stage string
	// Deployment is the deployment that could not be compiled: the stage's,
	// or its canary's.
	Deployment string
	// Canary reports whether the canary deployment failed.
	Canary bool
	// Kept is the deployment the stage keeps serving instead (its previous
	// compilation), or "" if the stage is not served.
	Kept string
	// Err says why.
	Err error
}

// Error returns "stage NAME: ..." or "stage NAME canary: ...".
func (e *StageError) Error() string {
	what := "stage " + e.Stage
	if e.Canary {
		what += " canary"
	}
	return fmt.Sprintf("%s (deployment %s): %v", what, e.Deployment, e.Err)
}

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }

// Table is an immutable routing table over every deployed stage. Its
// indexes are copy-on-write maps, so that a table compiled from Previous
// with a change (Config.Delta) shares everything else with it.
type Table struct {
	stages   cowmap.Map[string, *Stage]   // by stage resource name
	byID     cowmap.Map[string, []*Stage] // by stage ID, in API name order
	byMethod cowmap.Map[string, stageSet] // by exact full method
	catchAll stageSet                     // stages that proxy any method (no descriptors, default integration)
	domains  map[string][]domainRoute
	changes  []StageChange // with Config.Delta: what changed from Previous
	compiles int           // stages compiled (not carried over from Previous) by Compile, for tests
}

// StageChange is a stage a Compile with Config.Delta added, replaced or
// removed.
type StageChange struct {
	// Old is the stage's compilation in Previous, or nil for a new stage.
	Old *Stage
	// New is the stage's new compilation, or nil for a stage no longer
	// served.
	New *Stage
}

// Changes returns the stages a Compile with Config.Delta added, replaced
// or removed (nil after a full compile). The caller must not change it.
func (t *Table) Changes() []StageChange { return t.changes }

// stageSet is an immutable set of stages by name.
type stageSet struct {
	m    cowmap.Map[string, *Stage]
	list []*Stage // the stages in name order, when there are at most a few
}

// setListMax bounds the stages a stageSet keeps as a list: more than one
// stage serving a method is an ambiguity, listed (sorted) on demand.
const setListMax = 4

func (s stageSet) withMap(m cowmap.Map[string, *Stage]) stageSet {
	out := stageSet{m: m}
	if m.Len() <= setListMax {
		for _, st := range m.All() {
			out.list = append(out.list, st)
		}
		sort.Slice(out.list, func(i, j int) bool { return out.list[i].Name < out.list[j].Name })
	}
	return out
}

func (s stageSet) with(st *Stage) stageSet      { return s.withMap(s.m.With(st.Name, st)) }
func (s stageSet) without(name string) stageSet { return s.withMap(s.m.Without(name)) }

// stages returns the set's stages in name order.
func (s stageSet) stages() []*Stage {
	if s.m.Len() <= setListMax {
		return s.list
	}
	out := make([]*Stage, 0, s.m.Len())
	for _, st := range s.m.All() {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// domainRoute is one base path of a mapped domain.
type domainRoute struct {
	basePath string // "" or "/a/b"
	stage    *Stage
}

// Empty is a table that serves nothing.
func Empty() *Table {
	return &Table{domains: map[string][]domainRoute{}}
}

// Compile builds a table. A stage that cannot be compiled is reported in
// errs as a *StageError, and served as it was in cfg.Previous if
// cfg.KeepPrevious is set and it was served there; otherwise it is left out
// (or, when only its canary failed, served without its canary). The other
// stages are served.
func Compile(cfg Config) (t *Table, errs []error) {
	// Linked descriptors are shared by content: every stage and deployment
	// of an API whose descriptor set is unchanged serves one *Files. Only
	// the previous table's schemas are carried over, so that a schema no
	// stage serves any more is freed with the table.
	schemas := &schemaCache{m: map[uint64][]*schema{}, prev: cfg.Previous}
	if cfg.Delta && cfg.Previous != nil {
		t, errs = compileDelta(cfg, schemas)
	} else {
		t, errs = compileAll(cfg, schemas)
	}
	t.domains = map[string][]domainRoute{}
	for _, m := range cfg.DomainMappings {
		st, ok := t.stages.Get(m.GetStage())
		if !ok {
			errs = append(errs, fmt.Errorf("domain mapping %s: stage %s is not served", m.GetName(), m.GetStage()))
			continue
		}
		d := strings.ToLower(m.GetDomain())
		t.domains[d] = append(t.domains[d], domainRoute{basePath: m.GetBasePath(), stage: st})
	}
	for _, routes := range t.domains {
		// Longest base path first, so "/v1/orders" wins over "/v1".
		sort.Slice(routes, func(i, j int) bool { return len(routes[i].basePath) > len(routes[j].basePath) })
	}
	return t, errs
}

// compileOne compiles entry e, or carries over its compilation prev (nil
// if none) when e is unchanged or kept. It returns the stage to serve (nil
// for none) and whether it was compiled.
func compileOne(cfg Config, e Entry, prev *Stage, schemas *schemaCache, t *Table) (*Stage, *StageError) {
	name := e.Stage.GetName()
	if prev != nil && (cfg.Keep[name] || prev.compiledFrom(e)) {
		// Unchanged (or kept): served as compiled, so that a change
		// to one stage recompiles that stage only.
		return prev, nil
	}
	t.compiles++
	schemas.seed(prev) // a new compilation of a stage mostly keeps its schema
	st, serr := compileEntry(e, schemas)
	if serr != nil {
		if cfg.KeepPrevious && prev != nil {
			st = prev
		}
		if st != nil {
			serr.Kept = st.Deployment
		}
	}
	return st, serr
}

// compileAll compiles every stage of cfg.
func compileAll(cfg Config, schemas *schemaCache) (*Table, []error) {
	t := Empty()
	var errs []error
	sorted := slices.Clone(cfg.Stages)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Stage.GetName() < sorted[j].Stage.GetName() })
	var stages cowmap.Builder[string, *Stage]
	var byID cowmap.Builder[string, []*Stage]
	byMethod := map[string]*cowmap.Builder[string, *Stage]{}
	var catchAll cowmap.Builder[string, *Stage]
	for _, e := range sorted {
		var prev *Stage
		if cfg.Previous != nil {
			prev = cfg.Previous.stages.Value(e.Stage.GetName())
		}
		st, serr := compileOne(cfg, e, prev, schemas, t)
		if serr != nil {
			errs = append(errs, serr)
		}
		if st == nil {
			continue
		}
		stages.Set(st.Name, st)
		same, _ := byID.Get(st.ID)
		byID.Set(st.ID, append(same, st))
		for m := range st.methods {
			if byMethod[m] == nil {
				byMethod[m] = &cowmap.Builder[string, *Stage]{}
			}
			byMethod[m].Set(st.Name, st)
		}
		if st.fallback != nil {
			catchAll.Set(st.Name, st)
		}
	}
	t.stages, t.byID, t.catchAll = stages.Map(), byID.Map(), stageSet{}.withMap(catchAll.Map())
	var sets cowmap.Builder[string, stageSet]
	for m, set := range byMethod {
		sets.Set(m, stageSet{}.withMap(set.Map()))
	}
	t.byMethod = sets.Map()
	return t, errs
}

// compileDelta compiles the change cfg makes to cfg.Previous.
func compileDelta(cfg Config, schemas *schemaCache) (*Table, []error) {
	prev := cfg.Previous
	t := &Table{stages: prev.stages, byID: prev.byID, byMethod: prev.byMethod, catchAll: prev.catchAll}
	var errs []error
	for _, name := range cfg.Removed {
		if old := prev.stages.Value(name); old != nil {
			t.remove(old)
			t.changes = append(t.changes, StageChange{Old: old})
		}
	}
	for _, e := range cfg.Stages {
		old := prev.stages.Value(e.Stage.GetName())
		st, serr := compileOne(cfg, e, old, schemas, t)
		if serr != nil {
			errs = append(errs, serr)
		}
		switch {
		case st == old:
			continue
		case old == nil:
			t.add(st)
		case st == nil:
			t.remove(old)
		default:
			t.replace(old, st)
		}
		t.changes = append(t.changes, StageChange{Old: old, New: st})
	}
	return t, errs
}

// add adds st to t's indexes (t's own copies: the maps are copy-on-write).
func (t *Table) add(st *Stage) {
	t.stages = t.stages.With(st.Name, st)
	same := t.byID.Value(st.ID)
	i := sort.Search(len(same), func(i int) bool { return same[i].Name >= st.Name })
	t.byID = t.byID.With(st.ID, slices.Insert(slices.Clone(same), i, st))
	for m := range st.methods {
		t.byMethod = t.byMethod.With(m, t.byMethod.Value(m).with(st))
	}
	if st.fallback != nil {
		t.catchAll = t.catchAll.with(st)
	}
}

// replace puts st in the place of old, a compilation of the same stage,
// in t's indexes: one update of each index where the stage stays.
func (t *Table) replace(old, st *Stage) {
	t.stages = t.stages.With(st.Name, st)
	same := slices.Clone(t.byID.Value(st.ID))
	for i, s := range same {
		if s == old {
			same[i] = st
		}
	}
	t.byID = t.byID.With(st.ID, same)
	for m := range old.methods {
		if _, ok := st.methods[m]; !ok {
			t.byMethod = withoutFromSet(t.byMethod, m, old.Name)
		}
	}
	for m := range st.methods {
		t.byMethod = t.byMethod.With(m, t.byMethod.Value(m).with(st))
	}
	switch {
	case st.fallback != nil:
		t.catchAll = t.catchAll.with(st)
	case old.fallback != nil:
		t.catchAll = t.catchAll.without(old.Name)
	}
}

// withoutFromSet returns byMethod without the stage name in method m's set.
func withoutFromSet(byMethod cowmap.Map[string, stageSet], m, name string) cowmap.Map[string, stageSet] {
	set := byMethod.Value(m).without(name)
	if set.m.Len() == 0 {
		return byMethod.Without(m)
	}
	return byMethod.With(m, set)
}

// remove removes st from t's indexes.
func (t *Table) remove(st *Stage) {
	t.stages = t.stages.Without(st.Name)
	same := slices.DeleteFunc(slices.Clone(t.byID.Value(st.ID)), func(s *Stage) bool { return s == st })
	if len(same) == 0 {
		t.byID = t.byID.Without(st.ID)
	} else {
		t.byID = t.byID.With(st.ID, same)
	}
	for m := range st.methods {
		t.byMethod = withoutFromSet(t.byMethod, m, st.Name)
	}
	if st.fallback != nil {
		t.catchAll = t.catchAll.without(st.Name)
	}
}

// compileEntry compiles a stage and its canary. When only the canary fails,
// it returns the stage without its canary with the error.
func compileEntry(e Entry, schemas *schemaCache) (*Stage, *StageError) {
	name := e.Stage.GetName()
	st, err := compileStage(e.Stage, e.Deployment, false, schemas)
	if err != nil {
		return nil, &StageError{Stage: name, Deployment: e.Deployment.GetName(), Err: err}
	}
	if c := e.Stage.GetCanary(); e.Canary != nil && c.GetPercent() > 0 {
		cs, err := compileStage(e.Stage, e.Canary, true, schemas)
		if err != nil {
			return st, &StageError{Stage: name, Deployment: e.Canary.GetName(), Canary: true, Err: err}
		}
		st.canary, st.canaryPct = cs, c.GetPercent()
	}
	return st, nil
}

// hostOnly returns the lowercase host of a Host header or :authority.
func hostOnly(hostport string) string {
	host := hostport
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// IsMapped reports whether a host (with or without port) has domain mappings.
func (t *Table) IsMapped(hostport string) bool {
	return len(t.domains[hostOnly(hostport)]) > 0
}

// StageForHost returns the stage a domain mapping serves at an escaped
// request path, and the rest of the path after the mapping's base path.
// A base path matches whole segments only: "/orders" matches "/orders" and
// "/orders/1", never "/ordersx".
func (t *Table) StageForHost(hostport, path string) (st *Stage, rest string, ok bool) {
	for _, d := range t.domains[hostOnly(hostport)] {
		if d.basePath == "" {
			return d.stage, path, true
		}
		if path == d.basePath {
			return d.stage, "/", true
		}
		if strings.HasPrefix(path, d.basePath+"/") {
			return d.stage, path[len(d.basePath):], true
		}
	}
	return nil, "", false
}

// stageForAuthority returns the stage a gRPC :authority maps to: the
// mapping of the domain without a base path, or its only mapping.
func (t *Table) stageForAuthority(authority string) *Stage {
	routes := t.domains[hostOnly(authority)]
	for _, d := range routes {
		if d.basePath == "" {
			return d.stage
		}
	}
	if len(routes) == 1 {
		return routes[0].stage
	}
	return nil
}

// StageForAuthority returns the stage a gRPC :authority maps to through a
// domain mapping, or nil.
func (t *Table) StageForAuthority(authority string) *Stage {
	if authority == "" {
		return nil
	}
	return t.stageForAuthority(authority)
}

// StagesMatching returns the stages an x-tollgate-stage value names:
// "apis/a/stages/s", "a/s" or "s" (every API's stage s).
func (t *Table) StagesMatching(hint string) []*Stage { return t.stagesByHint(hint) }

// Stages returns every compiled stage, by name.
func (t *Table) Stages() []*Stage {
	out := make([]*Stage, 0, t.stages.Len())
	for _, s := range t.stages.All() {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StagesByID returns the stages with an ID, in API name order.
func (t *Table) StagesByID(id string) []*Stage { return t.byID.Value(id) }

// ResolveGRPC finds the route of a gRPC call. hint is the value of the
// x-tollgate-stage metadata entry, or ""; authority is the call's
// :authority, which selects a stage through a domain mapping when there is
// no hint.
func (t *Table) ResolveGRPC(fullMethod, hint, authority string) (*Route, error) {
	var candidates []*Stage
	if hint == "" && authority != "" {
		if st := t.stageForAuthority(authority); st != nil {
			hint = st.Name
		}
	}
	if hint != "" {
		candidates = t.stagesByHint(hint)
		if len(candidates) == 0 {
			return nil, fmt.Errorf("%w: no deployed stage %q", ErrNoRoute, hint)
		}
	} else {
		candidates = t.byMethod.Value(fullMethod).stages()
		if len(candidates) == 0 {
			candidates = t.catchAll.stages()
		}
	}
	// Stages that name the method win over schema-less stages that would
	// proxy any method to their default integration.
	var found []*Stage
	var route *Route
	for _, s := range candidates {
		if r, ok := s.explicit(fullMethod); ok {
			found = append(found, s)
			route = r
		}
	}
	if len(found) == 0 {
		for _, s := range candidates {
			if s.fallback != nil {
				found = append(found, s)
				route = s.fallback
			}
		}
	}
	switch len(found) {
	case 0:
		if hint != "" {
			return nil, fmt.Errorf("%w: stage %q does not serve %s", ErrNoRoute, hint, fullMethod)
		}
		return nil, fmt.Errorf("%w: no deployed API has the method %s", ErrNoRoute, fullMethod)
	case 1:
		if c := found[0].PickCanary(); c != found[0] {
			if r, ok := c.Method(fullMethod); ok {
				return r, nil
			}
		}
		return route, nil
	}
	names := make([]string, len(found))
	for i, s := range found {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("%w: %s is served by %s; choose one with the x-tollgate-stage metadata entry", ErrAmbiguous, fullMethod, strings.Join(names, ", "))
}

// stagesByHint resolves "apis/a/stages/s", "a/s" or "s".
func (t *Table) stagesByHint(hint string) []*Stage {
	if s, ok := t.stages.Get(hint); ok {
		return []*Stage{s}
	}
	if api, stage, ok := strings.Cut(hint, "/"); ok && !strings.Contains(stage, "/") {
		if s, ok := t.stages.Get("apis/" + api + "/stages/" + stage); ok {
			return []*Stage{s}
		}
		return nil
	}
	return t.byID.Value(hint)
}

// schema is one descriptor set, linked.
type schema struct {
	set      []byte // the serialized FileDescriptorSet
	hash     uint64 // maphash of set
	files    *protoregistry.Files
	services []protoreflect.ServiceDescriptor
}

// hashSeed seeds the content hashes of descriptor sets. A hash only finds
// candidates: a schema is shared only when the bytes are equal too.
var hashSeed = maphash.MakeSeed()

// schemaCache holds linked descriptor sets by the hash of their bytes,
// for one Compile: the schemas of the stages it compiles, and those of
// the previous table, looked up lazily (a changed stage seeds its own
// previous schema, so that a change that keeps its descriptors never
// looks at the other stages).
type schemaCache struct {
	m       map[uint64][]*schema
	prev    *Table
	scanned bool
}

func (c *schemaCache) add(sc *schema) {
	for _, have := range c.m[sc.hash] {
		if have == sc {
			return
		}
	}
	c.m[sc.hash] = append(c.m[sc.hash], sc)
}

// seed adds the schemas of a stage and its canary.
func (c *schemaCache) seed(st *Stage) {
	if st == nil {
		return
	}
	for _, s := range []*Stage{st, st.canary} {
		if s != nil && s.schema != nil {
			c.add(s.schema)
		}
	}
}

func (c *schemaCache) find(h uint64, set []byte) *schema {
	for _, sc := range c.m[h] {
		if bytes.Equal(sc.set, set) {
			return sc
		}
	}
	return nil
}

// link returns the linked descriptors of a serialized descriptor set: a
// schema with the same bytes if the cache or the previous table has one,
// else a new one, added.
func (c *schemaCache) link(set []byte) (*schema, error) {
	h := maphash.Bytes(hashSeed, set)
	if sc := c.find(h, set); sc != nil {
		return sc, nil
	}
	if !c.scanned && c.prev != nil {
		c.scanned = true
		for _, st := range c.prev.stages.All() {
			c.seed(st)
		}
		if sc := c.find(h, set); sc != nil {
			return sc, nil
		}
	}
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		return nil, fmt.Errorf("decode descriptors: %w", err)
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		return nil, fmt.Errorf("link descriptors: %w", err)
	}
	sc := &schema{set: set, hash: h, files: files}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sc.services = append(sc.services, fd.Services().Get(i))
		}
		return true
	})
	sort.Slice(sc.services, func(i, j int) bool { return sc.services[i].FullName() < sc.services[j].FullName() })
	c.add(sc)
	return sc, nil
}

// withoutDescriptors returns snap with its API's descriptor set left out
// (shallow copies: the fields are shared), so that a compiled stage does
// not keep its own copy of bytes its shared schema holds.
func withoutDescriptors(snap *adminv1.ApiSnapshot) *adminv1.ApiSnapshot {
	if snap.GetApi().GetFileDescriptorSet() == nil {
		return snap
	}
	api := &adminv1.Api{}
	dst := api.ProtoReflect()
	snap.GetApi().ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() != "file_descriptor_set" {
			dst.Set(fd, v)
		}
		return true
	})
	out := &adminv1.ApiSnapshot{}
	o := out.ProtoReflect()
	snap.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		o.Set(fd, v)
		return true
	})
	out.Api = api
	return out
}

// compileStage builds the routes of one stage from one deployment. schemas
// shares linked descriptors by content; compileStage adds to it.
func compileStage(cfg *adminv1.Stage, dep *adminv1.Deployment, canary bool, schemas *schemaCache) (*Stage, error) {
	snap := dep.GetSnapshot()
	if snap.GetApi() == nil {
		return nil, fmt.Errorf("deployment %s has no snapshot", dep.GetName())
	}
	vars := cfg.GetVariables()
	if canary && len(cfg.GetCanary().GetVariableOverrides()) > 0 {
		vars = make(map[string]string, len(cfg.GetVariables()))
		for k, v := range cfg.GetVariables() {
			vars[k] = v
		}
		for k, v := range cfg.GetCanary().GetVariableOverrides() {
			vars[k] = v
		}
	}
	name := cfg.GetName()
	st := &Stage{
		API:         snap.GetApi().GetName(),
		Name:        name,
		ID:          name[strings.LastIndexByte(name, '/')+1:],
		Deployment:  dep.GetName(),
		IsCanary:    canary,
		Config:      cfg,
		Snapshot:    snap,
		Variables:   vars,
		methods:     map[string]*Route{},
		wildcards:   map[string]*Route{},
		Authorizers: map[string]*adminv1.Authorizer{},
		http:        map[string]*pathtemplate.Set{},
	}
	if b := snap.GetApi().GetFileDescriptorSet(); b != nil {
		sc, err := schemas.link(b)
		if err != nil {
			return nil, err
		}
		st.schema, st.Files, st.Services = sc, sc.files, sc.services
		st.Snapshot = withoutDescriptors(snap)
	}
	for _, a := range snap.GetAuthorizers() {
		st.Authorizers[a.GetName()] = resolveAuthorizer(a, vars)
	}
	// The API's and the stage's IP policies apply to every route: compiled
	// once, shared by the routes, which add their own levels.
	base, err := compileIPPolicy(nil, snap.GetApi().GetIpPolicy(), cfg.GetIpPolicy())
	if err != nil {
		return nil, err
	}
	st.ipPolicy = base
	corsConfig := cfg.GetCors()
	if corsConfig == nil {
		corsConfig = snap.GetApi().GetCors()
	}
	if st.CORS, err = cors.Compile(corsConfig); err != nil {
		return nil, err
	}
	var routeErr error
	def := snap.GetApi().GetDefaultIntegration()
	// The routes without their own integration (and the methods no route
	// names) share one substituted copy of the default integration: one
	// clone per stage, not per route.
	substituted := map[*adminv1.Integration]*adminv1.Integration{}
	subst := func(in *adminv1.Integration) *adminv1.Integration {
		out, ok := substituted[in]
		if !ok {
			out = substitute(in, vars)
			substituted[in] = out
		}
		return out
	}
	newRoute := func(r *adminv1.Route) *Route {
		in := r.GetIntegration()
		if in == nil {
			in = def
		}
		timeout := DefaultTimeout
		if d := r.GetTimeout(); d != nil {
			timeout = d.AsDuration()
		}
		idle := DefaultStreamIdleTimeout
		if d := r.GetStreamIdleTimeout(); d != nil {
			idle = d.AsDuration()
		}
		id := r.GetName()[strings.LastIndexByte(r.GetName(), '/')+1:]
		pol, err := compileIPPolicy(base, cfg.GetRouteSettings()[id].GetIpPolicy(), r.GetIpPolicy())
		if err != nil && routeErr == nil {
			routeErr = fmt.Errorf("route %s: %w", r.GetName(), err)
		}
		return &Route{
			Stage: st, Config: r, Integration: subst(in), Key: id, ThrottleKey: name + "|" + id,
			Timeout: timeout, StreamIdleTimeout: idle, MaxStreamDuration: r.GetMaxStreamDuration().AsDuration(),
			IPPolicy: pol,
		}
	}
	for _, r := range snap.GetRoutes() {
		switch m := r.GetMatch().(type) {
		case *adminv1.Route_GrpcMethod:
			if strings.HasSuffix(m.GrpcMethod, "/*") {
				st.wildcards[strings.TrimSuffix(m.GrpcMethod, "*")] = newRoute(r)
			} else {
				st.methods[m.GrpcMethod] = newRoute(r)
			}
		case *adminv1.Route_Http:
			tpl, err := pathtemplate.Parse(m.Http.GetPath())
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", r.GetName(), err)
			}
			rt := newRoute(r)
			rt.Template = tpl
			st.httpList = append(st.httpList, rt)
			set := st.http[m.Http.GetMethod()]
			if set == nil {
				set = &pathtemplate.Set{}
				st.http[m.Http.GetMethod()] = set
			}
			if err := set.Add(tpl, rt); err != nil {
				return nil, fmt.Errorf("route %s: %w", r.GetName(), err)
			}
		}
	}
	if snap.GetApi().GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET {
		if err := compileWebSocket(st, snap, newRoute); err != nil {
			return nil, err
		}
		if routeErr != nil {
			return nil, routeErr
		}
		st.compileFacts()
		return st, nil
	}
	// Every method of the descriptors is served: by its route, its
	// service's wildcard route, or the default integration.
	for _, svc := range st.Services {
		for i := range svc.Methods().Len() {
			md := svc.Methods().Get(i)
			full := "/" + string(svc.FullName()) + "/" + string(md.Name())
			var rt *Route
			if r, ok := st.methods[full]; ok {
				rt = r
			} else if r, ok := st.wildcards["/"+string(svc.FullName())+"/"]; ok {
				copied := *r
				rt = &copied
			} else if def != nil {
				rt = &Route{Stage: st, Integration: subst(def), Timeout: DefaultTimeout, StreamIdleTimeout: DefaultStreamIdleTimeout, Key: full, ThrottleKey: name + "|" + full, IPPolicy: base}
			} else {
				continue
			}
			rt.Method = md
			rt.Unary = !md.IsStreamingClient() && !md.IsStreamingServer()
			rt.NoSideEffects = methodNoSideEffects(md)
			rt.ValidateRequest = st.Snapshot.GetApi().GetValidateRequests()
			if rt.Config != nil && rt.Config.ValidateRequest != nil {
				rt.ValidateRequest = rt.Config.GetValidateRequest()
			}
			st.methods[full] = rt
		}
	}
	apiID := st.API[strings.LastIndexByte(st.API, '/')+1:]
	for full, rt := range st.methods {
		rt.GRPCResource = apiID + "/" + st.ID + "/GRPC" + full
	}
	if st.Files == nil && def != nil {
		st.fallback = &Route{Stage: st, Integration: subst(def), Timeout: DefaultTimeout, StreamIdleTimeout: DefaultStreamIdleTimeout, Key: "*", ThrottleKey: name + "|*", IPPolicy: base}
	}
	// A stage is served whole or not at all, so that a policy that cannot
	// be compiled never silently admits a caller.
	if routeErr != nil {
		return nil, routeErr
	}
	st.compileFacts()
	return st, nil
}

// compileIPPolicy appends the compiled rules of the levels that set an IP
// policy to base, without changing base.
func compileIPPolicy(base ipacl.Policy, levels ...*adminv1.IpPolicy) (ipacl.Policy, error) {
	out := base
	for _, l := range levels {
		if len(l.GetAllow()) == 0 && len(l.GetDeny()) == 0 {
			continue
		}
		r, err := ipacl.Compile(l.GetAllow(), l.GetDeny())
		if err != nil {
			return nil, fmt.Errorf("ip policy: %w", err)
		}
		out = append(slices.Clip(out), r)
	}
	return out, nil
}

// methodNoSideEffects reports whether a method's options mark it
// idempotency_level = NO_SIDE_EFFECTS.
func methodNoSideEffects(md protoreflect.MethodDescriptor) bool {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	return ok && opts.GetIdempotencyLevel() == descriptorpb.MethodOptions_NO_SIDE_EFFECTS
}

// resolveAuthorizer returns a custom authorizer with ${stageVariables.NAME}
// replaced in its callout target, as integrations are: resolved once per
// compiled stage, never per call. A custom authorizer is always copied, so
// that each stage has its own message (and, in the data plane, its own
// policy cache); other authorizers are returned as they are.
func resolveAuthorizer(a *adminv1.Authorizer, vars map[string]string) *adminv1.Authorizer {
	if a.GetCustom() == nil {
		return a
	}
	out := proto.CloneOf(a)
	switch co := out.GetCustom().GetCallout().(type) {
	case *adminv1.CustomAuthorizer_Grpc:
		co.Grpc.Target = expand(co.Grpc.GetTarget(), vars)
	case *adminv1.CustomAuthorizer_Http:
		co.Http.Uri = expand(co.Http.GetUri(), vars)
	}
	return out
}

// expand replaces ${stageVariables.NAME} in s.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return stagevars.Expand(s, func(name string) string { return vars[name] })
}

// substitute returns in with ${stageVariables.NAME} replaced in its targets.
func substitute(in *adminv1.Integration, vars map[string]string) *adminv1.Integration {
	if in == nil {
		return nil
	}
	repl := func(s string) string { return expand(s, vars) }
	out := proto.Clone(in).(*adminv1.Integration)
	if g := out.GetGrpc(); g != nil {
		g.Target = repl(g.GetTarget())
		for _, t := range g.GetTargets() {
			t.Address = repl(t.GetAddress())
		}
	}
	if h := out.GetHttp(); h != nil {
		h.Uri = repl(h.GetUri())
		for _, t := range h.GetTargets() {
			t.Address = repl(t.GetAddress())
		}
	}
	return out
}
