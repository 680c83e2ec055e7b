package routing

import "context"

type ctxKey struct{}

// NewContext returns ctx carrying the route of the call.
func NewContext(ctx context.Context, r *Route) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// FromContext returns the route of the call, or nil outside the data plane.
// Policies (authorization, throttling, metering) read the API, stage and
// route they apply to from here.
func FromContext(ctx context.Context) *Route {
	r, _ := ctx.Value(ctxKey{}).(*Route)
	return r
}
