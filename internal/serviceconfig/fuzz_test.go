package serviceconfig_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
)

// FuzzParse feeds arbitrary documents to Parse and Apply: they must return
// a *serviceconfig.Error or rules that merge into descriptors, never
// panic, and every merged option must survive a round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    get: /v2/echo/{message}\n    additional_bindings:\n    - post: /v2/echo\n      body: '*'\n",
		"http:\n  rules:\n  - selector: tollgate.example.v1.BookstoreService.GetBook\n    custom: {kind: HEAD, path: '/v1/{name=shelves/*/books/*}:peek'}\n",
		"http:\n  rules:\n  - selector: a.B.C\n    get: /v1/{x=**}:verb:more\n",
		"a: &a [*a, *a]\n",
		"http: {rules: [{selector: x.Y.Z}]}",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := serviceconfig.Parse(src)
		if err != nil {
			var se *serviceconfig.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %v is not a *serviceconfig.Error", err)
			}
			return
		}
		set := examplebackend.FileDescriptorSet()
		if err := cfg.Apply(set); err != nil {
			var se *serviceconfig.Error
			if !errors.As(err, &se) {
				t.Fatalf("Apply error %v is not a *serviceconfig.Error", err)
			}
			return
		}
		b, err := proto.Marshal(set)
		if err != nil {
			t.Fatalf("merged descriptors do not marshal: %v", err)
		}
		if err := proto.Unmarshal(b, set); err != nil {
			t.Fatalf("merged descriptors do not unmarshal: %v", err)
		}
	})
}
