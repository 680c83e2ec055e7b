package jwtauth

// WaitIdle waits for the key set fetch under way, if any, so that tests can
// observe background refreshes deterministically.
func (v *Verifier) WaitIdle() {
	v.mu.Lock()
	done := v.inflight
	v.mu.Unlock()
	if done != nil {
		<-done
	}
}

// CacheLen returns the number of tokens in the verified-token cache.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return int(v.cache.n.Load())
}
