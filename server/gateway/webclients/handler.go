package webclients

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// DefaultMaxMessageBytes is the default limit on one message, in either
// direction, as the data plane's gRPC limit.
const DefaultMaxMessageBytes = 4 << 20

// Option configures a Handler.
type Option func(*options)

type options struct {
	maxMessageBytes int
	wsQueue         int
	wsFirstFrame    time.Duration
}

// WithMaxMessageBytes limits a message, decoded or not, in either
// direction. Default DefaultMaxMessageBytes.
func WithMaxMessageBytes(n int) Option {
	return func(o *options) { o.maxMessageBytes = n }
}

// Handler serves the gRPC methods of one deployed API to gRPC-Web,
// Connect and WebSocket clients: each call is translated into a gRPC call
// over HTTP/2 semantics and handed to the next handler (the data plane's
// grpc.Server), whose response is translated back. Create it with New; it
// is immutable and safe for concurrent use.
type Handler struct {
	tc      *vanguard.Transcoder
	next    http.Handler
	methods map[string]protoreflect.MethodDescriptor // by "/pkg.Service/Method"
	types   *dynamicpb.Types                         // the API's types, for JSON
	opts    options
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for services, whose descriptors are in files,
// that hands the translated gRPC calls to next. next receives HTTP/2-shaped
// POST requests with Content-Type application/grpc+proto, unencoded
// messages, and the request's context, so that it can tell them apart from
// calls from the network: in the gateway it is grpc.Server.ServeHTTP.
func New(files *protoregistry.Files, services []protoreflect.ServiceDescriptor, next http.Handler, opts ...Option) (*Handler, error) {
	o := options{maxMessageBytes: DefaultMaxMessageBytes, wsQueue: DefaultWebSocketQueue, wsFirstFrame: DefaultWebSocketFirstFrameTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxMessageBytes <= 0 || o.wsQueue <= 0 || o.wsFirstFrame <= 0 {
		return nil, errors.New("webclients: limits must be positive")
	}
	if files == nil || next == nil {
		return nil, errors.New("webclients: descriptors and a gRPC handler are required")
	}
	services, err := withoutHTTPRules(files, services)
	if err != nil {
		return nil, fmt.Errorf("webclients: %w", err)
	}
	types := dynamicpb.NewTypes(files)
	h := &Handler{methods: map[string]protoreflect.MethodDescriptor{}, types: types, opts: o}
	h.next = trackRequests(next, func(path string) bool {
		md, ok := h.methods[path]
		return ok && !md.IsStreamingClient()
	})
	vs := make([]*vanguard.Service, 0, len(services))
	for _, sd := range services {
		vs = append(vs, vanguard.NewServiceWithSchema(sd, h.next,
			// The data plane's server speaks gRPC and takes messages as
			// raw protobuf frames; compression is undone here, so that the
			// chain and the proxy see what a gRPC client would send.
			vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
			vanguard.WithTargetCodecs(vanguard.CodecProto),
			vanguard.WithNoTargetCompression(),
			vanguard.WithTypeResolver(types),
			vanguard.WithMaxMessageBufferBytes(uint32(min(o.maxMessageBytes, 1<<31))),
		))
		ms := sd.Methods()
		for i := range ms.Len() {
			md := ms.Get(i)
			h.methods["/"+string(sd.FullName())+"/"+string(md.Name())] = md
		}
	}
	tc, err := vanguard.NewTranscoder(vs,
		vanguard.WithCodec(func(r vanguard.TypeResolver) vanguard.Codec { return jsonCodec{vanguard.NewJSONCodec(r)} }),
		vanguard.WithCodec(func(r vanguard.TypeResolver) vanguard.Codec { return protoCodec{vanguard.NewProtoCodec(r)} }),
	)
	if err != nil {
		return nil, fmt.Errorf("webclients: %w", err)
	}
	h.tc = tc
	return h, nil
}

// Method returns the descriptor of a method the Handler serves, by its
// full name "/pkg.Service/Method".
func (h *Handler) Method(fullMethod string) (protoreflect.MethodDescriptor, bool) {
	md, ok := h.methods[fullMethod]
	return md, ok
}

// ServeHTTP serves a gRPC-Web or Connect call. r's path must be the
// method's "/pkg.Service/Method" (the gateway strips any stage prefix).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isText(r) {
		tw := toBinary(w, r)
		h.tc.ServeHTTP(tw, r)
		tw.finish()
		return
	}
	h.tc.ServeHTTP(w, r)
}

// withoutHTTPRules returns services as described by copies of their files
// without google.api.http rules: vanguard would otherwise also serve REST
// from them, which the gateway's own transcoder does, and refuse path
// templates that grpc-gateway (and so the gateway) accepts. Only the
// idempotency level of a method's options is kept (it allows Connect GET).
func withoutHTTPRules(files *protoregistry.Files, services []protoreflect.ServiceDescriptor) ([]protoreflect.ServiceDescriptor, error) {
	rebuilt := map[protoreflect.FileDescriptor]protoreflect.FileDescriptor{}
	out := make([]protoreflect.ServiceDescriptor, 0, len(services))
	for _, sd := range services {
		fd := sd.ParentFile()
		nf, ok := rebuilt[fd]
		if !ok {
			fdp := protodesc.ToFileDescriptorProto(fd)
			for _, s := range fdp.GetService() {
				for _, m := range s.GetMethod() {
					if m.Options != nil {
						m.Options = &descriptorpb.MethodOptions{IdempotencyLevel: m.Options.IdempotencyLevel}
					}
				}
			}
			var err error
			if nf, err = protodesc.NewFile(fdp, files); err != nil {
				return nil, fmt.Errorf("copying %s: %w", fd.Path(), err)
			}
			rebuilt[fd] = nf
		}
		nsd := nf.Services().ByName(sd.Name())
		if nsd == nil {
			return nil, fmt.Errorf("service %s vanished from its copy", sd.FullName())
		}
		out = append(out, nsd)
	}
	return out, nil
}
