package routing

// This file is the one part of WebSocket APIs that routing keeps: the
// compiled routes of a WebSocket stage (its route keys and route selection
// expression). They are compiled with every other route of the table, once
// per deployment, and choosing a message's route is routing; everything
// else of WebSocket APIs (connections, timers, the callback API, calling
// integrations) is package websocket, which imports this one, never the
// other way.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
func (t *Table) Stage(name string) *Stage { return t.stages.Value(name) }

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
		ws.Connect = &Route{Stage: st, Timeout: DefaultTimeout, Key: ConnectKey, ThrottleKey: st.Name + "|" + ConnectKey, IPPolicy: st.ipPolicy,
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
// no key and the message goes to $default. Of a repeated member, the first
// counts.
//
// The message is validated once (json.Valid) and then scanned in place:
// no decoding, and no allocation unless the key has escapes.
func (e *SelectionExpression) Select(message []byte) (string, bool) {
	if !json.Valid(message) {
		return "", false
	}
	raw := message
	for _, name := range e.path {
		v, ok := member(raw, name)
		if !ok {
			return "", false
		}
		raw = v
	}
	switch raw[0] {
	case '"':
		s := raw[1 : len(raw)-1]
		if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return string(s), true
		}
		var out string
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", false
		}
		return out, true
	case '{', '[', 'n':
		return "", false
	}
	return string(raw), true // a number, true or false
}

// member returns the value of the first member called name of the JSON
// object v (valid JSON, possibly surrounded by spaces), or false when v is
// not an object or has no such member.
func member(v []byte, name string) ([]byte, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(v, i)
		if v[i] == '}' {
			return nil, false
		}
		keyEnd := skipString(v, i)
		key := v[i+1 : keyEnd-1]
		i = skipSpace(v, keyEnd) + 1 // past ':'
		i = skipSpace(v, i)
		end := skipValue(v, i)
		if keyEquals(key, name) {
			return v[i:end], true
		}
		i = skipSpace(v, end)
		if v[i] == '}' {
			return nil, false
		}
		i++ // past ','
	}
}

// keyEquals compares a raw JSON member name with a field name.
func keyEquals(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	return json.Unmarshal(q, &s) == nil && s == name
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at i.
func skipString(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the (valid) value starting at i.
func skipValue(v []byte, i int) int {
	switch v[i] {
	case '"':
		return skipString(v, i)
	case '{', '[':
		depth := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '"':
				i = skipString(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(v) && !strings.ContainsRune(",}] \t\n\r", rune(v[i])) {
		i++
	}
	return i
}
