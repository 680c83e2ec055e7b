package admin

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateDeployment snapshots an API with its routes and authorizers. The
// snapshot must be servable: every route has an integration (its own or the
// API's default) and, when the API carries descriptors, every gRPC route
// names a method they define.
func (s *Service) CreateDeployment(ctx context.Context, req *adminv1.CreateDeploymentRequest) (*adminv1.Deployment, error) {
	d := req.GetDeployment()
	if d == nil {
		// A deployment has nothing but a description to set, so an
		// absent body is a deployment without one.
		d = &adminv1.Deployment{}
	}
	return createResource(ctx, s, deployments, req.GetParent(), req.GetDeploymentId(), d, func(tx store.Tx, d *adminv1.Deployment) error {
		var v violations
		checkText(&v, "deployment.description", d.GetDescription(), maxDescription)
		if err := v.err(); err != nil {
			return err
		}
		apiName := req.GetParent()
		api, err := loadOr[adminv1.Api](tx, kindAPIs, "API", apiName)
		if err != nil {
			return err
		}
		rs, err := loadAll[adminv1.Route](tx, kindRoutes, apiName+"/routes/")
		if err != nil {
			return err
		}
		as, err := loadAll[adminv1.Authorizer](tx, kindAuthorizers, apiName+"/authorizers/")
		if err != nil {
			return err
		}
		if err := checkDeployable(api, rs); err != nil {
			return err
		}
		d.Snapshot = &adminv1.ApiSnapshot{Api: api, Routes: rs, Authorizers: as}
		return nil
	})
}

// checkDeployable reports the problems that would make a snapshot unservable.
func checkDeployable(api *adminv1.Api, rs []*adminv1.Route) error {
	var problems []string
	if api.GetDefaultIntegration() == nil {
		for _, r := range rs {
			if r.GetIntegration() == nil {
				problems = append(problems, fmt.Sprintf("route %q has no integration and the API has no default_integration", r.GetName()))
			}
		}
		if len(rs) == 0 {
			problems = append(problems, "the API has no routes and no default_integration, so nothing could be called")
		}
	}
	if files := apiFiles(api); files != nil {
		for _, r := range rs {
			if m := r.GetGrpcMethod(); m != "" {
				if msg := checkMethodExists(files, m); msg != "" {
					problems = append(problems, fmt.Sprintf("route %q: %s", r.GetName(), msg))
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return preconditionFailed("API_NOT_DEPLOYABLE", api.GetName(), "API %q cannot be deployed: %s", api.GetName(), strings.Join(problems, "; "))
}

// GetDeployment gets a deployment with its snapshot.
func (s *Service) GetDeployment(ctx context.Context, req *adminv1.GetDeploymentRequest) (*adminv1.Deployment, error) {
	return getResource[adminv1.Deployment](ctx, s, deployments, req.GetName())
}

// ListDeployments lists the deployments of an API in name order.
func (s *Service) ListDeployments(ctx context.Context, req *adminv1.ListDeploymentsRequest) (*adminv1.ListDeploymentsResponse, error) {
	items, next, err := listResources[adminv1.Deployment](ctx, s, deployments, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListDeploymentsResponse{Deployments: items, NextPageToken: next}, nil
}

// DeleteDeployment deletes a deployment that no stage serves, as its main
// deployment or as its canary.
func (s *Service) DeleteDeployment(ctx context.Context, req *adminv1.DeleteDeploymentRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, deployments, req.GetName(), req.GetEtag(), func(tx store.Tx, d *adminv1.Deployment) error {
		stageList, err := loadAll[adminv1.Stage](tx, kindStages, parentOf(d.GetName())+"/stages/")
		if err != nil {
			return err
		}
		for _, st := range stageList {
			if st.GetDeployment() == d.GetName() || st.GetCanary().GetDeployment() == d.GetName() {
				return preconditionFailed("STAGE_USES_DEPLOYMENT", st.GetName(),
					"deployment %q is served by stage %q: point the stage at another deployment first", d.GetName(), st.GetName())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
