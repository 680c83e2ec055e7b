package admin

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/openapi"
)

// ExportDeployment renders a deployment as an OpenAPI document (see
// internal/openapi). With a stage, the document's server is the stage's
// base path, under server_url when set.
func (s *Service) ExportDeployment(ctx context.Context, req *adminv1.ExportDeploymentRequest) (*httpbody.HttpBody, error) {
	var v violations
	format, err := openapi.ParseFormat(req.GetFormat())
	if err != nil {
		v.add("format", "%v", err)
	}
	output, err := openapi.ParseOutput(req.GetOutput())
	if err != nil {
		v.add("output", "%v", err)
	}
	server := strings.TrimSuffix(req.GetServerUrl(), "/")
	if server != "" {
		if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			v.add("server_url", "must be an http:// or https:// URL without query or fragment, e.g. https://api.example.com")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	d, err := getResource[adminv1.Deployment](ctx, s, deployments, req.GetName())
	if err != nil {
		return nil, err
	}
	if st := req.GetStage(); st != "" {
		api := parentOf(d.GetName())
		if !strings.Contains(st, "/") {
			st = api + "/stages/" + st
		}
		if parentOf(st) != api {
			return nil, status.Errorf(codes.InvalidArgument, "stage %q is not a stage of %s", req.GetStage(), api)
		}
		stage, err := getResource[adminv1.Stage](ctx, s, stages, st)
		if err != nil {
			return nil, err
		}
		server += "/" + stage.GetName()[strings.LastIndex(stage.GetName(), "/")+1:]
	}
	b, err := openapi.Render(d.GetSnapshot(), format, output, openapi.Options{
		ServerURL: server,
		Version:   d.GetName()[strings.LastIndex(d.GetName(), "/")+1:],
	})
	switch {
	case errors.Is(err, openapi.ErrNotREST):
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	case err != nil:
		return nil, status.Errorf(codes.FailedPrecondition, "the deployment cannot be described: %v", err)
	}
	return &httpbody.HttpBody{ContentType: output.ContentType(), Data: b}, nil
}
