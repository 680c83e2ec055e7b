package admin

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateUsagePlan creates a usage plan. A new plan has no keys yet, so no
// key can be in two plans covering one stage because of it.
func (s *Service) CreateUsagePlan(ctx context.Context, req *adminv1.CreateUsagePlanRequest) (*adminv1.UsagePlan, error) {
	p, err := createResource(ctx, s, usagePlans, "", req.GetUsagePlanId(), req.GetUsagePlan(), func(tx store.Tx, p *adminv1.UsagePlan) error {
		if err := checkUsagePlan(tx, nil, p); err != nil {
			return err
		}
		return s.logKeyChange(tx, keyChange{plans: []string{p.GetName()}})
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, keyChange{plans: []string{p.GetName()}})
	return p, nil
}

// checkUsagePlan validates a plan, that its stages exist, and that none of
// its keys is in another plan covering one of the stages it covers newly
// (compared with old, nil for a new plan): a call must map to exactly one
// plan. Its cost grows with the plans that cover a new stage and the keys
// of the smaller plan of each pair, never with the plan's size otherwise.
func checkUsagePlan(tx store.Tx, old, p *adminv1.UsagePlan) error {
	var v violations
	validateUsagePlan(&v, "usage_plan", p)
	if err := v.err(); err != nil {
		return err
	}
	for i, as := range p.GetApiStages() {
		if err := checkRef(tx, &v, "usage_plan.api_stages["+strconv.Itoa(i)+"].stage", kindStages, "stage", as.GetStage()); err != nil {
			return err
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if old == nil {
		return nil
	}
	had := map[string]bool{}
	for _, as := range old.GetApiStages() {
		had[as.GetStage()] = true
	}
	added := map[string]bool{}
	for _, as := range p.GetApiStages() {
		if !had[as.GetStage()] {
			added[as.GetStage()] = true
		}
	}
	if len(added) == 0 {
		return nil
	}
	plans, err := loadAll[adminv1.UsagePlan](tx, kindUsagePlans, "")
	if err != nil {
		return err
	}
	for _, other := range plans {
		if other.GetName() == p.GetName() {
			continue
		}
		for _, as := range other.GetApiStages() {
			if !added[as.GetStage()] {
				continue
			}
			if key, err := sharedKey(tx, p.GetName(), other.GetName()); err != nil {
				return err
			} else if key != "" {
				return preconditionFailed("KEY_IN_TWO_PLANS", key,
					"API key %q is also in usage plan %q, which covers stage %q too; a key may be in only one plan per stage",
					key, other.GetName(), as.GetStage())
			}
			break
		}
	}
	return nil
}

// sharedKey returns the name of an API key in both plans, or "": it walks
// the keys of the smaller plan and looks each up in the other.
func sharedKey(tx store.Tx, a, b string) (string, error) {
	na, err := tx.Count(kindUsagePlanKeys, a+"/keys/")
	if err != nil {
		return "", err
	}
	nb, err := tx.Count(kindUsagePlanKeys, b+"/keys/")
	if err != nil {
		return "", err
	}
	if nb < na {
		a, b = b, a
	}
	const page = 1000
	after := ""
	for {
		recs, err := tx.List(kindUsagePlanKeys, a+"/keys/", after, page)
		if err != nil {
			return "", err
		}
		for _, r := range recs {
			id := lastID(r.Key)
			if ok, err := exists(tx, kindUsagePlanKeys, b+"/keys/"+id); err != nil {
				return "", err
			} else if ok {
				return "apiKeys/" + id, nil
			}
		}
		if len(recs) < page {
			return "", nil
		}
		after = recs[len(recs)-1].Key
	}
}

// checkKeyPlanConflict fails when apiKey is in a plan other than p that
// covers one of p's stages.
func checkKeyPlanConflict(tx store.Tx, apiKey string, p *adminv1.UsagePlan) error {
	memberships, err := planKeysOf(tx, apiKey)
	if err != nil {
		return err
	}
	covered := map[string]bool{}
	for _, as := range p.GetApiStages() {
		covered[as.GetStage()] = true
	}
	for _, m := range memberships {
		other := parentOf(m.GetName())
		if other == p.GetName() {
			continue
		}
		op, err := load[adminv1.UsagePlan](tx, kindUsagePlans, other)
		if err != nil {
			return err
		}
		for _, as := range op.GetApiStages() {
			if covered[as.GetStage()] {
				return preconditionFailed("KEY_IN_TWO_PLANS", apiKey,
					"API key %q is also in usage plan %q, which covers stage %q too; a key may be in only one plan per stage",
					apiKey, other, as.GetStage())
			}
		}
	}
	return nil
}

// GetUsagePlan gets a usage plan.
func (s *Service) GetUsagePlan(ctx context.Context, req *adminv1.GetUsagePlanRequest) (*adminv1.UsagePlan, error) {
	return getResource[adminv1.UsagePlan](ctx, s, usagePlans, req.GetName())
}

// ListUsagePlans lists usage plans in name order.
func (s *Service) ListUsagePlans(ctx context.Context, req *adminv1.ListUsagePlansRequest) (*adminv1.ListUsagePlansResponse, error) {
	items, next, err := listResources[adminv1.UsagePlan](ctx, s, usagePlans, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListUsagePlansResponse{UsagePlans: items, NextPageToken: next}, nil
}

// UpdateUsagePlan updates a usage plan.
func (s *Service) UpdateUsagePlan(ctx context.Context, req *adminv1.UpdateUsagePlanRequest) (*adminv1.UsagePlan, error) {
	p, err := updateResource(ctx, s, usagePlans, req.GetUsagePlan(), req.GetUpdateMask(), func(tx store.Tx, old, p *adminv1.UsagePlan) error {
		if err := checkUsagePlan(tx, old, p); err != nil {
			return err
		}
		// Its keys share the plan: O(the plan's keys) in memory, no
		// store read per key.
		return s.logKeyChange(tx, keyChange{plans: []string{p.GetName()}})
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, keyChange{plans: []string{p.GetName()}})
	return p, nil
}

// DeleteUsagePlan deletes a usage plan and its key memberships (the keys
// themselves remain).
func (s *Service) DeleteUsagePlan(ctx context.Context, req *adminv1.DeleteUsagePlanRequest) (*emptypb.Empty, error) {
	ch := keyChange{plans: []string{req.GetName()}}
	err := deleteResource(ctx, s, usagePlans, req.GetName(), req.GetEtag(), func(tx store.Tx, p *adminv1.UsagePlan) error {
		members, err := loadAll[adminv1.UsagePlanKey](tx, kindUsagePlanKeys, p.GetName()+"/keys/")
		if err != nil {
			return err
		}
		ch.keys = ch.keys[:0]
		for _, m := range members {
			if err := deleteMembership(tx, m); err != nil {
				return err
			}
			ch.keys = append(ch.keys, m.GetApiKey())
		}
		return s.logKeyChange(tx, ch)
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, ch)
	return &emptypb.Empty{}, nil
}

// CreateUsagePlanKey adds an API key to a usage plan. The new resource's ID
// is the key's ID.
func (s *Service) CreateUsagePlanKey(ctx context.Context, req *adminv1.CreateUsagePlanKeyRequest) (*adminv1.UsagePlanKey, error) {
	var v violations
	planKeys.checkParent(&v, req.GetParent())
	pk := req.GetUsagePlanKey()
	if pk == nil {
		v.add("usage_plan_key", "is required")
	} else {
		checkName(&v, "usage_plan_key.api_key", pk.GetApiKey(), "apiKeys/*")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	out := &adminv1.UsagePlanKey{
		Name:       req.GetParent() + "/keys/" + lastID(pk.GetApiKey()),
		ApiKey:     pk.GetApiKey(),
		CreateTime: timestamppb.New(s.now()),
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		plan, err := loadOr[adminv1.UsagePlan](tx, kindUsagePlans, "usage plan", req.GetParent())
		if err != nil {
			return err
		}
		if err := checkRef(tx, &v, "usage_plan_key.api_key", kindAPIKeys, "API key", pk.GetApiKey()); err != nil {
			return err
		}
		if err := v.err(); err != nil {
			return err
		}
		if ok, err := exists(tx, kindUsagePlanKeys, out.GetName()); err != nil {
			return err
		} else if ok {
			return alreadyExists("usage plan key", out.GetName())
		}
		if err := checkKeyPlanConflict(tx, pk.GetApiKey(), plan); err != nil {
			return err
		}
		if err := saveMembership(tx, out); err != nil {
			return err
		}
		return s.logKeyChange(tx, keyChange{keys: []string{out.GetApiKey()}})
	})
	if err != nil {
		return nil, internalError("create usage plan key", err)
	}
	s.keysChanged(ctx, keyChange{keys: []string{out.GetApiKey()}})
	return out, nil
}

// GetUsagePlanKey gets a usage plan key.
func (s *Service) GetUsagePlanKey(ctx context.Context, req *adminv1.GetUsagePlanKeyRequest) (*adminv1.UsagePlanKey, error) {
	return getResource[adminv1.UsagePlanKey](ctx, s, planKeys, req.GetName())
}

// ListUsagePlanKeys lists the keys of a usage plan in name order.
func (s *Service) ListUsagePlanKeys(ctx context.Context, req *adminv1.ListUsagePlanKeysRequest) (*adminv1.ListUsagePlanKeysResponse, error) {
	items, next, err := listResources[adminv1.UsagePlanKey](ctx, s, planKeys, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListUsagePlanKeysResponse{UsagePlanKeys: items, NextPageToken: next}, nil
}

// DeleteUsagePlanKey removes an API key from a usage plan.
func (s *Service) DeleteUsagePlanKey(ctx context.Context, req *adminv1.DeleteUsagePlanKeyRequest) (*emptypb.Empty, error) {
	var ch keyChange
	err := deleteResource(ctx, s, planKeys, req.GetName(), "", func(tx store.Tx, m *adminv1.UsagePlanKey) error {
		// deleteResource deletes the membership itself; its index entry goes with it.
		err := tx.Delete(kindAPIKeyPlans, m.GetApiKey()+"|"+parentOf(m.GetName()))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		ch.keys = []string{m.GetApiKey()}
		return s.logKeyChange(tx, ch)
	})
	if err != nil {
		return nil, err
	}
	s.keysChanged(ctx, ch)
	return &emptypb.Empty{}, nil
}
