package websocket

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

func TestAuthenticator(t *testing.T) {
	a, err := NewAuthenticator(func(tok string) bool { return tok == "the-admin-token-123" })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	tok, exp := a.Token("apis/chat/stages/prod")
	if !exp.Equal(now.Add(CallbackTokenTTL)) {
		t.Errorf("expiry %v", exp)
	}
	// Reused within the hour, renewed after.
	now = now.Add(59 * time.Minute)
	if again, _ := a.Token("apis/chat/stages/prod"); again != tok {
		t.Error("a token minted a minute ago was not reused")
	}
	now = now.Add(2 * time.Minute)
	if renewed, e := a.Token("apis/chat/stages/prod"); renewed == tok || !e.After(exp) {
		t.Error("a token minted an hour ago was reused")
	}
	now = time.Unix(1_800_000_000, 0)
	other, _ := NewAuthenticator(nil)
	foreign, _ := other.Token("apis/chat/stages/prod")
	tampered := strings.Replace(tok, "."+strings.Split(tok, ".")[2]+".", ".9999999999.", 1)
	tests := []struct {
		name  string
		token string
		at    time.Time
		want  Scope
		err   error
	}{
		{"callback token", tok, now, Scope{Stage: "apis/chat/stages/prod"}, nil},
		{"expired", tok, exp, Scope{}, ErrUnauthenticated},
		{"other key", foreign, now, Scope{}, ErrUnauthenticated},
		{"tampered expiry", tampered, now, Scope{}, ErrUnauthenticated},
		{"admin", "the-admin-token-123", now, Scope{Admin: true}, nil},
		{"wrong admin", "the-admin-token-124", now, Scope{}, ErrUnauthenticated},
		{"empty", "", now, Scope{}, ErrUnauthenticated},
		{"garbage", "tgcb1.", now, Scope{}, ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = tt.at
			got, err := a.Authenticate(tt.token)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Authenticate = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
	if (Scope{Stage: "a"}).Allows("b") || !(Scope{Admin: true}).Allows("b") {
		t.Error("Allows")
	}
}

func TestStatus(t *testing.T) {
	st, code := Status(ErrGone)
	if st.Code() != codes.NotFound || code != http.StatusGone || len(st.Details()) != 1 {
		t.Errorf("ErrGone: %v %d %v", st.Code(), code, st.Details())
	}
	if st, code := Status(errors.New("x")); st.Code() != codes.Internal || code != 500 {
		t.Errorf("other: %v %d", st.Code(), code)
	}
}

func TestLimitsOf(t *testing.T) {
	if got := LimitsOf(nil); got.IdleTimeout != 10*time.Minute || got.MaxDuration != 2*time.Hour || got.MaxMessageBytes != 128<<10 {
		t.Errorf("defaults: %+v", got)
	}
	got := LimitsOf(&adminv1.WebSocketSettings{IdleTimeout: durationpb.New(time.Second), SendQueueSize: 3})
	if got.IdleTimeout != time.Second || got.SendQueueSize != 3 || got.PingInterval != DefaultPingInterval {
		t.Errorf("settings: %+v", got)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewID()
		if err != nil || len(id) != 22 || strings.ContainsAny(id, "+/=") || seen[id] {
			t.Fatalf("id %q %v", id, err)
		}
		seen[id] = true
	}
}
