package openapi

// The document model: exactly the OpenAPI 3.1 and Swagger 2.0 objects and
// fields Build and the conversion to 2.0 fill in, nothing more. Each
// struct's fields are in the order of their JSON names, so that
// encoding/json writes every object's keys sorted, as the documents have
// always been written (and maps are written sorted too).

// Document is an OpenAPI 3.1 document.
type Document struct {
	Components Components           `json:"components"`
	Info       Info                 `json:"info"`
	OpenAPI    string               `json:"openapi"`
	Paths      map[string]*PathItem `json:"paths"`
	Servers    []Server             `json:"servers,omitempty"`
	Tags       []Tag                `json:"tags,omitempty"`
}

// Info is a document's Info Object.
type Info struct {
	Description string `json:"description,omitempty"`
	Title       string `json:"title"`
	Version     string `json:"version"`
}

// Server is a Server Object: where the API is served.
type Server struct {
	URL string `json:"url"`
}

// Tag is a Tag Object: the operations of one gRPC service.
type Tag struct {
	Name string `json:"name,omitempty"`
}

// Components holds the message and enum schemas, by full name, and the
// security schemes operations refer to.
type Components struct {
	Schemas         map[string]*Schema         `json:"schemas,omitempty"`
	SecuritySchemes map[string]*SecurityScheme `json:"securitySchemes,omitempty"`
}

// PathItem is the operations of one path, by HTTP method.
type PathItem struct {
	Delete  *Operation `json:"delete,omitempty"`
	Get     *Operation `json:"get,omitempty"`
	Head    *Operation `json:"head,omitempty"`
	Options *Operation `json:"options,omitempty"`
	Patch   *Operation `json:"patch,omitempty"`
	Post    *Operation `json:"post,omitempty"`
	Put     *Operation `json:"put,omitempty"`
}

// methodSlot returns the slot of method (upper case) in an item, or nil
// for methods a path item has no place for.
func methodSlot[O any](method string, del, get, head, options, patch, post, put *O) *O {
	switch method {
	case "DELETE":
		return del
	case "GET":
		return get
	case "HEAD":
		return head
	case "OPTIONS":
		return options
	case "PATCH":
		return patch
	case "POST":
		return post
	case "PUT":
		return put
	}
	return nil
}

// slot returns where the operation of method (upper case) goes, or nil.
func (p *PathItem) slot(method string) **Operation {
	return methodSlot(method, &p.Delete, &p.Get, &p.Head, &p.Options, &p.Patch, &p.Post, &p.Put)
}

// Operation is an Operation Object.
type Operation struct {
	Description string                `json:"description,omitempty"`
	OperationID string                `json:"operationId,omitempty"`
	Parameters  []*Parameter          `json:"parameters,omitempty"`
	RequestBody *RequestBody          `json:"requestBody,omitempty"`
	Responses   map[string]*Response  `json:"responses,omitempty"`
	Security    []SecurityRequirement `json:"security,omitempty"`
	Summary     string                `json:"summary,omitempty"`
	Tags        []string              `json:"tags,omitempty"`
}

// SecurityRequirement names the security schemes a request must satisfy
// together (with no scopes: none of the schemes is OAuth 2).
type SecurityRequirement map[string][]string

// Parameter is a path or query Parameter Object.
type Parameter struct {
	Description string  `json:"description,omitempty"`
	Explode     *bool   `json:"explode,omitempty"`
	In          string  `json:"in,omitempty"`
	Name        string  `json:"name,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// RequestBody is a Request Body Object.
type RequestBody struct {
	Content     map[string]*MediaType `json:"content"`
	Description string                `json:"description,omitempty"`
	Required    bool                  `json:"required,omitempty"`
}

// MediaType is a Media Type Object.
type MediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

// Response is a Response Object.
type Response struct {
	Content     map[string]*MediaType `json:"content,omitempty"`
	Description string                `json:"description"`
}

// SecurityScheme is a Security Scheme Object (OpenAPI 3.1's, and 2.0's,
// which has no scheme or bearerFormat).
type SecurityScheme struct {
	BearerFormat string `json:"bearerFormat,omitempty"`
	Description  string `json:"description,omitempty"`
	In           string `json:"in,omitempty"`
	Name         string `json:"name,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	Type         string `json:"type,omitempty"`
}

// Schema is a Schema Object (OpenAPI 3.1's, and 2.0's, which is a subset
// for the fields here), or a reference to one when Ref is set.
type Schema struct {
	Ref string `json:"$ref,omitempty"`
	// AdditionalProperties is true or a *Schema.
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Format               string             `json:"format,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	ReadOnly             bool               `json:"readOnly,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Title                string             `json:"title,omitempty"`
	Type                 string             `json:"type,omitempty"`
}

// swagger is an OpenAPI 2.0 (Swagger) document.
type swagger struct {
	BasePath            string                     `json:"basePath,omitempty"`
	Definitions         map[string]*Schema         `json:"definitions,omitempty"`
	Host                string                     `json:"host,omitempty"`
	Info                Info                       `json:"info"`
	Paths               map[string]*swaggerPath    `json:"paths,omitempty"`
	Schemes             []string                   `json:"schemes,omitempty"`
	SecurityDefinitions map[string]*SecurityScheme `json:"securityDefinitions,omitempty"`
	Swagger             string                     `json:"swagger"`
	Tags                []Tag                      `json:"tags,omitempty"`
}

// swaggerPath is an OpenAPI 2.0 Path Item Object.
type swaggerPath struct {
	Delete  *swaggerOperation `json:"delete,omitempty"`
	Get     *swaggerOperation `json:"get,omitempty"`
	Head    *swaggerOperation `json:"head,omitempty"`
	Options *swaggerOperation `json:"options,omitempty"`
	Patch   *swaggerOperation `json:"patch,omitempty"`
	Post    *swaggerOperation `json:"post,omitempty"`
	Put     *swaggerOperation `json:"put,omitempty"`
}

func (p *swaggerPath) slot(method string) **swaggerOperation {
	return methodSlot(method, &p.Delete, &p.Get, &p.Head, &p.Options, &p.Patch, &p.Post, &p.Put)
}

// swaggerOperation is an OpenAPI 2.0 Operation Object.
type swaggerOperation struct {
	Consumes    []string                    `json:"consumes,omitempty"`
	Description string                      `json:"description,omitempty"`
	OperationID string                      `json:"operationId,omitempty"`
	Parameters  []*swaggerParameter         `json:"parameters,omitempty"`
	Responses   map[string]*swaggerResponse `json:"responses"`
	Security    []SecurityRequirement       `json:"security,omitempty"`
	Summary     string                      `json:"summary,omitempty"`
	Tags        []string                    `json:"tags,omitempty"`
}

// swaggerParameter is an OpenAPI 2.0 Parameter Object: a path or query
// parameter, whose type is written in the parameter itself, or the body.
type swaggerParameter struct {
	CollectionFormat string   `json:"collectionFormat,omitempty"`
	Description      string   `json:"description,omitempty"`
	Enum             []string `json:"enum,omitempty"`
	Format           string   `json:"format,omitempty"`
	In               string   `json:"in,omitempty"`
	Items            *Schema  `json:"items,omitempty"`
	Minimum          *float64 `json:"minimum,omitempty"`
	Name             string   `json:"name,omitempty"`
	Pattern          string   `json:"pattern,omitempty"`
	Required         bool     `json:"required,omitempty"`
	Schema           *Schema  `json:"schema,omitempty"`
	Type             string   `json:"type,omitempty"`
}

// swaggerResponse is an OpenAPI 2.0 Response Object.
type swaggerResponse struct {
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}
