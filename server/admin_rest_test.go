package server_test

// End-to-end tests of the admin REST API: a real server on loopback ports,
// driven with plain net/http and encoding/json, as a curl user or a script
// would drive it. The gRPC semantics are tested in server/admin; these tests
// check what the REST mapping (grpc-gateway) adds: routes, query parameters,
// JSON names, update masks derived from the body, and error statuses.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// restAPI calls the admin REST API of a test server with its token.
type restAPI struct {
	base   string // "http://host:port"
	auth   string // the Authorization header value
	client *http.Client
}

func newRESTAPI(t *testing.T, ts *testServer) *restAPI {
	return &restAPI{base: "http://" + ts.AdminAddr(), auth: "Bearer " + ts.AdminToken(), client: http1Client(t)}
}

// do sends one authorized request; path includes the query.
func (a *restAPI) do(t *testing.T, method, path, body string) httpResult {
	t.Helper()
	return doHTTP(t, a.client, method, a.base+path, a.auth, body)
}

// ok sends a request that must succeed and returns its JSON object.
func (a *restAPI) ok(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	res := a.do(t, method, path, body)
	if res.status != http.StatusOK {
		t.Fatalf("%s %s %.300s: status %d, want 200; body %.1000s", method, path, body, res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return decodeObject(t, res.body)
}

// fail sends a request that must fail with httpStatus and code.
func (a *restAPI) fail(t *testing.T, method, path, body string, httpStatus int, code codes.Code) rpcStatus {
	t.Helper()
	return wantFailure(t, method+" "+path, a.do(t, method, path, body), httpStatus, code)
}

// wantFailure checks that res is a google.rpc.Status error of httpStatus and code.
func wantFailure(t *testing.T, what string, res httpResult, httpStatus int, code codes.Code) rpcStatus {
	t.Helper()
	if res.status != httpStatus {
		t.Fatalf("%s: status %d, want %d; body %.1000s", what, res.status, httpStatus, res.body)
	}
	st := decodeStatus(t, res.body)
	if st.Code != int(code) {
		t.Fatalf("%s: code %d (%q), want %d (%v)", what, st.Code, st.Message, code, code)
	}
	if st.Message == "" {
		t.Errorf("%s: the error has no message", what)
	}
	return st
}

func decodeObject(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %.300q is not a JSON object: %v", body, err)
	}
	return m
}

// statusDetails returns the details of st whose type is typ, e.g.
// "google.rpc.BadRequest", as JSON objects.
func statusDetails(t *testing.T, st rpcStatus, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range st.Details {
		d := decodeObject(t, string(raw))
		if d["@type"] == "type.googleapis.com/"+typ {
			out = append(out, d)
		}
	}
	return out
}

// violatedFields returns the fields named by the BadRequest details of st.
func violatedFields(t *testing.T, st rpcStatus) []string {
	t.Helper()
	var out []string
	for _, d := range statusDetails(t, st, "google.rpc.BadRequest") {
		fvs, _ := d["fieldViolations"].([]any)
		for _, fv := range fvs {
			if m, ok := fv.(map[string]any); ok {
				f, _ := m["field"].(string)
				out = append(out, f)
			}
		}
	}
	return out
}

// preconditionTypes returns the violation types of the PreconditionFailure
// details of st.
func preconditionTypes(t *testing.T, st rpcStatus) []string {
	t.Helper()
	var out []string
	for _, d := range statusDetails(t, st, "google.rpc.PreconditionFailure") {
		vs, _ := d["violations"].([]any)
		for _, v := range vs {
			if m, ok := v.(map[string]any); ok {
				typ, _ := m["type"].(string)
				out = append(out, typ)
			}
		}
	}
	return out
}

// jsonAt returns the value at a dotted path of JSON object keys.
func jsonAt(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// jsonString returns the string at a dotted path, or "".
func jsonString(m map[string]any, path string) string {
	v, _ := jsonAt(m, path)
	s, _ := v.(string)
	return s
}

// withoutKeys returns a shallow copy of m without keys.
func withoutKeys(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// mergeJSON returns dst with patch merged in: objects are merged key by key,
// everything else is replaced. It is what an update whose mask is derived
// from the patch's fields must do, as long as the patch sets no proto map.
func mergeJSON(dst, patch map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, pv := range patch {
		if pm, ok := pv.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = mergeJSON(dm, pm)
				continue
			}
		}
		out[k] = pv
	}
	return out
}

// listAll lists collection (one page of up to 1000) and returns the items
// under field, e.g. "routes"; an empty list has no such field at all.
// query adds parameters to the call, such as "view=API_VIEW_FULL".
func (a *restAPI) listAll(t *testing.T, collection, field, query string) []map[string]any {
	t.Helper()
	if query != "" {
		query = "&" + query
	}
	resp := a.ok(t, http.MethodGet, collection+"?pageSize=1000"+query, "")
	if tok := jsonString(resp, "nextPageToken"); tok != "" {
		t.Fatalf("GET %s: unexpected second page (%s)", collection, tok)
	}
	raw, _ := resp[field].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			t.Fatalf("GET %s: %s holds %T, want objects", collection, field, it)
		}
		out = append(out, m)
	}
	return out
}

// findByName returns the item named name.
func findByName(items []map[string]any, name string) (map[string]any, bool) {
	for _, it := range items {
		if it["name"] == name {
			return it, true
		}
	}
	return nil, false
}

// descriptorSetBase64 is the example backend's FileDescriptorSet as the
// base64 of a JSON bytes field.
func descriptorSetBase64(t *testing.T) string {
	t.Helper()
	b, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// seedShop creates, over REST, what most tests build on:
//   - the API "shop", with the example schema and a default gRPC integration;
//   - its deployment "v1" and stage "prod" serving it;
//   - the API key "acme";
//   - the usage plan "gold" covering the stage, with a daily quota of 100.
func seedShop(t *testing.T, a *restAPI) {
	t.Helper()
	a.ok(t, http.MethodPost, "/v1/apis?apiId=shop", fmt.Sprintf(
		`{"displayName":"Shop","fileDescriptorSet":%q,"defaultIntegration":{"grpc":{"target":"localhost:50051"}}}`,
		descriptorSetBase64(t)))
	a.ok(t, http.MethodPost, "/v1/apis/shop/deployments?deploymentId=v1", `{"description":"first"}`)
	a.ok(t, http.MethodPost, "/v1/apis/shop/stages?stageId=prod", `{"deployment":"apis/shop/deployments/v1"}`)
	a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=acme", `{"displayName":"Acme"}`)
	a.ok(t, http.MethodPost, "/v1/usagePlans?usagePlanId=gold",
		`{"displayName":"Gold","apiStages":[{"stage":"apis/shop/stages/prod"}],"quota":{"limit":"100","period":"PERIOD_DAY"}}`)
}

// crudCase is the life cycle of one resource over REST.
type crudCase struct {
	name       string
	collection string // e.g. "/v1/apis/shop/routes"
	idParam    string // query parameter carrying the ID; "" when the body names it
	id         string
	create     string // JSON body of the create call
	wantName   string // the resource name the create must return
	listField  string // the list response's field, e.g. "routes"
	listQuery  string // extra query parameters of the list call, e.g. "view=API_VIEW_FULL"
	// fields are the system-managed fields the create response must fill.
	fields []string
	// secret is a field shown by the create response only (ApiKey.value).
	secret string
	// checkCreate checks defaults and content of the create response.
	checkCreate func(t *testing.T, created map[string]any)
	// patch is the JSON body of a PATCH; "" for resources without Update.
	patch string
	// kept are dotted paths of fields the patch does not send, which must
	// be set before the patch and unchanged after it.
	kept []string
}

func TestAdminRESTCRUD(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	fds := descriptorSetBase64(t)

	tests := []crudCase{
		{
			name:       "api",
			collection: "/v1/apis", idParam: "apiId", id: "catalog",
			create: fmt.Sprintf(`{"displayName":"Catalog","description":"All the books","fileDescriptorSet":%q,`+
				`"defaultIntegration":{"http":{"uri":"https://catalog.internal/v1","method":"POST"}}}`, fds),
			wantName:  "apis/catalog",
			listField: "apis",
			listQuery: "view=API_VIEW_FULL", // lists leave descriptor sets out by default
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			checkCreate: func(t *testing.T, c map[string]any) {
				if c["fileDescriptorSet"] != fds {
					t.Errorf("fileDescriptorSet did not round-trip (%d base64 chars, sent %d)", len(jsonString(c, "fileDescriptorSet")), len(fds))
				}
				if c["protocol"] != "PROTOCOL_GRPC_REST" || c["apiKeySource"] != "API_KEY_SOURCE_HEADER" {
					t.Errorf("defaults: protocol %v, apiKeySource %v", c["protocol"], c["apiKeySource"])
				}
			},
			patch: `{"description":"Every book","defaultIntegration":{"http":{"uri":"https://catalog.internal/v2"}}}`,
			kept:  []string{"displayName", "fileDescriptorSet", "protocol", "defaultIntegration.http.method"},
		},
		{
			name:       "route (http)",
			collection: "/v1/apis/shop/routes", idParam: "routeId", id: "get-book-rest",
			create:    `{"description":"Get a book","http":{"method":"GET","path":"/v1/books/{id}"}}`,
			wantName:  "apis/shop/routes/get-book-rest",
			listField: "routes",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			checkCreate: func(t *testing.T, c map[string]any) {
				if c["timeout"] != "29s" || jsonString(c, "authorization.type") != "TYPE_NONE" {
					t.Errorf("defaults: timeout %v, authorization %v", c["timeout"], c["authorization"])
				}
			},
			patch: `{"apiKeyRequired":true,"http":{"path":"/v2/books/{id}"}}`,
			kept:  []string{"description", "http.method", "timeout", "authorization.type"},
		},
		{
			name:       "route (grpc method)",
			collection: "/v1/apis/shop/routes", idParam: "route_id", id: "get-book",
			create:    `{"grpcMethod":"/tollgate.example.v1.BookstoreService/GetBook","cacheKeyParameters":["method.request.header.Accept"]}`,
			wantName:  "apis/shop/routes/get-book",
			listField: "routes",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			patch:     `{"timeout":"5s","integration":{"mock":{"statusCode":418,"body":"teapot"}}}`,
			kept:      []string{"grpcMethod", "cacheKeyParameters"},
		},
		{
			name:       "authorizer (jwt)",
			collection: "/v1/apis/shop/authorizers", idParam: "authorizerId", id: "jwt",
			create:    `{"displayName":"Issuer","jwt":{"issuer":"https://issuer.example","audiences":["shop"],"jwksUri":"https://issuer.example/.well-known/jwks.json"}}`,
			wantName:  "apis/shop/authorizers/jwt",
			listField: "authorizers",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			checkCreate: func(t *testing.T, c map[string]any) {
				src, _ := jsonAt(c, "jwt.identitySources")
				if !cmp.Equal(src, []any{"$request.header.Authorization"}) || jsonString(c, "jwt.leeway") != "60s" {
					t.Errorf("defaults: identitySources %v, leeway %v", src, jsonString(c, "jwt.leeway"))
				}
			},
			patch: `{"jwt":{"audiences":["shop","admin"]}}`,
			kept:  []string{"displayName", "jwt.issuer", "jwt.jwksUri", "jwt.leeway", "jwt.identitySources"},
		},
		{
			name:       "authorizer (custom)",
			collection: "/v1/apis/shop/authorizers", idParam: "authorizerId", id: "token-check",
			create:    `{"displayName":"Token check","custom":{"type":"TYPE_TOKEN","grpc":{"target":"localhost:50052"},"identitySources":["$request.header.Authorization"]}}`,
			wantName:  "apis/shop/authorizers/token-check",
			listField: "authorizers",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			checkCreate: func(t *testing.T, c map[string]any) {
				ttl, _ := jsonAt(c, "custom.resultTtlSeconds")
				if ttl != 300.0 || jsonString(c, "custom.timeout") != "10s" {
					t.Errorf("defaults: resultTtlSeconds %v, timeout %v", ttl, jsonString(c, "custom.timeout"))
				}
			},
			// 0 is a value of the optional TTL (no caching), not "unset".
			patch: `{"custom":{"resultTtlSeconds":0}}`,
			kept:  []string{"displayName", "custom.type", "custom.grpc.target", "custom.timeout", "custom.identitySources"},
		},
		{
			name:       "deployment",
			collection: "/v1/apis/shop/deployments", idParam: "deploymentId", id: "v2",
			create:    `{"description":"second"}`,
			wantName:  "apis/shop/deployments/v2",
			listField: "deployments",
			fields:    []string{"name", "uid", "createTime"},
			checkCreate: func(t *testing.T, c map[string]any) {
				if jsonString(c, "snapshot.api.name") != "apis/shop" || jsonString(c, "snapshot.api.defaultIntegration.grpc.target") != "localhost:50051" {
					t.Errorf("snapshot = %.300v, want the API shop", c["snapshot"])
				}
				if c["description"] != "second" {
					t.Errorf("description = %v", c["description"])
				}
			},
		},
		{
			name:       "stage",
			collection: "/v1/apis/shop/stages", idParam: "stageId", id: "beta",
			create:    `{"description":"Beta","deployment":"apis/shop/deployments/v1","variables":{"host":"beta.internal"}}`,
			wantName:  "apis/shop/stages/beta",
			listField: "stages",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			patch:     `{"description":"Beta 2","defaultThrottle":{"rateLimit":50,"burstLimit":100}}`,
			kept:      []string{"deployment", "variables"},
		},
		{
			name:       "api key (generated value)",
			collection: "/v1/apiKeys", idParam: "apiKeyId", id: "beta-tester",
			create:    `{"displayName":"Beta tester","customerId":"cust-42"}`,
			wantName:  "apiKeys/beta-tester",
			listField: "apiKeys",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			secret:    "value",
			checkCreate: func(t *testing.T, c map[string]any) {
				if v := jsonString(c, "value"); !strings.HasPrefix(v, "tgk_") || len(v) < 40 {
					t.Errorf("generated value = %q, want a tgk_ secret", v)
				}
				if c["enabled"] != true {
					t.Errorf("enabled = %v, want true by default", c["enabled"])
				}
			},
			patch: `{"enabled":false,"description":"paused"}`,
			kept:  []string{"displayName", "customerId"},
		},
		{
			name:       "api key (given value)",
			collection: "/v1/apiKeys", idParam: "apiKeyId", id: "own-value",
			create:    `{"value":"my-own-secret-0123456789abcdef"}`,
			wantName:  "apiKeys/own-value",
			listField: "apiKeys",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			secret:    "value",
			checkCreate: func(t *testing.T, c map[string]any) {
				if c["value"] != "my-own-secret-0123456789abcdef" {
					t.Errorf("value = %v, want the one sent", c["value"])
				}
			},
			patch: `{"displayName":"Own"}`,
			kept:  []string{"enabled"},
		},
		{
			name:       "usage plan",
			collection: "/v1/usagePlans", idParam: "usagePlanId", id: "silver",
			create:    `{"displayName":"Silver","apiStages":[{"stage":"apis/shop/stages/prod"}],"quota":{"limit":"1000","period":"PERIOD_MONTH","offset":3}}`,
			wantName:  "usagePlans/silver",
			listField: "usagePlans",
			fields:    []string{"name", "uid", "createTime", "updateTime", "etag"},
			patch:     `{"throttle":{"rateLimit":5,"burstLimit":10},"quota":{"limit":"2000"}}`,
			kept:      []string{"displayName", "apiStages", "quota.period", "quota.offset"},
		},
		{
			name:       "usage plan key",
			collection: "/v1/usagePlans/gold/keys",
			create:     `{"apiKey":"apiKeys/acme"}`,
			wantName:   "usagePlans/gold/keys/acme",
			listField:  "usagePlanKeys",
			fields:     []string{"name", "apiKey", "createTime"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCRUD(t, a, tc) })
	}
}

// runCRUD runs create, create again, get, list, patch, delete, get of tc.
func runCRUD(t *testing.T, a *restAPI, tc crudCase) {
	createURL := tc.collection
	if tc.idParam != "" {
		createURL += "?" + tc.idParam + "=" + tc.id
	}
	created := a.ok(t, http.MethodPost, createURL, tc.create)
	if created["name"] != tc.wantName {
		t.Fatalf("created name = %v, want %s", created["name"], tc.wantName)
	}
	for _, f := range tc.fields {
		if v, ok := created[f].(string); !ok || v == "" {
			t.Errorf("create response has no %s: %.500v", f, created)
		}
	}
	if tc.checkCreate != nil {
		tc.checkCreate(t, created)
	}
	stored := created
	if tc.secret != "" {
		if jsonString(created, tc.secret) == "" {
			t.Errorf("create response does not show %s", tc.secret)
		}
		stored = withoutKeys(created, tc.secret)
	}

	st := a.fail(t, http.MethodPost, createURL, tc.create, http.StatusConflict, codes.AlreadyExists)
	if !strings.Contains(st.Message, tc.wantName) {
		t.Errorf("ALREADY_EXISTS message %q does not name %s", st.Message, tc.wantName)
	}

	resURL := "/v1/" + tc.wantName
	got := a.ok(t, http.MethodGet, resURL, "")
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Errorf("GET differs from the create response (-created +got):\n%s", diff)
	}
	item, ok := findByName(a.listAll(t, tc.collection, tc.listField, tc.listQuery), tc.wantName)
	if !ok {
		t.Fatalf("GET %s does not list %s", tc.collection, tc.wantName)
	}
	if diff := cmp.Diff(got, item); diff != "" {
		t.Errorf("the listed item differs from GET (-get +list):\n%s", diff)
	}
	if tc.secret != "" {
		if _, ok := got[tc.secret]; ok {
			t.Errorf("GET shows %s", tc.secret)
		}
		if _, ok := item[tc.secret]; ok {
			t.Errorf("List shows %s", tc.secret)
		}
	}

	if tc.patch != "" {
		before := got
		for _, k := range tc.kept {
			if _, ok := jsonAt(before, k); !ok {
				t.Fatalf("test setup: %s is not set before the patch", k)
			}
		}
		after := a.ok(t, http.MethodPatch, resURL, tc.patch)
		want := mergeJSON(before, decodeObject(t, tc.patch))
		if diff := cmp.Diff(withoutKeys(want, "etag", "updateTime"), withoutKeys(after, "etag", "updateTime")); diff != "" {
			t.Errorf("PATCH %s changed more or less than the fields sent (-want +got):\n%s", tc.patch, diff)
		}
		for _, k := range tc.kept {
			b, _ := jsonAt(before, k)
			if v, ok := jsonAt(after, k); !ok || !cmp.Equal(v, b) {
				t.Errorf("unsent field %s = %v after the patch, want %v kept", k, v, b)
			}
		}
		if after["etag"] == "" || after["etag"] == before["etag"] {
			t.Errorf("etag %v after the patch, want a new one (was %v)", after["etag"], before["etag"])
		}
		if jsonString(after, "updateTime") == "" {
			t.Error("no updateTime after the patch")
		}
		if diff := cmp.Diff(after, a.ok(t, http.MethodGet, resURL, "")); diff != "" {
			t.Errorf("GET after PATCH differs from the PATCH response (-patch +get):\n%s", diff)
		}
	}

	if del := a.ok(t, http.MethodDelete, resURL, ""); len(del) != 0 {
		t.Errorf("DELETE returned %v, want {}", del)
	}
	a.fail(t, http.MethodGet, resURL, "", http.StatusNotFound, codes.NotFound)
	if _, ok := findByName(a.listAll(t, tc.collection, tc.listField, tc.listQuery), tc.wantName); ok {
		t.Errorf("%s is still listed after DELETE", tc.wantName)
	}
	a.fail(t, http.MethodDelete, resURL, "", http.StatusNotFound, codes.NotFound)
}

func TestAdminRESTAccountSettings(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)

	def := a.ok(t, http.MethodGet, "/v1/settings", "")
	if def["name"] != "settings" || jsonString(def, "etag") == "" {
		t.Fatalf("GET /v1/settings = %v, want name and etag", def)
	}
	if r, _ := jsonAt(def, "throttle.rateLimit"); r != 10000.0 {
		t.Errorf("default throttle.rateLimit = %v, want 10000", r)
	}
	if b, _ := jsonAt(def, "throttle.burstLimit"); b != 5000.0 {
		t.Errorf("default throttle.burstLimit = %v, want 5000", b)
	}
	if diff := cmp.Diff(def, a.ok(t, http.MethodGet, "/v1/settings", "")); diff != "" {
		t.Errorf("two GETs of the defaults differ:\n%s", diff)
	}

	patched := a.ok(t, http.MethodPatch, "/v1/settings", `{"throttle":{"burstLimit":6000}}`)
	if r, _ := jsonAt(patched, "throttle.rateLimit"); r != 10000.0 {
		t.Errorf("throttle.rateLimit = %v after patching burstLimit only, want 10000 kept", r)
	}
	if b, _ := jsonAt(patched, "throttle.burstLimit"); b != 6000.0 {
		t.Errorf("throttle.burstLimit = %v, want 6000", b)
	}
	if patched["name"] != "settings" || jsonString(patched, "updateTime") == "" || patched["etag"] == def["etag"] || jsonString(patched, "etag") == "" {
		t.Errorf("PATCH response %v: want name settings, an updateTime and a new etag", patched)
	}
	if diff := cmp.Diff(patched, a.ok(t, http.MethodGet, "/v1/settings", "")); diff != "" {
		t.Errorf("GET after PATCH differs from the PATCH response:\n%s", diff)
	}

	// A throttle of 0 calls/s is a value ("block everything"), not unset.
	blocked := a.ok(t, http.MethodPatch, "/v1/settings", fmt.Sprintf(`{"throttle":{"rateLimit":0},"etag":%q}`, patched["etag"]))
	if r, ok := jsonAt(blocked, "throttle.rateLimit"); ok && r != 0.0 {
		t.Errorf("throttle.rateLimit = %v, want 0", r)
	}
	if b, _ := jsonAt(blocked, "throttle.burstLimit"); b != 6000.0 {
		t.Errorf("throttle.burstLimit = %v, want 6000 kept", b)
	}
	if _, ok := blocked["throttle"]; !ok {
		t.Error("the throttle disappeared when its rate was set to 0")
	}

	// null clears the throttle: no account-wide limit.
	cleared := a.ok(t, http.MethodPatch, "/v1/settings", `{"throttle":null}`)
	if _, ok := cleared["throttle"]; ok {
		t.Errorf("throttle = %v after sending null, want none", cleared["throttle"])
	}
	if diff := cmp.Diff(cleared, a.ok(t, http.MethodGet, "/v1/settings", "")); diff != "" {
		t.Errorf("GET after clearing differs:\n%s", diff)
	}
}

func TestAdminRESTPagination(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	var want []string
	for i := 1; i <= 7; i++ {
		id := fmt.Sprintf("page-%d", i)
		a.ok(t, http.MethodPost, "/v1/apis?apiId="+id, `{"displayName":"Page"}`)
		want = append(want, "apis/"+id)
	}

	var got []string
	var sizes []int
	token := ""
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatalf("more than 3 pages; so far %v", got)
		}
		q := url.Values{"pageSize": {"3"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		resp := a.ok(t, http.MethodGet, "/v1/apis?"+q.Encode(), "")
		items, _ := resp["apis"].([]any)
		sizes = append(sizes, len(items))
		for _, it := range items {
			got = append(got, jsonString(it.(map[string]any), "name"))
		}
		token = jsonString(resp, "nextPageToken")
		if token == "" {
			break
		}
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("page sizes = %v, want [3 3 1]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged names = %v, want %v", got, want)
	}
	// The snake_case query parameter names work as well.
	if resp := a.ok(t, http.MethodGet, "/v1/apis?page_size=5", ""); len(resp["apis"].([]any)) != 5 || jsonString(resp, "nextPageToken") == "" {
		t.Errorf("page_size=5: %d items, next %q", len(resp["apis"].([]any)), jsonString(resp, "nextPageToken"))
	}
	// 0 means the default (50) and a size above 1000 is capped, not refused.
	for _, q := range []string{"", "?pageSize=0", "?pageSize=5000"} {
		resp := a.ok(t, http.MethodGet, "/v1/apis"+q, "")
		if n := len(resp["apis"].([]any)); n != 7 || jsonString(resp, "nextPageToken") != "" {
			t.Errorf("GET /v1/apis%s: %d items, next %q; want all 7 on one page", q, n, jsonString(resp, "nextPageToken"))
		}
	}

	// A token of another listing is refused, like a forged one.
	a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=k1", `{}`)
	a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=k2", `{}`)
	keyToken := jsonString(a.ok(t, http.MethodGet, "/v1/apiKeys?pageSize=1", ""), "nextPageToken")
	if keyToken == "" {
		t.Fatal("no next page token for 2 keys listed 1 by 1")
	}
	bad := []struct{ name, query, field string }{
		{"garbage token", "pageToken=not-a-token", "page_token"},
		{"base64 but not a token", "pageToken=" + base64.RawURLEncoding.EncodeToString([]byte("v0\x00apis/\x00apis/x")), "page_token"},
		{"token of another listing", "pageToken=" + url.QueryEscape(keyToken), "page_token"},
		{"negative page size", "pageSize=-1", "page_size"},
		{"page size not a number", "pageSize=ten", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			st := a.fail(t, http.MethodGet, "/v1/apis?"+tc.query, "", http.StatusBadRequest, codes.InvalidArgument)
			if tc.field != "" && !slices.Contains(violatedFields(t, st), tc.field) {
				t.Errorf("field violations %v (%q), want %s", violatedFields(t, st), st.Message, tc.field)
			}
		})
	}
}

func TestAdminRESTEtagConflict(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)

	tests := []struct {
		name, collection, createQuery, create, patch string
	}{
		{"api", "/v1/apis", "apiId=etag-api", `{"displayName":"E"}`, `{"description":"changed"}`},
		{"route", "/v1/apis/shop/routes", "routeId=etag-route", `{"http":{"method":"GET","path":"/etag"}}`, `{"apiKeyRequired":true}`},
		{"authorizer", "/v1/apis/shop/authorizers", "authorizerId=etag-authz",
			`{"jwt":{"issuer":"https://i.example","audiences":["a"],"inlineJwks":"{\"keys\":[{\"kty\":\"oct\"}]}"}}`, `{"displayName":"changed"}`},
		{"stage", "/v1/apis/shop/stages", "stageId=etag-stage", `{"deployment":"apis/shop/deployments/v1"}`, `{"description":"changed"}`},
		{"api key", "/v1/apiKeys", "apiKeyId=etag-key", `{}`, `{"customerId":"changed"}`},
		{"usage plan", "/v1/usagePlans", "usagePlanId=etag-plan", `{}`, `{"displayName":"changed"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := a.ok(t, http.MethodPost, tc.collection+"?"+tc.createQuery, tc.create)
			resURL := "/v1/" + jsonString(created, "name")
			first := jsonString(created, "etag")
			withEtag := func(etag string) string {
				return strings.TrimSuffix(tc.patch, "}") + fmt.Sprintf(",%q:%q}", "etag", etag)
			}

			st := a.fail(t, http.MethodPatch, resURL, withEtag("stale-etag"), http.StatusConflict, codes.Aborted)
			infos := statusDetails(t, st, "google.rpc.ErrorInfo")
			if len(infos) != 1 || infos[0]["reason"] != "ETAG_MISMATCH" || jsonString(infos[0], "metadata.currentEtag") != first {
				t.Errorf("ABORTED details = %v, want ErrorInfo ETAG_MISMATCH with currentEtag %s", infos, first)
			}
			if diff := cmp.Diff(withoutKeys(created, "value"), a.ok(t, http.MethodGet, resURL, "")); diff != "" {
				t.Errorf("a refused PATCH changed the resource:\n%s", diff)
			}

			updated := a.ok(t, http.MethodPatch, resURL, withEtag(first))
			second := jsonString(updated, "etag")
			if second == "" || second == first {
				t.Fatalf("etag after a PATCH with the current etag = %q (was %q)", second, first)
			}
			// The first etag is stale now.
			a.fail(t, http.MethodPatch, resURL, withEtag(first), http.StatusConflict, codes.Aborted)
			a.fail(t, http.MethodDelete, resURL+"?etag="+first, "", http.StatusConflict, codes.Aborted)
			a.fail(t, http.MethodDelete, resURL+"?etag=stale-etag", "", http.StatusConflict, codes.Aborted)
			if got := a.ok(t, http.MethodGet, resURL, ""); got["etag"] != second {
				t.Errorf("a refused DELETE changed the resource: etag %v, want %s", got["etag"], second)
			}
			a.ok(t, http.MethodDelete, resURL+"?etag="+second, "")
			a.fail(t, http.MethodGet, resURL, "", http.StatusNotFound, codes.NotFound)
		})
	}

	t.Run("settings", func(t *testing.T) {
		cur := jsonString(a.ok(t, http.MethodGet, "/v1/settings", ""), "etag")
		st := a.fail(t, http.MethodPatch, "/v1/settings", `{"throttle":{"burstLimit":1},"etag":"stale-etag"}`, http.StatusConflict, codes.Aborted)
		if infos := statusDetails(t, st, "google.rpc.ErrorInfo"); len(infos) != 1 || infos[0]["reason"] != "ETAG_MISMATCH" {
			t.Errorf("details = %v, want ErrorInfo ETAG_MISMATCH", infos)
		}
		if got := jsonString(a.ok(t, http.MethodGet, "/v1/settings", ""), "etag"); got != cur {
			t.Errorf("a refused PATCH changed the settings: etag %s, was %s", got, cur)
		}
		a.ok(t, http.MethodPatch, "/v1/settings", fmt.Sprintf(`{"throttle":{"burstLimit":7},"etag":%q}`, cur))
	})
}

func TestAdminRESTUpdateMask(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	create := func(t *testing.T, id string) map[string]any {
		return a.ok(t, http.MethodPost, "/v1/apis?apiId="+id,
			`{"displayName":"Before","description":"Before","defaultIntegration":{"mock":{"body":"hi"}}}`)
	}

	t.Run("explicit mask in the query wins over the body's fields", func(t *testing.T) {
		create(t, "explicit")
		got := a.ok(t, http.MethodPatch, "/v1/apis/explicit?updateMask=description", `{"displayName":"After","description":"After"}`)
		if got["description"] != "After" || got["displayName"] != "Before" {
			t.Errorf("displayName %v, description %v; want only description changed", got["displayName"], got["description"])
		}
	})
	t.Run("a field sent empty is cleared", func(t *testing.T) {
		create(t, "clear")
		got := a.ok(t, http.MethodPatch, "/v1/apis/clear", `{"description":""}`)
		if _, ok := got["description"]; ok || got["displayName"] != "Before" {
			t.Errorf("description %v, displayName %v; want description cleared, displayName kept", got["description"], got["displayName"])
		}
	})
	t.Run("star replaces every field", func(t *testing.T) {
		create(t, "star")
		got := a.ok(t, http.MethodPatch, "/v1/apis/star?updateMask=*", `{"displayName":"Only"}`)
		if got["displayName"] != "Only" || got["description"] != nil || got["defaultIntegration"] != nil {
			t.Errorf("after a * update: %v; want only displayName left", got)
		}
		if got["protocol"] != "PROTOCOL_GRPC_REST" || got["apiKeySource"] != "API_KEY_SOURCE_HEADER" {
			t.Errorf("after a * update: protocol %v apiKeySource %v, want kept / defaulted", got["protocol"], got["apiKeySource"])
		}
	})
	t.Run("an empty patch changes nothing", func(t *testing.T) {
		before := create(t, "empty")
		got := a.ok(t, http.MethodPatch, "/v1/apis/empty", `{}`)
		if diff := cmp.Diff(before, got); diff != "" {
			t.Errorf("an empty PATCH changed the API:\n%s", diff)
		}
	})
	t.Run("output-only fields sent on create are ignored", func(t *testing.T) {
		got := a.ok(t, http.MethodPost, "/v1/apis?apiId=sysfields",
			`{"name":"apis/other","uid":"mine","etag":"mine","createTime":"2000-01-01T00:00:00Z","displayName":"S"}`)
		if got["name"] != "apis/sysfields" || got["uid"] == "mine" || got["etag"] == "mine" || got["createTime"] == "2000-01-01T00:00:00Z" {
			t.Errorf("create kept client-sent system fields: %v", got)
		}
		a.fail(t, http.MethodGet, "/v1/apis/other", "", http.StatusNotFound, codes.NotFound)
	})
	t.Run("no ID lets the server choose one", func(t *testing.T) {
		got := a.ok(t, http.MethodPost, "/v1/apis", `{"displayName":"Anonymous"}`)
		if name := jsonString(got, "name"); !strings.HasPrefix(name, "apis/api-") {
			t.Fatalf("name = %q, want a generated apis/api-…", name)
		}
		a.ok(t, http.MethodGet, "/v1/"+jsonString(got, "name"), "")
	})
}

func TestAdminRESTErrors(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)

	tests := []struct {
		name         string
		method, path string
		body         string
		wantStatus   int
		wantCode     codes.Code
		wantFields   []string // field violations that must be among those reported
		absent       string   // a resource the request must not have created
		unchanged    string   // a resource the request must not have changed
	}{
		// Validation: 400 INVALID_ARGUMENT naming the fields.
		{name: "bad api_id", method: "POST", path: "/v1/apis?api_id=Bad_ID", body: `{"displayName":"x"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api_id"}},
		{name: "garbage descriptor set", method: "POST", path: "/v1/apis?apiId=garbage", body: `{"fileDescriptorSet":"aGVsbG8sIHdvcmxkIQ=="}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api.file_descriptor_set"}, absent: "/v1/apis/garbage"},
		{name: "websocket API without selection expression", method: "POST", path: "/v1/apis?apiId=ws", body: `{"protocol":"PROTOCOL_WEBSOCKET"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api.route_selection_expression"}, absent: "/v1/apis/ws"},
		{name: "immutable protocol", method: "PATCH", path: "/v1/apis/shop", body: `{"protocol":"PROTOCOL_WEBSOCKET","routeSelectionExpression":"$request.body.action"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api.protocol"}, unchanged: "/v1/apis/shop"},
		{name: "unknown update mask path", method: "PATCH", path: "/v1/apis/shop?updateMask=nope", body: `{"displayName":"x"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"update_mask"}, unchanged: "/v1/apis/shop"},
		{name: "malformed resource name", method: "GET", path: "/v1/apis/Bad_Name",
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"name"}},
		{name: "route with invalid path template", method: "POST", path: "/v1/apis/shop/routes?routeId=bad-path", body: `{"http":{"method":"GET","path":"/v1/{1a}"}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"route.http.path"}, absent: "/v1/apis/shop/routes/bad-path"},
		{name: "route with bad method and no path", method: "POST", path: "/v1/apis/shop/routes?routeId=bad-method", body: `{"http":{"method":"FETCH"}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"route.http.method", "route.http.path"}, absent: "/v1/apis/shop/routes/bad-method"},
		{name: "route to a method not in the schema", method: "POST", path: "/v1/apis/shop/routes?routeId=nope", body: `{"grpcMethod":"/tollgate.example.v1.BookstoreService/Nope"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"route.grpc_method"}, absent: "/v1/apis/shop/routes/nope"},
		{name: "route timeout too long", method: "POST", path: "/v1/apis/shop/routes?routeId=slow", body: `{"http":{"method":"GET","path":"/slow"},"timeout":"60s"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"route.timeout"}, absent: "/v1/apis/shop/routes/slow"},
		{name: "jwt authorizer with every field wrong", method: "POST", path: "/v1/apis/shop/authorizers?authorizerId=bad-jwt", body: `{"jwt":{"jwksUri":"http://evil.example/jwks"}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"authorizer.jwt.issuer", "authorizer.jwt.audiences", "authorizer.jwt.jwks_uri"}, absent: "/v1/apis/shop/authorizers/bad-jwt"},
		{name: "stage with a missing deployment", method: "POST", path: "/v1/apis/shop/stages?stageId=orphan", body: `{"deployment":"apis/shop/deployments/missing"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"stage.deployment"}, absent: "/v1/apis/shop/stages/orphan"},
		{name: "stage without deployment", method: "POST", path: "/v1/apis/shop/stages?stageId=nodep", body: `{"description":"x"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"stage.deployment"}, absent: "/v1/apis/shop/stages/nodep"},
		{name: "api key value too short", method: "POST", path: "/v1/apiKeys?apiKeyId=short", body: `{"value":"too-short"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api_key.value"}, absent: "/v1/apiKeys/short"},
		{name: "api key value is immutable", method: "PATCH", path: "/v1/apiKeys/acme", body: `{"value":"another-secret-value-0123456789"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"api_key.value"}, unchanged: "/v1/apiKeys/acme"},
		{name: "usage plan with zero quota", method: "POST", path: "/v1/usagePlans?usagePlanId=bad-quota", body: `{"quota":{"limit":"0","period":"PERIOD_DAY"}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"usage_plan.quota.limit"}, absent: "/v1/usagePlans/bad-quota"},
		{name: "usage plan covering a missing stage", method: "POST", path: "/v1/usagePlans?usagePlanId=bad-stage", body: `{"apiStages":[{"stage":"apis/shop/stages/nope"}]}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"usage_plan.api_stages[0].stage"}, absent: "/v1/usagePlans/bad-stage"},
		{name: "usage plan key of a missing key", method: "POST", path: "/v1/usagePlans/gold/keys", body: `{"apiKey":"apiKeys/nope"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"usage_plan_key.api_key"}, absent: "/v1/usagePlans/gold/keys/nope"},
		{name: "negative account throttle", method: "PATCH", path: "/v1/settings", body: `{"throttle":{"rateLimit":-1}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"account_settings.throttle.rate_limit"}, unchanged: "/v1/settings"},
		{name: "usage with a bad date", method: "GET", path: "/v1/usagePlans/gold/usage?startDate=2026-13-01&endDate=2026-01-01",
			wantStatus: 400, wantCode: codes.InvalidArgument, wantFields: []string{"start_date"}},

		// Malformed JSON bodies: 400 INVALID_ARGUMENT, nothing written.
		{name: "unknown JSON field on create", method: "POST", path: "/v1/apis?apiId=typo", body: `{"displayName":"x","displyName":"typo"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, absent: "/v1/apis/typo"},
		{name: "unknown nested JSON field on create", method: "POST", path: "/v1/apis/shop/routes?routeId=typo", body: `{"http":{"method":"GET","path":"/typo","verb":"x"}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, absent: "/v1/apis/shop/routes/typo"},
		{name: "unknown JSON field on update", method: "PATCH", path: "/v1/apis/shop", body: `{"displayName":"x","displyName":"typo"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, unchanged: "/v1/apis/shop"},
		{name: "unknown JSON field on settings", method: "PATCH", path: "/v1/settings", body: `{"throttle":{"rate":1}}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, unchanged: "/v1/settings"},
		{name: "JSON of the wrong type", method: "POST", path: "/v1/apis?apiId=wrongtype", body: `{"displayName":5}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, absent: "/v1/apis/wrongtype"},
		{name: "truncated JSON", method: "POST", path: "/v1/apis?apiId=truncated", body: `{"displayName":`,
			wantStatus: 400, wantCode: codes.InvalidArgument, absent: "/v1/apis/truncated"},
		{name: "bytes field that is not base64", method: "POST", path: "/v1/apis?apiId=notb64", body: `{"fileDescriptorSet":"%%%"}`,
			wantStatus: 400, wantCode: codes.InvalidArgument, absent: "/v1/apis/notb64"},

		// Missing resources: 404 NOT_FOUND.
		{name: "get missing api", method: "GET", path: "/v1/apis/nope", wantStatus: 404, wantCode: codes.NotFound},
		{name: "patch missing api", method: "PATCH", path: "/v1/apis/nope", body: `{"displayName":"x"}`, wantStatus: 404, wantCode: codes.NotFound, absent: "/v1/apis/nope"},
		{name: "delete missing api", method: "DELETE", path: "/v1/apis/nope", wantStatus: 404, wantCode: codes.NotFound},
		{name: "list routes of missing api", method: "GET", path: "/v1/apis/nope/routes", wantStatus: 404, wantCode: codes.NotFound},
		{name: "create route in missing api", method: "POST", path: "/v1/apis/nope/routes?routeId=r", body: `{"http":{"method":"GET","path":"/x"}}`,
			wantStatus: 404, wantCode: codes.NotFound, absent: "/v1/apis/nope"},
		{name: "usage of missing plan", method: "GET", path: "/v1/usagePlans/nope/usage?startDate=2026-01-01&endDate=2026-01-02", wantStatus: 404, wantCode: codes.NotFound},
		{name: "delete missing usage plan key", method: "DELETE", path: "/v1/usagePlans/gold/keys/acme", wantStatus: 404, wantCode: codes.NotFound},
		{name: "no such REST route", method: "GET", path: "/v1/widgets", wantStatus: 404, wantCode: codes.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before map[string]any
			if tc.unchanged != "" {
				before = a.ok(t, http.MethodGet, tc.unchanged, "")
			}
			st := a.fail(t, tc.method, tc.path, tc.body, tc.wantStatus, tc.wantCode)
			got := violatedFields(t, st)
			for _, f := range tc.wantFields {
				if !slices.Contains(got, f) {
					t.Errorf("field violations %v (message %q), want %s among them", got, st.Message, f)
				}
				if !strings.Contains(st.Message, f) {
					t.Errorf("message %q does not name %s", st.Message, f)
				}
			}
			if tc.absent != "" {
				a.fail(t, http.MethodGet, tc.absent, "", http.StatusNotFound, codes.NotFound)
			}
			if tc.unchanged != "" {
				if diff := cmp.Diff(before, a.ok(t, http.MethodGet, tc.unchanged, "")); diff != "" {
					t.Errorf("the failed request changed %s:\n%s", tc.unchanged, diff)
				}
			}
		})
	}
}

func TestAdminRESTFailedPrecondition(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	a.ok(t, http.MethodPost, "/v1/apis/shop/authorizers?authorizerId=jwt",
		`{"jwt":{"issuer":"https://i.example","audiences":["shop"],"jwksUri":"https://i.example/jwks"}}`)
	a.ok(t, http.MethodPost, "/v1/apis/shop/routes?routeId=guarded",
		`{"http":{"method":"GET","path":"/guarded"},"authorization":{"type":"TYPE_AUTHORIZER","authorizer":"apis/shop/authorizers/jwt","scopes":["read"]}}`)
	a.ok(t, http.MethodPost, "/v1/apis?apiId=empty", `{"displayName":"Nothing to call"}`)
	a.ok(t, http.MethodPost, "/v1/apis?apiId=parent", `{"displayName":"Has a route"}`)
	a.ok(t, http.MethodPost, "/v1/apis/parent/routes?routeId=child", `{"http":{"method":"GET","path":"/child"}}`)
	// acme is in gold, which covers prod; silver has acme but no stage yet,
	// bronze covers prod but has no key yet.
	a.ok(t, http.MethodPost, "/v1/usagePlans/gold/keys", `{"apiKey":"apiKeys/acme"}`)
	a.ok(t, http.MethodPost, "/v1/usagePlans?usagePlanId=silver", `{}`)
	a.ok(t, http.MethodPost, "/v1/usagePlans/silver/keys", `{"apiKey":"apiKeys/acme"}`)
	a.ok(t, http.MethodPost, "/v1/usagePlans?usagePlanId=bronze", `{"apiStages":[{"stage":"apis/shop/stages/prod"}]}`)

	tests := []struct {
		name, method, path, body string
		wantType                 string // PreconditionFailure violation type
		stillThere               string
	}{
		{"delete a deployment a stage serves", "DELETE", "/v1/apis/shop/deployments/v1", "", "STAGE_USES_DEPLOYMENT", "/v1/apis/shop/deployments/v1"},
		{"delete an API with children", "DELETE", "/v1/apis/parent", "", "API_HAS_CHILDREN", "/v1/apis/parent/routes/child"},
		{"delete an API whose stage a plan covers", "DELETE", "/v1/apis/shop", "", "USAGE_PLAN_COVERS_STAGE", "/v1/apis/shop"},
		{"delete a stage a usage plan covers", "DELETE", "/v1/apis/shop/stages/prod", "", "USAGE_PLAN_COVERS_STAGE", "/v1/apis/shop/stages/prod"},
		{"force-delete an API whose stage a plan covers", "DELETE", "/v1/apis/shop?force=true", "", "USAGE_PLAN_COVERS_STAGE", "/v1/apis/shop/routes/guarded"},
		{"delete an authorizer a route uses", "DELETE", "/v1/apis/shop/authorizers/jwt", "", "AUTHORIZER_IN_USE", "/v1/apis/shop/authorizers/jwt"},
		{"make a scoped route's authorizer custom", "PATCH", "/v1/apis/shop/authorizers/jwt?updateMask=jwt,custom",
			`{"custom":{"type":"TYPE_TOKEN","grpc":{"target":"localhost:1"},"identitySources":["$request.header.Authorization"]}}`, "ROUTE_NEEDS_JWT", "/v1/apis/shop/authorizers/jwt"},
		{"deploy an API with nothing to call", "POST", "/v1/apis/empty/deployments?deploymentId=d1", `{}`, "API_NOT_DEPLOYABLE", "/v1/apis/empty"},
		{"extend a plan to a stage its key has in another plan", "PATCH", "/v1/usagePlans/silver",
			`{"apiStages":[{"stage":"apis/shop/stages/prod"}]}`, "KEY_IN_TWO_PLANS", "/v1/usagePlans/silver"},
		{"add a key to a second plan of the same stage", "POST", "/v1/usagePlans/bronze/keys",
			`{"apiKey":"apiKeys/acme"}`, "KEY_IN_TWO_PLANS", "/v1/usagePlans/bronze/keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := a.ok(t, http.MethodGet, tc.stillThere, "")
			st := a.fail(t, tc.method, tc.path, tc.body, http.StatusBadRequest, codes.FailedPrecondition)
			if types := preconditionTypes(t, st); !slices.Contains(types, tc.wantType) {
				t.Errorf("PreconditionFailure types %v (message %q), want %s", types, st.Message, tc.wantType)
			}
			if diff := cmp.Diff(before, a.ok(t, http.MethodGet, tc.stillThere, "")); diff != "" {
				t.Errorf("the refused request changed %s:\n%s", tc.stillThere, diff)
			}
		})
	}
	a.fail(t, http.MethodGet, "/v1/apis/empty/deployments/d1", "", http.StatusNotFound, codes.NotFound)

	t.Run("force deletes the children once nothing else refers to them", func(t *testing.T) {
		// Free the stage from the plans, then the API goes with everything in it.
		a.ok(t, http.MethodPatch, "/v1/usagePlans/gold?updateMask=api_stages", `{}`)
		a.ok(t, http.MethodDelete, "/v1/usagePlans/bronze", "")
		a.ok(t, http.MethodDelete, "/v1/apis/shop?force=true", "")
		a.fail(t, http.MethodGet, "/v1/apis/shop", "", http.StatusNotFound, codes.NotFound)
		a.ok(t, http.MethodPost, "/v1/apis?apiId=shop", `{"displayName":"Shop again"}`)
		for _, c := range []struct{ collection, field string }{
			{"/v1/apis/shop/routes", "routes"},
			{"/v1/apis/shop/authorizers", "authorizers"},
			{"/v1/apis/shop/deployments", "deployments"},
			{"/v1/apis/shop/stages", "stages"},
		} {
			if items := a.listAll(t, c.collection, c.field, ""); len(items) != 0 {
				t.Errorf("a new API of the same name inherits %d %s of the force-deleted one", len(items), c.field)
			}
		}
	})
}

func TestAdminRESTUsage(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	a.ok(t, http.MethodPost, "/v1/usagePlans/gold/keys", `{"apiKey":"apiKeys/acme"}`)

	got := a.ok(t, http.MethodGet, "/v1/usagePlans/gold/usage?startDate=2026-03-01&endDate=2026-03-03", "")
	if got["usagePlan"] != "usagePlans/gold" || got["startDate"] != "2026-03-01" || got["endDate"] != "2026-03-03" {
		t.Errorf("usage header = %v", got)
	}
	items, _ := got["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("usage items = %v, want one for acme", got["items"])
	}
	ku := items[0].(map[string]any)
	days, _ := ku["days"].([]any)
	var dates []string
	for _, d := range days {
		dates = append(dates, jsonString(d.(map[string]any), "date"))
	}
	if ku["apiKey"] != "apiKeys/acme" || !slices.Equal(dates, []string{"2026-03-01", "2026-03-02", "2026-03-03"}) || ku["remainingQuota"] != "100" {
		t.Errorf("key usage = %v, want acme, three days, remainingQuota \"100\"", ku)
	}
	// snake_case query parameters and the api_key filter.
	one := a.ok(t, http.MethodGet, "/v1/usagePlans/gold/usage?start_date=2026-03-01&end_date=2026-03-01&api_key=apiKeys/acme", "")
	if items, _ := one["items"].([]any); len(items) != 1 {
		t.Errorf("filtered usage = %v, want acme only", one)
	}
	a.fail(t, http.MethodGet, "/v1/usagePlans/gold/usage?startDate=2026-03-02&endDate=2026-03-01", "", http.StatusBadRequest, codes.InvalidArgument)
	st := a.fail(t, http.MethodGet, "/v1/usagePlans/gold/usage?startDate=2026-03-01&endDate=2026-03-01&apiKey=apiKeys/nobody", "",
		http.StatusBadRequest, codes.InvalidArgument)
	if !slices.Contains(violatedFields(t, st), "api_key") {
		t.Errorf("usage of a key outside the plan: violations %v, want api_key", violatedFields(t, st))
	}

	t.Run("api_key filter selects that key only", func(t *testing.T) {
		a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=acme-corp", `{}`)
		a.ok(t, http.MethodPost, "/v1/usagePlans/gold/keys", `{"apiKey":"apiKeys/acme-corp"}`)
		got := a.ok(t, http.MethodGet, "/v1/usagePlans/gold/usage?startDate=2026-03-01&endDate=2026-03-01&apiKey=apiKeys/acme", "")
		items, _ := got["items"].([]any)
		var keys []string
		for _, it := range items {
			keys = append(keys, jsonString(it.(map[string]any), "apiKey"))
		}
		if !slices.Equal(keys, []string{"apiKeys/acme"}) {
			t.Errorf("usage filtered on apiKeys/acme reports %v, want [apiKeys/acme]", keys)
		}
		// A prefix of a member's ID is not a member either.
		a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=acm", `{}`)
		st := a.fail(t, http.MethodGet, "/v1/usagePlans/gold/usage?startDate=2026-03-01&endDate=2026-03-01&apiKey=apiKeys/acm", "",
			http.StatusBadRequest, codes.InvalidArgument)
		if !slices.Contains(violatedFields(t, st), "api_key") {
			t.Errorf("violations %v, want api_key", violatedFields(t, st))
		}
	})
}

func TestAdminRESTNoOpPatchKeepsEtag(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	a.ok(t, http.MethodPost, "/v1/apis/shop/routes?routeId=get-book", `{"grpcMethod":"/tollgate.example.v1.BookstoreService/GetBook"}`)
	a.ok(t, http.MethodPost, "/v1/apis/shop/authorizers?authorizerId=jwt",
		`{"displayName":"JWT","jwt":{"issuer":"https://i.example","audiences":["shop"],"jwksUri":"https://i.example/jwks"}}`)
	a.ok(t, http.MethodPatch, "/v1/settings", `{"throttle":{"rateLimit":100,"burstLimit":10}}`)

	tests := []struct{ name, path, patch, bug string }{
		{name: "api", path: "/v1/apis/shop", patch: `{"displayName":"Shop"}`},
		{name: "route", path: "/v1/apis/shop/routes/get-book", patch: `{"grpcMethod":"/tollgate.example.v1.BookstoreService/GetBook"}`},
		{name: "authorizer", path: "/v1/apis/shop/authorizers/jwt", patch: `{"displayName":"JWT"}`},
		{name: "stage", path: "/v1/apis/shop/stages/prod", patch: `{"deployment":"apis/shop/deployments/v1"}`},
		{name: "api key", path: "/v1/apiKeys/acme", patch: `{"displayName":"Acme"}`},
		{name: "usage plan", path: "/v1/usagePlans/gold", patch: `{"displayName":"Gold"}`},
		// Regression: settings used to be restamped on a no-op PATCH.
		{name: "settings", path: "/v1/settings", patch: `{"throttle":{"rateLimit":100,"burstLimit":10}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("bug: " + tc.bug)
			}
			before := a.ok(t, http.MethodGet, tc.path, "")
			after := a.ok(t, http.MethodPatch, tc.path, tc.patch)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("a PATCH that sets the current values changed the resource:\n%s", diff)
			}
			// The etag from before the no-op is still good.
			a.ok(t, http.MethodPatch, tc.path, strings.TrimSuffix(tc.patch, "}")+fmt.Sprintf(`,"etag":%q}`, before["etag"]))
		})
	}
}

func TestAdminRESTDeleteCascades(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	a.ok(t, http.MethodPost, "/v1/usagePlans?usagePlanId=silver", `{}`)
	for _, plan := range []string{"gold", "silver"} {
		a.ok(t, http.MethodPost, "/v1/usagePlans/"+plan+"/keys", `{"apiKey":"apiKeys/acme"}`)
	}

	t.Run("deleting a key removes it from every plan", func(t *testing.T) {
		a.ok(t, http.MethodDelete, "/v1/apiKeys/acme", "")
		for _, plan := range []string{"gold", "silver"} {
			a.fail(t, http.MethodGet, "/v1/usagePlans/"+plan+"/keys/acme", "", http.StatusNotFound, codes.NotFound)
			if keys := a.listAll(t, "/v1/usagePlans/"+plan+"/keys", "usagePlanKeys", ""); len(keys) != 0 {
				t.Errorf("plan %s still lists %v", plan, keys)
			}
		}
	})
	t.Run("deleting a plan removes its memberships", func(t *testing.T) {
		a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=zed", `{}`)
		a.ok(t, http.MethodPost, "/v1/usagePlans/silver/keys", `{"apiKey":"apiKeys/zed"}`)
		a.ok(t, http.MethodDelete, "/v1/usagePlans/silver", "")
		a.ok(t, http.MethodGet, "/v1/apiKeys/zed", "") // the key itself stays
		a.ok(t, http.MethodPost, "/v1/usagePlans?usagePlanId=silver", `{}`)
		if keys := a.listAll(t, "/v1/usagePlans/silver/keys", "usagePlanKeys", ""); len(keys) != 0 {
			t.Errorf("a new plan of the same name inherits %v", keys)
		}
	})
	t.Run("a key value is unique, and free again once its key is deleted", func(t *testing.T) {
		const value = `{"value":"shared-secret-value-0123456789"}`
		a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=holder", value)
		st := a.fail(t, http.MethodPost, "/v1/apiKeys?apiKeyId=copycat", value, http.StatusConflict, codes.AlreadyExists)
		if strings.Contains(st.Message, "holder") || strings.Contains(fmt.Sprint(st.Details), "holder") {
			t.Errorf("the conflict names the key holding the value: %+v", st)
		}
		a.fail(t, http.MethodGet, "/v1/apiKeys/copycat", "", http.StatusNotFound, codes.NotFound)
		a.ok(t, http.MethodDelete, "/v1/apiKeys/holder", "")
		a.ok(t, http.MethodPost, "/v1/apiKeys?apiKeyId=copycat", value)
	})
	t.Run("two routes may not match the same calls", func(t *testing.T) {
		a.ok(t, http.MethodPost, "/v1/apis/shop/routes?routeId=first", `{"http":{"method":"GET","path":"/same"}}`)
		a.fail(t, http.MethodPost, "/v1/apis/shop/routes?routeId=second", `{"http":{"method":"GET","path":"/same"}}`,
			http.StatusConflict, codes.AlreadyExists)
		a.fail(t, http.MethodGet, "/v1/apis/shop/routes/second", "", http.StatusNotFound, codes.NotFound)
	})
}

func TestAdminRESTPersistsAcrossRestart(t *testing.T) {
	tests := []struct {
		name  string
		token string // "" uses the token file of the data dir
	}{
		{name: "token file"},
		{name: "configured token", token: "configured-token-0123456789"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AdminToken = tc.token
			first := startServer(t, cfg)
			a := newRESTAPI(t, first)
			seedShop(t, a)
			a.ok(t, http.MethodPost, "/v1/apis/shop/routes?routeId=get-book", `{"grpcMethod":"/tollgate.example.v1.BookstoreService/GetBook"}`)
			a.ok(t, http.MethodPatch, "/v1/settings", `{"throttle":{"rateLimit":42,"burstLimit":7}}`)
			a.ok(t, http.MethodPost, "/v1/usagePlans/gold/keys", `{"apiKey":"apiKeys/acme"}`)
			resources := []string{
				"/v1/apis/shop", "/v1/apis/shop/routes/get-book", "/v1/apis/shop/deployments/v1",
				"/v1/apis/shop/stages/prod", "/v1/apiKeys/acme", "/v1/usagePlans/gold",
				"/v1/usagePlans/gold/keys/acme", "/v1/settings", "/v1/apis", "/v1/apiKeys",
			}
			before := map[string]map[string]any{}
			for _, r := range resources {
				before[r] = a.ok(t, http.MethodGet, r, "")
			}
			token := first.AdminToken()
			first.stop(t)

			second := startServer(t, cfg)
			if second.AdminToken() != token {
				t.Fatal("the restarted server has another admin token")
			}
			b := newRESTAPI(t, second)
			for _, r := range resources {
				if diff := cmp.Diff(before[r], b.ok(t, http.MethodGet, r, "")); diff != "" {
					t.Errorf("GET %s differs after the restart (-before +after):\n%s", r, diff)
				}
			}
			// The etag read before the restart is still current.
			b.ok(t, http.MethodPatch, "/v1/apis/shop", fmt.Sprintf(`{"description":"after restart","etag":%q}`, jsonString(before["/v1/apis/shop"], "etag")))
		})
	}
}

func TestAdminRESTUnauthenticatedWritesNothing(t *testing.T) {
	ts := startServer(t, testConfig(t))
	a := newRESTAPI(t, ts)
	seedShop(t, a)
	a.ok(t, http.MethodPost, "/v1/apis/shop/routes?routeId=get-book", `{"grpcMethod":"/tollgate.example.v1.BookstoreService/GetBook"}`)

	// What the refused calls could have touched.
	watched := []string{"/v1/apis", "/v1/apis/shop", "/v1/apis/shop/routes", "/v1/apiKeys", "/v1/usagePlans/gold", "/v1/usagePlans/gold/keys", "/v1/settings"}
	snapshot := func() map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, w := range watched {
			m[w] = a.ok(t, http.MethodGet, w, "")
		}
		return m
	}
	before := snapshot()

	requests := []struct{ method, path, body string }{
		{"POST", "/v1/apis?apiId=evil", `{"displayName":"Evil"}`},
		{"PATCH", "/v1/apis/shop", `{"displayName":"Hacked"}`},
		{"DELETE", "/v1/apis/shop/routes/get-book", ""},
		{"DELETE", "/v1/apis/shop?force=true", ""},
		{"POST", "/v1/apiKeys?apiKeyId=evil", `{"value":"attacker-chosen-secret-value"}`},
		{"DELETE", "/v1/apiKeys/acme", ""},
		{"PATCH", "/v1/usagePlans/gold", `{"quota":{"limit":"1000000"}}`},
		{"POST", "/v1/usagePlans/gold/keys", `{"apiKey":"apiKeys/acme"}`},
		{"PATCH", "/v1/settings", `{"throttle":{"rateLimit":1,"burstLimit":1}}`},
		{"GET", "/v1/apiKeys/acme", ""},
		{"GET", "/v1/usagePlans/gold/usage?startDate=2026-01-01&endDate=2026-01-01", ""},
	}
	credentials := []struct {
		name, authorization, wantMsg string
	}{
		{name: "no header", wantMsg: missingTokenMsg},
		{name: "wrong token", authorization: "Bearer tga_not-the-right-token-at-all", wantMsg: invalidTokenMsg},
		{name: "token with extra characters", authorization: "Bearer " + ts.AdminToken() + "x", wantMsg: invalidTokenMsg},
		{name: "token as basic credentials", authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+ts.AdminToken())), wantMsg: missingTokenMsg},
	}
	client := http1Client(t)
	for _, cred := range credentials {
		for _, req := range requests {
			t.Run(cred.name+"/"+req.method+" "+req.path, func(t *testing.T) {
				res := doHTTP(t, client, req.method, a.base+req.path, cred.authorization, req.body)
				st := wantFailure(t, req.method+" "+req.path, res, http.StatusUnauthorized, codes.Unauthenticated)
				if st.Message != cred.wantMsg {
					t.Errorf("message = %q, want %q", st.Message, cred.wantMsg)
				}
				if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="tollgate-admin"` {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				if strings.Contains(res.body, "Acme") || strings.Contains(res.body, "apis/shop") {
					t.Errorf("the 401 body leaks data: %s", res.body)
				}
			})
		}
	}

	after := snapshot()
	for _, w := range watched {
		if diff := cmp.Diff(before[w], after[w]); diff != "" {
			t.Errorf("unauthenticated calls changed %s:\n%s", w, diff)
		}
	}
	a.fail(t, http.MethodGet, "/v1/apis/evil", "", http.StatusNotFound, codes.NotFound)
	a.fail(t, http.MethodGet, "/v1/apiKeys/evil", "", http.StatusNotFound, codes.NotFound)
}
