package admin

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tollgate-gw/tollgate/server/store"
)

// collection describes one resource type, so that the standard methods
// (AIP-131 to 135) are written once for all of them.
type collection struct {
	kind          store.Kind
	typeName      string     // for messages, e.g. "route"
	pattern       string     // name pattern, e.g. "apis/*/routes/*"
	parentPattern string     // "" for top-level collections
	parentKind    store.Kind // store kind of the parent
	parentType    string     // for messages, e.g. "API"
	field         string     // the resource's field in requests, e.g. "route"
	idField       string     // the Create request's ID field, e.g. "route_id"
	idPrefix      string     // prefix of server-chosen IDs
}

// Resource collections.
var (
	apis   = collection{kind: kindAPIs, typeName: "API", pattern: "apis/*", field: "api", idField: "api_id", idPrefix: "api-"}
	routes = collection{kind: kindRoutes, typeName: "route", pattern: "apis/*/routes/*", parentPattern: "apis/*",
		parentKind: kindAPIs, parentType: "API", field: "route", idField: "route_id", idPrefix: "route-"}
	authorizers = collection{kind: kindAuthorizers, typeName: "authorizer", pattern: "apis/*/authorizers/*", parentPattern: "apis/*",
		parentKind: kindAPIs, parentType: "API", field: "authorizer", idField: "authorizer_id", idPrefix: "authz-"}
	deployments = collection{kind: kindDeployments, typeName: "deployment", pattern: "apis/*/deployments/*", parentPattern: "apis/*",
		parentKind: kindAPIs, parentType: "API", field: "deployment", idField: "deployment_id", idPrefix: "d-"}
	stages = collection{kind: kindStages, typeName: "stage", pattern: "apis/*/stages/*", parentPattern: "apis/*",
		parentKind: kindAPIs, parentType: "API", field: "stage", idField: "stage_id", idPrefix: "stage-"}
	apiKeys    = collection{kind: kindAPIKeys, typeName: "API key", pattern: "apiKeys/*", field: "api_key", idField: "api_key_id", idPrefix: "key-"}
	usagePlans = collection{kind: kindUsagePlans, typeName: "usage plan", pattern: "usagePlans/*", field: "usage_plan", idField: "usage_plan_id", idPrefix: "plan-"}
	planKeys   = collection{kind: kindUsagePlanKeys, typeName: "usage plan key", pattern: "usagePlans/*/keys/*", parentPattern: "usagePlans/*",
		parentKind: kindUsagePlans, parentType: "usage plan", field: "usage_plan_key", idField: "", idPrefix: ""}
)

// collectionName is the last literal segment of a pattern ("routes").
func (c collection) collectionName() string {
	p := c.pattern[:len(c.pattern)-2]
	return lastID(p)
}

// listPrefix is the key prefix of the children of parent.
func (c collection) listPrefix(parent string) string {
	if parent == "" {
		return c.collectionName() + "/"
	}
	return parent + "/" + c.collectionName() + "/"
}

// checkParent validates a parent name in a request.
func (c collection) checkParent(v *violations, parent string) {
	if c.parentPattern != "" {
		checkName(v, "parent", parent, c.parentPattern)
	}
}

// setField sets a field of m by name if m has it (uid, create_time, ...).
func setField(m proto.Message, field string, val protoreflect.Value) {
	r := m.ProtoReflect()
	if fd := r.Descriptor().Fields().ByName(protoreflect.Name(field)); fd != nil {
		r.Set(fd, val)
	}
}

// getString reads a string field of m by name, or "".
func getString(m proto.Message, field string) string {
	r := m.ProtoReflect()
	if fd := r.Descriptor().Fields().ByName(protoreflect.Name(field)); fd != nil {
		return r.Get(fd).String()
	}
	return ""
}

// stamp sets the system-managed fields of a resource about to be written:
// update_time always, and etag from the content.
func (s *Service) stamp(m proto.Message) {
	setField(m, "update_time", protoreflect.ValueOfMessage(timestamppb.New(s.now()).ProtoReflect()))
	if m.ProtoReflect().Descriptor().Fields().ByName("etag") != nil {
		setField(m, "etag", protoreflect.ValueOfString(etagOf(m)))
	}
}

// getResource implements a standard Get.
func getResource[M any, P protoPtr[M]](ctx context.Context, s *Service, c collection, name string) (P, error) {
	var v violations
	checkName(&v, "name", name, c.pattern)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out P
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = loadOr[M, P](tx, c.kind, c.typeName, name)
		return err
	})
	return out, internalError("get "+c.typeName, err)
}

// listResources implements a standard List.
func listResources[M any, P protoPtr[M]](ctx context.Context, s *Service, c collection, parent string, size int32, token string) ([]P, string, error) {
	var v violations
	c.checkParent(&v, parent)
	if err := v.err(); err != nil {
		return nil, "", err
	}
	prefix := c.listPrefix(parent)
	p, err := parsePage(prefix, size, token)
	if err != nil {
		return nil, "", err
	}
	var items []P
	var next string
	err = s.store.View(ctx, func(tx store.Tx) error {
		if c.parentPattern != "" {
			if ok, err := exists(tx, c.parentKind, parent); err != nil {
				return err
			} else if !ok {
				return notFound(c.parentType, parent)
			}
		}
		var err error
		items, next, err = listPage[M, P](tx, c.kind, prefix, p)
		return err
	})
	return items, next, internalError("list "+c.typeName, err)
}

// createResource implements a standard Create. prepare applies defaults and
// validates msg (including references, through tx); it runs after msg has its
// name, so it can read it.
func createResource[P proto.Message](ctx context.Context, s *Service, c collection, parent, id string, msg P, prepare func(tx store.Tx, msg P) error) (P, error) {
	var zero P
	var v violations
	c.checkParent(&v, parent)
	if id != "" && c.idField != "" {
		if reason := checkID(id); reason != "" {
			v.add(c.idField, "%s", reason)
		}
	}
	if !msg.ProtoReflect().IsValid() {
		v.add(c.field, "is required")
	}
	if err := v.err(); err != nil {
		return zero, err
	}
	if id == "" {
		id = newID(c.idPrefix)
	}
	name := c.listPrefix(parent) + id
	msg = proto.Clone(msg).(P)
	clearSystemManaged(msg)
	setField(msg, "name", protoreflect.ValueOfString(name))
	setField(msg, "uid", protoreflect.ValueOfString(newUID()))
	setField(msg, "create_time", protoreflect.ValueOfMessage(timestamppb.New(s.now()).ProtoReflect()))
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if c.parentPattern != "" {
			if ok, err := exists(tx, c.parentKind, parent); err != nil {
				return err
			} else if !ok {
				return notFound(c.parentType, parent)
			}
		}
		if ok, err := exists(tx, c.kind, name); err != nil {
			return err
		} else if ok {
			return alreadyExists(c.typeName, name)
		}
		if err := prepare(tx, msg); err != nil {
			return err
		}
		s.stamp(msg)
		return save(tx, c.kind, name, msg)
	})
	if err != nil {
		return zero, internalError("create "+c.typeName, err)
	}
	s.logger.InfoContext(ctx, "created", "resource", name)
	s.changed(c.kind, name, false)
	return msg, nil
}

// updateResource implements a standard Update: it merges patch into the
// stored resource along mask, checks the etag, then lets prepare validate the
// result (old is the stored version) before writing it.
func updateResource[M any, P protoPtr[M]](ctx context.Context, s *Service, c collection, patch P, mask *fieldmaskpb.FieldMask, prepare func(tx store.Tx, old, updated P) error) (P, error) {
	var v violations
	if !patch.ProtoReflect().IsValid() {
		v.add(c.field, "is required")
		return nil, v.err()
	}
	name := getString(patch, "name")
	checkName(&v, c.field+".name", name, c.pattern)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out P
	err := s.store.Update(ctx, func(tx store.Tx) error {
		old, err := loadOr[M, P](tx, c.kind, c.typeName, name)
		if err != nil {
			return err
		}
		if sent, cur := getString(patch, "etag"), getString(old, "etag"); sent != "" && sent != cur {
			return etagMismatch(name, sent, cur)
		}
		updated := proto.Clone(old).(P)
		if err := applyUpdate(updated, patch, mask, c.field); err != nil {
			return err
		}
		if err := prepare(tx, old, updated); err != nil {
			return err
		}
		if proto.Equal(old, updated) {
			out = old // nothing changed: keep update_time and etag
			return nil
		}
		s.stamp(updated)
		out = updated
		return save(tx, c.kind, name, updated)
	})
	if err != nil {
		return nil, internalError("update "+c.typeName, err)
	}
	s.changed(c.kind, name, false)
	return out, nil
}

// deleteResource implements a standard Delete. check may refuse the delete
// (FAILED_PRECONDITION) or delete dependents in the same transaction.
func deleteResource[M any, P protoPtr[M]](ctx context.Context, s *Service, c collection, name, etag string, check func(tx store.Tx, existing P) error) error {
	var v violations
	checkName(&v, "name", name, c.pattern)
	if err := v.err(); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		existing, err := loadOr[M, P](tx, c.kind, c.typeName, name)
		if err != nil {
			return err
		}
		if cur := getString(existing, "etag"); etag != "" && cur != "" && etag != cur {
			return etagMismatch(name, etag, cur)
		}
		if check != nil {
			if err := check(tx, existing); err != nil {
				return err
			}
		}
		return tx.Delete(c.kind, name)
	})
	if err != nil {
		return internalError("delete "+c.typeName, err)
	}
	s.logger.InfoContext(ctx, "deleted", "resource", name)
	s.changed(c.kind, name, true)
	return nil
}

// deleteAll deletes every record of kind under prefix.
func deleteAll(tx store.Tx, kind store.Kind, prefix string) error {
	recs, err := tx.List(kind, prefix, "", 0)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := tx.Delete(kind, r.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
