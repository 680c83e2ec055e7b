package admin

import (
	"context"
	"errors"
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// PreflightFunc compiles a configuration as the data plane would (routing
// tables, transcoders, path templates), without serving it. It returns a
// *PreflightError listing why the configuration cannot be served, or nil;
// any other error means the check itself failed.
type PreflightFunc func(ctx context.Context, cfg DeployedConfig) error

// PreflightProblem is one reason a configuration cannot be served.
type PreflightProblem struct {
	// Stage is the stage's resource name, or "" for a problem of a domain
	// mapping.
	Stage string
	// Canary reports whether the stage's canary deployment is the problem.
	Canary bool
	// Description says what cannot be served and why, naming the method and
	// binding when a REST binding is the cause.
	Description string
}

// PreflightError is a configuration the data plane cannot serve.
type PreflightError struct {
	Problems []PreflightProblem
}

// Error joins the problems' descriptions.
func (e *PreflightError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Description
	}
	return "cannot be served: " + strings.Join(msgs, "; ")
}

// WithPreflight sets the data plane's compile, run inside every write that
// changes what a stage serves (CreateDeployment, stage and domain mapping
// writes) before it is stored: a configuration that cannot be served is
// refused with INVALID_ARGUMENT and nothing changes. Without it (the
// default), writes are not checked against the data plane.
func WithPreflight(f PreflightFunc) Option {
	return func(s *Service) { s.preflight = f }
}

// preflightStageID is the ID of the stage a new deployment is compiled in
// by CreateDeployment's pre-flight check.
const preflightStageID = "preflight"

// checkServable runs the pre-flight check of cfg. field names the request
// field a problem is reported on: the stage's deployment, or its canary's.
func (s *Service) checkServable(ctx context.Context, cfg DeployedConfig, field func(PreflightProblem) string) error {
	if s.preflight == nil {
		return nil
	}
	err := s.preflight(ctx, cfg)
	var pe *PreflightError
	if !errors.As(err, &pe) {
		return err
	}
	var v violations
	for _, p := range pe.Problems {
		v.add(field(p), "%s", p.Description)
	}
	if v.empty() {
		v.add(field(PreflightProblem{}), "%s", pe.Error())
	}
	return v.err()
}

// checkDeploymentServable compiles a new deployment d of an API as a stage
// serving it would be compiled.
func (s *Service) checkDeploymentServable(ctx context.Context, d *adminv1.Deployment) error {
	st := &adminv1.Stage{Name: parentOf(d.GetName()) + "/stages/" + preflightStageID, Deployment: d.GetName()}
	cfg := DeployedConfig{Stages: []DeployedStage{{Stage: st, Deployment: d}}}
	return s.checkServable(ctx, cfg, func(PreflightProblem) string { return "parent" })
}

// checkStageServable compiles a stage about to be written, with the
// deployments it names, and the domain mappings given.
func (s *Service) checkStageServable(ctx context.Context, tx store.Tx, st *adminv1.Stage, mappings []*adminv1.DomainMapping, field func(PreflightProblem) string) error {
	if s.preflight == nil {
		return nil
	}
	ds, err := deployedStage(tx, st, func(tx store.Tx, name string) (*adminv1.Deployment, error) {
		return load[adminv1.Deployment](tx, kindDeployments, name)
	})
	if err != nil {
		return err
	}
	return s.checkServable(ctx, DeployedConfig{Stages: []DeployedStage{ds}, DomainMappings: mappings}, field)
}

// stageField names the field of a stage write that a problem is about.
func stageField(p PreflightProblem) string {
	if p.Canary {
		return "stage.canary.deployment"
	}
	return "stage.deployment"
}
