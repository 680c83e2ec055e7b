// Package quota counts the data-plane calls of API keys per UTC day,
// enforces the quotas of their usage plans, and persists the counts, which
// usage reports read, in batches.
//
// A [Counter] keeps, per (usage plan, API key), the calls used in the
// current quota period (a UTC day, a week starting on Monday, or a calendar
// month, each shifted by the quota's offset in days; see [Period]) and the
// counts not yet written. The first call of a key in a period reads the
// stored counts of the period from the [Store], once however many calls
// wait for it; every later decision is made in memory. [Counter.Take]
// decides and counts under the lock of the key's shard, so a quota is
// exact under any concurrency: a thousand concurrent calls against a limit
// of 100 admit exactly 100. A refused call is not counted; a call of a
// plan without a quota is always admitted and still counted, for usage
// reports. When a period ends (by the Counter's clock, which WithClock
// replaces in tests), the next call reads the stored counts of the new
// period, which starts from what earlier calls in it, if any, already
// used. The state of keys idle for a day is dropped to bound memory.
//
// [Counter.Flush] writes every pending count in one [Store.AddCounts] call
// (one transaction); [Counter.Run] flushes every flush interval
// (WithFlushInterval, one second by default). A failed flush keeps its
// counts pending for the next one and, since AddCounts adds all of its
// deltas or none, never counts a call twice. A load of stored counts never
// waits for a flush (which may wait for the Store's write lock behind a
// long admin write): a load that a flush overlaps also counts the calls
// the flush carries, since its read may have missed them, so it can only
// overcount (refuse early, never admit too many) until the entry is loaded
// again after that flush.
//
// # Crash bound
//
// A process killed without warning (kill -9, a power cut) loses the calls
// counted since the last successful flush: at most one flush interval
// times the call rate, plus whatever accumulated while the Store was
// failing. Those calls are then neither in usage reports nor charged to
// their quotas, so a key may make that many calls more than its quota in
// the period. A graceful shutdown loses none: when Run's context is
// cancelled, Run flushes one last time, retrying for up to ten seconds,
// and returns when the counts are stored; the server should stop serving
// calls first and wait for Run to return before closing the Store.
//
// # Several nodes
//
// Without a [Shared] store each gateway node decides on its own: with
// several nodes sharing a Store, each node's decisions include the other
// nodes' calls only as of its first load of the period, so a quota may be
// exceeded by up to what the other nodes admitted since.
//
// WithShared (for example a redisquota.Store) makes quotas exact across
// nodes: each decision is made in the shared store, in one operation that
// takes a unit only while the count is below the limit, and the count of a
// period starts from the stored counts the first node to need it read.
// Each node still counts the calls it admitted and flushes them to its
// Store, so usage reports stay exact whatever the shared store did.
//
// When the shared store fails (an error or its timeout), the Counter
// decides from its own counts, as without one: calls are admitted up to
// the limit as this node sees it (the shared count when it last answered,
// plus this node's calls since), so while it is down the fleet may exceed
// a quota by what the other nodes admit meanwhile, never by more than the
// limit per node. The calls counted meanwhile are added to the shared
// count by the next decision that reaches it; if the shared store lost its
// data, the count starts again from this node's view. Failures are logged
// once per outage and counted ([Counter.SharedFallbacks]).
//
// # Interceptors
//
// [StreamServerInterceptor] takes one unit
// of quota for every call whose API key was resolved (callinfo.Call.APIKey
// with its Plan) and passes calls without a key. A call over quota fails
// with code ResourceExhausted and the message "Limit Exceeded", as in AWS
// API Gateway, with a google.rpc.QuotaFailure detail (the key as subject,
// a description naming the plan, its limit and period), a
// google.rpc.RetryInfo detail until the period resets and a
// google.rpc.ErrorInfo detail with reason [ReasonQuotaExceeded]; the
// retry-after response header carries the same delay for HTTP edges. The
// interceptor belongs after the API key and throttling interceptors, so
// that a throttled call does not spend quota.
package quota
