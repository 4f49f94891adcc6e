"""Configuration: precedence, validation messages, the CLI surface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from duckgres_trio import config
from duckgres_trio.config import ConfigError


def test_defaults():
    cfg = config.load(None, {}, {})
    assert (cfg.host, cfg.port, cfg.data_dir, cfg.mode) == ("127.0.0.1", 5432, Path("data"), "controlplane")
    assert (cfg.tls, cfg.auth_method, cfg.auto_create_databases) == ("required", "scram-sha-256", True)
    assert cfg.authentication_timeout == 60 and cfg.handover_drain_timeout == 30
    assert cfg.cert_path == Path("data/server.crt")


def test_precedence_cli_over_env_over_yaml(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("port: 1111\nhost: 0.0.0.0\nidle_session_timeout: 5m\ndata_dir: /srv/d\n")
    env = {"DUCKGRES_PORT": "2222", "DUCKGRES_HOST": "10.0.0.1"}
    cfg = config.load(file, {"port": "3333"}, env)
    assert cfg.port == 3333  # CLI
    assert cfg.host == "10.0.0.1"  # env over YAML
    assert cfg.idle_session_timeout == 300  # YAML over default
    assert cfg.data_dir == Path("/srv/d")
    assert config.load(None, {}, {"DUCKGRES_CONFIG": str(file)}).port == 1111


@pytest.mark.parametrize("source, message", [
    ({"cli": {"port": "abc"}}, "port: "),
    ({"cli": {"port": "70000"}}, "port: must be between 0 and 65535"),
    ({"env": {"DUCKGRES_TLS": "maybe"}}, "tls: must be one of required, optional, disabled (got 'maybe' from DUCKGRES_TLS)"),
    ({"env": {"DUCKGRES_AUTO_CREATE_DATABASES": "perhaps"}}, "auto_create_databases: expected true or false"),
    ({"yaml": "idle_session_timeout: soon\n"}, "idle_session_timeout: expected a duration"),
    ({"yaml": "max_message_size: 2GB\n"}, "max_message_size: must be between"),
    ({"yaml": "no_such_key: 1\n"}, "no_such_key: unknown setting"),
    ({"yaml": "- a list\n"}, "must hold a mapping"),
])
def test_invalid_values_name_the_key(tmp_path, source, message):
    file = None
    if "yaml" in source:
        file = tmp_path / "bad.yaml"
        file.write_text(source["yaml"])
    with pytest.raises(ConfigError) as info:
        config.load(file, source.get("cli", {}), source.get("env", {}))
    assert message in str(info.value)


def test_users_from_env():
    cfg = config.load(None, {}, {"DUCKGRES_USERS": "a=md5abc,b=SCRAM-SHA-256$4096:c2FsdA==$x=:y="})
    assert cfg.users == {"a": "md5abc", "b": "SCRAM-SHA-256$4096:c2FsdA==$x=:y="}


def run_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "duckgres_trio", *args], input=input,
                          capture_output=True, text=True, timeout=60)


def test_help_lists_every_setting():
    result = run_cli("--help")
    assert result.returncode == 0
    for setting in config.SETTINGS:
        assert "--" + setting.name.replace("_", "-") in result.stdout
    assert "--config" in result.stdout


def test_help_shows_defaults_as_config_writes_them_and_the_subcommands():
    result = run_cli("--help")
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for shown in ("DUCKGRES_WORKER_IDLE_TIMEOUT, default 5m)", "default 60s)",
                  "DUCKGRES_AUTH_BAN_DURATION, default 15m)", "default 64MB)",
                  "DUCKGRES_RETIRE_ON_SESSION_END, default false)", "default 127.0.0.1:8432)"):
        assert shown in text, shown
    assert "300.0" not in text and "67108864" not in text
    usage = result.stdout.split("\n\n")[0]
    assert usage.startswith("usage: duckgres-trio") and "passwd" in usage


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.name)
def test_every_shown_default_parses_back_to_the_default(setting):
    shown = config.show(setting, setting.default)
    if setting.default in ({}, None, ""):
        assert shown == ""  # unset: derived defaults, empty text
    else:
        assert setting.parse(shown) == setting.default, shown


@pytest.mark.parametrize("seconds, shown", [
    (0, "0"), (0.5, "500ms"), (30, "30s"), (60, "60s"), (90, "90s"), (300, "5m"),
    (3600, "1h"), (5400, "90m"), (125, "125s"), (1.25, "1250ms")])
def test_durations_show_as_written(seconds, shown):
    assert config.show_duration(seconds) == shown
    assert config.BY_NAME["statement_timeout"].parse(shown) == seconds


def test_invalid_config_fails_at_start_naming_the_key(tmp_path):
    result = run_cli("--port", "nope", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "port:" in result.stderr and "--port" in result.stderr


def test_plaintext_password_in_users_is_refused(tmp_path):
    result = run_cli("--data-dir", str(tmp_path), "--users", "alice=secret")
    assert result.returncode == 2
    assert "users.alice" in result.stderr and "passwd" in result.stderr


def test_passwd_prints_a_usable_verifier():
    from duckgres_trio.frontend import scram

    result = run_cli("passwd", input="hunter2\n")
    assert result.returncode == 0, result.stderr
    verifier = scram.parse_verifier(result.stdout.strip())
    scram.check_cleartext(verifier, "anyone", "hunter2")
    result = run_cli("passwd", "--method", "md5", "--user", "bob", input="pw\n")
    assert result.stdout.strip() == scram.make_md5_verifier("bob", "pw")
