// Package deployed holds the one type the control plane and the data plane
// share to speak of what is deployed: a stage with the deployments it
// serves. The admin service reads them from the store
// (admin.DeployedStage) and the data plane compiles them
// (routing.Entry); both names stand for this type, so nothing is copied
// from one into the other.
package deployed
