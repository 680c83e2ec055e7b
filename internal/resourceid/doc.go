// Package resourceid is the one definition of a resource ID's syntax (the
// last segment of a resource name: an API, stage, route, key... ID), as
// AIP-122 recommends: 1 to 63 lowercase letters, digits and hyphens,
// starting with a letter and not ending with a hyphen, so that it is safe
// in URLs, DNS labels and file names. The admin API validates IDs with it,
// and the data plane checks a request's first path segment with it before
// looking the stage up.
package resourceid
