package throttle

import (
	"context"
	"time"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// epoch is where fake clocks start.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeClock() *testkit.Clock { return testkit.NewClock(epoch) }

// fixedChecks returns a Checks that always appends cs.
func fixedChecks(cs ...Check) Checks {
	return func(_ context.Context, dst []Check) []Check { return append(dst, cs...) }
}
