package server

import (
	"context"
	"time"
)

// auditPruneInterval is how often audit events past the retention are
// deleted.
const auditPruneInterval = time.Hour

// pruneAudit deletes audit events older than the configured retention now
// and then every auditPruneInterval, until ctx is done.
func (s *Server) pruneAudit(ctx context.Context) {
	t := time.NewTicker(auditPruneInterval)
	defer t.Stop()
	for {
		before := time.Now().Add(-s.cfg.AuditRetention)
		if n, err := s.admin.PruneAuditEvents(ctx, before); err != nil {
			if ctx.Err() == nil {
				s.log.Error("could not prune the audit log", "error", err)
			}
		} else if n > 0 {
			s.log.Info("pruned the audit log", "events", n, "before", before.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
