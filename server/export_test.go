package server

import "time"

// WithRedisTimeout sets the bound on every wait on Redis, for tests whose
// exact counts must not fall back to local state on a loaded machine.
func WithRedisTimeout(d time.Duration) func(*Config) {
	return func(c *Config) { c.redisTimeout = d }
}
