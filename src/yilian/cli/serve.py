"""``yilian serve``: run the web app with uvicorn."""

from __future__ import annotations

import typer

from yilian.cli.context import err
from yilian.core.config import get_settings


def serve(
    host: str | None = typer.Option(None, "--host", help="监听地址，默认 127.0.0.1"),
    port: int | None = typer.Option(None, "--port", help="端口，默认 8000"),
) -> None:
    """启动网页与 API 服务。"""
    import uvicorn

    from yilian.web.app import create_app

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    err.print(f"医联已启动：http://{host}:{port}/  （API 文档 http://{host}:{port}/api/v1/docs）")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
