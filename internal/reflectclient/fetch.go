package reflectclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	// MaxFiles is the most distinct files [Fetch] accepts from one server.
	MaxFiles = 10_000

	// MaxBytes is the most bytes of serialized file descriptors [Fetch]
	// accepts from one server, counting a file each time it is sent.
	MaxBytes = 64 << 20

	// maxMessageBytes caps one reflection response, to bound what decoding
	// a single message costs.
	maxMessageBytes = 16 << 20

	// batchSize is how many file_by_filename requests are in flight at once.
	batchSize = 64

	// maxListed is how many service names an unknown-service error lists.
	maxListed = 20
)

var (
	// ErrUnreachable means that no connection to the backend could be made:
	// it is not running, the address is wrong, or TLS is on at one end only.
	ErrUnreachable = errors.New("backend unreachable")

	// ErrNoReflection means that the backend serves neither reflection v1
	// nor v1alpha.
	ErrNoReflection = errors.New("the backend does not serve gRPC server reflection (v1 or v1alpha); upload a FileDescriptorSet instead")

	// ErrUnknownService means that a service passed to [Fetch] is not
	// defined as a service by the backend.
	ErrUnknownService = errors.New("unknown service")

	// ErrTooLarge means that the backend sent more than [MaxFiles] files or
	// [MaxBytes] bytes of descriptors, or one response over 16 MiB.
	ErrTooLarge = errors.New("schema too large")

	// ErrBadSchema means that the backend could not return a file the
	// schema needs, or returned files that are malformed or do not link.
	ErrBadSchema = errors.New("the backend's reflection returned an incomplete or invalid schema")
)

// methods are the reflection streaming methods, in the order they are tried.
var methods = []string{
	rpb.ServerReflection_ServerReflectionInfo_FullMethodName,
	rpbalpha.ServerReflection_ServerReflectionInfo_FullMethodName,
}

// limits are the caps of one fetch; tests lower them.
type limits struct {
	files int
	bytes int
}

// Fetch connects to target (a gRPC target such as "localhost:50051"; TLS
// with the system's root certificates when useTLS, else plaintext), lists
// the services (or takes services if it is not empty), and returns a
// FileDescriptorSet holding every file defining them plus all their
// transitive imports, each file once, in dependency order (imports before
// importers), linkable with protodesc.NewFiles.
//
// It tries reflection v1 first and falls back to v1alpha when the server
// answers UNIMPLEMENTED for v1. When listing, grpc.reflection.* and
// grpc.health.v1.Health are skipped. Service names are fully qualified
// ("pkg.v1.Service"). Fetch honours ctx, whose deadline bounds the whole
// fetch, connecting included, and closes its connection before returning.
// The package documentation describes the errors and limits. dialOpts are
// added to the connection's options (e.g. a dialer that refuses some
// addresses).
func Fetch(ctx context.Context, target string, useTLS bool, services []string, dialOpts ...grpc.DialOption) (*descriptorpb.FileDescriptorSet, error) {
	return fetch(ctx, target, useTLS, services, limits{files: MaxFiles, bytes: MaxBytes}, dialOpts...)
}

func fetch(ctx context.Context, target string, useTLS bool, services []string, lim limits, dialOpts ...grpc.DialOption) (*descriptorpb.FileDescriptorSet, error) {
	f := &fetcher{
		target: target,
		lim:    lim,
		files:  map[string]*descriptorpb.FileDescriptorProto{},
	}
	if strings.TrimSpace(target) == "" {
		return nil, f.errorf("no target; give the backend's address as host:port")
	}
	wanted, err := f.cleanServices(services)
	if err != nil {
		return nil, err
	}

	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, dialOpts...)...)
	if err != nil {
		return nil, f.errorf("invalid gRPC target (want host:port or a gRPC URI such as dns:///host:port): %w", err)
	}
	defer conn.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	st, listed, err := f.open(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer st.close()

	roots := wanted
	if len(roots) == 0 {
		for _, name := range listed {
			if !skipped(name) {
				roots = append(roots, name)
			}
		}
		slices.Sort(roots)
		roots = slices.Compact(roots)
		if len(roots) == 0 {
			return nil, f.errorf("%w: the backend lists no services besides reflection and health; name the services to fetch, or upload a FileDescriptorSet instead", ErrUnknownService)
		}
	}

	rootFiles, err := f.fetchServices(ctx, st, roots, listed)
	if err != nil {
		return nil, err
	}
	if err := f.fetchImports(ctx, st, rootFiles); err != nil {
		return nil, err
	}
	set, err := f.assemble(rootFiles)
	if err != nil {
		return nil, err
	}
	if _, err := protodesc.NewFiles(set); err != nil {
		return nil, f.errorf("%w: the files do not link: %w; upload a FileDescriptorSet instead", ErrBadSchema, err)
	}
	return set, nil
}

// skipped reports whether a listed service is left out unless named.
func skipped(service string) bool {
	return strings.HasPrefix(service, "grpc.reflection.") || service == "grpc.health.v1.Health"
}

// fetcher holds the state of one Fetch.
type fetcher struct {
	target string
	lim    limits
	files  map[string]*descriptorpb.FileDescriptorProto // by file name
	nbytes int                                          // serialized bytes received
}

// errorf returns an error prefixed with "reflect <target>: ".
func (f *fetcher) errorf(format string, args ...any) error {
	return fmt.Errorf("reflect %s: %w", f.target, fmt.Errorf(format, args...))
}

// cleanServices checks, trims and deduplicates the services Fetch is given,
// keeping their order.
func (f *fetcher) cleanServices(services []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range services {
		name := strings.TrimPrefix(strings.TrimSpace(s), ".")
		if name == "" {
			return nil, f.errorf("%w: empty service name; give fully qualified names such as pkg.v1.Service", ErrUnknownService)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// rpcError turns an error of the reflection stream into one for the caller;
// doing says what Fetch was doing, as in "listing services".
func (f *fetcher) rpcError(ctx context.Context, doing string, err error) error {
	ctxErr := ctx.Err()
	if ctxErr == nil && status.Code(err) == codes.DeadlineExceeded {
		// The deadline can end the stream (the server's timer) a moment
		// before the client's context notices: the same timeout.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return f.errorf("gave up %s: %w (the backend did not answer in time; check the address, that it is a gRPC server, and whether it expects TLS)", doing, ctxErr)
		}
		return f.errorf("gave up %s: %w", doing, ctxErr)
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return f.errorf("%w (check the address, that the backend is running, and whether it expects TLS): %w", ErrUnreachable, err)
	case codes.ResourceExhausted:
		return f.errorf("%s: %w: %w", doing, ErrTooLarge, err)
	}
	return f.errorf("%s: %w", doing, err)
}

// open starts a reflection stream, v1 or else v1alpha, and lists the
// services on it.
func (f *fetcher) open(ctx context.Context, conn *grpc.ClientConn) (*stream, []string, error) {
	list := []*rpb.ServerReflectionRequest{{
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}}
	for _, method := range methods {
		st, err := openStream(ctx, conn, method)
		if err == nil {
			var resps []*rpb.ServerReflectionResponse
			resps, err = st.roundTrip(list)
			if err == nil {
				names, err := f.listed(resps[0])
				if err != nil {
					st.close()
					return nil, nil, err
				}
				return st, names, nil
			}
			st.close()
		}
		if status.Code(err) == codes.Unimplemented && ctx.Err() == nil {
			continue
		}
		return nil, nil, f.rpcError(ctx, "listing services", err)
	}
	return nil, nil, f.errorf("%w", ErrNoReflection)
}

// listed returns the service names of a list_services response.
func (f *fetcher) listed(resp *rpb.ServerReflectionResponse) ([]string, error) {
	if e := resp.GetErrorResponse(); e != nil {
		return nil, f.errorf("listing services: the backend answered %s: %s", codes.Code(e.GetErrorCode()), e.GetErrorMessage())
	}
	lr := resp.GetListServicesResponse()
	if lr == nil {
		return nil, f.errorf("%w: the backend answered list_services with something else", ErrBadSchema)
	}
	var names []string
	for _, s := range lr.GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// fetchServices asks for the file defining each service and returns the
// names of those files, in the order of services, each once.
func (f *fetcher) fetchServices(ctx context.Context, st *stream, services, listed []string) ([]string, error) {
	for batch := range slices.Chunk(services, batchSize) {
		reqs := make([]*rpb.ServerReflectionRequest, len(batch))
		for i, s := range batch {
			reqs[i] = &rpb.ServerReflectionRequest{
				MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: s},
			}
		}
		resps, err := st.roundTrip(reqs)
		if err != nil {
			return nil, f.rpcError(ctx, "fetching the files that define the services", err)
		}
		for i, resp := range resps {
			if e := resp.GetErrorResponse(); e != nil {
				if codes.Code(e.GetErrorCode()) == codes.NotFound {
					return nil, f.unknownService(batch[i], listed)
				}
				return nil, f.errorf("%w: the backend cannot return the file defining %s: %s: %s", ErrBadSchema, batch[i], codes.Code(e.GetErrorCode()), e.GetErrorMessage())
			}
			if err := f.addResponse(resp, "file_containing_symbol "+batch[i]); err != nil {
				return nil, err
			}
		}
	}

	defining := map[string]string{} // service full name -> file name
	for name, fd := range f.files {
		for _, s := range fd.GetService() {
			full := s.GetName()
			if pkg := fd.GetPackage(); pkg != "" {
				full = pkg + "." + full
			}
			defining[full] = name
		}
	}
	var rootFiles []string
	for _, s := range services {
		file, ok := defining[s]
		if !ok {
			return nil, f.errorf("%w %s: the backend knows the name but does not define it as a service; give fully qualified service names such as pkg.v1.Service", ErrUnknownService, s)
		}
		if !slices.Contains(rootFiles, file) {
			rootFiles = append(rootFiles, file)
		}
	}
	return rootFiles, nil
}

// unknownService returns the error for a service the backend does not know.
func (f *fetcher) unknownService(service string, listed []string) error {
	var known []string
	for _, name := range listed {
		if !skipped(name) {
			known = append(known, name)
		}
	}
	slices.Sort(known)
	known = slices.Compact(known)
	switch {
	case len(known) == 0:
		return f.errorf("%w %s: the backend does not know it; check the name (fully qualified, such as pkg.v1.Service)", ErrUnknownService, service)
	case len(known) > maxListed:
		return f.errorf("%w %s: the backend does not know it (it lists %s and %d more); check the name", ErrUnknownService, service, strings.Join(known[:maxListed], ", "), len(known)-maxListed)
	}
	return f.errorf("%w %s: the backend does not know it (it lists %s); check the name", ErrUnknownService, service, strings.Join(known, ", "))
}

// fetchImports asks for the imports of the root files, directly or not,
// that the server has not sent, until none is missing.
func (f *fetcher) fetchImports(ctx context.Context, st *stream, rootFiles []string) error {
	for {
		missing, importer := f.missing(rootFiles)
		if len(missing) == 0 {
			return nil
		}
		for batch := range slices.Chunk(missing, batchSize) {
			reqs := make([]*rpb.ServerReflectionRequest, len(batch))
			for i, name := range batch {
				reqs[i] = &rpb.ServerReflectionRequest{
					MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name},
				}
			}
			resps, err := st.roundTrip(reqs)
			if err != nil {
				return f.rpcError(ctx, "fetching imported files", err)
			}
			for i, resp := range resps {
				if e := resp.GetErrorResponse(); e != nil {
					return f.errorf("%w: the backend cannot return %q (imported by %q): %s: %s; upload a FileDescriptorSet instead", ErrBadSchema, batch[i], importer[batch[i]], codes.Code(e.GetErrorCode()), e.GetErrorMessage())
				}
				if err := f.addResponse(resp, "file_by_filename "+batch[i]); err != nil {
					return err
				}
			}
		}
		// Every file is requested once: a file still missing now would be
		// missing for good.
		for _, name := range missing {
			if f.files[name] == nil {
				return f.errorf("%w: the backend answered the request for %q (imported by %q) without that file; upload a FileDescriptorSet instead", ErrBadSchema, name, importer[name])
			}
		}
	}
}

// missing returns, sorted, the files that the root files import, directly
// or not, and that have not been received, with a file importing each.
func (f *fetcher) missing(rootFiles []string) ([]string, map[string]string) {
	importer := map[string]string{}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, dep := range f.files[name].GetDependency() {
			if f.files[dep] == nil {
				if _, ok := importer[dep]; !ok {
					importer[dep] = name
				}
				continue
			}
			visit(dep)
		}
	}
	for _, name := range rootFiles {
		visit(name)
	}
	var missing []string
	for name := range importer {
		missing = append(missing, name)
	}
	slices.Sort(missing)
	return missing, importer
}

// addResponse decodes and keeps the files of a file_descriptor_response,
// enforcing the limits; request names the request for error messages.
func (f *fetcher) addResponse(resp *rpb.ServerReflectionResponse, request string) error {
	fr := resp.GetFileDescriptorResponse()
	if fr == nil {
		return f.errorf("%w: the backend answered %s with something other than files", ErrBadSchema, request)
	}
	for _, raw := range fr.GetFileDescriptorProto() {
		f.nbytes += len(raw)
		if f.nbytes > f.lim.bytes {
			return f.errorf("%w: the backend sent more than %d bytes of descriptors; upload a FileDescriptorSet instead", ErrTooLarge, f.lim.bytes)
		}
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			return f.errorf("%w: undecodable file descriptor in the answer to %s: %w", ErrBadSchema, request, err)
		}
		name := fd.GetName()
		if name == "" {
			return f.errorf("%w: file descriptor without a name in the answer to %s", ErrBadSchema, request)
		}
		if f.files[name] != nil {
			continue
		}
		if len(f.files) >= f.lim.files {
			return f.errorf("%w: the backend sent more than %d files; upload a FileDescriptorSet instead", ErrTooLarge, f.lim.files)
		}
		f.files[name] = fd
	}
	return nil
}

// assemble returns the root files and their imports, imports first.
func (f *fetcher) assemble(rootFiles []string) (*descriptorpb.FileDescriptorSet, error) {
	const (
		visiting = 1
		done     = 2
	)
	set := &descriptorpb.FileDescriptorSet{}
	state := map[string]int{}
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return f.errorf("%w: import cycle through %q", ErrBadSchema, name)
		}
		state[name] = visiting
		fd := f.files[name]
		for _, dep := range fd.GetDependency() {
			if err := visit(dep); err != nil {
				return err
			}
		}
		state[name] = done
		set.File = append(set.File, fd)
		return nil
	}
	for _, name := range rootFiles {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	return set, nil
}
