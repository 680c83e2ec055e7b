package admin

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateApi creates an API.
func (s *Service) CreateApi(ctx context.Context, req *adminv1.CreateApiRequest) (*adminv1.Api, error) {
	return createResource(ctx, s, apis, "", req.GetApiId(), req.GetApi(), func(_ store.Tx, a *adminv1.Api) error {
		if a.GetProtocol() == adminv1.Api_PROTOCOL_UNSPECIFIED {
			a.Protocol = adminv1.Api_PROTOCOL_GRPC_REST
		}
		if a.GetApiKeySource() == adminv1.Api_API_KEY_SOURCE_UNSPECIFIED {
			a.ApiKeySource = adminv1.Api_API_KEY_SOURCE_HEADER
		}
		var v violations
		validateAPI(&v, "api", a)
		s.checkDestinations(&v, "api", a)
		if err := v.err(); err != nil {
			return err
		}
		return s.checkServiceConfigServable(ctx, a)
	})
}

// GetApi gets an API.
func (s *Service) GetApi(ctx context.Context, req *adminv1.GetApiRequest) (*adminv1.Api, error) {
	a, err := getResource[adminv1.Api](ctx, s, apis, req.GetName())
	if err != nil {
		return nil, err
	}
	applyAPIView(a, req.GetView(), adminv1.ApiView_API_VIEW_FULL)
	return a, nil
}

// ListApis lists APIs in name order, by default without their descriptor
// sets (API_VIEW_BASIC).
func (s *Service) ListApis(ctx context.Context, req *adminv1.ListApisRequest) (*adminv1.ListApisResponse, error) {
	items, next, err := listResources[adminv1.Api](ctx, s, apis, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	for _, a := range items {
		applyAPIView(a, req.GetView(), adminv1.ApiView_API_VIEW_BASIC)
	}
	return &adminv1.ListApisResponse{Apis: items, NextPageToken: next}, nil
}

// applyAPIView clears what view (or, unspecified, def) leaves out of a.
func applyAPIView(a *adminv1.Api, view, def adminv1.ApiView) {
	if view == adminv1.ApiView_API_VIEW_UNSPECIFIED {
		view = def
	}
	if view == adminv1.ApiView_API_VIEW_BASIC {
		if _, ok := a.GetDescriptorSource().(*adminv1.Api_FileDescriptorSet); ok {
			a.DescriptorSource = nil
		}
	}
}

// UpdateApi updates an API. Routes that no longer match the new schema are
// reported when the API is next deployed, not here: the live configuration
// may be inconsistent while it is being edited.
func (s *Service) UpdateApi(ctx context.Context, req *adminv1.UpdateApiRequest) (*adminv1.Api, error) {
	return updateResource(ctx, s, apis, req.GetApi(), req.GetUpdateMask(), func(_ store.Tx, _, a *adminv1.Api) error {
		if a.GetApiKeySource() == adminv1.Api_API_KEY_SOURCE_UNSPECIFIED {
			a.ApiKeySource = adminv1.Api_API_KEY_SOURCE_HEADER
		}
		var v violations
		validateAPI(&v, "api", a)
		s.checkDestinations(&v, "api", a)
		if err := v.err(); err != nil {
			return err
		}
		return s.checkServiceConfigServable(ctx, a)
	})
}

// checkServiceConfigServable runs the pre-flight compile over the API
// alone (no routes: they are checked when the API is deployed) with its
// service config's rules merged into its uploaded descriptors, so that a
// rule the data plane could not serve is refused when it is written, as
// CreateDeployment would refuse it. a has been validated.
func (s *Service) checkServiceConfigServable(ctx context.Context, a *adminv1.Api) error {
	if s.preflight == nil || a.GetServiceConfigYaml() == "" || a.GetFileDescriptorSet() == nil {
		return nil
	}
	set, err := serviceconfig.ApplySet(a.GetFileDescriptorSet(), a.GetServiceConfigYaml())
	if err != nil {
		return fmt.Errorf("merge the service config: %w", err) // validated: cannot happen
	}
	api := proto.Clone(a).(*adminv1.Api)
	api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: set}
	d := &adminv1.Deployment{Name: a.GetName() + "/deployments/" + preflightStageID, Snapshot: &adminv1.ApiSnapshot{Api: api}}
	st := &adminv1.Stage{Name: a.GetName() + "/stages/" + preflightStageID, Deployment: d.GetName()}
	cfg := DeployedConfig{Stages: []DeployedStage{{Stage: st, Deployment: d}}}
	return s.checkServable(ctx, cfg, func(PreflightProblem) string { return "api.service_config_yaml" })
}

// DeleteApi deletes an API. With force it also deletes its routes,
// authorizers, deployments and stages; it never deletes a stage that a usage
// plan covers.
func (s *Service) DeleteApi(ctx context.Context, req *adminv1.DeleteApiRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, apis, req.GetName(), req.GetEtag(), func(tx store.Tx, a *adminv1.Api) error {
		children := []store.Kind{kindRoutes, kindAuthorizers, kindDeployments, kindStages}
		prefix := a.GetName() + "/"
		stageList, err := loadAll[adminv1.Stage](tx, kindStages, prefix)
		if err != nil {
			return err
		}
		for _, st := range stageList {
			if err := refuseIfMapped(tx, st.GetName()); err != nil {
				return err
			}
			if err := refuseIfPlanCovers(tx, st.GetName()); err != nil {
				return err
			}
		}
		if !req.GetForce() {
			for _, k := range children {
				n, err := tx.Count(k, prefix)
				if err != nil {
					return err
				}
				if n > 0 {
					return preconditionFailed("API_HAS_CHILDREN", a.GetName(),
						"API %q still has %d %s: delete them first, or set force to delete them with the API", a.GetName(), n, k)
				}
			}
			return deleteAll(tx, kindRouteMatches, prefix)
		}
		children = append(children, kindRouteMatches)
		for _, k := range children {
			if err := deleteAll(tx, k, prefix); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
