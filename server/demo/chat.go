package demo

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// Names of the demo's WebSocket API.
const (
	// ChatAPIName is the resource name of the demo WebSocket API.
	ChatAPIName = "apis/chat"
	// ChatStageID is the ID of its stage: clients connect to ws://{data addr}/live.
	ChatStageID = "live"
	// ChatStageName is the resource name of its stage.
	ChatStageName = ChatAPIName + "/stages/" + ChatStageID
)

// chatMethod is the example backend's WebSocket integration method.
const chatMethod = "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage"

// chatRoutes are the demo chat's routes by ID.
var chatRoutes = map[string]*adminv1.Route{
	"connect":    {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$connect"}},
	"disconnect": {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$disconnect"}},
	"send":       {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "send"}},
	"whoami":     {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "whoami"}, ReturnResponse: true},
	"default":    {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$default"}, ReturnResponse: true},
}

// deployChat creates (or updates) the demo WebSocket API for the example
// chat backend at backendAddr, deploys it and points the stage "live" at
// the deployment.
func deployChat(ctx context.Context, svc adminv1.AdminServiceServer, backendAddr string) error {
	api := &adminv1.Api{
		DisplayName:              "Chat demo",
		Description:              "Created by `tollgate serve --demo`: the example chat backend (WebSocket), running inside the gateway process.",
		Protocol:                 adminv1.Api_PROTOCOL_WEBSOCKET,
		RouteSelectionExpression: "$request.body.action",
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Target: backendAddr, Method: chatMethod,
		}}},
	}
	if _, err := svc.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: "chat", Api: api}); status.Code(err) == codes.AlreadyExists {
		api.Name = ChatAPIName
		_, err = svc.UpdateApi(ctx, &adminv1.UpdateApiRequest{Api: api, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_integration"}}})
		if err != nil {
			return fmt.Errorf("demo: update chat api: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo: create chat api: %w", err)
	}
	for id, r := range chatRoutes {
		_, err := svc.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: ChatAPIName, RouteId: id, Route: r})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("demo: create chat route %s: %w", id, err)
		}
	}
	dep, err := svc.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: ChatAPIName, Deployment: &adminv1.Deployment{
		Description: "Demo deployment: the example chat backend at " + backendAddr + ".",
	}})
	if err != nil {
		return fmt.Errorf("demo: create chat deployment: %w", err)
	}
	_, err = svc.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: ChatAPIName, StageId: ChatStageID, Stage: &adminv1.Stage{Deployment: dep.GetName()}})
	if status.Code(err) == codes.AlreadyExists {
		var old *adminv1.Stage
		if old, err = svc.GetStage(ctx, &adminv1.GetStageRequest{Name: ChatStageName}); err == nil {
			_, err = svc.UpdateStage(ctx, &adminv1.UpdateStageRequest{
				Stage:      &adminv1.Stage{Name: ChatStageName, Deployment: dep.GetName()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment"}},
			})
			if err == nil && old.GetDeployment() != dep.GetName() {
				_, _ = svc.DeleteDeployment(ctx, &adminv1.DeleteDeploymentRequest{Name: old.GetDeployment()})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("demo: chat stage: %w", err)
	}
	return nil
}
