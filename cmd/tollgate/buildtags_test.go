package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestReleaseTagsLeaveOutTracing checks the build tags of `make build`
// (GOTAGS, grpcnotrace): grpc-go's golang.org/x/net/trace imports
// html/template, whose template execution calls methods by name through
// reflection, and a binary that can reach such a call keeps every
// exported method of every type (the linker cannot tell which are used):
// 18 MB more binary and ~4 MiB more mapped pages. A dependency that brings
// either back fails here.
func TestReleaseTagsLeaveOutTracing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "google.golang.org/grpc") {
		t.Fatalf("go list -deps lists no google.golang.org/grpc: %q...", deps[:min(len(deps), 5)])
	}
	for _, p := range []string{"golang.org/x/net/trace", "html/template"} {
		if slices.Contains(deps, p) {
			t.Errorf("%s is linked into the release build (-tags grpcnotrace)", p)
		}
	}
}
