package reflectclient

import (
	"context"

	"google.golang.org/protobuf/types/descriptorpb"
)

// FetchWithLimits is Fetch with other caps on files and bytes; zero means
// the default.
func FetchWithLimits(ctx context.Context, target string, useTLS bool, services []string, files, bytes int) (*descriptorpb.FileDescriptorSet, error) {
	lim := limits{files: MaxFiles, bytes: MaxBytes}
	if files > 0 {
		lim.files = files
	}
	if bytes > 0 {
		lim.bytes = bytes
	}
	return fetch(ctx, target, useTLS, services, lim)
}
