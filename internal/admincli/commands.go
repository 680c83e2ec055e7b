package admincli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// admin returns the typed admin client.
func (c *client) admin() (adminv1.AdminServiceClient, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	return adminv1.NewAdminServiceClient(conn), nil
}

// apiName accepts "shop" or "apis/shop".
func apiName(s string) string {
	if strings.HasPrefix(s, "apis/") {
		return s
	}
	return "apis/" + s
}

// settingsCommand is `tollgate settings get|update`: the account settings,
// a singleton.
func (c *client) settingsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "settings", Short: "Show or change the gateway-wide settings (account throttle)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "get",
		Short: "Show the settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.admin()
			if err != nil {
				return err
			}
			s, err := a.GetAccountSettings(cmd.Context(), &adminv1.GetAccountSettingsRequest{Name: "settings"})
			if err != nil {
				return err
			}
			return c.printOne(s.ProtoReflect())
		},
	})
	var file, data string
	var mask []string
	update := &cobra.Command{
		Use:   "update [-f FILE | --data JSON] [--mask FIELDS]",
		Short: "Change the settings (by default, the fields the input sets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			md := (&adminv1.AccountSettings{}).ProtoReflect().Descriptor()
			body, present, err := readResource(md, file, data, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if len(mask) > 0 {
				present = mask
			}
			if len(present) == 0 {
				return fmt.Errorf("nothing to change: the input sets no field (or pass --mask)")
			}
			settings, ok := body.Interface().(*adminv1.AccountSettings)
			if !ok {
				return fmt.Errorf("internal error: settings of type %T", body.Interface())
			}
			settings.Name = "settings"
			a, err := c.admin()
			if err != nil {
				return err
			}
			s, err := a.UpdateAccountSettings(cmd.Context(), &adminv1.UpdateAccountSettingsRequest{
				AccountSettings: settings, UpdateMask: &fieldmaskpb.FieldMask{Paths: present}})
			if err != nil {
				return err
			}
			return c.printOne(s.ProtoReflect())
		},
	}
	update.Flags().StringVarP(&file, "file", "f", "", "JSON or YAML `file` with the fields to change (- for stdin)")
	update.Flags().StringVar(&data, "data", "", "the fields to change as inline JSON or YAML")
	update.Flags().StringSliceVar(&mask, "mask", nil, "the `fields` to change (default: those the input sets)")
	cmd.AddCommand(update)
	return cmd
}

// deployCommand is `tollgate deploy API --stage S`: a new deployment of the
// API's current routes and authorizers, served by the stage (created if it
// does not exist).
func (c *client) deployCommand() *cobra.Command {
	var stage, description string
	cmd := &cobra.Command{
		Use:   "deploy API --stage STAGE",
		Short: "Deploy an API's current configuration to a stage",
		Long: `Creates a deployment of the API (an immutable snapshot of its schema, routes
and authorizers) and points the stage at it, creating the stage if needed.
Rolling back is pointing the stage at an older deployment:
  tollgate stages update STAGE --api API --data '{"deployment":"apis/API/deployments/ID"}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if stage == "" {
				return fmt.Errorf("--stage is required")
			}
			a, err := c.admin()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			api := apiName(args[0])
			dep, err := a.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: api, Deployment: &adminv1.Deployment{Description: description}})
			if err != nil {
				return err
			}
			stageName := api + "/stages/" + stage
			old, err := a.GetStage(ctx, &adminv1.GetStageRequest{Name: stageName})
			switch {
			case status.Code(err) == codes.NotFound:
				if _, err := a.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: api, StageId: stage, Stage: &adminv1.Stage{Deployment: dep.GetName()}}); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "created %s\ncreated stage %s serving it\n", dep.GetName(), stageName)
				return nil
			case err != nil:
				return err
			}
			_, err = a.UpdateStage(ctx, &adminv1.UpdateStageRequest{
				Stage:      &adminv1.Stage{Name: stageName, Deployment: dep.GetName(), Etag: old.GetEtag()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment"}},
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created %s\nstage %s: %s → %s\n", dep.GetName(), stageName, orNone(old.GetDeployment()), dep.GetName())
			return nil
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "the `stage` ID to serve the deployment")
	cmd.Flags().StringVar(&description, "description", "", "the deployment's description")
	return cmd
}

// usageCommand is `tollgate usage PLAN`: calls per key per day.
func (c *client) usageCommand() *cobra.Command {
	var from, to, key string
	cmd := &cobra.Command{
		Use:   "usage PLAN [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--key KEY]",
		Short: "Show a usage plan's calls per key per day and the quota left",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := c.admin()
			if err != nil {
				return err
			}
			plan := args[0]
			if !strings.HasPrefix(plan, "usagePlans/") {
				plan = "usagePlans/" + plan
			}
			if key != "" && !strings.HasPrefix(key, "apiKeys/") {
				key = "apiKeys/" + key
			}
			req := &adminv1.GetUsageRequest{UsagePlan: plan, StartDate: from, EndDate: to, ApiKey: key, PageSize: 1000}
			var items []*adminv1.KeyUsage
			var resp *adminv1.GetUsageResponse
			for {
				resp, err = a.GetUsage(cmd.Context(), req)
				if err != nil {
					return err
				}
				items = append(items, resp.GetItems()...)
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if c.output != "table" {
				resp.Items, resp.NextPageToken = items, ""
				return c.printOne(resp.ProtoReflect())
			}
			fmt.Fprintf(c.stdout, "%s, %s to %s\n", plan, resp.GetStartDate(), resp.GetEndDate())
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tDATE\tCALLS\tQUOTA LEFT")
			for _, ku := range items {
				left := "-"
				if ku.GetRemainingQuota() >= 0 {
					left = fmt.Sprint(ku.GetRemainingQuota())
				}
				for _, d := range ku.GetDays() {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", ku.GetApiKey(), d.GetDate(), d.GetCalls(), left)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first UTC `day` (default: the start of the plan's current quota period)")
	cmd.Flags().StringVar(&to, "to", "", "last UTC `day`, inclusive (default: today)")
	cmd.Flags().StringVar(&key, "key", "", "only this API `key`")
	return cmd
}

// flushCacheCommand is `tollgate flush-cache API STAGE`: empties the
// stage's response cache, or its authorizer caches.
func (c *client) flushCacheCommand() *cobra.Command {
	var authorizers bool
	var authorizer string
	cmd := &cobra.Command{
		Use:   "flush-cache API STAGE [--authorizers [--authorizer ID]]",
		Short: "Empty a stage's response cache (or, with --authorizers, its authorizer caches)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := c.admin()
			if err != nil {
				return err
			}
			stage := apiName(args[0]) + "/stages/" + args[1]
			if authorizers || authorizer != "" {
				if authorizer != "" && !strings.Contains(authorizer, "/") {
					authorizer = apiName(args[0]) + "/authorizers/" + authorizer
				}
				if _, err := a.FlushStageAuthorizersCache(cmd.Context(), &adminv1.FlushStageAuthorizersCacheRequest{Name: stage, Authorizer: authorizer}); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "emptied the authorizer caches of %s\n", stage)
				return nil
			}
			if _, err := a.FlushStageCache(cmd.Context(), &adminv1.FlushStageCacheRequest{Name: stage}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "emptied the response cache of %s\n", stage)
			return nil
		},
	}
	cmd.Flags().BoolVar(&authorizers, "authorizers", false, "empty the custom authorizers' policy caches instead")
	cmd.Flags().StringVar(&authorizer, "authorizer", "", "only this authorizer's cache (implies --authorizers)")
	return cmd
}

// orNone is s, or "(none)".
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
