from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EFFECT_ALLOW: Effect
EFFECT_DENY: Effect
EFFECT_UNSPECIFIED: Effect

class AuthorizeRequest(_message.Message):
    __slots__ = ["api", "authorization_token", "deployment", "headers", "http_method", "method_resource", "path", "path_parameters", "query_string_parameters", "request_id", "source_ip", "stage", "stage_variables", "type"]
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class HeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PathParametersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class QueryStringParametersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class StageVariablesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    API_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    HTTP_METHOD_FIELD_NUMBER: _ClassVar[int]
    METHOD_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PATH_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    QUERY_STRING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STAGE_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_REQUEST: AuthorizeRequest.Type
    TYPE_TOKEN: AuthorizeRequest.Type
    TYPE_UNSPECIFIED: AuthorizeRequest.Type
    api: str
    authorization_token: str
    deployment: str
    headers: _containers.ScalarMap[str, str]
    http_method: str
    method_resource: str
    path: str
    path_parameters: _containers.ScalarMap[str, str]
    query_string_parameters: _containers.ScalarMap[str, str]
    request_id: str
    source_ip: str
    stage: str
    stage_variables: _containers.ScalarMap[str, str]
    type: AuthorizeRequest.Type
    def __init__(self, type: _Optional[_Union[AuthorizeRequest.Type, str]] = ..., authorization_token: _Optional[str] = ..., method_resource: _Optional[str] = ..., api: _Optional[str] = ..., stage: _Optional[str] = ..., deployment: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., query_string_parameters: _Optional[_Mapping[str, str]] = ..., path_parameters: _Optional[_Mapping[str, str]] = ..., stage_variables: _Optional[_Mapping[str, str]] = ..., http_method: _Optional[str] = ..., path: _Optional[str] = ..., source_ip: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AuthorizeResponse(_message.Message):
    __slots__ = ["context", "policy", "principal_id", "usage_identifier_key"]
    class ContextEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_IDENTIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    context: _containers.ScalarMap[str, str]
    policy: _containers.RepeatedCompositeFieldContainer[Statement]
    principal_id: str
    usage_identifier_key: str
    def __init__(self, principal_id: _Optional[str] = ..., policy: _Optional[_Iterable[_Union[Statement, _Mapping]]] = ..., context: _Optional[_Mapping[str, str]] = ..., usage_identifier_key: _Optional[str] = ...) -> None: ...

class Statement(_message.Message):
    __slots__ = ["actions", "effect", "resources"]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedScalarFieldContainer[str]
    effect: Effect
    resources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, effect: _Optional[_Union[Effect, str]] = ..., resources: _Optional[_Iterable[str]] = ..., actions: _Optional[_Iterable[str]] = ...) -> None: ...

class Effect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
