package quota

import (
	"time"

	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

func TestPeriod(t *testing.T) {
	day := adminv1.QuotaSettings_PERIOD_DAY
	week := adminv1.QuotaSettings_PERIOD_WEEK
	month := adminv1.QuotaSettings_PERIOD_MONTH
	tests := []struct {
		name     string
		q        *adminv1.QuotaSettings
		now      string
		from, to string
	}{
		// The table of server/admin's TestQuotaPeriod.
		{"day", &adminv1.QuotaSettings{Period: day}, "2026-11-25T15:00:00Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{"week from monday", &adminv1.QuotaSettings{Period: week}, "2026-11-25T15:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week with offset ahead", &adminv1.QuotaSettings{Period: week, Offset: 4}, "2026-11-25T15:00:00Z", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z"},
		{"month", &adminv1.QuotaSettings{Period: month}, "2026-11-25T15:00:00Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"month with offset ahead", &adminv1.QuotaSettings{Period: month, Offset: 27}, "2026-11-25T15:00:00Z", "2026-10-28T00:00:00Z", "2026-11-28T00:00:00Z"},
		{"month across a year", &adminv1.QuotaSettings{Period: month, Offset: 9}, "2027-01-03T00:00:00Z", "2026-12-10T00:00:00Z", "2027-01-10T00:00:00Z"},
		// More boundaries.
		{"day at midnight", &adminv1.QuotaSettings{Period: day}, "2026-11-26T00:00:00Z", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"},
		{"day just before midnight", &adminv1.QuotaSettings{Period: day}, "2026-11-25T23:59:59.999999999Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{"day across a year", &adminv1.QuotaSettings{Period: day}, "2026-12-31T23:00:00Z", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"day of another zone", &adminv1.QuotaSettings{Period: day}, "2026-11-25T23:30:00-05:00", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"},
		{"unset period is a day", &adminv1.QuotaSettings{}, "2026-11-25T15:00:00Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{"nil settings are a day", nil, "2026-11-25T15:00:00Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{"week on monday", &adminv1.QuotaSettings{Period: week}, "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week on sunday", &adminv1.QuotaSettings{Period: week}, "2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week with offset behind", &adminv1.QuotaSettings{Period: week, Offset: 1}, "2026-11-25T15:00:00Z", "2026-11-24T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"week with offset on its start", &adminv1.QuotaSettings{Period: week, Offset: 2}, "2026-11-25T00:00:00Z", "2026-11-25T00:00:00Z", "2026-12-02T00:00:00Z"},
		{"week with offset 6", &adminv1.QuotaSettings{Period: week, Offset: 6}, "2026-11-29T10:00:00Z", "2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z"},
		{"week across a year", &adminv1.QuotaSettings{Period: week}, "2027-01-01T12:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{"week with offset across a year", &adminv1.QuotaSettings{Period: week, Offset: 5}, "2027-01-02T12:00:00Z", "2027-01-02T00:00:00Z", "2027-01-09T00:00:00Z"},
		{"month on its first day", &adminv1.QuotaSettings{Period: month}, "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"month of december", &adminv1.QuotaSettings{Period: month}, "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"month with offset behind", &adminv1.QuotaSettings{Period: month, Offset: 9}, "2026-11-25T15:00:00Z", "2026-11-10T00:00:00Z", "2026-12-10T00:00:00Z"},
		{"month with offset through february", &adminv1.QuotaSettings{Period: month, Offset: 27}, "2027-02-28T12:00:00Z", "2027-02-28T00:00:00Z", "2027-03-28T00:00:00Z"},
		{"month with offset into a new year", &adminv1.QuotaSettings{Period: month, Offset: 27}, "2026-12-30T00:00:00Z", "2026-12-28T00:00:00Z", "2027-01-28T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := Period(tt.q, at(t, tt.now))
			if !from.Equal(at(t, tt.from)) || !to.Equal(at(t, tt.to)) {
				t.Fatalf("Period = [%v, %v), want [%s, %s)", from, to, tt.from, tt.to)
			}
			if from.Location() != time.UTC || to.Location() != time.UTC {
				t.Errorf("Period returned times in %v and %v, want UTC", from.Location(), to.Location())
			}
		})
	}
}

func TestDayOf(t *testing.T) {
	for _, s := range []string{"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-11-25T00:00:00Z", "2026-11-25T23:59:59.999Z"} {
		tm := at(t, s)
		want := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		if got := dayTime(dayOf(tm)); !got.Equal(want) {
			t.Errorf("dayTime(dayOf(%s)) = %v, want %v", s, got, want)
		}
	}
}
