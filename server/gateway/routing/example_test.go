package routing_test

import (
	"fmt"

	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

func ExampleSelectionExpression_Select() {
	e, err := routing.ParseSelectionExpression("$request.body.action")
	if err != nil {
		panic(err)
	}
	for _, msg := range []string{`{"action":"join","room":"lobby"}`, `{"text":"hi"}`, `not json`} {
		key, ok := e.Select([]byte(msg))
		fmt.Printf("%q %v\n", key, ok)
	}
	// Output:
	// "join" true
	// "" false
	// "" false
}
