from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddToGroupRequest(_message.Message):
    __slots__ = ["connection_id", "group"]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    group: str
    def __init__(self, connection_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class AddToGroupResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Connection(_message.Message):
    __slots__ = ["connected_at", "connection_id", "groups", "identity", "last_active_at", "stage"]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    connected_at: _timestamp_pb2.Timestamp
    connection_id: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    identity: ConnectionIdentity
    last_active_at: _timestamp_pb2.Timestamp
    stage: str
    def __init__(self, connection_id: _Optional[str] = ..., stage: _Optional[str] = ..., connected_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_active_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., identity: _Optional[_Union[ConnectionIdentity, _Mapping]] = ..., groups: _Optional[_Iterable[str]] = ...) -> None: ...

class ConnectionIdentity(_message.Message):
    __slots__ = ["api_key", "principal", "source_ip", "user_agent"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    principal: str
    source_ip: str
    user_agent: str
    def __init__(self, source_ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., principal: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class DeleteConnectionRequest(_message.Message):
    __slots__ = ["connection_id"]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class DeleteConnectionResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetConnectionRequest(_message.Message):
    __slots__ = ["connection_id"]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class HandleMessageRequest(_message.Message):
    __slots__ = ["api", "authorizer_context", "binary", "body", "callback_token", "callback_token_expire_time", "callback_url", "connected_at", "connection_id", "disconnect_reason", "disconnect_status_code", "headers", "principal", "query_string_parameters", "request_id", "route_key", "source_ip", "stage"]
    class AuthorizerContextEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeadersEntry(_message.Message):
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
    API_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZER_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_TOKEN_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_REASON_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    QUERY_STRING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    api: str
    authorizer_context: _containers.ScalarMap[str, str]
    binary: bool
    body: bytes
    callback_token: str
    callback_token_expire_time: _timestamp_pb2.Timestamp
    callback_url: str
    connected_at: _timestamp_pb2.Timestamp
    connection_id: str
    disconnect_reason: str
    disconnect_status_code: int
    headers: _containers.ScalarMap[str, str]
    principal: str
    query_string_parameters: _containers.ScalarMap[str, str]
    request_id: str
    route_key: str
    source_ip: str
    stage: str
    def __init__(self, connection_id: _Optional[str] = ..., route_key: _Optional[str] = ..., body: _Optional[bytes] = ..., binary: bool = ..., api: _Optional[str] = ..., stage: _Optional[str] = ..., request_id: _Optional[str] = ..., principal: _Optional[str] = ..., authorizer_context: _Optional[_Mapping[str, str]] = ..., callback_url: _Optional[str] = ..., callback_token: _Optional[str] = ..., callback_token_expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., connected_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source_ip: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., query_string_parameters: _Optional[_Mapping[str, str]] = ..., disconnect_status_code: _Optional[int] = ..., disconnect_reason: _Optional[str] = ...) -> None: ...

class HandleMessageResponse(_message.Message):
    __slots__ = ["body", "groups", "subprotocol"]
    BODY_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    SUBPROTOCOL_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    groups: _containers.RepeatedScalarFieldContainer[str]
    subprotocol: str
    def __init__(self, body: _Optional[bytes] = ..., groups: _Optional[_Iterable[str]] = ..., subprotocol: _Optional[str] = ...) -> None: ...

class PostToConnectionRequest(_message.Message):
    __slots__ = ["binary", "connection_id", "data"]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    binary: bool
    connection_id: str
    data: bytes
    def __init__(self, connection_id: _Optional[str] = ..., data: _Optional[bytes] = ..., binary: bool = ...) -> None: ...

class PostToConnectionResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class PostToGroupRequest(_message.Message):
    __slots__ = ["binary", "data", "group", "stage"]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    binary: bool
    data: bytes
    group: str
    stage: str
    def __init__(self, stage: _Optional[str] = ..., group: _Optional[str] = ..., data: _Optional[bytes] = ..., binary: bool = ...) -> None: ...

class PostToGroupResponse(_message.Message):
    __slots__ = ["dropped", "sent"]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    dropped: int
    sent: int
    def __init__(self, sent: _Optional[int] = ..., dropped: _Optional[int] = ...) -> None: ...

class PostToStageRequest(_message.Message):
    __slots__ = ["binary", "data", "stage"]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    binary: bool
    data: bytes
    stage: str
    def __init__(self, stage: _Optional[str] = ..., data: _Optional[bytes] = ..., binary: bool = ...) -> None: ...

class PostToStageResponse(_message.Message):
    __slots__ = ["dropped", "sent"]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    dropped: int
    sent: int
    def __init__(self, sent: _Optional[int] = ..., dropped: _Optional[int] = ...) -> None: ...

class RemoveFromGroupRequest(_message.Message):
    __slots__ = ["connection_id", "group"]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    group: str
    def __init__(self, connection_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class RemoveFromGroupResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...
