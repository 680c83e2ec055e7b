package store

import "strings"

// Migrations is the list of schema migrations for Tollgate's stored data,
// applied at startup by [Migrate]. It is a package variable rather than
// something each admin service registers so that the complete, ordered
// history of the on-disk format lives in one reviewable place.
//
// To add a step, append a Migration at the end with the next Version (never
// renumber, reorder or edit a step that has shipped: data dirs in the field
// have already recorded it as applied) and a short Name, for example:
//
//	{Version: 2, Name: "index routes by api", Up: func(tx Tx) error {
//		recs, err := tx.List("routes", "", "", 0)
//		if err != nil {
//			return err
//		}
//		for _, r := range recs {
//			// ... derive and Put the index entry ...
//		}
//		return nil
//	}},
//
// Each step runs in its own transaction together with the version bump, so a
// step that returns an error changes nothing and is retried on the next
// start. Steps should only use the Tx they are given and must be
// deterministic, because a step may be re-run after a failed attempt.
var Migrations = []Migration{
	{
		Version: 1,
		Name:    "initial schema",
		// The initial schema needs no data changes: kinds are created lazily
		// on first Put. The step exists so that every data dir records a
		// version and older binaries can detect data written by newer ones.
		Up: func(Tx) error { return nil },
	},
	{
		Version: 2,
		Name:    "index usage plan memberships by API key",
		Up:      indexAPIKeyPlans,
	},
}

// APIKeyPlansKind is the kind of the index of usage plan memberships by API
// key (see migration 2): key "apiKeys/{k}|usagePlans/{p}", empty value.
const APIKeyPlansKind Kind = "apiKeyPlans"

// indexAPIKeyPlans builds the APIKeyPlansKind index from the memberships
// ("usagePlanKeys", keyed "usagePlans/{p}/keys/{k}", where {k} is the API
// key's ID): the names alone say which key is in which plan.
func indexAPIKeyPlans(tx Tx) error {
	recs, err := tx.List("usagePlanKeys", "usagePlans/", "", 0)
	if err != nil {
		return err
	}
	for _, r := range recs {
		plan, keyID, ok := strings.Cut(r.Key, "/keys/")
		if !ok || keyID == "" || strings.Contains(keyID, "/") {
			continue
		}
		if err := tx.Put(APIKeyPlansKind, "apiKeys/"+keyID+"|"+plan, nil); err != nil {
			return err
		}
	}
	return nil
}
