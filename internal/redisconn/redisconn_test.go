package redisconn

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		url     string
		addrs   []string
		db      int
		master  string
		cluster bool
		tls     bool
		user    string
		pass    string
		err     string
	}{
		{url: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{url: "redis://u:secret@h:6380/2", addrs: []string{"h:6380"}, db: 2, user: "u", pass: "secret"},
		{url: "rediss://h:6380/0", addrs: []string{"h:6380"}, tls: true},
		{url: "redis://a:7000?addr=b:7001&addr=c:7002", addrs: []string{"a:7000", "b:7001", "c:7002"}},
		{url: "redis://a:7000?cluster=true", addrs: []string{"a:7000"}, cluster: true},
		{url: "redis://s1:26379/1?addr=s2:26379&master_name=mymaster", addrs: []string{"s1:26379", "s2:26379"}, db: 1, master: "mymaster"},
		{url: "http://h:1", err: "must start with redis://"},
		{url: "redis://", err: "no host"},
		{url: "redis://h", err: "not host:port"},
		{url: "redis://h:1/x", err: "not a number"},
		{url: "redis://h:1?foo=1", err: "unknown parameter"},
		{url: "redis://a:1/3?addr=b:2", err: "only database 0"},
		{url: "redis://:pw@h:1/x", err: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := parse(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parse = %v; want an error containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error %q quotes the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tt.addrs, ",") || o.DB != tt.db || o.MasterName != tt.master ||
				o.IsClusterMode != tt.cluster || (o.TLSConfig != nil) != tt.tls || o.Username != tt.user || o.Password != tt.pass {
				t.Errorf("parse = %+v", o)
			}
			if o.ReadTimeout != IOTimeout || o.MaxRetries != -1 {
				t.Errorf("timeouts/retries not set: %s, %d", o.ReadTimeout, o.MaxRetries)
			}
		})
	}
}

func TestBreaker(t *testing.T) {
	b := &Breaker{Failures: 2, CoolDown: 50 * time.Millisecond}
	for range 2 {
		if !b.Allow() {
			t.Fatal("closed breaker refused")
		}
		b.Done(false)
	}
	if b.Allow() || !b.Open() || b.Opened() != 1 {
		t.Fatalf("after 2 failures: Allow=true or not open (opened %d)", b.Opened())
	}
	time.Sleep(60 * time.Millisecond)
	if !b.Allow() {
		t.Fatal("half-open breaker refused the probe")
	}
	if b.Allow() {
		t.Fatal("half-open breaker let a second probe through")
	}
	b.Done(true)
	if b.Open() || !b.Allow() {
		t.Fatal("a successful probe did not close the breaker")
	}
	b.Done(true)
}
