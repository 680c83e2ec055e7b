// Package chain builds the data plane's policy chain from steps that say
// what they need from the steps before them and what they provide to the
// ones after, and refuses an order that breaks a need.
//
// The policies talk to each other through the call record
// (callinfo.Call): the authorizer sets the principal and may choose the
// API key, the API-key policy resolves the key and its usage plan, the
// plan throttle and the quota read that plan, the response cache keys on
// the caller's identity. Such dependencies used to be implicit: moving the
// API-key policy after the plan throttle silently disabled the throttle.
// Each policy package now declares its Needs and Provides as
// callinfo.Fact values, the server lists its steps in order, and Build
// returns an error naming the step and the missing fact when a step needs
// what no earlier step provides.
package chain
