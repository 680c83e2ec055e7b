package admin_test

import (
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// TestAuditRetention: events are listed newest first, filtered by time,
// and pruned once older than the retention.
func TestAuditRetention(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for d := range 5 {
		e := &adminv1.AuditEvent{Time: timestamppb.New(base.Add(time.Duration(d) * 24 * time.Hour)), Actor: "bootstrap", Method: "/tollgate.admin.v1.AdminService/UpdateStage", Resource: "apis/a/stages/s"}
		if err := svc.RecordAuditEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	days := func(req *adminv1.ListAuditEventsRequest) []int {
		res, err := svc.ListAuditEvents(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, e := range res.GetAuditEvents() {
			out = append(out, int(e.GetTime().AsTime().Sub(base)/(24*time.Hour)))
		}
		return out
	}
	eq := func(got []int, want ...int) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := days(&adminv1.ListAuditEventsRequest{}); !eq(got, 4, 3, 2, 1, 0) {
		t.Fatalf("all: %v, want newest first", got)
	}
	if got := days(&adminv1.ListAuditEventsRequest{StartTime: timestamppb.New(base.Add(24 * time.Hour)), EndTime: timestamppb.New(base.Add(3 * 24 * time.Hour))}); !eq(got, 2, 1) {
		t.Fatalf("days [1, 3): %v", got)
	}
	if got := days(&adminv1.ListAuditEventsRequest{Resource: "apis/a"}); len(got) != 5 {
		t.Fatalf("by resource prefix: %v", got)
	}
	if got := days(&adminv1.ListAuditEventsRequest{Resource: "apis/ab"}); len(got) != 0 {
		t.Fatalf("by a resource that only shares a prefix: %v", got)
	}
	n, err := svc.PruneAuditEvents(t.Context(), base.Add(2*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneAuditEvents = %d, %v; want 2", n, err)
	}
	if got := days(&adminv1.ListAuditEventsRequest{}); !eq(got, 4, 3, 2) {
		t.Fatalf("after pruning: %v", got)
	}
}

// TestAuditListingScanIsBounded checks that a filtered listing that few
// events match reads a bounded number of events per page, returning fewer
// (even none) with a token to go on, and that following the tokens finds
// every match (issue 23: no list reads everything).
func TestAuditListingScanIsBounded(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetAuditMaxScan(10)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 45 {
		res := "apis/a/stages/s"
		if i%20 == 0 {
			res = "apis/rare"
		}
		e := &adminv1.AuditEvent{Time: timestamppb.New(base.Add(time.Duration(i) * time.Minute)), Actor: "bootstrap", Method: "/tollgate.admin.v1.AdminService/UpdateStage", Resource: res}
		if err := svc.RecordAuditEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	var found, pages int
	req := &adminv1.ListAuditEventsRequest{Resource: "apis/rare", PageSize: 2}
	for {
		res, err := svc.ListAuditEvents(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		found += len(res.GetAuditEvents())
		if res.GetNextPageToken() == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the listing does not end")
		}
		req.PageToken = res.GetNextPageToken()
	}
	if found != 3 || pages < 5 {
		t.Fatalf("%d matches in %d pages, want 3 matches in at least 5 pages of at most 10 events read", found, pages)
	}
}
