package server

import (
	"context"
	"maps"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// newResponseCache creates the stages' response cache. It reads the raw
// frames of the data-plane server, and lets a caller that presents the
// admin token (cache.AdminTokenHeader: gRPC metadata, or the HTTP header of
// a REST call) refresh an entry as an authorizer's InvalidateCache
// permission would.
func (s *Server) newResponseCache() *cache.Cache {
	var shared cache.Shared
	if s.redis != nil {
		shared = s.redis.cache // only for the stages that opt in
	}
	return cache.New(
		cache.WithShared(shared, 0),
		cache.WithCodec(grpcproxy.Messages{}),
		cache.WithLogger(s.log),
		cache.WithAdminPermission(func(ctx context.Context, call *callinfo.Call) bool {
			key := cache.AdminTokenHeader
			if call.Protocol == callinfo.REST {
				key = callinfo.HeaderMetadataPrefix + key
			}
			vs := metadata.ValueFromIncomingContext(ctx, key)
			return len(vs) == 1 && s.adminAuth.Check(vs[0])
		}),
	)
}

// flushCache empties a stage's response cache, for the admin API's
// FlushStageCache: on this node, and on the others sharing its Redis; with
// a Redis, its shared entries too (a new generation, in one round trip).
// For a stage that shares its cache the flush fails when Redis does not
// answer, since its shared entries would survive it; for another stage
// the shared flush is only in case it shared its cache before (and would
// again), and its failure is logged.
func (s *Server) flushCache(ctx context.Context, stage string, shared bool) error {
	if s.respCache == nil {
		return nil
	}
	var err error
	if s.redis != nil {
		err = s.respCache.FlushShared(ctx, stage)
		if err != nil && !shared {
			s.log.Warn("the response cache was flushed on the nodes; its former shared entries in Redis could not be", "stage", stage, "error", err.Error())
			err = nil
		}
	} else {
		s.respCache.Flush(stage)
	}
	s.tellFleet(topicFlushCache, stage)
	return err
}

// flushCacheLocal empties a stage's response cache on this node.
func (s *Server) flushCacheLocal(stage string) {
	if s.respCache != nil {
		s.respCache.Flush(stage)
	}
}

// flushAuthorizersCache empties the policy caches of a stage's custom
// authorizers (all of them, or the one named), for the admin API's
// FlushStageAuthorizersCache: on this node, and on the others sharing its
// Redis.
func (s *Server) flushAuthorizersCache(stage, authorizer string) {
	s.flushAuthorizersCacheLocal(stage, authorizer)
	s.tellFleet(topicFlushAuthorizers, stage+"\n"+authorizer)
}

// flushAuthorizersCacheLocal is flushAuthorizersCache on this node only.
func (s *Server) flushAuthorizersCacheLocal(stage, authorizer string) {
	if s.authorizers != nil {
		n := s.authorizers.FlushStage(stage, authorizer)
		s.log.Info("authorizer caches flushed", "stage", stage, "authorizer", authorizer, "caches", n)
	}
}

// retainCaches drops the response caches of deployments no stage serves
// any more, so that a stage's new deployment starts with an empty cache:
// of every stage, or of the stages a change (deployed.Delta) names.
func (s *Server) retainCaches(deployed admin.DeployedConfig) {
	if s.respCache == nil {
		return
	}
	live := make(map[string][]string, len(deployed.Stages)+len(deployed.Removed))
	for _, name := range deployed.Removed {
		live[name] = nil
	}
	for _, d := range deployed.Stages {
		if !d.Stage.GetCache().GetEnabled() {
			live[d.Stage.GetName()] = nil // a disabled cache frees its memory
			continue
		}
		deps := []string{d.Deployment.GetName()}
		if d.Canary != nil {
			deps = append(deps, d.Canary.GetName())
		}
		live[d.Stage.GetName()] = deps
	}
	if deployed.Delta {
		s.respCache.RetainStages(live)
		return
	}
	maps.DeleteFunc(live, func(_ string, deps []string) bool { return len(deps) == 0 })
	s.respCache.Retain(live)
}
