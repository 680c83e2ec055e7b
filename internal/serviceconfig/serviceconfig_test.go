package serviceconfig_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
)

const echo = "tollgate.example.v1.EchoService"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, field, msg string
	}{
		{"not yaml", "http: [", "", "is not valid YAML"},
		{"empty", "", "", "is empty"},
		{"scalar", "hello", "", "must be a YAML mapping"},
		{"wrong type", "type: google.api.Other\n", "type", `must be "google.api.Service"`},
		{"config version", "type: google.api.Service\nconfig_version: 2\n", "config_version", "must be 3"},
		{"unknown field", "type: google.api.Service\nhttp:\n  rule: []\n", "", `unknown field "rule"`},
		{"wildcard", "http:\n  rules:\n  - selector: pkg.Svc.*\n    get: /v1/x\n", "http.rules[0].selector", "without wildcards"},
		{"list", "http:\n  rules:\n  - selector: pkg.Svc.A,pkg.Svc.B\n    get: /v1/x\n", "http.rules[0].selector", "without wildcards"},
		{"no selector", "http:\n  rules:\n  - get: /v1/x\n", "http.rules[0].selector", "is empty"},
		{"leading dot", "http:\n  rules:\n  - selector: .pkg.Svc.M\n    get: /v1/x\n", "http.rules[0].selector", "must not start with a dot"},
		{"bad template", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: /v1/{name=a/{b}}\n", "http.rules[0]", "binding GET /v1/{name=a/{b}}"},
		{"no leading slash", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: v1/x\n", "http.rules[0]", "binding GET v1/x"},
		{"get with body", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: /v1/x\n    body: '*'\n", "http.rules[0]", "must not have a body"},
		{"custom without kind", "http:\n  rules:\n  - selector: pkg.Svc.M\n    custom: {path: /v1/x}\n", "http.rules[0]", "has no kind"},
		{"nested additional", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: /v1/x\n    additional_bindings:\n    - get: /v1/y\n      additional_bindings: [{get: /v1/z}]\n", "http.rules[0].additional_bindings[0]", "must not have additional_bindings"},
		{"bad additional", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: /v1/x\n    additional_bindings:\n    - post: /v1/{a\n", "http.rules[0].additional_bindings[0]", "binding POST /v1/{a"},
		{"second rule", "http:\n  rules:\n  - selector: pkg.Svc.M\n    get: /v1/x\n  - selector: pkg.Svc.N\n    put: ''\n", "http.rules[1]", "PUT pattern has no path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := serviceconfig.Parse([]byte(tc.yaml))
			var se *serviceconfig.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, want a *serviceconfig.Error", err)
			}
			if se.Field != tc.field || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse = field %q msg %q, want field %q msg containing %q", se.Field, se.Msg, tc.field, tc.msg)
			}
		})
	}
}

func TestParseAcceptsServiceConfig(t *testing.T) {
	// An ESP service config: fields other than http are read and ignored.
	src := `
type: google.api.Service
config_version: 3
name: echo.endpoints.example.com
title: Echo
apis:
- name: tollgate.example.v1.EchoService
usage:
  rules:
  - selector: "*"
    allow_unregistered_calls: true
http:
  rules:
  - selector: " tollgate.example.v1.EchoService.Echo "
    post: /v2/echo
    body: "*"
    additionalBindings:
    - get: /v2/echo/{message}
`
	cfg, err := serviceconfig.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []serviceconfig.Rule{{
		Index:    0,
		Selector: echo + ".Echo",
		HTTP: &annotations.HttpRule{
			Pattern: &annotations.HttpRule_Post{Post: "/v2/echo"}, Body: "*",
			AdditionalBindings: []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Get{Get: "/v2/echo/{message}"}}},
		},
	}}
	if diff := cmp.Diff(want, cfg.Rules, protocmp.Transform()); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

// methodRule returns the google.api.http option of a method of set.
func methodRule(t *testing.T, set *descriptorpb.FileDescriptorSet, svc, method string) *annotations.HttpRule {
	t.Helper()
	for _, f := range set.GetFile() {
		for _, s := range f.GetService() {
			if f.GetPackage()+"."+s.GetName() != svc {
				continue
			}
			for _, m := range s.GetMethod() {
				if m.GetName() == method {
					r, _ := proto.GetExtension(m.GetOptions(), annotations.E_Http).(*annotations.HttpRule)
					return r
				}
			}
		}
	}
	t.Fatalf("no method %s.%s", svc, method)
	return nil
}

func get(p string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: p}}
}
func post(p string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: p}, Body: "*"}
}

// TestApplyMergesAsGrpcGateway checks the order grpc-gateway's registry
// gives a method's bindings (services.go: LookupExternalHTTPRules, then
// the annotation; each rule, then its additional bindings) survives the
// flattening into one option.
func TestApplyMergesAsGrpcGateway(t *testing.T) {
	src := `
type: google.api.Service
config_version: 3
http:
  rules:
  - selector: tollgate.example.v1.EchoService.Echo
    get: /v2/echo/{message}
    additional_bindings:
    - post: /v2/echo
      body: "*"
  - selector: tollgate.example.v1.EchoService.EchoClientStream
    post: /v2/echo:collect
    body: "*"
  - selector: tollgate.example.v1.EchoService.Echo
    get: /v3/echo/{message}
`
	cfg, err := serviceconfig.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	set := examplebackend.FileDescriptorSet()
	if err := cfg.Apply(set); err != nil {
		t.Fatal(err)
	}
	wantEcho := get("/v2/echo/{message}")
	wantEcho.AdditionalBindings = []*annotations.HttpRule{post("/v2/echo"), get("/v3/echo/{message}"), post("/v1/echo")}
	if diff := cmp.Diff(wantEcho, methodRule(t, set, echo, "Echo"), protocmp.Transform()); diff != "" {
		t.Errorf("Echo's rule (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(post("/v2/echo:collect"), methodRule(t, set, echo, "EchoClientStream"), protocmp.Transform()); diff != "" {
		t.Errorf("EchoClientStream's rule (-want +got):\n%s", diff)
	}
	// Methods the config does not name keep their annotation.
	if diff := cmp.Diff(post("/v1/echo:stream"), methodRule(t, set, echo, "EchoServerStream"), protocmp.Transform()); diff != "" {
		t.Errorf("EchoServerStream's rule (-want +got):\n%s", diff)
	}
}

func TestApplyUnknownSelector(t *testing.T) {
	cfg, err := serviceconfig.Parse([]byte("http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    get: /a\n  - selector: tollgate.example.v1.EchoService.Nope\n    get: /b\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Apply(examplebackend.FileDescriptorSet())
	var se *serviceconfig.Error
	if !errors.As(err, &se) || se.Field != "http.rules[1].selector" || !strings.Contains(se.Msg, `"tollgate.example.v1.EchoService.Nope" names no method`) {
		t.Fatalf("Apply = %v, want http.rules[1].selector naming the selector", err)
	}
}

func TestApplySetRoundTrip(t *testing.T) {
	b, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	same, err := serviceconfig.ApplySet(b, "")
	if err != nil || string(same) != string(b) {
		t.Fatalf("ApplySet with no config changed the set (err %v)", err)
	}
	out, err := serviceconfig.ApplySet(b, "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.EchoBidiStream\n    post: /v2/echo:chat\n    body: '*'\n")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(out, &set); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(post("/v2/echo:chat"), methodRule(t, &set, echo, "EchoBidiStream"), protocmp.Transform()); diff != "" {
		t.Errorf("EchoBidiStream's rule (-want +got):\n%s", diff)
	}
}

// BenchmarkApplySet measures what a deployment of an API with a service
// config pays at write time: parse the YAML, decode, merge and re-encode
// the descriptors (the example API's, with its imports).
func BenchmarkApplySet(b *testing.B) {
	set, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		b.Fatal(err)
	}
	src := "type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n" +
		"  - selector: tollgate.example.v1.EchoService.Echo\n    get: /v2/echo/{message}\n    additional_bindings:\n    - post: /v2/echo\n      body: '*'\n" +
		"  - selector: tollgate.example.v1.BookstoreService.ListShelves\n    get: /v2/shelves\n"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := serviceconfig.ApplySet(set, src); err != nil {
			b.Fatal(err)
		}
	}
}
