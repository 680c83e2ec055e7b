package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/adminauth"
)

// TestAdminRoles (issue 19): every AdminService method, over gRPC and
// REST, is allowed to the roles the one table (adminauth.MethodRoles)
// names and refused with PERMISSION_DENIED / 403 to the others; revoked
// tokens are refused; the bootstrap token is an admin.
func TestAdminRoles(t *testing.T) {
	ts := startServer(t, testConfig(t))
	conn := dial(t, ts.AdminAddr())
	admin := adminv1.NewAdminServiceClient(conn)
	actx := withToken(t, ts.AdminToken())
	tokens := map[adminv1.AdminToken_Role]string{}
	for _, role := range []adminv1.AdminToken_Role{adminv1.AdminToken_ROLE_VIEWER, adminv1.AdminToken_ROLE_OPERATOR, adminv1.AdminToken_ROLE_ADMIN} {
		tok, err := admin.CreateAdminToken(actx, &adminv1.CreateAdminTokenRequest{AdminTokenId: strings.ToLower(strings.TrimPrefix(role.String(), "ROLE_")),
			AdminToken: &adminv1.AdminToken{Role: role, Description: "test " + role.String()}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.GetValue(), adminauth.TokenPrefix) {
			t.Fatalf("created token without a value: %v", tok)
		}
		tokens[role] = tok.GetValue()
		got, err := admin.GetAdminToken(actx, &adminv1.GetAdminTokenRequest{Name: tok.GetName()})
		if err != nil || got.GetValue() != "" {
			t.Fatalf("GetAdminToken = %v, %v; want it without its value", got, err)
		}
	}

	svc := adminv1.File_tollgate_admin_v1_admin_service_proto.Services().ByName("AdminService")
	methods := svc.Methods()
	rest := http1Client(t)
	for i := range methods.Len() {
		md := methods.Get(i)
		full := "/" + string(svc.FullName()) + "/" + string(md.Name())
		need, listed := adminauth.MethodRoles[string(md.Name())]
		if !listed {
			t.Errorf("%s is missing from adminauth.MethodRoles", md.Name())
			continue
		}
		for role, token := range tokens {
			allowed := role >= need
			t.Run(string(md.Name())+"/"+role.String(), func(t *testing.T) {
				// gRPC: an empty request; an allowed call gets past
				// authorization (and usually fails validation).
				ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
				in, out := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
				err := conn.Invoke(ctx, full, in, out)
				if refused := status.Code(err) == codes.PermissionDenied; refused == allowed {
					t.Errorf("gRPC %s as %s: %v (allowed %v)", md.Name(), role, err, allowed)
				}
				// REST: the method's HTTP rule with placeholder IDs.
				verb, path := httpRule(t, md)
				req, err := http.NewRequest(verb, "http://"+ts.AdminAddr()+path, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := rest.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if refused := res.StatusCode == http.StatusForbidden; refused == allowed {
					t.Errorf("REST %s %s as %s: %d %s (allowed %v)", verb, path, role, res.StatusCode, body, allowed)
				}
			})
		}
	}

	// A revoked token is refused from the next call on.
	if _, err := admin.DeleteAdminToken(actx, &adminv1.DeleteAdminTokenRequest{Name: "adminTokens/viewer"}); err != nil {
		t.Fatal(err)
	}
	_, err := admin.ListApis(withToken(t, tokens[adminv1.AdminToken_ROLE_VIEWER]), &adminv1.ListApisRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked token: %v, want UNAUTHENTICATED", err)
	}
	// Validation: a role is required, expiry must lie ahead.
	_, err = admin.CreateAdminToken(actx, &adminv1.CreateAdminTokenRequest{AdminToken: &adminv1.AdminToken{ExpireTime: timestamppb.New(time.Now().Add(-time.Hour))}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "admin_token.role") || !strings.Contains(err.Error(), "admin_token.expire_time") {
		t.Errorf("bad token: %v", err)
	}
}

// placeholder is a path variable of an HTTP rule: {field} or {field=pattern}.
var placeholder = regexp.MustCompile(`\{[a-z_.]+(=([^}]*))?\}`)

// httpRule returns the verb and a concrete path of md's google.api.http
// rule, with every variable filled with placeholder IDs.
func httpRule(t *testing.T, md protoreflect.MethodDescriptor) (string, string) {
	rule, ok := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if !ok || rule == nil {
		t.Fatalf("%s has no HTTP rule", md.Name())
	}
	var verb, tpl string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		verb, tpl = http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		verb, tpl = http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		verb, tpl = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Delete:
		verb, tpl = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Put:
		verb, tpl = http.MethodPut, p.Put
	}
	return verb, placeholder.ReplaceAllStringFunc(tpl, func(v string) string {
		m := placeholder.FindStringSubmatch(v)
		if m[2] == "" {
			return "x"
		}
		return strings.ReplaceAll(m[2], "*", "x")
	})
}

// TestAuditLog (issue 19): admin writes over gRPC and REST — creates,
// updates with masks, deletes, custom methods, and writes a role may not
// make — are recorded with who, what, where from and the result, listed
// newest first with filters and pages, and written as log lines; no event
// or log line holds an API key's or admin token's value.
func TestAuditLog(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	op, err := admin.CreateAdminToken(actx, &adminv1.CreateAdminTokenRequest{AdminTokenId: "ci", AdminToken: &adminv1.AdminToken{Role: adminv1.AdminToken_ROLE_OPERATOR}})
	if err != nil {
		t.Fatal(err)
	}
	octx := withToken(t, op.GetValue())
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	key, err := admin.CreateApiKey(octx, &adminv1.CreateApiKeyRequest{ApiKeyId: "audited", ApiKey: &adminv1.ApiKey{Value: "a-secret-key-value-0123456789"}})
	must(key, err)
	must(admin.UpdateApiKey(octx, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: key.GetName(), Description: "d"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}}))
	must(admin.FlushStageCache(octx, &adminv1.FlushStageCacheRequest{Name: "apis/bookstore/stages/demo"}))
	// Operators may not define APIs: refused, and recorded.
	_, err = admin.CreateApi(octx, &adminv1.CreateApiRequest{ApiId: "nope", Api: &adminv1.Api{}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("CreateApi as operator: %v", err)
	}
	// REST: a PATCH (update mask from the body) and a DELETE.
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPatch, "/v1/apiKeys/audited", `{"enabled":false}`},
		{http.MethodDelete, "/v1/apiKeys/audited", ""},
	} {
		if res := doHTTP(t, http1Client(t), c.method, "http://"+ts.AdminAddr()+c.path, "Bearer "+op.GetValue(), c.body); res.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.status, res.body)
		}
	}
	// Reads are not recorded; nor are calls without a valid token.
	must(admin.ListApiKeys(octx, &adminv1.ListApiKeysRequest{}))
	_, _ = admin.DeleteApi(withToken(t, "tga_not-a-valid-token-at-all"), &adminv1.DeleteApiRequest{Name: "apis/bookstore"})

	res, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{Actor: "adminTokens/ci"})
	must(res, err)
	type row struct{ method, resource, mask, result, ip string }
	var got []row
	for _, e := range res.GetAuditEvents() {
		got = append(got, row{e.GetMethod()[strings.LastIndexByte(e.GetMethod(), '/')+1:], e.GetResource(),
			strings.Join(e.GetUpdateMask().GetPaths(), ","), e.GetResult(), e.GetClientIp()})
		if e.GetRole() != adminv1.AdminToken_ROLE_OPERATOR || e.GetTime() == nil || !strings.HasPrefix(e.GetName(), "auditEvents/") {
			t.Errorf("event %v", e)
		}
	}
	want := []row{ // newest first
		{"DeleteApiKey", "apiKeys/audited", "", "OK", "127.0.0.1"},
		{"UpdateApiKey", "apiKeys/audited", "enabled", "OK", "127.0.0.1"},
		{"CreateApi", "nope", "", "PERMISSION_DENIED", "127.0.0.1"},
		{"FlushStageCache", "apis/bookstore/stages/demo", "", "OK", "127.0.0.1"},
		{"UpdateApiKey", "apiKeys/audited", "description", "OK", "127.0.0.1"},
		{"CreateApiKey", "apiKeys/audited", "", "OK", "127.0.0.1"},
	}
	if len(got) != len(want) {
		t.Fatalf("events:\n%v\nwant\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}
	// Filters and pages.
	byMethod, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{Method: "UpdateApiKey", PageSize: 1})
	must(byMethod, err)
	if len(byMethod.GetAuditEvents()) != 1 || byMethod.GetNextPageToken() == "" {
		t.Fatalf("first page: %v", byMethod)
	}
	next, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{Method: "UpdateApiKey", PageSize: 1, PageToken: byMethod.GetNextPageToken()})
	must(next, err)
	if len(next.GetAuditEvents()) != 1 || next.GetNextPageToken() != "" || next.GetAuditEvents()[0].GetUpdateMask().GetPaths()[0] != "description" {
		t.Fatalf("second page: %v", next)
	}
	if _, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{Method: "DeleteApiKey", PageToken: byMethod.GetNextPageToken()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("page token of other filters: %v", err)
	}
	future, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{StartTime: timestamppb.New(time.Now().Add(time.Hour))})
	must(future, err)
	if len(future.GetAuditEvents()) != 0 {
		t.Errorf("events after now: %v", future.GetAuditEvents())
	}
	all, err := admin.ListAuditEvents(actx, &adminv1.ListAuditEventsRequest{PageSize: 1000})
	must(all, err)
	if n := len(all.GetAuditEvents()); n != len(want)+1 { // and the bootstrap token's CreateAdminToken
		t.Errorf("%d events in all, want %d", n, len(want)+1)
	}
	// Over REST too, and no secret anywhere.
	rr := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/v1/auditEvents?actor=bootstrap", "Bearer "+ts.AdminToken(), "")
	var listed struct {
		AuditEvents []json.RawMessage `json:"auditEvents"`
	}
	if err := json.Unmarshal([]byte(rr.body), &listed); err != nil || len(listed.AuditEvents) != 1 || !strings.Contains(rr.body, "adminTokens/ci") {
		t.Errorf("REST ListAuditEvents: %d %s", rr.status, rr.body)
	}
	dump, _ := protojson.Marshal(all)
	for _, secret := range []string{"a-secret-key-value-0123456789", op.GetValue()} {
		if strings.Contains(string(dump), secret) || strings.Contains(ts.logs.String(), secret) {
			t.Errorf("a secret is in the audit log or the logs")
		}
	}
	if n := strings.Count(ts.logs.String(), `msg="admin write"`); n != len(want)+1 {
		t.Errorf("%d audit log lines, want %d", n, len(want)+1)
	}
}
