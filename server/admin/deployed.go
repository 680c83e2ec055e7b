package admin

import (
	"context"
	"errors"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// DeployedStage is a stage with the deployments it serves: what the data
// plane compiles.
type DeployedStage struct {
	// Stage is the stage's configuration.
	Stage *adminv1.Stage
	// Deployment is the deployment it serves.
	Deployment *adminv1.Deployment
	// Canary is its canary deployment, or nil.
	Canary *adminv1.Deployment
}

// DeployedConfig is everything the data plane serves.
type DeployedConfig struct {
	// Stages are the stages with their deployments.
	Stages []DeployedStage
	// DomainMappings map host names to stages.
	DomainMappings []*adminv1.DomainMapping
}

// Deployed reads every stage with its deployments, and the domain mappings,
// in one consistent snapshot of the store.
func (s *Service) Deployed(ctx context.Context) (DeployedConfig, error) {
	var out DeployedConfig
	err := s.store.View(ctx, func(tx store.Tx) error {
		mappings, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
		if err != nil {
			return err
		}
		out.DomainMappings = mappings
		stageList, err := loadAll[adminv1.Stage](tx, kindStages, "apis/")
		if err != nil {
			return err
		}
		for _, st := range stageList {
			ds, err := deployedStage(tx, st)
			if err != nil {
				// Referential checks make this impossible; skip rather
				// than take every other stage down with it.
				if errors.Is(err, store.ErrNotFound) {
					s.logger.ErrorContext(ctx, "stage serves a missing deployment", "stage", st.GetName(), "deployment", st.GetDeployment())
					continue
				}
				return err
			}
			out.Stages = append(out.Stages, ds)
		}
		return nil
	})
	return out, err
}

// deployedStage reads the deployments a stage serves. A missing canary
// deployment is left out.
func deployedStage(tx store.Tx, st *adminv1.Stage) (DeployedStage, error) {
	d, err := load[adminv1.Deployment](tx, kindDeployments, st.GetDeployment())
	if err != nil {
		return DeployedStage{}, err
	}
	ds := DeployedStage{Stage: st, Deployment: d}
	if c := st.GetCanary().GetDeployment(); c != "" {
		if cd, err := load[adminv1.Deployment](tx, kindDeployments, c); err == nil {
			ds.Canary = cd
		}
	}
	return ds, nil
}

// WithOnDeploy sets a function called after every write that changes what
// is deployed (stages, deployments, APIs), before the write's response is
// sent: once it returns, new calls see the change.
func WithOnDeploy(f func()) Option {
	return func(s *Service) { s.onDeploy = f }
}

// changed notifies the data plane of a write to kind.
func (s *Service) changed(kind store.Kind) {
	if s.onDeploy == nil {
		return
	}
	if deployed, _ := Affects(kind); deployed {
		s.onDeploy()
	}
}

// Affects reports what a write to kind changes for a running gateway: what
// is deployed (reload the data plane, as WithOnDeploy's function does) or
// the account settings (as WithOnSettings's). Processes sharing a store use
// it to apply each other's writes.
func Affects(kind store.Kind) (deployed, settings bool) {
	switch kind {
	case kindStages, kindDeployments, kindAPIs, kindDomainMappings:
		return true, false
	case kindSettings:
		return false, true
	}
	return false, false
}
