package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// Names of the resources the demo creates.
const (
	// APIID is the ID of the demo API.
	APIID = "bookstore"
	// APIName is the resource name of the demo API.
	APIName = "apis/" + APIID
	// StageID is the ID of the demo stage.
	StageID = "demo"
	// StageName is the resource name of the demo stage.
	StageName = APIName + "/stages/" + StageID
)

// apiDisplayName is the display name of the demo API.
const apiDisplayName = "Bookstore demo"

// apiDescription says where the demo API comes from, for whoever finds it
// in a data dir later.
const apiDescription = "Created by `tollgate serve --demo`: the example bookstore backend, running inside the gateway process."

// Option configures [Run].
type Option func(*options)

type options struct {
	adminURL     string
	dataAddr     string
	tokenHint    string
	protosetPath string
}

// WithProtosetPath makes Run write the demo API's FileDescriptorSet to path,
// so that grpcurl can call the gateway with -protoset (the data port serves
// no reflection: schemas are the API owner's to publish).
func WithProtosetPath(path string) Option {
	return func(o *options) { o.protosetPath = path }
}

// WithDataAddr sets the data port's address, such as "127.0.0.1:8080", used
// in the how-to-call hints that Run logs.
func WithDataAddr(addr string) Option {
	return func(o *options) {
		if addr != "" {
			o.dataAddr = addr
		}
	}
}

// WithAdminURL sets the base URL of the admin REST API, such as
// "http://127.0.0.1:9090", used in the how-to-call hint that Run logs.
// Without it the hint uses the default admin address.
func WithAdminURL(url string) Option {
	return func(o *options) {
		if url != "" {
			o.adminURL = url
		}
	}
}

// WithTokenHint sets the shell expression that stands for the admin token in
// the how-to-call hint, such as "$(cat tollgate-data/admin-token)". The hint
// must never contain the token itself, because it is logged. Without it the
// hint uses "$TOLLGATE_ADMIN_TOKEN".
func WithTokenHint(expr string) Option {
	return func(o *options) {
		if expr != "" {
			o.tokenHint = expr
		}
	}
}

// backendVariable is the stage variable that holds the address of the
// demo's in-process backend: the backends listen on a new port at every
// start, and a stage variable lets the demo follow them without a new
// deployment, so a restart never touches the deployments a user made.
const backendVariable = "backend"

// backendTarget is the demo APIs' integration target.
const backendTarget = "${stageVariables." + backendVariable + "}"

// Run starts the example backends on free loopback ports and, through svc,
// creates what is missing of the demo: the API apis/bookstore (target
// ${stageVariables.backend}), a first deployment and the stage
// apis/bookstore/stages/demo, and the same for the WebSocket API apis/chat
// on the stage live. What exists is left as the user made it; only each
// stage's variable "backend" is set to its backend's new address. It logs
// what it set up and how to call it.
//
// The returned stop stops the backends; the configuration stays. On error
// nothing keeps running, but resources created before the failure remain
// (a later run completes them).
func Run(ctx context.Context, svc adminv1.AdminServiceServer, logger *slog.Logger, opts ...Option) (stop func(), err error) {
	if svc == nil {
		return nil, errNilService
	}
	o := options{adminURL: "http://127.0.0.1:9090", tokenHint: "$TOLLGATE_ADMIN_TOKEN"}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backend, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: start backend: %w", err)
	}
	defer func() {
		if err != nil {
			backend.Stop()
		}
	}()
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		return nil, fmt.Errorf("demo: encode descriptors: %w", err)
	}
	if o.protosetPath != "" {
		if err := os.WriteFile(o.protosetPath, fds, 0o644); err != nil {
			return nil, fmt.Errorf("demo: write protoset: %w", err)
		}
	}
	api, apiChanged, err := ensureAPI(ctx, svc, APIID, apiResource(fds))
	if err != nil {
		return nil, err
	}
	stage, deployed, err := ensureStage(ctx, svc, APIName, StageID, backend.Addr(), apiChanged,
		"Demo deployment of the example bookstore backend.")
	if err != nil {
		return nil, err
	}

	chat, err := examplebackend.StartChat("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: start chat backend: %w", err)
	}
	defer func() {
		if err != nil {
			chat.Stop()
		}
	}()
	if err := deployChat(ctx, svc, chat.Addr()); err != nil {
		return nil, err
	}

	switch {
	case deployed != "":
		logger.Info("demo: created the bookstore API's stage and deployed it",
			"api", api.GetName(), "deployment", deployed, "stage", stage.GetName(), "backend_addr", backend.Addr())
	default:
		logger.Info("demo: kept the bookstore API and its stage as they were; the stage variable "+backendVariable+" points at the new backend",
			"api", api.GetName(), "deployment", stage.GetDeployment(), "stage", stage.GetName(), "backend_addr", backend.Addr())
	}
	logger.Info("demo: inspect the stage with the admin API",
		"command", fmt.Sprintf(`curl -H "Authorization: Bearer %s" %s/v1/%s`, o.tokenHint, o.adminURL, stage.GetName()))
	if o.dataAddr != "" && o.protosetPath != "" {
		logger.Info("demo: call the API through the gateway over REST",
			"command", fmt.Sprintf("curl http://%s/%s/v1/shelves/fiction/books", o.dataAddr, StageID))
		logger.Info("demo: call the API through the gateway over gRPC",
			"command", fmt.Sprintf("grpcurl -plaintext -protoset %s %s tollgate.example.v1.BookstoreService/ListShelves", o.protosetPath, o.dataAddr))
	}
	if o.dataAddr != "" {
		logger.Info("demo: chat over WebSocket (the WebSocket API "+ChatAPIName+"), then send {\"action\":\"send\",\"text\":\"hi\"}",
			"command", fmt.Sprintf("npx wscat@6.1.0 -c 'ws://%s/%s?room=lobby&name=ann'", o.dataAddr, ChatStageID))
	}
	logger.Info("demo: call the backend directly",
		"command", fmt.Sprintf("grpcurl -plaintext %s tollgate.example.v1.BookstoreService/ListShelves", backend.Addr()))
	return func() {
		chat.Stop()
		backend.Stop()
	}, nil
}

// apiResource returns the demo API as the demo creates it.
func apiResource(fds []byte) *adminv1.Api {
	return &adminv1.Api{
		DisplayName: apiDisplayName,
		Description: apiDescription,
		Protocol:    adminv1.Api_PROTOCOL_GRPC_REST,
		DescriptorSource: &adminv1.Api_FileDescriptorSet{
			FileDescriptorSet: fds,
		},
		DefaultIntegration: &adminv1.Integration{
			Target: &adminv1.Integration_Grpc{
				Grpc: &adminv1.GrpcIntegration{Target: backendTarget},
			},
		},
	}
}

// ensureAPI creates the API id as want describes it when it does not exist.
// An existing API is left alone, but for one change: an API that an older
// demo pointed at a literal loopback address (before the stage variable)
// gets want's default integration. changed reports whether the API was
// created or changed, which needs a new deployment.
func ensureAPI(ctx context.Context, svc adminv1.AdminServiceServer, id string, want *adminv1.Api) (api *adminv1.Api, changed bool, err error) {
	api, err = svc.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: id, Api: want})
	if err == nil {
		return api, true, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return nil, false, fmt.Errorf("demo: create api %s: %w", id, err)
	}
	api, err = svc.GetApi(ctx, &adminv1.GetApiRequest{Name: "apis/" + id})
	if err != nil {
		return nil, false, fmt.Errorf("demo: get api %s: %w", id, err)
	}
	if !strings.HasPrefix(api.GetDefaultIntegration().GetGrpc().GetTarget(), "127.0.0.1:") {
		return api, false, nil
	}
	api, err = svc.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: api.GetName(), DefaultIntegration: want.GetDefaultIntegration()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_integration"}},
	})
	if err != nil {
		return nil, false, fmt.Errorf("demo: update api %s: %w", id, err)
	}
	return api, true, nil
}

// ensureStage sets the stage variable "backend" of the stage stageID of api
// to backendAddr, creating the stage with a first deployment when it does
// not exist. A stage that exists keeps its deployment unless deploy is set
// (the API was created or changed) or it serves none. deployed names the
// deployment created, or is "".
func ensureStage(ctx context.Context, svc adminv1.AdminServiceServer, api, stageID, backendAddr string, deploy bool, description string) (stage *adminv1.Stage, deployed string, err error) {
	name := api + "/stages/" + stageID
	stage, err = svc.GetStage(ctx, &adminv1.GetStageRequest{Name: name})
	if err != nil && status.Code(err) != codes.NotFound {
		return nil, "", fmt.Errorf("demo: get stage %s: %w", name, err)
	}
	exists := err == nil
	if !exists || deploy || stage.GetDeployment() == "" {
		dep, err := svc.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{
			Parent: api, Deployment: &adminv1.Deployment{Description: description},
		})
		if err != nil {
			return nil, "", fmt.Errorf("demo: create deployment of %s: %w", api, err)
		}
		deployed = dep.GetName()
	}
	if !exists {
		stage, err = svc.CreateStage(ctx, &adminv1.CreateStageRequest{
			Parent: api, StageId: stageID,
			Stage: &adminv1.Stage{
				Description: "Demo stage, created by `tollgate serve --demo`, which sets its variable " + backendVariable + " at every start.",
				Deployment:  deployed,
				Variables:   map[string]string{backendVariable: backendAddr},
			},
		})
		if err != nil {
			return nil, "", fmt.Errorf("demo: create stage %s: %w", name, err)
		}
		return stage, deployed, nil
	}
	vars := maps.Clone(stage.GetVariables())
	if vars == nil {
		vars = map[string]string{}
	}
	vars[backendVariable] = backendAddr
	patch := &adminv1.Stage{Name: name, Variables: vars, Etag: stage.GetEtag()}
	mask := []string{"variables"}
	if deployed != "" {
		patch.Deployment = deployed
		mask = append(mask, "deployment")
	}
	stage, err = svc.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
	if err != nil {
		return nil, "", fmt.Errorf("demo: update stage %s: %w", name, err)
	}
	return stage, deployed, nil
}

// errNilService is returned by Run when svc is nil.
var errNilService = errors.New("demo: an admin service is required")
