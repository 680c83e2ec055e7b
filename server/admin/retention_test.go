package admin_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestDeploymentRetention checks that CreateDeployment keeps the API's
// deployment_retention newest deployments no stage serves, and every
// deployment a stage serves, so that the store stops growing (issue 23).
func TestDeploymentRetention(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, v1, _ := seedAPI(t, e) // stage prod serves v1
	wantCode(t, func() error {
		_, err := e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), DeploymentRetention: -1},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment_retention"}}})
		return err
	}(), codes.InvalidArgument)
	must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), DeploymentRetention: 2},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment_retention"}}}))
	names := func() []string {
		t.Helper()
		resp := must[*adminv1.ListDeploymentsResponse](t)(e.client.ListDeployments(c, &adminv1.ListDeploymentsRequest{Parent: api.GetName()}))
		var out []string
		for _, d := range resp.GetDeployments() {
			out = append(out, d.GetName())
		}
		return out
	}
	for _, id := range []string{"v2", "v3", "v4", "v5"} {
		must[*adminv1.Deployment](t)(e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: id}))
	}
	want := []string{v1.GetName(), api.GetName() + "/deployments/v4", api.GetName() + "/deployments/v5"}
	if got := names(); !slices.Equal(got, want) {
		t.Errorf("deployments %v, want %v (the served one and the two newest)", got, want)
	}
}
