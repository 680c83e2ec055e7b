package validate_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/validate"
)

// rawCodec is a Codec over proto messages that keep every field unknown.
type rawCodec struct{}

func (rawCodec) NewMessage() any                 { return new(emptypb.Empty) }
func (rawCodec) Marshal(m any) ([]byte, error)   { return proto.Marshal(m.(proto.Message)) }
func (rawCodec) Unmarshal(b []byte, m any) error { return proto.Unmarshal(b, m.(proto.Message)) }

// TestCheckRequired: google.api.field_behavior REQUIRED fields, nested
// ones included, with a path per violation. The admin API's own messages
// carry the annotation.
func TestCheckRequired(t *testing.T) {
	v := validate.New(rawCodec{})
	md := (&adminv1.CreateRouteRequest{}).ProtoReflect().Descriptor()
	tests := []struct {
		name string
		req  *adminv1.CreateRouteRequest
		want []string
	}{
		{"valid", &adminv1.CreateRouteRequest{Parent: "apis/a", Route: &adminv1.Route{}}, nil},
		{"missing parent and route", &adminv1.CreateRouteRequest{}, []string{"parent", "route"}},
		{"nested", &adminv1.CreateRouteRequest{Parent: "apis/a", Route: &adminv1.Route{Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{}}}},
			[]string{"route.http.method", "route.http.path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Check(md, b)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v", st.Code())
			}
			var got []string
			reason := ""
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.BadRequest:
					for _, fv := range d.GetFieldViolations() {
						got = append(got, fv.GetField())
					}
				case *errdetails.ErrorInfo:
					reason = d.GetReason()
				}
			}
			if reason != validate.Reason {
				t.Errorf("reason = %q", reason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewIsCheap: the rules' CEL environment (megabytes of live heap) is
// built on the first check, not by New, so a gateway that validates
// nothing does not hold it.
func TestNewIsCheap(t *testing.T) {
	if allocs := testing.AllocsPerRun(10, func() { validate.New(rawCodec{}) }); allocs > 10 {
		t.Errorf("New: %.0f allocations, want at most 10", allocs)
	}
}
