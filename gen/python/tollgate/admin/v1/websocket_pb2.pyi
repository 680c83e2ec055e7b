from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WebSocketSettings(_message.Message):
    __slots__ = ["allowed_origins", "idle_timeout", "max_connection_duration", "max_frame_bytes", "max_message_bytes", "ping_interval", "send_queue_size"]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTION_DURATION_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PING_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SEND_QUEUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    idle_timeout: _duration_pb2.Duration
    max_connection_duration: _duration_pb2.Duration
    max_frame_bytes: int
    max_message_bytes: int
    ping_interval: _duration_pb2.Duration
    send_queue_size: int
    def __init__(self, idle_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_connection_duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_message_bytes: _Optional[int] = ..., send_queue_size: _Optional[int] = ..., ping_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_frame_bytes: _Optional[int] = ..., allowed_origins: _Optional[_Iterable[str]] = ...) -> None: ...
