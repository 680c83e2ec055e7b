package admincli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// applyCommand is `tollgate apply -f FILE|DIR [--dry-run] [--prune]`.
func (c *client) applyCommand() *cobra.Command {
	var file string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR [--dry-run] [--prune]",
		Short: "Make the gateway's configuration match a YAML or JSON file (or a directory of them)",
		Long: `Creates what the file names and the gateway lacks, and updates the fields
the file sets where they differ; a second apply changes nothing. Stages with
"deploy: true" get a new deployment when their API, its routes or
authorizers changed. --dry-run prints what would change; --prune also
deletes what the file does not name (APIs, their routes, authorizers and
stages, keys, plans and their keys, domain mappings). The format is
'tollgate export''s: see docs/declarative.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("--file is required")
			}
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			a, err := c.admin()
			if err != nil {
				return err
			}
			ap := &applier{admin: a, out: c.stdout, dryRun: dryRun, prune: prune, getenv: c.getenv}
			if err := ap.apply(cmd.Context(), cfg); err != nil {
				return err
			}
			switch {
			case ap.changes == 0:
				fmt.Fprintln(c.stdout, "no changes: the gateway matches the configuration")
			case dryRun:
				fmt.Fprintf(c.stdout, "%d change(s) would be made (dry run)\n", ap.changes)
			default:
				fmt.Fprintf(c.stdout, "%d change(s) made\n", ap.changes)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "configuration `file` or directory")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete what the configuration does not name")
	return cmd
}

// applier applies one configuration.
type applier struct {
	admin   adminv1.AdminServiceClient
	out     io.Writer
	dryRun  bool
	prune   bool
	getenv  Env
	changes int
}

// say prints one change.
func (ap *applier) say(verb, name string, fields []string) {
	ap.changes++
	if ap.dryRun {
		verb = "would " + verb
	}
	if len(fields) > 0 {
		fmt.Fprintf(ap.out, "%s %s (%s)\n", verb, name, strings.Join(fields, ", "))
		return
	}
	fmt.Fprintf(ap.out, "%s %s\n", verb, name)
}

// at wraps err with where in the configuration it happened.
func at(file, where string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", file, where, describe(err))
}

// apply applies cfg in dependency order.
func (ap *applier) apply(ctx context.Context, cfg *loadedConfig) error {
	for _, e := range cfg.APIs {
		if err := ap.applyAPI(ctx, cfg, e); err != nil {
			return err
		}
	}
	for _, k := range cfg.Keys {
		if err := ap.applyKey(ctx, cfg, k); err != nil {
			return err
		}
	}
	for _, p := range cfg.Plans {
		if err := ap.applyPlan(ctx, cfg, p); err != nil {
			return err
		}
	}
	for _, d := range cfg.Domains {
		where := "domains[" + d.ID + "]"
		want, paths, err := decode[*adminv1.DomainMapping](d.Fields)
		if err != nil {
			return at(cfg.file[d], where, err)
		}
		name := "domainMappings/" + d.ID
		_, err = ensure(ctx, ap, name, want, paths,
			func() (*adminv1.DomainMapping, error) {
				return ap.admin.GetDomainMapping(ctx, &adminv1.GetDomainMappingRequest{Name: name})
			},
			func() error {
				_, err := ap.admin.CreateDomainMapping(ctx, &adminv1.CreateDomainMappingRequest{DomainMappingId: d.ID, DomainMapping: want})
				return err
			},
			func(mask []string) error {
				want.Name = name
				_, err := ap.admin.UpdateDomainMapping(ctx, &adminv1.UpdateDomainMappingRequest{DomainMapping: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
				return err
			})
		if err != nil {
			return at(cfg.file[d], where, err)
		}
	}
	if cfg.Settings != nil {
		want, paths, err := decodeRaw[*adminv1.AccountSettings](cfg.Settings)
		if err != nil {
			return at("settings", "settings", err)
		}
		cur, err := ap.admin.GetAccountSettings(ctx, &adminv1.GetAccountSettingsRequest{Name: "settings"})
		if err != nil {
			return err
		}
		if changed := differing(cur, want, paths); len(changed) > 0 {
			ap.say("update", "settings", changed)
			if !ap.dryRun {
				want.Name = "settings"
				if _, err := ap.admin.UpdateAccountSettings(ctx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: changed}}); err != nil {
					return at("settings", "settings", err)
				}
			}
		}
	}
	if ap.prune {
		return ap.pruneTopLevel(ctx, cfg)
	}
	return nil
}

// applyAPI applies an API, its authorizers, routes and stages.
func (ap *applier) applyAPI(ctx context.Context, cfg *loadedConfig, e *APIEntry) error {
	file, where := cfg.file[e], "apis["+e.ID+"]"
	want, paths, err := decode[*adminv1.Api](e.Fields)
	if err != nil {
		return at(file, where, err)
	}
	if e.FileDescriptorSetFile != "" {
		b, err := os.ReadFile(filepath.Join(cfg.dirOf[e], e.FileDescriptorSetFile))
		if err != nil {
			return at(file, where+".fileDescriptorSetFile", err)
		}
		want.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: b}
		paths = append(paths, "file_descriptor_set")
	}
	if e.ServiceConfigFile != "" {
		b, err := os.ReadFile(filepath.Join(cfg.dirOf[e], e.ServiceConfigFile))
		if err != nil {
			return at(file, where+".serviceConfigFile", err)
		}
		want.ServiceConfigYaml = string(b)
		paths = append(paths, "service_config_yaml")
	}
	api := "apis/" + e.ID
	apiChanged, err := ensure(ctx, ap, api, want, paths,
		func() (*adminv1.Api, error) {
			return ap.admin.GetApi(ctx, &adminv1.GetApiRequest{Name: api, View: adminv1.ApiView_API_VIEW_FULL})
		},
		func() error {
			_, err := ap.admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: e.ID, Api: want})
			return err
		},
		func(mask []string) error {
			want.Name = api
			_, err := ap.admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{Api: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
			return err
		})
	if err != nil {
		return at(file, where, err)
	}
	for _, a := range e.Authorizers {
		w, p, err := decode[*adminv1.Authorizer](a.Fields)
		if err != nil {
			return at(file, where+".authorizers["+a.ID+"]", err)
		}
		name := api + "/authorizers/" + a.ID
		changed, err := ensure(ctx, ap, name, w, p,
			func() (*adminv1.Authorizer, error) {
				return ap.admin.GetAuthorizer(ctx, &adminv1.GetAuthorizerRequest{Name: name})
			},
			func() error {
				_, err := ap.admin.CreateAuthorizer(ctx, &adminv1.CreateAuthorizerRequest{Parent: api, AuthorizerId: a.ID, Authorizer: w})
				return err
			},
			func(mask []string) error {
				w.Name = name
				_, err := ap.admin.UpdateAuthorizer(ctx, &adminv1.UpdateAuthorizerRequest{Authorizer: w, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
				return err
			})
		if err != nil {
			return at(file, where+".authorizers["+a.ID+"]", err)
		}
		apiChanged = apiChanged || changed
	}
	for _, r := range e.Routes {
		w, p, err := decode[*adminv1.Route](r.Fields)
		if err != nil {
			return at(file, where+".routes["+r.ID+"]", err)
		}
		name := api + "/routes/" + r.ID
		changed, err := ensure(ctx, ap, name, w, p,
			func() (*adminv1.Route, error) { return ap.admin.GetRoute(ctx, &adminv1.GetRouteRequest{Name: name}) },
			func() error {
				_, err := ap.admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: api, RouteId: r.ID, Route: w})
				return err
			},
			func(mask []string) error {
				w.Name = name
				_, err := ap.admin.UpdateRoute(ctx, &adminv1.UpdateRouteRequest{Route: w, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
				return err
			})
		if err != nil {
			return at(file, where+".routes["+r.ID+"]", err)
		}
		apiChanged = apiChanged || changed
	}
	if ap.prune {
		pruned, err := ap.pruneChildren(ctx, e)
		if err != nil {
			return at(file, where, err)
		}
		apiChanged = apiChanged || pruned
	}
	deployment := ""
	for _, s := range e.Stages {
		sw := where + ".stages[" + s.ID + "]"
		w, p, err := decode[*adminv1.Stage](s.Fields)
		if err != nil {
			return at(file, sw, err)
		}
		name := api + "/stages/" + s.ID
		cur, err := ap.admin.GetStage(ctx, &adminv1.GetStageRequest{Name: name})
		if err != nil && status.Code(err) != codes.NotFound {
			return at(file, sw, err)
		}
		if s.Deploy && w.GetDeployment() == "" && (apiChanged || cur.GetDeployment() == "") {
			if deployment == "" {
				ap.say("create", "a deployment of "+api, nil)
				deployment = api + "/deployments/(new)"
				if !ap.dryRun {
					d, err := ap.admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: api, Deployment: &adminv1.Deployment{Description: "tollgate apply"}})
					if err != nil {
						return at(file, sw, err)
					}
					deployment = d.GetName()
				}
			}
			w.Deployment = deployment
			p = append(p, "deployment")
		}
		_, err = ensure(ctx, ap, name, w, p,
			func() (*adminv1.Stage, error) { return cur, err },
			func() error {
				_, err := ap.admin.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: api, StageId: s.ID, Stage: w})
				return err
			},
			func(mask []string) error {
				w.Name = name
				_, err := ap.admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: w, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
				return err
			})
		if err != nil {
			return at(file, sw, err)
		}
	}
	return nil
}

// applyKey applies an API key; its value is set on creation only.
func (ap *applier) applyKey(ctx context.Context, cfg *loadedConfig, k *KeyEntry) error {
	file, where := cfg.file[k], "keys["+k.ID+"]"
	want, paths, err := decode[*adminv1.ApiKey](k.Fields)
	if err != nil {
		return at(file, where, err)
	}
	if want.GetValue() != "" {
		return at(file, where, fmt.Errorf("a key's value never goes in the configuration: use valueFrom (env or file)"))
	}
	name := "apiKeys/" + k.ID
	_, err = ensure(ctx, ap, name, want, paths,
		func() (*adminv1.ApiKey, error) { return ap.admin.GetApiKey(ctx, &adminv1.GetApiKeyRequest{Name: name}) },
		func() error {
			if v := k.ValueFrom; v != nil {
				switch {
				case v.Env != "":
					want.Value = ap.getenv(v.Env)
					if want.Value == "" {
						return fmt.Errorf("valueFrom.env: %s is not set", v.Env)
					}
				case v.File != "":
					b, err := os.ReadFile(filepath.Join(cfg.dirOf[k], v.File))
					if err != nil {
						return fmt.Errorf("valueFrom.file: %w", err)
					}
					want.Value = strings.TrimSpace(string(b))
				}
			}
			_, err := ap.admin.CreateApiKey(ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: k.ID, ApiKey: want})
			return err
		},
		func(mask []string) error {
			want.Name = name
			_, err := ap.admin.UpdateApiKey(ctx, &adminv1.UpdateApiKeyRequest{ApiKey: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
			return err
		})
	return at(file, where, err)
}

// applyPlan applies a usage plan and its keys.
func (ap *applier) applyPlan(ctx context.Context, cfg *loadedConfig, p *PlanEntry) error {
	file, where := cfg.file[p], "plans["+p.ID+"]"
	want, paths, err := decode[*adminv1.UsagePlan](p.Fields)
	if err != nil {
		return at(file, where, err)
	}
	name := "usagePlans/" + p.ID
	_, err = ensure(ctx, ap, name, want, paths,
		func() (*adminv1.UsagePlan, error) {
			return ap.admin.GetUsagePlan(ctx, &adminv1.GetUsagePlanRequest{Name: name})
		},
		func() error {
			_, err := ap.admin.CreateUsagePlan(ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: p.ID, UsagePlan: want})
			return err
		},
		func(mask []string) error {
			want.Name = name
			_, err := ap.admin.UpdateUsagePlan(ctx, &adminv1.UpdateUsagePlanRequest{UsagePlan: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
			return err
		})
	if err != nil {
		return at(file, where, err)
	}
	have := map[string]bool{}
	if !ap.dryRun || planExists(ctx, ap, name) {
		members, err := listAll(func(token string) ([]*adminv1.UsagePlanKey, string, error) {
			r, err := ap.admin.ListUsagePlanKeys(ctx, &adminv1.ListUsagePlanKeysRequest{Parent: name, PageSize: 1000, PageToken: token})
			return r.GetUsagePlanKeys(), r.GetNextPageToken(), err
		})
		if err != nil {
			return at(file, where, err)
		}
		for _, m := range members {
			have[lastSegment(m.GetApiKey())] = true
		}
	}
	for _, id := range p.Keys {
		if have[id] {
			continue
		}
		ap.say("add", "apiKeys/"+id+" to "+name, nil)
		if !ap.dryRun {
			if _, err := ap.admin.CreateUsagePlanKey(ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: name, UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/" + id}}); err != nil {
				return at(file, where+".keys["+id+"]", err)
			}
		}
	}
	if ap.prune {
		for id := range have {
			if !slices.Contains(p.Keys, id) {
				ap.say("remove", "apiKeys/"+id+" from "+name, nil)
				if !ap.dryRun {
					if _, err := ap.admin.DeleteUsagePlanKey(ctx, &adminv1.DeleteUsagePlanKeyRequest{Name: name + "/keys/" + id}); err != nil {
						return at(file, where, err)
					}
				}
			}
		}
	}
	return nil
}

// planExists reports whether a plan exists (a dry run's new plan does not).
func planExists(ctx context.Context, ap *applier, name string) bool {
	_, err := ap.admin.GetUsagePlan(ctx, &adminv1.GetUsagePlanRequest{Name: name})
	return err == nil
}

// pruneChildren deletes an API's routes, authorizers and stages that the
// entry does not name. Routes go first: they may use an authorizer.
func (ap *applier) pruneChildren(ctx context.Context, e *APIEntry) (bool, error) {
	api := "apis/" + e.ID
	ids := func(es []*Entry) []string {
		var out []string
		for _, x := range es {
			out = append(out, x.ID)
		}
		return out
	}
	pruned := false
	routes, err := listAll(func(token string) ([]*adminv1.Route, string, error) {
		r, err := ap.admin.ListRoutes(ctx, &adminv1.ListRoutesRequest{Parent: api, PageSize: 1000, PageToken: token})
		return r.GetRoutes(), r.GetNextPageToken(), err
	})
	if err != nil && status.Code(err) != codes.NotFound {
		return false, err
	}
	for _, r := range routes {
		if !slices.Contains(ids(e.Routes), lastSegment(r.GetName())) {
			pruned = true
			ap.say("delete", r.GetName(), nil)
			if !ap.dryRun {
				if _, err := ap.admin.DeleteRoute(ctx, &adminv1.DeleteRouteRequest{Name: r.GetName()}); err != nil {
					return false, err
				}
			}
		}
	}
	authorizers, err := listAll(func(token string) ([]*adminv1.Authorizer, string, error) {
		r, err := ap.admin.ListAuthorizers(ctx, &adminv1.ListAuthorizersRequest{Parent: api, PageSize: 1000, PageToken: token})
		return r.GetAuthorizers(), r.GetNextPageToken(), err
	})
	if err != nil && status.Code(err) != codes.NotFound {
		return false, err
	}
	for _, a := range authorizers {
		if !slices.Contains(ids(e.Authorizers), lastSegment(a.GetName())) {
			pruned = true
			ap.say("delete", a.GetName(), nil)
			if !ap.dryRun {
				if _, err := ap.admin.DeleteAuthorizer(ctx, &adminv1.DeleteAuthorizerRequest{Name: a.GetName()}); err != nil {
					return false, err
				}
			}
		}
	}
	var stageIDs []string
	for _, s := range e.Stages {
		stageIDs = append(stageIDs, s.ID)
	}
	stages, err := listAll(func(token string) ([]*adminv1.Stage, string, error) {
		r, err := ap.admin.ListStages(ctx, &adminv1.ListStagesRequest{Parent: api, PageSize: 1000, PageToken: token})
		return r.GetStages(), r.GetNextPageToken(), err
	})
	if err != nil && status.Code(err) != codes.NotFound {
		return false, err
	}
	for _, s := range stages {
		if !slices.Contains(stageIDs, lastSegment(s.GetName())) {
			ap.say("delete", s.GetName(), nil)
			if !ap.dryRun {
				if _, err := ap.admin.DeleteStage(ctx, &adminv1.DeleteStageRequest{Name: s.GetName()}); err != nil {
					return false, err
				}
			}
		}
	}
	return pruned, nil
}

// pruneTopLevel deletes the domain mappings, plans, keys and APIs the
// configuration does not name, in that order (each may refer to the next).
func (ap *applier) pruneTopLevel(ctx context.Context, cfg *loadedConfig) error {
	named := map[string]bool{}
	for _, a := range cfg.APIs {
		named["apis/"+a.ID] = true
	}
	for _, k := range cfg.Keys {
		named["apiKeys/"+k.ID] = true
	}
	for _, p := range cfg.Plans {
		named["usagePlans/"+p.ID] = true
	}
	for _, d := range cfg.Domains {
		named["domainMappings/"+d.ID] = true
	}
	domains, err := listAll(func(token string) ([]*adminv1.DomainMapping, string, error) {
		r, err := ap.admin.ListDomainMappings(ctx, &adminv1.ListDomainMappingsRequest{PageSize: 1000, PageToken: token})
		return r.GetDomainMappings(), r.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	del := func(name string, f func() error) error {
		if named[name] {
			return nil
		}
		ap.say("delete", name, nil)
		if ap.dryRun {
			return nil
		}
		return f()
	}
	for _, d := range domains {
		if err := del(d.GetName(), func() error {
			_, err := ap.admin.DeleteDomainMapping(ctx, &adminv1.DeleteDomainMappingRequest{Name: d.GetName()})
			return err
		}); err != nil {
			return err
		}
	}
	plans, err := listAll(func(token string) ([]*adminv1.UsagePlan, string, error) {
		r, err := ap.admin.ListUsagePlans(ctx, &adminv1.ListUsagePlansRequest{PageSize: 1000, PageToken: token})
		return r.GetUsagePlans(), r.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	for _, p := range plans {
		if err := del(p.GetName(), func() error {
			_, err := ap.admin.DeleteUsagePlan(ctx, &adminv1.DeleteUsagePlanRequest{Name: p.GetName()})
			return err
		}); err != nil {
			return err
		}
	}
	keys, err := listAll(func(token string) ([]*adminv1.ApiKey, string, error) {
		r, err := ap.admin.ListApiKeys(ctx, &adminv1.ListApiKeysRequest{PageSize: 1000, PageToken: token})
		return r.GetApiKeys(), r.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := del(k.GetName(), func() error {
			_, err := ap.admin.DeleteApiKey(ctx, &adminv1.DeleteApiKeyRequest{Name: k.GetName()})
			return err
		}); err != nil {
			return err
		}
	}
	apis, err := listAll(func(token string) ([]*adminv1.Api, string, error) {
		r, err := ap.admin.ListApis(ctx, &adminv1.ListApisRequest{PageSize: 1000, PageToken: token})
		return r.GetApis(), r.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	for _, a := range apis {
		if err := del(a.GetName(), func() error {
			_, err := ap.admin.DeleteApi(ctx, &adminv1.DeleteApiRequest{Name: a.GetName(), Force: true})
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// ensure creates the resource name when get finds none, or updates the
// fields of paths that differ from want; it reports whether it changed
// anything (or, in a dry run, would have).
func ensure[M proto.Message](ctx context.Context, ap *applier, name string, want M, paths []string, get func() (M, error), create func() error, update func(mask []string) error) (bool, error) {
	_ = ctx
	cur, err := get()
	if status.Code(err) == codes.NotFound {
		ap.say("create", name, nil)
		if ap.dryRun {
			return true, nil
		}
		return true, create()
	}
	if err != nil {
		return false, err
	}
	changed := differing(cur, want, paths)
	if len(changed) == 0 {
		return false, nil
	}
	ap.say("update", name, changed)
	if ap.dryRun {
		return true, nil
	}
	return true, update(changed)
}

// differing returns the paths whose values differ between cur and want.
func differing(cur, want proto.Message, paths []string) []string {
	cm, wm := cur.ProtoReflect(), want.ProtoReflect()
	var out []string
	for _, p := range paths {
		fd := cm.Descriptor().Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			continue
		}
		if !cm.Get(fd).Equal(wm.Get(fd)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// decode builds a message of type M from an entry's JSON fields and returns
// the proto names of the top-level fields they set.
func decode[M proto.Message](fields map[string]json.RawMessage) (M, []string, error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		var zero M
		return zero, nil, err
	}
	return decodeRaw[M](raw)
}

// decodeRaw is decode of a JSON object.
func decodeRaw[M proto.Message](raw []byte) (M, []string, error) {
	var zero M
	m := zero.ProtoReflect().New().Interface().(M)
	if err := protojson.Unmarshal(raw, m); err != nil {
		return zero, nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return zero, nil, err
	}
	md := m.ProtoReflect().Descriptor()
	var paths []string
	for k := range top {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil || managed(fd) {
			continue
		}
		paths = append(paths, string(fd.Name()))
	}
	slices.Sort(paths)
	return m, paths, nil
}

// managed reports whether the gateway, not the configuration, sets fd: the
// name and OUTPUT_ONLY fields.
func managed(fd protoreflect.FieldDescriptor) bool {
	if fd.Name() == "name" || fd.Name() == "etag" {
		return true
	}
	behaviors, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return slices.Contains(behaviors, annotations.FieldBehavior_OUTPUT_ONLY)
}

// listAll pages through a List method.
func listAll[M any](page func(token string) ([]M, string, error)) ([]M, error) {
	var out []M
	token := ""
	for {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// lastSegment is the ID at the end of a resource name.
func lastSegment(name string) string {
	return name[strings.LastIndex(name, "/")+1:]
}
