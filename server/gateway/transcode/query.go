package transcode

// The query parameter parser below follows grpc-gateway's
// runtime.DefaultQueryParser (runtime/query.go, v2.33.0, BSD-3-Clause,
// Copyright (c) 2015, Gengo, Inc.) step by step, so that a query string sets
// exactly the fields, and fails with exactly the messages, that it does with
// grpc-gateway's generated handlers. It differs in two places only:
//
//   - enum values are looked up in the field's own enum descriptor, where
//     grpc-gateway looks the enum up in protoregistry.GlobalTypes, which
//     never holds the enums of an API deployed at run time ("enum ... is not
//     registered");
//   - a value for a string field must be valid UTF-8 (a query string can
//     percent-encode any byte), where grpc-gateway lets it through and the
//     call then fails to marshal with INTERNAL.
//
// TestQueryParserMatchesGrpcGateway checks the parity on generated messages.

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

var valuesKeyRegexp = lazyregexp.New(`^(.*)\[(.*)\]$`)

// errInvalidUTF8 is the error for a string value that is not valid UTF-8.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// populateQueryParameters sets the fields of msg named by the keys of
// values, skipping those filter covers (the fields bound to the path or the
// body), like runtime.DefaultQueryParser.Parse.
func populateQueryParameters(msg protoreflect.Message, values url.Values, filter *utilities.DoubleArray) error {
	seen := make(map[string]struct{}, len(values))
	for key, values := range values {
		fieldKey, mapKey := key, ""
		if match := valuesKeyRegexp.FindStringSubmatch(key); len(match) == 3 {
			fieldKey, mapKey = match[1], "["+match[2]+"]"
			values = append([]string{match[2]}, values...)
		}

		fieldPath := normalizeFieldPath(msg, strings.Split(fieldKey, "."))
		if filter.HasCommonPrefix(fieldPath) || containsFilteredField(filter, fieldPath) {
			continue
		}
		field := strings.Join(fieldPath, ".") + mapKey
		if _, ok := seen[field]; ok {
			return fmt.Errorf("duplicate field %q", field)
		}
		seen[field] = struct{}{}
		if err := populateFieldValueFromPath(msg, fieldPath, values, mapKey != ""); err != nil {
			return err
		}
	}
	return nil
}

// containsFilteredField reports whether fieldPath names a field that
// contains one of the sequences in filter (runtime's function of the same
// name).
func containsFilteredField(filter *utilities.DoubleArray, fieldPath []string) bool {
	if len(filter.Base) == 0 {
		return false
	}
	var i int
	for _, t := range fieldPath {
		code, ok := filter.Encoding[t]
		if !ok {
			return false
		}
		j := filter.Base[i] + code
		if len(filter.Check) <= j || filter.Check[j] != i+1 {
			return false
		}
		i = j
	}
	return true
}

// populateFieldFromPath sets the field at the dotted fieldPath to value,
// like runtime.PopulateFieldFromPath.
func populateFieldFromPath(msg protoreflect.Message, fieldPath string, value string) error {
	return populateFieldValueFromPath(msg, strings.Split(fieldPath, "."), []string{value}, false)
}

func normalizeFieldPath(msgValue protoreflect.Message, fieldPath []string) []string {
	newFieldPath := make([]string, 0, len(fieldPath))
	for i, fieldName := range fieldPath {
		fields := msgValue.Descriptor().Fields()
		fieldDesc := fields.ByTextName(fieldName)
		if fieldDesc == nil {
			fieldDesc = fields.ByJSONName(fieldName)
		}
		if fieldDesc == nil {
			return fieldPath
		}
		newFieldPath = append(newFieldPath, string(fieldDesc.Name()))
		if i == len(fieldPath)-1 {
			break
		}
		if fieldDesc.Message() == nil || fieldDesc.Cardinality() == protoreflect.Repeated {
			return fieldPath
		}
		msgValue = msgValue.Get(fieldDesc).Message()
	}
	return newFieldPath
}

func populateFieldValueFromPath(msgValue protoreflect.Message, fieldPath []string, values []string, hasMapKey bool) error {
	if len(fieldPath) < 1 {
		return errors.New("no field path")
	}
	if len(values) < 1 {
		return errors.New("no value provided")
	}

	var fieldDescriptor protoreflect.FieldDescriptor
	for i, fieldName := range fieldPath {
		fields := msgValue.Descriptor().Fields()
		fieldDescriptor = fields.ByName(protoreflect.Name(fieldName))
		if fieldDescriptor == nil {
			fieldDescriptor = fields.ByJSONName(fieldName)
			if fieldDescriptor == nil {
				// Not an error: it may be a query parameter meant for
				// something other than the request.
				return nil
			}
		}
		if of := fieldDescriptor.ContainingOneof(); of != nil && !of.IsSynthetic() {
			if f := msgValue.WhichOneof(of); f != nil {
				if fieldDescriptor.Message() == nil || fieldDescriptor.FullName() != f.FullName() {
					return fmt.Errorf("field already set for oneof %q", of.FullName().Name())
				}
			}
		}
		if i == len(fieldPath)-1 {
			break
		}
		if fieldDescriptor.Message() == nil || fieldDescriptor.Cardinality() == protoreflect.Repeated {
			return fmt.Errorf("invalid path: %q is not a message", fieldName)
		}
		msgValue = msgValue.Mutable(fieldDescriptor).Message()
	}

	if hasMapKey && !fieldDescriptor.IsMap() {
		return fmt.Errorf("field %q is not a map", fieldDescriptor.FullName().Name())
	}

	switch {
	case fieldDescriptor.IsList():
		return populateRepeatedField(fieldDescriptor, msgValue.Mutable(fieldDescriptor).List(), values)
	case fieldDescriptor.IsMap():
		return populateMapField(fieldDescriptor, msgValue.Mutable(fieldDescriptor).Map(), values)
	}

	if len(values) > 1 {
		return fmt.Errorf("too many values for field %q: %s", fieldDescriptor.FullName().Name(), strings.Join(values, ", "))
	}
	v, err := parseField(fieldDescriptor, values[0])
	if err != nil {
		return fmt.Errorf("parsing field %q: %w", fieldDescriptor.FullName().Name(), err)
	}
	msgValue.Set(fieldDescriptor, v)
	return nil
}

func populateRepeatedField(fieldDescriptor protoreflect.FieldDescriptor, list protoreflect.List, values []string) error {
	for _, value := range values {
		v, err := parseField(fieldDescriptor, value)
		if err != nil {
			return fmt.Errorf("parsing list %q: %w", fieldDescriptor.FullName().Name(), err)
		}
		list.Append(v)
	}
	return nil
}

func populateMapField(fieldDescriptor protoreflect.FieldDescriptor, mp protoreflect.Map, values []string) error {
	if len(values) != 2 {
		return fmt.Errorf("more than one value provided for key %q in map %q", values[0], fieldDescriptor.FullName())
	}
	key, err := parseField(fieldDescriptor.MapKey(), values[0])
	if err != nil {
		return fmt.Errorf("parsing map key %q: %w", fieldDescriptor.FullName().Name(), err)
	}
	value, err := parseField(fieldDescriptor.MapValue(), values[1])
	if err != nil {
		return fmt.Errorf("parsing map value %q: %w", fieldDescriptor.FullName().Name(), err)
	}
	mp.Set(key.MapKey(), value)
	return nil
}

// parseField converts a query or path value to a value of fd's kind.
func parseField(fd protoreflect.FieldDescriptor, value string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		v, err := strconv.ParseBool(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfBool(v), nil
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		v := values.ByName(protoreflect.Name(value))
		if v == nil {
			i, err := strconv.ParseInt(value, 10, 32)
			if err != nil {
				return protoreflect.Value{}, fmt.Errorf("%q is not a valid value", value)
			}
			if v = values.ByNumber(protoreflect.EnumNumber(i)); v == nil {
				return protoreflect.Value{}, fmt.Errorf("%q is not a valid value", value)
			}
		}
		return protoreflect.ValueOfEnum(v.Number()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		v, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfInt32(int32(v)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfInt64(v), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		v, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfUint32(uint32(v)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfUint64(v), nil
	case protoreflect.FloatKind:
		v, err := runtime.Float32(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfFloat32(v), nil
	case protoreflect.DoubleKind:
		v, err := runtime.Float64(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfFloat64(v), nil
	case protoreflect.StringKind:
		if !utf8.ValidString(value) {
			return protoreflect.Value{}, errInvalidUTF8
		}
		return protoreflect.ValueOfString(value), nil
	case protoreflect.BytesKind:
		v, err := runtime.Bytes(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfBytes(v), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return parseMessage(fd.Message(), value)
	default:
		return protoreflect.Value{}, fmt.Errorf("unsupported field kind %v", fd.Kind())
	}
}

// parseMessage converts a query value to a well-known type. The message is
// of the generated Go type; dynamic messages accept it, since they check
// only the full name of what is set in them.
func parseMessage(md protoreflect.MessageDescriptor, value string) (protoreflect.Value, error) {
	var msg proto.Message
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		timestamp := timestamppb.New(t)
		if ok := timestamp.IsValid(); !ok {
			return protoreflect.Value{}, fmt.Errorf("%s before 0001-01-01", value)
		}
		msg = timestamp
	case "google.protobuf.Duration":
		d, err := time.ParseDuration(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = durationpb.New(d)
	case "google.protobuf.DoubleValue":
		v, err := runtime.Float64(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Double(v)
	case "google.protobuf.FloatValue":
		v, err := runtime.Float32(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Float(v)
	case "google.protobuf.Int64Value":
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Int64(v)
	case "google.protobuf.Int32Value":
		v, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Int32(int32(v))
	case "google.protobuf.UInt64Value":
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.UInt64(v)
	case "google.protobuf.UInt32Value":
		v, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.UInt32(uint32(v))
	case "google.protobuf.BoolValue":
		v, err := strconv.ParseBool(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Bool(v)
	case "google.protobuf.StringValue":
		if !utf8.ValidString(value) {
			return protoreflect.Value{}, errInvalidUTF8
		}
		msg = wrapperspb.String(value)
	case "google.protobuf.BytesValue":
		v, err := runtime.Bytes(value)
		if err != nil {
			return protoreflect.Value{}, err
		}
		msg = wrapperspb.Bytes(v)
	case "google.protobuf.FieldMask":
		if !utf8.ValidString(value) {
			return protoreflect.Value{}, errInvalidUTF8
		}
		fm := &fieldmaskpb.FieldMask{}
		if value != "" {
			fm.Paths = append(fm.Paths, strings.Split(value, ",")...)
		}
		msg = fm
	case "google.protobuf.Value":
		var v structpb.Value
		if err := protojson.Unmarshal([]byte(value), &v); err != nil {
			return protoreflect.Value{}, err
		}
		msg = &v
	case "google.protobuf.Struct":
		var v structpb.Struct
		if err := protojson.Unmarshal([]byte(value), &v); err != nil {
			return protoreflect.Value{}, err
		}
		msg = &v
	case "google.protobuf.Empty":
		if value != "" && value != "{}" {
			return protoreflect.Value{}, fmt.Errorf("expected an empty value or %q, got %q", "{}", value)
		}
		msg = &emptypb.Empty{}
	default:
		return protoreflect.Value{}, fmt.Errorf("unsupported message type: %q", string(md.FullName()))
	}
	return protoreflect.ValueOfMessage(msg.ProtoReflect()), nil
}
