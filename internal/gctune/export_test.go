package gctune

// Start starts a tuner with the soft target soft, for tests.
func Start(soft uint64) (stop func()) { return start(soft) }
