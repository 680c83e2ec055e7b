package quota

import (
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// Period returns the quota period [from, to) of q that contains now. Periods
// are in UTC: a calendar day, a week starting on Monday, or a calendar
// month, each beginning Offset days after its natural start (0-6 for weeks,
// 0-27 for months, 0 for days). A nil q, or one whose period is unset, has
// daily periods. It is a port of the admin service's QuotaPeriod, which
// usage reports use, so that the gateway enforces the periods the reports
// show.
func Period(q *adminv1.QuotaSettings, now time.Time) (from, to time.Time) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	off := int(q.GetOffset())
	switch q.GetPeriod() {
	case adminv1.QuotaSettings_PERIOD_WEEK:
		sinceMonday := (int(today.Weekday()) + 6) % 7
		from = today.AddDate(0, 0, -sinceMonday+off)
		if from.After(today) {
			from = from.AddDate(0, 0, -7)
		}
		return from, from.AddDate(0, 0, 7)
	case adminv1.QuotaSettings_PERIOD_MONTH:
		from = time.Date(today.Year(), today.Month(), 1+off, 0, 0, 0, 0, time.UTC)
		if from.After(today) {
			from = time.Date(today.Year(), today.Month()-1, 1+off, 0, 0, 0, 0, time.UTC)
		}
		return from, time.Date(from.Year(), from.Month()+1, from.Day(), 0, 0, 0, 0, time.UTC)
	default:
		return today, today.AddDate(0, 0, 1)
	}
}

// periodName returns the unit of q's periods for messages: "day", "week"
// or "month".
func periodName(q *adminv1.QuotaSettings) string {
	switch q.GetPeriod() {
	case adminv1.QuotaSettings_PERIOD_WEEK:
		return "week"
	case adminv1.QuotaSettings_PERIOD_MONTH:
		return "month"
	default:
		return "day"
	}
}

// secondsPerDay is the length of a UTC day; UTC has no leap seconds in Go.
const secondsPerDay = 24 * 60 * 60

// dayOf returns the number of the UTC day of t since the Unix epoch.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return d
}

// dayTime returns the UTC midnight that starts day number d.
func dayTime(d int64) time.Time {
	return time.Unix(d*secondsPerDay, 0).UTC()
}
