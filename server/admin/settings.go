package admin

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// settingsName is the name of the AccountSettings singleton.
const settingsName = "settings"

// defaultSettings are the account settings of a new gateway.
func defaultSettings() *adminv1.AccountSettings {
	return &adminv1.AccountSettings{
		Name:     settingsName,
		Throttle: &adminv1.ThrottleSettings{RateLimit: defaultAccountRate, BurstLimit: defaultAccountBurst},
	}
}

// loadSettings reads the stored settings, or the defaults (with their etag)
// when they were never changed.
func loadSettings(tx store.Tx) (*adminv1.AccountSettings, error) {
	st, err := load[adminv1.AccountSettings](tx, kindSettings, settingsName)
	if errors.Is(err, store.ErrNotFound) {
		st = defaultSettings()
		st.Etag = etagOf(st)
		return st, nil
	}
	return st, err
}

// GetAccountSettings gets the account settings.
func (s *Service) GetAccountSettings(ctx context.Context, req *adminv1.GetAccountSettingsRequest) (*adminv1.AccountSettings, error) {
	if req.GetName() != settingsName {
		return nil, invalidArgument("name", `must be "settings" (got %s)`, quoteShort(req.GetName()))
	}
	var out *adminv1.AccountSettings
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = loadSettings(tx)
		return err
	})
	return out, internalError("get account settings", err)
}

// UpdateAccountSettings updates the account settings. Clearing the throttle
// removes the account-wide limit.
func (s *Service) UpdateAccountSettings(ctx context.Context, req *adminv1.UpdateAccountSettingsRequest) (*adminv1.AccountSettings, error) {
	patch := req.GetAccountSettings()
	if patch == nil {
		return nil, invalidArgument("account_settings", "is required")
	}
	if patch.GetName() != settingsName {
		return nil, invalidArgument("account_settings.name", `must be "settings" (got %s)`, quoteShort(patch.GetName()))
	}
	var out *adminv1.AccountSettings
	err := s.store.Update(ctx, func(tx store.Tx) error {
		old, err := loadSettings(tx)
		if err != nil {
			return err
		}
		if sent := patch.GetEtag(); sent != "" && sent != old.GetEtag() {
			return etagMismatch(settingsName, sent, old.GetEtag())
		}
		updated := proto.Clone(old).(*adminv1.AccountSettings)
		if err := applyUpdate(updated, patch, req.GetUpdateMask(), "account_settings"); err != nil {
			return err
		}
		var v violations
		validateThrottle(&v, "account_settings.throttle", updated.GetThrottle())
		if err := v.err(); err != nil {
			return err
		}
		if proto.Equal(old, updated) {
			out = old // nothing changed: keep update_time and etag
			return nil
		}
		s.stamp(updated)
		out = updated
		return save(tx, kindSettings, settingsName, updated)
	})
	if err != nil {
		return nil, internalError("update account settings", err)
	}
	if s.onSettings != nil {
		s.onSettings(out)
	}
	return out, nil
}

// WithOnSettings sets a function called with the new account settings after
// every successful update, before the response is sent, so the data plane
// applies an account-wide limit as soon as it is acknowledged.
func WithOnSettings(f func(*adminv1.AccountSettings)) Option {
	return func(s *Service) { s.onSettings = f }
}
