package grpcproxy

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Retry defaults.
const (
	DefaultRetryBaseBackoff  = 25 * time.Millisecond
	DefaultRetryMaxBackoff   = 250 * time.Millisecond
	DefaultRetryBudgetPct    = 20
	DefaultRetryBudgetMin    = 3
	retryBudgetWindowSeconds = 10
)

// RetryPolicy retries a unary call that fails before the backend answered.
type RetryPolicy struct {
	// Attempts is the number of attempts, the first included; below 2
	// there is no retry.
	Attempts int
	// Codes are the statuses a retry follows; empty means UNAVAILABLE
	// (which includes an unreachable backend).
	Codes []codes.Code
	// BaseBackoff and MaxBackoff bound the wait before the n-th retry: a
	// random duration up to min(MaxBackoff, BaseBackoff·2ⁿ⁻¹) ("full
	// jitter"). Zero means the defaults, 25 ms and 250 ms.
	BaseBackoff, MaxBackoff time.Duration
	// Budget, if not nil, bounds the retries of every call that shares it.
	Budget *RetryBudget
}

// RetryBudget bounds retries to a share of calls, so that a failing
// backend is never hit by a retry storm: over the last ten seconds, at
// most Percent% of the calls (but at least Min retries) may be retried.
// Make one with [NewRetryBudget]; it is safe for concurrent use.
type RetryBudget struct {
	percent, min int

	mu      sync.Mutex
	buckets [retryBudgetWindowSeconds]budgetBucket
}

type budgetBucket struct {
	second         int64
	calls, retries int
}

// NewRetryBudget returns a budget of percent% of calls and at least min
// retries per ten seconds; zero values take the defaults (20%, 3).
func NewRetryBudget(percent, min int) *RetryBudget {
	if percent <= 0 {
		percent = DefaultRetryBudgetPct
	}
	if min <= 0 {
		min = DefaultRetryBudgetMin
	}
	return &RetryBudget{percent: percent, min: min}
}

func (b *RetryBudget) bucket(now int64) *budgetBucket {
	bk := &b.buckets[now%retryBudgetWindowSeconds]
	if bk.second != now {
		*bk = budgetBucket{second: now}
	}
	return bk
}

// Call counts a call that may be retried.
func (b *RetryBudget) Call() {
	if b == nil {
		return
	}
	now := time.Now().Unix()
	b.mu.Lock()
	b.bucket(now).calls++
	b.mu.Unlock()
}

// TryRetry reports whether one more retry is within the budget, and
// counts it if so.
func (b *RetryBudget) TryRetry() bool {
	if b == nil {
		return true
	}
	now := time.Now().Unix()
	b.mu.Lock()
	defer b.mu.Unlock()
	calls, retries := 0, 0
	for _, bk := range b.buckets {
		if bk.second > now-retryBudgetWindowSeconds {
			calls += bk.calls
			retries += bk.retries
		}
	}
	if retries >= max(b.min, calls*b.percent/100) {
		return false
	}
	b.bucket(now).retries++
	return true
}

func (r *RetryPolicy) retryable(err error) bool {
	c := status.Code(err)
	if len(r.Codes) == 0 {
		return c == codes.Unavailable
	}
	return slices.Contains(r.Codes, c)
}

// Backoff returns a random wait before retry n (from 1).
func (r *RetryPolicy) Backoff(n int) time.Duration {
	base, ceil := r.BaseBackoff, r.MaxBackoff
	if base <= 0 {
		base = DefaultRetryBaseBackoff
	}
	if ceil <= 0 {
		ceil = DefaultRetryMaxBackoff
	}
	d := min(ceil, base<<min(n-1, 20))
	return rand.N(d + 1)
}

// forwardRetrying relays a unary call with retries: it reads the client's
// whole request first, then tries backends until one answers (its headers
// or a message), its failure is not retryable, the attempts or the budget
// are spent, or ctx ends. Only a failure before the backend answered is
// retried, so nothing has reached the client then.
func (p *Proxy) forwardRetrying(ctx context.Context, ss grpc.ServerStream, method string, call *Call, md metadata.MD, opts []grpc.CallOption, deadline gatewayDeadline) error {
	var reqs []*Frame
	defer func() {
		for _, f := range reqs {
			f.Free()
		}
	}()
	for {
		f := new(Frame)
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		reqs = append(reqs, f)
	}
	pol := call.Retry
	pol.Budget.Call()
	octx := metadata.NewOutgoingContext(ctx, md)
	backend, done := call.Backend, call.Done
	call.Done = nil // reported per attempt below
	for n := 0; ; n++ {
		a := *call
		a.Backend = backend
		cs, err := p.attempt(ctx, octx, method, &a, opts, reqs, deadline)
		last := n+1 >= pol.Attempts || err == nil || !pol.retryable(err) || ctx.Err() != nil
		if !last && !pol.Budget.TryRetry() {
			last = true
		}
		if last {
			if err == nil {
				var fromBackend bool
				fromBackend, err = forwardResponses(ss, cs, nil)
				switch {
				case errors.Is(err, io.EOF):
					err = nil
				case fromBackend:
					err = p.backendError(ctx, method, a, deadline, err, false)
				}
			}
			if cs != nil {
				ss.SetTrailer(responseMetadata(cs.Trailer()))
			}
			if done != nil {
				done(err)
			}
			return err
		}
		if done != nil {
			done(err)
		}
		p.logger.InfoContext(ctx, "grpcproxy: retrying", "method", method, "target", backend.Target, "attempt", n+1, "error", err)
		t := time.NewTimer(pol.Backoff(n + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return p.backendError(ctx, method, a, deadline, status.FromContextError(ctx.Err()).Err(), false)
		case <-t.C:
		}
		backend, done = call.Backend, nil
		if call.Retarget != nil {
			b, d, rerr := call.Retarget()
			if rerr != nil {
				return err
			}
			backend, done = b, d
		}
	}
}

// attempt sends the request to one backend and waits for the start of its
// answer. It returns the stream when the backend answered with headers (the
// response is then relayed, never retried), or the error the client would
// get, with the stream if the backend sent its status (for its trailers).
func (p *Proxy) attempt(ctx, octx context.Context, method string, call *Call, opts []grpc.CallOption, reqs []*Frame, deadline gatewayDeadline) (grpc.ClientStream, error) {
	conn, err := p.pool.Conn(call.Backend)
	if err != nil {
		return nil, p.backendError(ctx, method, *call, deadline, status.Error(codes.Unavailable, err.Error()), true)
	}
	p.pool.Wake(ctx, conn)
	cs, err := conn.NewStream(octx, proxyStreamDesc, method, opts...)
	if err != nil {
		return nil, p.backendError(ctx, method, *call, deadline, err, true)
	}
	for _, f := range reqs {
		if err := cs.SendMsg(f); err != nil {
			break // the status comes from RecvMsg
		}
	}
	_ = cs.CloseSend()
	if md, _ := cs.Header(); md != nil {
		return cs, nil
	}
	// Trailers only: the backend's status, without an answer.
	err = cs.RecvMsg(new(Frame))
	if errors.Is(err, io.EOF) {
		return cs, nil
	}
	if err == nil {
		// A message without headers cannot happen in gRPC; relay as is.
		return cs, nil
	}
	return cs, p.backendError(ctx, method, *call, deadline, err, false)
}
