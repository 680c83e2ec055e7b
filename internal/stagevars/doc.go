// Package stagevars expands ${stageVariables.NAME} references, the syntax
// of stage variables in integration and authorizer targets, in one place
// for the admin API (which validates targets) and the data plane (which
// substitutes them).
package stagevars
