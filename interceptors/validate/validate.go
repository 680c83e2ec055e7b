package validate

import (
	"errors"
	"fmt"
	"sync"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// Reason is the ErrorInfo reason of a refused request.
const Reason = "REQUEST_INVALID"

// Codec converts between the messages the gRPC server's codec hands a
// stream handler and their encoded bytes (the data plane's is
// grpcproxy.Messages).
type Codec interface {
	// NewMessage returns an empty message to receive a request into.
	NewMessage() any
	// Marshal returns a copy of m's encoded bytes.
	Marshal(m any) ([]byte, error)
	// Unmarshal makes m hold the message encoded in b, which is never
	// modified afterwards.
	Unmarshal(b []byte, m any) error
}

// Validator checks request messages. It is safe for concurrent use; the
// rules of each message type are compiled once, on first use.
type Validator struct {
	codec Codec
	// pv is built on the first check: protovalidate's CEL environment
	// registers every linked descriptor (~3 MiB of live heap, which the
	// collector's target multiplies), and most gateways validate nothing.
	pv func() (protovalidate.Validator, error)
}

// New returns a Validator that reads request messages through codec. An
// error building the rules' environment surfaces on the first check, as
// INTERNAL.
func New(codec Codec) *Validator {
	return &Validator{codec: codec, pv: sync.OnceValues(func() (protovalidate.Validator, error) {
		// The global types resolve buf.validate's extensions in
		// descriptors that carry them as unknown fields (uploaded
		// descriptor sets).
		pv, err := protovalidate.New(protovalidate.WithExtensionTypeResolver(protoregistry.GlobalTypes))
		if err != nil {
			return nil, fmt.Errorf("validate: %w", err)
		}
		return pv, nil
	})}
}

// StreamServerInterceptor returns the interceptor that refuses calls with
// invalid request messages.
func (v *Validator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		call := callinfo.FromContext(ss.Context())
		if call == nil || call.RequestType == nil {
			return handler(srv, ss)
		}
		call.NeedsMessages = true
		ws := &stream{ServerStream: ss, v: v, md: call.RequestType}
		if !info.IsClientStream {
			// The only request message: checked before the backend is
			// called, then handed to the handler as it came.
			m := v.codec.NewMessage()
			if err := ss.RecvMsg(m); err != nil {
				return err
			}
			b, err := v.codec.Marshal(m)
			if f, ok := m.(interface{ Free() }); ok {
				f.Free()
			}
			if err != nil {
				return status.Error(codes.Internal, "the request could not be read")
			}
			if err := v.Check(call.RequestType, b); err != nil {
				return err
			}
			ws.first = b
			ws.hasFirst = true
		}
		return handler(srv, ws)
	}
}

// stream replays a call's first message, already checked, and checks the
// others as the handler receives them.
type stream struct {
	grpc.ServerStream
	v        *Validator
	md       protoreflect.MessageDescriptor
	first    []byte
	hasFirst bool
}

func (s *stream) RecvMsg(m any) error {
	if s.hasFirst {
		s.hasFirst = false
		b := s.first
		s.first = nil
		return s.v.codec.Unmarshal(b, m)
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	b, err := s.v.codec.Marshal(m)
	if err != nil {
		return status.Error(codes.Internal, "the request could not be read")
	}
	return s.v.Check(s.md, b)
}

// Check decodes b as a message of type md and returns nil if it is valid,
// else an INVALID_ARGUMENT status error with a BadRequest listing every
// violation and the ErrorInfo reason REQUEST_INVALID.
func (v *Validator) Check(md protoreflect.MessageDescriptor, b []byte) error {
	msg := dynamicpb.NewMessage(md)
	if err := safeproto.Unmarshal(b, msg); err != nil {
		return refusal([]*errdetails.BadRequest_FieldViolation{{Field: "", Description: "the request message could not be decoded"}})
	}
	violations := required(msg, "", 0)
	pv, err := v.pv()
	if err != nil {
		return status.Error(codes.Internal, "the request could not be validated: "+err.Error())
	}
	if err := pv.Validate(msg); err != nil {
		var verr *protovalidate.ValidationError
		if !errors.As(err, &verr) {
			// A rule that cannot be compiled or evaluated is the API's
			// fault, not the caller's.
			return status.Error(codes.Internal, "the request could not be validated: "+err.Error())
		}
		for _, viol := range verr.Violations {
			violations = append(violations, &errdetails.BadRequest_FieldViolation{
				Field:       protovalidate.FieldPathString(viol.Proto.GetField()),
				Description: viol.Proto.GetMessage(),
				Reason:      viol.Proto.GetRuleId(),
			})
		}
	}
	if len(violations) == 0 {
		return nil
	}
	return refusal(violations)
}

func refusal(violations []*errdetails.BadRequest_FieldViolation) error {
	msg := "the request is invalid: " + violations[0].GetField() + ": " + violations[0].GetDescription()
	if violations[0].GetField() == "" {
		msg = "the request is invalid: " + violations[0].GetDescription()
	}
	if len(violations) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(violations)-1)
	}
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: Reason, Domain: gatewayerr.Domain},
		&errdetails.BadRequest{FieldViolations: violations},
	)
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}

// maxDepth bounds the nesting of messages checked for REQUIRED fields.
const maxDepth = 32

// required returns a violation for every field marked
// google.api.field_behavior = REQUIRED that msg (or a message it holds)
// leaves unset; prefix is msg's path.
func required(msg protoreflect.Message, prefix string, depth int) []*errdetails.BadRequest_FieldViolation {
	if depth > maxDepth {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	fields := msg.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		if isRequired(fd) && !msg.Has(fd) {
			out = append(out, &errdetails.BadRequest_FieldViolation{Field: path, Description: "value is required", Reason: "REQUIRED"})
			continue
		}
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() || !msg.Has(fd) {
			continue
		}
		if fd.IsList() {
			list := msg.Get(fd).List()
			for j := range list.Len() {
				out = append(out, required(list.Get(j).Message(), fmt.Sprintf("%s[%d].", path, j), depth+1)...)
			}
			continue
		}
		out = append(out, required(msg.Get(fd).Message(), path+".", depth+1)...)
	}
	return out
}

// requiredCache remembers which fields are marked REQUIRED: reading the
// annotation re-parses the field's options.
var requiredCache sync.Map // protoreflect.FieldDescriptor → bool

func isRequired(fd protoreflect.FieldDescriptor) bool {
	if v, ok := requiredCache.Load(fd); ok {
		return v.(bool)
	}
	req := false
	if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts != nil {
		// Uploaded descriptors carry the annotation as unknown bytes:
		// re-parse with the global types, which know it.
		if raw, err := proto.Marshal(opts); err == nil {
			fresh := &descriptorpb.FieldOptions{}
			if (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(raw, fresh) == nil {
				fb, _ := proto.GetExtension(fresh, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
				for _, b := range fb {
					req = req || b == annotations.FieldBehavior_REQUIRED
				}
			}
		}
	}
	requiredCache.Store(fd, req)
	return req
}

// Interface guard: the stream is a grpc.ServerStream.
var _ grpc.ServerStream = (*stream)(nil)
