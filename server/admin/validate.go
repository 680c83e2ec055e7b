package admin

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/cors"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/headermap"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
	"github.com/tollgate-gw/tollgate/internal/origin"
	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
	"github.com/tollgate-gw/tollgate/internal/stagevars"
)

// This file is the one place where resources are checked. Each validateX
// records every problem of a resource in v, with field paths relative to the
// request (e.g. "route.http.path"); checks that need other resources (that
// an authorizer exists, say) live with the handlers, inside the transaction.

// Limits of free-text fields.
const (
	maxDisplayName    = 128
	maxDescription    = 1024
	maxDescriptorSet  = 8 << 20
	maxTargetLen      = 512
	maxStageVariables = 100
	maxMockBody       = 1 << 20
)

// Route timeout bounds. The maximum is configurable per gateway.
const (
	defaultRouteTimeout = 29 * time.Second
	minRouteTimeout     = 50 * time.Millisecond
	// Streams: the longest allowed stream_idle_timeout and
	// max_stream_duration of a route.
	maxStreamIdleTimeout = 24 * time.Hour
	maxStreamDuration    = 7 * 24 * time.Hour
)

// Integration connect timeout bounds.
const (
	minConnectTimeout = 10 * time.Millisecond
	maxConnectTimeout = time.Minute
)

// Defaults of authorizers and caches.
const (
	defaultAuthorizerTTL     = 300
	maxAuthorizerTTL         = 3600
	defaultAuthorizerTimeout = 10 * time.Second
	maxAuthorizerTimeout     = 29 * time.Second
	defaultJWTLeeway         = 60 * time.Second
	maxJWTLeeway             = 5 * time.Minute
	defaultCacheCapacity     = 64 << 20
	maxCacheCapacity         = 8 << 30
	defaultCacheTTL          = 300
	maxCacheTTL              = 3600
	defaultCacheMaxEntry     = 1 << 20
)

// Default account-wide throttle, as Amazon API Gateway's per-region default.
const (
	defaultAccountRate  = 10000
	defaultAccountBurst = 5000
)

var (
	grpcMethodPattern     = lazyregexp.New(`^/([A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*/([A-Za-z_][A-Za-z0-9_]*|\*)$`)
	serviceNamePattern    = lazyregexp.New(`^([A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*$`)
	stageVariableName     = lazyregexp.New(`^[A-Za-z0-9_]{1,64}$`)
	httpToken             = lazyregexp.New("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
	identitySourcePattern = lazyregexp.New(`^\$(request\.(header|querystring)\.[A-Za-z0-9_.-]{1,128}|context\.[A-Za-z0-9_.]{1,128}|stageVariables\.[A-Za-z0-9_]{1,64})$`)
	cacheKeyParamPattern  = lazyregexp.New(`^method\.request\.(querystring|header|path)\.[A-Za-z0-9_.-]{1,128}$`)
	selectionExprPattern  = lazyregexp.New(`^\$\{?request\.body\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\}?$`)
	websocketKeyPattern   = lazyregexp.New(`^[^$\s][^\s]{0,127}$`)
)

// httpMethods are the methods an HttpMatch may name; "*" is any.
var httpMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true, "*": true,
}

// accessLogFields are the fields an access log may contain, named like
// Amazon API Gateway's $context variables.
var accessLogFields = map[string]bool{
	"requestId": true, "requestTime": true, "clientIp": true, "httpMethod": true, "path": true,
	"protocol": true, "api": true, "stage": true, "route": true, "grpcMethod": true, "status": true,
	"grpcStatus": true, "latency": true, "integrationLatency": true, "requestLength": true,
	"responseLength": true, "apiKeyId": true, "principal": true, "errorMessage": true,
	"userAgent": true, "deployment": true, "traceId": true, "cacheStatus": true,
	"connectionId": true, "clientCertSubject": true, "clientCertSerial": true, "clientCertFingerprint": true,
}

// checkText validates a free-text field's length and encoding.
func checkText(v *violations, field, s string, max int) {
	if !utf8.ValidString(s) {
		v.add(field, "must be valid UTF-8")
	} else if n := utf8.RuneCountInString(s); n > max {
		v.add(field, "must be at most %d characters (got %d)", max, n)
	}
}

// validateAPI checks an Api, after defaults are applied.
func validateAPI(v *violations, field string, a *adminv1.Api) {
	checkText(v, field+".display_name", a.GetDisplayName(), maxDisplayName)
	checkText(v, field+".description", a.GetDescription(), maxDescription)
	if _, ok := adminv1.Api_Protocol_name[int32(a.GetProtocol())]; !ok || a.GetProtocol() == adminv1.Api_PROTOCOL_UNSPECIFIED {
		v.add(field+".protocol", "must be PROTOCOL_GRPC_REST or PROTOCOL_WEBSOCKET")
	}
	if _, ok := adminv1.Api_ApiKeySource_name[int32(a.GetApiKeySource())]; !ok || a.GetApiKeySource() == adminv1.Api_API_KEY_SOURCE_UNSPECIFIED {
		v.add(field+".api_key_source", "must be API_KEY_SOURCE_HEADER or API_KEY_SOURCE_AUTHORIZER")
	}
	switch src := a.GetDescriptorSource().(type) {
	case *adminv1.Api_FileDescriptorSet:
		if _, err := parseDescriptorSet(src.FileDescriptorSet); err != nil {
			v.add(field+".file_descriptor_set", "%s", err.Error())
		}
	case *adminv1.Api_Reflection:
		r := src.Reflection
		checkTarget(v, field+".reflection.target", r.GetTarget())
		for i, s := range r.GetServices() {
			if !serviceNamePattern.MatchString(s) {
				v.add(field+".reflection.services["+strconv.Itoa(i)+"]", "must be a fully-qualified service name such as \"shop.v1.OrderService\" (got %s)", quoteShort(s))
			}
		}
	}
	if a.GetDefaultIntegration() != nil {
		validateIntegration(v, field+".default_integration", a.GetDefaultIntegration())
	}
	validateGatewayResponses(v, field+".gateway_responses", a.GetGatewayResponses())
	validateHeaderMapping(v, field+".header_mapping", a.GetHeaderMapping())
	validateServiceConfig(v, field, a)
	expr := a.GetRouteSelectionExpression()
	if g := a.GetDefaultIntegration().GetGrpc(); g != nil && g.GetMethod() == "" && a.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET {
		v.add(field+".default_integration.grpc.method", `is required for WebSocket APIs: the unary method receiving each event, e.g. "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage"`)
	}
	if a.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET {
		if expr == "" {
			v.add(field+".route_selection_expression", `is required for WebSocket APIs, e.g. "$request.body.action"`)
		} else if !selectionExprPattern.MatchString(expr) {
			v.add(field+".route_selection_expression", `must select a JSON field of the message, e.g. "$request.body.action" (got %s)`, quoteShort(expr))
		}
	} else if expr != "" {
		v.add(field+".route_selection_expression", "is only for WebSocket APIs")
	}
	validateIPPolicy(v, field+".ip_policy", a.GetIpPolicy())
	validateCORS(v, field+".cors", a.GetCors())
	if n := a.GetDeploymentRetention(); n < 0 || n > maxDeploymentRetention {
		v.add(field+".deployment_retention", "must be between 0 (the default, %d) and %d (got %d)", defaultDeploymentRetention, maxDeploymentRetention, n)
	}
}

// validateServiceConfig checks an API's service_config_yaml with the
// parser deployments merge it with: its document and rules on their own,
// and, when the API carries its descriptors, that every selector names one
// of their methods. Whether the bindings can be served is the pre-flight
// check's (see Service.checkServiceConfigServable).
func validateServiceConfig(v *violations, field string, a *adminv1.Api) {
	src := a.GetServiceConfigYaml()
	if src == "" {
		return
	}
	field += ".service_config_yaml"
	switch {
	case a.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET:
		v.add(field, "is only for gRPC/REST APIs: WebSocket APIs have no HTTP rules")
		return
	case a.GetDescriptorSource() == nil:
		v.add(field, "needs the API's schema: set file_descriptor_set or reflection too")
		return
	}
	cfg, err := serviceconfig.Parse([]byte(src))
	if err != nil {
		v.add(field, "%s", err.Error())
		return
	}
	b := a.GetFileDescriptorSet()
	if b == nil {
		return // reflected at deploy time; the selectors are checked then
	}
	var set descriptorpb.FileDescriptorSet
	if proto.Unmarshal(b, &set) != nil {
		return // reported on file_descriptor_set
	}
	if err := cfg.Apply(&set); err != nil {
		v.add(field, "%s", err.Error())
	}
}

// validateCORS checks a CorsConfiguration with the rules the data plane
// compiles it with.
func validateCORS(v *violations, field string, c *adminv1.CorsConfiguration) {
	if c == nil {
		return
	}
	for _, cv := range cors.Validate(c) {
		v.add(field+"."+cv.Field, "%s", cv.Description)
	}
}

// validateIPPolicy checks every entry of an IpPolicy with the parser the
// data plane compiles it with.
func validateIPPolicy(v *violations, field string, p *adminv1.IpPolicy) {
	for _, l := range []struct {
		name    string
		entries []string
	}{{"allow", p.GetAllow()}, {"deny", p.GetDeny()}} {
		if len(l.entries) > ipacl.MaxEntries {
			v.add(field+"."+l.name, "must have at most %d entries (got %d)", ipacl.MaxEntries, len(l.entries))
			continue
		}
		for i, s := range l.entries {
			if _, err := ipacl.ParsePrefix(s); err != nil {
				v.add(field+"."+l.name+"["+strconv.Itoa(i)+"]", "%s", err.Error())
			}
		}
	}
}

// descriptorError is a descriptor set that does not parse, with a message a
// person can act on.
type descriptorError struct{ msg string }

func (e *descriptorError) Error() string { return e.msg }

// parseDescriptorSet decodes a serialized FileDescriptorSet and links it,
// so that a set with missing imports or bad references is refused at upload
// time rather than at the first call.
func parseDescriptorSet(b []byte) (*protoregistry.Files, error) {
	if len(b) == 0 {
		return nil, &descriptorError{"must not be empty: upload a FileDescriptorSet, e.g. from `buf build -o api.binpb`"}
	}
	if len(b) > maxDescriptorSet {
		return nil, &descriptorError{"must be at most 8 MiB (got " + strconv.Itoa(len(b)) + " bytes)"}
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, &descriptorError{"is not a serialized google.protobuf.FileDescriptorSet: " + err.Error()}
	}
	if len(set.GetFile()) == 0 {
		return nil, &descriptorError{"contains no files"}
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, &descriptorError{"does not link (build it with its imports, e.g. `protoc --include_imports` or `buf build`): " + err.Error()}
	}
	services := 0
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		services += fd.Services().Len()
		return true
	})
	if services == 0 {
		return nil, &descriptorError{"defines no service"}
	}
	return files, nil
}

// withPlaceholders replaces stage variable references with a placeholder,
// so that the rest of a target or URI can be checked.
func withPlaceholders(s string) string {
	return stagevars.Expand(s, func(string) string { return "x" })
}

// checkTarget validates a gRPC target ("host:port" or "scheme:///...").
func checkTarget(v *violations, field, t string) {
	switch {
	case t == "":
		v.add(field, `is required, e.g. "localhost:50051" or "dns:///orders.internal:443"`)
	case len(t) > maxTargetLen:
		v.add(field, "must be at most %d characters", maxTargetLen)
	case strings.ContainsAny(t, " \t\r\n"):
		v.add(field, "must not contain whitespace (got %s)", quoteShort(t))
	case strings.HasPrefix(t, "${") && withPlaceholders(t) == "x":
		// The whole target is one stage variable, as AWS allows: each
		// stage says where its backend is (checked when it is dialed).
	case strings.Contains(t, "://"):
		u, err := url.Parse(withPlaceholders(t))
		if err != nil || u.Scheme == "" {
			v.add(field, "is not a valid gRPC target (got %s)", quoteShort(t))
		}
	default:
		host, port, err := net.SplitHostPort(withPlaceholders(t))
		if err != nil || host == "" || port == "" {
			v.add(field, `must be "host:port" or a gRPC target URI such as "dns:///host:port" (got %s)`, quoteShort(t))
		}
	}
}

// Limits of an integration's targets.
const (
	maxTargets      = 64
	maxTargetWeight = 1000
	minDNSRefresh   = time.Second
	maxDNSRefresh   = time.Hour
)

// validateTargets checks an integration's targets and load balancing.
func validateTargets(v *violations, field string, targets []*adminv1.Target, lb *adminv1.LoadBalancing) {
	if len(targets) > maxTargets {
		v.add(field+".targets", "must have at most %d targets (got %d)", maxTargets, len(targets))
	}
	for i, t := range targets {
		f := fmt.Sprintf("%s.targets[%d]", field, i)
		a := t.GetAddress()
		switch {
		case a == "":
			v.add(f+".address", `is required, e.g. "10.0.0.7:9000"`)
		case len(a) > maxTargetLen || strings.ContainsAny(a, " \t\r\n/"):
			v.add(f+".address", `must be "host:port" (got %s)`, quoteShort(a))
		case strings.HasPrefix(a, "${") && withPlaceholders(a) == "x":
			// One stage variable: each stage says where (checked when dialed).
		default:
			if host, port, err := net.SplitHostPort(withPlaceholders(a)); err != nil || host == "" || port == "" {
				v.add(f+".address", `must be "host:port" (got %s)`, quoteShort(a))
			}
		}
		if w := t.GetWeight(); w > maxTargetWeight {
			v.add(f+".weight", "must be at most %d (got %d)", maxTargetWeight, w)
		}
	}
	if lb == nil {
		return
	}
	if _, ok := adminv1.LoadBalancing_Policy_name[int32(lb.GetPolicy())]; !ok {
		v.add(field+".load_balancing.policy", "is not a known policy (got %d)", lb.GetPolicy())
	}
	if h := lb.GetHashHeader(); h != "" {
		if lb.GetPolicy() != adminv1.LoadBalancing_POLICY_CONSISTENT_HASH {
			v.add(field+".load_balancing.hash_header", "is only for POLICY_CONSISTENT_HASH")
		} else if !httpToken.MatchString(h) {
			v.add(field+".load_balancing.hash_header", "must be a header name (got %s)", quoteShort(h))
		}
	}
	checkDuration(v, field+".load_balancing.dns_refresh_interval", lb.GetDnsRefreshInterval(), minDNSRefresh, maxDNSRefresh)
	if len(targets) == 0 {
		v.add(field+".load_balancing", "needs targets")
	}
}

// Limits of health checks and outlier detection.
const (
	minHealthInterval = time.Second
	maxHealthInterval = time.Hour
	maxThreshold      = 100
	maxConsecutive    = 1000
	minEjection       = 10 * time.Millisecond
	maxEjection       = time.Hour
)

// validateHealth checks an integration's health check and outlier
// detection, which need targets.
func validateHealth(v *violations, field string, targets bool, hc *adminv1.HealthCheck, od *adminv1.OutlierDetection, http bool) {
	if hc != nil {
		f := field + ".health_check"
		if !targets {
			v.add(f, "needs targets")
		}
		checkDuration(v, f+".interval", hc.GetInterval(), minHealthInterval, maxHealthInterval)
		checkDuration(v, f+".timeout", hc.GetTimeout(), minConnectTimeout, maxConnectTimeout)
		if hc.GetHealthyThreshold() > maxThreshold {
			v.add(f+".healthy_threshold", "must be at most %d", maxThreshold)
		}
		if hc.GetUnhealthyThreshold() > maxThreshold {
			v.add(f+".unhealthy_threshold", "must be at most %d", maxThreshold)
		}
		switch {
		case http && !strings.HasPrefix(hc.GetHttpPath(), "/"):
			v.add(f+".http_path", `is required for HTTP integrations and must start with "/", e.g. "/healthz"`)
		case http && strings.ContainsAny(hc.GetHttpPath(), " \t\r\n#"):
			v.add(f+".http_path", "must be a path without spaces or fragment")
		case !http && hc.GetHttpPath() != "":
			v.add(f+".http_path", "is for HTTP integrations")
		case http && hc.GetGrpcService() != "":
			v.add(f+".grpc_service", "is for gRPC integrations")
		}
		if st := hc.GetHttpExpectedStatus(); st != 0 && (!http || st < 100 || st > 599) {
			v.add(f+".http_expected_status", "must be an HTTP status between 100 and 599, for HTTP integrations")
		}
	}
	if od != nil {
		f := field + ".outlier_detection"
		if !targets {
			v.add(f, "needs targets")
		}
		if od.GetConsecutiveFailures() > maxConsecutive {
			v.add(f+".consecutive_failures", "must be at most %d", maxConsecutive)
		}
		checkDuration(v, f+".base_ejection_time", od.GetBaseEjectionTime(), minEjection, maxEjection)
		if od.GetMaxEjectionPercent() > 100 {
			v.add(f+".max_ejection_percent", "must be at most 100")
		}
	}
}

// Limits of a retry policy.
const (
	maxRetryAttempts = 5
	minRetryBackoff  = time.Millisecond
	maxRetryBackoff  = 10 * time.Second
	maxRetryBudgetN  = 1000
)

// validateRetryPolicy checks a RetryPolicy.
func validateRetryPolicy(v *violations, field string, rp *adminv1.RetryPolicy) {
	if rp == nil {
		return
	}
	if a := rp.GetAttempts(); a > maxRetryAttempts {
		v.add(field+".attempts", "must be at most %d (got %d)", maxRetryAttempts, a)
	}
	for i, c := range rp.GetRetryableCodes() {
		if _, ok := grpcCodeNames[c]; !ok {
			v.add(fmt.Sprintf("%s.retryable_codes[%d]", field, i), `must be a gRPC code name such as "UNAVAILABLE" (got %s)`, quoteShort(c))
		}
	}
	for i, st := range rp.GetRetryableStatuses() {
		if st < 500 || st > 599 {
			v.add(fmt.Sprintf("%s.retryable_statuses[%d]", field, i), "must be a 5xx status (got %d)", st)
		}
	}
	checkDuration(v, field+".base_backoff", rp.GetBaseBackoff(), minRetryBackoff, maxRetryBackoff)
	checkDuration(v, field+".max_backoff", rp.GetMaxBackoff(), minRetryBackoff, maxRetryBackoff)
	if p := rp.GetBudgetPercent(); p > 100 {
		v.add(field+".budget_percent", "must be at most 100 (got %d)", p)
	}
	if n := rp.GetBudgetMinRetries(); n > maxRetryBudgetN {
		v.add(field+".budget_min_retries", "must be at most %d (got %d)", maxRetryBudgetN, n)
	}
}

// grpcCodeNames are the retryable_codes a RetryPolicy accepts.
var grpcCodeNames = map[string]bool{
	"CANCELLED": true, "UNKNOWN": true, "INVALID_ARGUMENT": true, "DEADLINE_EXCEEDED": true, "NOT_FOUND": true,
	"ALREADY_EXISTS": true, "PERMISSION_DENIED": true, "RESOURCE_EXHAUSTED": true, "FAILED_PRECONDITION": true,
	"ABORTED": true, "OUT_OF_RANGE": true, "UNIMPLEMENTED": true, "INTERNAL": true, "UNAVAILABLE": true,
	"DATA_LOSS": true, "UNAUTHENTICATED": true,
}

// maxBreakerCalls bounds a circuit breaker's limits.
const maxBreakerCalls = 100_000

// validateBreaker checks a CircuitBreaker.
func validateBreaker(v *violations, field string, cb *adminv1.CircuitBreaker) {
	if cb == nil {
		return
	}
	if n := cb.GetMaxConcurrentCalls(); n < 1 || n > maxBreakerCalls {
		v.add(field+".max_concurrent_calls", "must be between 1 and %d (got %d)", maxBreakerCalls, n)
	}
	if n := cb.GetMaxPendingCalls(); n > maxBreakerCalls {
		v.add(field+".max_pending_calls", "must be at most %d (got %d)", maxBreakerCalls, n)
	}
}

// validateIntegration checks an Integration.
func validateIntegration(v *violations, field string, in *adminv1.Integration) {
	switch t := in.GetTarget().(type) {
	case *adminv1.Integration_Grpc:
		validateGrpcIntegration(v, field+".grpc", t.Grpc)
	case *adminv1.Integration_Http:
		validateHTTPIntegration(v, field+".http", t.Http)
	case *adminv1.Integration_Mock:
		m := t.Mock
		if c := m.GetStatusCode(); c != 0 && (c < 100 || c > 599) {
			v.add(field+".mock.status_code", "must be an HTTP status between 100 and 599 (got %d)", c)
		}
		if len(m.GetBody()) > maxMockBody {
			v.add(field+".mock.body", "must be at most 1 MiB")
		}
		for k, val := range m.GetHeaders() {
			if !httpToken.MatchString(k) {
				v.add(field+".mock.headers", "%s is not a valid header name", quoteShort(k))
			}
			if strings.ContainsAny(val, "\r\n\x00") {
				v.add(field+".mock.headers", "value of %s must not contain CR, LF or NUL", quoteShort(k))
			}
		}
	default:
		v.add(field, "must set one of grpc, http or mock")
	}
}

// validateGrpcIntegration checks a GrpcIntegration.
func validateGrpcIntegration(v *violations, field string, g *adminv1.GrpcIntegration) {
	if len(g.GetTargets()) == 0 {
		checkTarget(v, field+".target", g.GetTarget())
	} else if g.GetTarget() != "" {
		v.add(field+".target", "must be empty when targets is set")
	}
	validateTargets(v, field, g.GetTargets(), g.GetLoadBalancing())
	validateHealth(v, field, len(g.GetTargets()) > 0, g.GetHealthCheck(), g.GetOutlierDetection(), false)
	validateBreaker(v, field+".circuit_breaker", g.GetCircuitBreaker())
	if a := g.GetAuthority(); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil && !httpToken.MatchString(a) {
			v.add(field+".authority", "must be a host name or host:port (got %s)", quoteShort(a))
		}
	}
	if m := g.GetMethod(); m != "" && (!grpcMethodPattern.MatchString(m) || strings.HasSuffix(m, "/*")) {
		v.add(field+".method", `must be a full method name such as "/chat.v1.Chat/Send" (got %s)`, quoteShort(m))
	}
	validateBackendTLS(v, field+".backend_tls", g.GetBackendTls())
	checkDuration(v, field+".connect_timeout", g.GetConnectTimeout(), minConnectTimeout, maxConnectTimeout)
}

// validateHTTPIntegration checks an HttpIntegration.
func validateHTTPIntegration(v *violations, field string, h *adminv1.HttpIntegration) {
	validateTargets(v, field, h.GetTargets(), h.GetLoadBalancing())
	validateHealth(v, field, len(h.GetTargets()) > 0, h.GetHealthCheck(), h.GetOutlierDetection(), true)
	validateBreaker(v, field+".circuit_breaker", h.GetCircuitBreaker())
	checkDuration(v, field+".connect_timeout", h.GetConnectTimeout(), minConnectTimeout, maxConnectTimeout)
	raw := h.GetUri()
	if raw == "" {
		v.add(field+".uri", `is required, e.g. "https://backend.internal/v1"`)
	} else {
		u, err := url.Parse(withPlaceholders(raw))
		switch {
		case err != nil:
			v.add(field+".uri", "is not a valid URL: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			v.add(field+".uri", "must be an http:// or https:// URL (got %s)", quoteShort(raw))
		case u.Host == "":
			v.add(field+".uri", "must name a host (got %s)", quoteShort(raw))
		case u.User != nil:
			v.add(field+".uri", "must not contain credentials; use a header or an authorizer instead")
		case u.Fragment != "" || u.RawQuery != "":
			v.add(field+".uri", "must not have a query or fragment")
		}
	}
	if m := h.GetMethod(); m != "" && (!httpMethods[m] || m == "*") {
		v.add(field+".method", "must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (got %s)", quoteShort(m))
	}
	validateHTTPBackendTLS(v, field, h)
}

// validateRoute checks a Route of api. maxTimeout is the gateway's limit.
func validateRoute(v *violations, field string, r *adminv1.Route, api *adminv1.Api, maxTimeout time.Duration) {
	checkText(v, field+".description", r.GetDescription(), maxDescription)
	validateIPPolicy(v, field+".ip_policy", r.GetIpPolicy())
	websocket := api.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET
	switch m := r.GetMatch().(type) {
	case *adminv1.Route_GrpcMethod:
		if websocket {
			v.add(field+".grpc_method", "WebSocket APIs match websocket_route_key, not gRPC methods")
		} else if !grpcMethodPattern.MatchString(m.GrpcMethod) {
			v.add(field+".grpc_method", `must be "/package.Service/Method" or "/package.Service/*" (got %s)`, quoteShort(m.GrpcMethod))
		} else if files := apiFiles(api); files != nil {
			if msg := checkMethodExists(files, m.GrpcMethod); msg != "" {
				v.add(field+".grpc_method", "%s", msg)
			}
		}
	case *adminv1.Route_Http:
		if websocket {
			v.add(field+".http", "WebSocket APIs match websocket_route_key, not HTTP requests")
		}
		if !httpMethods[m.Http.GetMethod()] {
			v.add(field+".http.method", "must be GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or * (got %s)", quoteShort(m.Http.GetMethod()))
		}
		if m.Http.GetPath() == "" {
			v.add(field+".http.path", `is required, e.g. "/v1/books/{id}"`)
		} else if tpl, err := pathtemplate.Parse(m.Http.GetPath()); err != nil {
			v.add(field+".http.path", "%v", err)
		} else if tpl.MatchesNothing() {
			v.add(field+".http.path", `%s can never match a request path: "." and ".." segments and a verb without segments never match`, quoteShort(m.Http.GetPath()))
		}
	case *adminv1.Route_WebsocketRouteKey:
		k := m.WebsocketRouteKey
		switch {
		case !websocket:
			v.add(field+".websocket_route_key", "is only for WebSocket APIs")
		case k == "$connect" || k == "$disconnect" || k == "$default":
		case !websocketKeyPattern.MatchString(k):
			v.add(field+".websocket_route_key", `must be $connect, $disconnect, $default, or 1-128 characters without spaces not starting with "$" (got %s)`, quoteShort(k))
		}
	default:
		v.add(field, "must set one of grpc_method, http or websocket_route_key")
	}
	if r.GetAllowEncodedSlashes() && r.GetHttp() == nil {
		// Transcoded and WebSocket paths are always refused with an encoded
		// slash: only a plain HTTP route's backend receives the path as sent.
		v.add(field+".allow_encoded_slashes", "is only for plain HTTP routes (match.http)")
	}
	if r.GetIntegration() != nil {
		validateIntegration(v, field+".integration", r.GetIntegration())
	}
	validateWebSocketRoute(v, field, r, websocket)
	if d := r.GetTimeout(); d != nil {
		if err := d.CheckValid(); err != nil {
			v.add(field+".timeout", "is not a valid duration: %v", err)
		} else if t := d.AsDuration(); t < minRouteTimeout || t > maxTimeout {
			v.add(field+".timeout", "must be between %v and %v (got %v)", minRouteTimeout, maxTimeout, t)
		}
	}
	validateRetryPolicy(v, field+".retry_policy", r.GetRetryPolicy())
	checkDuration(v, field+".stream_idle_timeout", r.GetStreamIdleTimeout(), minRouteTimeout, maxStreamIdleTimeout)
	checkDuration(v, field+".max_stream_duration", r.GetMaxStreamDuration(), minRouteTimeout, maxStreamDuration)
	auth := r.GetAuthorization()
	switch auth.GetType() {
	case adminv1.RouteAuthorization_TYPE_UNSPECIFIED, adminv1.RouteAuthorization_TYPE_NONE, adminv1.RouteAuthorization_TYPE_API_KEY:
		if auth.GetAuthorizer() != "" {
			v.add(field+".authorization.authorizer", "must be empty unless type is TYPE_AUTHORIZER")
		}
		if len(auth.GetScopes()) > 0 {
			v.add(field+".authorization.scopes", "need a JWT authorizer (type TYPE_AUTHORIZER)")
		}
	case adminv1.RouteAuthorization_TYPE_AUTHORIZER:
		want := api.GetName() + "/authorizers/*"
		if ids := checkName(v, field+".authorization.authorizer", auth.GetAuthorizer(), "apis/*/authorizers/*"); ids != nil && parentOf(auth.GetAuthorizer()) != api.GetName() {
			v.add(field+".authorization.authorizer", "must be an authorizer of the same API (%s)", want)
		}
	default:
		v.add(field+".authorization.type", "is not a known authorization type (%d)", auth.GetType())
	}
	for i, s := range auth.GetScopes() {
		if s == "" || len(s) > 256 || strings.ContainsAny(s, " \t\r\n") {
			v.add(field+".authorization.scopes["+strconv.Itoa(i)+"]", "must be 1-256 characters without spaces")
		}
	}
	for i, p := range r.GetCacheKeyParameters() {
		if !cacheKeyParamPattern.MatchString(p) {
			v.add(field+".cache_key_parameters["+strconv.Itoa(i)+"]", `must be "method.request.querystring.NAME", "method.request.header.NAME" or "method.request.path.NAME" (got %s)`, quoteShort(p))
		}
	}
	if r.GetCacheAllMethods() && r.GetGrpcMethod() == "" {
		v.add(field+".cache_all_methods", "applies only to gRPC method routes (and REST calls transcoded onto them): plain HTTP and WebSocket routes are never cached")
	}
	if t := r.GetAuthorization().GetType(); r.GetCacheSharedByCallers() && !r.GetApiKeyRequired() &&
		t != adminv1.RouteAuthorization_TYPE_API_KEY && t != adminv1.RouteAuthorization_TYPE_AUTHORIZER {
		v.add(field+".cache_shared_by_callers", "applies only to routes with authorization (an authorizer or a required API key): the calls of an open route share cache entries anyway")
	}
}

// apiFiles returns the linked descriptors uploaded with api, or nil when the
// API reads its schema by reflection at deploy time (or has none yet).
func apiFiles(api *adminv1.Api) *protoregistry.Files {
	b := api.GetFileDescriptorSet()
	if b == nil {
		return nil
	}
	files, err := parseDescriptorSet(b)
	if err != nil {
		return nil
	}
	return files
}

// checkMethodExists says why a "/pkg.Service/Method" (or "/pkg.Service/*")
// is not in files, or "".
func checkMethodExists(files *protoregistry.Files, fullMethod string) string {
	svcName, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	d, err := files.FindDescriptorByName(protoreflect.FullName(svcName))
	if err != nil {
		return "service " + quoteShort(svcName) + " is not in the API's file_descriptor_set"
	}
	svc, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return quoteShort(svcName) + " is not a service"
	}
	if method != "*" && svc.Methods().ByName(protoreflect.Name(method)) == nil {
		return "service " + quoteShort(svcName) + " has no method " + quoteShort(method)
	}
	return ""
}

// validateAuthorizer checks an Authorizer.
func validateAuthorizer(v *violations, field string, a *adminv1.Authorizer) {
	checkText(v, field+".display_name", a.GetDisplayName(), maxDisplayName)
	switch t := a.GetType().(type) {
	case *adminv1.Authorizer_Jwt:
		j := t.Jwt
		f := field + ".jwt"
		if j.GetIssuer() == "" {
			v.add(f+".issuer", `is required: the exact "iss" claim of accepted tokens`)
		}
		if len(j.GetAudiences()) == 0 {
			v.add(f+".audiences", `needs at least one accepted "aud" value`)
		}
		for i, aud := range j.GetAudiences() {
			if aud == "" {
				v.add(f+".audiences["+strconv.Itoa(i)+"]", "must not be empty")
			}
		}
		switch k := j.GetKeys().(type) {
		case *adminv1.JwtAuthorizer_JwksUri:
			checkJWKSURI(v, f+".jwks_uri", k.JwksUri)
		case *adminv1.JwtAuthorizer_InlineJwks:
			var set struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if err := json.Unmarshal([]byte(k.InlineJwks), &set); err != nil || len(set.Keys) == 0 {
				v.add(f+".inline_jwks", `must be a JSON Web Key Set document: {"keys":[...]} with at least one key`)
			}
		default:
			v.add(f, "must set jwks_uri or inline_jwks")
		}
		checkIdentitySources(v, f+".identity_sources", j.GetIdentitySources())
		checkDuration(v, f+".leeway", j.GetLeeway(), 0, maxJWTLeeway)
	case *adminv1.Authorizer_Custom:
		c := t.Custom
		f := field + ".custom"
		switch c.GetType() {
		case adminv1.CustomAuthorizer_TYPE_TOKEN:
			if len(c.GetIdentitySources()) != 1 {
				v.add(f+".identity_sources", "must name exactly one source for a TOKEN authorizer, e.g. \"$request.header.Authorization\"")
			}
			if e := c.GetIdentityValidationExpression(); e != "" {
				if _, err := regexp.Compile(e); err != nil {
					v.add(f+".identity_validation_expression", "is not a valid regular expression: %v", err)
				}
			}
		case adminv1.CustomAuthorizer_TYPE_REQUEST:
			if c.GetIdentityValidationExpression() != "" {
				v.add(f+".identity_validation_expression", "is only for TOKEN authorizers")
			}
			if c.GetResultTtlSeconds() > 0 && len(c.GetIdentitySources()) == 0 {
				v.add(f+".identity_sources", "must name at least one source when results are cached: they are the cache key")
			}
		default:
			v.add(f+".type", "must be TYPE_TOKEN or TYPE_REQUEST")
		}
		switch cc := c.GetCallout().(type) {
		case *adminv1.CustomAuthorizer_Grpc:
			validateGrpcIntegration(v, f+".grpc", cc.Grpc)
		case *adminv1.CustomAuthorizer_Http:
			validateHTTPIntegration(v, f+".http", cc.Http)
		default:
			v.add(f, "must set grpc or http: where the authorizer runs")
		}
		checkIdentitySources(v, f+".identity_sources", c.GetIdentitySources())
		if ttl := c.GetResultTtlSeconds(); ttl < 0 || ttl > maxAuthorizerTTL {
			v.add(f+".result_ttl_seconds", "must be between 0 and %d (got %d)", maxAuthorizerTTL, ttl)
		}
		checkDuration(v, f+".timeout", c.GetTimeout(), time.Millisecond, maxAuthorizerTimeout)
	default:
		v.add(field, "must set jwt or custom")
	}
}

// checkJWKSURI requires HTTPS, except for loopback hosts used in development.
func checkJWKSURI(v *violations, field, raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		v.add(field, "must be an https:// URL (got %s)", quoteShort(raw))
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			v.add(field, "must use https (http is allowed only for loopback hosts)")
		}
	default:
		v.add(field, "must be an https:// URL (got %s)", quoteShort(raw))
	}
}

// checkIdentitySources validates identity source expressions.
func checkIdentitySources(v *violations, field string, sources []string) {
	for i, s := range sources {
		if !identitySourcePattern.MatchString(s) {
			v.add(field+"["+strconv.Itoa(i)+"]", `must be "$request.header.NAME", "$request.querystring.NAME", "$context.NAME" or "$stageVariables.NAME" (got %s)`, quoteShort(s))
		}
	}
}

// checkDuration validates an optional duration against [min, max].
func checkDuration(v *violations, field string, d *durationpb.Duration, min, max time.Duration) {
	if d == nil {
		return
	}
	if err := d.CheckValid(); err != nil {
		v.add(field, "is not a valid duration: %v", err)
	} else if t := d.AsDuration(); t < min || t > max {
		v.add(field, "must be between %v and %v (got %v)", min, max, t)
	}
}

// validateThrottle checks ThrottleSettings.
func validateThrottle(v *violations, field string, t *adminv1.ThrottleSettings) {
	if t == nil {
		return
	}
	r := t.GetRateLimit()
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > 1e9 {
		v.add(field+".rate_limit", "must be between 0 and 1e9 calls per second (got %v)", r)
	}
	if b := t.GetBurstLimit(); b < 0 || b > 1e8 {
		v.add(field+".burst_limit", "must be between 0 and 100000000 (got %d)", b)
	} else if b == 0 && r > 0 {
		v.add(field+".burst_limit", "must be at least 1 when rate_limit is above 0, or no call could pass")
	}
}

// checkVariables validates stage variables.
func checkVariables(v *violations, field string, vars map[string]string) {
	if len(vars) > maxStageVariables {
		v.add(field, "must have at most %d variables (got %d)", maxStageVariables, len(vars))
	}
	for k, val := range vars {
		if !stageVariableName.MatchString(k) {
			v.add(field, "variable name %s must be 1-64 letters, digits or underscores", quoteShort(k))
		}
		if len(val) > 512 || !utf8.ValidString(val) || strings.ContainsAny(val, "\r\n\x00") {
			v.add(field+"."+k, "must be at most 512 characters of UTF-8 without CR, LF or NUL")
		}
	}
}

// validateStage checks a Stage's own fields; the handler checks references.
func validateStage(v *violations, field string, s *adminv1.Stage) {
	checkText(v, field+".description", s.GetDescription(), maxDescription)
	checkName(v, field+".deployment", s.GetDeployment(), "apis/*/deployments/*")
	checkVariables(v, field+".variables", s.GetVariables())
	validateThrottle(v, field+".default_throttle", s.GetDefaultThrottle())
	validateWebSocketSettings(v, field+".websocket", s.GetWebsocket())
	validateIPPolicy(v, field+".ip_policy", s.GetIpPolicy())
	validateCORS(v, field+".cors", s.GetCors())
	if _, ok := adminv1.Stage_RedisFailureMode_name[int32(s.GetRedisFailureMode())]; !ok {
		v.add(field+".redis_failure_mode", "is not a known mode (%d); use REDIS_FAILURE_MODE_FAIL_OPEN or REDIS_FAILURE_MODE_FAIL_CLOSED", s.GetRedisFailureMode())
	}
	for id, rs := range s.GetRouteSettings() {
		f := field + ".route_settings[" + id + "]"
		if msg := checkID(id); msg != "" {
			v.add(f, "key must be a route ID: %s", msg)
		}
		validateIPPolicy(v, f+".ip_policy", rs.GetIpPolicy())
		validateThrottle(v, f+".throttle", rs.GetThrottle())
		if rs.CacheTtlSeconds != nil && (rs.GetCacheTtlSeconds() < 0 || rs.GetCacheTtlSeconds() > maxCacheTTL) {
			v.add(f+".cache_ttl_seconds", "must be between 0 and %d (got %d)", maxCacheTTL, rs.GetCacheTtlSeconds())
		}
	}
	if c := s.GetCache(); c != nil {
		f := field + ".cache"
		if c.GetCapacityBytes() < 0 || c.GetCapacityBytes() > maxCacheCapacity {
			v.add(f+".capacity_bytes", "must be between 0 (default 64 MiB) and 8 GiB")
		}
		if c.TtlSeconds != nil && (c.GetTtlSeconds() < 0 || c.GetTtlSeconds() > maxCacheTTL) {
			v.add(f+".ttl_seconds", "must be between 0 and %d (got %d)", maxCacheTTL, c.GetTtlSeconds())
		}
		if c.GetMaxEntryBytes() < 0 || (c.GetCapacityBytes() > 0 && c.GetMaxEntryBytes() > c.GetCapacityBytes()) {
			v.add(f+".max_entry_bytes", "must be between 0 (default 1 MiB) and capacity_bytes")
		}
		if _, ok := adminv1.CacheSettings_UnauthorizedCacheControl_name[int32(c.GetUnauthorizedCacheControl())]; !ok {
			v.add(f+".unauthorized_cache_control", "is not a known strategy (%d)", c.GetUnauthorizedCacheControl())
		}
	}
	if c := s.GetCanary(); c != nil {
		f := field + ".canary"
		if c.GetDeployment() != "" || c.GetPercent() != 0 {
			checkName(v, f+".deployment", c.GetDeployment(), "apis/*/deployments/*")
		}
		if p := c.GetPercent(); math.IsNaN(p) || p < 0 || p > 100 {
			v.add(f+".percent", "must be between 0 and 100 (got %v)", p)
		}
		checkVariables(v, f+".variable_overrides", c.GetVariableOverrides())
	}
	for i, name := range s.GetAccessLog().GetFields() {
		if !accessLogFields[name] {
			v.add(field+".access_log.fields["+strconv.Itoa(i)+"]", "%s is not a known access log field", quoteShort(name))
		}
	}
}

// validateAPIKey checks an ApiKey; value is checked only on create.
func validateAPIKey(v *violations, field string, k *adminv1.ApiKey) {
	checkText(v, field+".display_name", k.GetDisplayName(), maxDisplayName)
	checkText(v, field+".description", k.GetDescription(), maxDescription)
	checkText(v, field+".customer_id", k.GetCustomerId(), maxDisplayName)
	validateIPPolicy(v, field+".ip_policy", k.GetIpPolicy())
}

// validateAdminToken checks an AdminToken about to be created at now.
func validateAdminToken(v *violations, field string, t *adminv1.AdminToken, now time.Time) {
	checkText(v, field+".description", t.GetDescription(), maxDescription)
	if _, ok := adminv1.AdminToken_Role_name[int32(t.GetRole())]; !ok || t.GetRole() == adminv1.AdminToken_ROLE_UNSPECIFIED {
		v.add(field+".role", "must be ROLE_VIEWER, ROLE_OPERATOR or ROLE_ADMIN")
	}
	if e := t.GetExpireTime(); e != nil {
		if err := e.CheckValid(); err != nil {
			v.add(field+".expire_time", "%s", err.Error())
		} else if !e.AsTime().After(now) {
			v.add(field+".expire_time", "must be in the future")
		}
	}
}

// checkKeyValue validates a client-supplied API key secret.
func checkKeyValue(v *violations, field, value string) {
	if n := len(value); n < 20 || n > 128 {
		v.add(field, "must be 20 to 128 characters, or empty to let the gateway generate one (got %d)", n)
		return
	}
	for _, c := range value {
		if c <= ' ' || c > '~' {
			v.add(field, "must be printable ASCII without spaces")
			return
		}
	}
}

// validateUsagePlan checks a UsagePlan's own fields; the handler checks
// that its stages exist.
func validateUsagePlan(v *violations, field string, p *adminv1.UsagePlan) {
	checkText(v, field+".display_name", p.GetDisplayName(), maxDisplayName)
	checkText(v, field+".description", p.GetDescription(), maxDescription)
	seen := map[string]bool{}
	for i, as := range p.GetApiStages() {
		f := field + ".api_stages[" + strconv.Itoa(i) + "]"
		checkName(v, f+".stage", as.GetStage(), "apis/*/stages/*")
		if seen[as.GetStage()] {
			v.add(f+".stage", "%s is listed twice", quoteShort(as.GetStage()))
		}
		seen[as.GetStage()] = true
		for id, t := range as.GetRouteThrottles() {
			if msg := checkID(id); msg != "" {
				v.add(f+".route_throttles", "key must be a route ID: %s", msg)
			}
			validateThrottle(v, f+".route_throttles["+id+"]", t)
		}
	}
	validateThrottle(v, field+".throttle", p.GetThrottle())
	if q := p.GetQuota(); q != nil {
		f := field + ".quota"
		if q.GetLimit() <= 0 {
			v.add(f+".limit", "must be above 0 (got %d); remove the quota to allow unlimited calls", q.GetLimit())
		}
		maxOffset := int32(0)
		switch q.GetPeriod() {
		case adminv1.QuotaSettings_PERIOD_DAY:
		case adminv1.QuotaSettings_PERIOD_WEEK:
			maxOffset = 6
		case adminv1.QuotaSettings_PERIOD_MONTH:
			maxOffset = 27
		default:
			v.add(f+".period", "must be PERIOD_DAY, PERIOD_WEEK or PERIOD_MONTH")
		}
		if o := q.GetOffset(); o < 0 || o > maxOffset {
			v.add(f+".offset", "must be between 0 and %d for this period (got %d)", maxOffset, o)
		}
	}
}

// validateWebSocketRoute checks what is particular to WebSocket routes: as
// with Amazon API Gateway, only $connect is authorized (the connection keeps
// its identity and API key for every message), and a gRPC integration
// names the unary method that receives each event.
func validateWebSocketRoute(v *violations, field string, r *adminv1.Route, websocket bool) {
	key := r.GetWebsocketRouteKey()
	if !websocket {
		if r.GetReturnResponse() {
			v.add(field+".return_response", "is only for WebSocket routes")
		}
		return
	}
	if key == "$connect" || key == "$disconnect" {
		if r.GetReturnResponse() {
			v.add(field+".return_response", "is not supported on %s routes", key)
		}
	}
	if key != "$connect" {
		if t := r.GetAuthorization().GetType(); t != adminv1.RouteAuthorization_TYPE_UNSPECIFIED && t != adminv1.RouteAuthorization_TYPE_NONE {
			v.add(field+".authorization", "WebSocket APIs authorize the $connect route only; every message keeps the identity established there")
		}
		if r.GetApiKeyRequired() {
			v.add(field+".api_key_required", "WebSocket APIs check API keys on the $connect route only; every message keeps the key used there")
		}
	}
	if g := r.GetIntegration().GetGrpc(); g != nil && g.GetMethod() == "" {
		v.add(field+".integration.grpc.method", `is required for WebSocket routes: the unary method receiving each event, e.g. "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage"`)
	}
}

// WebSocket limits a stage may set.
const (
	minWebSocketDuration = time.Second
	maxIdleTimeout       = 2 * time.Hour
	maxConnDuration      = 24 * time.Hour
	minMessageBytes      = 128
	maxMessageBytes      = 16 << 20
	maxSendQueue         = 4096
	maxPingInterval      = 10 * time.Minute
	// defaultWebSocketMessage is the default max_message_bytes (as the
	// data plane's websocket.DefaultMaxMessageBytes).
	defaultWebSocketMessage = 128 << 10
)

// validateWebSocketSettings checks a stage's WebSocket limits.
func validateWebSocketSettings(v *violations, field string, w *adminv1.WebSocketSettings) {
	if w == nil {
		return
	}
	checkDuration(v, field+".idle_timeout", w.GetIdleTimeout(), minWebSocketDuration, maxIdleTimeout)
	checkDuration(v, field+".max_connection_duration", w.GetMaxConnectionDuration(), minWebSocketDuration, maxConnDuration)
	checkDuration(v, field+".ping_interval", w.GetPingInterval(), minWebSocketDuration, maxPingInterval)
	if n := w.GetMaxMessageBytes(); n != 0 && (n < minMessageBytes || n > maxMessageBytes) {
		v.add(field+".max_message_bytes", "must be between %d and %d (got %d)", minMessageBytes, maxMessageBytes, n)
	}
	maxMsg := w.GetMaxMessageBytes()
	if maxMsg == 0 {
		maxMsg = defaultWebSocketMessage
	}
	if n := w.GetMaxFrameBytes(); n != 0 && (n < minMessageBytes || n > maxMsg) {
		v.add(field+".max_frame_bytes", "must be between %d and max_message_bytes (%d) (got %d)", minMessageBytes, maxMsg, n)
	}
	if n := w.GetSendQueueSize(); n != 0 && (n < 1 || n > maxSendQueue) {
		v.add(field+".send_queue_size", "must be between 1 and %d (got %d)", maxSendQueue, n)
	}
	if n := len(w.GetAllowedOrigins()); n > origin.MaxPatterns {
		v.add(field+".allowed_origins", "must have at most %d entries (got %d)", origin.MaxPatterns, n)
	}
	for i, p := range w.GetAllowedOrigins() {
		if err := origin.Check(p); err != nil {
			v.add(field+".allowed_origins["+strconv.Itoa(i)+"]", "%v (got %s)", err, quoteShort(p))
		}
	}
}

// validateHeaderMapping checks an API's header mapping with the rules the
// transcoder compiles it with (internal/headermap).
func validateHeaderMapping(v *violations, field string, m *adminv1.HeaderMapping) {
	patterns := m.GetRequestHeadersToMetadata()
	if n := len(patterns); n > headermap.MaxPatterns {
		v.add(field+".request_headers_to_metadata", "must have at most %d patterns (got %d)", headermap.MaxPatterns, n)
		return
	}
	seen := map[string]bool{}
	for i, p := range patterns {
		f := field + ".request_headers_to_metadata[" + strconv.Itoa(i) + "]"
		if err := headermap.ValidatePattern(p); err != nil {
			v.add(f, "%s", err.Error())
			continue
		}
		if k := strings.ToLower(p); seen[k] {
			v.add(f, "pattern %s is listed twice", quoteShort(p))
		} else {
			seen[k] = true
		}
	}
}

// maxBodyTemplate is the largest gateway response body template.
const maxBodyTemplate = 16 << 10

// validateGatewayResponses checks an API's customised gateway responses:
// known types, HTTP statuses, header names and values that can be sent,
// bounded templates.
func validateGatewayResponses(v *violations, field string, rs map[string]*adminv1.GatewayResponse) {
	for typ, r := range rs {
		f := field + "[" + strconv.Quote(typ) + "]"
		if !slices.Contains(gatewayerr.ResponseTypes, typ) {
			v.add(f, "unknown gateway response type; want one of %s", strings.Join(gatewayerr.ResponseTypes, ", "))
			continue
		}
		if c := r.GetStatusCode(); c != 0 && (c < 100 || c > 599) {
			v.add(f+".status_code", "must be 0 (keep the refusal's) or 100 to 599 (got %d)", c)
		}
		for k, val := range r.GetResponseHeaders() {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(val) {
				v.add(f+".response_headers", "header %s is not a valid HTTP header name and value", quoteShort(k))
			}
		}
		if n := len(r.GetBodyTemplate()); n > maxBodyTemplate {
			v.add(f+".body_template", "must be at most %d bytes (got %d)", maxBodyTemplate, n)
		}
		if ct := r.GetContentType(); ct != "" {
			if _, _, err := mime.ParseMediaType(ct); err != nil {
				v.add(f+".content_type", "must be a media type such as application/json")
			}
		}
	}
}
