"""Turn a submitted form into a pydantic model, refusing bad input with a Chinese message."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from yilian.core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)

_PROBLEMS = {
    "missing": "必填", "string_too_short": "不能为空", "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值无效", "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD", "int_parsing": "应为整数", "greater_than_equal": "数值过小",
}


async def form_model(request: Request, model: type[M], **extra: object) -> M:
    form = await request.form()
    data: dict[str, object] = {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
    data.update(extra)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "problem": _PROBLEMS.get(e["type"], e["msg"])}
                  for e in exc.errors()]
        summary = "；".join(f"{f['field']}：{f['problem']}" for f in fields)
        raise ValidationFailed(f"表单填写有误：{summary}", code="form_invalid", fields=fields) from None
