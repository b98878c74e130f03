"""Deployment files are right by construction (Docker does not run on our machines)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def env_vars_read_by_the_product() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "surveys").rglob("*.py"):
        names |= set(re.findall(r"env\.get\(\s*\"([A-Z_]+)\"", path.read_text(encoding="utf-8")))
    return names


def test_compose_has_database_web_and_bot():
    assert {"db", "web", "bot", "purge", "worker"} <= set(SERVICES)
    assert "alerts" not in SERVICES  # the worker delivers alerts now


def test_purge_runs_daily_with_the_answer_keys():
    purge = SERVICES["purge"]
    command = " ".join(purge["command"])
    assert "yjvoice purge" in command and "sleep 86400" in command
    assert purge["image"] == SERVICES["web"]["image"]
    for name in ("web", "bot", "purge"):
        assert SERVICES[name]["environment"]["ANSWER_KEYS"].startswith("${ANSWER_KEYS:?")


def test_the_worker_shares_the_image_and_the_queue_and_waits_for_the_migrated_database():
    worker = SERVICES["worker"]
    assert worker["command"] == ["yjvoice", "worker"]
    assert worker["image"] == SERVICES["web"]["image"]
    assert worker["depends_on"]["web"]["condition"] == "service_healthy"
    assert worker["env_file"] == SERVICES["web"]["env_file"] == ".env"  # one JOBS_URL for both
    env = worker["environment"]
    assert env["YJVOICE_ENV"] == "production"
    for var in ("DATABASE_URL", "SECRET_KEY", "ANSWER_KEYS", "JOBS_URL"):
        assert env[var].startswith("${" + var + ":?"), f"the worker must require {var}"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "\nJOBS_URL=redis://" in example  # production: a queue web and worker share


def test_database_is_postgres_16_with_a_volume_and_healthcheck():
    db = SERVICES["db"]
    assert db["image"].startswith("postgres:16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert db["volumes"][0].split(":")[0] in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "POSTGRES_PASSWORD" in db["environment"]


def test_web_runs_gunicorn_on_the_app_factory_after_migrating():
    web = SERVICES["web"]
    assert "yjvoice init" in web["command"]
    assert "gunicorn" in web["command"] and "'web:create_app()'" in web["command"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["build"] == "." and (ROOT / "Dockerfile").exists()


def test_bot_polls_with_its_token_and_shares_the_image():
    bot = SERVICES["bot"]
    assert bot["command"] == ["yjvoice", "bot"]
    assert bot["image"] == SERVICES["web"]["image"]
    assert "TELEGRAM_TOKEN" in bot["environment"]
    assert "healthcheck" in bot


def test_app_services_get_production_secrets_from_the_environment():
    for name in ("web", "bot"):
        env = SERVICES[name]["environment"]
        assert env["YJVOICE_ENV"] == "production"
        for var in ("DATABASE_URL", "SECRET_KEY"):
            assert env[var].startswith("${" + var + ":?"), f"{name} must require {var}"


def test_no_secret_is_written_into_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if re.search(r"(PASSWORD|SECRET|TOKEN)\w*:\s*\S", line):
            assert "${" in line, line


def test_env_example_and_readme_document_every_setting():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for var in env_vars_read_by_the_product() - {"YJVOICE_INSTANCE", "YJVOICE_BANKS_DIR"}:
        assert f"{var}=" in example, var
    for var in env_vars_read_by_the_product():
        assert f"`{var}`" in readme, var


def test_dockerfile_installs_every_package_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11" in text
    for pkg in ("surveys", "web", "bot", "sms", "yjvoice"):
        assert f"COPY {pkg} ./{pkg}" in text
    assert re.search(r"^USER (?!root)\w+", text, re.M)
