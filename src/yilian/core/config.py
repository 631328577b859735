"""Settings: the one place that reads the environment (prefix ``YILIAN_``).

Secrets (``secret_key``, ``pii_key``) are generated once into ``./var/`` outside
production so a bare checkout just works; production refuses to start when one is
missing or left at a placeholder.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from yilian.core.errors import ConfigurationError

PLACEHOLDERS = frozenset({"", "change-me", "changeme", "placeholder", "secret", "please-change-me"})


class Env(StrEnum):
    DEMO = "demo"
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YILIAN_", env_file=".env", extra="ignore")

    env: Env = Env.DEV
    database_url: str = "sqlite:///var/yilian.db"
    test_postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    secret_key: str | None = None
    pii_key: str | None = None
    var_dir: Path = Path("var")
    drg_rules: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Login throttling: attempts per username+address inside the window.
    login_max_attempts: int = 5
    login_window_seconds: int = 300
    session_max_age_seconds: int = 8 * 3600
    api_token_max_age_seconds: int = 12 * 3600
    display_timezone: str = "Asia/Shanghai"
    page_size: int = Field(default=20, ge=1, le=500)
    # In-process scheduled jobs (referral deadlines) in `yilian serve`; off by default under test.
    jobs_enabled: bool | None = None

    def run_jobs(self) -> bool:
        return self.jobs_enabled if self.jobs_enabled is not None else self.env != Env.TEST

    def secret(self) -> str:
        return _resolve_secret(self, "secret_key", self.secret_key)

    def pii(self) -> bytes:
        raw = _resolve_secret(self, "pii_key", self.pii_key)
        return bytes.fromhex(raw) if _is_hex(raw) else raw.encode()


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return len(value) >= 32


def _resolve_secret(settings: Settings, name: str, value: str | None) -> str:
    var = f"YILIAN_{name.upper()}"
    if value is not None and value.strip().lower() in PLACEHOLDERS and settings.env != Env.DEMO:
        raise ConfigurationError(f"配置项 {var} 仍为占位值，请设置真实的密钥。", code="secret_placeholder", name=var)
    if value and value.strip().lower() not in PLACEHOLDERS:
        return value
    if settings.env == Env.PRODUCTION:
        raise ConfigurationError(f"生产环境必须设置 {var}。", code="secret_missing", name=var)
    path = settings.var_dir / f"{name}.txt"
    if path.exists():
        return _read_key_file(path)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    # Write a private temp file, then link it into place: link() fails if another process won
    # the race, and nobody ever sees a half-written key.
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key_file(path)


def _read_key_file(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise ConfigurationError(f"密钥文件 {path} 为空，请删除后重新生成或设置环境变量。", code="secret_file_empty")
    return value


def check_production(settings: Settings) -> None:
    """Refuse to start a production process with missing or placeholder secrets."""
    settings.secret()
    settings.pii()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
