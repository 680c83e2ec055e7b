package transcode

import (
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// DefaultMaxBodyBytes is the request body limit of a [Transcoder] made
// without [WithMaxBodyBytes]: 10 MiB.
const DefaultMaxBodyBytes int64 = 10 << 20

// Option configures a [Transcoder]. Options are applied, and validated, once
// by [New].
type Option func(*options)

type options struct {
	maxBodyBytes int64
	outgoing     metadata.MD
	perRequest   func(*http.Request) metadata.MD
	logger       *slog.Logger
	responses    gatewayerr.Responses
	headers      HeaderMapping
}

// HeaderMapping is an API's mapping of HTTP headers to gRPC metadata and
// back, beyond the defaults (see the package documentation).
type HeaderMapping struct {
	// RequestHeaders are patterns of request headers forwarded to the call's
	// metadata under their own lowercased name: a header name ("x-user-id",
	// any case) or a prefix ending in "*" ("x-custom-*"). Headers the
	// gateway or gRPC reserve never match (internal/headermap). Nil
	// forwards only the default headers.
	RequestHeaders []string
	// ResponseMetadataAsHeaders writes response header metadata as HTTP
	// headers of the same name (and trailer metadata as trailers of the
	// same name) instead of Grpc-Metadata-<key> (Grpc-Trailer-<key>), for
	// every key internal/headermap admits; the others keep the prefix.
	ResponseMetadataAsHeaders bool
}

// WithHeaderMapping maps headers as m says. New rejects an invalid
// pattern. The default maps headers as grpc-gateway does (see the package
// documentation).
func WithHeaderMapping(m HeaderMapping) Option {
	return func(o *options) {
		o.headers = HeaderMapping{RequestHeaders: append([]string(nil), m.RequestHeaders...), ResponseMetadataAsHeaders: m.ResponseMetadataAsHeaders}
	}
}

func defaultOptions() options {
	return options{
		maxBodyBytes: DefaultMaxBodyBytes,
		logger:       slog.New(slog.DiscardHandler),
	}
}

// WithGatewayResponses answers the refusals whose type (see
// gatewayerr.ResponseType) rs customises with those responses instead of
// the google.rpc.Status JSON body. Nil (the default) customises nothing.
func WithGatewayResponses(rs gatewayerr.Responses) Option {
	return func(o *options) { o.responses = rs }
}

// WithMaxBodyBytes limits request bodies to n bytes (default
// [DefaultMaxBodyBytes]). A larger body is answered with 413 Request Entity
// Too Large, without being read past the limit. n must be positive; New
// rejects other values.
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) { o.maxBodyBytes = n }
}

// WithOutgoingMetadata adds md to the metadata of every gRPC call the
// Transcoder makes, for example the gateway's own "x-tollgate-stage". Its
// keys (lowercased) replace any value of the same key that the client's
// headers would have forwarded, so a client cannot forge them. Calling it
// again adds to the metadata given before. md is copied.
func WithOutgoingMetadata(md metadata.MD) Option {
	return func(o *options) {
		if o.outgoing == nil {
			o.outgoing = metadata.MD{}
		}
		for k, vs := range md {
			k = strings.ToLower(k)
			o.outgoing[k] = append(o.outgoing[k], vs...)
		}
	}
}

// WithRequestMetadata adds the metadata f returns for each request to the
// gRPC call made for it, after (and overriding) the client's forwarded
// headers and the WithOutgoingMetadata entries: what the gateway knows
// about the HTTP request itself, such as its method, path and source
// address.
func WithRequestMetadata(f func(*http.Request) metadata.MD) Option {
	return func(o *options) { o.perRequest = f }
}

// WithLogger makes the Transcoder log to l: the methods it leaves unbound
// when it is built (debug), and failures to write a response (debug). Nil,
// and the default, discard the logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
