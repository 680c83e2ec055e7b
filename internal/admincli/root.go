package admincli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Environment variables the client reads; flags win over them.
const (
	// EnvAdminURL is the admin API's URL, such as "http://127.0.0.1:9090".
	EnvAdminURL = "TOLLGATE_ADMIN_URL"
	// EnvAdminToken is the admin token.
	EnvAdminToken = "TOLLGATE_ADMIN_TOKEN"
	// EnvAdminTokenFile names a file holding the admin token.
	EnvAdminTokenFile = "TOLLGATE_ADMIN_TOKEN_FILE"
	// EnvAdminCACert names a PEM file of CAs to verify an https admin URL.
	EnvAdminCACert = "TOLLGATE_ADMIN_CACERT"
)

// defaultAdminURL is where `tollgate serve` listens by default.
const defaultAdminURL = "http://127.0.0.1:9090"

// defaultTokenFile is where `tollgate serve` keeps a generated token, read
// when no token is given, so that the README's demo needs no setup.
const defaultTokenFile = "tollgate-data/admin-token"

// Env reads the environment; os.Getenv in production, a map in tests.
type Env func(string) string

// client is what every command needs: where to connect, how to print.
type client struct {
	getenv    Env
	stdout    io.Writer
	stderr    io.Writer
	adminURL  string
	token     string
	tokenFile string
	caCert    string
	output    string // table, json or yaml
	conn      *grpc.ClientConn
}

// Execute runs the client subcommand args (without the program name) and
// returns its error, already printed in full to stderr when it is an admin
// API error.
func Execute(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	c := &client{getenv: getenv, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	defer c.close()
	err := root.ExecuteContext(ctx)
	if err != nil {
		return describe(err)
	}
	return nil
}

// rootCommand builds the command tree.
func (c *client) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tollgate",
		Short:         "Tollgate, a self-hosted API gateway for gRPC and REST",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `Tollgate is a self-hosted API gateway for gRPC and REST.

  tollgate serve [flags]         run the gateway (tollgate serve --help)
  tollgate <resource> <verb>     manage a running gateway through its admin API

The admin API is reached at --admin-url (` + EnvAdminURL + `, default ` + defaultAdminURL + `)
with the token from ` + EnvAdminToken + `, --token-file (` + EnvAdminTokenFile + `)
or ./` + defaultTokenFile + `.`,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.adminURL, "admin-url", "", "admin API `URL`, http:// or https:// (default $"+EnvAdminURL+" or "+defaultAdminURL+")")
	pf.StringVar(&c.tokenFile, "token-file", "", "`file` holding the admin token (default $"+EnvAdminTokenFile+", then ./"+defaultTokenFile+"; $"+EnvAdminToken+" wins over both)")
	pf.StringVar(&c.caCert, "cacert", "", "PEM `file` of CAs that sign an https admin URL's certificate (default $"+EnvAdminCACert+", else the system's)")
	pf.StringVarP(&c.output, "output", "o", "table", "output `format`: table, json or yaml")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		switch c.output {
		case "table", "json", "yaml":
		default:
			return fmt.Errorf("--output must be table, json or yaml (got %q)", c.output)
		}
		return nil
	}
	for _, r := range resources() {
		root.AddCommand(c.resourceCommand(r))
	}
	root.AddCommand(c.settingsCommand(), c.deployCommand(), c.usageCommand(), c.flushCacheCommand(), c.applyCommand(), c.exportCommand(), c.logsCommand(), c.schemaCommand())
	return root
}

// dial connects to the admin API once per process, on first use.
func (c *client) dial() (*grpc.ClientConn, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	raw := firstNonEmpty(c.adminURL, c.getenv(EnvAdminURL), defaultAdminURL)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("the admin URL must look like http://127.0.0.1:9090 or https://admin.example.com (got %q)", raw)
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if path := firstNonEmpty(c.caCert, c.getenv(EnvAdminCACert)); path != "" {
			pem, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read the CA certificates: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s holds no PEM certificate", path)
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	}
	token, err := c.adminToken()
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	// The token is added to every call by an interceptor rather than as
	// per-RPC credentials, which grpc-go sends only over TLS: the admin
	// port is plaintext on loopback by default.
	auth := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), method, req, reply, cc, opts...)
	}
	conn, err := grpc.NewClient("dns:///"+host, grpc.WithTransportCredentials(creds), grpc.WithUnaryInterceptor(auth))
	if err != nil {
		return nil, fmt.Errorf("connect to the admin API at %s: %w", raw, err)
	}
	c.conn = conn
	return conn, nil
}

// adminToken finds the admin token: the environment, the token file, or
// the data dir's generated one.
func (c *client) adminToken() (string, error) {
	if t := c.getenv(EnvAdminToken); t != "" {
		return t, nil
	}
	path := firstNonEmpty(c.tokenFile, c.getenv(EnvAdminTokenFile))
	explicit := path != ""
	if !explicit {
		path = defaultTokenFile
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), nil
	case explicit || !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read the admin token: %w", err)
	}
	return "", fmt.Errorf("no admin token: set %s, or pass --token-file (the gateway writes a generated one to <data dir>/admin-token)", EnvAdminToken)
}

// close closes the connection, if any.
func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// IsCommand reports whether name is one of the client's commands (or
// cobra's shell completion commands), so that the program can tell an
// unknown command from one of these.
func IsCommand(name string) bool {
	switch name {
	case "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return true
	}
	c := &client{getenv: func(string) string { return "" }}
	cmd, _, err := c.rootCommand().Find([]string{name})
	return err == nil && cmd.Name() == name || err == nil && slices.Contains(cmd.Aliases, name)
}
