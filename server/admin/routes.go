package admin

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateRoute creates a route of an API.
func (s *Service) CreateRoute(ctx context.Context, req *adminv1.CreateRouteRequest) (*adminv1.Route, error) {
	return createResource(ctx, s, routes, req.GetParent(), req.GetRouteId(), req.GetRoute(), func(tx store.Tx, r *adminv1.Route) error {
		if r.GetTimeout() == nil {
			r.Timeout = durationpb.New(defaultRouteTimeout)
		}
		if r.GetAuthorization() == nil {
			r.Authorization = &adminv1.RouteAuthorization{}
		}
		if r.GetAuthorization().GetType() == adminv1.RouteAuthorization_TYPE_UNSPECIFIED {
			r.Authorization.Type = adminv1.RouteAuthorization_TYPE_NONE
		}
		if err := s.checkRoute(tx, r); err != nil {
			return err
		}
		return indexRoute(tx, nil, r)
	})
}

// GetRoute gets a route.
func (s *Service) GetRoute(ctx context.Context, req *adminv1.GetRouteRequest) (*adminv1.Route, error) {
	return getResource[adminv1.Route](ctx, s, routes, req.GetName())
}

// ListRoutes lists the routes of an API in name order.
func (s *Service) ListRoutes(ctx context.Context, req *adminv1.ListRoutesRequest) (*adminv1.ListRoutesResponse, error) {
	items, next, err := listResources[adminv1.Route](ctx, s, routes, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListRoutesResponse{Routes: items, NextPageToken: next}, nil
}

// UpdateRoute updates a route.
func (s *Service) UpdateRoute(ctx context.Context, req *adminv1.UpdateRouteRequest) (*adminv1.Route, error) {
	return updateResource(ctx, s, routes, req.GetRoute(), req.GetUpdateMask(), func(tx store.Tx, old, r *adminv1.Route) error {
		if err := s.checkRoute(tx, r); err != nil {
			return err
		}
		return indexRoute(tx, old, r)
	})
}

// DeleteRoute deletes a route. Deployments keep their copy.
func (s *Service) DeleteRoute(ctx context.Context, req *adminv1.DeleteRouteRequest) (*emptypb.Empty, error) {
	if err := deleteResource(ctx, s, routes, req.GetName(), req.GetEtag(), unindexRoute); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// checkRoute validates a route against its API, its authorizer, and the
// API's other routes (two routes may not match the same calls), through
// the index of their matches (routeindex.go).
func (s *Service) checkRoute(tx store.Tx, r *adminv1.Route) error {
	apiName := parentOf(r.GetName())
	api, err := loadOr[adminv1.Api](tx, kindAPIs, "API", apiName)
	if err != nil {
		return err
	}
	var v violations
	validateRoute(&v, "route", r, api, s.maxRouteTimeout)
	s.checkDestinations(&v, "route", r)
	if err := v.err(); err != nil {
		return err
	}
	if auth := r.GetAuthorization().GetAuthorizer(); auth != "" {
		a, err := load[adminv1.Authorizer](tx, kindAuthorizers, auth)
		if errors.Is(err, store.ErrNotFound) {
			return invalidArgument("route.authorization.authorizer", "refers to authorizer %q, which does not exist", auth)
		} else if err != nil {
			return err
		}
		if len(r.GetAuthorization().GetScopes()) > 0 && a.GetJwt() == nil {
			return invalidArgument("route.authorization.scopes", "need a JWT authorizer; %q is a custom authorizer", auth)
		}
	}
	// One read of the index of the API's matches, not a scan of its routes.
	o, err := sameMatchRoute(tx, r)
	if err != nil {
		return err
	}
	if o != nil {
		return alreadyExists("route", o.GetName()+" (it matches the same calls)")
	}
	return nil
}

// sameMatch reports whether two routes match exactly the same calls.
func sameMatch(a, b *adminv1.Route) bool {
	switch am := a.GetMatch().(type) {
	case *adminv1.Route_GrpcMethod:
		return am.GrpcMethod == b.GetGrpcMethod()
	case *adminv1.Route_Http:
		return b.GetHttp() != nil && proto.Equal(am.Http, b.GetHttp())
	case *adminv1.Route_WebsocketRouteKey:
		return am.WebsocketRouteKey == b.GetWebsocketRouteKey()
	}
	return false
}
