//go:build !unix

package connlimit

import "errors"

// FileLimit returns an error: the platform has no RLIMIT_NOFILE.
func FileLimit() (int64, error) {
	return 0, errors.New("connlimit: no file descriptor limit on this platform")
}
