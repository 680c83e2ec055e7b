package admincli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// adminService is the admin API's service descriptor, from which the
// resource commands are derived.
var adminService = adminv1.File_tollgate_admin_v1_admin_service_proto.Services().ByName("AdminService")

// shortNames are the command names of the resources the README uses; other
// resources are named by their plural in kebab case.
var shortNames = map[protoreflect.Name]string{
	"Api": "apis", "Route": "routes", "Authorizer": "authorizers", "Deployment": "deployments",
	"Stage": "stages", "ApiKey": "keys", "UsagePlan": "plans", "UsagePlanKey": "plan-keys",
	"DomainMapping": "domains",
}

// resource is one admin resource and its standard methods.
type resource struct {
	command                           string   // "routes"
	aliases                           []string // "api-keys"
	msg                               protoreflect.MessageDescriptor
	collection                        string   // the pattern's last literal, "routes"
	parentVars                        []string // the pattern's variables before the last, ["api"]
	create, get, list, update, delete protoreflect.MethodDescriptor
}

// resources finds every resource with Create, Get, List and Delete methods.
func resources() []*resource {
	var out []*resource
	methods := adminService.Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		if !strings.HasPrefix(string(m.Name()), "Create") {
			continue
		}
		msg := m.Output()
		rd, _ := proto.GetExtension(msg.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
		if rd == nil || len(rd.GetPattern()) == 0 || rd.GetPlural() == "" {
			continue
		}
		name := msg.Name()
		r := &resource{
			msg:    msg,
			create: m,
			get:    methods.ByName("Get" + name),
			list:   methods.ByName("List" + name + "s"),
			update: methods.ByName("Update" + name),
			delete: methods.ByName("Delete" + name),
		}
		if r.get == nil || r.list == nil || r.delete == nil {
			continue
		}
		segs := strings.Split(rd.GetPattern()[0], "/")
		for j, s := range segs {
			if strings.HasPrefix(s, "{") && j < len(segs)-1 {
				r.parentVars = append(r.parentVars, strings.Trim(s, "{}"))
			}
		}
		if len(segs) >= 2 {
			r.collection = segs[len(segs)-2]
		}
		kebab := kebabCase(rd.GetPlural())
		r.command = shortNames[name]
		if r.command == "" {
			r.command = kebab
		} else if kebab != r.command {
			r.aliases = []string{kebab}
		}
		out = append(out, r)
	}
	return out
}

// resourceCommand builds `tollgate <resource> list|get|create|update|delete`.
func (c *client) resourceCommand(r *resource) *cobra.Command {
	singular := strings.ToLower(string(r.msg.Name()))
	cmd := &cobra.Command{
		Use:     r.command,
		Aliases: r.aliases,
		Short:   fmt.Sprintf("Manage %s (%s)", r.command, r.msg.FullName()),
	}
	// parentFlags adds the parent flags (--api, --usage-plan) to a
	// subcommand and returns what builds the parent's name from them.
	parentFlags := func(sub *cobra.Command) func() (string, error) {
		vals := make([]*string, len(r.parentVars))
		for i, v := range r.parentVars {
			vals[i] = new(string)
			sub.Flags().StringVar(vals[i], kebabCase(v), "", "the parent "+strings.ReplaceAll(v, "_", " ")+"'s ID")
		}
		return func() (string, error) {
			var parts []string
			for i, v := range r.parentVars {
				if *vals[i] == "" {
					return "", fmt.Errorf("--%s is required", kebabCase(v))
				}
				parts = append(parts, parentCollection(r, i), *vals[i])
			}
			return strings.Join(parts, "/"), nil
		}
	}
	// nameFrom resolves a NAME argument: a full name as it is, an ID under
	// the parent the flags name.
	nameFrom := func(parentName func() (string, error), arg string) (string, error) {
		if strings.Contains(arg, "/") {
			return arg, nil
		}
		p, err := parentName()
		if err != nil {
			return "", fmt.Errorf("%w, or give the full name (such as %s)", err, exampleName(r))
		}
		if p == "" {
			return r.collection + "/" + arg, nil
		}
		return p + "/" + r.collection + "/" + arg, nil
	}

	var listParent func() (string, error)
	list := &cobra.Command{
		Use:   "list",
		Short: "List " + r.command,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parent, err := listParent()
			if err != nil {
				return err
			}
			items, err := c.listAll(cmd, r, parent)
			if err != nil {
				return err
			}
			return c.printList(items)
		},
	}
	listParent = parentFlags(list)

	var getParent func() (string, error)
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show one " + singular,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameFrom(getParent, args[0])
			if err != nil {
				return err
			}
			req := newRequest(r.get)
			setString(req, "name", name)
			resp, err := c.invoke(cmd, r.get, req)
			if err != nil {
				return err
			}
			return c.printOne(resp)
		},
	}
	getParent = parentFlags(get)

	var file, data string
	var fileFields []string
	var mask []string
	var createParent func() (string, error)
	create := &cobra.Command{
		Use:   "create [ID] [-f FILE | --data JSON]",
		Short: "Create a " + singular + " from JSON or YAML (its fields as in the admin API)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, _, err := readResource(r.msg, file, data, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if _, err := setFileFields(body, fileFields); err != nil {
				return err
			}
			req := newRequest(r.create)
			if hasField(req, "parent") {
				parent, err := createParent()
				if err != nil {
					return err
				}
				setString(req, "parent", parent)
			}
			if len(args) == 1 {
				idField := idFieldOf(r.create)
				if idField == "" {
					return fmt.Errorf("%s are named by the gateway: leave out the ID", r.command)
				}
				setString(req, protoreflect.Name(idField), args[0])
			}
			setMessage(req, r.msg, body)
			resp, err := c.invoke(cmd, r.create, req)
			if err != nil {
				return err
			}
			return c.printOne(resp)
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "JSON or YAML `file` with the "+singular+" (- for stdin)")
	create.Flags().StringVar(&data, "data", "", "the "+singular+" as inline JSON or YAML")
	if hasFileFields(r.msg) {
		create.Flags().StringArrayVar(&fileFields, "set-file", nil, "`FIELD=PATH`: set a text or bytes field to a file's content, e.g. service_config_yaml=api_config.yaml (repeatable)")
	}
	createParent = parentFlags(create)

	var delParent func() (string, error)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a " + singular,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameFrom(delParent, args[0])
			if err != nil {
				return err
			}
			req := newRequest(r.delete)
			setString(req, "name", name)
			if force, _ := cmd.Flags().GetBool("force"); force {
				setBool(req, "force")
			}
			if _, err := c.invoke(cmd, r.delete, req); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted %s\n", name)
			return nil
		},
	}
	if r.delete.Input().Fields().ByName("force") != nil {
		del.Flags().Bool("force", false, "also delete what the "+singular+" contains")
	}
	delParent = parentFlags(del)
	cmd.AddCommand(list, get, create, del)

	if r.update != nil {
		var ufile, udata string
		var ufileFields []string
		var updateParent func() (string, error)
		update := &cobra.Command{
			Use:   "update NAME [-f FILE | --data JSON] [--mask FIELDS]",
			Short: "Change fields of a " + singular + " (by default, the fields the input sets)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				name, err := nameFrom(updateParent, args[0])
				if err != nil {
					return err
				}
				body, present, err := readResource(r.msg, ufile, udata, cmd.InOrStdin())
				if err != nil {
					return err
				}
				set, err := setFileFields(body, ufileFields)
				if err != nil {
					return err
				}
				present = append(present, set...)
				setString(body, "name", name)
				paths := mask
				if len(paths) == 0 {
					paths = present
				}
				if len(paths) == 0 {
					return fmt.Errorf("nothing to change: the input sets no field (or pass --mask)")
				}
				req := newRequest(r.update)
				setMessage(req, r.msg, body)
				if fd := req.Descriptor().Fields().ByName("update_mask"); fd != nil {
					req.Set(fd, protoreflect.ValueOfMessage((&fieldmaskpb.FieldMask{Paths: paths}).ProtoReflect()))
				}
				resp, err := c.invoke(cmd, r.update, req)
				if err != nil {
					return err
				}
				return c.printOne(resp)
			},
		}
		update.Flags().StringVarP(&ufile, "file", "f", "", "JSON or YAML `file` with the fields to change (- for stdin)")
		update.Flags().StringVar(&udata, "data", "", "the fields to change as inline JSON or YAML")
		if hasFileFields(r.msg) {
			update.Flags().StringArrayVar(&ufileFields, "set-file", nil, "`FIELD=PATH`: set a text or bytes field to a file's content, e.g. service_config_yaml=api_config.yaml (repeatable)")
		}
		update.Flags().StringSliceVar(&mask, "mask", nil, "the `fields` to change, such as description,throttle.rate_limit (default: those the input sets)")
		updateParent = parentFlags(update)
		cmd.AddCommand(update)
	}
	return cmd
}

// listAll calls List until the last page.
func (c *client) listAll(cmd *cobra.Command, r *resource, parent string) ([]protoreflect.Message, error) {
	var items []protoreflect.Message
	token := ""
	for {
		req := newRequest(r.list)
		if parent != "" {
			setString(req, "parent", parent)
		}
		if fd := req.Descriptor().Fields().ByName("page_size"); fd != nil {
			req.Set(fd, protoreflect.ValueOfInt32(1000))
		}
		setString(req, "page_token", token)
		resp, err := c.invoke(cmd, r.list, req)
		if err != nil {
			return nil, err
		}
		fields := resp.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if fd.IsList() && fd.Message() != nil && fd.Message().FullName() == r.msg.FullName() {
				l := resp.Get(fd).List()
				for j := range l.Len() {
					items = append(items, l.Get(j).Message())
				}
			}
		}
		if fd := fields.ByName("next_page_token"); fd != nil {
			token = resp.Get(fd).String()
		}
		if token == "" {
			return items, nil
		}
	}
}

// parentCollection is the literal before the i-th parent variable of r's
// pattern: "apis" for "apis/{api}/routes/{route}" and i = 0.
func parentCollection(r *resource, i int) string {
	rd, _ := proto.GetExtension(r.msg.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
	segs := strings.Split(rd.GetPattern()[0], "/")
	return segs[2*i]
}

// exampleName is an example of a full resource name of r.
func exampleName(r *resource) string {
	rd, _ := proto.GetExtension(r.msg.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
	return strings.NewReplacer("{", "", "}", "").Replace(rd.GetPattern()[0])
}

// idFieldOf is the Create request's "{resource}_id" field, or "".
func idFieldOf(m protoreflect.MethodDescriptor) string {
	fields := m.Input().Fields()
	for i := range fields.Len() {
		if n := string(fields.Get(i).Name()); strings.HasSuffix(n, "_id") {
			return n
		}
	}
	return ""
}

// newRequest returns an empty request of method m.
func newRequest(m protoreflect.MethodDescriptor) protoreflect.Message {
	return newMessage(m.Input())
}

// newMessage returns an empty message of the generated type of md (the
// admin API's types are linked in), so that well-known fields such as
// update_mask take the generated messages.
func newMessage(md protoreflect.MessageDescriptor) protoreflect.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		return dynamicpb.NewMessage(md)
	}
	return mt.New()
}

// hasField reports whether msg has a field named name.
func hasField(msg protoreflect.Message, name protoreflect.Name) bool {
	return msg.Descriptor().Fields().ByName(name) != nil
}

// setString sets a string field, if msg has it.
func setString(msg protoreflect.Message, name protoreflect.Name, v string) {
	if fd := msg.Descriptor().Fields().ByName(name); fd != nil && v != "" {
		msg.Set(fd, protoreflect.ValueOfString(v))
	}
}

// setBool sets a bool field to true, if msg has it.
func setBool(msg protoreflect.Message, name protoreflect.Name) {
	if fd := msg.Descriptor().Fields().ByName(name); fd != nil {
		msg.Set(fd, protoreflect.ValueOfBool(true))
	}
}

// setMessage sets req's field of type md (the resource) to v.
func setMessage(req protoreflect.Message, md protoreflect.MessageDescriptor, v protoreflect.Message) {
	fields := req.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); !fd.IsList() && fd.Message() != nil && fd.Message().FullName() == md.FullName() {
			req.Set(fd, protoreflect.ValueOfMessage(v))
			return
		}
	}
}

// fileField is a field --set-file can set: a top-level singular string or
// bytes field the caller writes (descriptor sets, service configs, PEM).
func fileField(fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() || (fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind) {
		return false
	}
	b, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return !slices.Contains(b, annotations.FieldBehavior_OUTPUT_ONLY) && !slices.Contains(b, annotations.FieldBehavior_IDENTIFIER)
}

// hasFileFields reports whether md has a field --set-file can set.
func hasFileFields(md protoreflect.MessageDescriptor) bool {
	for i := range md.Fields().Len() {
		if fileField(md.Fields().Get(i)) {
			return true
		}
	}
	return false
}

// setFileFields sets the fields named by specs ("field=path", the field
// by its proto or JSON name) to the content of the files, and returns the
// fields' names for an update mask.
func setFileFields(msg protoreflect.Message, specs []string) ([]string, error) {
	var paths []string
	for _, spec := range specs {
		name, path, ok := strings.Cut(spec, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("--set-file %q: want FIELD=PATH, e.g. service_config_yaml=api_config.yaml", spec)
		}
		md := msg.Descriptor()
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			fd = md.Fields().ByJSONName(name)
		}
		if fd == nil || !fileField(fd) {
			var names []string
			for i := range md.Fields().Len() {
				if f := md.Fields().Get(i); fileField(f) {
					names = append(names, string(f.Name()))
				}
			}
			return nil, fmt.Errorf("--set-file %q: %s has no text or bytes field %q (it has %s)", spec, md.Name(), name, strings.Join(names, ", "))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--set-file %s: %w", name, err)
		}
		if fd.Kind() == protoreflect.BytesKind {
			msg.Set(fd, protoreflect.ValueOfBytes(b))
		} else {
			msg.Set(fd, protoreflect.ValueOfString(string(b)))
		}
		paths = append(paths, string(fd.Name()))
	}
	return paths, nil
}

// readResource reads a resource from a JSON or YAML file, stdin ("-") or
// inline data, and returns it with the proto paths of the top-level fields
// it sets (the default update mask). No input is an empty resource.
func readResource(md protoreflect.MessageDescriptor, file, data string, stdin io.Reader) (protoreflect.Message, []string, error) {
	var raw []byte
	switch {
	case file != "" && data != "":
		return nil, nil, fmt.Errorf("give --file or --data, not both")
	case file == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("read stdin: %w", err)
		}
		raw = b
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		raw = b
	default:
		raw = []byte(data)
	}
	msg := newMessage(md)
	if strings.TrimSpace(string(raw)) == "" {
		return msg, nil, nil
	}
	js, err := toJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, msg.Interface()); err != nil {
		return nil, nil, fmt.Errorf("the input is not a valid %s: %w", md.Name(), err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, nil, fmt.Errorf("the input must be an object: %w", err)
	}
	var paths []string
	for k := range top {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil || slices.Contains([]string{"name", "etag", "uid", "create_time", "update_time"}, string(fd.Name())) {
			continue
		}
		paths = append(paths, string(fd.Name()))
	}
	slices.Sort(paths)
	return msg, paths, nil
}

// toJSON returns raw as JSON: as it is when it is JSON, converted when it
// is YAML.
func toJSON(raw []byte) ([]byte, error) {
	if json.Valid(raw) {
		return raw, nil
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("the input is neither JSON nor YAML: %w", err)
	}
	return js, nil
}

// kebabCase turns "apiKeys" or "usage_plan" into "api-keys", "usage-plan".
func kebabCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_':
			b.WriteByte('-')
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
