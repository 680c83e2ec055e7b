package openapi

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// pathMethods are the methods a path item has a slot for, in the order
// their keys are written.
var pathMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// toSwagger converts a document built by Build to OpenAPI 2.0: the first
// server becomes host and basePath (its scheme, schemes); references to
// components become references to definitions; request bodies become
// "body" parameters; path and query parameters carry their schema's type
// in themselves, repeated query parameters as collectionFormat multi;
// bearer schemes become the apiKey header Authorization, which is what
// 2.0 can say of them.
func toSwagger(doc *Document) (*swagger, error) {
	out := &swagger{
		Swagger:     "2.0",
		Info:        doc.Info,
		Tags:        doc.Tags,
		Definitions: map[string]*Schema{},
		Paths:       map[string]*swaggerPath{},
	}
	for name, s := range doc.Components.Schemas {
		out.Definitions[name] = swaggerSchema(s)
	}
	isHTTPS, isHTTP := false, false
	for i, s := range doc.Servers {
		u, err := url.Parse(s.URL)
		if err != nil {
			if i == 0 {
				out.BasePath = s.URL
			}
			continue
		}
		switch u.Scheme {
		case "https":
			isHTTPS = true
		case "http":
			isHTTP = true
		}
		if i == 0 {
			out.Host, out.BasePath = u.Host, u.Path
		}
	}
	if isHTTPS {
		out.Schemes = append(out.Schemes, "https")
	}
	if isHTTP {
		out.Schemes = append(out.Schemes, "http")
	}
	for path, item := range doc.Paths {
		p := &swaggerPath{}
		for _, m := range pathMethods {
			op := *item.slot(m)
			if op == nil {
				continue
			}
			o, err := swaggerOp(op)
			if err != nil {
				return nil, err
			}
			*p.slot(m) = o
		}
		out.Paths[path] = p
	}
	if len(doc.Components.SecuritySchemes) > 0 {
		out.SecurityDefinitions = map[string]*SecurityScheme{}
		for name, s := range doc.Components.SecuritySchemes {
			d := &SecurityScheme{Type: s.Type, Description: s.Description, In: s.In, Name: s.Name}
			if s.Type == "http" {
				d.Type, d.In, d.Name = "apiKey", "header", "Authorization"
			}
			out.SecurityDefinitions[name] = d
		}
	}
	return out, nil
}

// bodyNames are the names the body parameter may take, the first one no
// other parameter has.
var bodyNames = []string{"body", "requestBody"}

func swaggerOp(op *Operation) (*swaggerOperation, error) {
	out := &swaggerOperation{
		OperationID: op.OperationID,
		Summary:     op.Summary,
		Description: op.Description,
		Tags:        op.Tags,
		Security:    op.Security,
		Responses:   make(map[string]*swaggerResponse, len(op.Responses)),
	}
	for _, p := range op.Parameters {
		out.Parameters = append(out.Parameters, swaggerParam(p))
	}
	if rb := op.RequestBody; rb != nil {
		name := ""
		for _, n := range bodyNames {
			if !slices.ContainsFunc(op.Parameters, func(p *Parameter) bool { return p.Name == n }) {
				name = n
				break
			}
		}
		if name == "" {
			return nil, errors.New("convert to OpenAPI 2.0: no name left for the request body")
		}
		p := &swaggerParameter{In: "body", Name: name, Description: rb.Description, Required: rb.Required}
		for ct, mt := range rb.Content {
			out.Consumes = append(out.Consumes, ct)
			p.Schema = swaggerSchema(mt.Schema)
		}
		out.Parameters = append(out.Parameters, p)
	}
	slices.SortFunc(out.Parameters, func(a, b *swaggerParameter) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.In, b.In))
	})
	for code, r := range op.Responses {
		sr := &swaggerResponse{Description: r.Description}
		if mt := r.Content[jsonType]; mt != nil {
			sr.Schema = swaggerSchema(mt.Schema)
		}
		out.Responses[code] = sr
	}
	return out, nil
}

// swaggerParam writes a path or query parameter's schema in the
// parameter.
func swaggerParam(p *Parameter) *swaggerParameter {
	out := &swaggerParameter{Description: p.Description, In: p.In, Name: p.Name, Required: p.Required}
	if s := p.Schema; s != nil {
		s = swaggerSchema(s)
		out.Type, out.Format, out.Enum, out.Minimum, out.Pattern, out.Items = s.Type, s.Format, s.Enum, s.Minimum, s.Pattern, s.Items
		if p.In == "query" && s.Type == "array" && p.Explode != nil {
			out.CollectionFormat = "csv"
			if *p.Explode {
				out.CollectionFormat = "multi"
			}
		}
	}
	return out
}

// swaggerSchema returns a copy of s with its references to components
// made references to definitions.
func swaggerSchema(s *Schema) *Schema {
	if s == nil {
		return nil
	}
	out := *s
	if rest, ok := strings.CutPrefix(s.Ref, componentSchemas); ok {
		out.Ref = "#/definitions/" + rest
	}
	out.Items = swaggerSchema(s.Items)
	if ap, ok := s.AdditionalProperties.(*Schema); ok {
		out.AdditionalProperties = swaggerSchema(ap)
	}
	if s.Properties != nil {
		out.Properties = make(map[string]*Schema, len(s.Properties))
		for k, v := range s.Properties {
			out.Properties[k] = swaggerSchema(v)
		}
	}
	return &out
}
