package admin

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateStage creates a stage serving a deployment of the same API. It is
// refused with INVALID_ARGUMENT (on stage.deployment or
// stage.canary.deployment) if the data plane's pre-flight compile cannot
// serve the stage.
func (s *Service) CreateStage(ctx context.Context, req *adminv1.CreateStageRequest) (*adminv1.Stage, error) {
	return createResource(ctx, s, stages, req.GetParent(), req.GetStageId(), req.GetStage(), func(tx store.Tx, st *adminv1.Stage) error {
		stageDefaults(st)
		if err := checkStage(tx, st); err != nil {
			return err
		}
		return s.checkStageServable(ctx, tx, st, nil, stageField)
	})
}

// stageDefaults fills the documented defaults of the cache settings.
func stageDefaults(st *adminv1.Stage) {
	if c := st.GetCache(); c != nil {
		if c.GetCapacityBytes() == 0 {
			c.CapacityBytes = defaultCacheCapacity
		}
		if c.TtlSeconds == nil {
			c.TtlSeconds = proto.Int32(defaultCacheTTL)
		}
		if c.GetMaxEntryBytes() == 0 {
			c.MaxEntryBytes = defaultCacheMaxEntry
		}
		if c.GetUnauthorizedCacheControl() == adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_UNSPECIFIED {
			c.UnauthorizedCacheControl = adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE
		}
	}
}

// checkStage validates a stage and that its deployments belong to its API.
func checkStage(tx store.Tx, st *adminv1.Stage) error {
	var v violations
	validateStage(&v, "stage", st)
	api := parentOf(st.GetName())
	refs := []struct{ field, name string }{
		{"stage.deployment", st.GetDeployment()},
		{"stage.canary.deployment", st.GetCanary().GetDeployment()},
	}
	for _, ref := range refs {
		if _, ok := parseName(ref.name, "apis/*/deployments/*"); !ok {
			continue // reported by validateStage
		}
		if parentOf(ref.name) != api {
			v.add(ref.field, "must be a deployment of the stage's API (%s/deployments/*), got %q", api, ref.name)
			continue
		}
		if err := checkRef(tx, &v, ref.field, kindDeployments, "deployment", ref.name); err != nil {
			return err
		}
	}
	return v.err()
}

// GetStage gets a stage.
func (s *Service) GetStage(ctx context.Context, req *adminv1.GetStageRequest) (*adminv1.Stage, error) {
	return getResource[adminv1.Stage](ctx, s, stages, req.GetName())
}

// ListStages lists the stages of an API in name order.
func (s *Service) ListStages(ctx context.Context, req *adminv1.ListStagesRequest) (*adminv1.ListStagesResponse, error) {
	items, next, err := listResources[adminv1.Stage](ctx, s, stages, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListStagesResponse{Stages: items, NextPageToken: next}, nil
}

// UpdateStage updates a stage. Changing its deployment deploys or rolls
// back: the data plane swaps the routing table atomically. As CreateStage,
// it is refused with INVALID_ARGUMENT (on stage.deployment or
// stage.canary.deployment) if the data plane's pre-flight compile cannot
// serve the stage.
func (s *Service) UpdateStage(ctx context.Context, req *adminv1.UpdateStageRequest) (*adminv1.Stage, error) {
	return updateResource(ctx, s, stages, req.GetStage(), req.GetUpdateMask(), func(tx store.Tx, old, st *adminv1.Stage) error {
		stageDefaults(st)
		if err := checkStage(tx, st); err != nil {
			return err
		}
		if proto.Equal(old, st) {
			return nil // nothing changes, nothing to check
		}
		return s.checkStageServable(ctx, tx, st, nil, stageField)
	})
}

// DeleteStage deletes a stage that no usage plan covers.
func (s *Service) DeleteStage(ctx context.Context, req *adminv1.DeleteStageRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, stages, req.GetName(), req.GetEtag(), func(tx store.Tx, st *adminv1.Stage) error {
		if err := refuseIfMapped(tx, st.GetName()); err != nil {
			return err
		}
		return refuseIfPlanCovers(tx, st.GetName())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// refuseIfPlanCovers fails when a usage plan covers the stage, since keys of
// that plan would silently lose access.
func refuseIfPlanCovers(tx store.Tx, stage string) error {
	plans, err := loadAll[adminv1.UsagePlan](tx, kindUsagePlans, "usagePlans/")
	if err != nil {
		return err
	}
	for _, p := range plans {
		for _, as := range p.GetApiStages() {
			if as.GetStage() == stage {
				return preconditionFailed("USAGE_PLAN_COVERS_STAGE", p.GetName(),
					"stage %q is covered by usage plan %q: remove it from the plan's api_stages first", stage, p.GetName())
			}
		}
	}
	return nil
}
