package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestMetricsAndAccessLog: calls show up on the admin port's /metrics and,
// for a stage with access logging on, as JSON lines in the access log.
func TestMetricsAndAccessLog(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	var access syncBuffer
	cfg.AccessLog = &access
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	_, err := admin.UpdateStage(withToken(t, ts.AdminToken()), &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", AccessLog: &adminv1.AccessLogSettings{Enabled: true, Fields: []string{"requestId", "grpcMethod", "status", "protocol", "integrationLatency", "requestLength", "responseLength"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"access_log"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr())).Echo(t.Context(), &examplev1.EchoRequest{Message: "x"}); err != nil {
		t.Fatal(err)
	}
	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	if res.status != http.StatusOK || !strings.Contains(res.body, `tollgate_calls_total{`) || !strings.Contains(res.body, `stage="apis/bookstore/stages/demo"`) ||
		!strings.Contains(res.body, "tollgate_integration_duration_milliseconds_bucket") ||
		!strings.Contains(res.body, "tollgate_request_bytes_total{") || !strings.Contains(res.body, "tollgate_response_bytes_total{") {
		t.Fatalf("/metrics: %d\n%s", res.status, res.body)
	}
	line := strings.TrimSpace(access.String())
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("access log %q: %v", line, err)
	}
	if il, _ := entry["integrationLatency"].(float64); entry["grpcMethod"] != "/tollgate.example.v1.EchoService/Echo" || entry["protocol"] != "grpc" || entry["requestId"] == "" || il <= 0 ||
		entry["requestLength"] != float64(3) || entry["responseLength"] != float64(3) {
		t.Fatalf("access log entry %v", entry)
	}
}
