package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/store"
)

var _ apikey.DigestLookup = (*Service)(nil)

// LookupAPIKey finds an API key by the hex SHA-256 of its value, with the
// stages its usage plans cover. It returns nil for an unknown key. It
// answers from the key index (see LoadKeyIndex), without reading the store,
// known and unknown keys alike. While the index is not loaded (before
// LoadKeyIndex, or after a read that followed a write failed) it asks the
// store through a short cache and loads the index in the background; when
// the store fails then too, the index's last answer, if it has one, is
// better than refusing every caller.
func (s *Service) LookupAPIKey(ctx context.Context, hash string) (*apikey.Key, error) {
	h, ok := decodeHash(hash) // not ok: no key has it
	return s.lookupKey(ctx, h, ok, hash)
}

// LookupAPIKeyDigest is LookupAPIKey with the digest as bytes, as the
// data plane's interceptor has it.
func (s *Service) LookupAPIKeyDigest(ctx context.Context, sum [sha256.Size]byte) (*apikey.Key, error) {
	return s.lookupKey(ctx, sum, true, "")
}

// lookupKey answers LookupAPIKey for the digest h (valid: h is one) whose
// hex form is hash ("": not encoded yet, only the store needs it).
func (s *Service) lookupKey(ctx context.Context, h [sha256.Size]byte, valid bool, hash string) (*apikey.Key, error) {
	k, loaded, ever := s.keys.lookup(h, valid)
	if loaded {
		return k, nil
	}
	if hash == "" {
		hash = hex.EncodeToString(h[:])
	}
	s.reloadSoon()
	fk, err := s.keyFallback.LookupAPIKey(ctx, hash)
	if err != nil && ever {
		return k, nil
	}
	return fk, err
}

// lookupAPIKeyInStore is LookupAPIKey reading the store.
func (s *Service) lookupAPIKeyInStore(ctx context.Context, hash string) (*apikey.Key, error) {
	var out *apikey.Key
	err := s.store.View(ctx, func(tx store.Tx) error {
		name, err := tx.Get(kindAPIKeyHashes, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		k, err := load[adminv1.ApiKey](tx, kindAPIKeys, string(name))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if out, err = resolvedKey(k, map[string]*adminv1.UsagePlan{}); err != nil {
			return err
		}
		memberships, err := planKeysOf(tx, k.GetName())
		if err != nil {
			return err
		}
		for _, m := range memberships {
			plan, err := load[adminv1.UsagePlan](tx, kindUsagePlans, parentOf(m.GetName()))
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			for _, as := range plan.GetApiStages() {
				out.UsagePlans[as.GetStage()] = plan
			}
		}
		return nil
	})
	return out, err
}
