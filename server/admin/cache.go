package admin

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// WithCacheFlusher connects the data plane's response cache: FlushStageCache
// calls f with the stage's resource name. Without it, FlushStageCache
// fails with FAILED_PRECONDITION.
func WithCacheFlusher(f func(stage string)) Option {
	return func(s *Service) { s.flushCache = f }
}

// FlushStageCache empties a stage's response cache.
func (s *Service) FlushStageCache(ctx context.Context, req *adminv1.FlushStageCacheRequest) (*emptypb.Empty, error) {
	if _, err := getResource[adminv1.Stage](ctx, s, stages, req.GetName()); err != nil {
		return nil, err
	}
	if s.flushCache == nil {
		return nil, preconditionFailed("NO_DATA_PLANE", req.GetName(), "the response cache is kept by the data plane, which this admin service is not connected to")
	}
	s.flushCache(req.GetName())
	return &emptypb.Empty{}, nil
}
