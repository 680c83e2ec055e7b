package upstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Policy chooses the target of each call.
type Policy int

// Policies of a [Set].
const (
	// RoundRobin takes the targets in turn, each as often as its weight
	// says (smooth weighted round robin: a target of weight 2 among two
	// of weight 1 gets every other call). The default.
	RoundRobin Policy = iota
	// Random picks a target at random with probability proportional to
	// its weight.
	Random
	// LeastRequest picks two targets at random (by weight) and takes the
	// one with fewer calls in flight relative to its weight.
	LeastRequest
	// ConsistentHash maps the call's hash key to a target on a ring, so
	// that a key keeps its target while the targets are unchanged.
	ConsistentHash
)

// Defaults and limits of a [Config].
const (
	// DefaultRefreshInterval is how often DNS names are resolved again.
	DefaultRefreshInterval = 30 * time.Second
	// MaxWeight is the largest target weight.
	MaxWeight = 1000
	// pointsPerWeight is the number of ring points of a consistent-hash
	// target per unit of weight; more points, a more even spread.
	pointsPerWeight = 160
	// maxRingPoints caps the ring: weights are scaled down above it.
	maxRingPoints = 100_000
	// maxSchedule caps the round-robin schedule's length.
	maxSchedule = 10_000
)

// Target is one configured backend address and its weight.
type Target struct {
	// Address is host:port; a host that is not an IP address is resolved
	// with DNS, and every address it has becomes an endpoint.
	Address string
	// Weight is the target's share of calls relative to the others; zero
	// means 1.
	Weight uint32
}

// Config describes a Set.
type Config struct {
	// Targets are the configured backends; at least one.
	Targets []Target
	// Policy chooses a target per call.
	Policy Policy
	// RefreshInterval is how often DNS names are resolved again; zero
	// means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// LookupHost resolves a host name to addresses; nil means
	// net.DefaultResolver.LookupHost.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Outlier, if not nil, ejects endpoints whose calls keep failing
	// (see [Set.Report]).
	Outlier *OutlierDetection
	// Health, if not nil, probes every endpoint in the background.
	Health *HealthCheck
	// OnChange, if not nil, is called when an endpoint is ejected or its
	// health changes.
	OnChange func(e *Endpoint)
}

// Endpoint is one address calls go to: a target, or one address of a
// target's DNS name.
type Endpoint struct {
	// Address is ip:port (or the target's host:port while its name does
	// not resolve, for the dialer to resolve).
	Address string
	// Target is the configured host:port the endpoint comes from, for
	// authority and TLS names.
	Target string
	// Weight is the target's weight.
	Weight uint32

	active atomic.Int64
	// Read on every pick: whether the endpoint is out.
	unhealthy    atomic.Bool
	ejectedUntil atomic.Int64 // Unix nanoseconds
	consecutive  atomic.Int64 // failed calls in a row
	mu           sync.Mutex   // guards h
	h            endpointHealth
}

// Active returns the number of calls in flight to e.
func (e *Endpoint) Active() int64 { return e.active.Load() }

// Done ends a call picked with [Set.Pick].
func (e *Endpoint) Done() { e.active.Add(-1) }

// ErrNoEndpoint is returned by Pick when the set has no endpoint.
var ErrNoEndpoint = errors.New("upstream: no endpoint")

// snapshot is an immutable view of a set's endpoints with the policy's
// precomputed tables.
type snapshot struct {
	endpoints []*Endpoint
	cumWeight []uint64 // cumulative weights, for weighted random choices
	schedule  []uint16 // round-robin order of endpoint indexes
	ring      []ringPoint
}

type ringPoint struct {
	hash uint64
	ep   uint16
}

// Set is the live endpoints of one integration's targets. It is safe for
// concurrent use. Make one with [New] and stop its DNS refreshes with
// [Set.Close].
type Set struct {
	cfg       Config
	snap      atomic.Pointer[snapshot]
	next      atomic.Uint64 // round-robin position
	cancel    context.CancelFunc
	done      chan struct{} // closed when DNS refreshes stop
	checkDone chan struct{} // closed when health checks stop
	ejectMu   sync.Mutex    // serializes ejections, for the maximum share

	lastUsed atomic.Int64 // Unix seconds, for Registry sweeps
}

// New makes a Set, resolving DNS names once before it returns (a name that
// does not resolve is kept as it is, for the dialer), and refreshing them
// in the background while any is a name.
func New(cfg Config) (*Set, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("upstream: no targets")
	}
	if len(cfg.Targets) > 1<<15 {
		return nil, errors.New("upstream: too many targets")
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.LookupHost == nil {
		cfg.LookupHost = net.DefaultResolver.LookupHost
	}
	if od := cfg.Outlier; od != nil {
		o := *od
		o.ConsecutiveFailures = cmpOr(o.ConsecutiveFailures, DefaultConsecutiveFailures)
		o.BaseEjection = cmpOr(o.BaseEjection, DefaultBaseEjection)
		o.MaxEjectionPercent = cmpOr(o.MaxEjectionPercent, DefaultMaxEjectionPercent)
		cfg.Outlier = &o
	}
	if hc := cfg.Health; hc != nil {
		if hc.Check == nil {
			return nil, errors.New("upstream: a health check needs a Check function")
		}
		h := *hc
		h.Interval = cmpOr(h.Interval, DefaultHealthInterval)
		h.Timeout = cmpOr(h.Timeout, DefaultHealthTimeout)
		h.HealthyThreshold = cmpOr(h.HealthyThreshold, DefaultHealthyThreshold)
		h.UnhealthyThreshold = cmpOr(h.UnhealthyThreshold, DefaultUnhealthyThreshold)
		cfg.Health = &h
	}
	s := &Set{cfg: cfg, done: make(chan struct{}), checkDone: make(chan struct{})}
	s.lastUsed.Store(time.Now().Unix())
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	names := s.refresh(ctx)
	if names {
		go s.refreshLoop(ctx)
	} else {
		close(s.done)
	}
	if cfg.Health != nil {
		go s.checkLoop(ctx)
	} else {
		close(s.checkDone)
	}
	return s, nil
}

// cmpOr returns v, or def when v is not positive.
func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Close stops DNS refreshes and health checks. Pick still works on the
// last endpoints.
func (s *Set) Close() {
	s.cancel()
	<-s.done
	<-s.checkDone
}

func (s *Set) refreshLoop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.refresh(ctx)
		}
	}
}

// refresh resolves the targets and publishes the endpoints if they
// changed, keeping the Endpoint of an address that stays (its busy count).
// It reports whether any target is a DNS name. A name that fails to
// resolve keeps its previous addresses.
func (s *Set) refresh(ctx context.Context) (names bool) {
	prev := s.snap.Load()
	old := map[string]*Endpoint{}
	if prev != nil {
		for _, e := range prev.endpoints {
			old[e.Target+"|"+e.Address] = e
		}
	}
	var eps []*Endpoint
	seen := map[string]bool{}
	add := func(target, addr string, w uint32) {
		k := target + "|" + addr
		if seen[k] {
			return
		}
		seen[k] = true
		if e, ok := old[k]; ok && e.Weight == w {
			eps = append(eps, e)
			return
		}
		eps = append(eps, &Endpoint{Address: addr, Target: target, Weight: w})
	}
	for _, t := range s.cfg.Targets {
		w := max(t.Weight, 1)
		host, port, err := net.SplitHostPort(t.Address)
		if err != nil || net.ParseIP(host) != nil {
			add(t.Address, t.Address, w)
			continue
		}
		names = true
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := s.cfg.LookupHost(lctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			kept := false
			if prev != nil {
				for _, e := range prev.endpoints {
					if e.Target == t.Address {
						add(e.Target, e.Address, w)
						kept = true
					}
				}
			}
			if !kept {
				add(t.Address, t.Address, w)
			}
			continue
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			add(t.Address, net.JoinHostPort(a, port), w)
		}
	}
	if prev != nil && slices.Equal(prev.endpoints, eps) {
		return names
	}
	s.snap.Store(build(eps, s.cfg.Policy))
	return names
}

// build computes the policy's tables.
func build(eps []*Endpoint, p Policy) *snapshot {
	sn := &snapshot{endpoints: eps, cumWeight: make([]uint64, len(eps))}
	var total uint64
	for i, e := range eps {
		total += uint64(e.Weight)
		sn.cumWeight[i] = total
	}
	switch p {
	case RoundRobin:
		sn.schedule = schedule(eps)
	case ConsistentHash:
		sn.ring = ring(eps)
	}
	return sn
}

// schedule lays out one round of smooth weighted round robin (nginx's):
// each step every endpoint gains its weight, the one with the most goes
// next and pays the total. Weights are scaled down if a round would be
// longer than maxSchedule.
func schedule(eps []*Endpoint) []uint16 {
	weights := make([]int64, len(eps))
	var total int64
	for i, e := range eps {
		weights[i] = int64(e.Weight)
		total += weights[i]
	}
	if g := gcdAll(weights); g > 1 {
		total = 0
		for i := range weights {
			weights[i] /= g
			total += weights[i]
		}
	}
	if total > maxSchedule {
		scale := float64(maxSchedule) / float64(total)
		total = 0
		for i := range weights {
			weights[i] = max(1, int64(float64(weights[i])*scale))
			total += weights[i]
		}
	}
	current := make([]int64, len(eps))
	out := make([]uint16, 0, total)
	for range total {
		best := 0
		for i := range current {
			current[i] += weights[i]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, uint16(best))
	}
	return out
}

func gcdAll(ws []int64) int64 {
	var g int64
	for _, w := range ws {
		a, b := g, w
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g
}

// ring places pointsPerWeight points per unit of weight for each endpoint
// (scaled down past maxRingPoints), at hashes of its target and address,
// so that a target keeps its points whatever else changes.
func ring(eps []*Endpoint) []ringPoint {
	var total uint64
	for _, e := range eps {
		total += uint64(e.Weight) * pointsPerWeight
	}
	scale := 1.0
	if total > maxRingPoints {
		scale = float64(maxRingPoints) / float64(total)
	}
	var pts []ringPoint
	for i, e := range eps {
		n := max(1, int(float64(uint64(e.Weight)*pointsPerWeight)*scale))
		for j := range n {
			pts = append(pts, ringPoint{hash: Hash(fmt.Sprintf("%s|%d", e.Address, j)), ep: uint16(i)})
		}
	}
	sort.Slice(pts, func(a, b int) bool { return pts[a].hash < pts[b].hash })
	return pts
}

// Hash is the 64-bit hash of consistent hashing: FNV-1a with a final mix,
// stable across processes so that every gateway instance maps a key to the
// same target.
func Hash(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	// splitmix64's finaliser spreads FNV's weak high bits.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Endpoints returns the current endpoints. The caller must not change
// the slice.
func (s *Set) Endpoints() []*Endpoint {
	return s.snap.Load().endpoints
}

// Pick chooses the endpoint of a call and counts the call as in flight on
// it until its Done. key is hashed by ConsistentHash and ignored by other
// policies. Endpoints in skip (an earlier attempt's) are avoided when
// another exists.
func (s *Set) Pick(key string, skip ...*Endpoint) (*Endpoint, error) {
	sn := s.snap.Load()
	if sn == nil || len(sn.endpoints) == 0 {
		return nil, ErrNoEndpoint
	}
	t := time.Now()
	if sec := t.Unix(); s.lastUsed.Load() != sec {
		s.lastUsed.Store(sec)
	}
	now := t.UnixNano()
	e := s.pickOnce(sn, key, 0)
	if slices.Contains(skip, e) || !e.available(now) {
		e = s.repick(sn, key, e, now, skip)
	}
	e.active.Add(1)
	return e, nil
}

// repick chooses again when the policy's choice e is to be avoided: a
// skipped endpoint, or (while any other endpoint is available) one that is
// unhealthy or ejected.
func (s *Set) repick(sn *snapshot, key string, e *Endpoint, now int64, skip []*Endpoint) *Endpoint {
	anyAvailable := false
	for _, c := range sn.endpoints {
		if c.available(now) && !slices.Contains(skip, c) {
			anyAvailable = true
			break
		}
	}
	avoid := func(c *Endpoint) bool {
		return slices.Contains(skip, c) || (anyAvailable && !c.available(now))
	}
	for attempt := 1; attempt < 3 && avoid(e); attempt++ {
		e = s.pickOnce(sn, key, attempt)
	}
	if avoid(e) {
		// The policy keeps choosing avoided endpoints: take the next one
		// that is not, if any.
		i := slices.Index(sn.endpoints, e)
		for j := 1; j < len(sn.endpoints); j++ {
			if c := sn.endpoints[(i+j)%len(sn.endpoints)]; !avoid(c) {
				return c
			}
		}
	}
	return e
}

func (s *Set) pickOnce(sn *snapshot, key string, attempt int) *Endpoint {
	eps := sn.endpoints
	if len(eps) == 1 {
		return eps[0]
	}
	switch s.cfg.Policy {
	case Random:
		return eps[sn.weighted()]
	case LeastRequest:
		a, b := eps[sn.weighted()], eps[sn.weighted()]
		// Fewer in flight per unit of weight wins: a*wb < b*wa.
		if b.active.Load()*int64(a.Weight) < a.active.Load()*int64(b.Weight) {
			return b
		}
		return a
	case ConsistentHash:
		h := Hash(key)
		if attempt > 0 {
			// A retry walks on from the key's point to the next target.
			h = Hash(fmt.Sprintf("%s|%d", key, attempt))
		}
		i := sort.Search(len(sn.ring), func(i int) bool { return sn.ring[i].hash >= h })
		if i == len(sn.ring) {
			i = 0
		}
		return eps[sn.ring[i].ep]
	default:
		n := s.next.Add(1) - 1
		return eps[sn.schedule[n%uint64(len(sn.schedule))]]
	}
}

// weighted returns an endpoint index at random, in proportion to weight.
func (sn *snapshot) weighted() int {
	total := sn.cumWeight[len(sn.cumWeight)-1]
	r := rand.Uint64N(total)
	i, _ := slices.BinarySearchFunc(sn.cumWeight, r, func(c, r uint64) int {
		if c > r {
			return 1
		}
		return -1
	})
	return i
}

// Registry shares Sets by key between routes and deployments. It is safe
// for concurrent use; the zero Registry is ready.
type Registry struct {
	mu   sync.Mutex
	sets map[string]*Set
}

// Get returns the Set of key, made from cfg on the first request for key.
// Two calls with the same key must pass the same cfg.
func (r *Registry) Get(key string, cfg func() Config) (*Set, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sets[key]; ok {
		return s, nil
	}
	s, err := New(cfg())
	if err != nil {
		return nil, err
	}
	if r.sets == nil {
		r.sets = map[string]*Set{}
	}
	r.sets[key] = s
	return s, nil
}

// Sweep closes and forgets the Sets no call has picked from for idle.
func (r *Registry) Sweep(idle time.Duration) {
	cutoff := time.Now().Add(-idle).Unix()
	r.mu.Lock()
	var stale []*Set
	for k, s := range r.sets {
		if s.lastUsed.Load() < cutoff {
			stale = append(stale, s)
			delete(r.sets, k)
		}
	}
	r.mu.Unlock()
	for _, s := range stale {
		s.Close()
	}
}

// Range calls f for every Set, without the registry's lock held.
func (r *Registry) Range(f func(*Set)) {
	r.mu.Lock()
	sets := make([]*Set, 0, len(r.sets))
	for _, s := range r.sets {
		sets = append(sets, s)
	}
	r.mu.Unlock()
	for _, s := range sets {
		f(s)
	}
}

// Close closes every Set.
func (r *Registry) Close() {
	r.mu.Lock()
	sets := r.sets
	r.sets = nil
	r.mu.Unlock()
	for _, s := range sets {
		s.Close()
	}
}
