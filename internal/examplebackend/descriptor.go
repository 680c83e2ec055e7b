package examplebackend

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// FileDescriptorSet returns the FileDescriptorSet of
// tollgate/example/v1/bookstore.proto and tollgate/example/v1/echo.proto
// with every file they import, directly or not (google/api/annotations.proto,
// google/api/http.proto, google/api/field_behavior.proto and the
// google/protobuf files), each file after its imports. It is what a user
// would upload from `buf build --as-file-descriptor-set`, without source
// info. Each call returns a new set that the caller may change.
func FileDescriptorSet() *descriptorpb.FileDescriptorSet {
	return DescriptorSetOf(examplev1.File_tollgate_example_v1_bookstore_proto, examplev1.File_tollgate_example_v1_echo_proto)
}

// DescriptorSetOf returns the FileDescriptorSet of files and everything
// they import, each file after its imports, as a user would upload it. The
// files must be linked into the binary (generated packages are).
func DescriptorSetOf(files ...protoreflect.FileDescriptor) *descriptorpb.FileDescriptorSet {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		if fd.IsPlaceholder() {
			resolved, err := protoregistry.GlobalFiles.FindFileByPath(fd.Path())
			if err != nil {
				// Generated packages import the Go packages of all their
				// imports, so this means a broken build.
				panic(fmt.Sprintf("examplebackend: %s is not linked in: %v", fd.Path(), err))
			}
			fd = resolved
		}
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range files {
		visit(f)
	}
	return set
}
