package admincli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config is the declarative configuration `tollgate apply` reads and
// `tollgate export` writes. Each entry is the admin API's JSON of the
// resource (as `tollgate <resource> get -o json` prints it, without the
// fields the gateway manages: name, uid, etag, times) plus a few keys of
// its own: id, and the children of APIs and plans.
type Config struct {
	// APIs with their routes, authorizers and stages.
	APIs []*APIEntry `json:"apis,omitempty"`
	// Keys are API keys.
	Keys []*KeyEntry `json:"keys,omitempty"`
	// Plans are usage plans with the IDs of their keys.
	Plans []*PlanEntry `json:"plans,omitempty"`
	// Domains are domain mappings.
	Domains []*Entry `json:"domains,omitempty"`
	// Settings are the account settings' fields, if the file manages them.
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Entry is one resource: its ID and the fields the file sets.
type Entry struct {
	// ID is the resource's ID (the last segment of its name).
	ID string `json:"id"`
	// Fields are the resource's JSON fields, without id and the entry's
	// own keys.
	Fields map[string]json.RawMessage `json:"-"`
}

// APIEntry is an API and what belongs to it.
type APIEntry struct {
	Entry
	// FileDescriptorSetFile names a binary FileDescriptorSet (a protoset,
	// such as `buf build -o api.binpb` writes), relative to the config
	// file, used as the API's fileDescriptorSet.
	FileDescriptorSetFile string `json:"fileDescriptorSetFile,omitempty"`
	// ServiceConfigFile names a google.api.Service YAML with HTTP rules
	// (grpc-gateway's grpc_api_configuration), relative to the config
	// file, used as the API's serviceConfigYaml.
	ServiceConfigFile string `json:"serviceConfigFile,omitempty"`
	// Routes of the API.
	Routes []*Entry `json:"routes,omitempty"`
	// Authorizers of the API.
	Authorizers []*Entry `json:"authorizers,omitempty"`
	// Stages of the API.
	Stages []*StageEntry `json:"stages,omitempty"`
}

// StageEntry is a stage; with Deploy, apply points it at a new deployment
// of the API whenever the API, its routes or authorizers changed (or the
// stage serves nothing yet).
type StageEntry struct {
	Entry
	// Deploy makes apply deploy the API's changes to this stage.
	Deploy bool `json:"deploy,omitempty"`
}

// KeyEntry is an API key; its secret comes from the environment or a file,
// never from the configuration, and is never printed.
type KeyEntry struct {
	Entry
	// ValueFrom says where the key's value is read, on creation only.
	// Without it the gateway generates a value (shown by `tollgate keys
	// create` only).
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom names the source of a secret.
type ValueFrom struct {
	// Env is an environment variable.
	Env string `json:"env,omitempty"`
	// File is a file, relative to the config file.
	File string `json:"file,omitempty"`
}

// PlanEntry is a usage plan with the IDs of its API keys.
type PlanEntry struct {
	Entry
	// Keys are the IDs of the plan's API keys.
	Keys []string `json:"keys,omitempty"`
}

// entryKeys are the keys each kind of entry keeps for itself.
var entryKeys = map[string][]string{
	"entry": {"id"},
	"api":   {"id", "fileDescriptorSetFile", "serviceConfigFile", "routes", "authorizers", "stages"},
	"stage": {"id", "deploy"},
	"key":   {"id", "valueFrom"},
	"plan":  {"id", "keys"},
}

// splitFields returns the fields of obj that are not the entry's own keys.
func splitFields(obj map[string]json.RawMessage, own []string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range obj {
		if !slices.Contains(own, k) {
			out[k] = v
		}
	}
	return out
}

// UnmarshalJSON reads an entry: id, and every other key as a field.
func (e *Entry) UnmarshalJSON(b []byte) error {
	return e.unmarshal(b, entryKeys["entry"])
}

func (e *Entry) unmarshal(b []byte, own []string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if raw, ok := obj["id"]; ok {
		if err := json.Unmarshal(raw, &e.ID); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	}
	e.Fields = splitFields(obj, own)
	return nil
}

// MarshalJSON writes id, then the fields.
func (e Entry) MarshalJSON() ([]byte, error) {
	return marshalEntry(e, nil)
}

// marshalEntry writes an entry's id, fields and extra keys as one object.
func marshalEntry(e Entry, extra map[string]any) ([]byte, error) {
	obj := map[string]any{"id": e.ID}
	for k, v := range e.Fields {
		obj[k] = v
	}
	for k, v := range extra {
		obj[k] = v
	}
	return json.Marshal(obj)
}

// UnmarshalJSON reads an API entry.
func (a *APIEntry) UnmarshalJSON(b []byte) error {
	type own struct {
		FileDescriptorSetFile string        `json:"fileDescriptorSetFile"`
		ServiceConfigFile     string        `json:"serviceConfigFile"`
		Routes                []*Entry      `json:"routes"`
		Authorizers           []*Entry      `json:"authorizers"`
		Stages                []*StageEntry `json:"stages"`
	}
	var o own
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	a.FileDescriptorSetFile, a.ServiceConfigFile, a.Routes, a.Authorizers, a.Stages = o.FileDescriptorSetFile, o.ServiceConfigFile, o.Routes, o.Authorizers, o.Stages
	return a.unmarshal(b, entryKeys["api"])
}

// MarshalJSON writes an API entry.
func (a APIEntry) MarshalJSON() ([]byte, error) {
	extra := map[string]any{}
	if a.FileDescriptorSetFile != "" {
		extra["fileDescriptorSetFile"] = a.FileDescriptorSetFile
	}
	if a.ServiceConfigFile != "" {
		extra["serviceConfigFile"] = a.ServiceConfigFile
	}
	if len(a.Routes) > 0 {
		extra["routes"] = a.Routes
	}
	if len(a.Authorizers) > 0 {
		extra["authorizers"] = a.Authorizers
	}
	if len(a.Stages) > 0 {
		extra["stages"] = a.Stages
	}
	return marshalEntry(a.Entry, extra)
}

// UnmarshalJSON reads a stage entry.
func (s *StageEntry) UnmarshalJSON(b []byte) error {
	var o struct {
		Deploy bool `json:"deploy"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	s.Deploy = o.Deploy
	return s.unmarshal(b, entryKeys["stage"])
}

// MarshalJSON writes a stage entry.
func (s StageEntry) MarshalJSON() ([]byte, error) {
	extra := map[string]any{}
	if s.Deploy {
		extra["deploy"] = true
	}
	return marshalEntry(s.Entry, extra)
}

// UnmarshalJSON reads a key entry.
func (k *KeyEntry) UnmarshalJSON(b []byte) error {
	var o struct {
		ValueFrom *ValueFrom `json:"valueFrom"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	k.ValueFrom = o.ValueFrom
	return k.unmarshal(b, entryKeys["key"])
}

// MarshalJSON writes a key entry.
func (k KeyEntry) MarshalJSON() ([]byte, error) {
	extra := map[string]any{}
	if k.ValueFrom != nil {
		extra["valueFrom"] = k.ValueFrom
	}
	return marshalEntry(k.Entry, extra)
}

// UnmarshalJSON reads a plan entry.
func (p *PlanEntry) UnmarshalJSON(b []byte) error {
	var o struct {
		Keys []string `json:"keys"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	p.Keys = o.Keys
	return p.unmarshal(b, entryKeys["plan"])
}

// MarshalJSON writes a plan entry.
func (p PlanEntry) MarshalJSON() ([]byte, error) {
	extra := map[string]any{}
	if len(p.Keys) > 0 {
		extra["keys"] = p.Keys
	}
	return marshalEntry(p.Entry, extra)
}

// loadedConfig is a configuration and where each part came from, for
// error messages and relative paths.
type loadedConfig struct {
	Config
	dirOf map[any]string // entry → directory of its file
	file  map[any]string // entry → its file
}

// loadConfig reads a configuration file, or every .yaml, .yml and .json
// file of a directory (merged in name order).
func loadConfig(path string) (*loadedConfig, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if info.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if ext := strings.ToLower(filepath.Ext(e.Name())); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s holds no .yaml, .yml or .json file", path)
		}
	}
	out := &loadedConfig{dirOf: map[any]string{}, file: map[any]string{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		js, err := toJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var c Config
		dec := json.NewDecoder(strings.NewReader(string(js)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		dir := filepath.Dir(f)
		for _, a := range c.APIs {
			out.dirOf[a], out.file[a] = dir, f
		}
		for _, k := range c.Keys {
			out.dirOf[k], out.file[k] = dir, f
		}
		for _, p := range c.Plans {
			out.file[p] = f
		}
		for _, d := range c.Domains {
			out.file[d] = f
		}
		out.APIs = append(out.APIs, c.APIs...)
		out.Keys = append(out.Keys, c.Keys...)
		out.Plans = append(out.Plans, c.Plans...)
		out.Domains = append(out.Domains, c.Domains...)
		if c.Settings != nil {
			out.Settings = c.Settings
		}
	}
	return out, nil
}
