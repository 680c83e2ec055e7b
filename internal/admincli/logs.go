package admincli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// logsCommand is `tollgate logs [--since D] [--follow]`: the audit log of
// admin writes, oldest first, optionally followed as it grows.
func (c *client) logsCommand() *cobra.Command {
	var since time.Duration
	var follow bool
	var actor, resource string
	interval := 2 * time.Second
	cmd := &cobra.Command{
		Use:   "logs [--since 1h] [--follow] [--actor A] [--resource R]",
		Short: "Show the audit log of admin writes (who changed what, when, from where), and follow it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.admin()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			from := time.Now().Add(-since)
			seen := map[string]bool{}
			for {
				var batch []*adminv1.AuditEvent
				req := &adminv1.ListAuditEventsRequest{PageSize: 1000, Actor: actor, Resource: resource, StartTime: timestamppb.New(from)}
				for {
					resp, err := a.ListAuditEvents(ctx, req)
					if err != nil {
						return err
					}
					batch = append(batch, resp.GetAuditEvents()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						break
					}
				}
				// The API lists newest first; a log reads oldest first.
				slices.Reverse(batch)
				for _, e := range batch {
					if seen[e.GetName()] {
						continue
					}
					seen[e.GetName()] = true
					if t := e.GetTime().AsTime(); t.After(from) {
						from = t.Add(-time.Second) // overlap: events of the same second
					}
					if err := c.printEvent(e); err != nil {
						return err
					}
				}
				if !follow {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&since, "since", time.Hour, "show events from this long ago")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().StringVar(&actor, "actor", "", "only this admin token's events (its name, or \"bootstrap\")")
	cmd.Flags().StringVar(&resource, "resource", "", "only events about this resource name")
	return cmd
}

// printEvent prints one audit event: a line for people, or one JSON object
// per line (-o json) for scripts.
func (c *client) printEvent(e *adminv1.AuditEvent) error {
	if c.output != "table" {
		b, err := protojson.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	mask := ""
	if paths := e.GetUpdateMask().GetPaths(); len(paths) > 0 {
		mask = " (" + strings.Join(paths, ", ") + ")"
	}
	_, err := fmt.Fprintf(c.stdout, "%s  %-12s %-9s %s %s%s → %s  from %s\n",
		e.GetTime().AsTime().UTC().Format(time.RFC3339), e.GetActor(), RoleLabel(e.GetRole()),
		e.GetMethod(), e.GetResource(), mask, e.GetResult(), e.GetClientIp())
	return err
}

// RoleLabel is a role as people say it: "viewer", "operator", "admin".
func RoleLabel(r adminv1.AdminToken_Role) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
}
