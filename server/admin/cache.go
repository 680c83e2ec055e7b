package admin

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// WithCacheFlusher connects the data plane's response cache: FlushStageCache
// calls f with the stage's resource name and whether it shares its cache
// (Stage.shared_cache). An error of f (the shared cache in Redis did not
// answer) fails the call with UNAVAILABLE, reason
// CACHE_BACKEND_UNAVAILABLE: the caller should retry. Without it,
// FlushStageCache fails with FAILED_PRECONDITION.
func WithCacheFlusher(f func(ctx context.Context, stage string, shared bool) error) Option {
	return func(s *Service) { s.flushCache = f }
}

// WithAuthorizerCacheFlusher connects the data plane's custom authorizer
// policy caches: FlushStageAuthorizersCache calls f with the stage's
// resource name and the authorizer's ("" for all of the stage's). Without
// it, FlushStageAuthorizersCache fails with FAILED_PRECONDITION.
func WithAuthorizerCacheFlusher(f func(stage, authorizer string)) Option {
	return func(s *Service) { s.flushAuthorizers = f }
}

// FlushStageCache empties a stage's response cache, and only that: the
// custom authorizers' policy caches are emptied by
// FlushStageAuthorizersCache.
func (s *Service) FlushStageCache(ctx context.Context, req *adminv1.FlushStageCacheRequest) (*emptypb.Empty, error) {
	st, err := getResource[adminv1.Stage](ctx, s, stages, req.GetName())
	if err != nil {
		return nil, err
	}
	if s.flushCache == nil {
		return nil, preconditionFailed("NO_DATA_PLANE", req.GetName(), "the response cache is kept by the data plane, which this admin service is not connected to")
	}
	if err := s.flushCache(ctx, req.GetName(), st.GetSharedCache()); err != nil {
		st := status.Newf(codes.Unavailable, "the stage's response cache was flushed on the gateway nodes but not in Redis, whose shared entries would still be served; retry when Redis answers: %v", err)
		return nil, withDetails(st, &errdetails.ErrorInfo{Reason: "CACHE_BACKEND_UNAVAILABLE", Domain: errorDomain, Metadata: map[string]string{"stage": req.GetName()}})
	}
	return &emptypb.Empty{}, nil
}

// FlushStageAuthorizersCache empties the policy caches of a stage's custom
// authorizers, or of the one named in the request, so that each caller's
// next call asks its authorizer again. The response cache is untouched.
func (s *Service) FlushStageAuthorizersCache(ctx context.Context, req *adminv1.FlushStageAuthorizersCacheRequest) (*emptypb.Empty, error) {
	var v violations
	checkName(&v, "name", req.GetName(), "apis/*/stages/*")
	if a := req.GetAuthorizer(); a != "" {
		if ids := checkName(&v, "authorizer", a, "apis/*/authorizers/*"); ids != nil && parentOf(a) != parentOf(req.GetName()) {
			v.add("authorizer", "must be an authorizer of the stage's API (%s/authorizers/*), got %s", parentOf(req.GetName()), quoteShort(a))
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := getResource[adminv1.Stage](ctx, s, stages, req.GetName()); err != nil {
		return nil, err
	}
	if s.flushAuthorizers == nil {
		return nil, preconditionFailed("NO_DATA_PLANE", req.GetName(), "the authorizers' policy caches are kept by the data plane, which this admin service is not connected to")
	}
	s.flushAuthorizers(req.GetName(), req.GetAuthorizer())
	return &emptypb.Empty{}, nil
}
