package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestGracefulShutdownFinishesRESTCall cancels Serve while a REST call is
// still sending its body, and checks that the call completes normally. The
// call goes REST gateway → in-memory gRPC connection → gRPC server, so it
// also checks the shutdown order: the gRPC server must outlive the HTTP
// requests that use it.
func TestGracefulShutdownFinishesRESTCall(t *testing.T) {
	s, err := New(Config{
		DataDir:    t.TempDir(),
		AdminAddr:  "127.0.0.1:0",
		ListenAddr: "127.0.0.1:0",
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
		Stderr:     io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Observe the request arriving at the admin handler: the only way to
	// know, without sleeping, that the server holds the call before
	// shutdown starts.
	arrived := make(chan struct{})
	api := s.adminAPI
	s.adminAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/apis" {
			close(arrived)
		}
		api.ServeHTTP(w, r)
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-served:
		t.Fatalf("Serve: %v", err)
	}

	body, bodyW := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.AdminAddr()+"/v1/apis?apiId=slow", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken())
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		resp *http.Response
		err  error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		results <- result{resp, err}
	}()
	if _, err := io.WriteString(bodyW, `{"displayName":`); err != nil {
		t.Fatal(err)
	}
	<-arrived

	cancel()
	// Once the listener refuses connections, shutdown is under way.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", s.AdminAddr())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the admin listener is still open after cancellation")
		}
		time.Sleep(time.Millisecond)
	}
	if s.serving.Load() {
		t.Error("still ready during shutdown")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the call in flight finished", err)
	default:
	}

	if _, err := io.WriteString(bodyW, `"Slow"}`); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()
	res := <-results
	if res.err != nil {
		t.Fatalf("call in flight failed: %v", res.err)
	}
	defer res.resp.Body.Close()
	b, _ := io.ReadAll(res.resp.Body)
	if res.resp.StatusCode != http.StatusOK {
		t.Fatalf("call in flight: status %d, body %s", res.resp.StatusCode, b)
	}
	var api2 struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal(b, &api2); err != nil || api2.Name != "apis/slow" || api2.DisplayName != "Slow" {
		t.Errorf("call in flight answered %s (%v), want the created api", b, err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
}
