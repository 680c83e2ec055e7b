package admin

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
	"github.com/tollgate-gw/tollgate/server/store"
)

// kindDomainMappings holds DomainMapping resources.
const kindDomainMappings store.Kind = "domainMappings"

// domainMappings is the DomainMapping collection.
var domainMappings = collection{kind: kindDomainMappings, typeName: "domain mapping", pattern: "domainMappings/*",
	field: "domain_mapping", idField: "domain_mapping_id", idPrefix: "domain-"}

var (
	// domainPattern is a lowercase DNS host name (RFC 1123 labels).
	domainPattern = lazyregexp.New(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// basePathPattern is "/seg" or "/seg/seg" of unreserved URL characters.
	basePathPattern = lazyregexp.New(`^(/[A-Za-z0-9._~-]+)+$`)
)

// CreateDomainMapping creates a domain mapping.
func (s *Service) CreateDomainMapping(ctx context.Context, req *adminv1.CreateDomainMappingRequest) (*adminv1.DomainMapping, error) {
	return createResource(ctx, s, domainMappings, "", req.GetDomainMappingId(), req.GetDomainMapping(), func(tx store.Tx, m *adminv1.DomainMapping) error {
		if err := checkDomainMapping(tx, m); err != nil {
			return err
		}
		return s.checkMappingServable(ctx, tx, m)
	})
}

// GetDomainMapping gets a domain mapping.
func (s *Service) GetDomainMapping(ctx context.Context, req *adminv1.GetDomainMappingRequest) (*adminv1.DomainMapping, error) {
	return getResource[adminv1.DomainMapping](ctx, s, domainMappings, req.GetName())
}

// ListDomainMappings lists domain mappings in name order.
func (s *Service) ListDomainMappings(ctx context.Context, req *adminv1.ListDomainMappingsRequest) (*adminv1.ListDomainMappingsResponse, error) {
	items, next, err := listResources[adminv1.DomainMapping](ctx, s, domainMappings, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListDomainMappingsResponse{DomainMappings: items, NextPageToken: next}, nil
}

// UpdateDomainMapping updates a domain mapping, e.g. to point it at another stage.
func (s *Service) UpdateDomainMapping(ctx context.Context, req *adminv1.UpdateDomainMappingRequest) (*adminv1.DomainMapping, error) {
	return updateResource(ctx, s, domainMappings, req.GetDomainMapping(), req.GetUpdateMask(), func(tx store.Tx, old, m *adminv1.DomainMapping) error {
		if err := checkDomainMapping(tx, m); err != nil {
			return err
		}
		if proto.Equal(old, m) {
			return nil
		}
		return s.checkMappingServable(ctx, tx, m)
	})
}

// DeleteDomainMapping deletes a domain mapping.
func (s *Service) DeleteDomainMapping(ctx context.Context, req *adminv1.DeleteDomainMappingRequest) (*emptypb.Empty, error) {
	if err := deleteResource[adminv1.DomainMapping](ctx, s, domainMappings, req.GetName(), req.GetEtag(), nil); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// checkDomainMapping validates a mapping, that its stage exists, and that
// no other mapping has the same domain and base path.
func checkDomainMapping(tx store.Tx, m *adminv1.DomainMapping) error {
	var v violations
	m.Domain = strings.TrimSuffix(m.GetDomain(), ".")
	switch d := m.GetDomain(); {
	case d == "":
		v.add("domain_mapping.domain", `is required, e.g. "api.example.com"`)
	case len(d) > 253 || !domainPattern.MatchString(d):
		v.add("domain_mapping.domain", "must be a lowercase host name without port, e.g. \"api.example.com\" (got %s)", quoteShort(d))
	}
	if p := m.GetBasePath(); p != "" && !basePathPattern.MatchString(p) {
		v.add("domain_mapping.base_path", `must be empty or a path such as "/orders" or "/v1/orders", without a trailing "/" (got %s)`, quoteShort(p))
	}
	if ids := checkName(&v, "domain_mapping.stage", m.GetStage(), "apis/*/stages/*"); ids != nil {
		if err := checkRef(tx, &v, "domain_mapping.stage", kindStages, "stage", m.GetStage()); err != nil {
			return err
		}
	}
	if err := checkDomainTLS(tx, &v, m); err != nil {
		return err
	}
	if err := v.err(); err != nil {
		return err
	}
	others, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.GetName() != m.GetName() && o.GetDomain() == m.GetDomain() && o.GetBasePath() == m.GetBasePath() {
			return alreadyExists("domain mapping", o.GetName()+" (for "+m.GetDomain()+m.GetBasePath()+")")
		}
	}
	return nil
}

// checkMappingServable compiles a mapping about to be written with its
// stage: a stage the data plane cannot serve cannot be mapped.
func (s *Service) checkMappingServable(ctx context.Context, tx store.Tx, m *adminv1.DomainMapping) error {
	if s.preflight == nil {
		return nil
	}
	st, err := load[adminv1.Stage](tx, kindStages, m.GetStage())
	if err != nil {
		return err
	}
	return s.checkStageServable(ctx, tx, st, []*adminv1.DomainMapping{m}, func(PreflightProblem) string { return "domain_mapping.stage" })
}

// refuseIfMapped fails when a domain mapping serves the stage.
func refuseIfMapped(tx store.Tx, stage string) error {
	all, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.GetStage() == stage {
			return preconditionFailed("DOMAIN_MAPPING_USES_STAGE", m.GetName(),
				"stage %q is served under %s%s by domain mapping %q: delete or change the mapping first", stage, m.GetDomain(), m.GetBasePath(), m.GetName())
		}
	}
	return nil
}
