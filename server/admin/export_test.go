package admin

import "github.com/tollgate-gw/tollgate/server/store"

// SetAuditMaxScan sets how many events one page of a filtered audit
// listing reads at most.
func (s *Service) SetAuditMaxScan(n int) { s.auditMaxScan = n }

// Store returns the service's store.
func (s *Service) Store() store.Store { return s.store }
