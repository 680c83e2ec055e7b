package admin

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateAuthorizer creates an authorizer of an API.
func (s *Service) CreateAuthorizer(ctx context.Context, req *adminv1.CreateAuthorizerRequest) (*adminv1.Authorizer, error) {
	return createResource(ctx, s, authorizers, req.GetParent(), req.GetAuthorizerId(), req.GetAuthorizer(), func(_ store.Tx, a *adminv1.Authorizer) error {
		authorizerDefaults(a)
		var v violations
		validateAuthorizer(&v, "authorizer", a)
		s.checkDestinations(&v, "authorizer", a)
		return v.err()
	})
}

// authorizerDefaults fills the documented defaults of unset fields.
func authorizerDefaults(a *adminv1.Authorizer) {
	if j := a.GetJwt(); j != nil {
		if len(j.GetIdentitySources()) == 0 {
			j.IdentitySources = []string{"$request.header.Authorization"}
		}
		if j.GetLeeway() == nil {
			j.Leeway = durationpb.New(defaultJWTLeeway)
		}
	}
	if c := a.GetCustom(); c != nil {
		if c.ResultTtlSeconds == nil {
			c.ResultTtlSeconds = proto.Int32(defaultAuthorizerTTL)
		}
		if c.GetTimeout() == nil {
			c.Timeout = durationpb.New(defaultAuthorizerTimeout)
		}
	}
}

// GetAuthorizer gets an authorizer.
func (s *Service) GetAuthorizer(ctx context.Context, req *adminv1.GetAuthorizerRequest) (*adminv1.Authorizer, error) {
	return getResource[adminv1.Authorizer](ctx, s, authorizers, req.GetName())
}

// ListAuthorizers lists the authorizers of an API in name order.
func (s *Service) ListAuthorizers(ctx context.Context, req *adminv1.ListAuthorizersRequest) (*adminv1.ListAuthorizersResponse, error) {
	items, next, err := listResources[adminv1.Authorizer](ctx, s, authorizers, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListAuthorizersResponse{Authorizers: items, NextPageToken: next}, nil
}

// UpdateAuthorizer updates an authorizer. It may not turn a JWT authorizer
// that routes ask scopes of into a custom one.
func (s *Service) UpdateAuthorizer(ctx context.Context, req *adminv1.UpdateAuthorizerRequest) (*adminv1.Authorizer, error) {
	return updateResource(ctx, s, authorizers, req.GetAuthorizer(), req.GetUpdateMask(), func(tx store.Tx, _, a *adminv1.Authorizer) error {
		authorizerDefaults(a)
		var v violations
		validateAuthorizer(&v, "authorizer", a)
		s.checkDestinations(&v, "authorizer", a)
		if err := v.err(); err != nil {
			return err
		}
		if a.GetJwt() != nil {
			return nil
		}
		users, err := routesUsing(tx, a.GetName())
		if err != nil {
			return err
		}
		for _, r := range users {
			if len(r.GetAuthorization().GetScopes()) > 0 {
				return preconditionFailed("ROUTE_NEEDS_JWT", r.GetName(),
					"route %q checks scopes, which only a JWT authorizer provides", r.GetName())
			}
		}
		return nil
	})
}

// DeleteAuthorizer deletes an authorizer that no route uses.
func (s *Service) DeleteAuthorizer(ctx context.Context, req *adminv1.DeleteAuthorizerRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, authorizers, req.GetName(), req.GetEtag(), func(tx store.Tx, a *adminv1.Authorizer) error {
		users, err := routesUsing(tx, a.GetName())
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return preconditionFailed("AUTHORIZER_IN_USE", users[0].GetName(),
				"authorizer %q is used by route %q (and %d more): change those routes first", a.GetName(), users[0].GetName(), len(users)-1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// routesUsing returns the live routes that reference an authorizer.
func routesUsing(tx store.Tx, authorizer string) ([]*adminv1.Route, error) {
	all, err := loadAll[adminv1.Route](tx, kindRoutes, parentOf(authorizer)+"/routes/")
	if err != nil {
		return nil, err
	}
	var out []*adminv1.Route
	for _, r := range all {
		if r.GetAuthorization().GetAuthorizer() == authorizer {
			out = append(out, r)
		}
	}
	return out, nil
}
