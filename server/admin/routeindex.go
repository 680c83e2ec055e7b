package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

// kindRouteMatches indexes the routes of each API by what they match, so
// that a route write finds a route matching the same calls with one read
// instead of decoding every route of the API (which made building an API
// of n routes cost O(n²)). Key "{api}/matches/{hex SHA-256 of the match}",
// value the route's name; "{api}/indexed" marks an API whose routes are all
// indexed. Written with the routes, in the same transaction.
const kindRouteMatches store.Kind = "routeMatches"

// routeMatchKey returns the index key of what r matches, or "" when r
// matches nothing. Two routes have the same key when sameMatch holds.
func routeMatchKey(r *adminv1.Route) string {
	var m string
	switch x := r.GetMatch().(type) {
	case *adminv1.Route_GrpcMethod:
		m = "grpc\x00" + x.GrpcMethod
	case *adminv1.Route_Http:
		m = "http\x00" + x.Http.GetMethod() + "\x00" + x.Http.GetPath()
	case *adminv1.Route_WebsocketRouteKey:
		m = "ws\x00" + x.WebsocketRouteKey
	default:
		return ""
	}
	// A hash keeps keys short whatever the path's length; the route it
	// names is read and compared, so a collision cannot refuse a route.
	sum := sha256.Sum256([]byte(m))
	return parentOf(r.GetName()) + "/matches/" + hex.EncodeToString(sum[:])
}

// routeIndexedKey is the key marking an API whose routes are all indexed.
func routeIndexedKey(api string) string { return api + "/indexed" }

// ensureRouteIndex indexes every route of api, once: routes written before
// the index existed. Later writes keep it current.
func ensureRouteIndex(tx store.Tx, api string) error {
	if ok, err := exists(tx, kindRouteMatches, routeIndexedKey(api)); err != nil || ok {
		return err
	}
	all, err := loadAll[adminv1.Route](tx, kindRoutes, api+"/routes/")
	if err != nil {
		return err
	}
	for _, r := range all {
		if k := routeMatchKey(r); k != "" {
			if err := tx.Put(kindRouteMatches, k, []byte(r.GetName())); err != nil {
				return err
			}
		}
	}
	return tx.Put(kindRouteMatches, routeIndexedKey(api), nil)
}

// sameMatchRoute returns the route of r's API other than r that matches
// the same calls, or nil.
func sameMatchRoute(tx store.Tx, r *adminv1.Route) (*adminv1.Route, error) {
	key := routeMatchKey(r)
	if key == "" {
		return nil, nil
	}
	if err := ensureRouteIndex(tx, parentOf(r.GetName())); err != nil {
		return nil, err
	}
	name, err := tx.Get(kindRouteMatches, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && string(name) == r.GetName()) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	o, err := load[adminv1.Route](tx, kindRoutes, string(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if !sameMatch(o, r) {
		return nil, nil
	}
	return o, nil
}

// indexRoute records r's match in the index, replacing old's (nil for a
// new route). The caller has checked that no other route matches the same.
func indexRoute(tx store.Tx, old, r *adminv1.Route) error {
	if err := ensureRouteIndex(tx, parentOf(r.GetName())); err != nil {
		return err
	}
	if err := unindexRoute(tx, old); err != nil {
		return err
	}
	if k := routeMatchKey(r); k != "" {
		return tx.Put(kindRouteMatches, k, []byte(r.GetName()))
	}
	return nil
}

// unindexRoute removes r's entry from the index, if it is r's.
func unindexRoute(tx store.Tx, r *adminv1.Route) error {
	k := routeMatchKey(r)
	if r == nil || k == "" {
		return nil
	}
	name, err := tx.Get(kindRouteMatches, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if string(name) != r.GetName() {
		return nil
	}
	return tx.Delete(kindRouteMatches, k)
}
