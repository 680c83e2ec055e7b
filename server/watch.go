package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
)

// storeWatch is the goroutine following the writes of other processes
// sharing the store.
type storeWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	polled chan struct{} // closed when pollKeyChanges returns
}

// keyPollInterval is how often a node sharing its store reads the API key
// change log even without a change notification: the bound on how long a
// key revoked on another node is still accepted here when this node's
// notifications stop (they normally arrive within milliseconds).
const keyPollInterval = time.Second

// loadKeyIndex reads every API key into the admin service's index, which
// the data plane's API key checks answer from. When the store cannot be
// read, the checks ask the store (through a short cache) until a later load
// succeeds.
func (s *Server) loadKeyIndex() {
	ctx, cancel := context.WithTimeout(context.Background(), keyLoadTimeout)
	defer cancel()
	start := time.Now()
	n, err := s.admin.LoadKeyIndex(ctx)
	if err != nil {
		s.log.Warn("could not load the API key index; API keys are looked up in the store until it loads", "error", err)
		return
	}
	s.log.Info("API key index loaded", "keys", n, "duration", time.Since(start).Round(time.Millisecond))
}

// keyLoadTimeout bounds reading every API key.
const keyLoadTimeout = time.Minute

// storeVersion returns the version of a shared store (0 for others), to be
// read before anything is cached from it.
func (s *Server) storeVersion() (int64, error) {
	w, ok := s.store.(store.Watcher)
	if !ok {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	v, err := w.Version(ctx)
	if err != nil {
		return 0, fmt.Errorf("server: read the store version: %w", err)
	}
	return v, nil
}

// watchStore starts applying the changes other processes make to a shared
// store after version since, as this process's own admin writes are
// applied: the data plane is reloaded when what is deployed changed, the
// account settings when they changed, the API key index when keys or
// plans changed (and, whatever the notifications, every keyPollInterval).
// While the store is unavailable the data plane keeps its configuration and
// its keys; the watch catches up when it is back.
func (s *Server) watchStore(since int64) {
	w, ok := s.store.(store.Watcher)
	if !ok {
		return
	}
	if s.tokenSource == "file" {
		s.log.Warn("this node shares its store with others, but its admin token comes from its own data dir; set the same TOLLGATE_ADMIN_TOKEN on every node",
			"token_file", s.tokenPath)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.watch.cancel, s.watch.done, s.watch.polled = cancel, make(chan struct{}), make(chan struct{})
	go s.pollKeyChanges(ctx)
	go func() {
		defer close(s.watch.done)
		err := w.Watch(ctx, since, s.applyChange)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
			s.log.Error("stopped following the store's changes", "error", err)
		}
	}()
}

// stopWatching stops the watch and waits for a reload in progress.
func (s *Server) stopWatching() {
	if s.watch.cancel != nil {
		s.watch.cancel()
		<-s.watch.done
		<-s.watch.polled
	}
}

// pollKeyChanges follows the API key change log every keyPollInterval
// until ctx is done.
func (s *Server) pollKeyChanges(ctx context.Context) {
	defer close(s.watch.polled)
	t := time.NewTicker(keyPollInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, loadTimeout)
		err := s.admin.FollowKeyChanges(rctx)
		cancel()
		if err != nil && !failing && ctx.Err() == nil {
			// Once per outage: the keys known stay in force meanwhile.
			s.log.Warn("could not read the API key change log; keeping the keys known", "error", err)
		}
		failing = err != nil
	}
}

// applyChange reloads what ch affects.
func (s *Server) applyChange(ch store.Change) {
	deployed, settings := ch.Kinds == nil, ch.Kinds == nil
	for _, k := range ch.Kinds {
		d, st := admin.Affects(k)
		deployed = deployed || d
		settings = settings || st
	}
	// Keys first: a revoked key is the most urgent change.
	kctx, kcancel := context.WithTimeout(context.Background(), keyLoadTimeout)
	if err := s.admin.ApplyKeyChanges(kctx, ch.Kinds); err != nil {
		s.log.Error("could not apply the API key changes of another node; keeping the keys known", "error", err)
	}
	kcancel()
	if settings {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		acct, err := s.admin.GetAccountSettings(ctx, &adminv1.GetAccountSettingsRequest{Name: "settings"})
		cancel()
		if err != nil {
			s.log.Error("could not read the account settings changed by another node; keeping the previous ones", "error", err)
		} else {
			s.setAccountSettings(acct)
		}
	}
	if deployed {
		if ch.Kinds == nil || slices.Contains(ch.Kinds, admin.DeploymentsKind) {
			// Another node may have deleted a deployment and created
			// one of the same name: read every deployment again.
			s.admin.ForgetDeployed()
		} else {
			s.admin.ForgetStages()
		}
		s.loadDeployed()
	}
	s.log.Debug("applied a store change", "version", ch.Version, "kinds", ch.Kinds, "deployed", deployed, "settings", settings)
}
