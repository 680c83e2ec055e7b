package pathtemplate_test

import (
	"fmt"

	"github.com/tollgate-gw/tollgate/internal/pathtemplate"
)

func ExampleTemplate_Match() {
	t := pathtemplate.MustParse("/v1/{name=shelves/*/books/*}:publish")
	b, ok := t.Match("/v1/shelves/sci%20fi/books/a%2Fb:publish")
	fmt.Println(ok, b["name"])
	// Output: true shelves/sci fi/books/a%2Fb
}

func ExampleTemplate_Expand() {
	t := pathtemplate.MustParse("/v1/books/{id}")
	p, err := t.Expand(map[string]string{"id": "a/b c"})
	fmt.Println(p, err)
	// Output: /v1/books/a%2Fb%20c <nil>
}

func ExampleParse_error() {
	_, err := pathtemplate.Parse("/v1/{name=shelves/*")
	fmt.Println(err)
	// Output: path template "/v1/{name=shelves/*": unclosed variable: missing "}"
}

func ExampleSet() {
	var s pathtemplate.Set
	for _, t := range []string{"/v1/{name=**}", "/v1/books/{id}", "/v1/books/{id}:publish"} {
		if err := s.Add(pathtemplate.MustParse(t), t); err != nil {
			panic(err)
		}
	}
	for _, p := range []string{"/v1/books/1", "/v1/books/1:publish", "/v1/a/b"} {
		v, b, ok := s.Lookup(p)
		fmt.Println(p, "->", v, b, ok)
	}
	// Output:
	// /v1/books/1 -> /v1/books/{id} map[id:1] true
	// /v1/books/1:publish -> /v1/books/{id}:publish map[id:1] true
	// /v1/a/b -> /v1/{name=**} map[name:a/b] true
}
