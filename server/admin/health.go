package admin

import (
	"context"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// WithStageHealth connects the data plane's target health: GetStageHealth
// calls f with the stage's resource name. Without it, GetStageHealth fails
// with FAILED_PRECONDITION.
func WithStageHealth(f func(stage string) []*adminv1.TargetHealth) Option {
	return func(s *Service) { s.stageHealth = f }
}

// GetStageHealth reports the health of a stage's targets as the data plane
// of this instance sees them.
func (s *Service) GetStageHealth(ctx context.Context, req *adminv1.GetStageHealthRequest) (*adminv1.StageHealth, error) {
	if _, err := getResource[adminv1.Stage](ctx, s, stages, req.GetName()); err != nil {
		return nil, err
	}
	if s.stageHealth == nil {
		return nil, preconditionFailed("NO_DATA_PLANE", req.GetName(), "target health is kept by the data plane, which this admin service is not connected to")
	}
	return &adminv1.StageHealth{Name: req.GetName(), Targets: s.stageHealth(req.GetName())}, nil
}
