package reflectclient

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// errEarlyClose is returned when the server ends the reflection stream
// cleanly before answering every request.
var errEarlyClose = errors.New("the backend closed the reflection stream before answering")

// stream is one ServerReflectionInfo call, v1 or v1alpha. The messages of
// the two versions are the same on the wire, so both use the v1 Go types.
type stream struct {
	s      *grpc.GenericClientStream[rpb.ServerReflectionRequest, rpb.ServerReflectionResponse]
	cancel context.CancelFunc
}

// openStream starts a call of method, the full name of a
// ServerReflectionInfo method.
func openStream(ctx context.Context, conn *grpc.ClientConn, method string) (*stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	cs, err := conn.NewStream(ctx, &rpb.ServerReflection_ServiceDesc.Streams[0], method,
		grpc.MaxCallRecvMsgSize(maxMessageBytes))
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{
		s:      &grpc.GenericClientStream[rpb.ServerReflectionRequest, rpb.ServerReflectionResponse]{ClientStream: cs},
		cancel: cancel,
	}, nil
}

// roundTrip sends reqs and returns the responses, which the protocol has
// come in the order of the requests.
func (st *stream) roundTrip(reqs []*rpb.ServerReflectionRequest) ([]*rpb.ServerReflectionResponse, error) {
	for _, req := range reqs {
		if err := st.s.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				// The call has ended; its status comes from Recv.
				if _, rerr := st.s.Recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
					return nil, rerr
				}
				return nil, errEarlyClose
			}
			return nil, err
		}
	}
	resps := make([]*rpb.ServerReflectionResponse, 0, len(reqs))
	for range reqs {
		resp, err := st.s.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errEarlyClose
		}
		if err != nil {
			return nil, err
		}
		resps = append(resps, resp)
	}
	return resps, nil
}

// close ends the call.
func (st *stream) close() {
	_ = st.s.CloseSend()
	st.cancel()
}
