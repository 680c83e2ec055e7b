package websocket

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// maxCallbackBody bounds a callback request's body before the stage's own
// message limit is checked.
const maxCallbackBody = 16 << 20

// Service implements the callback API, tollgate.data.v1.ConnectionsService,
// over a Registry. Serve it on a grpc.Server with its UnaryServerInterceptor
// (which authenticates callers), and over HTTP with ServeHTTPCallback.
type Service struct {
	datav1.UnimplementedConnectionsServiceServer
	reg  *Registry
	auth *Authenticator
}

var _ datav1.ConnectionsServiceServer = (*Service)(nil)

// NewService returns the callback API of a registry.
func NewService(reg *Registry, auth *Authenticator) *Service {
	return &Service{reg: reg, auth: auth}
}

// UnaryServerInterceptor authenticates callback API calls by their
// "authorization: Bearer" metadata entry and maps errors of this package
// to statuses, once.
func (s *Service) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var token string
		if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) == 1 {
			token = jwtauth.BearerToken(v[0])
		}
		scope, err := s.auth.Authenticate(token)
		if err == nil && s.reg.Closing() {
			err = ErrShuttingDown
		}
		if err != nil {
			st, _ := Status(err)
			return nil, st.Err()
		}
		resp, err := handler(withScope(ctx, scope), req)
		if err != nil {
			st, _ := Status(err)
			return nil, st.Err()
		}
		return resp, nil
	}
}

// located is where a connection the caller may reach lives: here (node
// "") or on another node of the fleet.
type located struct {
	conn  *Conn // here
	entry Entry // on another node
	node  string
}

// id and stage are the located connection's.
func (l located) id() string {
	if l.conn != nil {
		return l.conn.ID
	}
	return l.entry.ID
}

func (l located) stage() string {
	if l.conn != nil {
		return l.conn.Stage
	}
	return l.entry.Stage
}

// locate finds a connection the caller may reach: on this node, else
// through the fleet. A connection of another stage is as gone as an
// unknown one.
func (s *Service) locate(ctx context.Context, id string) (located, error) {
	if at, ok := ctx.Value(locatedKey{}).(located); ok && at.id() == id {
		return at, nil // located already by this request (ofStage)
	}
	if c, ok := s.reg.Get(id); ok {
		if !scopeOf(ctx).Allows(c.Stage) {
			return located{}, fmt.Errorf("connection %q: %w", id, ErrGone)
		}
		return located{conn: c}, nil
	}
	if s.reg.fleet == nil || id == "" {
		return located{}, fmt.Errorf("connection %q: %w", id, ErrGone)
	}
	e, err := s.reg.fleet.Lookup(ctx, id)
	if err != nil {
		return located{}, err
	}
	if !scopeOf(ctx).Allows(e.Stage) {
		return located{}, fmt.Errorf("connection %q: %w", id, ErrGone)
	}
	return located{entry: e, node: e.Node}, nil
}

// run runs a call on the connection's node.
func (s *Service) run(ctx context.Context, at located, call Call) (Result, error) {
	if at.node == "" {
		return s.reg.Apply(call)
	}
	return s.reg.fleet.Forward(ctx, at.node, call)
}

// onConnection locates a connection and runs a call on it.
func (s *Service) onConnection(ctx context.Context, call Call) error {
	at, err := s.locate(ctx, call.ConnectionID)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, at, call)
	return err
}

// PostToConnection sends a message to one connection.
func (s *Service) PostToConnection(ctx context.Context, req *datav1.PostToConnectionRequest) (*datav1.PostToConnectionResponse, error) {
	call := Call{Op: OpPostToConnection, ConnectionID: req.GetConnectionId(), Data: req.GetData(), Binary: req.GetBinary()}
	if err := s.onConnection(ctx, call); err != nil {
		return nil, err
	}
	return &datav1.PostToConnectionResponse{}, nil
}

// GetConnection describes one connection (one held by another node as
// the fleet recorded it: its last activity as of that node's last
// heartbeat).
func (s *Service) GetConnection(ctx context.Context, req *datav1.GetConnectionRequest) (*datav1.Connection, error) {
	at, err := s.locate(ctx, req.GetConnectionId())
	if err != nil {
		return nil, err
	}
	e := at.entry
	if at.conn != nil {
		e = at.conn.entry()
	}
	groups := slices.Clone(e.Groups)
	slices.Sort(groups)
	return &datav1.Connection{
		ConnectionId: e.ID,
		Stage:        e.Stage,
		ConnectedAt:  timestamppb.New(e.ConnectedAt),
		LastActiveAt: timestamppb.New(e.LastActiveAt),
		Identity: &datav1.ConnectionIdentity{
			SourceIp:  e.SourceIP,
			UserAgent: e.UserAgent,
			Principal: e.Principal,
			ApiKey:    e.APIKey,
		},
		Groups: groups,
	}, nil
}

// DeleteConnection closes one connection with 1000.
func (s *Service) DeleteConnection(ctx context.Context, req *datav1.DeleteConnectionRequest) (*datav1.DeleteConnectionResponse, error) {
	if err := s.onConnection(ctx, Call{Op: OpDeleteConnection, ConnectionID: req.GetConnectionId()}); err != nil {
		return nil, err
	}
	return &datav1.DeleteConnectionResponse{}, nil
}

// AddToGroup adds a connection to a group.
func (s *Service) AddToGroup(ctx context.Context, req *datav1.AddToGroupRequest) (*datav1.AddToGroupResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, err
	}
	if err := s.onConnection(ctx, Call{Op: OpAddToGroup, ConnectionID: req.GetConnectionId(), Group: req.GetGroup()}); err != nil {
		return nil, err
	}
	return &datav1.AddToGroupResponse{}, nil
}

// RemoveFromGroup removes a connection from a group.
func (s *Service) RemoveFromGroup(ctx context.Context, req *datav1.RemoveFromGroupRequest) (*datav1.RemoveFromGroupResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, err
	}
	if err := s.onConnection(ctx, Call{Op: OpRemoveFromGroup, ConnectionID: req.GetConnectionId(), Group: req.GetGroup()}); err != nil {
		return nil, err
	}
	return &datav1.RemoveFromGroupResponse{}, nil
}

// PostToGroup broadcasts to a group of a stage, on every node.
func (s *Service) PostToGroup(ctx context.Context, req *datav1.PostToGroupRequest) (*datav1.PostToGroupResponse, error) {
	if err := checkGroup(req.GetGroup()); err != nil {
		return nil, err
	}
	res, err := s.broadcast(ctx, Call{Op: OpPostToGroup, Stage: req.GetStage(), Group: req.GetGroup(), Data: req.GetData(), Binary: req.GetBinary()})
	if err != nil {
		return nil, err
	}
	return &datav1.PostToGroupResponse{Sent: res.Sent, Dropped: res.Dropped}, nil
}

// PostToStage broadcasts to every connection of a stage, on every node.
func (s *Service) PostToStage(ctx context.Context, req *datav1.PostToStageRequest) (*datav1.PostToStageResponse, error) {
	res, err := s.broadcast(ctx, Call{Op: OpPostToStage, Stage: req.GetStage(), Data: req.GetData(), Binary: req.GetBinary()})
	if err != nil {
		return nil, err
	}
	return &datav1.PostToStageResponse{Sent: res.Sent, Dropped: res.Dropped}, nil
}

// broadcast checks the caller's scope and fans a message out to this
// node's connections and, through the fleet, to every other node's.
func (s *Service) broadcast(ctx context.Context, call Call) (Result, error) {
	if call.Stage == "" {
		return Result{}, fmt.Errorf("%w: stage is required, e.g. \"apis/chat/stages/prod\"", ErrInvalid)
	}
	if !scopeOf(ctx).Allows(call.Stage) {
		return Result{}, ErrPermissionDenied
	}
	res, err := s.reg.Apply(call)
	if err != nil || s.reg.fleet == nil {
		return res, err
	}
	remote, err := s.reg.fleet.Broadcast(ctx, call)
	res.Sent += remote.Sent
	res.Dropped += remote.Dropped
	return res, err
}

// checkGroup validates a group name.
func checkGroup(g string) error {
	if !groupPattern.MatchString(g) {
		return fmt.Errorf("%w: a group name is 1-128 characters of A-Z a-z 0-9 _ . : - (got %q)", ErrInvalid, g)
	}
	return nil
}

// ServeHTTPCallback serves the AWS-style callback API of one stage over
// HTTP. path is the request path after ".../@connections":
//
//	POST   /{id}                 PostToConnection, body = the message
//	GET    /{id}                 GetConnection (JSON)
//	DELETE /{id}                 DeleteConnection (204)
//	PUT    /{id}/groups/{group}  AddToGroup (204)
//	DELETE /{id}/groups/{group}  RemoveFromGroup (204)
//	POST   /@groups/{group}      PostToGroup, body = the message
//	POST   "" or /               PostToStage, body = the message
//
// A message is sent as a binary frame when the request's Content-Type is
// application/octet-stream, as text otherwise.
func (s *Service) ServeHTTPCallback(w http.ResponseWriter, r *http.Request, stage, path string) {
	scope, err := s.auth.Authenticate(jwtauth.BearerToken(r.Header.Get("Authorization")))
	if err == nil && s.reg.Closing() {
		err = ErrShuttingDown
	}
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := withScope(r.Context(), scope)
	binary := r.Header.Get("Content-Type") == "application/octet-stream"
	parts := strings.Split(strings.Trim(path, "/"), "/")
	body := func() ([]byte, error) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBody+1))
		if err != nil {
			return nil, fmt.Errorf("%w: reading the body: %v", ErrInvalid, err)
		}
		if len(b) > maxCallbackBody {
			return nil, ErrTooLarge
		}
		return b, nil
	}
	var resp any
	switch {
	case len(parts) == 1 && parts[0] == "" && r.Method == http.MethodPost:
		var b []byte
		if b, err = body(); err == nil {
			resp, err = s.PostToStage(ctx, &datav1.PostToStageRequest{Stage: stage, Data: b, Binary: binary})
		}
	case len(parts) == 2 && parts[0] == "@groups" && r.Method == http.MethodPost:
		var b []byte
		if b, err = body(); err == nil {
			resp, err = s.PostToGroup(ctx, &datav1.PostToGroupRequest{Stage: stage, Group: parts[1], Data: b, Binary: binary})
		}
	case len(parts) == 1 && parts[0] != "":
		id := parts[0]
		if ctx, err = s.ofStage(ctx, id, stage); err != nil {
			break
		}
		switch r.Method {
		case http.MethodPost:
			var b []byte
			if b, err = body(); err == nil {
				_, err = s.PostToConnection(ctx, &datav1.PostToConnectionRequest{ConnectionId: id, Data: b, Binary: binary})
			}
		case http.MethodGet:
			resp, err = s.GetConnection(ctx, &datav1.GetConnectionRequest{ConnectionId: id})
		case http.MethodDelete:
			_, err = s.DeleteConnection(ctx, &datav1.DeleteConnectionRequest{ConnectionId: id})
		default:
			w.Header().Set("Allow", "DELETE, GET, POST")
			err = errMethod
		}
	case len(parts) == 3 && parts[1] == "groups":
		id := parts[0]
		if ctx, err = s.ofStage(ctx, id, stage); err != nil {
			break
		}
		switch r.Method {
		case http.MethodPut:
			_, err = s.AddToGroup(ctx, &datav1.AddToGroupRequest{ConnectionId: id, Group: parts[2]})
		case http.MethodDelete:
			_, err = s.RemoveFromGroup(ctx, &datav1.RemoveFromGroupRequest{ConnectionId: id, Group: parts[2]})
		default:
			w.Header().Set("Allow", "DELETE, PUT")
			err = errMethod
		}
	default:
		err = errNoCallbackRoute
	}
	if err != nil {
		writeError(w, err)
		return
	}
	switch v := resp.(type) {
	case *datav1.Connection:
		writeJSON(w, http.StatusOK, v)
	case *datav1.PostToGroupResponse:
		writeJSON(w, http.StatusOK, v)
	case *datav1.PostToStageResponse:
		writeJSON(w, http.StatusOK, v)
	default:
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusOK) // as Amazon API Gateway's PostToConnection
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// ofStage checks that a connection the caller may reach belongs to the
// stage whose callback API was called: one of another stage is gone.
// It returns ctx with the connection located, so that the call itself does
// not look it up again (a Redis round trip for another node's connection).
func (s *Service) ofStage(ctx context.Context, id, stage string) (context.Context, error) {
	at, err := s.locate(ctx, id)
	if err == nil && at.stage() != stage {
		err = fmt.Errorf("connection %q: %w", id, ErrGone)
	}
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, locatedKey{}, at), nil
}

// locatedKey is the context key of a located connection.
type locatedKey struct{}

// writeError writes an error as google.rpc.Status JSON.
func writeError(w http.ResponseWriter, err error) {
	st, httpCode := Status(err)
	gatewayerr.WriteHTTP(w, httpCode, st)
}

// writeJSON writes a message as JSON.
func writeJSON(w http.ResponseWriter, code int, m proto.Message) {
	b, _ := protojson.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
