package customauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"
)

func ExampleMatchResource() {
	fmt.Println(customauth.MatchResource("shop/prod/GET/*", "shop/prod/GET/v1/pets/1"))
	fmt.Println(customauth.MatchResource("shop/prod/*/v1/pets/*", "shop/prod/DELETE/v1/pets/1"))
	fmt.Println(customauth.MatchResource("shop/prod/GET/pets", "shop/prod/DELETE/pets/1"))
	// Output:
	// true
	// true
	// false
}

func ExampleAuthorizer_Decide() {
	// An authorizer in the same process; NewGRPCCaller and NewHTTPCaller
	// reach one elsewhere.
	caller := customauth.CallerFunc(func(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		if req.GetAuthorizationToken() != "Bearer alice" {
			return &datav1.AuthorizeResponse{}, nil // an empty policy denies
		}
		return &datav1.AuthorizeResponse{
			PrincipalId: "alice",
			Policy: []*datav1.Statement{
				{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/prod/GET/*"}},
				{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"shop/prod/GET/v1/admin/*"}},
			},
		}, nil
	})
	a := customauth.New(caller, customauth.WithTTL(5*time.Minute))

	for _, resource := range []string{"shop/prod/GET/v1/pets/1", "shop/prod/GET/v1/admin/users", "shop/prod/DELETE/v1/pets/1"} {
		req := customauth.Request{
			AuthorizerName:  "apis/shop/authorizers/users",
			Generation:      "deployments/d1",
			Type:            datav1.AuthorizeRequest_TYPE_TOKEN,
			IdentitySources: []string{"$request.header.Authorization"},
			IdentityValues:  []string{"Bearer alice"},
			MethodResource:  resource,
			Proto: &datav1.AuthorizeRequest{
				Type:               datav1.AuthorizeRequest_TYPE_TOKEN,
				AuthorizationToken: "Bearer alice",
				MethodResource:     resource,
			},
		}
		d, err := a.Decide(context.Background(), req)
		switch {
		case errors.Is(err, customauth.ErrAuthorizerTimeout):
			fmt.Println("504")
		case err != nil:
			fmt.Println("500")
		default:
			fmt.Printf("%s: allowed=%v principal=%s cached=%v\n", resource, d.Allowed, d.PrincipalID, d.FromCache)
		}
	}
	// Output:
	// shop/prod/GET/v1/pets/1: allowed=true principal=alice cached=false
	// shop/prod/GET/v1/admin/users: allowed=false principal=alice cached=true
	// shop/prod/DELETE/v1/pets/1: allowed=false principal=alice cached=true
}

func ExampleNewGRPCCaller() {
	conn, err := grpc.NewClient("authorizer.internal:8443", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	a := customauth.New(customauth.NewGRPCCaller(conn), customauth.WithTimeout(2*time.Second))
	_ = a // one Authorizer per configured authorizer, shared by every call
}
