package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/store"
)

// kindAPIKeyHashOf maps a key's name to the hash of its secret, so that
// deleting a key also deletes its entry in kindAPIKeyHashes.
const kindAPIKeyHashOf store.Kind = "apiKeyHashOf"

// apiKeyPrefix starts every generated key, so leaked keys are recognisable
// by secret scanners.
const apiKeyPrefix = "tgk_"

// generateKeyValue returns a new secret with 256 bits of entropy.
func generateKeyValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateApiKey creates an API key. The response is the only place its value
// ever appears.
func (s *Service) CreateApiKey(ctx context.Context, req *adminv1.CreateApiKeyRequest) (*adminv1.ApiKey, error) {
	in := req.GetApiKey()
	if in == nil {
		// Every field of a key is optional, so an absent body is a key
		// with a generated value.
		in = &adminv1.ApiKey{}
	}
	value := in.GetValue()
	if value == "" {
		value = generateKeyValue()
	} else {
		var v violations
		checkKeyValue(&v, "api_key.value", value)
		if err := v.err(); err != nil {
			return nil, err
		}
	}
	hash := apikey.Hash(value)
	k, err := createResource(ctx, s, apiKeys, "", req.GetApiKeyId(), in, func(tx store.Tx, k *adminv1.ApiKey) error {
		k.Value = "" // never stored
		if k.Enabled == nil {
			k.Enabled = proto.Bool(true)
		}
		var v violations
		validateAPIKey(&v, "api_key", k)
		if err := v.err(); err != nil {
			return err
		}
		if taken, err := exists(tx, kindAPIKeyHashes, hash); err != nil {
			return err
		} else if taken {
			// Say which field, never which key holds the value.
			return alreadyExists("API key", "with this value")
		}
		if err := tx.Put(kindAPIKeyHashes, hash, []byte(k.GetName())); err != nil {
			return err
		}
		if err := tx.Put(kindAPIKeyHashOf, k.GetName(), []byte(hash)); err != nil {
			return err
		}
		return s.logKeyChange(tx, keyChange{keys: []string{k.GetName()}})
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, keyChange{keys: []string{k.GetName()}})
	k.Value = value
	return k, nil
}

// GetApiKey gets an API key, without its value.
func (s *Service) GetApiKey(ctx context.Context, req *adminv1.GetApiKeyRequest) (*adminv1.ApiKey, error) {
	return getResource[adminv1.ApiKey](ctx, s, apiKeys, req.GetName())
}

// ListApiKeys lists API keys in name order, without their values.
func (s *Service) ListApiKeys(ctx context.Context, req *adminv1.ListApiKeysRequest) (*adminv1.ListApiKeysResponse, error) {
	items, next, err := listResources[adminv1.ApiKey](ctx, s, apiKeys, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListApiKeysResponse{ApiKeys: items, NextPageToken: next}, nil
}

// UpdateApiKey updates an API key, e.g. to disable it. Its value cannot change.
func (s *Service) UpdateApiKey(ctx context.Context, req *adminv1.UpdateApiKeyRequest) (*adminv1.ApiKey, error) {
	k, err := updateResource(ctx, s, apiKeys, req.GetApiKey(), req.GetUpdateMask(), func(tx store.Tx, _, k *adminv1.ApiKey) error {
		if k.Enabled == nil {
			k.Enabled = proto.Bool(true)
		}
		var v violations
		validateAPIKey(&v, "api_key", k)
		if err := v.err(); err != nil {
			return err
		}
		return s.logKeyChange(tx, keyChange{keys: []string{k.GetName()}})
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, keyChange{keys: []string{k.GetName()}})
	return k, nil
}

// DeleteApiKey deletes an API key and removes it from every usage plan.
func (s *Service) DeleteApiKey(ctx context.Context, req *adminv1.DeleteApiKeyRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, apiKeys, req.GetName(), req.GetEtag(), func(tx store.Tx, k *adminv1.ApiKey) error {
		hash, err := tx.Get(kindAPIKeyHashOf, k.GetName())
		if err == nil {
			if err := tx.Delete(kindAPIKeyHashes, string(hash)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.Delete(kindAPIKeyHashOf, k.GetName()); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		memberships, err := planKeysOf(tx, k.GetName())
		if err != nil {
			return err
		}
		for _, pk := range memberships {
			if err := deleteMembership(tx, pk); err != nil {
				return err
			}
		}
		return s.logKeyChange(tx, keyChange{keys: []string{k.GetName()}})
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, keyChange{keys: []string{req.GetName()}})
	return &emptypb.Empty{}, nil
}

// planKeysOf returns the usage plan memberships of an API key, from the
// kindAPIKeyPlans index: the cost grows with the key's plans, not with the
// size of the plans.
func planKeysOf(tx store.Tx, apiKey string) ([]*adminv1.UsagePlanKey, error) {
	prefix := apiKey + "|"
	recs, err := tx.List(kindAPIKeyPlans, prefix, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*adminv1.UsagePlanKey, 0, len(recs))
	for _, r := range recs {
		m, err := load[adminv1.UsagePlanKey](tx, kindUsagePlanKeys, membershipName(r.Key[len(prefix):], apiKey))
		if errors.Is(err, store.ErrNotFound) {
			continue // a stale index entry; the membership is what counts
		} else if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// membershipName is the name of apiKey's membership of plan; its ID is the
// key's.
func membershipName(plan, apiKey string) string {
	return plan + "/keys/" + lastID(apiKey)
}

// saveMembership writes a usage plan membership and its index entry.
func saveMembership(tx store.Tx, m *adminv1.UsagePlanKey) error {
	if err := save(tx, kindUsagePlanKeys, m.GetName(), m); err != nil {
		return err
	}
	return tx.Put(kindAPIKeyPlans, m.GetApiKey()+"|"+parentOf(m.GetName()), nil)
}

// deleteMembership deletes a usage plan membership and its index entry.
func deleteMembership(tx store.Tx, m *adminv1.UsagePlanKey) error {
	if err := tx.Delete(kindUsagePlanKeys, m.GetName()); err != nil {
		return err
	}
	if err := tx.Delete(kindAPIKeyPlans, m.GetApiKey()+"|"+parentOf(m.GetName())); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
