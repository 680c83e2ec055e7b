package gateway

import (
	"net/http"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"

	"github.com/tollgate-gw/tollgate/internal/openapi"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// openapiPath is where a stage with openapi_document_enabled serves its
// deployment's OpenAPI document, relative to the stage.
const openapiPath = "/openapi.json"

// openapiDoc is a stage runtime's OpenAPI document, built once.
type openapiDoc struct {
	once sync.Once
	doc  *openapi.Document
	err  error
}

// serveOpenAPI answers GET {stage}/openapi.json for the first of stages
// that enables it and has no REST binding at that path (the API's own
// route wins), with the request's URL up to the stage as its server. It
// reports whether it answered.
func (g *Gateway) serveOpenAPI(w http.ResponseWriter, r *http.Request, cur *servedTable, stages []*routing.Stage, rest string) bool {
	for _, st := range stages {
		if rt := cur.stages.Value(st.PickCanary()); rt != nil && rt.matches(r.Method, rest) {
			return false
		}
	}
	for _, st := range stages {
		rt := cur.stages.Value(st)
		if rt == nil || !st.Config.GetOpenapiDocumentEnabled() {
			continue
		}
		rt.openapi.once.Do(func() {
			rt.openapi.doc, rt.openapi.err = openapi.Build(st.Snapshot, openapi.Options{
				Version: st.Deployment[strings.LastIndex(st.Deployment, "/")+1:],
				// The stage's snapshot is stripped of its descriptor set
				// (routing.withoutDescriptors): describe the linked files.
				Files: st.Files,
			})
		})
		if rt.openapi.err != nil {
			g.logger.Warn("openapi document not built", "stage", st.Name, "error", rt.openapi.err)
			writeError(w, http.StatusNotFound, codes.NotFound, "stage "+st.ID+" has no OpenAPI document")
			return true
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		doc := *rt.openapi.doc // a shallow copy: only its servers differ per request
		doc.Servers = []openapi.Server{{URL: scheme + "://" + r.Host + strings.TrimSuffix(r.URL.EscapedPath(), rest)}}
		b, err := openapi.Encode(&doc, openapi.OpenAPI3, openapi.JSON)
		if err != nil {
			g.logger.Warn("openapi document not encoded", "stage", st.Name, "error", err)
			writeError(w, http.StatusInternalServerError, codes.Internal, "the OpenAPI document could not be encoded")
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
		return true
	}
	return false
}
