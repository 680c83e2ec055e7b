package demo

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// deployChat creates what is missing of the demo WebSocket API for the
// example chat backend (the API, its routes, a deployment and the stage
// "live") and points the stage's variable "backend" at backendAddr.
func deployChat(ctx context.Context, svc adminv1.AdminServiceServer, backendAddr string) error {
	api := &adminv1.Api{
		DisplayName:              "Chat demo",
		Description:              "Created by `tollgate serve --demo`: the example chat backend (WebSocket), running inside the gateway process.",
		Protocol:                 adminv1.Api_PROTOCOL_WEBSOCKET,
		RouteSelectionExpression: "$request.body.action",
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Target: backendTarget, Method: chatMethod,
		}}},
	}
	_, changed, err := ensureAPI(ctx, svc, "chat", api)
	if err != nil {
		return err
	}
	for id, r := range chatRoutes {
		_, err := svc.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: ChatAPIName, RouteId: id, Route: r})
		switch {
		case err == nil:
			changed = true
		case status.Code(err) != codes.AlreadyExists:
			return fmt.Errorf("demo: create chat route %s: %w", id, err)
		}
	}
	_, _, err = ensureStage(ctx, svc, ChatAPIName, ChatStageID, backendAddr, changed, "Demo deployment of the example chat backend.")
	return err
}
