package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
)

// unservableSet returns descriptors whose BookstoreService.ListBooks
// binding names no field of its request: no data plane can serve it.
func unservableSet(t *testing.T, set []byte) []byte {
	t.Helper()
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		t.Fatal(err)
	}
	for _, f := range fds.GetFile() {
		for _, svc := range f.GetService() {
			for _, m := range svc.GetMethod() {
				if f.GetPackage()+"."+svc.GetName()+"."+m.GetName() == "tollgate.example.v1.BookstoreService.ListBooks" {
					proto.SetExtension(m.Options, annotations.E_Http, &annotations.HttpRule{
						Pattern: &annotations.HttpRule_Get{Get: "/v1/shelves/{nope}/books"}})
				}
			}
		}
	}
	b, err := proto.Marshal(&fds)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// get sends a GET and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// wantViolation checks that err is INVALID_ARGUMENT with a BadRequest
// violation of field naming the unservable ListBooks binding.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("error %v, want INVALID_ARGUMENT", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetField() == field && strings.Contains(fv.GetDescription(), "BookstoreService.ListBooks") &&
					strings.Contains(fv.GetDescription(), "GET /v1/shelves/{nope}/books") {
					return
				}
			}
		}
	}
	t.Fatalf("no violation of %q naming the method and binding in %v", field, err)
}

// TestUnservableDeploymentInTheStore covers a deployment the data plane
// cannot compile that is already in the store, as after an upgrade that
// made a binding unservable (simulated by writing it with an admin service
// that has no pre-flight check): pointing a stage or a domain mapping at it
// is refused over the admin API; a reload that must compile it keeps the
// stage serving its previous deployment, /readyz reports the stage and
// the failure is counted.
func TestUnservableDeploymentInTheStore(t *testing.T) {
	s, err := New(Config{DataDir: t.TempDir(), AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0", Demo: true,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Stderr: io.Discard, AccessLog: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-served:
		t.Fatalf("Serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	conn, err := grpc.NewClient(s.AdminAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := adminv1.NewAdminServiceClient(conn)
	actx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+s.AdminToken())
	data, adminURL := "http://"+s.DataAddr(), "http://"+s.AdminAddr()

	// What an earlier version, without the pre-flight check, stored.
	unchecked, err := admin.New(s.store)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := unchecked.GetStage(ctx, &adminv1.GetStageRequest{Name: "apis/bookstore/stages/demo"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := unchecked.GetApi(ctx, &adminv1.GetApiRequest{Name: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unchecked.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: api.GetName(), DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: unservableSet(t, api.GetFileDescriptorSet())}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"file_descriptor_set"}},
	}); err != nil {
		t.Fatal(err)
	}
	bad, err := unchecked.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore", DeploymentId: "bad"})
	if err != nil {
		t.Fatal(err)
	}

	serving := func(when string) {
		t.Helper()
		if code, body := get(t, data+"/demo/v1/shelves/fiction/books"); code != http.StatusOK {
			t.Fatalf("%s: REST call of the demo stage: %d %s", when, code, body)
		}
	}

	t.Run("stage update refused", func(t *testing.T) {
		_, err := client.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: demo.GetName(), Deployment: bad.GetName()}})
		wantViolation(t, err, "stage.deployment")
		_, err = client.UpdateStage(actx, &adminv1.UpdateStageRequest{
			Stage:      &adminv1.Stage{Name: demo.GetName(), Canary: &adminv1.CanarySettings{Deployment: bad.GetName(), Percent: 10}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"canary"}},
		})
		wantViolation(t, err, "stage.canary.deployment")
		_, err = client.CreateStage(actx, &adminv1.CreateStageRequest{Parent: "apis/bookstore", StageId: "next", Stage: &adminv1.Stage{Deployment: bad.GetName()}})
		wantViolation(t, err, "stage.deployment")

		req, _ := http.NewRequest(http.MethodPatch, adminURL+"/v1/apis/bookstore/stages/demo?updateMask=deployment",
			strings.NewReader(`{"deployment":"`+bad.GetName()+`"}`))
		req.Header.Set("Authorization", "Bearer "+s.AdminToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"field":"stage.deployment"`) ||
			!strings.Contains(string(body), "GET /v1/shelves/{nope}/books") {
			t.Errorf("REST stage update: %d %s", resp.StatusCode, body)
		}

		now, err := client.GetStage(actx, &adminv1.GetStageRequest{Name: demo.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(now, demo) {
			t.Errorf("the stage changed: %v, was %v", now, demo)
		}
		if _, err := client.GetStage(actx, &adminv1.GetStageRequest{Name: "apis/bookstore/stages/next"}); status.Code(err) != codes.NotFound {
			t.Errorf("refused stage: %v, want NOT_FOUND", err)
		}
		serving("after refused stage writes")
	})

	t.Run("reload keeps the previous deployment", func(t *testing.T) {
		if _, err := unchecked.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: demo.GetName(), Deployment: bad.GetName()}}); err != nil {
			t.Fatal(err)
		}
		// The write bypassed s.admin, as another node's or an older
		// version's would: the next load reads everything, as after a
		// restart or another node's change.
		s.admin.ForgetDeployed()
		s.loadDeployed()
		serving("after a reload that cannot compile the stage")
		code, body := get(t, data+"/readyz")
		if code != http.StatusOK || !strings.HasPrefix(body, "ok (degraded)\n") || !strings.Contains(body, "stage apis/bookstore/stages/demo serves deployment "+demo.GetDeployment()+" instead of its deployment "+bad.GetName()) ||
			!strings.Contains(body, bad.GetName()) || !strings.Contains(body, "GET /v1/shelves/{nope}/books") {
			t.Errorf("/readyz: %d %q", code, body)
		}
		_, metrics := get(t, adminURL+"/metrics")
		if !strings.Contains(metrics, `tollgate_stage_compile_failures_total{deployment="apis/bookstore/deployments/bad",kept_previous="true",`) ||
			!strings.Contains(metrics, `stage="apis/bookstore/stages/demo"`) {
			t.Errorf("no compile failure counted:\n%s", grepLines(metrics, "compile_failures"))
		}
	})

	t.Run("domain mapping refused", func(t *testing.T) {
		if _, err := unchecked.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: "apis/bookstore", StageId: "broken", Stage: &adminv1.Stage{Deployment: bad.GetName()}}); err != nil {
			t.Fatal(err)
		}
		_, err := client.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: "shop",
			DomainMapping: &adminv1.DomainMapping{Domain: "shop.example.com", Stage: "apis/bookstore/stages/broken"}})
		wantViolation(t, err, "domain_mapping.stage")
	})

	t.Run("a stage that serves nothing is not ready", func(t *testing.T) {
		s.admin.ForgetDeployed()
		s.loadDeployed()
		code, body := get(t, data+"/readyz")
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready\n") || !strings.Contains(body, "stage apis/bookstore/stages/broken cannot serve its deployment apis/bookstore/deployments/bad") {
			t.Errorf("/readyz: %d %q", code, body)
		}
		serving("with another stage not served")
	})

	t.Run("recovery", func(t *testing.T) {
		if _, err := unchecked.DeleteStage(ctx, &adminv1.DeleteStageRequest{Name: "apis/bookstore/stages/broken"}); err != nil {
			t.Fatal(err)
		}
		s.admin.ForgetDeployed()
		// Rolling the stage back is a servable write.
		if _, err := client.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: demo.GetName(), Deployment: demo.GetDeployment()}}); err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, data+"/readyz"); code != http.StatusOK || body != "ok\n" {
			t.Errorf("/readyz: %d %q, want 200 ok", code, body)
		}
		serving("after the rollback")
	})
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
