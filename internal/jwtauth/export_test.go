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
