package slowclient_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/slowclient"
)

// TestHandler checks, over a real socket, what the limits must let pass
// (an event stream idle for longer than the grace, a prompt body, a body
// the handler never reads) and what they stop (a trickled body).
func TestHandler(t *testing.T) {
	limits := slowclient.Limits{BodyTimeout: 2 * time.Second, MinReadRate: 1000, MinWriteRate: 1000, Grace: 200 * time.Millisecond}
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "event %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(500 * time.Millisecond) // idle: more than the grace
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest) // replaced by 408
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/ignore", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond) // past the rate deadline of the unread body
		_, _ = io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(slowclient.Handler(mux, limits, nil))
	t.Cleanup(srv.Close)

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		trickle    bool
		wantStatus int
		wantBody   string
	}{
		{"idle event stream", "GET", "/events", "", false, 200, "event 0\nevent 1\nevent 2\n"},
		{"prompt body", "POST", "/echo", "hello", false, 200, "hello"},
		{"unread body", "POST", "/ignore", "hello", false, 200, "ok"},
		{"trickled body", "POST", "/echo", strings.Repeat("x", 100), true, 408, `{"code":4,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", tt.method, tt.path, len(tt.body))
			if tt.trickle {
				go func() {
					for i := range len(tt.body) {
						if _, err := c.Write([]byte{tt.body[i]}); err != nil {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				}()
			} else {
				_, _ = io.WriteString(c, tt.body)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the response: %v (got %q)", err, b)
			}
			if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(string(b), tt.wantBody) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
