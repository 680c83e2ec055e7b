// Package admincli is the tollgate command's client side: subcommands that
// manage a running gateway through its admin API over gRPC (the generated
// client's service, called with the generated request types).
//
// The resource commands (`tollgate apis list`, `tollgate routes get
// NAME --api shop`, ...) are derived from the admin API's descriptors: every
// message with a google.api.resource option whose Create, Get, List, Update
// and Delete methods AdminService has becomes a command, so a resource added
// to the API gets its command without code here. Requests are built by
// field name, following AIP-133 to AIP-135 (parent, {resource}_id, name,
// update_mask, page_token), which the admin API follows.
//
// Output is a table for people, or JSON or YAML (`-o json|yaml`) for
// scripts; errors print the status message and its details (the bad
// fields, the failed precondition, the reason) so a person can act on them.
package admincli
