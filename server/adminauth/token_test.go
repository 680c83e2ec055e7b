package adminauth_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/server/adminauth"
)

func TestLoadOrCreateToken(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are POSIX-only")
	}
	tests := []struct {
		name string
		// setup prepares the data dir and returns the env token to pass.
		setup       func(t *testing.T, dir string) string
		wantToken   string // "" means: a newly generated token
		wantCreated bool
		wantErr     string // substring of the error; "" means no error
	}{
		{
			name: "env token wins over the file",
			setup: func(t *testing.T, dir string) string {
				writeToken(t, dir, "tga_file-token-file-token", 0o600)
				return "env-token-env-token"
			},
			wantToken: "env-token-env-token",
		},
		{
			name:    "short env token is refused",
			setup:   func(t *testing.T, dir string) string { return "short" },
			wantErr: "too short",
		},
		{
			name:        "missing file is generated",
			setup:       func(t *testing.T, dir string) string { return "" },
			wantCreated: true,
		},
		{
			name: "existing file is reused and trimmed",
			setup: func(t *testing.T, dir string) string {
				writeToken(t, dir, "tga_hand-written-token\n", 0o600)
				return ""
			},
			wantToken: "tga_hand-written-token",
		},
		{
			name:    "group-readable file is refused",
			setup:   func(t *testing.T, dir string) string { writeToken(t, dir, "tga_hand-written-token", 0o640); return "" },
			wantErr: "readable by group or others (mode 0640)",
		},
		{
			name:    "world-readable file is refused",
			setup:   func(t *testing.T, dir string) string { writeToken(t, dir, "tga_hand-written-token", 0o604); return "" },
			wantErr: "chmod 600",
		},
		{
			name:    "empty file is refused",
			setup:   func(t *testing.T, dir string) string { writeToken(t, dir, "\n", 0o600); return "" },
			wantErr: "is empty",
		},
		{
			name:    "short file token is refused",
			setup:   func(t *testing.T, dir string) string { writeToken(t, dir, "changeme", 0o600); return "" },
			wantErr: "too short",
		},
		{
			name: "directory in place of the file is refused",
			setup: func(t *testing.T, dir string) string {
				if err := os.Mkdir(filepath.Join(dir, adminauth.TokenFileName), 0o700); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			wantErr: "not a regular file",
		},
		{
			name: "missing data dir is an error",
			setup: func(t *testing.T, dir string) string {
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			wantErr: "write token file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			env := tc.setup(t, dir)
			token, created, err := adminauth.LoadOrCreateToken(dir, env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created != tc.wantCreated {
				t.Errorf("created = %v, want %v", created, tc.wantCreated)
			}
			if tc.wantToken != "" && token != tc.wantToken {
				t.Errorf("token = %q, want %q", token, tc.wantToken)
			}
			if tc.wantCreated {
				checkGenerated(t, dir, token)
			}
		})
	}
}

func TestLoadOrCreateTokenReusesGeneratedToken(t *testing.T) {
	dir := t.TempDir()
	first, created, err := adminauth.LoadOrCreateToken(dir, "")
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	second, created, err := adminauth.LoadOrCreateToken(dir, "")
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if first != second {
		t.Errorf("second call returned another token")
	}
	// No temporary files may be left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != adminauth.TokenFileName {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data dir holds %v, want only %s", names, adminauth.TokenFileName)
	}
	// A token generated elsewhere must differ: the tokens are random.
	other, _, err := adminauth.LoadOrCreateToken(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Error("two data dirs got the same token")
	}
}

func TestGeneratedTokenAuthenticates(t *testing.T) {
	token, _, err := adminauth.LoadOrCreateToken(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminauth.New(token); err != nil {
		t.Fatalf("New(generated token): %v", err)
	}
}

func writeToken(t *testing.T, dir, content string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, adminauth.TokenFileName)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func checkGenerated(t *testing.T, dir, token string) {
	t.Helper()
	if !strings.HasPrefix(token, adminauth.TokenPrefix) {
		t.Errorf("token %q lacks prefix %q", token, adminauth.TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, adminauth.TokenPrefix))
	if err != nil || len(raw) != 32 {
		t.Errorf("token body is not 32 bytes of base64url: %d bytes, %v", len(raw), err)
	}
	path := filepath.Join(dir, adminauth.TokenFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode = %#o, want 0600", perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != token {
		t.Errorf("token file holds %q, want %q", b, token)
	}
}
