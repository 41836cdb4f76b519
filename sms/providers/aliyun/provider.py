"""Sending through Alibaba Cloud SMS with the official SDK (alibabacloud-dysmsapi20170525).

- One message: SendSms with OutId = our outbox reference (QuerySendDetails echoes it back).
- Many messages for one template: SendBatchSms, up to 100 numbers per call, each with its own variables;
  the outbox hands us its queued peers together. If Aliyun refuses a batch for one bad number, the batch
  is sent again one by one so the other 99 still go out and the bad one is marked as such.
- Delivery: Aliyun pushes receipts only through its MNS queues, so the sweeper asks QuerySendDetails.
- Aliyun answers business errors as HTTP 200 with Code != "OK"; the codes map to SendError kinds here:
  flow control and quota are rate_limited (backoff), balance or account problems provider_down
  (alerts fail over), bad numbers invalid_number, template problems rejected_content.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from core.domain.phones import mask_phone
from sms.providers.aliyun.templates import TemplateError, parse_codes, variables_for
from sms.providers.base import (INVALID_NUMBER, OPTED_OUT, PROVIDER_DOWN, RATE_LIMITED, REJECTED_CONTENT,
                                TRANSIENT, OutgoingSms, Provider, ProviderMessage, SendError, StatusUpdate)
from core.settings import ConfigError

log = logging.getLogger(__name__)

CODE_KINDS = {
    "isv.BUSINESS_LIMIT_CONTROL": RATE_LIMITED, "isv.DAY_LIMIT_CONTROL": RATE_LIMITED,
    "isv.MONTH_LIMIT_CONTROL": RATE_LIMITED, "Throttling.User": RATE_LIMITED, "Throttling": RATE_LIMITED,
    "Throttling.Api": RATE_LIMITED, "isp.SYSTEM_ERROR": TRANSIENT, "isp.GATEWAY_ERROR": TRANSIENT,
    "ServiceUnavailable": PROVIDER_DOWN, "isv.AMOUNT_NOT_ENOUGH": PROVIDER_DOWN,
    "isv.OUT_OF_SERVICE": PROVIDER_DOWN, "isv.ACCOUNT_NOT_EXISTS": PROVIDER_DOWN,
    "isv.ACCOUNT_ABNORMAL": PROVIDER_DOWN, "InvalidAccessKeyId.NotFound": PROVIDER_DOWN,
    "SignatureDoesNotMatch": PROVIDER_DOWN, "isp.RAM_PERMISSION_DENY": PROVIDER_DOWN,
    "isv.MOBILE_NUMBER_ILLEGAL": INVALID_NUMBER, "isv.MOBILE_COUNT_OVER_LIMIT": INVALID_NUMBER,
    "isv.BLACK_KEY_CONTROL_LIMIT": REJECTED_CONTENT, "isv.TEMPLATE_PARAMS_ILLEGAL": REJECTED_CONTENT,
    "isv.SMS_TEMPLATE_ILLEGAL": REJECTED_CONTENT, "isv.SMS_SIGNATURE_ILLEGAL": REJECTED_CONTENT,
    "isv.TEMPLATE_MISSING_PARAMETERS": REJECTED_CONTENT, "isv.PARAM_LENGTH_LIMIT": REJECTED_CONTENT,
    "isv.INVALID_JSON_PARAM": REJECTED_CONTENT, "isv.INVALID_PARAMETERS": REJECTED_CONTENT,
    "isv.SMS_CONTENT_ILLEGAL": REJECTED_CONTENT, "isv.DENY_IP_RANGE": PROVIDER_DOWN,
    "isv.UNSUBSCRIBED": OPTED_OUT,
}
FLOW_CONTROL_WAIT = {"isv.BUSINESS_LIMIT_CONTROL": 60, "isv.DAY_LIMIT_CONTROL": 3600, "Throttling.User": 1}
SEND_STATUS = {1: None, 2: "undelivered", 3: "delivered"}  # QuerySendDetails: 1 waiting, 2 failed, 3 delivered
DETAIL_ERROR_KINDS = {"MOBILE_NOT_ON_SERVICE": INVALID_NUMBER, "MOBILE_NUMBER_ILLEGAL": INVALID_NUMBER,
                      "USER_UNSUBSCRIBE": OPTED_OUT}


def kind_of(code: str | None, status: int | None = None) -> str:
    if code in CODE_KINDS:
        return CODE_KINDS[code]
    if status == 429 or (code or "").startswith("Throttling"):
        return RATE_LIMITED
    if status is not None and status >= 500:
        return TRANSIENT
    return REJECTED_CONTENT


class AliyunProvider(Provider):
    name = "aliyun"
    max_batch = 100

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str, codes: dict[str, str],
                 endpoint: str = "dysmsapi.aliyuncs.com", timeout_ms: int = 5000):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.codes = codes
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self._local = threading.local()

    @classmethod
    def from_config(cls, config: dict) -> "AliyunProvider":
        for variable in ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
                         "ALIYUN_SMS_TEMPLATES"):
            if not config.get(variable):
                raise ConfigError(f"the aliyun SMS provider needs {variable}")
        try:
            codes = parse_codes(config["ALIYUN_SMS_TEMPLATES"])
        except TemplateError as exc:
            raise ConfigError(str(exc)) from None
        return cls(access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
                   access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
                   sign_name=config["ALIYUN_SMS_SIGN_NAME"], codes=codes,
                   endpoint=config.get("ALIYUN_SMS_ENDPOINT") or "dysmsapi.aliyuncs.com")

    # ------------------------------------------------------------ the SDK

    def warm_up(self) -> None:
        self.client()

    def client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            # local: the provider's SDK loads only when it is configured
            from alibabacloud_dysmsapi20170525.client import Client
            from alibabacloud_tea_openapi.utils_models import Config
            parts = urlsplit(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
            config = Config(access_key_id=self.access_key_id, access_key_secret=self.access_key_secret,
                            endpoint=parts.netloc, protocol=parts.scheme, region_id="cn-hangzhou",
                            read_timeout=self.timeout_ms, connect_timeout=self.timeout_ms)
            client = self._local.client = Client(config)
        return client

    def _runtime(self):
        # local: the provider's SDK loads only when it is configured
        from darabonba.runtime import RuntimeOptions
        return RuntimeOptions(autoretry=False, read_timeout=self.timeout_ms, connect_timeout=self.timeout_ms)

    # ------------------------------------------------------------ templates

    def template(self, message: OutgoingSms) -> tuple[str, dict]:
        """(template code, variables) or SendError(rejected_content) naming the problem."""
        try:
            purpose, values = variables_for(message.purpose, message.params, message.body)
        except TemplateError as exc:
            raise SendError(str(exc), kind=REJECTED_CONTENT, code="template_variables") from None
        code = self.codes.get(purpose)
        if code is None:
            raise SendError(f"no template code for {purpose!r} in ALIYUN_SMS_TEMPLATES", kind=REJECTED_CONTENT,
                            code="template_missing")
        return code, values

    def validate(self, message: OutgoingSms) -> None:
        self.template(message)

    def batch_key(self, message: OutgoingSms):
        try:
            return self.template(message)[0]
        except SendError:
            return None

    # ------------------------------------------------------------ sending

    def send(self, message: OutgoingSms) -> str:
        # local: the provider's SDK loads only when it is configured
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        code, values = self.template(message)
        request = SendSmsRequest(phone_numbers=_national(message.to), sign_name=self.sign_name, template_code=code,
                                 template_param=json.dumps(values, ensure_ascii=False), out_id=message.reference)
        body = self._call(lambda: self.client().send_sms_with_options(request, self._runtime()).body)
        biz_id = self._check(body)
        log.info("aliyun sms %s to %s (%s)", biz_id, mask_phone(message.to), code)
        return biz_id

    def send_batch(self, messages: list[OutgoingSms]) -> list[str | SendError]:
        if len(messages) == 1:
            return super().send_batch(messages)
        # local: the provider's SDK loads only when it is configured
        from alibabacloud_dysmsapi20170525.models import SendBatchSmsRequest
        results: list[str | SendError | None] = [None] * len(messages)
        groups: dict[str, list[tuple[int, dict]]] = {}
        for i, message in enumerate(messages):
            try:
                code, values = self.template(message)
            except SendError as exc:
                results[i] = exc
                continue
            groups.setdefault(code, []).append((i, values))
        for code, members in groups.items():
            for start in range(0, len(members), self.max_batch):
                chunk = members[start:start + self.max_batch]
                request = SendBatchSmsRequest(
                    phone_number_json=json.dumps([_national(messages[i].to) for i, _ in chunk]),
                    sign_name_json=json.dumps([self.sign_name] * len(chunk), ensure_ascii=False),
                    template_code=code,
                    template_param_json=json.dumps([values for _, values in chunk], ensure_ascii=False),
                    out_id=messages[chunk[0][0]].reference)
                try:
                    body = self._call(lambda: self.client().send_batch_sms_with_options(request, self._runtime()).body)
                    biz_id = self._check(body)
                except SendError as exc:
                    if exc.kind == INVALID_NUMBER and len(chunk) > 1:
                        # One bad number refuses the whole batch: send one by one so only it fails.
                        for i, _ in chunk:
                            results[i] = super().send_batch([messages[i]])[0]
                        continue
                    for i, _ in chunk:
                        results[i] = exc
                    continue
                log.info("aliyun batch %s: %d messages (%s)", biz_id, len(chunk), code)
                for i, _ in chunk:
                    results[i] = biz_id
        return results  # type: ignore[return-value]

    def _call(self, function):
        try:
            return function()
        except SendError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is a SendError with a kind
            raise _classify(exc) from exc

    @staticmethod
    def _check(body) -> str:
        """An answer must say Code OK and carry a BizId; anything else is an error or garbage."""
        code = getattr(body, "code", None) if body is not None else None
        if code == "OK" and getattr(body, "biz_id", None):
            return body.biz_id
        if code is None or code == "OK":
            raise SendError("Aliyun answered without Code/BizId", kind=TRANSIENT, code="garbage", maybe_sent=True)
        kind = kind_of(code)
        return_after = FLOW_CONTROL_WAIT.get(code)
        raise SendError(f"{code}: {getattr(body, 'message', '')}", kind=kind, code=code[:20],
                        retry_after=return_after)

    # ------------------------------------------------------------ delivery

    def _details(self, to: str, day: datetime, biz_id: str | None = None) -> list:
        # local: the provider's SDK loads only when it is configured
        from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest
        local = day.astimezone(timezone(timedelta(hours=8)))  # Aliyun's SendDate is a Beijing date
        request = QuerySendDetailsRequest(phone_number=_national(to), send_date=local.strftime("%Y%m%d"),
                                          page_size=50, current_page=1, biz_id=biz_id)
        body = self._call(lambda: self.client().query_send_details_with_options(request, self._runtime()).body)
        if getattr(body, "code", None) != "OK":
            code = getattr(body, "code", None) or "garbage"
            raise SendError(f"QuerySendDetails: {code}", kind=kind_of(code) if code != "garbage" else TRANSIENT,
                            code=code[:20])
        dtos = body.sms_send_detail_dtos
        return list(dtos.sms_send_detail_dto or []) if dtos else []

    def find(self, message: OutgoingSms, since: datetime):
        code, _ = self.template(message)
        for detail in self._details(message.to, since):
            if detail.out_id == message.reference or (detail.template_code == code and _after(detail.send_date, since)):
                return ProviderMessage(sid=detail.out_id or "", to=message.to, body=detail.content or message.body,
                                       status=str(detail.send_status), reference=message.reference)
        return None

    def query_status(self, sids: list[str], to: str, sent_on: datetime) -> list[StatusUpdate]:
        out = []
        for biz_id in dict.fromkeys(s for s in sids if s):
            for detail in self._details(to, sent_on, biz_id):
                status = SEND_STATUS.get(int(detail.send_status or 1))
                if status is None:
                    continue
                error = detail.err_code if status != "delivered" and detail.err_code not in (None, "DELIVERED") \
                    else None
                out.append(StatusUpdate(provider=self.name, status=status, sid=biz_id, error_code=(error or None)
                                        and error[:20], error_kind=DETAIL_ERROR_KINDS.get(error or "", TRANSIENT)
                                        if error else None))
        return out

    def health(self) -> dict:
        return {"configured": True, "endpoint": self.endpoint, "sign_name": self.sign_name,
                "templates": sorted(self.codes)}


def _national(number: str) -> str:
    """Aliyun takes mainland numbers bare (13800138000) and others with their country code (852…)."""
    number = (number or "").strip()
    if number.startswith("+86"):
        return number[3:]
    return number.lstrip("+")


def _after(send_date: str | None, since: datetime) -> bool:
    try:
        sent = datetime.strptime(send_date or "", "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone(timedelta(hours=8)))
    except ValueError:
        return False
    return sent >= since - timedelta(seconds=60)


def _classify(exc: Exception) -> SendError:
    # local: the provider's SDK loads only when it is configured
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
    if isinstance(exc, ThrottlingException):
        return SendError(f"throttled: {exc.message}", kind=RATE_LIMITED, code=(exc.code or "Throttling")[:20],
                         status=exc.status_code, retry_after=getattr(exc, "retry_after", None))
    if isinstance(exc, AlibabaCloudException):
        code = exc.code or f"http_{exc.status_code}"
        return SendError(f"{code}: {exc.message}", kind=kind_of(exc.code, exc.status_code), code=code[:20],
                         status=exc.status_code)
    text = f"{type(exc).__name__}: {exc}"
    if "refused" in text.lower() or "NewConnectionError" in text or "Name or service not known" in text:
        return SendError(f"Aliyun unreachable: {text[:200]}", kind=PROVIDER_DOWN, code="unreachable")
    # A timeout, a dropped connection or an answer that is not JSON: the request may have gone through.
    return SendError(f"no usable answer from Aliyun: {text[:200]}", kind=TRANSIENT, code="garbage", maybe_sent=True)
