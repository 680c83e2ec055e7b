package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server"
)

// TestConfigStore: --store accepts bolt or a PostgreSQL URL, and its
// errors never quote the URL, which may hold a password.
func TestConfigStore(t *testing.T) {
	tests := []struct {
		store string
		ok    bool
	}{
		{"", true},
		{"bolt", true},
		{"postgres://tollgate@db.internal:5432/tollgate?sslmode=require", true},
		{"postgresql://tollgate:secret@10.0.0.5/tollgate", true},
		{"postgres:///tollgate?host=/var/run/postgresql", true},
		{"postgres:///tollgate", false},
		{"postgres://tollgate:secret@db:notaport/tollgate", false},
		{"mysql://tollgate:secret@db/tollgate", false},
		{"Bolt", false},
	}
	for _, tc := range tests {
		t.Run(tc.store, func(t *testing.T) {
			err := server.Config{Store: tc.store}.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "store: ") {
					t.Errorf("error %q does not name the setting", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
}

// TestConfigRedis: --redis accepts redis:// and rediss:// URLs (one
// server, Cluster seeds, Sentinels) and its errors never quote a password.
func TestConfigRedis(t *testing.T) {
	tests := []struct {
		redis string
		ok    bool
	}{
		{"", true},
		{"redis://127.0.0.1:6379/0", true},
		{"rediss://default:secret@cache.internal:6380", true},
		{"redis://a:7000?addr=b:7000&addr=c:7000", true},
		{"redis://s1:26379?addr=s2:26379&master_name=main", true},
		{"redis://:secret@cache.internal", false},
		{"redis://:secret@cache.internal:6379/zero", false},
		{"memcached://cache:11211", false},
		{"redis://cache:6379?pool=9", false},
	}
	for _, tc := range tests {
		t.Run(tc.redis, func(t *testing.T) {
			err := server.Config{Redis: tc.redis}.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "redis: ") {
					t.Errorf("error %q does not name the setting", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
}

// TestConfigRedisThrottleBatch: --redis-throttle-batch is between 0 and
// 1s and needs --redis.
func TestConfigRedisThrottleBatch(t *testing.T) {
	tests := []struct {
		redis string
		batch time.Duration
		err   string
	}{
		{"", 0, ""},
		{"redis://127.0.0.1:6379", 10 * time.Millisecond, ""},
		{"redis://127.0.0.1:6379", time.Second, ""},
		{"redis://127.0.0.1:6379", -time.Millisecond, "not between 0"},
		{"redis://127.0.0.1:6379", 2 * time.Second, "not between 0"},
		{"", 10 * time.Millisecond, "needs --redis"},
	}
	for _, tc := range tests {
		err := server.Config{Redis: tc.redis, RedisThrottleBatch: tc.batch}.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), "redis-throttle-batch: ") || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Validate(redis %q, batch %s) = %v; want %q", tc.redis, tc.batch, err, tc.err)
		}
	}
}
