package grpcproxy

import (
	"context"
	"sync/atomic"
	"time"
)

// streamWatch ends a streaming call that stays silent too long: before the
// backend's first response the limit is the route timeout (the backend must
// answer in time), after it the stream idle timeout. One timer per call,
// re-armed lazily from the time of the last message, so that relaying a
// message costs a clock read and an atomic store, not a timer reset.
type streamWatch struct {
	first, idle time.Duration // limits before and after the first response; zero: none
	start       time.Time
	last        atomic.Int64 // time of the last message, as nanoseconds since start
	responded   atomic.Bool
	timer       *time.Timer
	cancel      context.CancelCauseFunc
}

// newStreamWatch starts watching a call, or returns nil (a watch that does
// nothing) when neither limit is set. cancel ends the call with the cause.
func newStreamWatch(first, idle time.Duration, cancel context.CancelCauseFunc) *streamWatch {
	if first <= 0 && idle <= 0 {
		return nil
	}
	w := &streamWatch{first: first, idle: idle, start: time.Now(), cancel: cancel}
	lim, _ := w.limit()
	w.timer = time.AfterFunc(lim, w.fire)
	return w
}

// limit is the silence allowed now (zero for none) and the cause that
// ends the call when it is exceeded.
func (w *streamWatch) limit() (time.Duration, error) {
	if !w.responded.Load() && w.first > 0 && (w.idle <= 0 || w.first < w.idle) {
		return w.first, errRouteTimeout
	}
	return w.idle, errStreamIdle
}

func (w *streamWatch) fire() {
	lim, cause := w.limit()
	if lim <= 0 {
		return // answered, and no idle limit after that
	}
	silent := time.Since(w.start) - time.Duration(w.last.Load())
	if silent < lim {
		w.timer.Reset(lim - silent)
		return
	}
	w.cancel(cause)
}

// touch records a message in either direction.
func (w *streamWatch) touch() {
	if w != nil {
		w.last.Store(int64(time.Since(w.start)))
	}
}

// answered records the backend's first response; it counts as a message.
func (w *streamWatch) answered() {
	if w != nil {
		w.touch()
		w.responded.Store(true)
	}
}

func (w *streamWatch) stop() {
	if w != nil {
		w.timer.Stop()
	}
}
