package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
)

// storeWatch is the goroutine following the writes of other processes
// sharing the store.
type storeWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
}

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
// account settings when they changed. (API keys and usage plans are looked
// up with a short cache and need nothing.) While the store is unavailable
// the data plane keeps its configuration; the watch catches up when it is
// back.
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
	s.watch.cancel, s.watch.done = cancel, make(chan struct{})
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
