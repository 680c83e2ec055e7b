from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DEFAULT_HOST_FIELD_NUMBER: _ClassVar[int]
DESCRIPTOR: _descriptor.FileDescriptor
METHOD_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
default_host: _descriptor.FieldDescriptor
method_signature: _descriptor.FieldDescriptor
