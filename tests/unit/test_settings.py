"""ari_app.settings.Settings.from_env."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.settings import Settings, SettingsError, read_secrets_file

PASSWORD = "Xq7-ari-pass-9f2e"
DSN = "postgresql://hotline@127.0.0.1:54329/hotline"


def _env(state_dir: Path, **extra: str) -> dict[str, str]:
    # Always point at an empty state dir so a real <repo>/.hotline/secrets.env is never read.
    return {"HOTLINE_STATE_DIR": str(state_dir), **extra}


def test_missing_password_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HOTLINE_ARI_PASSWORD"):
        Settings.from_env(_env(tmp_path, HOTLINE_DSN=DSN))


def test_empty_password_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HOTLINE_ARI_PASSWORD"):
        Settings.from_env(_env(tmp_path, HOTLINE_ARI_PASSWORD="", HOTLINE_DSN=DSN))


def test_missing_dsn_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HOTLINE_DSN"):
        Settings.from_env(_env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD))


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("name", ["HOTLINE_HTTP_PORT", "HOTLINE_AGI_PORT"])
def test_non_integer_port_names_the_variable(tmp_path: Path, name: str) -> None:
    env = _env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD, HOTLINE_DSN=DSN, **{name: "80a"})
    with pytest.raises(SettingsError, match=name) as info:
        Settings.from_env(env)
    assert "'80a'" in str(info.value)


def test_non_numeric_float_names_the_variable(tmp_path: Path) -> None:
    env = _env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD, HOTLINE_DSN=DSN, HOTLINE_AGI_HEADER_TIMEOUT="soon")
    with pytest.raises(SettingsError, match="HOTLINE_AGI_HEADER_TIMEOUT"):
        Settings.from_env(env)


def test_password_and_dsn_come_from_secrets_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text(
        "# Generated per install by scripts/up. Keep private.\n"
        "\n"
        f"HOTLINE_ARI_PASSWORD={PASSWORD}\n"
        "HOTLINE_AMI_PASSWORD=ami-other-secret\n"
        f"HOTLINE_DSN = {DSN}\n"
        "not a key value line\n",
        encoding="utf-8",
    )
    settings = Settings.from_env(_env(tmp_path))
    assert settings.ari_password == PASSWORD
    assert settings.dsn == DSN


def test_environment_wins_over_secrets_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text(f"HOTLINE_ARI_PASSWORD=from-file\nHOTLINE_DSN={DSN}\n", encoding="utf-8")
    settings = Settings.from_env(_env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD))
    assert settings.ari_password == PASSWORD
    assert settings.dsn == DSN


def test_defaults_bind_loopback(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD, HOTLINE_DSN=DSN))
    assert settings.http_host == "127.0.0.1"
    assert settings.agi_host == "127.0.0.1"
    assert settings.ari_url == "http://127.0.0.1:8088"
    assert settings.http_port == 8080
    assert settings.agi_port == 4573
    assert settings.ari_user == "hotline"
    assert settings.log_level == "info"


def test_overrides_are_parsed(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        HOTLINE_ARI_PASSWORD=PASSWORD,
        HOTLINE_DSN=DSN,
        HOTLINE_ARI_URL="http://127.0.0.1:18088/",
        HOTLINE_HTTP_PORT="18080",
        HOTLINE_AGI_PORT="",  # empty means default
        HOTLINE_AGI_HEADER_TIMEOUT="0.25",
        HOTLINE_LOG_LEVEL="DEBUG",
    )
    settings = Settings.from_env(env)
    assert settings.ari_url == "http://127.0.0.1:18088"
    assert settings.http_port == 18080
    assert settings.agi_port == 4573
    assert settings.agi_header_timeout == 0.25
    assert settings.log_level == "debug"


def test_password_is_not_in_repr(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path, HOTLINE_ARI_PASSWORD=PASSWORD, HOTLINE_DSN=DSN))
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)
    assert "127.0.0.1" in repr(settings)  # the repr is still informative


def test_read_secrets_file_missing_is_empty(tmp_path: Path) -> None:
    assert read_secrets_file(tmp_path / "nope.env") == {}
