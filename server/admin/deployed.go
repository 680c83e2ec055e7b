package admin

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"sync"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/deployed"
	"github.com/tollgate-gw/tollgate/server/store"
)

// DeployedStage is a stage with the deployments it serves: what the data
// plane compiles (the same type as its routing.Entry; see package
// deployed).
type DeployedStage = deployed.Stage

// DeployedConfig is everything the data plane serves.
type DeployedConfig struct {
	// Stages are the stages with their deployments.
	Stages []DeployedStage
	// DomainMappings map host names to stages.
	DomainMappings []*adminv1.DomainMapping
}

// deploymentCache holds the decoded deployments the last Deployed call
// returned. Deployments are immutable, so a reload after a write reads
// and decodes only the deployments it has not seen: with many stages,
// decoding every deployment (each with its descriptor set) on every admin
// write was most of the write's cost. Only deletion ends a deployment's
// name, and it is refused while a stage serves it, so an entry outlives its
// deployment only until the next Deployed; Forget covers deletions this
// process does not see coming (another node's, or its own).
type deploymentCache struct {
	mu     sync.Mutex
	byName map[string]*adminv1.Deployment
}

// ForgetDeployed drops the decoded deployments Deployed keeps, so that its
// next call reads every deployment from the store: after changes another
// process made, which may have replaced a deployment under the same name.
func (s *Service) ForgetDeployed() {
	s.deployed.mu.Lock()
	s.deployed.byName = nil
	s.deployed.mu.Unlock()
}

// Deployed reads every stage with its deployments, and the domain mappings,
// in one consistent snapshot of the store. Deployments it returned before
// are not read again (see deploymentCache); callers must not change them.
func (s *Service) Deployed(ctx context.Context) (DeployedConfig, error) {
	var out DeployedConfig
	s.deployed.mu.Lock()
	defer s.deployed.mu.Unlock()
	known := s.deployed.byName
	seen := make(map[string]*adminv1.Deployment, len(known))
	sets := descriptorSets{}
	loadDeployment := func(tx store.Tx, name string) (*adminv1.Deployment, error) {
		if d, ok := seen[name]; ok {
			return d, nil
		}
		d, ok := known[name]
		if !ok {
			var err error
			if d, err = load[adminv1.Deployment](tx, kindDeployments, name); err != nil {
				return nil, err
			}
			sets.intern(d, known)
		}
		seen[name] = d
		return d, nil
	}
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
			ds, err := deployedStage(tx, st, loadDeployment)
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
	if err == nil {
		s.deployed.byName = seen // only what is served stays cached
	}
	return out, err
}

// descriptorSets interns the descriptor sets of decoded deployments, so
// that the deployments of an unchanged schema share one copy of its bytes.
type descriptorSets map[uint64][][]byte

var descriptorSeed = maphash.MakeSeed()

// intern makes d's descriptor set, if it has one, share the bytes of an
// equal set already seen (in this call or among known).
func (sets descriptorSets) intern(d *adminv1.Deployment, known map[string]*adminv1.Deployment) {
	src, ok := d.GetSnapshot().GetApi().GetDescriptorSource().(*adminv1.Api_FileDescriptorSet)
	if !ok || len(src.FileDescriptorSet) == 0 {
		return
	}
	if len(sets) == 0 {
		for _, k := range known {
			sets.find(k.GetSnapshot().GetApi().GetFileDescriptorSet())
		}
	}
	src.FileDescriptorSet = sets.find(src.FileDescriptorSet)
}

// find returns the interned copy of b, adding b if there is none.
func (sets descriptorSets) find(b []byte) []byte {
	if b == nil {
		return nil
	}
	h := maphash.Bytes(descriptorSeed, b)
	for _, have := range sets[h] {
		if bytes.Equal(have, b) {
			return have
		}
	}
	sets[h] = append(sets[h], b)
	return b
}

// deployedStage reads the deployments a stage serves with get. A missing
// canary deployment is left out.
func deployedStage(tx store.Tx, st *adminv1.Stage, get func(store.Tx, string) (*adminv1.Deployment, error)) (DeployedStage, error) {
	d, err := get(tx, st.GetDeployment())
	if err != nil {
		return DeployedStage{}, err
	}
	ds := DeployedStage{Stage: st, Deployment: d}
	if c := st.GetCanary().GetDeployment(); c != "" {
		if cd, err := get(tx, c); err == nil {
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
	case kindStages, kindDeployments, kindAPIs, kindDomainMappings, kindCertificates:
		return true, false
	case kindSettings:
		return false, true
	}
	return false, false
}
