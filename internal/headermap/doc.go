// Package headermap is an API's header mapping for REST calls: which HTTP
// request headers reach the backend as gRPC metadata under their own name
// (patterns such as "x-user-id" or "x-custom-*"), and which response
// metadata may be written as plain HTTP headers. The admin API validates
// patterns with [ValidatePattern]; the transcoder compiles them with
// [Compile] and asks [ResponseHeaderAllowed] per metadata key. Both sides
// use the same rules, so a pattern the admin API accepts always compiles.
package headermap
