package transcode

import (
	"errors"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// resolver resolves the types of google.protobuf.Any values and extensions
// for protojson. It looks in the API's own descriptors first; for the
// google.protobuf, google.rpc, google.api and google.type packages only, it
// falls back to the types linked into the gateway, so that error details
// (google.rpc.BadRequest, ErrorInfo, ...) and well-known types in an Any
// render even when the API's descriptor set does not include their files.
// Other types linked into the gateway (its own admin API, for example) are
// never visible to API clients.
type resolver struct {
	api *dynamicpb.Types
}

var (
	_ protoregistry.MessageTypeResolver   = resolver{}
	_ protoregistry.ExtensionTypeResolver = resolver{}
)

// fallbackPackages are the packages whose linked-in types back up the API's
// descriptors.
var fallbackPackages = []string{"google.protobuf.", "google.rpc.", "google.api.", "google.type."}

func canFallBack(name protoreflect.FullName) bool {
	for _, p := range fallbackPackages {
		if strings.HasPrefix(string(name), p) {
			return true
		}
	}
	return false
}

// FindMessageByName implements protoregistry.MessageTypeResolver.
func (r resolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	mt, err := r.api.FindMessageByName(name)
	if errors.Is(err, protoregistry.NotFound) && canFallBack(name) {
		return protoregistry.GlobalTypes.FindMessageByName(name)
	}
	return mt, err
}

// FindMessageByURL implements protoregistry.MessageTypeResolver.
func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	mt, err := r.api.FindMessageByURL(url)
	if errors.Is(err, protoregistry.NotFound) {
		name := url
		if i := strings.LastIndexByte(url, '/'); i >= 0 {
			name = url[i+1:]
		}
		if canFallBack(protoreflect.FullName(name)) {
			return protoregistry.GlobalTypes.FindMessageByURL(url)
		}
	}
	return mt, err
}

// FindExtensionByName implements protoregistry.ExtensionTypeResolver.
func (r resolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return r.api.FindExtensionByName(field)
}

// FindExtensionByNumber implements protoregistry.ExtensionTypeResolver.
func (r resolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return r.api.FindExtensionByNumber(message, field)
}
