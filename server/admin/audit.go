package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// kindAuditEvents holds the audit log. Keys are "auditEvents/{id}" whose
// IDs start with the time counted down from the far future, so that key
// order is newest first.
const kindAuditEvents store.Kind = "auditEvents"

// auditScanBatch is how many events a filtered listing reads at a time.
const auditScanBatch = 500

// defaultAuditMaxScan bounds the events one page of a filtered listing
// reads: a filter few events match ends the page early, with fewer events
// (even none) and a token to go on from the last event read (AIP-158), so
// that no request reads the whole log.
const defaultAuditMaxScan = 20 * auditScanBatch

// auditID returns an event ID for t that sorts before every earlier time.
func auditID(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%016x-%s", uint64(math.MaxInt64-t.UnixNano()), hex.EncodeToString(r[:]))
}

// RecordAuditEvent stores one audit event, naming it. It is called by the
// admin API's audit interceptor after each write.
func (s *Service) RecordAuditEvent(ctx context.Context, e *adminv1.AuditEvent) error {
	if e.GetTime() == nil {
		e.Time = timestamppb.New(s.now())
	}
	e.Name = "auditEvents/" + auditID(e.GetTime().AsTime())
	return s.store.Update(ctx, func(tx store.Tx) error {
		return save(tx, kindAuditEvents, e.GetName(), e)
	})
}

// ListAuditEvents lists the audit log newest first, filtered.
func (s *Service) ListAuditEvents(ctx context.Context, req *adminv1.ListAuditEventsRequest) (*adminv1.ListAuditEventsResponse, error) {
	var v violations
	for _, f := range []struct {
		name string
		ts   *timestamppb.Timestamp
	}{{"start_time", req.GetStartTime()}, {"end_time", req.GetEndTime()}} {
		if f.ts != nil {
			if err := f.ts.CheckValid(); err != nil {
				v.add(f.name, "%s", err.Error())
			}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	const prefix = "auditEvents/"
	// The token is bound to the filters, so that a page of one listing is
	// never continued with other filters.
	binding := prefix + "\x01" + strings.Join([]string{req.GetActor(), req.GetResource(), req.GetMethod(),
		req.GetStartTime().AsTime().String(), req.GetEndTime().AsTime().String()}, "\x01")
	p, err := parsePage(binding, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	after := p.after
	if after == "" && req.GetEndTime() != nil {
		// Events before end_time start at its ID (newest first).
		after = prefix + fmt.Sprintf("%016x", uint64(math.MaxInt64-req.GetEndTime().AsTime().UnixNano()))
	}
	out := &adminv1.ListAuditEventsResponse{}
	maxScan := s.auditMaxScan
	if maxScan <= 0 {
		maxScan = defaultAuditMaxScan
	}
	err = s.store.View(ctx, func(tx store.Tx) error {
		for scanned := 0; ; {
			if scanned >= maxScan {
				out.NextPageToken = nextPageToken(binding, after)
				return nil
			}
			limit := min(auditScanBatch, maxScan-scanned)
			recs, err := tx.List(kindAuditEvents, prefix, after, limit)
			if err != nil {
				return err
			}
			scanned += len(recs)
			for _, r := range recs {
				after = r.Key
				e := &adminv1.AuditEvent{}
				if err := proto.Unmarshal(r.Value, e); err != nil {
					return fmt.Errorf("decode %s: %w", r.Key, err)
				}
				if st := req.GetStartTime(); st != nil && e.GetTime().AsTime().Before(st.AsTime()) {
					return nil // older events follow: the listing is complete
				}
				if !auditMatches(req, e) {
					continue
				}
				if len(out.AuditEvents) == p.size {
					out.NextPageToken = nextPageToken(binding, out.AuditEvents[p.size-1].GetName())
					return nil
				}
				out.AuditEvents = append(out.AuditEvents, e)
			}
			if len(recs) < limit {
				return nil
			}
		}
	})
	if err != nil {
		return nil, internalError("list audit events", err)
	}
	return out, nil
}

// auditMatches reports whether e passes the filters of req other than time.
func auditMatches(req *adminv1.ListAuditEventsRequest, e *adminv1.AuditEvent) bool {
	if a := req.GetActor(); a != "" && e.GetActor() != a {
		return false
	}
	if r := req.GetResource(); r != "" && e.GetResource() != r && !strings.HasPrefix(e.GetResource(), r+"/") {
		return false
	}
	if m := req.GetMethod(); m != "" && e.GetMethod() != m && !strings.HasSuffix(e.GetMethod(), "/"+m) {
		return false
	}
	if end := req.GetEndTime(); end != nil && !e.GetTime().AsTime().Before(end.AsTime()) {
		return false
	}
	return true
}

// PruneAuditEvents deletes the audit events older than before and returns
// how many it deleted.
func (s *Service) PruneAuditEvents(ctx context.Context, before time.Time) (int, error) {
	n := 0
	// The oldest events sort last: every key after the ID of the last
	// nanosecond before before is older than before.
	from := "auditEvents/" + fmt.Sprintf("%016x", uint64(math.MaxInt64-before.Add(-time.Nanosecond).UnixNano()))
	err := s.store.Update(ctx, func(tx store.Tx) error {
		recs, err := tx.List(kindAuditEvents, "auditEvents/", from, 0)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.Delete(kindAuditEvents, r.Key); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
