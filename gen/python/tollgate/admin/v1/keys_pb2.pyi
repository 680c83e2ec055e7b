from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.admin.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountSettings(_message.Message):
    __slots__ = ["etag", "name", "throttle", "update_time"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    throttle: _common_pb2.ThrottleSettings
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., throttle: _Optional[_Union[_common_pb2.ThrottleSettings, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ["create_time", "customer_id", "description", "display_name", "enabled", "etag", "ip_policy", "name", "uid", "update_time", "value"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    IP_POLICY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    customer_id: str
    description: str
    display_name: str
    enabled: bool
    etag: str
    ip_policy: _common_pb2.IpPolicy
    name: str
    uid: str
    update_time: _timestamp_pb2.Timestamp
    value: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., value: _Optional[str] = ..., enabled: bool = ..., customer_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., ip_policy: _Optional[_Union[_common_pb2.IpPolicy, _Mapping]] = ...) -> None: ...

class ApiStage(_message.Message):
    __slots__ = ["route_throttles", "stage"]
    class RouteThrottlesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.ThrottleSettings
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.ThrottleSettings, _Mapping]] = ...) -> None: ...
    ROUTE_THROTTLES_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    route_throttles: _containers.MessageMap[str, _common_pb2.ThrottleSettings]
    stage: str
    def __init__(self, stage: _Optional[str] = ..., route_throttles: _Optional[_Mapping[str, _common_pb2.ThrottleSettings]] = ...) -> None: ...

class DailyUsage(_message.Message):
    __slots__ = ["calls", "date"]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    calls: int
    date: str
    def __init__(self, date: _Optional[str] = ..., calls: _Optional[int] = ...) -> None: ...

class KeyUsage(_message.Message):
    __slots__ = ["api_key", "days", "remaining_quota"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_QUOTA_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    days: _containers.RepeatedCompositeFieldContainer[DailyUsage]
    remaining_quota: int
    def __init__(self, api_key: _Optional[str] = ..., days: _Optional[_Iterable[_Union[DailyUsage, _Mapping]]] = ..., remaining_quota: _Optional[int] = ...) -> None: ...

class QuotaSettings(_message.Message):
    __slots__ = ["limit", "offset", "period"]
    class Period(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DAY: QuotaSettings.Period
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_MONTH: QuotaSettings.Period
    PERIOD_UNSPECIFIED: QuotaSettings.Period
    PERIOD_WEEK: QuotaSettings.Period
    limit: int
    offset: int
    period: QuotaSettings.Period
    def __init__(self, limit: _Optional[int] = ..., period: _Optional[_Union[QuotaSettings.Period, str]] = ..., offset: _Optional[int] = ...) -> None: ...

class UsagePlan(_message.Message):
    __slots__ = ["api_stages", "create_time", "description", "display_name", "etag", "name", "quota", "throttle", "uid", "update_time"]
    API_STAGES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    api_stages: _containers.RepeatedCompositeFieldContainer[ApiStage]
    create_time: _timestamp_pb2.Timestamp
    description: str
    display_name: str
    etag: str
    name: str
    quota: QuotaSettings
    throttle: _common_pb2.ThrottleSettings
    uid: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., api_stages: _Optional[_Iterable[_Union[ApiStage, _Mapping]]] = ..., throttle: _Optional[_Union[_common_pb2.ThrottleSettings, _Mapping]] = ..., quota: _Optional[_Union[QuotaSettings, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class UsagePlanKey(_message.Message):
    __slots__ = ["api_key", "create_time", "name"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    create_time: _timestamp_pb2.Timestamp
    name: str
    def __init__(self, name: _Optional[str] = ..., api_key: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
