package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/server/console"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := console.Handler()
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/console.css", 200, "text/css; charset=utf-8"},
		{"HEAD", "/console/api.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/missing.js", 404, ""},
		{"POST", "/console/", 405, ""},
		{"GET", "/console", 301, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := get(t, h, tt.method, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if tt.status == 200 {
				if got := resp.Header.Get("Content-Security-Policy"); got != console.ContentSecurityPolicy {
					t.Errorf("CSP %q", got)
				}
				if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
					t.Errorf("headers %v", resp.Header)
				}
			}
		})
	}
	if loc := get(t, h, "GET", "/console").Header.Get("Location"); loc != "/console/" {
		t.Errorf("redirect to %q", loc)
	}
}

// TestNoInlineCode checks that the files follow the policy they are served
// with: no inline script or style, no event-handler attributes, no
// innerHTML, so that the CSP never has to be loosened.
func TestNoInlineCode(t *testing.T) {
	files := os.DirFS("static")
	script := regexp.MustCompile(`(?i)<script[^>]*>[^<]*</script>`)
	inline := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := files.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".html"):
			if m := inline.FindString(string(b)); m != "" {
				t.Errorf("%s has inline code: %q", path, m)
			}
			for _, tag := range script.FindAllString(string(b), -1) {
				if !strings.Contains(tag, ` src="`) || !strings.HasSuffix(tag, "></script>") {
					t.Errorf("%s has an inline script: %q", path, tag)
				}
			}
		case strings.HasSuffix(path, ".js"):
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"} {
				if strings.Contains(string(b), bad) {
					t.Errorf("%s uses %s", path, bad)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMatches(t *testing.T) {
	for path, want := range map[string]bool{
		"/console": true, "/console/": true, "/console/app.js": true,
		"/consoles": false, "/v1/apis": false, "/": false,
	} {
		if got := console.Matches(path); got != want {
			t.Errorf("Matches(%q) = %v", path, got)
		}
	}
}
