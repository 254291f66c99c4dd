"""``httpr.codes``: HTTP status codes by name, as ``httpx.codes`` (and ``requests.codes``) offer.

``httpr.codes.OK == 200``, ``httpr.codes(404).phrase == "Not Found"``; each name also exists in
lower case (``httpr.codes.not_found``), as requests spells them.
"""

from __future__ import annotations

from enum import IntEnum


class codes(IntEnum):
    """HTTP status codes with their reason phrases (RFC 9110 and the IANA registry)."""

    phrase: str

    def __new__(cls, value: int, phrase: str = "") -> codes:
        member = int.__new__(cls, value)
        member._value_ = value
        member.phrase = phrase
        return member

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def get_reason_phrase(cls, value: int) -> str:
        """The reason phrase of ``value``, or ``""`` for a code without one."""
        try:
            return cls(value).phrase
        except ValueError:
            return ""

    @classmethod
    def is_informational(cls, value: int) -> bool:
        return 100 <= value <= 199

    @classmethod
    def is_success(cls, value: int) -> bool:
        return 200 <= value <= 299

    @classmethod
    def is_redirect(cls, value: int) -> bool:
        return 300 <= value <= 399

    @classmethod
    def is_client_error(cls, value: int) -> bool:
        return 400 <= value <= 499

    @classmethod
    def is_server_error(cls, value: int) -> bool:
        return 500 <= value <= 599

    @classmethod
    def is_error(cls, value: int) -> bool:
        return 400 <= value <= 599

    CONTINUE = 100, 'Continue'
    SWITCHING_PROTOCOLS = 101, 'Switching Protocols'
    PROCESSING = 102, 'Processing'
    EARLY_HINTS = 103, 'Early Hints'
    OK = 200, 'OK'
    CREATED = 201, 'Created'
    ACCEPTED = 202, 'Accepted'
    NON_AUTHORITATIVE_INFORMATION = 203, 'Non-Authoritative Information'
    NO_CONTENT = 204, 'No Content'
    RESET_CONTENT = 205, 'Reset Content'
    PARTIAL_CONTENT = 206, 'Partial Content'
    MULTI_STATUS = 207, 'Multi-Status'
    ALREADY_REPORTED = 208, 'Already Reported'
    IM_USED = 226, 'IM Used'
    MULTIPLE_CHOICES = 300, 'Multiple Choices'
    MOVED_PERMANENTLY = 301, 'Moved Permanently'
    FOUND = 302, 'Found'
    SEE_OTHER = 303, 'See Other'
    NOT_MODIFIED = 304, 'Not Modified'
    USE_PROXY = 305, 'Use Proxy'
    TEMPORARY_REDIRECT = 307, 'Temporary Redirect'
    PERMANENT_REDIRECT = 308, 'Permanent Redirect'
    BAD_REQUEST = 400, 'Bad Request'
    UNAUTHORIZED = 401, 'Unauthorized'
    PAYMENT_REQUIRED = 402, 'Payment Required'
    FORBIDDEN = 403, 'Forbidden'
    NOT_FOUND = 404, 'Not Found'
    METHOD_NOT_ALLOWED = 405, 'Method Not Allowed'
    NOT_ACCEPTABLE = 406, 'Not Acceptable'
    PROXY_AUTHENTICATION_REQUIRED = 407, 'Proxy Authentication Required'
    REQUEST_TIMEOUT = 408, 'Request Timeout'
    CONFLICT = 409, 'Conflict'
    GONE = 410, 'Gone'
    LENGTH_REQUIRED = 411, 'Length Required'
    PRECONDITION_FAILED = 412, 'Precondition Failed'
    REQUEST_ENTITY_TOO_LARGE = 413, 'Request Entity Too Large'
    REQUEST_URI_TOO_LONG = 414, 'Request-URI Too Long'
    UNSUPPORTED_MEDIA_TYPE = 415, 'Unsupported Media Type'
    REQUESTED_RANGE_NOT_SATISFIABLE = 416, 'Requested Range Not Satisfiable'
    EXPECTATION_FAILED = 417, 'Expectation Failed'
    IM_A_TEAPOT = 418, "I'm a teapot"
    MISDIRECTED_REQUEST = 421, 'Misdirected Request'
    UNPROCESSABLE_ENTITY = 422, 'Unprocessable Entity'
    LOCKED = 423, 'Locked'
    FAILED_DEPENDENCY = 424, 'Failed Dependency'
    TOO_EARLY = 425, 'Too Early'
    UPGRADE_REQUIRED = 426, 'Upgrade Required'
    PRECONDITION_REQUIRED = 428, 'Precondition Required'
    TOO_MANY_REQUESTS = 429, 'Too Many Requests'
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, 'Request Header Fields Too Large'
    UNAVAILABLE_FOR_LEGAL_REASONS = 451, 'Unavailable For Legal Reasons'
    INTERNAL_SERVER_ERROR = 500, 'Internal Server Error'
    NOT_IMPLEMENTED = 501, 'Not Implemented'
    BAD_GATEWAY = 502, 'Bad Gateway'
    SERVICE_UNAVAILABLE = 503, 'Service Unavailable'
    GATEWAY_TIMEOUT = 504, 'Gateway Timeout'
    HTTP_VERSION_NOT_SUPPORTED = 505, 'HTTP Version Not Supported'
    VARIANT_ALSO_NEGOTIATES = 506, 'Variant Also Negotiates'
    INSUFFICIENT_STORAGE = 507, 'Insufficient Storage'
    LOOP_DETECTED = 508, 'Loop Detected'
    NOT_EXTENDED = 510, 'Not Extended'
    NETWORK_AUTHENTICATION_REQUIRED = 511, 'Network Authentication Required'

    # requests spells the names in lower case (``requests.codes.ok``): aliases of the same members.
    switching_protocols = 101, 'Switching Protocols'
    processing = 102, 'Processing'
    early_hints = 103, 'Early Hints'
    ok = 200, 'OK'
    created = 201, 'Created'
    accepted = 202, 'Accepted'
    non_authoritative_information = 203, 'Non-Authoritative Information'
    no_content = 204, 'No Content'
    reset_content = 205, 'Reset Content'
    partial_content = 206, 'Partial Content'
    multi_status = 207, 'Multi-Status'
    already_reported = 208, 'Already Reported'
    im_used = 226, 'IM Used'
    multiple_choices = 300, 'Multiple Choices'
    moved_permanently = 301, 'Moved Permanently'
    found = 302, 'Found'
    see_other = 303, 'See Other'
    not_modified = 304, 'Not Modified'
    use_proxy = 305, 'Use Proxy'
    temporary_redirect = 307, 'Temporary Redirect'
    permanent_redirect = 308, 'Permanent Redirect'
    bad_request = 400, 'Bad Request'
    unauthorized = 401, 'Unauthorized'
    payment_required = 402, 'Payment Required'
    forbidden = 403, 'Forbidden'
    not_found = 404, 'Not Found'
    method_not_allowed = 405, 'Method Not Allowed'
    not_acceptable = 406, 'Not Acceptable'
    proxy_authentication_required = 407, 'Proxy Authentication Required'
    request_timeout = 408, 'Request Timeout'
    conflict = 409, 'Conflict'
    gone = 410, 'Gone'
    length_required = 411, 'Length Required'
    precondition_failed = 412, 'Precondition Failed'
    request_entity_too_large = 413, 'Request Entity Too Large'
    request_uri_too_long = 414, 'Request-URI Too Long'
    unsupported_media_type = 415, 'Unsupported Media Type'
    requested_range_not_satisfiable = 416, 'Requested Range Not Satisfiable'
    expectation_failed = 417, 'Expectation Failed'
    im_a_teapot = 418, "I'm a teapot"
    misdirected_request = 421, 'Misdirected Request'
    unprocessable_entity = 422, 'Unprocessable Entity'
    locked = 423, 'Locked'
    failed_dependency = 424, 'Failed Dependency'
    too_early = 425, 'Too Early'
    upgrade_required = 426, 'Upgrade Required'
    precondition_required = 428, 'Precondition Required'
    too_many_requests = 429, 'Too Many Requests'
    request_header_fields_too_large = 431, 'Request Header Fields Too Large'
    unavailable_for_legal_reasons = 451, 'Unavailable For Legal Reasons'
    internal_server_error = 500, 'Internal Server Error'
    not_implemented = 501, 'Not Implemented'
    bad_gateway = 502, 'Bad Gateway'
    service_unavailable = 503, 'Service Unavailable'
    gateway_timeout = 504, 'Gateway Timeout'
    http_version_not_supported = 505, 'HTTP Version Not Supported'
    variant_also_negotiates = 506, 'Variant Also Negotiates'
    insufficient_storage = 507, 'Insufficient Storage'
    loop_detected = 508, 'Loop Detected'
    not_extended = 510, 'Not Extended'
    network_authentication_required = 511, 'Network Authentication Required'


__all__ = ["codes"]
