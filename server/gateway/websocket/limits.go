package websocket

import (
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// Defaults of a stage's WebSocketSettings, as Amazon API Gateway's limits.
const (
	DefaultIdleTimeout     = 10 * time.Minute
	DefaultMaxDuration     = 2 * time.Hour
	DefaultMaxMessageBytes = 128 << 10
	DefaultSendQueueSize   = 64
	DefaultPingInterval    = 30 * time.Second
	// MaxInFlight is how many messages of one connection are processed at
	// once; the reader stops reading while that many are in flight.
	MaxInFlight = 8
)

// Limits are the effective limits of one connection.
type Limits struct {
	// IdleTimeout closes a connection without data messages for this long
	// (0: never).
	IdleTimeout time.Duration
	// MaxDuration closes a connection this long after it opened (0:
	// never).
	MaxDuration time.Duration
	// MaxMessageBytes is the largest message read from the client.
	MaxMessageBytes int64
	// SendQueueSize is how many messages may wait to be written.
	SendQueueSize int
	// PingInterval is how often the client is pinged (0: never).
	PingInterval time.Duration
	// MaxFrameBytes is the largest frame read from the client, or 0 for
	// no limit beyond MaxMessageBytes.
	MaxFrameBytes int64
}

// LimitsOf returns the limits a stage's settings give, defaults filled in.
// The settings were validated by the admin API.
func LimitsOf(s *adminv1.WebSocketSettings) Limits {
	l := Limits{
		IdleTimeout:     DefaultIdleTimeout,
		MaxDuration:     DefaultMaxDuration,
		MaxMessageBytes: DefaultMaxMessageBytes,
		SendQueueSize:   DefaultSendQueueSize,
		PingInterval:    DefaultPingInterval,
	}
	if d := s.GetIdleTimeout(); d != nil {
		l.IdleTimeout = d.AsDuration()
	}
	if d := s.GetMaxConnectionDuration(); d != nil {
		l.MaxDuration = d.AsDuration()
	}
	if n := s.GetMaxMessageBytes(); n > 0 {
		l.MaxMessageBytes = n
	}
	if n := s.GetSendQueueSize(); n > 0 {
		l.SendQueueSize = int(n)
	}
	if d := s.GetPingInterval(); d != nil {
		l.PingInterval = d.AsDuration()
	}
	if n := s.GetMaxFrameBytes(); n > 0 && n < l.MaxMessageBytes {
		l.MaxFrameBytes = n
	}
	return l
}
