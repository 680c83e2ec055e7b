package admin

// SetAuditMaxScan sets how many events one page of a filtered audit
// listing reads at most.
func (s *Service) SetAuditMaxScan(n int) { s.auditMaxScan = n }
