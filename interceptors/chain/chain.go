package chain

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Step is one policy of the chain.
type Step struct {
	// Name names the step in errors, such as "plan throttle".
	Name string
	// Interceptor is the policy.
	Interceptor grpc.StreamServerInterceptor
	// Needs are the facts of the call record the policy reads, which an
	// earlier step must provide.
	Needs []callinfo.Fact
	// Provides are the facts the policy writes into the call record.
	Provides []callinfo.Fact
}

// Build checks that every step's needs are provided by an earlier step and
// returns the interceptors in order. The error names the first step whose
// need is unmet, and the later step that provides it when there is one.
func Build(steps ...Step) ([]grpc.StreamServerInterceptor, error) {
	provided := map[callinfo.Fact]bool{}
	out := make([]grpc.StreamServerInterceptor, 0, len(steps))
	for i, s := range steps {
		if s.Interceptor == nil {
			return nil, fmt.Errorf("chain: step %q has no interceptor", s.Name)
		}
		for _, need := range s.Needs {
			if provided[need] {
				continue
			}
			var later []string
			for _, t := range steps[i+1:] {
				if slices.Contains(t.Provides, need) {
					later = append(later, t.Name)
				}
			}
			if len(later) > 0 {
				return nil, fmt.Errorf("chain: %s needs the %s, which %s provides after it: move %s before %s",
					s.Name, need, strings.Join(later, " and "), later[0], s.Name)
			}
			return nil, fmt.Errorf("chain: %s needs the %s, which no step provides", s.Name, need)
		}
		for _, p := range s.Provides {
			provided[p] = true
		}
		out = append(out, s.Interceptor)
	}
	return out, nil
}
