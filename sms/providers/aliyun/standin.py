"""A local stand-in for Alibaba Cloud's dysmsapi RPC API (SendSms, SendBatchSms, QuerySendDetails; business
errors as HTTP 200 with a Code), driven by the real `alibabacloud-dysmsapi20170525` SDK. Tests script its
answers, inspect what arrived, and read each text as the approved template renders it. Nothing of ours is
patched.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from sms.providers.aliyun.templates import render
from sms.providers.standin_server import StandInServer

ALIYUN_KEY_ID, ALIYUN_SECRET, ALIYUN_SIGN = "LTAI5tTestKeyId000000", "test-secret-0123456789", "某街道网格办"
ALIYUN_TEMPLATES = {"missed_patrol": "SMS_100000001", "missed_patrol_up": "SMS_100000002",
                    "overdue": "SMS_100000003", "escalation": "SMS_100000004", "overdue_digest": "SMS_100000005",
                    "weekly_summary": "SMS_100000006", "provider_failover": "SMS_100000007",
                    "notice": "SMS_100000008"}


class AliyunStandIn(StandInServer):
    """dysmsapi.aliyuncs.com (version 2017-05-25): SendSms, SendBatchSms, QuerySendDetails."""

    def __init__(self, key_id=ALIYUN_KEY_ID):
        self.key_id = key_id
        self.requests: list[dict] = []
        self.sent: list[dict] = []   # one per recipient: biz_id, phone, template, params, out_id, status, err
        self.script: list = []       # next answers to Send*: "ok", an isv.* code, 503, "garbage", "drop"
        self.lock = threading.Lock()
        self.batch_sizes: list[int] = []
        self.next_status = 3         # what QuerySendDetails reports: 3 delivered, 2 failed, 1 waiting

    def handle(self, handler, method):
        raw = self.body_of(handler)
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        params.update({k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()})
        action = handler.headers.get("x-acs-action") or params.get("Action")
        auth = handler.headers.get("Authorization", "") + params.get("AccessKeyId", "")
        with self.lock:
            self.requests.append({"action": action, "params": params})
        if self.key_id not in auth:
            return self.answer(handler, 404, {"Code": "InvalidAccessKeyId.NotFound",
                                              "Message": "Specified access key is not found."})
        if action in ("SendSms", "SendBatchSms"):
            with self.lock:
                answer = self.script.pop(0) if self.script else "ok"
            if answer == "garbage":
                return self.answer(handler, 200, b"<html>502 Bad Gateway</html>", "text/html")
            if answer == "drop":
                self._store(action, params)
                return self.drop(handler)
            if isinstance(answer, int):
                return self.answer(handler, answer, {"Code": "ServiceUnavailable", "Message": "stand-in",
                                                     "RequestId": uuid.uuid4().hex})
            if answer != "ok":
                return self.answer(handler, 200, {"Code": answer, "Message": "stand-in error",
                                                  "RequestId": uuid.uuid4().hex})
            phones = (json.loads(params["PhoneNumberJson"]) if action == "SendBatchSms"
                      else params["PhoneNumbers"].split(","))
            if not all(p.isdigit() and len(p) >= 11 for p in phones):
                return self.answer(handler, 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                                                  "RequestId": uuid.uuid4().hex})
            biz_id = self._store(action, params)
            return self.answer(handler, 200, {"Code": "OK", "Message": "OK", "BizId": biz_id,
                                              "RequestId": uuid.uuid4().hex})
        if action == "QuerySendDetails":
            phone, biz = params.get("PhoneNumber"), params.get("BizId")
            rows = [s for s in self.sent if s["phone"] == phone and (not biz or s["biz_id"] == biz)]
            dtos = [{"PhoneNum": s["phone"], "SendStatus": self.next_status, "ErrCode": "DELIVERED"
                     if self.next_status == 3 else "MOBILE_NOT_ON_SERVICE", "TemplateCode": s["template"],
                     "Content": s["text"], "SendDate": s["at"], "ReceiveDate": s["at"], "OutId": s["out_id"]}
                    for s in rows]
            return self.answer(handler, 200, {"Code": "OK", "Message": "OK", "RequestId": uuid.uuid4().hex,
                                              "TotalCount": len(dtos), "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}})
        return self.answer(handler, 400, {"Code": "InvalidAction.NotFound", "Message": f"unknown action {action}"})

    def _store(self, action: str, params: dict) -> str:
        codes = {v: k for k, v in ALIYUN_TEMPLATES.items()}
        biz_id = f"{len(self.sent) + 1:06d}^{uuid.uuid4().int % 10**10}"
        if action == "SendBatchSms":
            phones = json.loads(params["PhoneNumberJson"])
            values = json.loads(params["TemplateParamJson"])
            out_ids = [params.get("OutId")] * len(phones)
        else:
            phones, values, out_ids = ([params["PhoneNumbers"]], [json.loads(params["TemplateParam"])],
                                       [params.get("OutId")])
        at = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        with self.lock:
            self.batch_sizes.append(len(phones))
            for phone, value, out_id in zip(phones, values, out_ids):
                template = codes.get(params["TemplateCode"], "notice")
                self.sent.append({"biz_id": biz_id, "phone": phone, "template": params["TemplateCode"],
                                  "params": value, "out_id": out_id, "at": at,
                                  "text": render(template, value) if template in codes.values() else ""})
        return biz_id


def aliyun_config(stand_in: AliyunStandIn | None, **extra) -> dict:
    config = {"ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY_ID, "ALIYUN_SMS_ACCESS_KEY_SECRET": ALIYUN_SECRET,
              "ALIYUN_SMS_SIGN_NAME": ALIYUN_SIGN, "ALIYUN_SMS_TEMPLATES": json.dumps(ALIYUN_TEMPLATES),
              "ALIYUN_SMS_ENDPOINT": stand_in.base_url if stand_in else "http://127.0.0.1:9"}
    config.update(extra)
    return config
