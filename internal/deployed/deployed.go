// Package deployed holds the one type the control plane and the data plane
// share to speak of what is deployed: a stage with the deployments it
// serves. The admin service reads them from the store
// (admin.DeployedStage) and the data plane compiles them
// (routing.Entry); both names stand for this type, so nothing is copied
// from one into the other.
package deployed

import adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"

// Stage is a stage with the deployments it serves.
type Stage struct {
	// Stage is the stage's configuration.
	Stage *adminv1.Stage
	// Deployment is the deployment the stage serves.
	Deployment *adminv1.Deployment
	// Canary is the stage's canary deployment, or nil.
	Canary *adminv1.Deployment
}
