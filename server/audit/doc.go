// Package audit records every write call of the admin API — who (the
// admin token's name), what (method, resource name, update mask), when,
// from which address, and the result — in the store (ListAuditEvents) and
// as one JSON log line, as a gRPC interceptor of the admin server. REST
// calls reach the same gRPC server, so they are recorded alike.
//
// An event never holds a request's values: only resource names and field
// names, so that secrets (API key values, admin tokens) never reach the
// log. Calls that fail authentication are not recorded (they have no
// actor, and recording them would let anyone fill the store); calls a
// role may not make are.
package audit
