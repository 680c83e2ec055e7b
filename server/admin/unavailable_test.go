package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
)

// downStore is a store whose database is unreachable.
type downStore struct{}

func (downStore) View(context.Context, func(store.Tx) error) error {
	return fmt.Errorf("pgstore: view: begin: %w: dial tcp 127.0.0.1:5432: connection refused", store.ErrUnavailable)
}

func (downStore) Update(context.Context, func(store.Tx) error) error {
	return fmt.Errorf("pgstore: update: begin: %w: dial tcp 127.0.0.1:5432: connection refused", store.ErrUnavailable)
}

func (downStore) Close() error { return nil }

// TestStoreUnavailable: a store that cannot be reached makes admin calls
// fail with UNAVAILABLE, saying so, with a STORE_UNAVAILABLE reason.
func TestStoreUnavailable(t *testing.T) {
	svc, err := admin.New(downStore{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateApi(t.Context(), &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DefaultIntegration: grpcIntegration("127.0.0.1:1"),
	}})
	st := wantCode(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "configuration store is unavailable") {
		t.Errorf("message %q does not say the store is unavailable", st.Message())
	}
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if reason != "STORE_UNAVAILABLE" {
		t.Errorf("ErrorInfo reason = %q, want STORE_UNAVAILABLE", reason)
	}
	_, err = svc.GetAccountSettings(t.Context(), &adminv1.GetAccountSettingsRequest{Name: "settings"})
	wantCode(t, err, codes.Unavailable)
}
