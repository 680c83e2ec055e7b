package admincli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// schemaCommand is `tollgate schema [-f FILE]`: the JSON Schema of the
// declarative configuration, for editor completion and checks in CI.
func (c *client) schemaCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "schema [-f FILE]",
		Short: "Write the JSON Schema of the configuration 'tollgate apply' reads (for editors and CI)",
		Long: `Writes a JSON Schema (draft 2020-12) of the format of 'tollgate apply' and
'tollgate export', generated from the admin API's own descriptors, so that
it never lags behind the API. Editors with YAML language support complete
and check a file that names it, e.g. with the first line
  # yaml-language-server: $schema=./tollgate.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := json.MarshalIndent(ConfigSchema(), "", "  ")
			if err != nil {
				return err
			}
			if file == "" || file == "-" {
				_, err = fmt.Fprintf(c.stdout, "%s\n", b)
				return err
			}
			return os.WriteFile(file, append(b, '\n'), 0o644)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to `file` instead of stdout")
	return cmd
}

// ConfigSchema returns the JSON Schema of Config: each entry is the admin
// API's JSON of its resource (from the descriptors; the fields the gateway
// manages left out) with the format's own keys, and nothing else.
func ConfigSchema() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	ref := func(m protoreflect.ProtoMessage) map[string]any {
		return g.ref(m.ProtoReflect().Descriptor())
	}
	entry := func(m protoreflect.ProtoMessage, extra map[string]any) map[string]any {
		props := map[string]any{"id": map[string]any{"type": "string", "description": "The resource's ID, the last segment of its name."}}
		for k, v := range extra {
			props[k] = v
		}
		return map[string]any{
			"allOf":                 []any{ref(m)},
			"properties":            props,
			"required":              []string{"id"},
			"unevaluatedProperties": false,
		}
	}
	list := func(item map[string]any) map[string]any { return map[string]any{"type": "array", "items": item} }
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	stage := entry(&adminv1.Stage{}, map[string]any{"deploy": map[string]any{"type": "boolean",
		"description": "Point the stage at a new deployment of its API when the API, its routes or authorizers changed."}})
	api := entry(&adminv1.Api{}, map[string]any{
		"fileDescriptorSetFile": str("A binary FileDescriptorSet (protoset), relative to the configuration file."),
		"serviceConfigFile":     str("A google.api.Service YAML with HTTP rules (grpc-gateway's grpc_api_configuration), relative to the configuration file."),
		"routes":                list(entry(&adminv1.Route{}, nil)),
		"authorizers":           list(entry(&adminv1.Authorizer{}, nil)),
		"stages":                list(stage),
	})
	key := entry(&adminv1.ApiKey{}, map[string]any{"valueFrom": map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{"env": str("An environment variable holding the key's value."), "file": str("A file holding the key's value.")},
	}})
	plan := entry(&adminv1.UsagePlan{}, map[string]any{"keys": list(str("An API key's ID."))})
	settings := map[string]any{"allOf": []any{ref(&adminv1.AccountSettings{})}, "unevaluatedProperties": false}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://tollgate.dev/schemas/config.json",
		"title":                "Tollgate declarative configuration (tollgate apply / export)",
		"type":                 "object",
		"properties":           map[string]any{"apis": list(api), "keys": list(key), "plans": list(plan), "domains": list(entry(&adminv1.DomainMapping{}, nil)), "settings": settings},
		"additionalProperties": false,
		"$defs":                g.defs,
	}
}

// schemaGen builds $defs for message descriptors, each once.
type schemaGen struct {
	defs map[string]any
}

// ref returns a reference to md's definition, building it if needed.
func (g *schemaGen) ref(md protoreflect.MessageDescriptor) map[string]any {
	name := string(md.FullName())
	if s := wellKnown(name); s != nil {
		return s
	}
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // placeholder: recursive messages refer to it
		props := map[string]any{}
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if managed(fd) {
				continue
			}
			props[fd.JSONName()] = g.field(fd)
		}
		g.defs[name] = map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

// field is the schema of one field as protojson writes it.
func (g *schemaGen) field(fd protoreflect.FieldDescriptor) map[string]any {
	if fd.IsMap() {
		return map[string]any{"type": "object", "additionalProperties": g.single(fd.MapValue())}
	}
	if fd.IsList() {
		return map[string]any{"type": "array", "items": g.single(fd)}
	}
	return g.single(fd)
}

// single is the schema of one value of fd's kind.
func (g *schemaGen) single(fd protoreflect.FieldDescriptor) map[string]any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return g.ref(fd.Message())
	case protoreflect.EnumKind:
		var names []string
		values := fd.Enum().Values()
		for i := range values.Len() {
			names = append(names, string(values.Get(i).Name()))
		}
		return map[string]any{"enum": names}
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.StringKind:
		return map[string]any{"type": "string"}
	case protoreflect.BytesKind:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return map[string]any{"type": "number"}
	case protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		// protojson writes 64-bit integers as strings and reads either.
		return map[string]any{"type": []string{"integer", "string"}}
	default:
		return map[string]any{"type": "integer"}
	}
}

// wellKnown is the schema of a well-known type's JSON form, or nil.
func wellKnown(name string) map[string]any {
	switch name {
	case "google.protobuf.Timestamp":
		return map[string]any{"type": "string", "format": "date-time"}
	case "google.protobuf.Duration":
		return map[string]any{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]+)?s$`}
	case "google.protobuf.FieldMask":
		return map[string]any{"type": "string"}
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.Any", "google.protobuf.ListValue":
		return map[string]any{}
	case "google.protobuf.Empty":
		return map[string]any{"type": "object"}
	}
	if strings.HasPrefix(name, "google.protobuf.") && strings.HasSuffix(name, "Value") {
		return map[string]any{} // wrappers: the wrapped value
	}
	return nil
}
