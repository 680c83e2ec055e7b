package gateway

import "github.com/tollgate-gw/tollgate/server/gateway/routing"

// RegisteredRefs returns how many stage references in-process calls can
// reach: those of the served runtimes and of retired ones still in use.
func (g *Gateway) RegisteredRefs() int {
	n := 0
	g.refs.Range(func(any, any) bool { n++; return true })
	return n
}

// RESTCallsInFlight returns how many transcoded calls hold a stage
// reference.
func (g *Gateway) RESTCallsInFlight() int {
	n := 0
	g.refs.Range(func(_, v any) bool {
		r := v.(*stageRuntime).ref
		r.mu.Lock()
		n += r.calls
		r.mu.Unlock()
		return true
	})
	return n
}

// PendingStreamingRESTCalls returns how many streaming transcoded calls
// wait in restCalls for routing to take their restRequest.
func (g *Gateway) PendingStreamingRESTCalls() int {
	n := 0
	g.restCalls.Range(func(any, any) bool { n++; return true })
	return n
}

// Table returns the routing table served now.
func (g *Gateway) Table() *routing.Table { return g.current.Load().table }

// BackendUsers returns how many served runtimes use each gRPC backend
// target.
func (g *Gateway) BackendUsers() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for b, n := range g.backendUsers {
		out[b.Target] += n
	}
	return out
}
