package admincli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// exportCommand is `tollgate export [-f FILE]`.
func (c *client) exportCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export [-f FILE]",
		Short: "Write the gateway's configuration in the format 'tollgate apply' reads",
		Long: `Writes every API (with its descriptor set inline, its routes, authorizers and
stages, each stage with "deploy: true"), API key (without its value: a key
applied to another gateway gets a new one unless the file gains a
valueFrom), usage plan (with its keys), domain mapping and the settings, as
YAML (or JSON with -o json). Applying the export to an empty gateway
recreates the configuration; deployments are snapshots and are made anew.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.admin()
			if err != nil {
				return err
			}
			cfg, err := export(cmd.Context(), a)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				return err
			}
			if c.output != "json" {
				if b, err = yaml.JSONToYAML(b); err != nil {
					return err
				}
			}
			if file == "" || file == "-" {
				_, err = c.stdout.Write(b)
				return err
			}
			if err := os.WriteFile(file, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "wrote %s\n", file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to `file` instead of stdout")
	return cmd
}

// export reads the whole configuration.
func export(ctx context.Context, a adminv1.AdminServiceClient) (*Config, error) {
	cfg := &Config{}
	apis, err := listAll(func(token string) ([]*adminv1.Api, string, error) {
		r, err := a.ListApis(ctx, &adminv1.ListApisRequest{PageSize: 1000, PageToken: token, View: adminv1.ApiView_API_VIEW_FULL})
		return r.GetApis(), r.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	for _, api := range apis {
		e := &APIEntry{Entry: entryOf(api)}
		routes, err := listAll(func(token string) ([]*adminv1.Route, string, error) {
			r, err := a.ListRoutes(ctx, &adminv1.ListRoutesRequest{Parent: api.GetName(), PageSize: 1000, PageToken: token})
			return r.GetRoutes(), r.GetNextPageToken(), err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range routes {
			x := entryOf(r)
			e.Routes = append(e.Routes, &x)
		}
		authorizers, err := listAll(func(token string) ([]*adminv1.Authorizer, string, error) {
			r, err := a.ListAuthorizers(ctx, &adminv1.ListAuthorizersRequest{Parent: api.GetName(), PageSize: 1000, PageToken: token})
			return r.GetAuthorizers(), r.GetNextPageToken(), err
		})
		if err != nil {
			return nil, err
		}
		for _, x := range authorizers {
			y := entryOf(x)
			e.Authorizers = append(e.Authorizers, &y)
		}
		stages, err := listAll(func(token string) ([]*adminv1.Stage, string, error) {
			r, err := a.ListStages(ctx, &adminv1.ListStagesRequest{Parent: api.GetName(), PageSize: 1000, PageToken: token})
			return r.GetStages(), r.GetNextPageToken(), err
		})
		if err != nil {
			return nil, err
		}
		for _, s := range stages {
			// Deployments are snapshots of this gateway: the stage is
			// deployed anew where the export is applied.
			s = proto.Clone(s).(*adminv1.Stage)
			s.Deployment = ""
			if s.GetCanary() != nil {
				s.Canary = nil
			}
			e.Stages = append(e.Stages, &StageEntry{Entry: entryOf(s), Deploy: true})
		}
		cfg.APIs = append(cfg.APIs, e)
	}
	keys, err := listAll(func(token string) ([]*adminv1.ApiKey, string, error) {
		r, err := a.ListApiKeys(ctx, &adminv1.ListApiKeysRequest{PageSize: 1000, PageToken: token})
		return r.GetApiKeys(), r.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		k = proto.Clone(k).(*adminv1.ApiKey)
		k.Value = ""
		cfg.Keys = append(cfg.Keys, &KeyEntry{Entry: entryOf(k)})
	}
	plans, err := listAll(func(token string) ([]*adminv1.UsagePlan, string, error) {
		r, err := a.ListUsagePlans(ctx, &adminv1.ListUsagePlansRequest{PageSize: 1000, PageToken: token})
		return r.GetUsagePlans(), r.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		pe := &PlanEntry{Entry: entryOf(p)}
		members, err := listAll(func(token string) ([]*adminv1.UsagePlanKey, string, error) {
			r, err := a.ListUsagePlanKeys(ctx, &adminv1.ListUsagePlanKeysRequest{Parent: p.GetName(), PageSize: 1000, PageToken: token})
			return r.GetUsagePlanKeys(), r.GetNextPageToken(), err
		})
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			pe.Keys = append(pe.Keys, lastSegment(m.GetApiKey()))
		}
		cfg.Plans = append(cfg.Plans, pe)
	}
	domains, err := listAll(func(token string) ([]*adminv1.DomainMapping, string, error) {
		r, err := a.ListDomainMappings(ctx, &adminv1.ListDomainMappingsRequest{PageSize: 1000, PageToken: token})
		return r.GetDomainMappings(), r.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range domains {
		x := entryOf(d)
		cfg.Domains = append(cfg.Domains, &x)
	}
	settings, err := a.GetAccountSettings(ctx, &adminv1.GetAccountSettingsRequest{Name: "settings"})
	if err != nil {
		return nil, err
	}
	if s := entryOf(settings); len(s.Fields) > 0 {
		cfg.Settings, _ = json.Marshal(s.Fields)
	}
	return cfg, nil
}

// entryOf is a resource as a configuration entry: its ID and the JSON of
// the fields the configuration manages (not the name, nor OUTPUT_ONLY
// fields).
func entryOf(m proto.Message) Entry {
	m = proto.Clone(m)
	r := m.ProtoReflect()
	name := ""
	if fd := r.Descriptor().Fields().ByName("name"); fd != nil {
		name = r.Get(fd).String()
	}
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if managed(fd) {
			r.Clear(fd)
		}
		return true
	})
	b, _ := protojson.Marshal(m)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(b, &fields)
	return Entry{ID: lastSegment(name), Fields: fields}
}
