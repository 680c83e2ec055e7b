package server

import (
	"fmt"
	"io"
	"strings"
)

// writeTokenNotice shows a newly generated admin token to the operator, in
// a box so that it stands out among the log lines around it. This is the
// only place the token is ever written besides its file: the logs only say
// where the file is.
func writeTokenNotice(w io.Writer, token, path string) {
	lines := []string{
		"Tollgate generated an admin token. It is shown only this once:",
		"",
		"    " + token,
		"",
		"It is saved in " + path + " (mode 0600).",
		`Admin calls must send it as "authorization: Bearer <token>".`,
		"Set TOLLGATE_ADMIN_TOKEN to choose the token yourself.",
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	border := "+" + strings.Repeat("-", width+2) + "+"
	var b strings.Builder
	b.WriteString("\n" + border + "\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "| %-*s |\n", width, l)
	}
	b.WriteString(border + "\n\n")
	// A failed write to stderr leaves nothing better to report it to; the
	// token stays in its file.
	_, _ = io.WriteString(w, b.String())
}
