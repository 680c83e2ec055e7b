package transcode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// differentialBodyLimit is the body limit of the Transcoder under test in
// the differential test, small enough to exceed cheaply.
const differentialBodyLimit = 64 << 10

// difference is a deliberate difference between the Transcoder and
// grpc-gateway's generated handlers for one request.
type difference struct {
	// why says why the Transcoder answers differently.
	why string
	// ours and theirs are the HTTP statuses each answers with.
	ours, theirs int
	// check, if set, looks further at the Transcoder's response.
	check func(t *testing.T, r response)
}

// diffCase is one request of the differential test.
type diffCase struct {
	name string
	req  request
	// status is the status both must answer with; 0 skips the check.
	status int
	// differs, if set, describes a deliberate difference; the responses are
	// then not compared beyond it.
	differs *difference
}

// q builds a query string from key/value pairs, escaping them.
func q(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return "?" + b.String()
}

// deepStruct returns JSON with n nested objects inside a Struct field.
func deepStruct(n int) string {
	return `{"structValue":` + strings.Repeat(`{"a":`, n) + `{}` + strings.Repeat("}", n) + `}`
}

// deep returns JSON with n nested arrays inside a Value field.
func deep(n int) string {
	return `{"value":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
}

func get(path string, status int) diffCase {
	return diffCase{name: "GET " + path, req: request{path: path}, status: status}
}

func post(name, path, body string, status int) diffCase {
	return diffCase{name: name, req: request{method: http.MethodPost, path: path, body: body}, status: status}
}

// fullSearchBody sets every field of QueryRequest in JSON.
const fullSearchBody = `{
  "text": "héllo <&>",
  "int32Value": -5,
  "int64Value": "-9007199254740993",
  "uint32Value": 7,
  "uint64Value": 18446744073709551615,
  "doubleValue": "NaN",
  "floatValue": 2.25,
  "boolValue": true,
  "bytesValue": "aGVsbG8-_w",
  "color": "COLOR_BLUE",
  "texts": ["a", "b"],
  "int64Values": ["1", -2, 3],
  "colors": ["COLOR_RED", 3, "COLOR_UNSPECIFIED"],
  "nested": {"name": "n", "level": 4, "color": 2, "child": {"name": "leaf", "level": 9}, "tags": ["t"]},
  "labels": {"env": "prod", "": "empty"},
  "counts": {"a": "5", "b": -6},
  "time": "2024-01-02T03:04:05.678+01:00",
  "duration": "-1.5s",
  "mask": "displayName,nested.childLevel",
  "stringWrapper": "",
  "int64Wrapper": "0",
  "boolWrapper": false,
  "doubleWrapper": 1e300,
  "bytesWrapper": "",
  "int32Wrapper": 3,
  "uint64Wrapper": "4",
  "uint32Wrapper": 5,
  "floatWrapper": "Infinity",
  "structValue": {"a": 1, "b": [true, null, "x", {"c": {}}]},
  "value": {"k": [1.5]},
  "listValue": [1, "two", [3]],
  "any": {"@type": "type.googleapis.com/tollgate.testing.v1.Nested", "name": "in any", "child": {"level": 1}},
  "empty": {},
  "choiceNumber": "77",
  "optionalText": "",
  "nesteds": [{"name": "a"}, {}],
  "times": ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"],
  "sint64Value": "-3",
  "fixed64Value": "4"
}`

func diffCases() []diffCase {
	cases := []diffCase{
		// Query parameters.
		get("/v1/query", 200),
		get("/v1/query"+q("text", "hello", "int32Value", "-5", "int64_value", "9007199254740993", "uint32_value", "7",
			"uint64Value", "18446744073709551615", "double_value", "1.5", "float_value", "2.25", "bool_value", "true",
			"bytes_value", "aGVsbG8", "sint64_value", "-3", "fixed64Value", "4"), 200),
		get("/v1/query"+q("color", "COLOR_BLUE"), 200),
		get("/v1/query"+q("color", "2"), 200),
		get("/v1/query"+q("color", "PURPLE"), 400),
		get("/v1/query"+q("color", "9"), 400),
		get("/v1/query"+q("texts", "a", "texts", "b", "int64_values", "1", "int64Values", "-2", "colors", "COLOR_RED", "colors", "3"), 400),
		get("/v1/query?texts=a&texts=b&int64_values=1&int64_values=-2&colors=COLOR_RED&colors=3", 200),
		get("/v1/query"+q("nested.name", "n", "nested.level", "4", "nested.color", "COLOR_GREEN", "nested.child.name", "leaf", "nested.child.level", "9"), 200),
		get("/v1/query?nested.tags=t1&nested.tags=t2&nestedS=1", 200),
		get("/v1/query?labels[env]=prod&labels[tier]=1&counts[a]=5&counts[b]=-6", 200),
		get("/v1/query?counts[a]=x", 400),
		get("/v1/query?text[x]=1", 400),
		get("/v1/query?text.x=1", 400),
		get("/v1/query"+q("time", "2024-01-02T03:04:05.678Z", "duration", "1m30s", "mask", "a,b.c", "string_wrapper", "s",
			"int64_wrapper", "-9", "bool_wrapper", "false", "double_wrapper", "0.5", "bytes_wrapper", "AQID",
			"int32_wrapper", "3", "uint64_wrapper", "4", "uint32_wrapper", "5", "float_wrapper", "1.25"), 200),
		get("/v1/query"+q("struct_value", `{"a":1,"b":[true,null]}`, "value", `"x"`), 200),
		get("/v1/query"+q("list_value", `[1]`), 400),
		get("/v1/query"+q("any", `{}`), 400),
		get("/v1/query"+q("empty", `{}`), 200),
		get("/v1/query"+q("empty", `x`), 400),
		get("/v1/query"+q("choice_text", "a"), 200),
		get("/v1/query"+q("choice_text", "a", "choice_number", "1"), 400),
		get("/v1/query"+q("optional_text", ""), 200),
		get("/v1/query"+q("int32_value", "abc"), 400),
		get("/v1/query"+q("int32_value", "3000000000"), 400),
		get("/v1/query"+q("uint64_value", "-1"), 400),
		get("/v1/query?text=a&text=b", 400),
		get("/v1/query"+q("nope", "1", "nested.nope", "2"), 200),
		get("/v1/query"+q("double_value", "0x1p4"), 400),
		get("/v1/query"+q("double_value", "Infinity"), 200),
		get("/v1/query"+q("bool_value", "yes"), 400),
		get("/v1/query"+q("time", "yesterday"), 400),
		get("/v1/query"+q("duration", "1d"), 400),
		get("/v1/query"+q("bytes_value", "!!"), 400),
		get("/v1/query?text=%zz", 400),
		{
			name: "GET /v1/query?text=%FF (invalid UTF-8)", req: request{path: "/v1/query?text=%FF"},
			differs: &difference{
				why:  "a string query value must be valid UTF-8: 400 here, where grpc-gateway fails to marshal the request (500)",
				ours: 400, theirs: 500,
			},
		},

		// The same request as a JSON body (body "*").
		post("search all fields", "/v1/query:search", fullSearchBody, 200),
		post("search Any of a WKT", "/v1/query:search", `{"any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1s"}}`, 200),
		post("search Any of an error detail", "/v1/query:search", `{"any":{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"r"}}`, 200),
		post("search Any of an unknown type", "/v1/query:search", `{"any":{"@type":"type.googleapis.com/no.Such","x":1}}`, 400),
		post("search malformed JSON", "/v1/query:search", `{"text":`, 400),
		post("search malformed JSON 2", "/v1/query:search", `{"text" "a"}`, 400),
		post("search wrong type", "/v1/query:search", `{"int32Value":"abc"}`, 400),
		post("search wrong type 2", "/v1/query:search", `{"texts":"a"}`, 400),
		post("search int32 overflow", "/v1/query:search", `{"int32Value":3000000000}`, 400),
		post("search bad enum", "/v1/query:search", `{"color":"PURPLE"}`, 400),
		post("search bad timestamp", "/v1/query:search", `{"time":"2024-13-01T00:00:00Z"}`, 400),
		post("search unknown field", "/v1/query:search", `{"text":"a","nope":1}`, 400),
		post("search unknown nested field", "/v1/query:search", `{"nested":{"nope":1}}`, 400),
		post("search duplicate key", "/v1/query:search", `{"text":"a","text":"b"}`, 400),
		post("search duplicate field by JSON and proto name", "/v1/query:search", `{"int64Value":"1","int64_value":"2"}`, 400),
		post("search duplicate map key", "/v1/query:search", `{"labels":{"a":"1","a":"2"}}`, 400),
		post("search invalid UTF-8", "/v1/query:search", "{\"text\":\"\xff\xfe\"}", 400),
		post("search invalid UTF-8 escape", "/v1/query:search", `{"text":"\ud800"}`, 400),
		post("search 10000 levels", "/v1/query:search", deep(10000), 400),
		{
			name: "search 3400 levels of Struct", req: request{method: http.MethodPost, path: "/v1/query:search", body: deepStruct(3400)},
			differs: &difference{
				why: "JSON nested deeper than 3000 levels is refused (400), since the backend could not decode it; " +
					"grpc-gateway sends it, and the backend fails to unmarshal it (500)",
				ours: 400, theirs: 500,
				check: func(t *testing.T, r response) { wantCode(t, r, 3) },
			},
		},
		post("search 2900 levels", "/v1/query:search", deep(2900), 200),
		post("search 20 levels", "/v1/query:search", deep(20), 200),
		post("search null", "/v1/query:search", `null`, 400),
		post("search array", "/v1/query:search", `[]`, 400),
		post("search string", "/v1/query:search", `"x"`, 400),
		post("search white space", "/v1/query:search", " \n\t ", 200),
		{name: "search empty body", req: request{method: http.MethodPost, path: "/v1/query:search"}, status: 200},
		{
			name: "search trailing data", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"a"} x`},
			differs: &difference{why: "anything but white space after the JSON value is malformed JSON; grpc-gateway ignores it", ours: 400, theirs: 200},
		},
		{
			name: "search two values", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"a"}{"text":"b"}`},
			differs: &difference{why: "a body holds exactly one JSON value; grpc-gateway ignores the rest", ours: 400, theirs: 200},
		},
		{
			name: "search text/plain", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"a"}`, header: map[string]string{"Content-Type": "text/plain"}},
			differs: &difference{
				why:  "a body that is not JSON by its Content-Type is answered with 415; grpc-gateway decodes it as JSON anyway",
				ours: 415, theirs: 200,
				check: func(t *testing.T, r response) { wantCode(t, r, 3) },
			},
		},
		{
			name: "search form body", req: request{method: http.MethodPost, path: "/v1/query:search", body: `text=a`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			differs: &difference{why: "a form body is not JSON: 415; grpc-gateway fails to decode it as JSON", ours: 415, theirs: 400},
		},
		{
			name: "search body over the limit", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"` + strings.Repeat("a", differentialBodyLimit) + `"}`},
			differs: &difference{
				why:  "the body limit is the Transcoder's own (413 RESOURCE_EXHAUSTED); grpc-gateway has none",
				ours: 413, theirs: 200,
				check: func(t *testing.T, r response) { wantCode(t, r, 8) },
			},
		},
		{name: "search application/merge-patch+json", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"a"}`, header: map[string]string{"Content-Type": "application/merge-patch+json"}}, status: 200},
		{name: "search JSON with charset", req: request{method: http.MethodPost, path: "/v1/query:search", body: `{"text":"a"}`, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, status: 200},
		{name: "search query string ignored", req: request{method: http.MethodPost, path: "/v1/query:search?text=b&nope=1", body: `{"text":"a"}`}, status: 200},

		// Path variables of every kind.
		get("/v1/query/typed/-42/COLOR_RED/true", 200),
		get("/v1/query/typed/1/2/false", 200),
		get("/v1/query/typed/x/COLOR_RED/true", 400),
		get("/v1/query/typed/1/PURPLE/true", 400),
		get("/v1/query/typed/1/COLOR_RED/maybe", 400),
		get("/v1/query/typed/5/COLOR_RED/true?int64_value=6&color=COLOR_BLUE&text=t", 200),
		get("/v1/query/nested/abc/7?nested.tags=t&nested.child.name=c", 200),
		get("/v1/query/nested/abc/x", 400),
		get("/v1/query/list/a,b,,c/COLOR_RED,2", 200),
		get("/v1/query/list/a/COLOR_RED,9", 400),
		get("/v1/query/time/2024-01-02T03:04:05Z/3.5s/-7", 200),
		get("/v1/query/time/2024-01-02T03:04:05Z/forever/1", 400),
		get("/v1/query/time/never/1s/1", 400),

		// Multi-segment names.
		get("/v1/projects/p1/resources/r1"+q("readMask", "a,b", "view", "COLOR_RED"), 200),
		get("/v1/projects/p1/locations/l1/resources/r1", 200),
		get("/v1/projects/p%201/resources/r~1.x-_", 200),
		get("/v1/projects/p1/resources/a%2Fb", 404),
		get("/v1/projects/p1/resources/r1/nope", 404),
		get("/v1/nope", 404),
		get("/", 404),
		{
			name: "wrong method", req: request{method: http.MethodPost, path: "/v1/projects/p1/resources/r1"},
			differs: &difference{
				why:  "a known path with another method is 405 Method Not Allowed; grpc-gateway answers 501 (the status JSON has code UNIMPLEMENTED in both)",
				ours: 405, theirs: 501,
				check: func(t *testing.T, r response) { wantCode(t, r, 12) },
			},
		},

		// Body fields.
		post("create", "/v1/projects/p1/resources"+q("resource_id", "r9", "validate_only", "true"),
			`{"name":"projects/x/resources/y","displayName":"D","sizeBytes":"12","color":"COLOR_GREEN","tags":["t"],"labels":{"a":"b"},`+
				`"createTime":"2024-01-01T00:00:00Z","ttl":"3s","attributes":{"k":[1,"x",null,true]},"etag":"e","nested":{"child":{}}}`, 200),
		{name: "create with an empty body", req: request{method: http.MethodPost, path: "/v1/projects/p1/resources"}, status: 200},
		post("create with body fields in the query", "/v1/projects/p1/resources?resource.display_name=x&parent=projects/q&resourceId=r", `{}`, 200),
		post("create with a bad body", "/v1/projects/p1/resources", `{"sizeBytes":"x"}`, 400),
		post("create with a bad query", "/v1/projects/p1/resources?validate_only=maybe", `{}`, 400),

		// PATCH derives the update mask from the body.
		{name: "patch", req: request{method: http.MethodPatch, path: "/v1/projects/p1/resources/r1",
			body: `{"displayName":"new","labels":{"a":"b"},"nested":{"child":{"level":3}},"attributes":{"x":{"y":1}},"etag":"e","tags":[]}`}, status: 200},
		{name: "patch with a mask", req: request{method: http.MethodPatch, path: "/v1/projects/p1/resources/r1?update_mask=display_name", body: `{"displayName":"new","color":"COLOR_RED"}`}, status: 200},
		{name: "patch naming another resource", req: request{method: http.MethodPatch, path: "/v1/projects/p1/resources/r1?allow_missing=true", body: `{"name":"projects/p2/resources/r2"}`}, status: 200},
		{name: "patch with an empty body", req: request{method: http.MethodPatch, path: "/v1/projects/p1/resources/r1"}, status: 200},
		{name: "patch with an unknown field", req: request{method: http.MethodPatch, path: "/v1/projects/p1/resources/r1", body: `{"nope":1}`}, status: 400},
		{name: "put", req: request{method: http.MethodPut, path: "/v1/projects/p1/resources/r1",
			body: `{"resource":{"name":"ignored","displayName":"x"},"updateMask":"displayName","allowMissing":true}`}, status: 200},

		// DELETE, custom verbs and custom methods.
		{name: "delete", req: request{method: http.MethodDelete, path: "/v1/projects/p1/resources/r1?etag=abc&force=true"}, status: 200},
		{name: "delete missing", req: request{method: http.MethodDelete, path: "/v1/projects/p1/resources/missing"}, status: 404},
		post("archive", "/v1/projects/p1/resources/r1:archive", `{"reason":"old","retention":"86400s","name":"ignored"}`, 200),
		post("archive with a bad duration", "/v1/projects/p1/resources/r1:archive", `{"retention":"1d"}`, 400),
		{name: "lock", req: request{method: "LOCK", path: "/v1/projects/p1/resources/r1?ttl=10s&owner=me"}, status: 200},

		// What grpc-gateway's path template grammar allows beyond the
		// common forms (issue 18: a verb with a ':' made the whole stage
		// unservable).
		post("verb with a colon", "/v1/example/a_bit_of_everything/u-1:custom:custom", `{"text":"t"}`, 200),
		post("verb that is a prefix of another", "/v1/example/a_bit_of_everything/u-1:custom", `{"text":"t"}`, 200),
		post("verb with a colon, encoded slash", "/v1/example/a_bit_of_everything/u%2F1:custom:custom", `{}`, 404),
		post("verb with a colon, encoded colon", "/v1/example/a_bit_of_everything/u-1:custom%3Acustom", `{}`, 200),
		// ":custom" binds uuid to ":custom" here.
		post("verb with a colon, without a variable", "/v1/example/a_bit_of_everything/:custom:custom", `{}`, 200),
		post("verb with a colon, wrong verb", "/v1/example/a_bit_of_everything/u-1:custom:other", `{}`, 404),
		get("/v1/grammar/a:b/n1", 200),
		get("/v1/grammar/a:c/n1", 404),
		get("/v1/grammar/x=y/z*/n1:get:all", 200),
		get("/v1/grammar/x=y/z*/n1:get", 404),
		get("/v1/grammar/tail/p/q/r/meta", 200),
		get("/v1/grammar/tail/meta", 200),
		get("/v1/grammar/tail/p/q", 404),
		get("/v1/grammar/lit:a:b", 200),
		get("/v1/grammar/lit:a", 404),

		// "**".
		get("/v1/files/a/b/c.txt?offset=5", 200),
		get("/v1/files/x", 200),
		get("/v1/files", 200),
		get("/v1/buckets/bk/objects/a/b:stat", 200),
		get("/v1/buckets/bk/objects:stat", 200),

		// response_body.
		get("/v1/projects/p1/resources/r1:view", 200),
		get("/v1/projects/p1/resources/r1/resource", 200),
		get("/v1/projects/p1/resources/r1/tags", 200),
		get("/v1/projects/p1/resources/r1/labels", 200),
		get("/v1/projects/p1/resources/r1/size", 200),
		get("/v1/projects/p1/resources/r1/colors", 200),
		get("/v1/projects/p1/resources/r1/color", 200),
		get("/v1/projects/p1/resources/r1/create-time", 200),
		get("/v1/projects/p1/resources/r1/related", 200),
		get("/v1/projects/p1/resources/r1/digest", 200),
		get("/v1/projects/p1/resources/r1:view?empty=true", 200),
		get("/v1/projects/p1/resources/r1/resource?empty=true", 200),
		get("/v1/projects/p1/resources/r1/tags?empty=true", 200),
		get("/v1/projects/p1/resources/r1/labels?empty=true", 200),
		get("/v1/projects/p1/resources/r1/colors?empty=true", 200),
		get("/v1/projects/p1/resources/r1/related?empty=true", 200),
		get("/v1/projects/p1/resources/r1/create-time?empty=true", 200),
		get("/v1/projects/p1/resources/r1/digest?empty=true", 200),

		// Server streaming.
		get("/v1/projects/p1/events:stream?count=3", 200),
		get("/v1/projects/p1/events:stream?count=0", 200),
		get("/v1/projects/p1/events:stream?count=3&fail_after=0&fail_code=NOT_FOUND", 404),
		get("/v1/projects/p1/events:stream?count=3&failAfter=2&failCode=ABORTED", 200),
		get("/v1/projects/p1/events:stream?count=3&fail_after=3&fail_code=DATA_LOSS", 200),
		get("/v1/projects/p1/events:stream?count=5000", 400),
		get("/v1/projects/p1/events:stream?count=abc", 400),
		post("stream with response_body", "/v1/events:stream", `{"parent":"projects/p9","count":2}`, 200),
		post("stream with a bad body", "/v1/events:stream", `{"count":"x"}`, 400),
		{
			name: "stream as Server-Sent Events", req: request{path: "/v1/projects/p1/events:stream?count=2", header: map[string]string{"Accept": "text/event-stream"}},
			differs: &difference{
				why:  "Accept: text/event-stream selects Server-Sent Events; grpc-gateway always streams newline-delimited JSON",
				ours: 200, theirs: 200,
				check: func(t *testing.T, r response) {
					if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
						t.Errorf("Content-Type = %q, want text/event-stream", ct)
					}
					if n := bytes.Count(r.body, []byte("data: ")); n != 2 {
						t.Errorf("%d data lines, want 2:\n%s", n, r.body)
					}
				},
			},
		},

		// Client streaming: a body of JSON messages, one response.
		post("upload newline-delimited", "/v1/upload", "{\"chunk\":\"AAEC\"}\n{\"chunk\":\"AQ==\"}\n", 200),
		post("upload concatenated", "/v1/upload", `{"chunk":"AAEC"}{"chunk":"AQ=="} {}`, 200),
		post("upload spread over lines", "/v1/upload", "{\n\"chunk\":\r\n\"AAEC\"\n}\n\n", 200),
		{name: "upload empty body", req: request{method: http.MethodPost, path: "/v1/upload"}, status: 200},
		post("upload white space", "/v1/upload", " \n\t\n", 200),
		post("upload ignores the query", "/v1/upload?chunk=AAEC", `{"chunk":"AQ=="}`, 200),
		post("upload malformed second message", "/v1/upload", "{\"chunk\":\"AAEC\"}\n{\"chunk\" 1}", 400),
		post("upload truncated", "/v1/upload", `{"chunk":"AAEC"`, 400),
		post("upload unknown field", "/v1/upload", `{"chunk":"AAEC","nope":1}`, 400),
		post("upload wrong type", "/v1/upload", `{"chunk":1}`, 400),
		post("upload trailing garbage", "/v1/upload", `{"chunk":"AAEC"} x`, 400),
		post("upload stray bracket", "/v1/upload", `{"chunk":"AAEC"} ]`, 400),
		post("upload null", "/v1/upload", `null`, 400),
		post("upload array", "/v1/upload", `[{"chunk":"AAEC"}]`, 400),
		post("upload each message under the limit", "/v1/upload", strings.Repeat(`{"chunk":"`+strings.Repeat("A", 40000)+`"}`+"\n", 3), 200),
		{
			name: "upload message over the limit", req: request{method: http.MethodPost, path: "/v1/upload", body: `{"chunk":"` + strings.Repeat("A", differentialBodyLimit) + `"}`},
			differs: &difference{
				why:  "each message of a request stream is limited as a unary body is (413 RESOURCE_EXHAUSTED); grpc-gateway has no limit",
				ours: 413, theirs: 200,
				check: func(t *testing.T, r response) { wantCode(t, r, 8) },
			},
		},
		{
			name: "upload text/plain", req: request{method: http.MethodPost, path: "/v1/upload", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}},
			differs: &difference{why: "a body that is not JSON by its Content-Type is answered with 415; grpc-gateway decodes it as JSON anyway", ours: 415, theirs: 200},
		},
		{name: "upload application/x-ndjson", req: request{method: http.MethodPost, path: "/v1/upload", body: `{}`, header: map[string]string{"Content-Type": "application/x-ndjson"}}, status: 200},
		{name: "upload with trailers", req: request{method: http.MethodPost, path: "/v1/upload", body: `{}`, header: map[string]string{"TE": "trailers"}}, status: 200},

		// Bidirectional streaming: newline-delimited JSON both ways.
		post("chat newline-delimited", "/v1/chat", "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{}\n", 200),
		post("chat concatenated", "/v1/chat", `{"text":"a"}{"text":"b"}`, 200),
		{name: "chat empty body", req: request{method: http.MethodPost, path: "/v1/chat"}, status: 200},
		{
			name: "chat malformed first message", req: request{method: http.MethodPost, path: "/v1/chat", body: `{"text":1}`},
			differs: &difference{
				why: "a request message that cannot be decoded ends the call with INVALID_ARGUMENT (400 before any response); " +
					"grpc-gateway only stops sending and answers 200 with what the backend sent",
				ours: 400, theirs: 200,
				check: func(t *testing.T, r response) { wantStreamError(t, r, 0, 3) },
			},
		},
		{
			name: "chat message over the limit", req: request{method: http.MethodPost, path: "/v1/chat", body: `{"text":"` + strings.Repeat("a", differentialBodyLimit) + `"}`},
			differs: &difference{
				why:  "each message of a request stream is limited (413 RESOURCE_EXHAUSTED before any response); grpc-gateway has no limit",
				ours: 413, theirs: 200,
				check: func(t *testing.T, r response) { wantStreamError(t, r, 0, 8) },
			},
		},
		{
			name: "chat as application/x-ndjson", req: request{method: http.MethodPost, path: "/v1/chat", body: `{"text":"a"}`, header: map[string]string{"Accept": "application/x-ndjson"}},
			differs: &difference{
				why:  "Accept: application/x-ndjson gets that Content-Type; grpc-gateway always says application/json",
				ours: 200, theirs: 200,
				check: func(t *testing.T, r response) {
					if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
						t.Errorf("Content-Type = %q, want application/x-ndjson", ct)
					}
				},
			},
		},

		// Errors, their details and the code → HTTP status mapping.
		post("fail OK", "/v1/fail", `{}`, 200),
		post("fail with details", "/v1/fail", `{"code":"NOT_FOUND","message":"nope","withDetails":true}`, 404),
		{name: "fail with trailers", req: request{method: http.MethodPost, path: "/v1/fail", body: `{"code":"ABORTED","message":"x"}`, header: map[string]string{"TE": "trailers"}}, status: 409},
		{name: "succeed with trailers", req: request{method: http.MethodPost, path: "/v1/fail", body: `{}`, header: map[string]string{"TE": "trailers"}}, status: 200},
		get("/v1/fail/5", 404),
		get("/v1/fail/BOGUS", 400),
		get("/v1/fail/99", 400),
	}
	for name, status := range map[string]int{
		"CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504, "ALREADY_EXISTS": 409,
		"PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400,
		"ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
	} {
		cases = append(cases, get("/v1/fail/"+name+"?with_details=true&message=m", status))
	}
	cases = append(cases,
		// HttpBody.
		get("/v1/projects/p1/resources/r1:download"+q("content_type", "application/pdf"), 200),
		get("/v1/projects/p1/resources/r1:download", 200),
		get("/v1/projects/p1/resources/r1:chunks?count=3", 200),
		diffCase{name: "chunks with Accept: text/event-stream", req: request{path: "/v1/projects/p1/resources/r1:chunks?count=2", header: map[string]string{"Accept": "text/event-stream"}}, status: 200},

		// Headers to metadata.
		diffCase{name: "forwarded headers", req: request{path: "/v1/query", header: map[string]string{
			"Authorization": "Bearer t0k3n", "X-Api-Key": "k-1", "X-Request-Id": "req-1",
			"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "Tracestate": "a=b", "Baggage": "k=v",
			"Accept-Language": "fr", "Cookie": "c=1", "X-Custom": "dropped", "Grpc-Metadata-Foo": "dropped",
			"X-Forwarded-For": "10.0.0.1",
		}}, status: 200},
		diffCase{name: "grpc-timeout", req: request{path: "/v1/query", header: map[string]string{"Grpc-Timeout": "5S"}}, status: 200},
		diffCase{name: "bad grpc-timeout", req: request{path: "/v1/query", header: map[string]string{"Grpc-Timeout": "soon"}}, status: 400},
		diffCase{name: "bad binary header", req: request{path: "/v1/query", header: map[string]string{"Accept-Bin": "!!"}}, status: 200},

		// Methods without a REST binding in grpc-gateway.
		diffCase{
			name: "unbound method", req: request{method: http.MethodPost, path: "/tollgate.testing.v1.TranscodingTestService/Unbound", body: `{"text":"x","number":"5"}`},
			differs: &difference{
				why:  "a method without a google.api.http rule gets the default binding POST /pkg.Service/Method; the generator makes none (generate_unbound_methods=false)",
				ours: 200, theirs: 404,
			},
		},
		diffCase{name: "gRPC path of a client-streaming method with a rule", req: request{method: http.MethodPost, path: "/tollgate.testing.v1.TranscodingTestService/Upload", body: `{}`}, status: 404},
	)
	return cases
}

// wantCode checks that r's body is a google.rpc.Status JSON with the code.
func wantCode(t *testing.T, r response, code int) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("body %q is not a status: %v", r.body, err)
	}
	if st.Code != code || st.Message == "" {
		t.Errorf("status code %d, message %q; want code %d and a message", st.Code, st.Message, code)
	}
}

// jsonValues decodes a body of zero or more JSON values (one for unary
// calls, one per line for streams).
func jsonValues(b []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, v)
	}
}

// wantStreamError checks that a newline-delimited JSON response ends with
// an {"error": ...} line of code code after results results.
func wantStreamError(t *testing.T, r response, results, code int) {
	t.Helper()
	lines, err := jsonValues(r.body)
	if err != nil || len(lines) != results+1 {
		t.Fatalf("body %q: %d lines (%v), want %d", r.body, len(lines), err, results+1)
	}
	last, _ := lines[results].(map[string]any)
	st, _ := last["error"].(map[string]any)
	if st == nil || st["code"] != json.Number(strconv.Itoa(code)) {
		t.Errorf("last line %v, want an error of code %d", lines[results], code)
	}
}

// comparedHeaders returns the response headers that matter to a client of
// the transcoding: Content-Type, WWW-Authenticate and the forwarded
// metadata, and the trailers. Grpc-Metadata-Content-Type, gRPC's
// "application/grpc" that grpc-gateway forwards, is a deliberate
// difference: the Transcoder does not send it.
func comparedHeaders(r response) map[string][]string {
	out := map[string][]string{}
	for k, vs := range r.header {
		if k == "Grpc-Metadata-Content-Type" {
			continue
		}
		if k == "Content-Type" || k == "Www-Authenticate" || strings.HasPrefix(k, "Grpc-Metadata-") || strings.HasPrefix(k, "Grpc-Trailer-") {
			out[k] = slices.Sorted(slices.Values(vs))
		}
	}
	for k, vs := range r.trailer {
		out["trailer "+k] = slices.Sorted(slices.Values(vs))
	}
	return out
}

// TestDifferential sends the same requests to grpc-gateway's generated
// handlers and to the Transcoder, both in front of the same backend, and
// requires the same status, headers and (semantically) the same body,
// except for the deliberate differences listed in the cases.
func TestDifferential(t *testing.T) {
	conn := startTestBackend(t)

	ref := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithIncomingHeaderMatcher(transcode.IncomingHeaderMatcher),
	)
	if err := testingv1.RegisterTranscodingTestServiceHandler(context.Background(), ref, conn); err != nil {
		t.Fatalf("RegisterTranscodingTestServiceHandler: %v", err)
	}
	theirsURL := serveHTTP(t, ref)
	oursURL := serveHTTP(t, newTestTranscoder(t, conn, transcode.WithMaxBodyBytes(differentialBodyLimit)))
	client := &http.Client{Timeout: testTimeout}

	cases := diffCases()
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	runDiffCases(t, client, theirsURL, oursURL, cases)
}

// runDiffCases sends every case to grpc-gateway's handlers (theirsURL)
// and the Transcoder (oursURL) and compares the answers.
func runDiffCases(t *testing.T, client *http.Client, theirsURL, oursURL string, cases []diffCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("two cases named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			theirs := do(t, client, theirsURL, tc.req)
			ours := do(t, client, oursURL, tc.req)
			if d := tc.differs; d != nil {
				if ours.status != d.ours || theirs.status != d.theirs {
					t.Errorf("status: ours %d (want %d), grpc-gateway %d (want %d)\nours: %s\ntheirs: %s", ours.status, d.ours, theirs.status, d.theirs, ours.body, theirs.body)
				}
				if d.check != nil {
					d.check(t, ours)
				}
				return
			}
			if ours.status != theirs.status {
				t.Errorf("status: ours %d, grpc-gateway %d\nours: %s\ntheirs: %s", ours.status, theirs.status, ours.body, theirs.body)
			}
			if tc.status != 0 && theirs.status != tc.status {
				t.Errorf("grpc-gateway's status %d, want %d: %s", theirs.status, tc.status, theirs.body)
			}
			if diff := cmp.Diff(comparedHeaders(theirs), comparedHeaders(ours)); diff != "" {
				t.Errorf("headers (-grpc-gateway +ours):\n%s", diff)
			}
			if !strings.Contains(theirs.header.Get("Content-Type"), "json") {
				if !bytes.Equal(ours.body, theirs.body) {
					t.Errorf("body: ours %q, grpc-gateway %q", ours.body, theirs.body)
				}
				return
			}
			want, err := jsonValues(theirs.body)
			if err != nil {
				t.Fatalf("grpc-gateway's body %q: %v", theirs.body, err)
			}
			got, err := jsonValues(ours.body)
			if err != nil {
				t.Fatalf("our body %q: %v", ours.body, err)
			}
			// reflect.DeepEqual first: cmp.Diff is slow on deeply nested
			// values that differ.
			if !reflect.DeepEqual(want, got) {
				t.Errorf("body (-grpc-gateway +ours):\n%s", cmp.Diff(want, got))
			}
		})
	}
}
