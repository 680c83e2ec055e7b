package examplebackend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// Chat is the example WebSocket backend: a chat with rooms, implementing
// tollgate.data.v1.WebSocketIntegrationService for every route of a
// WebSocket API whose route selection expression is "$request.body.action":
//
//   - $connect joins the group "room-{room}" of the "room" query parameter
//     (default "lobby"); a "name" parameter names the user (default: the
//     authorized principal, else "anonymous");
//   - {"action":"send","text":"..."} broadcasts {"from":name,"text":...} to
//     the sender's room through the gateway's callback API (one PostToGroup
//     call, fanned out by the gateway), with the callback URL and token the
//     gateway sent along;
//   - {"action":"whoami"} answers (on a two-way route) with the connection's
//     ID, name and room;
//   - any other message ($default) is echoed back;
//   - $disconnect forgets the connection.
type Chat struct {
	datav1.UnimplementedWebSocketIntegrationServiceServer
	client *http.Client
	mu     sync.Mutex
	users  map[string]chatUser // by connection ID
}

// chatUser is a connected user.
type chatUser struct{ name, room string }

// NewChat returns an empty chat.
func NewChat() *Chat {
	return &Chat{client: &http.Client{Timeout: 10 * time.Second}, users: map[string]chatUser{}}
}

// HandleMessage handles one event of a connection.
func (c *Chat) HandleMessage(ctx context.Context, req *datav1.HandleMessageRequest) (*datav1.HandleMessageResponse, error) {
	id := req.GetConnectionId()
	switch req.GetRouteKey() {
	case "$connect":
		q := req.GetQueryStringParameters()
		u := chatUser{name: q["name"], room: q["room"]}
		if u.name == "" {
			u.name = req.GetPrincipal()
		}
		if u.name == "" {
			u.name = "anonymous"
		}
		if u.room == "" {
			u.room = "lobby"
		}
		c.mu.Lock()
		c.users[id] = u
		c.mu.Unlock()
		return &datav1.HandleMessageResponse{Groups: []string{"room-" + u.room}}, nil
	case "$disconnect":
		c.mu.Lock()
		delete(c.users, id)
		c.mu.Unlock()
		return &datav1.HandleMessageResponse{}, nil
	}
	c.mu.Lock()
	u, ok := c.users[id]
	c.mu.Unlock()
	if !ok {
		u = chatUser{name: "anonymous", room: "lobby"}
	}
	var msg struct {
		Action, Text string
	}
	_ = json.Unmarshal(req.GetBody(), &msg)
	switch msg.Action {
	case "send":
		out, _ := json.Marshal(map[string]string{"from": u.name, "room": u.room, "text": msg.Text})
		if err := c.post(ctx, req.GetCallbackUrl()+"/@groups/"+url.PathEscape("room-"+u.room), req.GetCallbackToken(), out); err != nil {
			return nil, status.Errorf(codes.Unavailable, "broadcast: %v", err)
		}
		return &datav1.HandleMessageResponse{}, nil
	case "whoami":
		out, _ := json.Marshal(map[string]string{"connectionId": id, "name": u.name, "room": u.room})
		return &datav1.HandleMessageResponse{Body: out}, nil
	}
	return &datav1.HandleMessageResponse{Body: req.GetBody()}, nil
}

// post calls the gateway's callback API.
func (c *Chat) post(ctx context.Context, u, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("callback API: %s", resp.Status)
	}
	return nil
}

// ChatServer is a running [Chat] on a TCP listener, made by [StartChat].
type ChatServer struct {
	grpc *grpc.Server
	lis  net.Listener
	done chan struct{}
}

// StartChat listens on addr ("127.0.0.1:0" picks a free port) and serves a
// new [Chat] there, with panics recovered. It is a server of its own so
// that the bookstore server's reflection lists only the example API.
func StartChat(addr string) (*ChatServer, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("examplebackend: listening on %q: %w", addr, err)
	}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(recoverUnary))
	datav1.RegisterWebSocketIntegrationServiceServer(gs, NewChat())
	s := &ChatServer{grpc: gs, lis: lis, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = gs.Serve(lis)
	}()
	return s, nil
}

// Addr returns the address the server listens on, as host:port.
func (s *ChatServer) Addr() string { return s.lis.Addr().String() }

// Stop stops the server, waiting up to 5 seconds for calls in flight.
func (s *ChatServer) Stop() {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stopGrace):
		s.grpc.Stop()
	}
	<-s.done
}
