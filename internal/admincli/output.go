package admincli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// invoke calls an admin method with req and returns its response.
func (c *client) invoke(cmd *cobra.Command, m protoreflect.MethodDescriptor, req protoreflect.Message) (protoreflect.Message, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	resp := newMessage(m.Output())
	full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	if err := conn.Invoke(cmd.Context(), full, req.Interface(), resp.Interface()); err != nil {
		return nil, err
	}
	return resp, nil
}

// jsonOptions prints field names as the REST API does (lowerCamelCase).
var jsonOptions = protojson.MarshalOptions{Multiline: true, Indent: "  "}

// printOne prints one message: as JSON or YAML, or for people as a table of
// its fields.
func (c *client) printOne(m protoreflect.Message) error {
	switch c.output {
	case "json", "yaml":
		b, err := jsonOptions.Marshal(m.Interface())
		if err != nil {
			return err
		}
		return c.write(b)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", fd.JSONName(), cell(m, fd, 0))
	}
	return tw.Flush()
}

// printList prints messages: a JSON array, a YAML sequence, or a table of
// their names and a few telling fields.
func (c *client) printList(items []protoreflect.Message) error {
	if c.output != "table" {
		var buf bytes.Buffer
		buf.WriteString("[")
		for i, m := range items {
			if i > 0 {
				buf.WriteString(",")
			}
			b, err := protojson.Marshal(m.Interface())
			if err != nil {
				return err
			}
			buf.Write(b)
		}
		buf.WriteString("]")
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, buf.Bytes(), "", "  ")
		return c.write(pretty.Bytes())
	}
	if len(items) == 0 {
		fmt.Fprintln(c.stdout, "(none)")
		return nil
	}
	cols := columns(items)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	var head []string
	for _, fd := range cols {
		head = append(head, strings.ToUpper(toSnake(fd.JSONName())))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, m := range items {
		var row []string
		for _, fd := range cols {
			row = append(row, cell(m, fd, 48))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// write prints JSON b indented, or as YAML. protojson's spacing is
// deliberately unstable across builds; re-indenting makes it the same.
func (c *client) write(b []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") == nil {
		b = buf.Bytes()
	}
	if c.output == "yaml" {
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(y)
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "%s\n", bytes.TrimSpace(b))
	return err
}

// skipColumns are fields a listing leaves out: identity bookkeeping and
// bulky content.
var skipColumns = map[protoreflect.Name]bool{"uid": true, "etag": true, "create_time": true, "description": true}

// columns picks the name, then the scalar fields some item sets (at most
// five), then update_time.
func columns(items []protoreflect.Message) []protoreflect.FieldDescriptor {
	md := items[0].Descriptor()
	fields := md.Fields()
	var out []protoreflect.FieldDescriptor
	if fd := fields.ByName("name"); fd != nil {
		out = append(out, fd)
	}
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Name() == "name" || fd.Name() == "update_time" || skipColumns[fd.Name()] || fd.IsList() || fd.IsMap() {
			continue
		}
		if fd.Message() != nil || fd.Kind() == protoreflect.BytesKind {
			continue
		}
		set := false
		for _, m := range items {
			if m.Has(fd) {
				set = true
				break
			}
		}
		if set && len(out) < 6 {
			out = append(out, fd)
		}
	}
	if fd := fields.ByName("update_time"); fd != nil {
		out = append(out, fd)
	}
	return out
}

// cell formats one field of m, cut to max runes (0: no limit).
func cell(m protoreflect.Message, fd protoreflect.FieldDescriptor, max int) string {
	if !m.Has(fd) {
		return "-"
	}
	v := m.Get(fd)
	var s string
	switch {
	case fd.IsList() || fd.IsMap() || fd.Kind() == protoreflect.BytesKind:
		s = compactJSON(m, fd)
	case fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Timestamp":
		if ts, ok := v.Message().Interface().(*timestamppb.Timestamp); ok {
			s = ts.AsTime().UTC().Format("2006-01-02 15:04:05Z")
		}
	case fd.Message() != nil:
		b, _ := protojson.Marshal(v.Message().Interface())
		s = strings.Trim(string(b), `"`) // a Duration is a JSON string
	case fd.Enum() != nil:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			s = string(ev.Name())
		}
	default:
		s = fmt.Sprint(v.Interface())
	}
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// compactJSON is the JSON of one field of m.
func compactJSON(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	b, err := protojson.Marshal(m.Interface())
	if err != nil {
		return "?"
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(b, &all) != nil {
		return "?"
	}
	return string(all[fd.JSONName()])
}

// toSnake turns "displayName" into "display_name".
func toSnake(s string) string {
	return strings.ReplaceAll(kebabCase(s), "-", "_")
}

// describe turns an admin API error into one a person can act on: the
// message, then each detail on a line of its own.
func describe(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				fmt.Fprintf(&b, "\n  %s %s: %s", v.GetType(), v.GetSubject(), v.GetDescription())
			}
		case *errdetails.ResourceInfo:
			fmt.Fprintf(&b, "\n  resource %s %s", d.GetResourceType(), d.GetResourceName())
		case *errdetails.ErrorInfo:
			fmt.Fprintf(&b, "\n  reason %s", d.GetReason())
		}
	}
	return errors.New(b.String())
}
