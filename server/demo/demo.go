package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

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

// Run starts the example backend on a free loopback port and, through svc,
// creates (or, when it already exists, updates) the API apis/bookstore for
// it, creates a deployment of that API and points the stage
// apis/bookstore/stages/demo at it, creating the stage if needed. It logs
// what it set up and how to call it.
//
// The returned stop stops the backend; the configuration stays. On error
// nothing keeps running, but resources created before the failure remain
// (a later run updates them).
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
	api, apiCreated, err := upsertAPI(ctx, svc, apiResource(fds, backend.Addr()))
	if err != nil {
		return nil, err
	}
	dep, err := svc.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{
		Parent: api.GetName(),
		Deployment: &adminv1.Deployment{
			Description: "Demo deployment: the example backend at " + backend.Addr() + ".",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: create deployment: %w", err)
	}
	stage, previous, err := upsertStage(ctx, svc, dep.GetName())
	if err != nil {
		return nil, err
	}
	if previous != "" && previous != dep.GetName() {
		// Each start deploys anew, so the deployment the stage served
		// before is now unused; removing it keeps restarts from piling up
		// deployments. Failure is harmless (say, a canary still uses it).
		if _, err := svc.DeleteDeployment(ctx, &adminv1.DeleteDeploymentRequest{Name: previous}); err != nil {
			logger.Debug("demo: kept the previous deployment", "deployment", previous, "reason", err)
		}
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

	verb := "updated"
	if apiCreated {
		verb = "created"
	}
	logger.Info("demo: "+verb+" the bookstore API and deployed it",
		"api", api.GetName(), "deployment", dep.GetName(), "stage", stage.GetName(),
		"backend_addr", backend.Addr())
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
			"command", fmt.Sprintf("websocat 'ws://%s/%s?room=lobby&name=ann'", o.dataAddr, ChatStageID))
	}
	logger.Info("demo: call the backend directly",
		"command", fmt.Sprintf("grpcurl -plaintext %s tollgate.example.v1.BookstoreService/ListShelves", backend.Addr()))
	return func() {
		chat.Stop()
		backend.Stop()
	}, nil
}

// apiResource returns the demo API as the demo wants it.
func apiResource(fds []byte, backendAddr string) *adminv1.Api {
	return &adminv1.Api{
		DisplayName: apiDisplayName,
		Description: apiDescription,
		Protocol:    adminv1.Api_PROTOCOL_GRPC_REST,
		DescriptorSource: &adminv1.Api_FileDescriptorSet{
			FileDescriptorSet: fds,
		},
		DefaultIntegration: &adminv1.Integration{
			Target: &adminv1.Integration_Grpc{
				Grpc: &adminv1.GrpcIntegration{Target: backendAddr},
			},
		},
	}
}

// upsertAPI creates the demo API, or updates the fields the demo owns when
// it already exists. created reports which happened.
func upsertAPI(ctx context.Context, svc adminv1.AdminServiceServer, want *adminv1.Api) (api *adminv1.Api, created bool, err error) {
	api, err = svc.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: APIID, Api: want})
	if err == nil {
		return api, true, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return nil, false, fmt.Errorf("demo: create api: %w", err)
	}
	patch := proto.Clone(want).(*adminv1.Api)
	patch.Name = APIName
	api, err = svc.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api: patch,
		// Only what the demo owns: the protocol is immutable, and settings
		// a user added (say, an API key source) are left alone.
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{
			"display_name", "description", "file_descriptor_set", "default_integration",
		}},
	})
	if err != nil {
		return nil, false, fmt.Errorf("demo: update api: %w", err)
	}
	return api, false, nil
}

// upsertStage points the demo stage at deployment, creating the stage if
// needed. previous is the deployment the stage served before, or "".
func upsertStage(ctx context.Context, svc adminv1.AdminServiceServer, deployment string) (stage *adminv1.Stage, previous string, err error) {
	const description = "Demo stage, updated by every `tollgate serve --demo`."
	stage, err = svc.CreateStage(ctx, &adminv1.CreateStageRequest{
		Parent:  APIName,
		StageId: StageID,
		Stage:   &adminv1.Stage{Description: description, Deployment: deployment},
	})
	if err == nil {
		return stage, "", nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return nil, "", fmt.Errorf("demo: create stage: %w", err)
	}
	old, err := svc.GetStage(ctx, &adminv1.GetStageRequest{Name: StageName})
	if err != nil {
		return nil, "", fmt.Errorf("demo: get stage: %w", err)
	}
	stage, err = svc.UpdateStage(ctx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: StageName, Description: description, Deployment: deployment},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "deployment"}},
	})
	if err != nil {
		return nil, "", fmt.Errorf("demo: update stage: %w", err)
	}
	return stage, old.GetDeployment(), nil
}

// errNilService is returned by Run when svc is nil.
var errNilService = errors.New("demo: an admin service is required")
