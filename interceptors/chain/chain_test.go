package chain_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/chain"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

func pass(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, ss)
}

func TestBuild(t *testing.T) {
	authz := chain.Step{Name: "authorizer", Interceptor: pass, Provides: []callinfo.Fact{callinfo.FactPrincipal, callinfo.FactUsageIdentifierKey}}
	key := chain.Step{Name: "API key", Interceptor: pass, Needs: []callinfo.Fact{callinfo.FactUsageIdentifierKey}, Provides: []callinfo.Fact{callinfo.FactAPIKey}}
	plan := chain.Step{Name: "plan throttle", Interceptor: pass, Needs: []callinfo.Fact{callinfo.FactAPIKey}}
	for _, tt := range []struct {
		name    string
		steps   []chain.Step
		wantErr string
	}{
		{"in order", []chain.Step{authz, key, plan}, ""},
		{"plan throttle before the key", []chain.Step{authz, plan, key}, "plan throttle needs the API key, which API key provides after it"},
		{"key before the authorizer", []chain.Step{key, authz, plan}, "API key needs the usage identifier key, which authorizer provides after it"},
		{"no provider", []chain.Step{plan}, "plan throttle needs the API key, which no step provides"},
		{"no interceptor", []chain.Step{{Name: "empty"}}, `step "empty" has no interceptor`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ics, err := chain.Build(tt.steps...)
			if tt.wantErr == "" {
				if err != nil || len(ics) != len(tt.steps) {
					t.Fatalf("Build = %d interceptors, %v", len(ics), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestStream checks that a chain of Stream runs its interceptors in order,
// each with the call's info, and the final handler with the srv the chain
// was called with, for any number of interceptors; that an interceptor may
// call its handler again; and that one that replaces srv fails the call
// instead of reaching the final handler.
func TestStream(t *testing.T) {
	type service struct{ name string }
	srv := &service{"impl"}
	// record returns an interceptor that logs its name and the info it got.
	record := func(name string, log *[]string) grpc.StreamServerInterceptor {
		return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			*log = append(*log, name+" "+info.FullMethod)
			return h(srv, ss)
		}
	}
	twice := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := h(srv, ss); err != nil {
			return err
		}
		return h(srv, ss)
	}
	replace := func(_ any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(&service{"other"}, ss)
	}
	for _, tt := range []struct {
		name       string
		ics        func(log *[]string) []grpc.StreamServerInterceptor
		wantLog    []string
		wantFinals int
		wantCode   codes.Code
	}{
		{"none", func(*[]string) []grpc.StreamServerInterceptor { return nil }, nil, 1, codes.OK},
		{"one", func(l *[]string) []grpc.StreamServerInterceptor {
			return []grpc.StreamServerInterceptor{record("a", l)}
		}, []string{"a /s/M"}, 1, codes.OK},
		{"three in order", func(l *[]string) []grpc.StreamServerInterceptor {
			return []grpc.StreamServerInterceptor{record("a", l), record("b", l), record("c", l)}
		}, []string{"a /s/M", "b /s/M", "c /s/M"}, 1, codes.OK},
		{"a handler called twice", func(l *[]string) []grpc.StreamServerInterceptor {
			return []grpc.StreamServerInterceptor{record("a", l), twice, record("c", l)}
		}, []string{"a /s/M", "c /s/M", "c /s/M"}, 2, codes.OK},
		{"srv replaced", func(l *[]string) []grpc.StreamServerInterceptor {
			return []grpc.StreamServerInterceptor{record("a", l), replace, record("c", l)}
		}, []string{"a /s/M"}, 0, codes.Internal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			ic := chain.Stream(tt.ics(&log)...)
			finals := 0
			final := func(got any, _ grpc.ServerStream) error {
				if got != srv {
					t.Errorf("final handler got srv %v, want %v", got, srv)
				}
				finals++
				return nil
			}
			err := ic(srv, nil, &grpc.StreamServerInfo{FullMethod: "/s/M"}, final)
			if status.Code(err) != tt.wantCode {
				t.Fatalf("chain returned %v, want code %v", err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantLog, log); diff != "" {
				t.Errorf("interceptors ran (-want +got):\n%s", diff)
			}
			if finals != tt.wantFinals {
				t.Errorf("final handler ran %d times, want %d", finals, tt.wantFinals)
			}
		})
	}
}

// BenchmarkStream compares a chain of ten pass-through interceptors built by
// Stream with grpc-go's ChainStreamInterceptor chaining on a server.
func BenchmarkStream(b *testing.B) {
	ics := make([]grpc.StreamServerInterceptor, 10)
	for i := range ics {
		ics[i] = pass
	}
	info := &grpc.StreamServerInfo{FullMethod: "/s/M"}
	final := func(any, grpc.ServerStream) error { return nil }
	b.Run("Stream", func(b *testing.B) {
		ic := chain.Stream(ics...)
		b.ReportAllocs()
		for b.Loop() {
			_ = ic(nil, nil, info, final)
		}
	})
	b.Run("closures", func(b *testing.B) {
		var run func(ics []grpc.StreamServerInterceptor) grpc.StreamHandler
		run = func(rest []grpc.StreamServerInterceptor) grpc.StreamHandler {
			if len(rest) == 0 {
				return final
			}
			return func(srv any, ss grpc.ServerStream) error { return rest[0](srv, ss, info, run(rest[1:])) }
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = run(ics)(nil, nil)
		}
	})
}
