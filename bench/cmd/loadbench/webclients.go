package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/textproto"

	"google.golang.org/protobuf/proto"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// Browser and Connect client scenarios: the same 1 KiB unary Echo as
// grpc-unary, over HTTP/1.1 in the Connect protocol (binary) and in
// gRPC-Web (binary), through Tollgate (translated in process into its gRPC
// server) and through Vanguard's transcoder in front of a reverse proxy.
// Their "vs ref" is the grpc-unary cell of the same target and concurrency
// (Vanguard's: Tollgate's), so it reads as the cost of the web protocol
// over gRPC through the same gateway.
const (
	scenarioConnectUnary = "connect-unary"
	scenarioGRPCWebUnary = "grpcweb-unary"
)

// webScenario reports whether s is a browser/Connect scenario.
func webScenario(s string) bool { return s == scenarioConnectUnary || s == scenarioGRPCWebUnary }

// webRequest is the body of an EchoRequest in the scenario's framing.
func webRequest(s string, payload []byte) ([]byte, string, error) {
	msg, err := proto.Marshal(&examplev1.EchoRequest{Message: "bench", Payload: payload})
	if err != nil {
		return nil, "", err
	}
	if s == scenarioConnectUnary {
		return msg, "application/proto", nil
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return append(frame, msg...), "application/grpc-web+proto", nil
}

// webUnary POSTs one call of scenario s to url (HTTP/1.1) and checks the
// answer: a Connect unary response, or gRPC-Web frames whose trailer
// frame says grpc-status 0.
func webUnary(s string, client *http.Client, url string, header http.Header, payload []byte) (callFunc, error) {
	body, contentType, err := webRequest(s, payload)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", contentType)
		if s == scenarioConnectUnary {
			req.Header.Set("Connect-Protocol-Version", "1")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
		}
		if s == scenarioConnectUnary {
			if len(b) < len(payload) {
				return 0, fmt.Errorf("response of %d bytes is shorter than the payload", len(b))
			}
			return 1, nil
		}
		if st := resp.Header.Get("Grpc-Status"); st != "" {
			return 0, fmt.Errorf("trailers-only response: grpc-status %s %s", st, resp.Header.Get("Grpc-Message"))
		}
		return 1, checkGRPCWeb(b, len(payload))
	}, nil
}

// checkGRPCWeb checks a gRPC-Web body: one message at least payloadLen
// long, then a trailer frame with grpc-status 0.
func checkGRPCWeb(b []byte, payloadLen int) error {
	msgs := 0
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			break
		}
		flags, data := b[0], b[5:5+n]
		b = b[5+n:]
		if flags&0x80 == 0 {
			if n < payloadLen {
				return fmt.Errorf("message of %d bytes is shorter than the payload", n)
			}
			msgs++
			continue
		}
		h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(data, "\r\n"...)))).ReadMIMEHeader()
		if err != nil {
			return fmt.Errorf("trailer frame: %w", err)
		}
		if st := h.Get("Grpc-Status"); st != "0" || msgs != 1 {
			return fmt.Errorf("%d messages, grpc-status %s %s", msgs, st, h.Get("Grpc-Message"))
		}
		return nil
	}
	return fmt.Errorf("no trailer frame")
}
