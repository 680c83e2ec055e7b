package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/interceptors/chain"
	"github.com/tollgate-gw/tollgate/interceptors/ippolicy"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/interceptors/throttle/levels"
	"github.com/tollgate-gw/tollgate/interceptors/validate"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// loadTimeout bounds reading the deployed configuration for a reload.
const loadTimeout = 10 * time.Second

// buildDataPlane creates the gateway that serves the data port.
func (s *Server) buildDataPlane() error {
	// The policy chain, after routing and the request ID, in Amazon API
	// Gateway's order: tracing, metrics and access logs (so that they see
	// refused calls too); IP policies (before throttling, so that refused
	// addresses spend no tokens other callers share, and before any
	// authorizer is called); account and stage throttling; authorization — the
	// route's authorizer first (a custom one may choose the caller's API
	// key), then the API key; then the usage plan's throttle and quota for
	// that key; then the response cache, which refused calls never reach.
	obs, err := s.buildObservability()
	if err != nil {
		return err
	}
	s.obs = obs
	s.authorizers = authorizer.New(authorizer.WithLogger(s.log), authorizer.WithLinkLocalTargets(s.cfg.AllowLinkLocalTargets))
	limiter := s.limiter()
	validator := validate.New(grpcproxy.Messages{})
	s.respCache = s.newResponseCache()
	// Each step says what it reads from the call record that an earlier
	// step writes: chain.Build refuses an order that breaks it.
	steps := make([]chain.Step, 0, len(obs.interceptors)+8)
	for _, ic := range obs.interceptors {
		steps = append(steps, chain.Step{Name: "observability", Interceptor: ic})
	}
	steps = append(steps,
		chain.Step{Name: "mutual TLS", Interceptor: s.mtlsInterceptor()}, // before any policy: a misdirected call is refused outright
		chain.Step{Name: "IP policy", Interceptor: ippolicy.StreamServerInterceptor()},
		chain.Step{Name: "account and stage throttle", Interceptor: throttle.StreamServerInterceptor(limiter, levels.AccountAndStage(s.accountThrottle))},
		chain.Step{Name: "authorizer", Interceptor: s.authorizers.StreamServerInterceptor(), Provides: authorizer.Provides},
		chain.Step{Name: "API key", Interceptor: apikey.StreamServerInterceptor(s.admin),
			Needs: apikey.Needs, Provides: apikey.Provides},
		// Request validation, once the caller is known: an
		// unauthenticated caller learns nothing of the API's rules, and
		// an invalid call spends none of the plan's throttle or quota.
		chain.Step{Name: "request validation", Interceptor: validator.StreamServerInterceptor()},
		chain.Step{Name: "usage plan throttle", Interceptor: throttle.StreamServerInterceptor(limiter, levels.UsagePlan),
			Needs: levels.PlanNeeds},
		chain.Step{Name: "quota", Interceptor: quota.StreamServerInterceptor(s.quota), Needs: quota.Needs},
		chain.Step{Name: "response cache", Interceptor: s.respCache.StreamServerInterceptor(), Needs: cache.Needs},
	)
	policies, err := chain.Build(steps...)
	if err != nil {
		return fmt.Errorf("server: the policy chain: %w", err)
	}
	trusted, err := forwarded.ParsePrefixes(s.cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("server: trusted proxies: %w", err) // Validate refused it already
	}
	opts := []gateway.Option{gateway.WithLogger(s.log), gateway.WithInterceptors(policies...),
		// The WebSocket callback API accepts the admin token too.
		gateway.WithCallbackAdminToken(s.adminAuth.Check),
		gateway.WithPublicURL(s.cfg.PublicURL),
		gateway.WithLinkLocalTargets(s.cfg.AllowLinkLocalTargets),
		gateway.WithStreamWindow(int32(s.cfg.StreamWindow)),
		gateway.WithGRPCRelay(gateway.GRPCRelay(s.cfg.GRPCRelay)),
		// What the policies read from plain HTTP requests as metadata:
		// the API key as a gRPC client sends it.
		gateway.WithMetadataHeaders(apikey.MetadataKey),
		gateway.WithTrustedProxies(trusted),
		// Calls on TLS connections see their TLS state (client certificates).
		gateway.WithServerCredentials(connsplit.Credentials()),
		// Client certificates for backends' mutual TLS, from the store.
		gateway.WithClientCertificates(s.clientCertificate)}
	if o := s.webSocketFleet(); o != nil {
		opts = append(opts, o) // callbacks reach every node's connections
	}
	gw, err := gateway.New(opts...)
	if err != nil {
		return fmt.Errorf("server: build data plane: %w", err)
	}
	s.gateway = gw
	s.dataHandler = s.edgeHandler(gw)
	return obs.observeTargets(gw)
}

// accountThrottle is the account-wide throttle in effect, or nil.
func (s *Server) accountThrottle() *adminv1.ThrottleSettings {
	return s.account.Load().GetThrottle()
}

// setAccountSettings makes new account settings effective at once.
func (s *Server) setAccountSettings(a *adminv1.AccountSettings) {
	s.account.Store(a)
}

// loadDeployed compiles what is deployed into the data plane. The admin
// service calls it after every write that changes a stage, a deployment or
// an API, before answering, so that a deploy is visible once acknowledged.
func (s *Server) loadDeployed() {
	if s.gateway == nil {
		return
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	// Only what changed since the last reload is read and compiled (all
	// of it after a restart or another node's change).
	deployed, err := s.admin.DeployedChanges(ctx)
	if err != nil {
		s.log.Error("could not read the deployed configuration; the data plane keeps serving the previous one", "error", err)
		return
	}
	s.gateway.Load(routingConfig(deployed))
	if deployed.TLSChanged {
		s.loadCertificates(ctx, deployed.DomainMappings)
	}
	s.countCompileFailures(s.gateway.Failures())
	s.retainCaches(deployed)
	if s.gateway.AuthorizersChanged() {
		// Retired authorizer versions and callout targets: their
		// verifiers, policy caches and connections are freed.
		s.authorizers.Retain(s.gateway.StageAuthorizers())
	}
}

// routingConfig is what the data plane compiles of a deployed configuration.
func routingConfig(deployed admin.DeployedConfig) routing.Config {
	// admin.DeployedStage and routing.Entry are one type: nothing to copy.
	return routing.Config{DomainMappings: deployed.DomainMappings, Stages: deployed.Stages,
		Delta: deployed.Delta, Removed: deployed.Removed}
}

// preflight is the admin service's pre-flight check: the data plane's
// compile of cfg (gateway.Check), its problems as admin.PreflightProblems.
func (s *Server) preflight(_ context.Context, cfg admin.DeployedConfig) error {
	if s.gateway == nil {
		return nil
	}
	err := s.gateway.Check(routingConfig(cfg))
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	pe := &admin.PreflightError{}
	for _, e := range errs {
		var se *routing.StageError
		if errors.As(e, &se) {
			pe.Problems = append(pe.Problems, admin.PreflightProblem{Stage: se.Stage, Canary: se.Canary,
				Description: fmt.Sprintf("deployment %s cannot be served: %v", se.Deployment, se.Err)})
			continue
		}
		pe.Problems = append(pe.Problems, admin.PreflightProblem{Description: e.Error()})
	}
	return pe
}

// stopDataPlane waits for transcoded calls to finish, then closes the
// gateway's backend connections.
func (s *Server) stopDataPlane(ctx context.Context) {
	if s.gateway != nil {
		s.gateway.GracefulStop(ctx)
	}
	if s.respCache != nil {
		s.respCache.Close()
	}
}
