package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// Path is where the console is served on the admin port.
const Path = "/console/"

// ContentSecurityPolicy is the policy of every console response: nothing
// but the console's own files and the admin API of the same origin, no
// inline script or style (the page has none), no plugins, no framing, no
// form submission anywhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// Handler returns the handler of the console's files for paths under Path.
// It answers GET and HEAD only; a request for "/console" (no slash) is
// redirected to Path.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic("console: embedded files: " + err.Error()) // the embed pattern guarantees the folder
	}
	fileServer := http.StripPrefix(Path, http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == Path[:len(Path)-1] {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change with the binary: revalidate rather than cache.
		h.Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}

// Matches reports whether an admin-port request path belongs to the
// console.
func Matches(path string) bool {
	return path == Path[:len(Path)-1] || len(path) >= len(Path) && path[:len(Path)] == Path
}
