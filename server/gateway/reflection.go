package gateway

import (
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	v1reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphareflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// The methods of gRPC server reflection, which stages with
// grpc_reflection_enabled answer from their deployment's descriptors.
const (
	reflectionV1Method      = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	reflectionV1AlphaMethod = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
)

// isReflection reports whether fullMethod is a server reflection method.
func isReflection(fullMethod string) bool {
	return fullMethod == reflectionV1Method || fullMethod == reflectionV1AlphaMethod
}

// serveReflection answers a server reflection stream from the descriptors
// of the stage the call selects (x-tollgate-stage, or a domain mapping's
// :authority), or of the only stage that enables reflection. It is not a
// call of an API, so no policy applies: the stage's switch decides. When
// no selected stage enables reflection it reports false, and the call is
// routed as any other (an API may proxy reflection to its backend).
func (g *Gateway) serveReflection(ss grpc.ServerStream, fullMethod string) (bool, error) {
	ctx := ss.Context()
	table := g.current.Load().table
	hint := firstValue(ctx, StageMetadataKey)
	var candidates []*routing.Stage
	if hint != "" {
		candidates = table.StagesMatching(hint)
	} else if st := table.StageForAuthority(firstValue(ctx, ":authority")); st != nil {
		candidates = []*routing.Stage{st}
	} else {
		candidates = table.Stages()
	}
	var found []*routing.Stage
	for _, st := range candidates {
		if st.Config.GetGrpcReflectionEnabled() && st.Files != nil {
			found = append(found, st)
		}
	}
	switch len(found) {
	case 0:
		return false, nil
	case 1:
	default:
		names := make([]string, len(found))
		for i, st := range found {
			names[i] = st.Name
		}
		return true, status.Errorf(codes.FailedPrecondition, "several stages serve reflection (%s): choose one with the x-tollgate-stage metadata entry", strings.Join(names, ", "))
	}
	st := found[0]
	opts := reflection.ServerOptions{
		Services:           stageServices(st.Services),
		DescriptorResolver: st.Files,
		ExtensionResolver:  extensions{files: st.Files, Types: dynamicpb.NewTypes(st.Files)},
	}
	if fullMethod == reflectionV1AlphaMethod {
		return true, reflection.NewServer(opts).ServerReflectionInfo(&grpc.GenericServerStream[v1alphareflectionpb.ServerReflectionRequest, v1alphareflectionpb.ServerReflectionResponse]{ServerStream: ss})
	}
	return true, reflection.NewServerV1(opts).ServerReflectionInfo(&grpc.GenericServerStream[v1reflectionpb.ServerReflectionRequest, v1reflectionpb.ServerReflectionResponse]{ServerStream: ss})
}

// stageServices lists a stage's services for the reflection server.
type stageServices []protoreflect.ServiceDescriptor

// GetServiceInfo returns the services by name (the reflection server
// reads only the names).
func (s stageServices) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := make(map[string]grpc.ServiceInfo, len(s))
	for _, sd := range s {
		out[string(sd.FullName())] = grpc.ServiceInfo{}
	}
	return out
}

// extensions resolves the extensions of a stage's descriptors.
type extensions struct {
	files *protoregistry.Files
	*dynamicpb.Types
}

// RangeExtensionsByMessage calls f for each extension of message the
// descriptors declare.
func (e extensions) RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool) {
	var visit func(xds protoreflect.ExtensionDescriptors, mds protoreflect.MessageDescriptors) bool
	visit = func(xds protoreflect.ExtensionDescriptors, mds protoreflect.MessageDescriptors) bool {
		for i := range xds.Len() {
			if xd := xds.Get(i); xd.ContainingMessage().FullName() == message && !f(dynamicpb.NewExtensionType(xd)) {
				return false
			}
		}
		for i := range mds.Len() {
			if !visit(mds.Get(i).Extensions(), mds.Get(i).Messages()) {
				return false
			}
		}
		return true
	}
	e.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		return visit(fd.Extensions(), fd.Messages())
	})
}
