package boltstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/store"
)

// Environment variables that turn the test binary into the crash child.
const (
	crashChildEnv = "BOLTSTORE_CRASH_CHILD"
	crashPathEnv  = "BOLTSTORE_CRASH_PATH"
)

// crashAcks is how many acknowledged writes the parent waits for before
// killing the child.
const crashAcks = 200

func crashKey(i int) string { return fmt.Sprintf("k%06d", i) }

// crashValue derives the value from the key so the parent can verify each
// acknowledged record without the child telling it the value.
func crashValue(key string) []byte { return []byte("value-of-" + key) }

// TestCrashDurability checks that every write acknowledged by Update
// survives the process being killed with SIGKILL at an arbitrary point, and
// that the file is still consistent afterwards.
//
// The test re-executes its own binary as a child that writes one record per
// Update and prints the key only after Update returned. Note that SIGKILL
// does not lose the OS page cache, so this proves commit atomicity and
// acknowledgment ordering under process crashes, not survival of power loss;
// that part rests on bbolt's fsync on commit, which Open leaves enabled.
func TestCrashDurability(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}

	path := filepath.Join(t.TempDir(), "tollgate.db")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashPathEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	// Read acknowledgments. Lines that arrive after the kill are still
	// acknowledgments of completed Updates, so keep reading until EOF.
	var acked []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		key, ok := strings.CutPrefix(sc.Text(), "ACK ")
		if !ok {
			continue // Test framework output.
		}
		acked = append(acked, key)
		if len(acked) == crashAcks && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledgments (want %d): %v\nstderr:\n%s", len(acked), crashAcks, waitErr, stderr.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) || exitErr.Success() {
		t.Fatalf("child was not killed: %v", waitErr)
	}

	// The file lock dies with the process, so reopening must work at once.
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	checkConsistent(t, s.db)
	err = s.View(t.Context(), func(tx store.Tx) error {
		for i, key := range acked {
			if key != crashKey(i) {
				return fmt.Errorf("acknowledgment %d is %q, want %q", i, key, crashKey(i))
			}
			v, err := tx.Get("crash", key)
			if err != nil {
				return fmt.Errorf("acknowledged key lost: %w", err)
			}
			if !bytes.Equal(v, crashValue(key)) {
				return fmt.Errorf("acknowledged key %s has value %q, want %q", key, v, crashValue(key))
			}
		}
		// At most the one Update in flight at the kill may have committed
		// without being acknowledged; nothing beyond it can exist.
		n, err := tx.Count("crash", "")
		if err != nil {
			return err
		}
		if n != len(acked) && n != len(acked)+1 {
			return fmt.Errorf("store has %d records after %d acknowledgments", n, len(acked))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged writes survived SIGKILL", len(acked))
}

// crashChild is the body of the child process: write and acknowledge
// records until killed. It exits the process itself so that the test
// framework's output never follows the acknowledgments.
func crashChild() {
	s, err := Open(os.Getenv(crashPathEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	// The bound only stops an orphaned child whose parent died; a normal
	// run is killed long before reaching it.
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		key := crashKey(i)
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("crash", key, crashValue(key)) })
		if err != nil {
			fmt.Fprintln(os.Stderr, "child update:", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is written when Println returns.
		fmt.Println("ACK " + key)
	}
	os.Exit(3)
}
