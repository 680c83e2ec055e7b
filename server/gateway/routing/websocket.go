package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// The route keys every WebSocket API has, whether or not routes name them.
const (
	// ConnectKey is the route of the upgrade request.
	ConnectKey = "$connect"
	// DisconnectKey is the route run once when a connection ends.
	DisconnectKey = "$disconnect"
	// DefaultKey is the route of messages whose key matches no route.
	DefaultKey = "$default"
)

// WebSocket is the compiled routing of a WebSocket API's stage.
type WebSocket struct {
	// Selection chooses a message's route key.
	Selection *SelectionExpression
	// Connect is the $connect route. It always exists: without a
	// $connect route in the API it has no integration, and the upgrade
	// passes only the stage's policies.
	Connect *Route
	// Disconnect is the $disconnect route, or nil.
	Disconnect *Route
	// Default is the $default route, or nil.
	Default *Route

	routes map[string]*Route // custom route keys
}

// Route returns the route of a message: the route of its selected key,
// else $default. It returns false when neither exists.
func (w *WebSocket) Route(message []byte) (*Route, bool) {
	if key, ok := w.Selection.Select(message); ok {
		if r, ok := w.routes[key]; ok {
			return r, true
		}
	}
	return w.Default, w.Default != nil
}

// Routes returns every route of the stage with an integration.
func (w *WebSocket) Routes() []*Route {
	var out []*Route
	for _, r := range []*Route{w.Connect, w.Disconnect, w.Default} {
		if r != nil && r.Integration != nil {
			out = append(out, r)
		}
	}
	for _, r := range w.routes {
		if r.Integration != nil {
			out = append(out, r)
		}
	}
	return out
}

// WebSocket returns the stage's WebSocket routing, or nil for a stage of a
// gRPC/REST API.
func (s *Stage) WebSocket() *WebSocket { return s.ws }

// Stage returns the compiled stage with a resource name, or nil.
func (t *Table) Stage(name string) *Stage { return t.stages[name] }

// compileWebSocket builds the WebSocket routing of a stage. newRoute makes
// a compiled route of an API route.
func compileWebSocket(st *Stage, snap *adminv1.ApiSnapshot, newRoute func(*adminv1.Route) *Route) error {
	sel, err := ParseSelectionExpression(snap.GetApi().GetRouteSelectionExpression())
	if err != nil {
		return err
	}
	ws := &WebSocket{Selection: sel, routes: map[string]*Route{}}
	for _, r := range snap.GetRoutes() {
		key := r.GetWebsocketRouteKey()
		if key == "" {
			continue
		}
		rt := newRoute(r)
		rt.GRPCResource = lastSegmentOf(st.API) + "/" + st.ID + "/" + key
		switch key {
		case ConnectKey:
			ws.Connect = rt
		case DisconnectKey:
			ws.Disconnect = rt
		case DefaultKey:
			ws.Default = rt
		default:
			ws.routes[key] = rt
		}
	}
	if ws.Connect == nil {
		ws.Connect = &Route{Stage: st, Timeout: DefaultTimeout, Key: ConnectKey, ThrottleKey: st.Name + "|" + ConnectKey,
			GRPCResource: lastSegmentOf(st.API) + "/" + st.ID + "/" + ConnectKey}
	}
	st.ws = ws
	return nil
}

// lastSegmentOf returns the ID at the end of a resource name.
func lastSegmentOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// SelectionExpression is a compiled route selection expression,
// "$request.body.a.b" or "${request.body.a.b}": the path of a JSON field of
// each message, whose value is the message's route key.
type SelectionExpression struct {
	path []string
}

// errSelection is the error of an unsupported selection expression.
var errSelection = errors.New(`a route selection expression must be "$request.body.FIELD" (FIELD may be a dotted path)`)

// ParseSelectionExpression compiles a route selection expression.
func ParseSelectionExpression(expr string) (*SelectionExpression, error) {
	s := expr
	if strings.HasPrefix(s, "${") {
		if !strings.HasSuffix(s, "}") {
			return nil, fmt.Errorf("%w: %q has no closing brace", errSelection, expr)
		}
		s = "$" + s[2:len(s)-1]
	}
	rest, ok := strings.CutPrefix(s, "$request.body.")
	if !ok {
		return nil, fmt.Errorf("%w: got %q", errSelection, expr)
	}
	path := strings.Split(rest, ".")
	for _, p := range path {
		if !isIdentifier(p) {
			return nil, fmt.Errorf("%w: %q is not a field name", errSelection, p)
		}
	}
	return &SelectionExpression{path: path}, nil
}

// isIdentifier reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// String returns the expression in its "$request.body.x" form.
func (e *SelectionExpression) String() string {
	return "$request.body." + strings.Join(e.path, ".")
}

// Select evaluates the expression on a message. The key is the selected
// field's value when the message is a JSON object and the field a string,
// number or boolean (numbers and booleans as written); otherwise there is
// no key and the message goes to $default.
func (e *SelectionExpression) Select(message []byte) (string, bool) {
	raw := json.RawMessage(message)
	for _, name := range e.path {
		v, ok := field(raw, name)
		if !ok {
			return "", false
		}
		raw = v
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case 't', 'f':
		return string(raw), true
	case '{', '[', 'n':
		return "", false
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
		return "", false
	}
	return string(raw), true
}

// field returns the raw value of a member of a JSON object, scanning the
// object's members without decoding their values.
func field(obj json.RawMessage, name string) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var found json.RawMessage
	ok := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if key == name && !ok {
			found, ok = v, true
		}
	}
	// The whole message must be JSON, as Amazon API Gateway requires.
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if len(bytes.TrimSpace(obj[dec.InputOffset():])) > 0 {
		return nil, false // trailing data
	}
	return found, ok
}
