package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/netguard"
	"github.com/tollgate-gw/tollgate/internal/reflectclient"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
	"github.com/tollgate-gw/tollgate/server/store"
)

// CreateDeployment snapshots an API with its routes and authorizers. The
// snapshot must be servable: every route has an integration (its own or the
// API's default), when the API carries descriptors every gRPC route names a
// method they define, and the data plane's pre-flight compile (see
// WithPreflight) accepts it: a REST binding that cannot be served is
// INVALID_ARGUMENT on "parent", naming the method and the binding.
func (s *Service) CreateDeployment(ctx context.Context, req *adminv1.CreateDeploymentRequest) (*adminv1.Deployment, error) {
	d := req.GetDeployment()
	if d == nil {
		// A deployment has nothing but a description to set, so an
		// absent body is a deployment without one.
		d = &adminv1.Deployment{}
	}
	// An API that names a backend to reflect on is read before the
	// transaction (a network call must not hold the store's write lock), and
	// frozen into the snapshot: a deployment never changes afterwards.
	reflected, err := s.reflectSchema(ctx, req.GetParent())
	if err != nil {
		return nil, err
	}
	return createResource(ctx, s, deployments, req.GetParent(), req.GetDeploymentId(), d, func(tx store.Tx, d *adminv1.Deployment) error {
		var v violations
		checkText(&v, "deployment.description", d.GetDescription(), maxDescription)
		if err := v.err(); err != nil {
			return err
		}
		apiName := req.GetParent()
		api, err := loadOr[adminv1.Api](tx, kindAPIs, "API", apiName)
		if err != nil {
			return err
		}
		rs, err := loadAll[adminv1.Route](tx, kindRoutes, apiName+"/routes/")
		if err != nil {
			return err
		}
		as, err := loadAll[adminv1.Authorizer](tx, kindAuthorizers, apiName+"/authorizers/")
		if err != nil {
			return err
		}
		if r := api.GetReflection(); r != nil {
			if reflected == nil || !proto.Equal(reflected.source, r) {
				return status.Errorf(codes.Aborted, "the schema source of %q changed while its schema was read; retry", apiName)
			}
			api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: reflected.set}
		}
		// The service config's rules are merged into the deployment's
		// descriptors, frozen with them: the data plane reads one place.
		if y := api.GetServiceConfigYaml(); y != "" {
			set, err := serviceconfig.ApplySet(api.GetFileDescriptorSet(), y)
			if err != nil {
				var v violations
				v.add("parent", "the service_config_yaml of %s does not apply to its schema: %v", apiName, err)
				return v.err()
			}
			api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: set}
		}
		if err := checkDeployable(api, rs); err != nil {
			return err
		}
		d.Snapshot = &adminv1.ApiSnapshot{Api: api, Routes: rs, Authorizers: as}
		if err := s.checkDeploymentServable(ctx, d); err != nil {
			return err
		}
		return s.pruneDeployments(ctx, tx, api, d)
	})
}

// Deployment retention (Api.deployment_retention).
const (
	defaultDeploymentRetention = 20
	maxDeploymentRetention     = 1000
)

// pruneDeployments deletes the oldest of an API's deployments that no
// stage serves beyond the API's retention, counting d, the deployment
// being created, as the newest. The cost is the API's deployments, which
// retention bounds, not the store's.
func (s *Service) pruneDeployments(ctx context.Context, tx store.Tx, api *adminv1.Api, d *adminv1.Deployment) error {
	keep := int(api.GetDeploymentRetention())
	if keep == 0 {
		keep = defaultDeploymentRetention
	}
	stages, err := loadAll[adminv1.Stage](tx, kindStages, api.GetName()+"/stages/")
	if err != nil {
		return err
	}
	served := map[string]bool{}
	for _, st := range stages {
		served[st.GetDeployment()] = true
		if c := st.GetCanary().GetDeployment(); c != "" {
			served[c] = true
		}
	}
	recs, err := tx.List(kindDeployments, api.GetName()+"/deployments/", "", 0)
	if err != nil {
		return err
	}
	type unserved struct {
		name    string
		created time.Time
	}
	var old []unserved
	for _, r := range recs {
		if served[r.Key] {
			continue
		}
		created, err := deploymentCreateTime(r.Value)
		if err != nil {
			return fmt.Errorf("decode %s %q: %w", kindDeployments, r.Key, err)
		}
		old = append(old, unserved{r.Key, created})
	}
	if len(old)+1 <= keep { // d is unserved too
		return nil
	}
	// Newest first; names break ties so that the choice is stable.
	slices.SortFunc(old, func(a, b unserved) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	var pruned []string
	for _, u := range old[keep-1:] {
		if err := tx.Delete(kindDeployments, u.name); err != nil {
			return err
		}
		pruned = append(pruned, u.name)
	}
	s.logger.InfoContext(ctx, "deleted deployments beyond the API's retention", "api", api.GetName(), "retention", keep, "deleted", len(pruned))
	return nil
}

// deploymentCreateTime reads the create_time of a serialized Deployment
// without decoding its snapshot (descriptors and all).
func deploymentCreateTime(b []byte) (time.Time, error) {
	createTime := (&adminv1.Deployment{}).ProtoReflect().Descriptor().Fields().ByName("create_time").Number()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return time.Time{}, protowire.ParseError(n)
		}
		b = b[n:]
		if num == createTime && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return time.Time{}, protowire.ParseError(n)
			}
			var ts timestamppb.Timestamp
			if err := proto.Unmarshal(v, &ts); err != nil {
				return time.Time{}, err
			}
			return ts.AsTime(), nil
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return time.Time{}, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return time.Time{}, nil
}

// checkDeployable reports the problems that would make a snapshot unservable.
func checkDeployable(api *adminv1.Api, rs []*adminv1.Route) error {
	var problems []string
	if api.GetDefaultIntegration() == nil {
		for _, r := range rs {
			if r.GetIntegration() == nil {
				problems = append(problems, fmt.Sprintf("route %q has no integration and the API has no default_integration", r.GetName()))
			}
		}
		if len(rs) == 0 {
			problems = append(problems, "the API has no routes and no default_integration, so nothing could be called")
		}
	}
	if files := apiFiles(api); files != nil {
		for _, r := range rs {
			if m := r.GetGrpcMethod(); m != "" {
				if msg := checkMethodExists(files, m); msg != "" {
					problems = append(problems, fmt.Sprintf("route %q: %s", r.GetName(), msg))
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return preconditionFailed("API_NOT_DEPLOYABLE", api.GetName(), "API %q cannot be deployed: %s", api.GetName(), strings.Join(problems, "; "))
}

// GetDeployment gets a deployment with its snapshot.
func (s *Service) GetDeployment(ctx context.Context, req *adminv1.GetDeploymentRequest) (*adminv1.Deployment, error) {
	return getResource[adminv1.Deployment](ctx, s, deployments, req.GetName())
}

// ListDeployments lists the deployments of an API in name order.
func (s *Service) ListDeployments(ctx context.Context, req *adminv1.ListDeploymentsRequest) (*adminv1.ListDeploymentsResponse, error) {
	items, next, err := listResources[adminv1.Deployment](ctx, s, deployments, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListDeploymentsResponse{Deployments: items, NextPageToken: next}, nil
}

// DeleteDeployment deletes a deployment that no stage serves, as its main
// deployment or as its canary.
func (s *Service) DeleteDeployment(ctx context.Context, req *adminv1.DeleteDeploymentRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, deployments, req.GetName(), req.GetEtag(), func(tx store.Tx, d *adminv1.Deployment) error {
		stageList, err := loadAll[adminv1.Stage](tx, kindStages, parentOf(d.GetName())+"/stages/")
		if err != nil {
			return err
		}
		for _, st := range stageList {
			if st.GetDeployment() == d.GetName() || st.GetCanary().GetDeployment() == d.GetName() {
				return preconditionFailed("STAGE_USES_DEPLOYMENT", st.GetName(),
					"deployment %q is served by stage %q: point the stage at another deployment first", d.GetName(), st.GetName())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A deployment created again under this name must be read afresh.
	s.forgetDeployment(req.GetName())
	return &emptypb.Empty{}, nil
}

// reflectTimeout bounds reading a schema by reflection at deploy time.
const reflectTimeout = 15 * time.Second

// reflectedSchema is a schema read from a backend.
type reflectedSchema struct {
	source *adminv1.ReflectionSource
	set    []byte // a serialized FileDescriptorSet
}

// reflectSchema reads the schema of an API whose descriptors come from a
// backend by reflection; it returns nil for other APIs.
func (s *Service) reflectSchema(ctx context.Context, apiName string) (*reflectedSchema, error) {
	if _, ok := parseName(apiName, "apis/*"); !ok {
		return nil, nil // createResource reports the bad parent
	}
	var api *adminv1.Api
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		api, err = load[adminv1.Api](tx, kindAPIs, apiName)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // createResource reports NOT_FOUND
	}
	if err != nil {
		return nil, internalError("create deployment", err)
	}
	src := api.GetReflection()
	if src == nil {
		return nil, nil
	}
	rctx, cancel := context.WithTimeout(ctx, reflectTimeout)
	defer cancel()
	var dialOpts []grpc.DialOption
	if !s.allowLinkLocal {
		// The target was checked when written; a name resolving to a
		// link-local address is refused here.
		dialOpts = append(dialOpts, grpc.WithContextDialer(netguard.GRPCDialer()))
	}
	set, err := reflectclient.Fetch(rctx, src.GetTarget(), src.GetTls(), src.GetServices(), dialOpts...)
	if err != nil {
		return nil, preconditionFailed("SCHEMA_UNAVAILABLE", apiName, "cannot deploy %q: reading its schema by reflection failed: %v", apiName, err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		return nil, internalError("create deployment", err)
	}
	if _, err := parseDescriptorSet(b); err != nil {
		return nil, preconditionFailed("SCHEMA_UNAVAILABLE", apiName, "cannot deploy %q: the schema read from %s %v", apiName, src.GetTarget(), err)
	}
	return &reflectedSchema{source: src, set: b}, nil
}
