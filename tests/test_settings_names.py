"""Settings are named STUDYMATE_*, v1's names still work, and only our own files are read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from studymate import config
from studymate.config import all_env_names, load_settings

REPO = Path(__file__).resolve().parents[1]
GOOD_TOKEN = "123456:" + "A" * 35
V1_TOKEN = "654321:" + "B" * 35


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No StudyMate variable from the outside, no installation env file, cwd a plain folder."""
    for name in list(os.environ):
        if any(name in names for names in all_env_names().values()) or name.startswith("STUDYMATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(config, "SYSTEM_ENV_FILE", tmp_path / "no-such" / "studymate.env")
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_generic_names_exported_for_something_else_do_not_configure_studymate(clean_env):
    for name, value in {
        "HTTP_PORT": "not-a-port", "HTTP_HOST": "0.0.0.0", "LOG_LEVEL": "chatty", "TIMEZONE": "Mars/Olympus",
        "WATCHDOG_HTTP_PORT": "1", "TELEGRAM_MODE": "webhook", "STATE_DIR": "/elsewhere",
        "LOG_MAX_TOTAL_MB": "0", "DEFAULT_LANGUAGE": "de", "BACKUP": "yes", "LOG": "x",
    }.items():
        clean_env.setenv(name, value)
    settings = load_settings()  # none of them is even validated
    assert (settings.http_port, settings.http_host, settings.log_level) == (8390, "127.0.0.1", "INFO")
    assert settings.timezone == "Asia/Tashkent" and settings.default_language == "ru"
    assert settings.watchdog_http_port == 8391 and settings.telegram_mode == "polling"
    assert settings.state_dir == Path.cwd() / "var" / "lib"
    assert settings.logs.max_total_mb == 200


def test_prefixed_names_configure_every_section(clean_env, tmp_path):
    clean_env.setenv("STUDYMATE_HTTP_PORT", "9000")
    clean_env.setenv("STUDYMATE_LOG_LEVEL", "debug")
    clean_env.setenv("STUDYMATE_TIMEZONE", "Europe/Berlin")
    clean_env.setenv("STUDYMATE_STATE_DIR", str(tmp_path / "state"))
    clean_env.setenv("STUDYMATE_BACKUP_KEEP_WEEKLY", "9")
    clean_env.setenv("STUDYMATE_BACKUP_TIME", "04:30")
    clean_env.setenv("STUDYMATE_LOG_MAX_TOTAL_MB", "0.5")
    clean_env.setenv("STUDYMATE_LOG_ROTATE_INTERVAL", "60")
    settings = load_settings()
    assert (settings.http_port, settings.log_level, settings.timezone) == (9000, "DEBUG", "Europe/Berlin")
    assert settings.backup.keep_weekly == 9 and settings.backup.time == "04:30"
    assert settings.backup.dir == tmp_path / "state" / "backups", "defaults to STATE_DIR/backups"
    assert settings.logs.max_total_bytes == 512 * 1024 and settings.logs.rotate_interval == 60


def test_v1_names_are_accepted_and_the_prefixed_name_wins(clean_env, tmp_path):
    clean_env.setenv("BOT_TOKEN", V1_TOKEN)
    clean_env.setenv("DATABASE_URL", "sqlite:///v1.db")
    clean_env.setenv("ADMIN_TELEGRAM_IDS", "5,6")
    clean_env.setenv("BACKUP_DIR", str(tmp_path / "v1-backups"))
    clean_env.setenv("BACKUP_RETENTION_DAYS", "14")
    settings = load_settings()
    assert settings.require_token() == V1_TOKEN and settings.database_url == "sqlite:///v1.db"
    assert settings.admin_telegram_ids == [5, 6]
    assert settings.backup.dir == tmp_path / "v1-backups" and settings.backup.retention_days == 14

    clean_env.setenv("STUDYMATE_BOT_TOKEN", GOOD_TOKEN)
    clean_env.setenv("STUDYMATE_DATABASE_URL", "sqlite:///v2.db")
    clean_env.setenv("STUDYMATE_BACKUP_RETENTION_DAYS", "60")
    settings = load_settings()
    assert settings.require_token() == GOOD_TOKEN and settings.database_url == "sqlite:///v2.db"
    assert settings.backup.retention_days == 60 and settings.backup.dir == tmp_path / "v1-backups"


def test_an_error_names_the_variable_that_was_set(clean_env):
    clean_env.setenv("BACKUP_KEEP_DAILY", "many")
    with pytest.raises(config.ConfigError, match=r"^BACKUP_KEEP_DAILY: "):
        load_settings()
    clean_env.setenv("STUDYMATE_BACKUP_KEEP_DAILY", "-1")
    with pytest.raises(config.ConfigError, match=r"^STUDYMATE_BACKUP_KEEP_DAILY: must be greater"):
        load_settings()


def test_every_name_is_prefixed_and_unique():
    names = all_env_names()
    assert all(choices[0].startswith("STUDYMATE_") for choices in names.values())
    flat = [name for choices in names.values() for name in choices]
    assert len(flat) == len(set(flat))
    bare = {choices[1] for choices in names.values() if len(choices) > 1}
    assert bare == {"BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "ADMIN_TELEGRAM_IDS", "TEST_STUDENT_IDS"} | {
        "BACKUP_" + path[1].upper() for path in names if path[0] == "backup"
    }


# -- which files are read ---------------------------------------------------------------------


def _v1_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".env").write_text(f"BOT_TOKEN={V1_TOKEN}\nDATABASE_URL=sqlite:///{folder}/v1.db\nSECRET_KEY=x\n")
    return folder


def test_dot_env_is_not_read_when_an_installation_env_file_is_in_use(clean_env, tmp_path):
    """``sudo studymate backup restore X`` run from a folder with a v1 .env: the installation's
    database, not v1's."""
    installed = tmp_path / "studymate.env"
    installed.write_text(f"STUDYMATE_BOT_TOKEN={GOOD_TOKEN}\nSTUDYMATE_STATE_DIR={tmp_path / 'state'}\n")
    clean_env.setenv("STUDYMATE_ENV_FILE", str(installed))
    clean_env.chdir(_v1_folder(tmp_path / "v1"))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'state' / 'studymate.db'}"
    assert settings.require_token() == GOOD_TOKEN

    # The same with the system file instead of $STUDYMATE_ENV_FILE.
    clean_env.delenv("STUDYMATE_ENV_FILE")
    clean_env.setattr(config, "SYSTEM_ENV_FILE", installed)
    assert load_settings().effective_database_url == settings.effective_database_url


def test_dot_env_is_not_read_outside_a_checkout(clean_env, tmp_path):
    clean_env.chdir(_v1_folder(tmp_path / "v1"))
    settings = load_settings()
    assert settings.database_url == "" and settings.bot_token is None


def test_dot_env_is_read_in_a_checkout_without_an_installation(clean_env, tmp_path):
    checkout = _v1_folder(tmp_path / "checkout")
    (checkout / "pyproject.toml").write_text("")
    (checkout / "studymate").mkdir()
    (checkout / "studymate" / "config.py").write_text("")
    clean_env.chdir(checkout)
    settings = load_settings()
    assert settings.require_token() == V1_TOKEN
    assert settings.database_url == f"sqlite:///{checkout}/v1.db"


def test_the_cli_ignores_a_foreign_dot_env(tmp_path):
    """End to end: a v1 .env in the working folder with a broken value does not stop the CLI."""
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / ".env").write_text("DATABASE_URL=mysql://v1@localhost/school\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "STUDYMATE_STATE_DIR": str(tmp_path / "state"), "STUDYMATE_ENV_FILE": os.devnull}
    result = subprocess.run([sys.executable, "-m", "studymate", "backup", "list"], env=env, cwd=folder,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"no backups in {tmp_path / 'state' / 'backups'}" in result.stdout


# -- where the names are written ----------------------------------------------------------------


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Configuration"):readme.index("## Status")]
    for path, choices in all_env_names().items():
        name = choices[0]
        short = "..._" + name.removeprefix("STUDYMATE_BACKUP_")  # the KEEP_* row abbreviates
        assert f"`{name}`" in section or f"`{short}`" in section, name
        if len(choices) > 1 and path[0] != "backup":
            assert f"`{choices[1]}`" in section, choices[1]


def test_install_sh_knows_every_setting_and_renames_bare_names(tmp_path):
    script = (REPO / "install.sh").read_text()
    listed = re.search(r"readonly SETTING_NAMES=\(\n(.*?)\n\)", script, re.S)
    assert listed, "install.sh lists the settings"
    assert set(listed.group(1).split()) == {c[0].removeprefix("STUDYMATE_") for c in all_env_names().values()}

    old = tmp_path / "studymate.env"
    old.write_text("# kept\nBOT_TOKEN=1:a\nexport TIMEZONE=Europe/Berlin\nSTUDYMATE_HTTP_PORT=8400\n"
                   "HTTP_PORT=8500\nSECRET_KEY=v1-leftover\n")
    subprocess.run(["bash", "-c", 'source "$1" && prefix_names "$2"', "-", str(REPO / "install.sh"), str(old)],
                   check=True, timeout=30)
    assert old.read_text() == ("# kept\nSTUDYMATE_BOT_TOKEN=1:a\nSTUDYMATE_TIMEZONE=Europe/Berlin\n"
                               "STUDYMATE_HTTP_PORT=8400\nSECRET_KEY=v1-leftover\n")


def test_generated_env_files_use_the_prefixed_names():
    for path in ("scripts/run.sh", "systemd/studymate-replica@.service"):
        text = (REPO / path).read_text()
        written = re.findall(r"(?:echo \"|Environment=)([A-Z_]+)=", text)
        assert written and all(n.startswith(("STUDYMATE_", "PYTHON")) for n in written), (path, written)
