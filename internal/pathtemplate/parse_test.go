package pathtemplate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseGood(t *testing.T) {
	tests := []struct {
		tmpl       string
		canonical  string // "" means the same as tmpl
		fieldPaths []string
		verb       string
		prefix     int
	}{
		{tmpl: "/v1", prefix: 1},
		{tmpl: "/v1/books", prefix: 2},
		{tmpl: "/v1/books/{id}", fieldPaths: []string{"id"}, prefix: 2},
		{tmpl: "/v1/books/{id=*}", canonical: "/v1/books/{id}", fieldPaths: []string{"id"}, prefix: 2},
		{tmpl: "/v1/{name=shelves/*/books/*}", fieldPaths: []string{"name"}, prefix: 2},
		{tmpl: "/v1/{name=shelves/*}/books", fieldPaths: []string{"name"}, prefix: 2},
		{tmpl: "/v1/{name=**}", fieldPaths: []string{"name"}, prefix: 1},
		{tmpl: "/v1/{name=**}:undelete", fieldPaths: []string{"name"}, verb: "undelete", prefix: 1},
		{tmpl: "/v1/books/{id}:publish", fieldPaths: []string{"id"}, verb: "publish", prefix: 2},
		{tmpl: "/v1/shelves/{book.shelf}/books/{book.id}", fieldPaths: []string{"book.shelf", "book.id"}, prefix: 2},
		{tmpl: "/v1/{a}/{b}/{c}", fieldPaths: []string{"a", "b", "c"}, prefix: 1},
		{tmpl: "/*", prefix: 0},
		{tmpl: "/**", prefix: 0},
		{tmpl: "/v1/*/books/**", prefix: 1},
		{tmpl: "/v1/**:verb", verb: "verb", prefix: 1},
		{tmpl: "/v1:batchGet", verb: "batchGet", prefix: 1},
		{tmpl: "/{_x.y_1.Z9}", fieldPaths: []string{"_x.y_1.Z9"}},
		{tmpl: "/v1/{a=literal}", fieldPaths: []string{"a"}, prefix: 2},
		{tmpl: "/v1/{a=x/**}", fieldPaths: []string{"a"}, prefix: 2},
		{tmpl: "/v1/{a=*/**}", fieldPaths: []string{"a"}, prefix: 1},
		{tmpl: "/v1.2/a-b_c~d", prefix: 2},
		{tmpl: "/!$&'()+,;@", prefix: 1},
		{tmpl: "/%61bc/%2F/%2e%2e%2e", prefix: 3},
		{tmpl: "/v1/x:%3Averb", verb: "%3Averb", prefix: 2},
		{tmpl: "/v1/x:a.b-c", verb: "a.b-c", prefix: 2},
		{tmpl: "/v1/...", prefix: 2},
		{tmpl: "/v1/{name=projects/*/locations/*}/things:search", fieldPaths: []string{"name"}, verb: "search", prefix: 2},
		{tmpl: "/" + strings.Repeat("a/", MaxSegments-1) + "a", prefix: MaxSegments},

		// grpc-gateway's grammar: a verb may contain ':' (after a variable,
		// the verb starts at the first ':'; after a literal, at the last),
		// literals may contain any pchar, "**" may be followed by segments.
		{tmpl: "/v1/example/a_bit_of_everything/{uuid}:custom:custom", fieldPaths: []string{"uuid"}, verb: "custom:custom", prefix: 3},
		{tmpl: "/v1/{name=**}:a:b:c", fieldPaths: []string{"name"}, verb: "a:b:c", prefix: 1},
		{tmpl: "/v1/x:a:b", verb: "b", prefix: 2},
		{tmpl: "/v1/x:a*=", verb: "a*=", prefix: 2},
		{tmpl: "/v1/a:b/c", prefix: 3},
		{tmpl: "/v1/{a=b:c}", fieldPaths: []string{"a"}, prefix: 2},
		{tmpl: "/v1/{a=:c}", fieldPaths: []string{"a"}, prefix: 2},
		{tmpl: "/v1/a=b/a*/***", prefix: 4},
		{tmpl: "/v1/./..", prefix: 3},
		{tmpl: "/v1/%2E%2e/{a=x/..}", fieldPaths: []string{"a"}, prefix: 4},
		{tmpl: "/v1/{name=**}/x", fieldPaths: []string{"name"}, prefix: 1},
		{tmpl: "/v1/**/x/*:v", verb: "v", prefix: 1},
		{tmpl: "/v1/{a=**/x}", fieldPaths: []string{"a"}, prefix: 1},
		{tmpl: "/v1/{a}/{a}", fieldPaths: []string{"a", "a"}, prefix: 1},
		{tmpl: "/"},
		{tmpl: "/:verb", verb: "verb"},
		{tmpl: "/v1/x:", canonical: "/v1/x", prefix: 2},
		{tmpl: "/v1/{a}:", canonical: "/v1/{a}", fieldPaths: []string{"a"}, prefix: 1},
		// A "/" that ends the segments is read as "*", as grpc-gateway does.
		{tmpl: "//", canonical: "/*"},
		{tmpl: "/v1//", canonical: "/v1/*", prefix: 1},
		{tmpl: "/v1//:v", canonical: "/v1/*:v", verb: "v", prefix: 1},
		{tmpl: "/v1/{a=x//}", canonical: "/v1/{a=x/*}", fieldPaths: []string{"a"}, prefix: 2},
		{tmpl: "/v1/{a=/}", canonical: "/v1/{a}", fieldPaths: []string{"a"}, prefix: 1},
		{tmpl: "///x", canonical: "/*/x"},
		{tmpl: "/v1/{a=//x}", canonical: "/v1/{a=*/x}", fieldPaths: []string{"a"}, prefix: 1},
		{tmpl: "/" + strings.Repeat("a/", MaxSegments-2) + "{x=a/b}", fieldPaths: []string{"x"}, prefix: MaxSegments},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tmpl, err := Parse(tt.tmpl)
			if err != nil {
				t.Fatalf("Parse(%q) failed: %v", tt.tmpl, err)
			}
			want := tt.canonical
			if want == "" {
				want = tt.tmpl
			}
			if got := tmpl.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got := tmpl.FieldPaths(); !slices.Equal(got, tt.fieldPaths) && len(got)+len(tt.fieldPaths) > 0 {
				t.Errorf("FieldPaths() = %q, want %q", got, tt.fieldPaths)
			}
			if got := tmpl.Verb(); got != tt.verb {
				t.Errorf("Verb() = %q, want %q", got, tt.verb)
			}
			if got := tmpl.LiteralPrefixLen(); got != tt.prefix {
				t.Errorf("LiteralPrefixLen() = %d, want %d", got, tt.prefix)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxLength)
	tests := []struct {
		tmpl   string
		offset int
		msg    string
	}{
		{"", 0, `a template must start with "/"`},
		{"v1/books", 0, `a template must start with "/"`},
		{"/v1//books", 4, `empty segment ("//")`},
		{"/v1/", 3, `a template must not end with "/"`},
		{"/v1/{name}/", 10, `a template must not end with "/"`},
		{"/v1/{a={b}}", 7, "variables cannot be nested"},
		{"/v1/{a{b}}", 6, "variables cannot be nested"},
		{"/v1/{a=x/{b}}", 9, "variables cannot be nested"},
		{"/v1/{1a}", 5, `invalid field path "1a": each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`},
		{"/v1/{a.}", 6, `invalid field path "a.": each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`},
		{"/v1/{a..b}", 7, `invalid field path "a..b": each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`},
		{"/v1/{a-b}", 6, `invalid field path "a-b": each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`},
		{"/v1/{a.1}", 7, `invalid field path "a.1": each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`},
		{"/v1/{}", 5, `empty variable: a field path is required, e.g. "{name}"`},
		{"/v1/{=*}", 5, `empty variable: a field path is required, e.g. "{name}"`},
		{"/v1/{name", 4, `unclosed variable: missing "}"`},
		{"/v1/{name=*", 4, `unclosed variable: missing "}"`},
		{"/v1/{name=a/", 4, `unclosed variable: missing "}"`},
		{"/v1/{a=}", 7, `variable "a" has no segments after "="`},
		{"//x", 1, `empty segment ("//")`},
		{"/v1//x", 4, `empty segment ("//")`},
		{"/v1///", 5, `a template must not end with "/"`},
		{"/v1/{a=/x}", 7, `empty segment ("//")`},
		{"/{a=**}/{b=**}", 11, `a template may have only one "**"`},
		{"/v1/**/**", 7, `a template may have only one "**"`},
		{"/v1/:verb", 3, `a template must not end with "/"`},
		{"/v1/{a}:{b}", 7, "a variable must be a whole segment"},
		{"/v1/x:a b", 7, `invalid character ' ' in the verb; percent-encode it as %20`},
		{"/v1/{a}:a/b", 7, "a variable must be a whole segment"},
		{"/v1/x:a}", 7, `invalid character '}' in the verb; percent-encode it as %7D`},
		{"/v1/{a=x/}", 8, `a variable's segments must not end with "/"`},
		{"/v1/{a=x//y}", 9, `empty segment ("//")`},
		{"/v1/a{b}", 5, "a variable must be a whole segment"},
		{"/v1/{b}c", 7, "a variable must be a whole segment"},
		{"/v1/{a}{b}", 7, "a variable must be a whole segment"},
		{"/v1/}", 4, `unexpected "}" outside a variable`},
		{"/v1/a}", 5, `unexpected "}" outside a variable`},
		{"/v1/a b", 5, `invalid character ' ' in a literal segment; percent-encode it as %20`},
		{"/v1/é", 4, `invalid character 'é' in a literal segment; percent-encode it as %C3%A9`},
		{"/v1/\xff", 4, `invalid byte 0xFF in a literal segment; percent-encode it as %FF`},
		{"/v1/a?b", 5, `invalid character '?' in a literal segment; percent-encode it as %3F`},
		{"/v1/%zz", 4, `invalid percent-encoding "%zz" in a literal segment: "%" must be followed by two hex digits`},
		{"/v1/%", 4, `invalid percent-encoding "%" in a literal segment: "%" must be followed by two hex digits`},
		{"/v1/%2", 4, `invalid percent-encoding "%2" in a literal segment: "%" must be followed by two hex digits`},
		{"/v1/x:%g0", 6, `invalid percent-encoding "%g0" in the verb: "%" must be followed by two hex digits`},
		{long, MaxLength, "template is 4097 bytes long; the limit is 4096"},
		{"/" + strings.Repeat("a/", MaxSegments) + "a", 2*MaxSegments + 1, "too many segments; the limit is 64"},
		{"/" + strings.Repeat("a/", MaxSegments) + "{x}", 2*MaxSegments + 1, "too many segments; the limit is 64"},
		{"/" + strings.Repeat("a/", MaxSegments-1) + "{x=a/b}", 2*MaxSegments + 4, "too many segments; the limit is 64"},
	}
	for _, tt := range tests {
		name := tt.tmpl
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			tmpl, err := Parse(tt.tmpl)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %q", tt.tmpl, tmpl, tt.msg)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T, want *ParseError", tt.tmpl, err)
			}
			if pe.Template != tt.tmpl || pe.Offset != tt.offset || pe.Msg != tt.msg {
				t.Errorf("Parse(%q) error = {Offset: %d, Msg: %q}, want {Offset: %d, Msg: %q}",
					tt.tmpl, pe.Offset, pe.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestParseErrorString(t *testing.T) {
	tests := []struct{ tmpl, want string }{
		{"/v1/**/{name=**}", `path template "/v1/**/{name=**}": a template may have only one "**"`},
		{"v1", `path template "v1": a template must start with "/"`},
		{"/v1/a b", `path template "/v1/a b": invalid character ' ' in a literal segment; percent-encode it as %20`},
		{"/" + strings.Repeat("a", 200) + " ", `path template "/` + strings.Repeat("a", 119) + `...": invalid character ' ' in a literal segment; percent-encode it as %20`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.tmpl)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %s", tt.tmpl, err, tt.want)
		}
	}
}

func TestMustParse(t *testing.T) {
	if got := MustParse("/v1/{id=*}").String(); got != "/v1/{id}" {
		t.Errorf("MustParse(...).String() = %q", got)
	}
	defer func() {
		r := recover()
		if _, ok := r.(*ParseError); !ok {
			t.Errorf("MustParse of a bad template panicked with %v, want a *ParseError", r)
		}
	}()
	MustParse("/v1//x")
}

func TestFieldPathsIsCopy(t *testing.T) {
	tmpl := MustParse("/v1/{a}/{b}")
	fps := tmpl.FieldPaths()
	fps[0] = "changed"
	if got := tmpl.FieldPaths(); got[0] != "a" {
		t.Errorf("FieldPaths() after modifying a previous result = %q", got)
	}
}
