package serviceconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/api/serviceconfig"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
)

// MaxSize is the largest service config accepted, in bytes.
const MaxSize = 1 << 20

// serviceType is the only `type` a service config may declare.
const serviceType = "google.api.Service"

// Rule is one entry of the config's http.rules.
type Rule struct {
	// Index is the rule's position in http.rules, for error messages.
	Index int
	// Selector is the method's full name, "pkg.Service.Method".
	Selector string
	// HTTP is the rule as written, without its selector (selectors of
	// additional bindings are cleared too).
	HTTP *annotations.HttpRule
}

// Field names the rule in the configuration, e.g. `http.rules[2]`.
func (r Rule) Field() string { return fmt.Sprintf("http.rules[%d]", r.Index) }

// Config is the HTTP part of a parsed service config.
type Config struct {
	// Rules are the config's rules in file order.
	Rules []Rule
}

// Error is a service config that cannot be used: Field says where (empty
// for the document as a whole), Msg why.
type Error struct {
	Field string
	Msg   string
}

// Error returns the field and the message.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a google.api.Service YAML document and checks its HTTP rules
// on their own: selectors name one method without wildcards, patterns are
// path templates in grpc-gateway's grammar, GET bindings have no body and
// additional bindings do not nest. Whether the selectors name methods of
// an API is Apply's concern. The error is an *Error.
func Parse(src []byte) (*Config, error) {
	if len(src) > MaxSize {
		return nil, errorf("", "is %d bytes, more than the %d allowed", len(src), MaxSize)
	}
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, errorf("", "is not valid YAML: %v", err)
	}
	if doc == nil {
		return nil, errorf("", "is empty: expected a google.api.Service document with http.rules")
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errorf("", "must be a YAML mapping (a google.api.Service document), not %T", doc)
	}
	// type is the document's header, not a field of google.api.Service.
	m := doc.(map[string]any)
	if t, ok := m["type"]; ok {
		// grpc-gateway ignores it; another type is a sign of the wrong file.
		if t != serviceType {
			return nil, errorf("type", "must be %q, not %q", serviceType, fmt.Sprint(t))
		}
		delete(m, "type")
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, errorf("", "cannot be read as JSON: %v", err)
	}
	var svc serviceconfig.Service
	if err := protojson.Unmarshal(js, &svc); err != nil {
		return nil, errorf("", "is not a google.api.Service: %v", cleanProtoErr(err))
	}
	if v := svc.GetConfigVersion(); v != nil && v.GetValue() != 3 {
		return nil, errorf("config_version", "must be 3, not %d", v.GetValue())
	}
	cfg := &Config{}
	for i, r := range svc.GetHttp().GetRules() {
		rule := Rule{Index: i, Selector: strings.Trim(r.GetSelector(), " ")}
		field := rule.Field()
		if err := checkSelector(rule.Selector); err != nil {
			return nil, errorf(field+".selector", "%q %s", r.GetSelector(), err)
		}
		if err := checkBinding(r); err != nil {
			return nil, errorf(field, "(selector %s) %s", rule.Selector, err)
		}
		for j, add := range r.GetAdditionalBindings() {
			f := fmt.Sprintf("%s.additional_bindings[%d]", field, j)
			if len(add.GetAdditionalBindings()) > 0 {
				return nil, errorf(f, "(selector %s) an additional binding must not have additional_bindings", rule.Selector)
			}
			if add.GetSelector() != "" {
				return nil, errorf(f+".selector", "(selector %s) an additional binding must not have a selector: it binds its rule's method", rule.Selector)
			}
			if err := checkBinding(add); err != nil {
				return nil, errorf(f, "(selector %s) %s", rule.Selector, err)
			}
		}
		rule.HTTP = proto.Clone(r).(*annotations.HttpRule)
		rule.HTTP.Selector = ""
		cfg.Rules = append(cfg.Rules, rule)
	}
	return cfg, nil
}

// cleanProtoErr drops protojson's "proto:" prefix and its non-breaking
// spaces, which read as noise in an API error.
func cleanProtoErr(err error) string {
	s := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	return strings.TrimPrefix(strings.TrimPrefix(s, "proto:"), " ")
}

// checkSelector refuses what grpc-gateway refuses (wildcards, lists) and
// what could never name a method.
func checkSelector(sel string) error {
	switch {
	case sel == "":
		return errors.New("is empty: name the method, e.g. pkg.v1.Service.Method")
	case strings.ContainsAny(sel, "*, "):
		return errors.New("must name a single method without wildcards, e.g. pkg.v1.Service.Method")
	case strings.HasPrefix(sel, "."):
		return errors.New("must not start with a dot: write pkg.v1.Service.Method")
	case !strings.Contains(sel, "."):
		return errors.New("must be the method's full name, Service.Method with the service's package, e.g. pkg.v1.Service.Method")
	}
	for _, part := range strings.Split(sel, ".") {
		if !isIdent(part) {
			return fmt.Errorf("is not a full method name: %q is not an identifier", part)
		}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkBinding checks one rule's pattern as grpc-gateway's generator
// would. A rule without a pattern is allowed (grpc-gateway skips it; its
// additional bindings still count).
func checkBinding(r *annotations.HttpRule) error {
	verb, path := pattern(r)
	if verb == "" && path == "" {
		return nil
	}
	if verb == "" {
		return fmt.Errorf("custom pattern %q has no kind", path)
	}
	if path == "" {
		return fmt.Errorf("%s pattern has no path", verb)
	}
	if _, err := pathtemplate.Parse(path); err != nil {
		return fmt.Errorf("binding %s %s: %v", verb, path, err)
	}
	if verb == "GET" && r.GetBody() != "" {
		return fmt.Errorf("binding %s %s: a GET binding must not have a body", verb, path)
	}
	return nil
}

// pattern returns a rule's HTTP method and path template.
func pattern(r *annotations.HttpRule) (verb, path string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// Apply writes cfg's rules into the google.api.http options of the
// methods of set, merged with each method's own annotation the way
// grpc-gateway merges them: the method's rules from cfg in file order,
// then its annotation, each followed by its additional bindings. The
// result is one HttpRule whose first binding is the first of that list
// and whose additional_bindings are the rest, so that any reader of the
// option sees the same bindings in the same order. A selector that names
// no method of set is an *Error naming the rule. set is changed in place.
func (cfg *Config) Apply(set *descriptorpb.FileDescriptorSet) error {
	if cfg == nil || len(cfg.Rules) == 0 {
		return nil
	}
	methods := map[string]*descriptorpb.MethodDescriptorProto{}
	for _, f := range set.GetFile() {
		prefix := ""
		if p := f.GetPackage(); p != "" {
			prefix = p + "."
		}
		for _, s := range f.GetService() {
			for _, m := range s.GetMethod() {
				methods[prefix+s.GetName()+"."+m.GetName()] = m
			}
		}
	}
	byMethod := map[string][]*annotations.HttpRule{}
	var order []string
	for _, r := range cfg.Rules {
		if methods[r.Selector] == nil {
			return errorf(r.Field()+".selector", "%q names no method of the API's descriptors", r.Selector)
		}
		if byMethod[r.Selector] == nil {
			order = append(order, r.Selector)
		}
		byMethod[r.Selector] = append(byMethod[r.Selector], r.HTTP)
	}
	for _, sel := range order {
		m := methods[sel]
		if m.Options == nil {
			m.Options = &descriptorpb.MethodOptions{}
		}
		list := byMethod[sel]
		if proto.HasExtension(m.Options, annotations.E_Http) {
			own, ok := proto.GetExtension(m.Options, annotations.E_Http).(*annotations.HttpRule)
			if ok && own != nil {
				list = append(list[:len(list):len(list)], own)
			}
		}
		proto.SetExtension(m.Options, annotations.E_Http, flatten(list))
	}
	return nil
}

// flatten joins rules into one: the first rule's binding, then every
// other binding (each rule's own and its additional ones, in order) as
// additional bindings.
func flatten(rules []*annotations.HttpRule) *annotations.HttpRule {
	out := proto.Clone(rules[0]).(*annotations.HttpRule)
	out.AdditionalBindings = nil
	add := func(r *annotations.HttpRule) {
		c := proto.Clone(r).(*annotations.HttpRule)
		c.AdditionalBindings = nil
		c.Selector = ""
		out.AdditionalBindings = append(out.AdditionalBindings, c)
	}
	for i, r := range rules {
		if i > 0 {
			add(r)
		}
		for _, a := range r.GetAdditionalBindings() {
			add(a)
		}
	}
	return out
}

// ApplySet is Apply on a serialized FileDescriptorSet: it parses src,
// merges its rules into set and returns the set serialized again
// (deterministically). An empty src returns set unchanged.
func ApplySet(set []byte, src string) ([]byte, error) {
	if src == "" {
		return set, nil
	}
	cfg, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		return nil, fmt.Errorf("decode descriptors: %w", err)
	}
	if err := cfg.Apply(&fds); err != nil {
		return nil, err
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fds)
	if err != nil {
		return nil, fmt.Errorf("encode descriptors: %w", err)
	}
	return out, nil
}
