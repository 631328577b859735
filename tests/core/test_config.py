"""Settings: secrets generated outside production, refused when missing or placeholder in it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from yilian.core.config import Env, Settings, check_production
from yilian.core.errors import ConfigurationError


def test_dev_generates_secrets_once(tmp_path: Path) -> None:
    s = Settings(env=Env.DEV, var_dir=tmp_path)
    first = s.secret()
    assert first == Settings(env=Env.DEV, var_dir=tmp_path).secret()
    mode = stat.S_IMODE((tmp_path / "secret_key.txt").stat().st_mode)
    assert mode == 0o600
    assert len(s.pii()) == 32


@pytest.mark.parametrize("value", [None, "", "change-me"])
def test_production_refuses_missing_or_placeholder(tmp_path: Path, value: str | None) -> None:
    s = Settings(env=Env.PRODUCTION, var_dir=tmp_path, secret_key=value, pii_key="a" * 64)
    with pytest.raises(ConfigurationError) as info:
        check_production(s)
    assert "YILIAN_SECRET_KEY" in info.value.message
    assert not (tmp_path / "secret_key.txt").exists()


def test_placeholder_refused_in_dev_but_allowed_in_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Settings(env=Env.DEV, var_dir=tmp_path, secret_key="change-me").secret()
    assert Settings(env=Env.DEMO, var_dir=tmp_path, secret_key="change-me").secret()


def test_production_accepts_real_secrets(tmp_path: Path) -> None:
    check_production(Settings(env=Env.PRODUCTION, var_dir=tmp_path, secret_key="s" * 40, pii_key="ab" * 32))
