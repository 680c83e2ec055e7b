package server

import adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"

// stageHealth reports a stage's target health, for the admin API's
// GetStageHealth; nothing before the data plane exists.
func (s *Server) stageHealth(stage string) []*adminv1.TargetHealth {
	if s.gateway == nil {
		return nil
	}
	out, _ := s.gateway.StageHealth(stage)
	return out
}
