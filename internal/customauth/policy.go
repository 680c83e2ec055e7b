package customauth

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/protobuf/proto"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// MatchResource reports whether a policy resource pattern matches a method
// resource. In the pattern, "*" matches any sequence of bytes, including
// none and including "/"; every other byte matches itself, so matching is
// case-sensitive and "?" or "[" have no special meaning. "*" matches every
// resource and "" only the empty one.
//
// It does not allocate, and takes at most time proportional to
// len(pattern)×len(resource).
func MatchResource(pattern, resource string) bool {
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		return pattern == resource
	}
	// The literal head and tail are compared at once (a pattern is
	// usually "api/stage/*" or "api/stage/*/path/*"); the segments
	// between stars are then found in order, each at its leftmost place:
	// whatever a later placement could match, the leftmost leaves the
	// rest at least as much room to match.
	last := strings.LastIndexByte(pattern, '*')
	head, tail := pattern[:first], pattern[last+1:]
	if len(resource) < len(head)+len(tail) || resource[:len(head)] != head || resource[len(resource)-len(tail):] != tail {
		return false
	}
	rest := resource[len(head) : len(resource)-len(tail)]
	for mid := pattern[first:last]; mid != ""; {
		mid = mid[1:] // the star
		seg := mid
		if i := strings.IndexByte(mid, '*'); i >= 0 {
			seg = mid[:i]
		}
		mid = mid[len(seg):]
		if seg == "" {
			continue
		}
		i := strings.Index(rest, seg)
		if i < 0 {
			return false
		}
		rest = rest[i+len(seg):]
	}
	return true
}

// policy is a validated authorizer response: what is cached, shared by every
// call with the same identity and never modified once built.
type policy struct {
	principalID string
	// allow and deny are the resources of the statements covering
	// execute-api:Invoke; allowInvalidate and denyInvalidate those of the
	// statements covering execute-api:InvalidateCache.
	allow, deny                     []string
	allowInvalidate, denyInvalidate []string
	// context is nil when the response had none, so that a decision
	// allocates no empty map.
	context  map[string]string
	usageKey string
}

// errMalformed describes a response that breaks the protocol. Decide wraps
// it with ErrAuthorizerFailed.
var errMalformed = errors.New("malformed response")

// Limits of an authorizer response. A response beyond them is refused as a
// failed callout: the call is refused and nothing is cached.
const (
	// MaxResponseBytes bounds an authorizer response: its protobuf
	// encoding (gRPC) or its JSON body (HTTP). Policies are small: 64 KiB
	// is hundreds of statements.
	MaxResponseBytes = 64 << 10
	// MaxContextEntries bounds the number of context entries, each of
	// which becomes a metadata entry for the backend.
	MaxContextEntries = 64
	// MaxContextBytes bounds the total length of the context's keys and
	// values.
	MaxContextBytes = 8 << 10
)

// errTooLarge describes a response beyond the limits. Decide wraps it with
// ErrAuthorizerFailed.
var errTooLarge = errors.New("response too large")

// compile validates an authorizer response and turns it into a policy. See
// the package documentation for what is malformed.
func compile(resp *datav1.AuthorizeResponse) (*policy, error) {
	if resp == nil {
		return nil, fmt.Errorf("%w: no response", errMalformed)
	}
	if n := proto.Size(resp); n > MaxResponseBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", errTooLarge, n, MaxResponseBytes)
	}
	if n := len(resp.GetContext()); n > MaxContextEntries {
		return nil, fmt.Errorf("%w: %d context entries, at most %d allowed", errTooLarge, n, MaxContextEntries)
	}
	size := 0
	for k, v := range resp.GetContext() {
		size += len(k) + len(v)
	}
	if size > MaxContextBytes {
		return nil, fmt.Errorf("%w: context of %d bytes, at most %d allowed", errTooLarge, size, MaxContextBytes)
	}
	p := &policy{
		principalID: resp.GetPrincipalId(),
		usageKey:    resp.GetUsageIdentifierKey(),
	}
	if len(resp.GetContext()) > 0 {
		p.context = maps.Clone(resp.GetContext())
	}
	for i, st := range resp.GetPolicy() {
		resources := st.GetResources()
		if len(resources) == 0 {
			return nil, fmt.Errorf("%w: policy statement %d has no resources", errMalformed, i)
		}
		for j, r := range resources {
			if r == "" {
				return nil, fmt.Errorf("%w: policy statement %d: resource %d is empty", errMalformed, i, j)
			}
		}
		invoke, invalidate, err := statementActions(st.GetActions())
		if err != nil {
			return nil, fmt.Errorf("%w: policy statement %d: %w", errMalformed, i, err)
		}
		switch e := st.GetEffect(); e {
		case datav1.Effect_EFFECT_ALLOW:
			if invoke {
				p.allow = append(p.allow, resources...)
			}
			if invalidate {
				p.allowInvalidate = append(p.allowInvalidate, resources...)
			}
		case datav1.Effect_EFFECT_DENY:
			if invoke {
				p.deny = append(p.deny, resources...)
			}
			if invalidate {
				p.denyInvalidate = append(p.denyInvalidate, resources...)
			}
		default:
			return nil, fmt.Errorf("%w: policy statement %d has effect %v, want EFFECT_ALLOW or EFFECT_DENY", errMalformed, i, e)
		}
	}
	if len(p.allow) > 0 && p.principalID == "" {
		return nil, fmt.Errorf("%w: the policy allows calls but the principal ID is empty", errMalformed)
	}
	return p, nil
}

// Policy actions (Statement.actions).
const (
	// ActionInvoke is calling a method, what a statement without actions
	// covers.
	ActionInvoke = "execute-api:Invoke"
	// ActionInvalidateCache is refreshing a method's cached response with
	// Cache-Control: max-age=0.
	ActionInvalidateCache = "execute-api:InvalidateCache"
	// ActionAll is every action.
	ActionAll = "execute-api:*"
)

// statementActions reports which actions a statement's action list covers.
// An empty list covers ActionInvoke only.
func statementActions(actions []string) (invoke, invalidate bool, err error) {
	if len(actions) == 0 {
		return true, false, nil
	}
	for j, a := range actions {
		switch a {
		case ActionInvoke:
			invoke = true
		case ActionInvalidateCache:
			invalidate = true
		case ActionAll:
			invoke, invalidate = true, true
		default:
			return false, false, fmt.Errorf("action %d is %q, want %s, %s or %s", j, a, ActionInvoke, ActionInvalidateCache, ActionAll)
		}
	}
	return invoke, invalidate, nil
}

// matchesAny reports whether a pattern of patterns matches resource.
func matchesAny(patterns []string, resource string) bool {
	for _, pattern := range patterns {
		if MatchResource(pattern, resource) {
			return true
		}
	}
	return false
}

// decide evaluates the policy for one method resource: a matching Deny
// statement wins, then a matching Allow; a resource nothing matches is
// denied. Only an allowed decision carries the context and the usage
// identifier key, and only an allowed call may also be allowed to refresh
// its cached response (execute-api:InvalidateCache, evaluated the same way);
// the principal is always set, for the access log.
func (p *policy) decide(resource string) Decision {
	if matchesAny(p.deny, resource) || !matchesAny(p.allow, resource) {
		return Decision{PrincipalID: p.principalID}
	}
	return Decision{
		Allowed:            true,
		PrincipalID:        p.principalID,
		Context:            p.context,
		UsageIdentifierKey: p.usageKey,
		MayInvalidateCache: !matchesAny(p.denyInvalidate, resource) && matchesAny(p.allowInvalidate, resource),
	}
}
