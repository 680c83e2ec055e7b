package admin

import (
	"context"
	"errors"

	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/adminauth"
	"github.com/tollgate-gw/tollgate/server/store"
)

// Store kinds of admin tokens: the tokens (without their values), the
// index from the SHA-256 of a value to the token's name, and its reverse,
// so that a delete also drops the index entry.
const (
	kindAdminTokens      store.Kind = "adminTokens"
	kindAdminTokenHashes store.Kind = "adminTokenHashes"
	kindAdminTokenHashOf store.Kind = "adminTokenHashOf"
)

var adminTokens = collection{kind: kindAdminTokens, typeName: "admin token", pattern: "adminTokens/*", field: "admin_token", idField: "admin_token_id", idPrefix: "token-"}

var _ adminauth.TokenLookup = (*Service)(nil)

// CreateAdminToken creates a named admin token. Its value is generated
// (256 bits) and appears only in this response: the store keeps its hash.
func (s *Service) CreateAdminToken(ctx context.Context, req *adminv1.CreateAdminTokenRequest) (*adminv1.AdminToken, error) {
	value, err := adminauth.GenerateToken()
	if err != nil {
		return nil, internalError("create admin token", err)
	}
	hash := adminauth.HashToken(value)
	t, err := createResource(ctx, s, adminTokens, "", req.GetAdminTokenId(), req.GetAdminToken(), func(tx store.Tx, t *adminv1.AdminToken) error {
		t.Value = "" // never stored
		var v violations
		validateAdminToken(&v, "admin_token", t, s.now())
		if err := v.err(); err != nil {
			return err
		}
		if err := tx.Put(kindAdminTokenHashes, hash, []byte(t.GetName())); err != nil {
			return err
		}
		return tx.Put(kindAdminTokenHashOf, t.GetName(), []byte(hash))
	})
	if err != nil {
		return nil, err
	}
	t.Value = value
	return t, nil
}

// GetAdminToken gets an admin token, without its value.
func (s *Service) GetAdminToken(ctx context.Context, req *adminv1.GetAdminTokenRequest) (*adminv1.AdminToken, error) {
	return getResource[adminv1.AdminToken](ctx, s, adminTokens, req.GetName())
}

// ListAdminTokens lists admin tokens in name order, without their values.
func (s *Service) ListAdminTokens(ctx context.Context, req *adminv1.ListAdminTokensRequest) (*adminv1.ListAdminTokensResponse, error) {
	items, next, err := listResources[adminv1.AdminToken](ctx, s, adminTokens, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListAdminTokensResponse{AdminTokens: items, NextPageToken: next}, nil
}

// DeleteAdminToken revokes an admin token: the next call with it is refused.
func (s *Service) DeleteAdminToken(ctx context.Context, req *adminv1.DeleteAdminTokenRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, adminTokens, req.GetName(), req.GetEtag(), func(tx store.Tx, t *adminv1.AdminToken) error {
		hash, err := tx.Get(kindAdminTokenHashOf, t.GetName())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.Delete(kindAdminTokenHashes, string(hash)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Delete(kindAdminTokenHashOf, t.GetName())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// LookupAdminToken finds an admin token by the hex SHA-256 of its value,
// for adminauth. It returns nil for an unknown token; expiry is the
// caller's to check.
func (s *Service) LookupAdminToken(ctx context.Context, hash string) (*adminv1.AdminToken, error) {
	var out *adminv1.AdminToken
	err := s.store.View(ctx, func(tx store.Tx) error {
		name, err := tx.Get(kindAdminTokenHashes, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		out, err = load[adminv1.AdminToken](tx, kindAdminTokens, string(name))
		if errors.Is(err, store.ErrNotFound) {
			out, err = nil, nil
		}
		return err
	})
	return out, err
}
