package customauth

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/idhash"
)

// remembered counts the filled slots of v.
func remembered(v *valueDigests) int { return v.known.Len() }

// TestValueDigestsDecideNothing: a token's digest is remembered on its
// first cache hit only; once remembered it changes no decision: an
// invalidated or expired policy is a miss, and a new callout decides.
func TestValueDigestsDecideNothing(t *testing.T) {
	var callouts atomic.Int32
	allowed := atomic.Bool{}
	allowed.Store(true)
	clock := &fakeNow{}
	a := New(CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		callouts.Add(1)
		effect := datav1.Effect_EFFECT_DENY
		if allowed.Load() {
			effect = datav1.Effect_EFFECT_ALLOW
		}
		return &datav1.AuthorizeResponse{PrincipalId: "p", Policy: []*datav1.Statement{{Effect: effect, Resources: []string{"shop/prod/*"}}}}, nil
	}), WithClock(clock.now))
	req := func(token string) *Request {
		return &Request{AuthorizerName: "a", Stage: "prod", Type: datav1.AuthorizeRequest_TYPE_TOKEN,
			IdentitySources: []string{"$request.header.Authorization"}, IdentityValues: []string{token},
			MethodResource: "shop/prod/GRPC/x.y/Z", Proto: &datav1.AuthorizeRequest{Type: datav1.AuthorizeRequest_TYPE_TOKEN, AuthorizationToken: token}}
	}
	decide := func(token string) Decision {
		if d, ok := a.Cached(req(token)); ok {
			return d
		}
		d, err := a.Decide(context.Background(), *req(token))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := decide("tok-1"); !d.Allowed || d.FromCache || remembered(a.values) != 0 {
		t.Fatalf("first call: %+v, %d remembered", d, remembered(a.values))
	}
	if d := decide("tok-1"); !d.Allowed || !d.FromCache || remembered(a.values) != 1 {
		t.Fatalf("second call: %+v, %d remembered", d, remembered(a.values))
	}
	allowed.Store(false)
	a.Invalidate()
	if d := decide("tok-1"); d.Allowed || d.FromCache || callouts.Load() != 2 {
		t.Fatalf("after Invalidate: %+v, %d callouts", d, callouts.Load())
	}
	clock.add(DefaultTTL + 1)
	allowed.Store(true)
	if d := decide("tok-1"); !d.Allowed || d.FromCache || callouts.Load() != 3 {
		t.Fatalf("after the TTL: %+v, %d callouts", d, callouts.Load())
	}
	// Values sent once are never remembered; long ones never.
	for i := range 2 * valueSlots {
		decide("once-" + strconv.Itoa(i))
	}
	long := strings.Repeat("x", maxRememberedValue+1)
	decide(long)
	decide(long)
	if n := remembered(a.values); n != 1 {
		t.Fatalf("%d values remembered, want tok-1's only", n)
	}
}

// TestValueDigestsMatchIdhash: a remembered digest is the value's own,
// whichever value last took its slot.
func TestValueDigestsMatchIdhash(t *testing.T) {
	v := newValueDigests()
	values := []string{"", "a", "bench-caller", strings.Repeat("y", maxRememberedValue)}
	for _, s := range values {
		d, known := v.digest(s)
		if known || d != idhash.String(s) {
			t.Fatalf("%q: known %v", s, known)
		}
		v.remember(s, d)
	}
	for _, s := range values {
		if d, known := v.digest(s); !known || d != idhash.String(s) {
			t.Fatalf("%q: known %v, or another digest", s, known)
		}
	}
	// (Slots made on first use, and a value of the same length as the one
	// in its slot not taken for it: internal/valuememo's TestTable.)
}

// TestValueDigestsLongTokens: tokens of a JWT's size are remembered, up
// to the table's byte budget and no further, whatever their number.
func TestValueDigestsLongTokens(t *testing.T) {
	v := newValueDigests()
	token := func(i int) string { return strconv.Itoa(i) + "." + strings.Repeat("t", 1200) }
	v.remember(token(0), idhash.String(token(0)))
	if d, known := v.digest(token(0)); !known || d != idhash.String(token(0)) {
		t.Fatalf("a 1,200-byte token: known %v, or another digest", known)
	}
	for i := range valueSlots {
		v.remember(token(i), idhash.String(token(i)))
	}
	if n, b := remembered(v), v.known.Bytes(); b > rememberedBytes || n < rememberedBytes/(2*1210) {
		t.Fatalf("%d tokens of 1,200 bytes remembered (%d bytes), budget %d", n, b, rememberedBytes)
	}
}

// fakeNow is a clock the test moves.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Unix(1_700_000_000, 0)
	}
	return c.t
}

func (c *fakeNow) add(d time.Duration) {
	c.now()
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
