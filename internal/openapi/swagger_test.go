package openapi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestToSwaggerEdges covers what the golden documents do not: a request
// body whose usual names are taken by parameters, and servers that are
// relative or do not parse.
func TestToSwaggerEdges(t *testing.T) {
	param := func(name string) *Parameter {
		return &Parameter{In: "query", Name: name, Schema: stringSchema("")}
	}
	withBody := func(params ...*Parameter) *Document {
		op := &Operation{
			Parameters:  params,
			RequestBody: jsonBody(schemaRef("M"), "the body"),
			Responses:   map[string]*Response{"default": {Description: "d"}},
		}
		return &Document{Paths: map[string]*PathItem{"/x": {Post: op}}}
	}
	tests := []struct {
		name     string
		doc      *Document
		wantBody string // the body parameter's name; "" for an error
		host     string
		basePath string
		schemes  []string
	}{
		{name: "body", doc: withBody(param("a")), wantBody: "body"},
		{name: "a parameter named body", doc: withBody(param("body")), wantBody: "requestBody"},
		{name: "both names taken", doc: withBody(param("body"), param("requestBody"))},
		{name: "absolute server", doc: &Document{Servers: []Server{{URL: "https://api.example.com/prod"}}},
			host: "api.example.com", basePath: "/prod", schemes: []string{"https"}},
		{name: "relative server", doc: &Document{Servers: []Server{{URL: "/demo"}}}, basePath: "/demo"},
		{name: "a server that does not parse", doc: &Document{Servers: []Server{{URL: "http://%zz/x"}}}, basePath: "http://%zz/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toSwagger(tt.doc)
			if tt.doc.Paths != nil && tt.wantBody == "" {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Host != tt.host || got.BasePath != tt.basePath || !cmp.Equal(got.Schemes, tt.schemes) {
				t.Errorf("host %q basePath %q schemes %v, want %q %q %v", got.Host, got.BasePath, got.Schemes, tt.host, tt.basePath, tt.schemes)
			}
			if tt.wantBody == "" {
				return
			}
			op := got.Paths["/x"].Post
			var body *swaggerParameter
			for _, p := range op.Parameters {
				if p.In == "body" {
					body = p
				}
			}
			want := &swaggerParameter{In: "body", Name: tt.wantBody, Description: "the body", Required: true, Schema: &Schema{Ref: "#/definitions/M"}}
			if diff := cmp.Diff(want, body); diff != "" {
				t.Errorf("body parameter (-want +got):\n%s", diff)
			}
			if !cmp.Equal(op.Consumes, []string{jsonType}) {
				t.Errorf("consumes = %v", op.Consumes)
			}
		})
	}
}

// TestSwaggerSecurity: a bearer scheme is, in 2.0, the Authorization
// header as an API key; the others keep their location.
func TestSwaggerSecurity(t *testing.T) {
	doc := &Document{Components: Components{SecuritySchemes: map[string]*SecurityScheme{
		"jwt": {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "d"},
		"key": {Type: "apiKey", In: "query", Name: "k"},
	}}}
	got, err := toSwagger(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*SecurityScheme{
		"jwt": {Type: "apiKey", In: "header", Name: "Authorization", Description: "d"},
		"key": {Type: "apiKey", In: "query", Name: "k"},
	}
	if diff := cmp.Diff(want, got.SecurityDefinitions); diff != "" {
		t.Errorf("securityDefinitions (-want +got):\n%s", diff)
	}
}
