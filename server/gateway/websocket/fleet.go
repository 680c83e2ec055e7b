package websocket

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Fleet shares this node's connections with the other nodes of a fleet:
// it records where each connection lives, and runs callback API calls on
// the node that holds a connection, so that a callback sent to any node
// reaches a connection held by any other. Package wsredis implements it
// on Redis. Without a Fleet, the callback API reaches this node's
// connections only.
type Fleet interface {
	// Attach starts serving the calls other nodes forward to local, and
	// keeping local's entries alive. A registry calls it once, when made.
	Attach(local Local)
	// Save records a local connection's entry: created when the
	// connection is registered, else updated (not re-created if it was
	// forgotten meanwhile).
	Save(ctx context.Context, e Entry, create bool)
	// Forget removes a local connection's entry, once it is unregistered.
	Forget(ctx context.Context, id string)
	// Lookup returns the entry of a connection another node holds, or an
	// error wrapping ErrGone.
	Lookup(ctx context.Context, id string) (Entry, error)
	// Forward runs a call on the node holding a connection (Entry.Node).
	Forward(ctx context.Context, node string, call Call) (Result, error)
	// Broadcast runs a call (OpPostToStage, OpPostToGroup) on every other
	// node and adds up their results.
	Broadcast(ctx context.Context, call Call) (Result, error)
	// Close stops serving forwarded calls and refreshing entries.
	Close() error
}

// Local is what a Fleet asks of this node's registry.
type Local interface {
	// Entries returns the entries of every local connection.
	Entries() []Entry
	// Has reports whether a connection is local and live.
	Has(id string) bool
	// Apply runs a call forwarded by another node on local connections.
	Apply(call Call) (Result, error)
}

// Entry is what the fleet knows of a connection: where it lives and what
// GetConnection answers.
type Entry struct {
	Node         string    `json:"node"`
	ID           string    `json:"id"`
	API          string    `json:"api,omitempty"`
	Stage        string    `json:"stage"`
	SourceIP     string    `json:"sourceIp,omitempty"`
	UserAgent    string    `json:"userAgent,omitempty"`
	Principal    string    `json:"principal,omitempty"`
	APIKey       string    `json:"apiKey,omitempty"`
	ConnectedAt  time.Time `json:"connectedAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	Groups       []string  `json:"groups,omitempty"`
}

// Op is a callback API operation one node runs for another.
type Op string

// The operations of a Call.
const (
	OpPostToConnection Op = "post"
	OpDeleteConnection Op = "delete"
	OpAddToGroup       Op = "join"
	OpRemoveFromGroup  Op = "leave"
	OpPostToGroup      Op = "group"
	OpPostToStage      Op = "stage"
)

// Call is a callback API call on local connections. The caller's scope was
// checked by the node that received it.
type Call struct {
	Op           Op     `json:"op"`
	ConnectionID string `json:"id,omitempty"`
	Stage        string `json:"stage,omitempty"`
	Group        string `json:"group,omitempty"`
	Data         []byte `json:"data,omitempty"`
	Binary       bool   `json:"binary,omitempty"`
}

// Result is what a call did: messages sent and dropped (broadcasts).
type Result struct {
	Sent    int32 `json:"sent,omitempty"`
	Dropped int32 `json:"dropped,omitempty"`
}

// entry returns a connection's entry (Node left empty: the Fleet's own).
func (c *Conn) entry() Entry {
	return Entry{
		ID: c.ID, API: c.API, Stage: c.Stage, SourceIP: c.SourceIP, UserAgent: c.UserAgent,
		Principal: c.Principal, APIKey: c.APIKey, ConnectedAt: c.ConnectedAt, LastActiveAt: c.LastActive(),
		Groups: c.Groups(),
	}
}

// Entries returns the entries of every local connection.
func (r *Registry) Entries() []Entry {
	var out []Entry
	for i := range r.shards {
		for _, c := range r.shards[i].snapshot() {
			out = append(out, c.entry())
		}
	}
	return out
}

// Has reports whether a connection is registered here.
func (r *Registry) Has(id string) bool {
	_, ok := r.Get(id)
	return ok
}

// Apply runs a callback API call on this node's connections: the one
// path for calls received here and calls forwarded by other nodes.
func (r *Registry) Apply(call Call) (Result, error) {
	switch call.Op {
	case OpAddToGroup, OpRemoveFromGroup, OpPostToGroup:
		if err := checkGroup(call.Group); err != nil {
			return Result{}, err
		}
	}
	switch call.Op {
	case OpPostToStage, OpPostToGroup:
		return r.broadcastLocal(call.Stage, call.Group, call.Data, call.Binary)
	}
	c, ok := r.Get(call.ConnectionID)
	if !ok {
		return Result{}, fmt.Errorf("connection %q: %w", call.ConnectionID, ErrGone)
	}
	switch call.Op {
	case OpPostToConnection:
		if int64(len(call.Data)) > c.limits.MaxMessageBytes {
			return Result{}, fmt.Errorf("%w (%d bytes)", ErrTooLarge, c.limits.MaxMessageBytes)
		}
		if err := c.Send(call.Data, call.Binary); err != nil {
			return Result{}, fmt.Errorf("connection %q: %w", c.ID, err)
		}
		return Result{Sent: 1}, nil
	case OpDeleteConnection:
		c.Close(CloseNormal, ReasonDeleted)
		return Result{}, nil
	case OpAddToGroup:
		if err := r.join(c, call.Group); err != nil {
			return Result{}, fmt.Errorf("connection %q: %w", c.ID, err)
		}
		r.save(c, false)
		return Result{}, nil
	case OpRemoveFromGroup:
		if !r.leave(c, call.Group) {
			return Result{}, fmt.Errorf("connection %q: %w", c.ID, ErrGone)
		}
		r.save(c, false)
		return Result{}, nil
	}
	return Result{}, fmt.Errorf("%w: unknown operation %q", ErrInvalid, call.Op)
}

// broadcastLocal sends a message to the local connections of a stage
// (group "") or of a group.
func (r *Registry) broadcastLocal(stage, group string, data []byte, binary bool) (Result, error) {
	var res Result
	members := r.members(stage, group)
	if len(members) > 0 && int64(len(data)) > members[0].limits.MaxMessageBytes {
		return res, fmt.Errorf("%w (%d bytes)", ErrTooLarge, members[0].limits.MaxMessageBytes)
	}
	for _, c := range members {
		switch err := c.Send(data, binary); {
		case err == nil:
			res.Sent++
		case errors.Is(err, ErrQueueFull):
			res.Dropped++
		}
	}
	return res, nil
}

// fleetTimeout bounds the fleet calls made on a connection's life cycle
// (register, unregister, group changes).
const fleetTimeout = time.Second

// save records a connection's entry in the fleet, if any.
func (r *Registry) save(c *Conn, create bool) {
	if r.fleet == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
	defer cancel()
	r.fleet.Save(ctx, c.entry(), create)
}

// forget removes a connection's entry from the fleet, if any.
func (r *Registry) forget(c *Conn) {
	if r.fleet == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
	defer cancel()
	r.fleet.Forget(ctx, c.ID)
}
