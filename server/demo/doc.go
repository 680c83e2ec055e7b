// Package demo sets up the demo of `tollgate serve --demo`: an example
// bookstore backend running inside the gateway process, and an API for it
// deployed to a stage, so that a new user has something to call at once.
//
// The demo goes through the admin service like any client would (direct
// method calls, no network), so what it creates is ordinary configuration
// that can be inspected and changed with the admin API. Running it again on
// the same data dir updates the same API and stage instead of adding more:
// the backend gets a new port on every start, so each run points the API at
// it and deploys it anew.
package demo
