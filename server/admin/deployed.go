package admin

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/deployed"
	"github.com/tollgate-gw/tollgate/server/store"
)

// DeployedStage is a stage with the deployments it serves: what the data
// plane compiles (the same type as its routing.Entry; see package
// deployed).
type DeployedStage = deployed.Stage

// DeployedConfig is everything the data plane serves, or a change to it
// (Delta).
type DeployedConfig struct {
	// Stages are the stages with their deployments: all of them, or with
	// Delta those added or changed.
	Stages []DeployedStage
	// DomainMappings map host names to stages: always all of them.
	DomainMappings []*adminv1.DomainMapping
	// Delta reports that Stages and Removed are a change to what the
	// previous DeployedChanges returned.
	Delta bool
	// Removed names the stages no longer served (with Delta).
	Removed []string
}

// deployedCache is what the last read of the deployed configuration
// returned, kept up to date by the admin writes of this process: a write
// marks what it changed (a stage, the stages of a deleted API, the domain
// mappings), and the next read reads only that. Deployments are immutable,
// so a decoded deployment is kept while a stage serves it and never read
// again; equal descriptor sets share one copy of their bytes. A process
// that cannot see a change coming (another node's) calls ForgetDeployed,
// and the next read reads everything.
type deployedCache struct {
	mu       sync.Mutex // serializes reads; guards the fields up to marks
	valid    bool       // stages and mappings hold the store's content (but for marks)
	stages   map[string]DeployedStage
	mappings []*adminv1.DomainMapping
	byName   map[string]*servedDeployment // the deployments stages serve
	sets     descriptorSets
	// pending names the stages changed since the last DeployedChanges;
	// pendingAll means everything was read again since.
	pending    map[string]bool
	pendingAll bool

	marks deployedMarks
}

// servedDeployment is a decoded deployment and how many stages (and
// canaries) serve it.
type servedDeployment struct {
	d    *adminv1.Deployment
	uses int
}

// deployedMarks are the changes written since the last read.
type deployedMarks struct {
	mu       sync.Mutex
	stages   map[string]bool // stage names written
	prefixes []string        // "apis/x/stages/": every stage of a deleted API
	mappings bool
}

// markChanged records a write of kind to name (deleted, or created or
// updated) for the next read of what is deployed.
func (s *Service) markChanged(kind store.Kind, name string, deleted bool) {
	if kind == kindAPIs && deleted {
		// Deleted with its stages (force), or it had none.
		s.markStagesOf(name)
		return
	}
	m := &s.deployed.marks
	m.mu.Lock()
	defer m.mu.Unlock()
	switch kind {
	case kindStages:
		if m.stages == nil {
			m.stages = map[string]bool{}
		}
		m.stages[name] = true
	case kindDomainMappings:
		m.mappings = true
	}
}

// markStagesOf records that every stage of api may have changed (the API
// was deleted with them).
func (s *Service) markStagesOf(api string) {
	m := &s.deployed.marks
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prefixes = append(m.prefixes, api+"/stages/")
	m.mappings = true
}

// takeMarks returns the marks and clears them.
func (m *deployedMarks) take() (stages map[string]bool, prefixes []string, mappings bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	stages, prefixes, mappings = m.stages, m.prefixes, m.mappings
	m.stages, m.prefixes, m.mappings = nil, nil, false
	return stages, prefixes, mappings
}

// ForgetDeployed drops what Deployed keeps, so that its next call reads
// everything from the store: after changes another process made, which
// may have replaced a deployment under the same name.
func (s *Service) ForgetDeployed() {
	s.deployed.mu.Lock()
	s.deployed.valid, s.deployed.byName = false, nil
	s.deployed.mu.Unlock()
}

// ForgetStages is ForgetDeployed after changes that did not write
// deployments: the next read reads every stage and the domain mappings,
// but decodes only the deployments it has not seen.
func (s *Service) ForgetStages() {
	s.deployed.mu.Lock()
	s.deployed.valid = false
	s.deployed.mu.Unlock()
}

// forgetDeployment drops a deleted deployment from the cache, should it be
// there, so that one created again under its name is read afresh.
func (s *Service) forgetDeployment(name string) {
	s.deployed.mu.Lock()
	defer s.deployed.mu.Unlock()
	if sd := s.deployed.byName[name]; sd != nil {
		// Deletion is refused while a stage serves it: a stale entry.
		s.deployed.sets.release(sd.d)
		delete(s.deployed.byName, name)
	}
}

// Deployed reads every stage with its deployments, and the domain mappings,
// as of the last write this process made (reading only what the writes
// since the previous call changed; everything after ForgetDeployed). The
// stages are in name order. Callers must not change the result.
func (s *Service) Deployed(ctx context.Context) (DeployedConfig, error) {
	c := &s.deployed
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := s.refreshDeployed(ctx); err != nil {
		return DeployedConfig{}, err
	}
	out := DeployedConfig{Stages: make([]DeployedStage, 0, len(c.stages)), DomainMappings: c.mappings}
	for _, ds := range c.stages {
		out.Stages = append(out.Stages, ds)
	}
	slices.SortFunc(out.Stages, func(a, b DeployedStage) int { return strings.Compare(a.Stage.GetName(), b.Stage.GetName()) })
	return out, nil
}

// DeployedChanges is Deployed for a reader that keeps what it read before
// (the data plane): with Delta set, Stages holds only the stages added or
// changed since the previous DeployedChanges, Removed those no longer
// served, so that its cost is the size of the change. After a full read
// (the first call, after ForgetDeployed) Delta is false and Stages holds
// every stage. DomainMappings are always all of them.
func (s *Service) DeployedChanges(ctx context.Context) (DeployedConfig, error) {
	c := &s.deployed
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := s.refreshDeployed(ctx); err != nil {
		return DeployedConfig{}, err
	}
	out := DeployedConfig{DomainMappings: c.mappings, Delta: !c.pendingAll}
	if c.pendingAll {
		for _, ds := range c.stages {
			out.Stages = append(out.Stages, ds)
		}
	} else {
		for name := range c.pending {
			if ds, ok := c.stages[name]; ok {
				out.Stages = append(out.Stages, ds)
			} else {
				out.Removed = append(out.Removed, name)
			}
		}
	}
	slices.SortFunc(out.Stages, func(a, b DeployedStage) int { return strings.Compare(a.Stage.GetName(), b.Stage.GetName()) })
	slices.Sort(out.Removed)
	c.pending, c.pendingAll = nil, false
	return out, nil
}

// refreshDeployed brings the cache up to date: everything when it is not
// valid, else what the marks name. c.mu is held.
func (s *Service) refreshDeployed(ctx context.Context) error {
	c := &s.deployed
	// Marks taken before the read began name writes the read sees; a
	// write committed meanwhile marks again, for the next read.
	stageMarks, prefixes, mappings := c.marks.take()
	if !c.valid {
		return s.readAllDeployed(ctx)
	}
	if len(stageMarks) == 0 && len(prefixes) == 0 && !mappings {
		return nil
	}
	err := s.store.View(ctx, func(tx store.Tx) error {
		for name := range stageMarks {
			st, err := load[adminv1.Stage](tx, kindStages, name)
			if errors.Is(err, store.ErrNotFound) {
				s.setDeployed(name, nil)
				continue
			} else if err != nil {
				return err
			}
			if err := s.putDeployed(ctx, tx, st); err != nil {
				return err
			}
		}
		for _, p := range prefixes {
			list, err := loadAll[adminv1.Stage](tx, kindStages, p)
			if err != nil {
				return err
			}
			present := map[string]bool{}
			for _, st := range list {
				present[st.GetName()] = true
				if err := s.putDeployed(ctx, tx, st); err != nil {
					return err
				}
			}
			for name := range c.stages {
				if strings.HasPrefix(name, p) && !present[name] {
					s.setDeployed(name, nil)
				}
			}
		}
		if mappings {
			m, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
			if err != nil {
				return err
			}
			c.mappings = m
		}
		return nil
	})
	if err != nil {
		// Partly applied: read everything next time.
		c.valid = false
	}
	return err
}

// readAllDeployed reads every stage, its deployments and the domain
// mappings. Deployments already decoded are not read again. c.mu is held.
func (s *Service) readAllDeployed(ctx context.Context) error {
	c := &s.deployed
	old := c.byName
	c.stages, c.byName, c.sets = map[string]DeployedStage{}, map[string]*servedDeployment{}, descriptorSets{}
	// Decoded deployments are kept across a full read: immutable, and
	// deleted ones are forgotten when deleted (by this process), or the
	// caller forgot everything (ForgetDeployed: another process's writes).
	keep := old
	err := s.store.View(ctx, func(tx store.Tx) error {
		mappings, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
		if err != nil {
			return err
		}
		c.mappings = mappings
		stageList, err := loadAll[adminv1.Stage](tx, kindStages, "apis/")
		if err != nil {
			return err
		}
		for _, st := range stageList {
			if err := s.putDeployedFrom(ctx, tx, st, keep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.valid = false
		return err
	}
	c.valid, c.pending, c.pendingAll = true, nil, true
	return nil
}

// putDeployed reads what stage st serves into the cache.
func (s *Service) putDeployed(ctx context.Context, tx store.Tx, st *adminv1.Stage) error {
	return s.putDeployedFrom(ctx, tx, st, nil)
}

// putDeployedFrom is putDeployed taking decoded deployments from also too.
func (s *Service) putDeployedFrom(ctx context.Context, tx store.Tx, st *adminv1.Stage, also map[string]*servedDeployment) error {
	c := &s.deployed
	get := func(tx store.Tx, name string) (*adminv1.Deployment, error) {
		if sd := c.byName[name]; sd != nil {
			return sd.d, nil
		}
		if sd := also[name]; sd != nil {
			c.sets.intern(sd.d)
			c.byName[name] = &servedDeployment{d: sd.d}
			return sd.d, nil
		}
		d, err := load[adminv1.Deployment](tx, kindDeployments, name)
		if err != nil {
			return nil, err
		}
		c.sets.intern(d)
		c.byName[name] = &servedDeployment{d: d}
		return d, nil
	}
	ds, err := deployedStage(tx, st, get)
	if errors.Is(err, store.ErrNotFound) {
		// Referential checks make this impossible; leave the stage out
		// rather than take every other stage down with it.
		s.logger.ErrorContext(ctx, "stage serves a missing deployment", "stage", st.GetName(), "deployment", st.GetDeployment())
		s.setDeployed(st.GetName(), nil)
		return nil
	} else if err != nil {
		return err
	}
	s.setDeployed(st.GetName(), &ds)
	return nil
}

// setDeployed sets (nil: removes) a stage of the cache, counting the uses
// of the deployments it serves and marking it changed.
func (s *Service) setDeployed(name string, ds *DeployedStage) {
	c := &s.deployed
	if ds != nil {
		c.use(ds.Deployment, 1)
		c.use(ds.Canary, 1)
	}
	if old, ok := c.stages[name]; ok {
		c.use(old.Deployment, -1)
		c.use(old.Canary, -1)
		delete(c.stages, name)
	} else if ds == nil {
		return // nothing to remove
	}
	if ds != nil {
		c.stages[name] = *ds
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[name] = true
}

// use counts a use of d (delta +1 or -1); a deployment no stage serves
// any more leaves the cache.
func (c *deployedCache) use(d *adminv1.Deployment, delta int) {
	if d == nil {
		return
	}
	sd := c.byName[d.GetName()]
	if sd == nil {
		return
	}
	sd.uses += delta
	if sd.uses <= 0 {
		c.sets.release(sd.d)
		delete(c.byName, d.GetName())
	}
}

// descriptorSets interns the descriptor sets of decoded deployments, so
// that the deployments of an unchanged schema share one copy of its bytes,
// with the number of deployments using each.
type descriptorSets map[uint64][]*internedSet

// internedSet is one descriptor set's bytes and how many deployments use
// them.
type internedSet struct {
	b    []byte
	uses int
}

var descriptorSeed = maphash.MakeSeed()

// intern makes d's descriptor set, if it has one, share the bytes of an
// equal set already interned.
func (sets descriptorSets) intern(d *adminv1.Deployment) {
	src, ok := d.GetSnapshot().GetApi().GetDescriptorSource().(*adminv1.Api_FileDescriptorSet)
	if !ok || len(src.FileDescriptorSet) == 0 {
		return
	}
	h := maphash.Bytes(descriptorSeed, src.FileDescriptorSet)
	for _, have := range sets[h] {
		if bytes.Equal(have.b, src.FileDescriptorSet) {
			src.FileDescriptorSet = have.b
			have.uses++
			return
		}
	}
	sets[h] = append(sets[h], &internedSet{b: src.FileDescriptorSet, uses: 1})
}

// release ends d's use of its interned descriptor set.
func (sets descriptorSets) release(d *adminv1.Deployment) {
	b := d.GetSnapshot().GetApi().GetFileDescriptorSet()
	if len(b) == 0 {
		return
	}
	h := maphash.Bytes(descriptorSeed, b)
	sets[h] = slices.DeleteFunc(sets[h], func(have *internedSet) bool {
		if &have.b[0] == &b[0] {
			have.uses--
			return have.uses <= 0
		}
		return false
	})
	if len(sets[h]) == 0 {
		delete(sets, h)
	}
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

// changed notes a write to the resource name of kind (deleted, or created
// or updated), and notifies the data plane.
func (s *Service) changed(kind store.Kind, name string, deleted bool) {
	s.markChanged(kind, name, deleted)
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
