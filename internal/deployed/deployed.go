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
