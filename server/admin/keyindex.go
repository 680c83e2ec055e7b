package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
	"github.com/tollgate-gw/tollgate/server/store"
)

// KeyChangesKind is the change log of API keys and usage plans that a
// shared store (one with a store.Watcher) keeps: every admin write to a key,
// a plan or a membership appends, in its own transaction, the names it
// changed, so that the other processes sharing the store update their key
// index by what changed rather than by reading every key again.
const KeyChangesKind store.Kind = kindKeyChanges

const (
	kindKeyChanges store.Kind = "apiKeyChanges"
	// keyChangeSeq is the record of kindKeyChanges holding the last
	// sequence number; log entries are keyChangePrefix + 19 digits.
	keyChangeSeq    = "seq"
	keyChangePrefix = "n/"
	// keyChangesKept is how many log entries are kept: a process that
	// fell further behind (its feed was down for that many key writes)
	// reads every key again.
	keyChangesKept = 10_000
	// keyReloadInterval spaces the attempts to load an index that is not
	// loaded (a read after a write failed).
	keyReloadInterval = time.Second
	// keyFallbackTTL is the fallback cache's TTL, while the index is not
	// loaded: how long a revoked key may still be accepted then.
	keyFallbackTTL = 500 * time.Millisecond
)

// keyIndex holds every API key in memory, by the SHA-256 of its value,
// resolved as the data plane needs it (apikey.Key): a lookup is a map
// access, for known and unknown keys alike, and never reads the store.
// It is built once (LoadKeyIndex) and then kept exact by the admin writes
// of this process and, for a shared store, by the change log the others
// write (FollowKeyChanges). Keys of the same set of plans share one stage
// map.
type keyIndex struct {
	// mu guards the maps and loaded; lookups hold it for reading.
	mu sync.RWMutex
	// loaded reports that the maps hold the store's content; false
	// before the first load and after a read that followed a write
	// failed (then lookups ask the store, until a load succeeds).
	loaded bool
	// ever reports that the maps were loaded once: their answers are the
	// last known ones while the store is unavailable.
	ever   bool
	byHash map[[sha256.Size]byte]*indexedKey
	byName map[string]*indexedKey
	plans  map[string]*adminv1.UsagePlan
	sets   map[string]*planSet          // by planSetID
	setsOf map[string]map[*planSet]bool // plan name → the sets naming it

	// refresh serializes the reads of the store and their application,
	// so that an older read never overwrites a newer one: each read
	// starts after the write it follows committed.
	refresh sync.Mutex
	// logSeq is the last entry of the change log applied (shared
	// stores); guarded by refresh.
	logSeq int64

	// lastTry is when a load was last attempted in the background
	// (unix nanoseconds), and reloading that one runs.
	lastTry   atomic.Int64
	reloading atomic.Bool
}

// indexedKey is one key of the index.
type indexedKey struct {
	// key is what lookups return; it is replaced, never changed, since
	// callers keep it.
	key  *apikey.Key
	hash [sha256.Size]byte
	set  *planSet // nil: in no plan
}

// planSet is a set of usage plans some keys are in, with the stage map
// those keys share.
type planSet struct {
	id      string
	plans   []string // sorted
	stages  map[string]*adminv1.UsagePlan
	members map[*indexedKey]bool
}

// keyRecord is what the store holds about one key: k is nil for a deleted
// key; hash is the hex SHA-256 of its value ("" when unknown).
type keyRecord struct {
	name  string
	k     *adminv1.ApiKey
	hash  string
	plans []string // sorted
}

// keyChange names the keys and plans a write changed.
type keyChange struct {
	keys  []string
	plans []string
}

// planSetID identifies a sorted set of plan names (without allocating for
// the common set of one).
func planSetID(plans []string) string {
	if len(plans) == 1 {
		return plans[0]
	}
	return strings.Join(plans, "\n")
}

// decodeHash parses a hex SHA-256 without allocating; ok is false for
// anything else (which no key has).
func decodeHash(s string) (h [sha256.Size]byte, ok bool) {
	if len(s) != 2*sha256.Size {
		return h, false
	}
	for i := range h {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return h, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// lookup answers from the maps for the digest h (ok false: no key's, for
// an input that was not a digest): the key (nil for an unknown one),
// whether the maps are loaded (else the answer is only the last known
// one), and whether they ever were.
func (ix *keyIndex) lookup(h [sha256.Size]byte, ok bool) (k *apikey.Key, loaded, ever bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ok {
		if e := ix.byHash[h]; e != nil {
			k = e.key
		}
	}
	return k, ix.loaded, ix.ever
}

// size returns the number of keys indexed.
func (ix *keyIndex) size() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byHash)
}

// markStale makes lookups ask the store until the next load.
func (ix *keyIndex) markStale() {
	ix.mu.Lock()
	ix.loaded = false
	ix.mu.Unlock()
}

// resolvedKey builds the apikey.Key of k with the stage map stages.
func resolvedKey(k *adminv1.ApiKey, stages map[string]*adminv1.UsagePlan) (*apikey.Key, error) {
	out := &apikey.Key{Name: k.GetName(), Enabled: k.GetEnabled(), CustomerID: k.GetCustomerId(), UsagePlans: stages}
	if p := k.GetIpPolicy(); len(p.GetAllow()) > 0 || len(p.GetDeny()) > 0 {
		// Validated when written, compiled once here.
		rule, err := ipacl.Compile(p.GetAllow(), p.GetDeny())
		if err != nil {
			return nil, fmt.Errorf("api key %s: ip policy: %w", k.GetName(), err)
		}
		out.IPPolicy = rule
	}
	return out, nil
}

// stagesOf maps each stage the plans cover to its plan; plans missing
// from the index are left out. Later plans win (a key is in one plan per
// stage, which the admin writes check).
func (ix *keyIndex) stagesOf(plans []string) map[string]*adminv1.UsagePlan {
	out := map[string]*adminv1.UsagePlan{}
	for _, name := range plans {
		p := ix.plans[name]
		for _, as := range p.GetApiStages() {
			out[as.GetStage()] = p
		}
	}
	return out
}

// setFor returns the shared set of plans, creating it. ix.mu is held.
func (ix *keyIndex) setFor(plans []string) *planSet {
	if len(plans) == 0 {
		return nil
	}
	id := planSetID(plans)
	if s := ix.sets[id]; s != nil {
		return s
	}
	s := &planSet{id: id, plans: plans, stages: ix.stagesOf(plans), members: map[*indexedKey]bool{}}
	ix.sets[id] = s
	for _, p := range plans {
		if ix.setsOf[p] == nil {
			ix.setsOf[p] = map[*planSet]bool{}
		}
		ix.setsOf[p][s] = true
	}
	return s
}

// leave removes e from its set, dropping the set when it empties. ix.mu is
// held.
func (ix *keyIndex) leave(e *indexedKey) {
	s := e.set
	if s == nil {
		return
	}
	delete(s.members, e)
	e.set = nil
	if len(s.members) > 0 {
		return
	}
	delete(ix.sets, s.id)
	for _, p := range s.plans {
		delete(ix.setsOf[p], s)
		if len(ix.setsOf[p]) == 0 {
			delete(ix.setsOf, p)
		}
	}
}

// putPlan sets (nil: removes) a plan, and rebuilds the stage maps of the
// sets naming it and the keys in them: O(the plan's keys). ix.mu is held.
func (ix *keyIndex) putPlan(name string, p *adminv1.UsagePlan) {
	if p == nil {
		delete(ix.plans, name)
	} else {
		ix.plans[name] = p
	}
	for s := range ix.setsOf[name] {
		// A new map rather than changing the shared one: lookups
		// already returned read it without a lock.
		s.stages = ix.stagesOf(s.plans)
		for e := range s.members {
			k := *e.key
			k.UsagePlans = s.stages
			e.key = &k
		}
	}
}

// putKey sets a key as the store holds it (rec.k nil: removes it). An
// unknown hash keeps the one the index has for the name. ix.mu is held.
func (ix *keyIndex) putKey(rec keyRecord) error {
	old := ix.byName[rec.name]
	var hash [sha256.Size]byte
	ok := false
	if rec.hash != "" {
		hash, ok = decodeHash(rec.hash)
	}
	if !ok && old != nil {
		hash, ok = old.hash, true
	}
	if old != nil {
		ix.leave(old)
		delete(ix.byName, rec.name)
		if ix.byHash[old.hash] == old {
			delete(ix.byHash, old.hash)
		}
	}
	if rec.k == nil || !ok {
		return nil
	}
	e := &indexedKey{hash: hash, set: ix.setFor(rec.plans)}
	var stages map[string]*adminv1.UsagePlan
	if e.set != nil {
		stages = e.set.stages
	}
	k, err := resolvedKey(rec.k, stages)
	if err != nil {
		ix.leave(e)
		return err
	}
	e.key = k
	if e.set != nil {
		e.set.members[e] = true
	}
	ix.byName[rec.name] = e
	ix.byHash[hash] = e
	return nil
}

// readKey reads what the store holds about the key name.
func readKey(tx store.Tx, name string) (keyRecord, error) {
	rec := keyRecord{name: name}
	k, err := load[adminv1.ApiKey](tx, kindAPIKeys, name)
	if errors.Is(err, store.ErrNotFound) {
		return rec, nil
	} else if err != nil {
		return rec, err
	}
	rec.k = k
	if h, err := tx.Get(kindAPIKeyHashOf, name); err == nil {
		rec.hash = string(h)
	} else if !errors.Is(err, store.ErrNotFound) {
		return rec, err
	}
	memberships, err := planKeysOf(tx, name)
	if err != nil {
		return rec, err
	}
	for _, m := range memberships {
		rec.plans = append(rec.plans, parentOf(m.GetName()))
	}
	slices.Sort(rec.plans)
	rec.plans = slices.Compact(rec.plans)
	return rec, nil
}

// readKeySeq reads the last sequence number of the change log.
func readKeySeq(tx store.Tx) (int64, error) {
	b, err := tx.Get(kindKeyChanges, keyChangeSeq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// keyChangeKey is the record of log entry seq.
func keyChangeKey(seq int64) string { return fmt.Sprintf("%s%019d", keyChangePrefix, seq) }

// logKeyChange appends ch to the change log, in the write's transaction,
// when the store is shared (else no other process needs it).
func (s *Service) logKeyChange(tx store.Tx, ch keyChange) error {
	if _, shared := s.store.(store.Watcher); !shared {
		return nil
	}
	seq, err := readKeySeq(tx)
	if err != nil {
		return fmt.Errorf("read the key change log: %w", err)
	}
	seq++
	if err := tx.Put(kindKeyChanges, keyChangeKey(seq), encodeKeyChange(ch)); err != nil {
		return err
	}
	if err := tx.Put(kindKeyChanges, keyChangeSeq, []byte(strconv.FormatInt(seq, 10))); err != nil {
		return err
	}
	if seq > keyChangesKept {
		if err := tx.Delete(kindKeyChanges, keyChangeKey(seq-keyChangesKept)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// encodeKeyChange encodes a log entry: a line per name, "k " and a key's
// name or "p " and a plan's (names hold no newline).
func encodeKeyChange(ch keyChange) []byte {
	var b bytes.Buffer
	for _, k := range ch.keys {
		b.WriteString("k " + k + "\n")
	}
	for _, p := range ch.plans {
		b.WriteString("p " + p + "\n")
	}
	return b.Bytes()
}

// parseKeyChange decodes a log entry, appending to into.
func parseKeyChange(b []byte, into *keyChange) {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "k "):
			into.keys = append(into.keys, line[2:])
		case strings.HasPrefix(line, "p "):
			into.plans = append(into.plans, line[2:])
		}
	}
}

// LoadKeyIndex reads every API key and usage plan into the key index that
// LookupAPIKey answers from, and returns the number of keys. The server
// calls it once at startup; FollowKeyChanges calls it when it cannot tell
// what changed. Lookups are answered from the previous content while it
// runs.
func (s *Service) LoadKeyIndex(ctx context.Context) (int, error) {
	ix := &s.keys
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	return s.loadKeyIndex(ctx)
}

// loadKeyIndex is LoadKeyIndex; ix.refresh is held.
func (s *Service) loadKeyIndex(ctx context.Context) (int, error) {
	ix := &s.keys
	var (
		seq      int64
		plans    []*adminv1.UsagePlan
		hashes   []store.Record
		keys     []store.Record
		members  []store.Record
		hashOf   = map[string]string{}
		plansOf  = map[string][]string{}
		readErr  error
		newIndex keyIndex
	)
	readErr = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if seq, err = readKeySeq(tx); err != nil {
			return err
		}
		if plans, err = loadAll[adminv1.UsagePlan](tx, kindUsagePlans, "usagePlans/"); err != nil {
			return err
		}
		if hashes, err = tx.List(kindAPIKeyHashes, "", "", 0); err != nil {
			return err
		}
		if keys, err = tx.List(kindAPIKeys, "apiKeys/", "", 0); err != nil {
			return err
		}
		members, err = tx.List(kindUsagePlanKeys, "usagePlans/", "", 0)
		return err
	})
	if readErr != nil {
		return 0, fmt.Errorf("load the API key index: %w", readErr)
	}
	for _, r := range hashes {
		hashOf[string(r.Value)] = r.Key
	}
	hashes = nil
	for _, r := range members {
		// usagePlans/{plan}/keys/{key ID}: the name says both.
		plan, id, ok := strings.Cut(r.Key, "/keys/")
		if !ok {
			continue
		}
		name := "apiKeys/" + id
		plansOf[name] = append(plansOf[name], plan)
	}
	members = nil
	newIndex.byHash = make(map[[sha256.Size]byte]*indexedKey, len(keys))
	newIndex.byName = make(map[string]*indexedKey, len(keys))
	newIndex.plans = make(map[string]*adminv1.UsagePlan, len(plans))
	newIndex.sets, newIndex.setsOf = map[string]*planSet{}, map[string]map[*planSet]bool{}
	for _, p := range plans {
		newIndex.plans[p.GetName()] = p
	}
	for _, r := range keys {
		k := &adminv1.ApiKey{}
		if err := proto.Unmarshal(r.Value, k); err != nil {
			return 0, fmt.Errorf("load the API key index: decode %s: %w", r.Key, err)
		}
		ps := plansOf[r.Key]
		slices.Sort(ps)
		if err := newIndex.putKey(keyRecord{name: r.Key, k: k, hash: hashOf[r.Key], plans: slices.Compact(ps)}); err != nil {
			// Validated when written, so this cannot happen; one
			// such key is refused, not every key.
			s.logger.ErrorContext(ctx, "API key left out of the index", "error", err)
		}
	}
	ix.mu.Lock()
	ix.byHash, ix.byName, ix.plans, ix.sets, ix.setsOf = newIndex.byHash, newIndex.byName, newIndex.plans, newIndex.sets, newIndex.setsOf
	ix.loaded, ix.ever = true, true
	ix.mu.Unlock()
	ix.logSeq = seq
	return len(newIndex.byHash), nil
}

// refreshKeys reads what ch names and updates the index with it: after
// this process's own write, O(the keys and plans the write changed, and
// the keys of a changed plan). A failed read leaves the index to the store
// (lookups ask it through a short cache) until it is loaded again.
func (s *Service) refreshKeys(ctx context.Context, ch keyChange) {
	ix := &s.keys
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	if err := s.refreshKeysLocked(ctx, ch); err != nil {
		s.logger.ErrorContext(ctx, "could not update the API key index; keys are looked up in the store until it is loaded again", "error", err)
		ix.markStale()
	}
}

// refreshKeysLocked is refreshKeys, returning the error; ix.refresh is
// held. It does nothing while the index is not loaded: the load will read
// the change.
func (s *Service) refreshKeysLocked(ctx context.Context, ch keyChange) error {
	ix := &s.keys
	ix.mu.RLock()
	loaded := ix.loaded
	ix.mu.RUnlock()
	if !loaded || (len(ch.keys) == 0 && len(ch.plans) == 0) {
		return nil
	}
	// A plan's update reads only the plan: its keys' memberships did not
	// change (a deleted plan's change names its keys).
	keys := slices.Clone(ch.keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	plans := map[string]*adminv1.UsagePlan{}
	var recs []keyRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		readPlan := func(name string) error {
			if _, ok := plans[name]; ok {
				return nil
			}
			p, err := load[adminv1.UsagePlan](tx, kindUsagePlans, name)
			if errors.Is(err, store.ErrNotFound) {
				plans[name] = nil
				return nil
			}
			plans[name] = p
			return err
		}
		for _, p := range ch.plans {
			if err := readPlan(p); err != nil {
				return err
			}
		}
		for _, name := range keys {
			rec, err := readKey(tx, name)
			if err != nil {
				return err
			}
			for _, p := range rec.plans {
				ix.mu.RLock()
				_, have := ix.plans[p]
				ix.mu.RUnlock()
				if !have {
					// A plan the index has not seen yet.
					if err := readPlan(p); err != nil {
						return err
					}
				}
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the changed API keys: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for name, p := range plans {
		ix.putPlan(name, p)
	}
	var errs []error
	for _, rec := range recs {
		if err := ix.putKey(rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// keysChanged applies a write of this process that committed to the index.
func (s *Service) keysChanged(ctx context.Context, ch keyChange) {
	s.refreshKeys(context.WithoutCancel(ctx), ch)
}

// AffectsKeys reports whether a write to kind may change an API key's
// answer: processes sharing a store then call ApplyKeyChanges.
func AffectsKeys(kind store.Kind) bool {
	switch kind {
	case kindAPIKeys, kindUsagePlans, kindUsagePlanKeys, kindAPIKeyHashes, kindAPIKeyHashOf, kindAPIKeyPlans, kindKeyChanges:
		return true
	}
	return false
}

// ApplyKeyChanges brings the key index up to date after writes another
// process made to a shared store (kinds as a store.Change reports them, nil
// when unknown): by the change log when the writes kept it, else (kinds
// unknown, or a writer that keeps no log) by reading every key again.
func (s *Service) ApplyKeyChanges(ctx context.Context, kinds []store.Kind) error {
	if kinds != nil && !slices.ContainsFunc(kinds, AffectsKeys) {
		return nil
	}
	if kinds != nil && slices.Contains(kinds, kindKeyChanges) {
		return s.FollowKeyChanges(ctx)
	}
	_, err := s.LoadKeyIndex(ctx)
	return err
}

// FollowKeyChanges applies the entries of the change log written since the
// last one applied, reading only the keys and plans they name; when
// entries are missing (this process fell more than the log's length
// behind), it reads every key again. The server calls it on every change
// notification and, so that a revoked key stops working on every node
// even when a node's notifications stop, once a second.
func (s *Service) FollowKeyChanges(ctx context.Context) error {
	ix := &s.keys
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	ix.mu.RLock()
	loaded := ix.loaded
	ix.mu.RUnlock()
	if !loaded {
		_, err := s.loadKeyIndex(ctx)
		return err
	}
	var recs []store.Record
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		recs, err = tx.List(kindKeyChanges, keyChangePrefix, keyChangeKey(ix.logSeq), 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the key change log: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	var ch keyChange
	want := ix.logSeq + 1
	for _, r := range recs {
		seq, err := strconv.ParseInt(strings.TrimPrefix(r.Key, keyChangePrefix), 10, 64)
		if err != nil || seq != want {
			// Entries were trimmed before this process read them.
			_, err := s.loadKeyIndex(ctx)
			return err
		}
		want++
		parseKeyChange(r.Value, &ch)
	}
	if err := s.refreshKeysLocked(ctx, ch); err != nil {
		ix.markStale()
		return err
	}
	ix.logSeq = want - 1
	return nil
}

// reloadSoon loads the index in the background, at most once a
// keyReloadInterval, while it is not loaded.
func (s *Service) reloadSoon() {
	ix := &s.keys
	now := time.Now().UnixNano()
	if last := ix.lastTry.Load(); now-last < int64(keyReloadInterval) || !ix.lastTry.CompareAndSwap(last, now) {
		return
	}
	if !ix.reloading.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer ix.reloading.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.LoadKeyIndex(ctx); err != nil {
			s.logger.Warn("could not load the API key index; keys are looked up in the store meanwhile", "error", err)
		}
	}()
}
