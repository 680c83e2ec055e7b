//go:build unix

package connlimit

import "syscall"

// FileLimit returns the process's soft limit on open file descriptors.
func FileLimit() (int64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur > 1<<40 { // RLIM_INFINITY
		return 1 << 20, nil
	}
	return int64(r.Cur), nil
}
