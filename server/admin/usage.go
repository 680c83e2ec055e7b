package admin

import (
	"context"
	"errors"
	"strconv"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/server/store"
)

// dateLayout is the layout of usage dates.
const dateLayout = "2006-01-02"

// maxUsageDays bounds one usage report.
const maxUsageDays = 366

// UsageKey returns the store key under which the data plane counts the calls
// of an API key in a usage plan on one UTC day.
func UsageKey(plan, apiKeyID string, day time.Time) string {
	return plan + "/keys/" + apiKeyID + "/" + day.UTC().Format(dateLayout)
}

// GetUsage reports calls per key per day for a usage plan, with the quota
// left in the current period.
func (s *Service) GetUsage(ctx context.Context, req *adminv1.GetUsageRequest) (*adminv1.GetUsageResponse, error) {
	var v violations
	checkName(&v, "usage_plan", req.GetUsagePlan(), "usagePlans/*")
	// Either date may be left out: the report then covers the plan's current
	// quota period (the current UTC month without a quota) up to today.
	var start, end time.Time
	var errStart, errEnd error
	if d := req.GetStartDate(); d != "" {
		if start, errStart = time.Parse(dateLayout, d); errStart != nil {
			v.add("start_date", `must be a date "YYYY-MM-DD" or empty for the current period (got %s)`, quoteShort(d))
		}
	}
	if d := req.GetEndDate(); d != "" {
		if end, errEnd = time.Parse(dateLayout, d); errEnd != nil {
			v.add("end_date", `must be a date "YYYY-MM-DD" or empty for today (got %s)`, quoteShort(d))
		}
	}
	if !start.IsZero() && !end.IsZero() {
		if end.Before(start) {
			v.add("end_date", "must not be before start_date")
		} else if days := int(end.Sub(start).Hours()/24) + 1; days > maxUsageDays {
			v.add("end_date", "must be at most %d days after start_date (got %d days)", maxUsageDays-1, days-1)
		}
	}
	if req.GetApiKey() != "" {
		checkName(&v, "api_key", req.GetApiKey(), "apiKeys/*")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if s.quota != nil {
		// Include the calls counted since the data plane's last flush.
		if err := s.quota.Flush(ctx); err != nil {
			s.logger.WarnContext(ctx, "usage report without the latest calls: flushing the counter failed", "error", err)
		}
	}
	plan := req.GetUsagePlan()
	prefix := plan + "/keys/"
	p, err := parsePage(prefix, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &adminv1.GetUsageResponse{UsagePlan: plan}
	err = s.store.View(ctx, func(tx store.Tx) error {
		up, err := loadOr[adminv1.UsagePlan](tx, kindUsagePlans, "usage plan", plan)
		if err != nil {
			return err
		}
		start, end, err := usageDates(up, start, end, s.now())
		if err != nil {
			return err
		}
		resp.StartDate, resp.EndDate = start.Format(dateLayout), end.Format(dateLayout)
		var members []*adminv1.UsagePlanKey
		var next string
		if k := req.GetApiKey(); k != "" {
			m, err := load[adminv1.UsagePlanKey](tx, kindUsagePlanKeys, prefix+lastID(k))
			if errors.Is(err, store.ErrNotFound) {
				return invalidArgument("api_key", "%q is not a key of usage plan %q", k, plan)
			} else if err != nil {
				return err
			}
			members = append(members, m)
		} else if members, next, err = listPage[adminv1.UsagePlanKey](tx, kindUsagePlanKeys, prefix, p); err != nil {
			return err
		}
		resp.NextPageToken = next
		for _, m := range members {
			ku, err := keyUsage(tx, up, m, start, end, s.now())
			if err != nil {
				return err
			}
			resp.Items = append(resp.Items, ku)
		}
		return nil
	})
	if err != nil {
		return nil, internalError("get usage", err)
	}
	return resp, nil
}

// usageDates fills in the dates a usage request left out: the start of the
// plan's current quota period (of the current UTC month without a quota)
// and today.
func usageDates(plan *adminv1.UsagePlan, start, end, now time.Time) (time.Time, time.Time, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	if end.IsZero() {
		end = today
	}
	if start.IsZero() {
		if q := plan.GetQuota(); q != nil {
			start, _ = QuotaPeriod(q, now)
		} else {
			start = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		if start.After(end) {
			start = end
		}
	}
	if end.Before(start) {
		return start, end, invalidArgument("end_date", "must not be before start_date (%s)", start.Format(dateLayout))
	}
	if days := int(end.Sub(start).Hours()/24) + 1; days > maxUsageDays {
		return start, end, invalidArgument("start_date", "must be at most %d days before end_date (got %d days)", maxUsageDays-1, days-1)
	}
	return start, end, nil
}

// keyUsage reads the daily counts of one key and its remaining quota.
func keyUsage(tx store.Tx, plan *adminv1.UsagePlan, m *adminv1.UsagePlanKey, start, end, now time.Time) (*adminv1.KeyUsage, error) {
	id := lastID(m.GetName())
	ku := &adminv1.KeyUsage{ApiKey: m.GetApiKey(), RemainingQuota: -1}
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		n, err := dayCount(tx, plan.GetName(), id, day)
		if err != nil {
			return nil, err
		}
		ku.Days = append(ku.Days, &adminv1.DailyUsage{Date: day.Format(dateLayout), Calls: n})
	}
	if q := plan.GetQuota(); q != nil {
		from, to := QuotaPeriod(q, now)
		var used int64
		for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
			n, err := dayCount(tx, plan.GetName(), id, day)
			if err != nil {
				return nil, err
			}
			used += n
		}
		ku.RemainingQuota = max(q.GetLimit()-used, 0)
	}
	return ku, nil
}

// dayCount reads one day's count; a day without calls has no record.
func dayCount(tx store.Tx, plan, keyID string, day time.Time) (int64, error) {
	b, err := tx.Get(kindUsage, UsageKey(plan, keyID, day))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// QuotaPeriod returns the UTC quota period [from, to) of q containing now;
// see quota.Period, which the data plane uses too.
func QuotaPeriod(q *adminv1.QuotaSettings, now time.Time) (from, to time.Time) {
	return quota.Period(q, now)
}
