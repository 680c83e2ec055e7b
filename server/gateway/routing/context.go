package routing

import (
	"context"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

type ctxKey struct{}

// NewContext returns ctx carrying the route of the call.
func NewContext(ctx context.Context, r *Route) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// NewCallContext makes c carry parent's values, the call's route r (as
// NewContext) and its record call (as callinfo.NewContext), and returns
// it: one context node, in memory the caller allocates with the call's
// other state, where the two functions allocate one each.
func NewCallContext(c *callinfo.Context, parent context.Context, r *Route, call *callinfo.Call) context.Context {
	return c.Init(parent, call, ctxKey{}, r)
}

// FromContext returns the route of the call, or nil outside the data plane.
// Policies (authorization, throttling, metering) read the API, stage and
// route they apply to from here.
func FromContext(ctx context.Context) *Route {
	r, _ := ctx.Value(ctxKey{}).(*Route)
	return r
}
