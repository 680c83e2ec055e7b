package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server"
)

// crashChildEnv makes the test binary a gateway process for
// TestQuotaCrashBound.
const crashChildEnv = "TOLLGATE_CRASH_CHILD_DATA_DIR"

// TestQuotaCrashBound checks the documented bound of quota counts lost to a
// crash: a kill -9 loses at most the calls counted since the last flush to
// the store; everything flushed before survives.
func TestQuotaCrashBound(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		runCrashChild(dir)
		return
	}
	dir := t.TempDir()
	child, admin, data, token := startCrashChild(t, dir)
	a := adminv1.NewAdminServiceClient(dial(t, admin))
	actx := withToken(t, token)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}, ApiKeyRequired: true,
	}}))
	d, err := a.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(d, err)
	must(a.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}))
	must(a.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "p", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
		Quota:     &adminv1.QuotaSettings{Limit: 1000, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}))
	key, err := a.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"})
	must(key, err)
	must(a.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/p", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))

	echo := examplev1.NewEchoServiceClient(dial(t, data))
	calls := func(n int) {
		for range n {
			ctx := metadata.AppendToOutgoingContext(t.Context(), "x-api-key", key.GetValue())
			if _, err := echo.Echo(ctx, &examplev1.EchoRequest{Message: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	today := time.Now().UTC().Format("2006-01-02")
	used := func(admin, token string) int64 {
		u, err := adminv1.NewAdminServiceClient(dial(t, admin)).GetUsage(withToken(t, token),
			&adminv1.GetUsageRequest{UsagePlan: "usagePlans/p", StartDate: today, EndDate: today})
		if err != nil {
			t.Fatal(err)
		}
		return u.GetItems()[0].GetDays()[0].GetCalls()
	}
	const flushed, unflushed = 30, 20
	calls(flushed)
	if got := used(admin, token); got != flushed { // a usage report flushes the counter
		t.Fatalf("used = %d, want %d", got, flushed)
	}
	calls(unflushed)
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown flush
		t.Fatal(err)
	}
	_ = child.Wait()

	_, admin2, _, token2 := startCrashChild(t, dir)
	got := used(admin2, token2)
	t.Logf("after kill -9: %d of %d calls counted (%d were not flushed yet)", got, flushed+unflushed, unflushed)
	if got < flushed || got > flushed+unflushed {
		t.Fatalf("used after a crash = %d: must keep the %d flushed calls and lose at most the %d since the last flush", got, flushed, unflushed)
	}
}

// startCrashChild starts the test binary as a gateway on dir and returns
// its admin and data addresses and admin token.
func startCrashChild(t *testing.T, dir string) (*exec.Cmd, string, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestQuotaCrashBound$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 4 && f[0] == "READY" {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, f[1], f[2], f[3]
		}
	}
	t.Fatal("the gateway process exited before it was ready")
	return nil, "", "", ""
}

// runCrashChild serves a demo gateway until killed, announcing its
// addresses on stdout.
func runCrashChild(dir string) {
	s, err := server.New(server.Config{DataDir: dir, AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0", Demo: true, Stderr: io.Discard})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	go func() {
		<-s.Ready()
		fmt.Println("READY", s.AdminAddr(), s.DataAddr(), s.AdminToken())
	}()
	_ = s.Serve(context.Background())
	os.Exit(0)
}
