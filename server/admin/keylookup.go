package admin

import (
	"context"
	"errors"
	"fmt"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
	"github.com/tollgate-gw/tollgate/server/store"
)

var _ apikey.Lookup = (*Service)(nil)

// LookupAPIKey finds an API key by the hex SHA-256 of its value, with the
// stages its usage plans cover. It returns nil for an unknown key. The data
// plane calls it through an apikey.Cache.
func (s *Service) LookupAPIKey(ctx context.Context, hash string) (*apikey.Key, error) {
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
		out = &apikey.Key{Name: k.GetName(), Enabled: k.GetEnabled(), CustomerID: k.GetCustomerId(), UsagePlans: map[string]*adminv1.UsagePlan{}}
		if p := k.GetIpPolicy(); len(p.GetAllow()) > 0 || len(p.GetDeny()) > 0 {
			// Validated when written; compiled per lookup, which the
			// data plane caches.
			if out.IPPolicy, err = ipacl.Compile(p.GetAllow(), p.GetDeny()); err != nil {
				return fmt.Errorf("api key %s: ip policy: %w", k.GetName(), err)
			}
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
