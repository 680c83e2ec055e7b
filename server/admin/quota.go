package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/server/store"
)

// QuotaCounter is the data plane's quota counter, as the admin API needs it:
// reports flush it first so they include the latest calls, and AdjustQuota
// changes what it counts.
type QuotaCounter interface {
	Flush(ctx context.Context) error
	Adjust(ctx context.Context, plan *adminv1.UsagePlan, apiKey string, remaining int64) error
}

// WithQuotaCounter connects the data plane's quota counter. Without it,
// usage reports read only what is stored and AdjustQuota is unavailable.
func WithQuotaCounter(q QuotaCounter) Option {
	return func(s *Service) { s.quota = q }
}

// AdjustQuota sets the quota left to a key in its plan's current period.
func (s *Service) AdjustQuota(ctx context.Context, req *adminv1.AdjustQuotaRequest) (*adminv1.KeyUsage, error) {
	var v violations
	checkName(&v, "name", req.GetName(), "usagePlans/*/keys/*")
	if req.GetRemainingQuota() < 0 {
		v.add("remaining_quota", "must not be negative (got %d)", req.GetRemainingQuota())
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var plan *adminv1.UsagePlan
	var member *adminv1.UsagePlanKey
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if member, err = loadOr[adminv1.UsagePlanKey](tx, kindUsagePlanKeys, "usage plan key", req.GetName()); err != nil {
			return err
		}
		plan, err = loadOr[adminv1.UsagePlan](tx, kindUsagePlans, "usage plan", parentOf(req.GetName()))
		return err
	})
	if err != nil {
		return nil, internalError("adjust quota", err)
	}
	if plan.GetQuota() == nil {
		return nil, preconditionFailed("PLAN_HAS_NO_QUOTA", plan.GetName(), "usage plan %q has no quota to adjust", plan.GetName())
	}
	if s.quota == nil {
		return nil, preconditionFailed("NO_DATA_PLANE", plan.GetName(), "quotas are counted by the data plane, which this admin service is not connected to")
	}
	if err := s.quota.Adjust(ctx, plan, member.GetApiKey(), req.GetRemainingQuota()); err != nil {
		if errors.Is(err, quota.ErrSharedUnavailable) {
			st := status.New(codes.Unavailable, "adjust quota: the quota counts are kept in Redis, which does not answer; nothing was changed (adjusting one node would not hold across the fleet); retry when Redis answers")
			return nil, withDetails(st, &errdetails.ErrorInfo{Reason: "QUOTA_BACKEND_UNAVAILABLE", Domain: errorDomain, Metadata: map[string]string{"name": req.GetName()}})
		}
		return nil, internalError("adjust quota", err)
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	resp, err := s.GetUsage(ctx, &adminv1.GetUsageRequest{UsagePlan: plan.GetName(), ApiKey: member.GetApiKey(),
		StartDate: today.Format(dateLayout), EndDate: today.Format(dateLayout)})
	if err != nil {
		return nil, err
	}
	if len(resp.GetItems()) == 0 {
		return nil, internalError("adjust quota", errors.New("the key vanished from the plan"))
	}
	return resp.GetItems()[0], nil
}

// UsageStore keeps the data plane's daily call counts in the gateway's
// store (kind "usage", one record per plan, key and UTC day), for
// quota.Counter.
type UsageStore struct {
	store store.Store
}

var _ quota.Store = (*UsageStore)(nil)

// NewUsageStore returns the usage counts kept in st.
func NewUsageStore(st store.Store) *UsageStore { return &UsageStore{store: st} }

// DayCounts sums the stored counts of one key in one plan over [from, to).
func (u *UsageStore) DayCounts(ctx context.Context, plan, apiKey string, from, to time.Time) (int64, error) {
	var total int64
	err := u.store.View(ctx, func(tx store.Tx) error {
		for day := from.UTC(); day.Before(to); day = day.AddDate(0, 0, 1) {
			n, err := dayCount(tx, plan, lastID(apiKey), day)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}

// AddCounts adds deltas to the stored counts in one transaction.
func (u *UsageStore) AddCounts(ctx context.Context, deltas []quota.Delta) error {
	return u.store.Update(ctx, func(tx store.Tx) error {
		for _, d := range deltas {
			key := UsageKey(d.Plan, lastID(d.APIKey), d.Day)
			n, err := dayCount(tx, d.Plan, lastID(d.APIKey), d.Day)
			if err != nil {
				return fmt.Errorf("read usage %s: %w", key, err)
			}
			if err := tx.Put(kindUsage, key, []byte(strconv.FormatInt(n+d.Calls, 10))); err != nil {
				return err
			}
		}
		return nil
	})
}
