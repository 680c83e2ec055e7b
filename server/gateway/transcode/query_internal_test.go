package transcode

import (
	"errors"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/dynamicpb"

	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
)

// compareWithGrpcGateway parses values into a generated QueryRequest with
// runtime.DefaultQueryParser and into a dynamic one with
// populateQueryParameters, and fails unless both set the same fields or
// fail with the same message. It reports whether the comparison was made:
// invalid UTF-8, which only populateQueryParameters refuses, is skipped.
func compareWithGrpcGateway(t *testing.T, values url.Values, filter *utilities.DoubleArray) bool {
	t.Helper()
	want := &testingv1.QueryRequest{}
	wantErr := (&runtime.DefaultQueryParser{}).Parse(want, values, filter)

	dyn := dynamicpb.NewMessage(want.ProtoReflect().Descriptor())
	gotErr := populateQueryParameters(dyn, values, filter)
	if errors.Is(gotErr, errInvalidUTF8) {
		return false
	}
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		t.Fatalf("query %q: error %v, grpc-gateway's %v", values.Encode(), gotErr, wantErr)
	}
	if wantErr != nil {
		return true
	}
	b, err := proto.Marshal(dyn)
	if err != nil {
		t.Fatalf("query %q: marshaling the dynamic message: %v", values.Encode(), err)
	}
	got := &testingv1.QueryRequest{}
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatalf("query %q: %v", values.Encode(), err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		t.Fatalf("query %q (-grpc-gateway +ours):\n%s", values.Encode(), diff)
	}
	return true
}

// TestQueryParserMatchesGrpcGateway checks that the query parser sets the
// fields grpc-gateway's sets, and fails the same way, on a generated
// message (whose enums grpc-gateway can find in GlobalTypes).
func TestQueryParserMatchesGrpcGateway(t *testing.T) {
	filter := utilities.NewDoubleArray([][]string{{"nested", "name"}, {"text"}})
	for _, query := range []string{
		"",
		"text=a",
		"int32_value=-5&int64Value=9007199254740993&uint32_value=7&uint64_value=18446744073709551615",
		"double_value=1.5&float_value=-2.25&bool_value=true&bytes_value=aGVsbG8&sint64_value=-3&fixed64_value=4",
		"double_value=NaN", "double_value=Inf", "double_value=1_0", "float_value=1e40",
		"color=COLOR_RED", "color=3", "color=PURPLE", "color=4", "color=-1",
		"texts=a&texts=b&int64_values=1&int64_values=x",
		"colors=COLOR_RED&colors=2",
		"colors=COLOR_RED&colors=9",
		"nested.name=n&nested.level=4&nested.color=COLOR_GREEN&nested.child.name=leaf&nested.child.level=9&nested.tags=a&nested.tags=b",
		"nested.child.level=x",
		"nested.level=1&nested.level=2",
		"nesteds.name=a",
		"labels[env]=prod&labels[tier]=1&counts[a]=5",
		"counts[a]=x", "counts[a]=1&counts[a]=2", "text[x]=1", "labels=a",
		"time=2024-01-02T03:04:05.678Z", "time=0000-01-01T00:00:00Z", "time=x",
		"duration=1m30s", "duration=1d",
		"mask=a,b.c", "mask=",
		"string_wrapper=s&int64_wrapper=-9&bool_wrapper=false&double_wrapper=0.5&bytes_wrapper=AQID",
		"int32_wrapper=3&uint64_wrapper=4&uint32_wrapper=5&float_wrapper=1.25",
		"int32_wrapper=3000000000", "uint32_wrapper=-1",
		`struct_value={"a":1}`, `struct_value=[]`, `value="x"`, `value=nope`,
		"list_value=[1]", "any={}", "empty={}", "empty=x", "empty=",
		"choice_text=a", "choice_number=5", "choice_text=a&choice_number=1",
		"optional_text=", "optionalText=x",
		"times=2024-01-02T03:04:05Z&times=1970-01-01T00:00:00Z",
		"nope=1", "nested.nope=1", "text.x=1", "int64_value.x=1",
		"int64_value=1&int64Value=2",
		"nested.name=filtered", "text=filtered", "nested=x",
	} {
		values, err := url.ParseQuery(query)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", query, err)
		}
		for _, f := range []*utilities.DoubleArray{utilities.NewDoubleArray(nil), filter} {
			compareWithGrpcGateway(t, values, f)
		}
	}
}

// FuzzQueryParameters checks the query parser against grpc-gateway's on
// one key and value: the same fields set, the same errors, no panic.
func FuzzQueryParameters(f *testing.F) {
	for _, seed := range [][2]string{
		{"text", "a"}, {"int64Value", "12"}, {"color", "COLOR_BLUE"}, {"colors", "2"}, {"nested.child.level", "3"},
		{"labels[k]", "v"}, {"counts[k]", "-1"}, {"time", "2024-01-02T03:04:05Z"}, {"duration", "1s"},
		{"struct_value", `{"a":[1,{"b":null}]}`}, {"value", "[[1]]"}, {"mask", "a,b"}, {"empty", "{}"},
		{"bytes_value", "_-8"}, {"double_value", "1e308"}, {"choice_number", "1"}, {"float_wrapper", "NaN"},
	} {
		f.Add(seed[0], seed[1])
	}
	filter := utilities.NewDoubleArray([][]string{{"nested", "name"}})
	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) {
			return
		}
		start := time.Now()
		compareWithGrpcGateway(t, url.Values{key: {value}}, filter)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%q=%q took %v", key, value, d)
		}
	})
}
