package accesslog

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/metrics"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// DefaultFields are the fields written for a stage that configures none.
var DefaultFields = []string{
	"requestId", "requestTime", "clientIp", "httpMethod", "grpcMethod", "route", "status",
	"grpcStatus", "latency", "apiKeyId", "principal", "errorMessage", "errorReason", "stage", "api", "protocol",
}

// Logger writes access log lines. It is safe for concurrent use; lines of
// concurrent calls are never interleaved.
type Logger struct {
	log *slog.Logger
	now func() time.Time
}

// Option configures a Logger.
type Option func(*Logger)

// WithClock makes the Logger read the time from now instead of time.Now,
// for requestTime and latency.
func WithClock(now func() time.Time) Option {
	return func(l *Logger) { l.now = now }
}

// New returns a Logger writing JSON lines to w.
func New(w io.Writer, opts ...Option) *Logger {
	l := &Logger{now: time.Now}
	for _, o := range opts {
		o(l)
	}
	l.log = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: dropBuiltins}))
	return l
}

// dropBuiltins removes slog's time, level and message from a line, which
// has only the access log's fields.
func dropBuiltins(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey:
			return slog.Attr{}
		}
	}
	return a
}

// StreamServerInterceptor returns an interceptor that logs the calls of
// stages with access logging enabled; other calls pass untouched.
func (l *Logger) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		c := callinfo.FromContext(ctx)
		if c == nil || !c.StageConfig.GetAccessLog().GetEnabled() {
			return handler(srv, ss)
		}
		start := l.now()
		err := handler(srv, ss)
		fields := c.StageConfig.GetAccessLog().GetFields()
		if len(fields) == 0 {
			fields = DefaultFields
		}
		l.write(ctx, c, info, fields, start, l.now().Sub(start), err)
		return err
	}
}

// write writes the line of one finished call.
func (l *Logger) write(ctx context.Context, c *callinfo.Call, info *grpc.StreamServerInfo, fields []string, start time.Time, d time.Duration, err error) {
	code := metrics.Code(err)
	attrs := make([]slog.Attr, 0, len(fields))
	str := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	for _, f := range fields {
		switch f {
		case "requestId":
			id := c.RequestID
			if id == "" {
				id = requestid.FromContext(ctx)
			}
			str(f, id)
		case "requestTime":
			str(f, start.UTC().Format(time.RFC3339Nano))
		case "clientIp":
			str(f, c.SourceIP)
		case "httpMethod":
			str(f, c.HTTPMethod)
		case "path":
			str(f, c.HTTPPath)
		case "protocol":
			str(f, c.Protocol.String())
		case "api":
			str(f, c.API)
		case "stage":
			str(f, c.Stage)
		case "deployment":
			str(f, c.Deployment)
		case "route":
			str(f, c.RouteKey)
		case "grpcMethod":
			m := c.FullMethod
			if m == "" && info != nil {
				m = info.FullMethod
			}
			str(f, m)
		case "status":
			attrs = append(attrs, slog.Int(f, runtime.HTTPStatusFromCode(code)))
		case "grpcStatus":
			str(f, metrics.CodeName(code))
		case "latency":
			attrs = append(attrs, slog.Float64(f, float64(d.Microseconds())/1000))
		case "requestLength":
			attrs = append(attrs, slog.Int64(f, c.RequestBytes))
		case "responseLength":
			attrs = append(attrs, slog.Int64(f, c.ResponseBytes))
		case "integrationLatency":
			if il := c.IntegrationLatency; il > 0 {
				attrs = append(attrs, slog.Float64(f, float64(il.Microseconds())/1000))
			}
		case "apiKeyId":
			if c.APIKey != nil {
				str(f, c.APIKey.Name)
			}
		case "principal":
			str(f, c.Principal)
		case "userAgent":
			str(f, c.UserAgent)
		case "traceId":
			if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
				str(f, sc.TraceID().String())
			}
		case "cacheStatus":
			switch c.ResponseCache {
			case callinfo.CacheHit:
				str(f, "hit")
			case callinfo.CacheMiss:
				str(f, "miss")
			}
		case "connectionId":
			str(f, c.ConnectionID)
		case "clientCertSubject", "clientCertSerial", "clientCertFingerprint":
			if cc := c.ClientCert; cc != nil {
				str(f, map[string]string{"clientCertSubject": cc.Subject, "clientCertSerial": cc.Serial, "clientCertFingerprint": cc.Fingerprint}[f])
			}
		case "errorMessage":
			if err != nil {
				str(f, errorMessage(err))
			}
		case "errorReason":
			if err != nil {
				str(f, gatewayerr.AnyReason(err))
			}
		}
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, "", attrs...)
}

// errorMessage returns the status message of err, or its text when err is
// not a status error.
func errorMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}
