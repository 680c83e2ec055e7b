package tracing

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestEnvDetector(t *testing.T) {
	m := map[string]string{
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod%20eu, service.name=ignored",
		"OTEL_SERVICE_NAME":        "gw",
	}
	res, err := envDetector{getenv: func(k string) string { return m[k] }}.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	set := res.Set()
	for k, want := range map[attribute.Key]string{"service.name": "gw", "deployment.environment": "prod eu"} {
		if v, _ := set.Value(k); v.AsString() != want {
			t.Errorf("%s = %q, want %q", k, v.AsString(), want)
		}
	}
}
