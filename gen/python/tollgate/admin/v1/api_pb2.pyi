from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.admin.v1 import common_pb2 as _common_pb2
from tollgate.admin.v1 import websocket_pb2 as _websocket_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessLogSettings(_message.Message):
    __slots__ = ["enabled", "fields"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enabled: bool = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class Api(_message.Message):
    __slots__ = ["api_key_source", "cors", "create_time", "default_integration", "deployment_retention", "description", "display_name", "etag", "file_descriptor_set", "gateway_responses", "header_mapping", "ip_policy", "name", "protocol", "reflection", "route_selection_expression", "service_config_yaml", "uid", "update_time", "validate_requests"]
    class ApiKeySource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class GatewayResponsesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: GatewayResponse
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[GatewayResponse, _Mapping]] = ...) -> None: ...
    API_KEY_SOURCE_AUTHORIZER: Api.ApiKeySource
    API_KEY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_SOURCE_HEADER: Api.ApiKeySource
    API_KEY_SOURCE_UNSPECIFIED: Api.ApiKeySource
    CORS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_RETENTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FILE_DESCRIPTOR_SET_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_RESPONSES_FIELD_NUMBER: _ClassVar[int]
    HEADER_MAPPING_FIELD_NUMBER: _ClassVar[int]
    IP_POLICY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_GRPC_REST: Api.Protocol
    PROTOCOL_UNSPECIFIED: Api.Protocol
    PROTOCOL_WEBSOCKET: Api.Protocol
    REFLECTION_FIELD_NUMBER: _ClassVar[int]
    ROUTE_SELECTION_EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CONFIG_YAML_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    api_key_source: Api.ApiKeySource
    cors: _common_pb2.CorsConfiguration
    create_time: _timestamp_pb2.Timestamp
    default_integration: _common_pb2.Integration
    deployment_retention: int
    description: str
    display_name: str
    etag: str
    file_descriptor_set: bytes
    gateway_responses: _containers.MessageMap[str, GatewayResponse]
    header_mapping: HeaderMapping
    ip_policy: _common_pb2.IpPolicy
    name: str
    protocol: Api.Protocol
    reflection: ReflectionSource
    route_selection_expression: str
    service_config_yaml: str
    uid: str
    update_time: _timestamp_pb2.Timestamp
    validate_requests: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., protocol: _Optional[_Union[Api.Protocol, str]] = ..., file_descriptor_set: _Optional[bytes] = ..., reflection: _Optional[_Union[ReflectionSource, _Mapping]] = ..., default_integration: _Optional[_Union[_common_pb2.Integration, _Mapping]] = ..., route_selection_expression: _Optional[str] = ..., api_key_source: _Optional[_Union[Api.ApiKeySource, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., ip_policy: _Optional[_Union[_common_pb2.IpPolicy, _Mapping]] = ..., cors: _Optional[_Union[_common_pb2.CorsConfiguration, _Mapping]] = ..., deployment_retention: _Optional[int] = ..., validate_requests: bool = ..., gateway_responses: _Optional[_Mapping[str, GatewayResponse]] = ..., header_mapping: _Optional[_Union[HeaderMapping, _Mapping]] = ..., service_config_yaml: _Optional[str] = ...) -> None: ...

class ApiSnapshot(_message.Message):
    __slots__ = ["api", "authorizers", "routes"]
    API_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZERS_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    api: Api
    authorizers: _containers.RepeatedCompositeFieldContainer[Authorizer]
    routes: _containers.RepeatedCompositeFieldContainer[Route]
    def __init__(self, api: _Optional[_Union[Api, _Mapping]] = ..., routes: _Optional[_Iterable[_Union[Route, _Mapping]]] = ..., authorizers: _Optional[_Iterable[_Union[Authorizer, _Mapping]]] = ...) -> None: ...

class Authorizer(_message.Message):
    __slots__ = ["create_time", "custom", "display_name", "etag", "jwt", "name", "uid", "update_time"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    JWT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    custom: CustomAuthorizer
    display_name: str
    etag: str
    jwt: JwtAuthorizer
    name: str
    uid: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., jwt: _Optional[_Union[JwtAuthorizer, _Mapping]] = ..., custom: _Optional[_Union[CustomAuthorizer, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class CacheSettings(_message.Message):
    __slots__ = ["capacity_bytes", "enabled", "max_entry_bytes", "require_authorization_for_cache_control", "ttl_seconds", "unauthorized_cache_control"]
    class UnauthorizedCacheControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_ENTRY_BYTES_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_AUTHORIZATION_FOR_CACHE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403: CacheSettings.UnauthorizedCacheControl
    UNAUTHORIZED_CACHE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    UNAUTHORIZED_CACHE_CONTROL_IGNORE: CacheSettings.UnauthorizedCacheControl
    UNAUTHORIZED_CACHE_CONTROL_IGNORE_WITH_HEADER: CacheSettings.UnauthorizedCacheControl
    UNAUTHORIZED_CACHE_CONTROL_UNSPECIFIED: CacheSettings.UnauthorizedCacheControl
    capacity_bytes: int
    enabled: bool
    max_entry_bytes: int
    require_authorization_for_cache_control: bool
    ttl_seconds: int
    unauthorized_cache_control: CacheSettings.UnauthorizedCacheControl
    def __init__(self, enabled: bool = ..., capacity_bytes: _Optional[int] = ..., ttl_seconds: _Optional[int] = ..., max_entry_bytes: _Optional[int] = ..., require_authorization_for_cache_control: bool = ..., unauthorized_cache_control: _Optional[_Union[CacheSettings.UnauthorizedCacheControl, str]] = ...) -> None: ...

class CanarySettings(_message.Message):
    __slots__ = ["deployment", "percent", "variable_overrides"]
    class VariableOverridesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    percent: float
    variable_overrides: _containers.ScalarMap[str, str]
    def __init__(self, deployment: _Optional[str] = ..., percent: _Optional[float] = ..., variable_overrides: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CustomAuthorizer(_message.Message):
    __slots__ = ["grpc", "http", "identity_sources", "identity_validation_expression", "result_ttl_seconds", "timeout", "type"]
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    GRPC_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_SOURCES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_VALIDATION_EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    RESULT_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_REQUEST: CustomAuthorizer.Type
    TYPE_TOKEN: CustomAuthorizer.Type
    TYPE_UNSPECIFIED: CustomAuthorizer.Type
    grpc: _common_pb2.GrpcIntegration
    http: _common_pb2.HttpIntegration
    identity_sources: _containers.RepeatedScalarFieldContainer[str]
    identity_validation_expression: str
    result_ttl_seconds: int
    timeout: _duration_pb2.Duration
    type: CustomAuthorizer.Type
    def __init__(self, type: _Optional[_Union[CustomAuthorizer.Type, str]] = ..., grpc: _Optional[_Union[_common_pb2.GrpcIntegration, _Mapping]] = ..., http: _Optional[_Union[_common_pb2.HttpIntegration, _Mapping]] = ..., identity_sources: _Optional[_Iterable[str]] = ..., identity_validation_expression: _Optional[str] = ..., result_ttl_seconds: _Optional[int] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ["create_time", "description", "name", "snapshot", "uid"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    name: str
    snapshot: ApiSnapshot
    uid: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., description: _Optional[str] = ..., snapshot: _Optional[_Union[ApiSnapshot, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DomainMapping(_message.Message):
    __slots__ = ["base_path", "certificate", "create_time", "domain", "etag", "hsts_include_subdomains", "hsts_max_age_seconds", "mutual_tls_authentication", "name", "redirect_http_to_https", "stage", "uid", "update_time"]
    BASE_PATH_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    HSTS_INCLUDE_SUBDOMAINS_FIELD_NUMBER: _ClassVar[int]
    HSTS_MAX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MUTUAL_TLS_AUTHENTICATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_HTTP_TO_HTTPS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    base_path: str
    certificate: str
    create_time: _timestamp_pb2.Timestamp
    domain: str
    etag: str
    hsts_include_subdomains: bool
    hsts_max_age_seconds: int
    mutual_tls_authentication: MutualTlsAuthentication
    name: str
    redirect_http_to_https: bool
    stage: str
    uid: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., domain: _Optional[str] = ..., base_path: _Optional[str] = ..., stage: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., certificate: _Optional[str] = ..., mutual_tls_authentication: _Optional[_Union[MutualTlsAuthentication, _Mapping]] = ..., redirect_http_to_https: bool = ..., hsts_max_age_seconds: _Optional[int] = ..., hsts_include_subdomains: bool = ...) -> None: ...

class GatewayResponse(_message.Message):
    __slots__ = ["body_template", "content_type", "response_headers", "status_code"]
    class ResponseHeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BODY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_HEADERS_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    body_template: str
    content_type: str
    response_headers: _containers.ScalarMap[str, str]
    status_code: int
    def __init__(self, status_code: _Optional[int] = ..., response_headers: _Optional[_Mapping[str, str]] = ..., body_template: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class HeaderMapping(_message.Message):
    __slots__ = ["request_headers_to_metadata", "response_metadata_as_headers"]
    REQUEST_HEADERS_TO_METADATA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_METADATA_AS_HEADERS_FIELD_NUMBER: _ClassVar[int]
    request_headers_to_metadata: _containers.RepeatedScalarFieldContainer[str]
    response_metadata_as_headers: bool
    def __init__(self, request_headers_to_metadata: _Optional[_Iterable[str]] = ..., response_metadata_as_headers: bool = ...) -> None: ...

class HttpMatch(_message.Message):
    __slots__ = ["method", "path"]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    method: str
    path: str
    def __init__(self, method: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class JwtAuthorizer(_message.Message):
    __slots__ = ["audiences", "identity_sources", "inline_jwks", "issuer", "jwks_uri", "leeway"]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_SOURCES_FIELD_NUMBER: _ClassVar[int]
    INLINE_JWKS_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    JWKS_URI_FIELD_NUMBER: _ClassVar[int]
    LEEWAY_FIELD_NUMBER: _ClassVar[int]
    audiences: _containers.RepeatedScalarFieldContainer[str]
    identity_sources: _containers.RepeatedScalarFieldContainer[str]
    inline_jwks: str
    issuer: str
    jwks_uri: str
    leeway: _duration_pb2.Duration
    def __init__(self, issuer: _Optional[str] = ..., audiences: _Optional[_Iterable[str]] = ..., jwks_uri: _Optional[str] = ..., inline_jwks: _Optional[str] = ..., identity_sources: _Optional[_Iterable[str]] = ..., leeway: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class MutualTlsAuthentication(_message.Message):
    __slots__ = ["mode", "truststore_pem"]
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    MODE_FIELD_NUMBER: _ClassVar[int]
    MODE_OPTIONAL: MutualTlsAuthentication.Mode
    MODE_REQUIRED: MutualTlsAuthentication.Mode
    MODE_UNSPECIFIED: MutualTlsAuthentication.Mode
    TRUSTSTORE_PEM_FIELD_NUMBER: _ClassVar[int]
    mode: MutualTlsAuthentication.Mode
    truststore_pem: str
    def __init__(self, truststore_pem: _Optional[str] = ..., mode: _Optional[_Union[MutualTlsAuthentication.Mode, str]] = ...) -> None: ...

class ReflectionSource(_message.Message):
    __slots__ = ["services", "target", "tls"]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    target: str
    tls: bool
    def __init__(self, target: _Optional[str] = ..., tls: bool = ..., services: _Optional[_Iterable[str]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ["attempts", "base_backoff", "budget_min_retries", "budget_percent", "max_backoff", "retryable_codes", "retryable_statuses"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BASE_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MIN_RETRIES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_CODES_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_STATUSES_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    base_backoff: _duration_pb2.Duration
    budget_min_retries: int
    budget_percent: int
    max_backoff: _duration_pb2.Duration
    retryable_codes: _containers.RepeatedScalarFieldContainer[str]
    retryable_statuses: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, attempts: _Optional[int] = ..., retryable_codes: _Optional[_Iterable[str]] = ..., retryable_statuses: _Optional[_Iterable[int]] = ..., base_backoff: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_backoff: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., budget_percent: _Optional[int] = ..., budget_min_retries: _Optional[int] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ["allow_encoded_slashes", "api_key_required", "authorization", "cache_all_methods", "cache_key_parameters", "cache_shared_by_callers", "create_time", "description", "etag", "grpc_method", "http", "integration", "ip_policy", "max_stream_duration", "name", "retry_policy", "return_response", "stream_idle_timeout", "timeout", "uid", "update_time", "validate_request", "websocket_route_key"]
    ALLOW_ENCODED_SLASHES_FIELD_NUMBER: _ClassVar[int]
    API_KEY_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    CACHE_ALL_METHODS_FIELD_NUMBER: _ClassVar[int]
    CACHE_KEY_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CACHE_SHARED_BY_CALLERS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    GRPC_METHOD_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    IP_POLICY_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAM_DURATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    RETURN_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    STREAM_IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    WEBSOCKET_ROUTE_KEY_FIELD_NUMBER: _ClassVar[int]
    allow_encoded_slashes: bool
    api_key_required: bool
    authorization: _common_pb2.RouteAuthorization
    cache_all_methods: bool
    cache_key_parameters: _containers.RepeatedScalarFieldContainer[str]
    cache_shared_by_callers: bool
    create_time: _timestamp_pb2.Timestamp
    description: str
    etag: str
    grpc_method: str
    http: HttpMatch
    integration: _common_pb2.Integration
    ip_policy: _common_pb2.IpPolicy
    max_stream_duration: _duration_pb2.Duration
    name: str
    retry_policy: RetryPolicy
    return_response: bool
    stream_idle_timeout: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    uid: str
    update_time: _timestamp_pb2.Timestamp
    validate_request: bool
    websocket_route_key: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., description: _Optional[str] = ..., grpc_method: _Optional[str] = ..., http: _Optional[_Union[HttpMatch, _Mapping]] = ..., websocket_route_key: _Optional[str] = ..., integration: _Optional[_Union[_common_pb2.Integration, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., authorization: _Optional[_Union[_common_pb2.RouteAuthorization, _Mapping]] = ..., api_key_required: bool = ..., cache_key_parameters: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., cache_all_methods: bool = ..., cache_shared_by_callers: bool = ..., return_response: bool = ..., allow_encoded_slashes: bool = ..., ip_policy: _Optional[_Union[_common_pb2.IpPolicy, _Mapping]] = ..., validate_request: bool = ..., stream_idle_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_stream_duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ...) -> None: ...

class RouteSettings(_message.Message):
    __slots__ = ["cache_ttl_seconds", "caching_enabled", "ip_policy", "throttle"]
    CACHE_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CACHING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    IP_POLICY_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    cache_ttl_seconds: int
    caching_enabled: bool
    ip_policy: _common_pb2.IpPolicy
    throttle: _common_pb2.ThrottleSettings
    def __init__(self, throttle: _Optional[_Union[_common_pb2.ThrottleSettings, _Mapping]] = ..., caching_enabled: bool = ..., cache_ttl_seconds: _Optional[int] = ..., ip_policy: _Optional[_Union[_common_pb2.IpPolicy, _Mapping]] = ...) -> None: ...

class Stage(_message.Message):
    __slots__ = ["access_log", "cache", "canary", "cors", "create_time", "default_throttle", "deployment", "description", "etag", "grpc_reflection_enabled", "ip_policy", "name", "openapi_document_enabled", "redis_failure_mode", "route_settings", "shared_cache", "tracing", "uid", "update_time", "variables", "websocket"]
    class RedisFailureMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class RouteSettingsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: RouteSettings
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[RouteSettings, _Mapping]] = ...) -> None: ...
    class VariablesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCESS_LOG_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    CORS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_THROTTLE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    GRPC_REFLECTION_ENABLED_FIELD_NUMBER: _ClassVar[int]
    IP_POLICY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPENAPI_DOCUMENT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    REDIS_FAILURE_MODE_FAIL_CLOSED: Stage.RedisFailureMode
    REDIS_FAILURE_MODE_FAIL_OPEN: Stage.RedisFailureMode
    REDIS_FAILURE_MODE_FIELD_NUMBER: _ClassVar[int]
    REDIS_FAILURE_MODE_UNSPECIFIED: Stage.RedisFailureMode
    ROUTE_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    SHARED_CACHE_FIELD_NUMBER: _ClassVar[int]
    TRACING_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    WEBSOCKET_FIELD_NUMBER: _ClassVar[int]
    access_log: AccessLogSettings
    cache: CacheSettings
    canary: CanarySettings
    cors: _common_pb2.CorsConfiguration
    create_time: _timestamp_pb2.Timestamp
    default_throttle: _common_pb2.ThrottleSettings
    deployment: str
    description: str
    etag: str
    grpc_reflection_enabled: bool
    ip_policy: _common_pb2.IpPolicy
    name: str
    openapi_document_enabled: bool
    redis_failure_mode: Stage.RedisFailureMode
    route_settings: _containers.MessageMap[str, RouteSettings]
    shared_cache: bool
    tracing: TracingSettings
    uid: str
    update_time: _timestamp_pb2.Timestamp
    variables: _containers.ScalarMap[str, str]
    websocket: _websocket_pb2.WebSocketSettings
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., description: _Optional[str] = ..., deployment: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ..., default_throttle: _Optional[_Union[_common_pb2.ThrottleSettings, _Mapping]] = ..., route_settings: _Optional[_Mapping[str, RouteSettings]] = ..., cache: _Optional[_Union[CacheSettings, _Mapping]] = ..., canary: _Optional[_Union[CanarySettings, _Mapping]] = ..., access_log: _Optional[_Union[AccessLogSettings, _Mapping]] = ..., tracing: _Optional[_Union[TracingSettings, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., websocket: _Optional[_Union[_websocket_pb2.WebSocketSettings, _Mapping]] = ..., ip_policy: _Optional[_Union[_common_pb2.IpPolicy, _Mapping]] = ..., cors: _Optional[_Union[_common_pb2.CorsConfiguration, _Mapping]] = ..., openapi_document_enabled: bool = ..., grpc_reflection_enabled: bool = ..., redis_failure_mode: _Optional[_Union[Stage.RedisFailureMode, str]] = ..., shared_cache: bool = ...) -> None: ...

class TracingSettings(_message.Message):
    __slots__ = ["enabled"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: bool = ...) -> None: ...
