package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/server/store"
)

// The store kinds this package writes. Keys are resource names, so the
// children of "apis/shop" are the keys with the prefix "apis/shop/".
const (
	kindAPIs          store.Kind = "apis"
	kindRoutes        store.Kind = "routes"
	kindAuthorizers   store.Kind = "authorizers"
	kindDeployments   store.Kind = "deployments"
	kindStages        store.Kind = "stages"
	kindAPIKeys       store.Kind = "apiKeys"
	kindUsagePlans    store.Kind = "usagePlans"
	kindUsagePlanKeys store.Kind = "usagePlanKeys"
	kindSettings      store.Kind = "settings"
	// kindAPIKeyHashes maps the hex SHA-256 of a key's secret to the key's
	// name, so the data plane finds a key by the secret a client sent
	// without the secret ever being stored.
	kindAPIKeyHashes store.Kind = "apiKeyHashes"
	// kindAPIKeyPlans indexes usage plan memberships by key: key
	// "{api key name}|{usage plan name}", empty value, one per membership,
	// so that a key's plans are found without scanning every plan's keys.
	// Written with the membership, in the same transaction.
	kindAPIKeyPlans store.Kind = store.APIKeyPlansKind
	// kindUsage holds call counts: key "usagePlans/{p}/keys/{k}/{YYYY-MM-DD}",
	// value a decimal count. Written by the metering of the data plane.
	kindUsage store.Kind = "usage"
)

// DeploymentsKind is the store kind of deployments, for processes that
// follow a shared store's changes (see Affects).
const DeploymentsKind = kindDeployments

// protoPtr constrains a type parameter to a pointer to a generated message.
type protoPtr[M any] interface {
	*M
	proto.Message
}

// load reads and decodes one record; a missing record is store.ErrNotFound.
func load[M any, P protoPtr[M]](tx store.Tx, kind store.Kind, key string) (P, error) {
	b, err := tx.Get(kind, key)
	if err != nil {
		return nil, err
	}
	m := P(new(M))
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", kind, key, err)
	}
	return m, nil
}

// loadOr is load that maps a missing record to a NOT_FOUND status.
func loadOr[M any, P protoPtr[M]](tx store.Tx, kind store.Kind, resourceType, key string) (P, error) {
	m, err := load[M, P](tx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(resourceType, key)
	}
	return m, err
}

// exists reports whether a record exists.
func exists(tx store.Tx, kind store.Kind, key string) (bool, error) {
	_, err := tx.Get(kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// save encodes and writes one record. Deterministic encoding keeps etags
// stable for equal content.
func save(tx store.Tx, kind store.Kind, key string, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, key, err)
	}
	return tx.Put(kind, key, b)
}

// loadAll reads every record of kind under prefix, in key order.
func loadAll[M any, P protoPtr[M]](tx store.Tx, kind store.Kind, prefix string) ([]P, error) {
	recs, err := tx.List(kind, prefix, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]P, 0, len(recs))
	for _, r := range recs {
		m := P(new(M))
		if err := proto.Unmarshal(r.Value, m); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", kind, r.Key, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// etagOf returns a checksum of m's content, ignoring its etag field, so a
// client can detect that a resource changed since it read it.
func etagOf(m proto.Message) string {
	c := proto.Clone(m)
	if f := c.ProtoReflect().Descriptor().Fields().ByName("etag"); f != nil {
		c.ProtoReflect().Clear(f)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Paging limits (AIP-158).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// page is one validated List request window.
type page struct {
	size  int
	after string // key after which the page starts
}

// pageTokenVersion guards against tokens from another format.
const pageTokenVersion = "v1"

// parsePage validates page_size and page_token for a listing of prefix.
// Tokens are opaque to clients, bound to the listing they came from.
func parsePage(prefix string, size int32, token string) (page, error) {
	var v violations
	p := page{size: int(size)}
	switch {
	case size < 0:
		v.add("page_size", "must not be negative (got %d)", size)
	case size == 0:
		p.size = defaultPageSize
	case size > maxPageSize:
		p.size = maxPageSize
	}
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		parts := strings.SplitN(string(raw), "\x00", 3)
		switch {
		case err != nil || len(parts) != 3 || parts[0] != pageTokenVersion:
			v.add("page_token", "is not a token returned by this method; start again without it")
		case parts[1] != prefix:
			v.add("page_token", "belongs to another listing (its parent or filter differ from this request's)")
		default:
			p.after = parts[2]
		}
	}
	return p, v.err()
}

// nextPageToken encodes where the next page of prefix starts.
func nextPageToken(prefix, lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenVersion + "\x00" + prefix + "\x00" + lastKey))
}

// listPage reads one page of kind under prefix.
func listPage[M any, P protoPtr[M]](tx store.Tx, kind store.Kind, prefix string, p page) (items []P, next string, err error) {
	// One extra record tells whether another page follows.
	recs, err := tx.List(kind, prefix, p.after, p.size+1)
	if err != nil {
		return nil, "", err
	}
	if len(recs) > p.size {
		recs = recs[:p.size]
		next = nextPageToken(prefix, recs[len(recs)-1].Key)
	}
	items = make([]P, 0, len(recs))
	for _, r := range recs {
		m := P(new(M))
		if err := proto.Unmarshal(r.Value, m); err != nil {
			return nil, "", fmt.Errorf("decode %s %q: %w", kind, r.Key, err)
		}
		items = append(items, m)
	}
	return items, next, nil
}

// checkRef records in v that field refers to a resource that does not exist.
// A dangling reference in a request body is the request's fault, hence
// INVALID_ARGUMENT rather than NOT_FOUND (which would suggest the resource
// being written is missing).
func checkRef(tx store.Tx, v *violations, field string, kind store.Kind, typeName, name string) error {
	ok, err := exists(tx, kind, name)
	if err != nil {
		return err
	}
	if !ok {
		v.add(field, "refers to %s %q, which does not exist", typeName, name)
	}
	return nil
}
