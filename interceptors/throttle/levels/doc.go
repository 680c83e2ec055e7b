// Package levels is the throttle-level policy of the data plane: which
// token buckets of package throttle a call must pass, and with which
// limits, from the call record (internal/callinfo) — the account, the
// stage or its route override before authorization, then the caller's
// usage plan or the plan's route override once the API key is known. It
// keeps package throttle free of the gateway's configuration types.
package levels
