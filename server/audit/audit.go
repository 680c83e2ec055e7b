package audit

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/adminauth"
)

// Recorder stores audit events.
type Recorder interface {
	RecordAuditEvent(ctx context.Context, e *adminv1.AuditEvent) error
}

// Identify returns the caller of a call, or an error when it cannot be
// authenticated (adminauth.Authenticator.Authenticate).
type Identify func(ctx context.Context) (*adminauth.Principal, error)

// recordTimeout bounds writing one event, which outlives the call's own
// context (a cancelled call is recorded too).
const recordTimeout = 5 * time.Second

// UnaryServerInterceptor records the write calls (adminauth.IsWrite) of
// authenticated callers in rec and logs each as a JSON line on logger. It
// must run before the interceptor that authorizes calls, so that refused
// writes are recorded too; identify authenticates the caller.
func UnaryServerInterceptor(rec Recorder, identify Identify, logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !adminauth.IsWrite(info.FullMethod) {
			return handler(ctx, req)
		}
		resp, err := handler(ctx, req)
		p, authErr := identify(ctx)
		if authErr != nil {
			return resp, err
		}
		st := status.Convert(err)
		e := &adminv1.AuditEvent{
			Time:     timestamppb.Now(),
			Actor:    p.Name,
			Role:     p.Role,
			Method:   info.FullMethod,
			Resource: resourceOf(req, resp),
			ClientIp: clientIP(ctx),
			Result:   rpccode.Code_name[int32(st.Code())],
		}
		if err != nil {
			e.Message = st.Message()
		}
		if m, ok := req.(proto.Message); ok {
			e.UpdateMask = updateMask(m)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		if rerr := rec.RecordAuditEvent(rctx, e); rerr != nil {
			logger.ErrorContext(ctx, "could not store an audit event", "error", rerr, "method", e.GetMethod(), "actor", e.GetActor())
		}
		attrs := []any{
			"audit", true, "event", e.GetName(), "actor", e.GetActor(), "role", adminauth.RoleName(e.GetRole()),
			"method", e.GetMethod(), "resource", e.GetResource(), "clientIp", e.GetClientIp(), "result", e.GetResult(),
		}
		if paths := e.GetUpdateMask().GetPaths(); len(paths) > 0 {
			attrs = append(attrs, "updateMask", strings.Join(paths, ","))
		}
		logger.InfoContext(ctx, "admin write", attrs...)
		return resp, err
	}
}

// resourceOf names the resource a write concerned: the name of the
// resource it returned, else the request's name, the name of the resource
// it carries, or its parent. Only names are read, never values.
func resourceOf(req, resp any) string {
	if m, ok := resp.(proto.Message); ok && m != nil && m.ProtoReflect().IsValid() {
		if n := stringField(m.ProtoReflect(), "name"); n != "" {
			return n
		}
	}
	m, ok := req.(proto.Message)
	if !ok {
		return ""
	}
	r := m.ProtoReflect()
	if n := stringField(r, "name"); n != "" {
		return n
	}
	var found string
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() != "google.protobuf.FieldMask" {
			if n := stringField(v.Message(), "name"); n != "" {
				found = n
				return false
			}
		}
		return true
	})
	if found != "" {
		return found
	}
	// A create that failed: its parent and the ID it asked for.
	var id string
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); strings.HasSuffix(string(fd.Name()), "_id") && fd.Kind() == protoreflect.StringKind {
			id = r.Get(fd).String()
		}
	}
	if parent := stringField(r, "parent"); parent != "" && id != "" {
		return parent + "/" + id
	} else if parent != "" {
		return parent
	}
	return id
}

// stringField returns a string field of m by name, or "".
func stringField(m protoreflect.Message, name string) string {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return m.Get(fd).String()
}

// updateMask returns a copy of the request's update_mask, or nil.
func updateMask(m proto.Message) *fieldmaskpb.FieldMask {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("update_mask")
	if fd == nil || fd.Kind() != protoreflect.MessageKind || !r.Has(fd) {
		return nil
	}
	fm, ok := r.Get(fd).Message().Interface().(*fieldmaskpb.FieldMask)
	if !ok || len(fm.GetPaths()) == 0 {
		return nil
	}
	return &fieldmaskpb.FieldMask{Paths: append([]string(nil), fm.GetPaths()...)}
}

// clientIP is the caller's address: the peer's, or for REST calls, which
// reach the gRPC server over an in-memory connection, the HTTP client's,
// which grpc-gateway appends to x-forwarded-for (the right-most entry).
func clientIP(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if p.Addr.Network() == "bufconn" {
		vals := metadata.ValueFromIncomingContext(ctx, "x-forwarded-for")
		if len(vals) == 0 {
			return ""
		}
		last := vals[len(vals)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		return strings.TrimSpace(last)
	}
	if h, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return h
	}
	return p.Addr.String()
}
