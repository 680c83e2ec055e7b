package cache

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Response metadata the interceptor adds. REST clients get them as HTTP
// headers of the same name.
const (
	// StatusHeader says whether the response came from the cache: "hit"
	// or "miss". Responses of calls the cache does not consider have none.
	StatusHeader = "x-tollgate-cache"
	// ControlIgnoredHeader is "ignored" on responses to calls whose
	// Cache-Control: max-age=0 was ignored because the caller may not
	// refresh the cache, on stages whose strategy is
	// UNAUTHORIZED_CACHE_CONTROL_IGNORE_WITH_HEADER.
	ControlIgnoredHeader = "x-tollgate-cache-control"
	// AdminTokenHeader carries the gateway's admin token on a data-plane
	// call, to refresh a cached response without the authorizer's
	// permission (see WithAdminPermission). It never reaches backends.
	AdminTokenHeader = "x-tollgate-admin-token"
)

// Cache holds the response caches of every stage, one per stage and
// deployment, and serves them with StreamServerInterceptor. Create it with
// New; it is safe for concurrent use. The zero value is not usable.
type Cache struct {
	opts options

	mu     sync.RWMutex
	stages map[string]stageCaches // by stage resource name
	// live is what the last Retain kept, or nil before the first: a
	// deployment not in it gets no cache, so a call still running on a
	// replaced deployment cannot bring back the cache Retain dropped.
	live map[string][]string
}

// New returns a Cache with no entries.
func New(opts ...Option) *Cache {
	o := options{now: time.Now, codec: ProtoCodec{}, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return &Cache{opts: o, stages: map[string]stageCaches{}}
}

// Flush empties the cache of a stage (every deployment it serves), as
// Amazon API Gateway's FlushStageCache: the next call of each cached route
// reaches the backend, and backend calls in progress do not fill it. It
// reports whether the stage had a cache.
func (c *Cache) Flush(stage string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	caches := c.stages[stage]
	for _, sc := range caches {
		sc.flush()
	}
	return len(caches) > 0
}

// Retain drops the caches of every stage and deployment not in live (stage
// resource name → the deployments it serves, its canary's included). The
// gateway calls it whenever what is deployed changes, so a stage that gets
// a new deployment starts with an empty cache, and so does a stage rolled
// back to an earlier one.
func (c *Cache) Retain(live map[string][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = make(map[string][]string, len(live))
	for stage, deps := range live {
		c.live[stage] = append([]string(nil), deps...)
	}
	for stage, caches := range c.stages {
		for dep, sc := range caches {
			if !slices.Contains(live[stage], dep) {
				sc.close()
				delete(caches, dep)
			}
		}
		if len(caches) == 0 {
			delete(c.stages, stage)
		}
	}
}

// RetainStages is Retain for the stages named in changed only (stage
// resource name → the deployments it serves now, none for a stage no
// longer served or cached): the caches of the other stages stay as they
// are, so that its cost is the size of the change.
func (c *Cache) RetainStages(changed map[string][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		c.live = map[string][]string{}
	}
	for stage, deps := range changed {
		if len(deps) == 0 {
			delete(c.live, stage)
		} else {
			c.live[stage] = append([]string(nil), deps...)
		}
		caches := c.stages[stage]
		for dep, sc := range caches {
			if !slices.Contains(deps, dep) {
				sc.close()
				delete(caches, dep)
			}
		}
		if len(caches) == 0 {
			delete(c.stages, stage)
		}
	}
}

// Close drops every cache and stops their goroutines; later calls are not
// cached.
func (c *Cache) Close() {
	c.Retain(nil)
}

// ttl returns the TTL of a call's route on its stage, 0 when the route
// is not cached: the stage's setting, or the route's override.
func ttl(call *callinfo.Call) time.Duration {
	cfg := call.StageConfig.GetCache()
	if !cfg.GetEnabled() {
		return 0
	}
	enabled := true
	secs := int64(DefaultTTL / time.Second)
	if cfg.TtlSeconds != nil {
		secs = int64(cfg.GetTtlSeconds())
	}
	if rs, ok := call.StageConfig.GetRouteSettings()[call.RouteKey]; ok {
		if rs.CachingEnabled != nil {
			enabled = rs.GetCachingEnabled()
		}
		if rs.CacheTtlSeconds != nil {
			secs = int64(rs.GetCacheTtlSeconds())
		}
	}
	if !enabled || secs <= 0 {
		return 0
	}
	return min(time.Duration(secs)*time.Second, MaxTTL)
}

// cacheableMethod reports whether a call's method may be cached: unary,
// and a read (REST GET, or a gRPC method marked NO_SIDE_EFFECTS) unless
// its route opts in to caching every method.
func cacheableMethod(call *callinfo.Call) bool {
	if !call.Unary {
		return false
	}
	if call.Route.GetCacheAllMethods() {
		return true
	}
	if call.Protocol == callinfo.REST {
		return call.HTTPMethod == "GET"
	}
	return call.NoSideEffects
}

// capacity returns the capacity of a call's stage cache in bytes.
func capacity(call *callinfo.Call) int64 {
	if n := call.StageConfig.GetCache().GetCapacityBytes(); n > 0 {
		return n
	}
	return DefaultCapacityBytes
}

// maxEntry returns the largest response a call's stage caches, in bytes.
func maxEntry(call *callinfo.Call) int {
	if n := call.StageConfig.GetCache().GetMaxEntryBytes(); n > 0 {
		return int(min(n, 1<<30))
	}
	return DefaultMaxEntryBytes
}
