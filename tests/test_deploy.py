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


def test_compose_has_proxy_web_database_redis_bot_and_workers():
    assert {"proxy", "web", "db", "redis", "bot", "purge", "worker"} <= set(SERVICES)
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


def test_web_runs_yjvoice_serve_after_migrating_and_only_the_proxy_reaches_it():
    web = SERVICES["web"]
    command = " ".join(web["command"])
    assert command.index("yjvoice init") < command.index("yjvoice serve --host 0.0.0.0 --port 8000")
    assert "ports" not in web, "only the proxy is published"
    assert web["expose"] == ["8000"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "127.0.0.1:8000/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["build"] == "." and (ROOT / "Dockerfile").exists()
    env = web["environment"]
    assert env["TRUSTED_PROXIES"] == "1", "exactly one proxy (nginx) in front"
    assert env["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"


def test_serve_is_gunicorn_with_the_buffering_worker():
    from web import server

    argv = server.command("0.0.0.0", 8000)
    assert argv[1:3] == ["-m", "gunicorn"]
    assert "web.server.BufferingWorker" in argv and argv[-1] == "web:create_app()"


def test_proxy_is_nginx_with_the_repository_config_and_the_only_published_service():
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert proxy["ports"] == ["80:80", "443:443"]
    for volume in proxy["volumes"]:
        source, target, mode = volume.split(":")
        assert (ROOT / source).is_dir() and target.startswith("/etc/nginx/") and mode == "ro"
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    published = [name for name, svc in SERVICES.items() if "ports" in svc]
    assert published == ["proxy"]


def test_nginx_config_trusts_one_hop_and_caps_bodies_at_the_import_limit():
    from surveys.services.importer import MAX_IMPORT_BYTES
    from web import server
    from web.admin.imports import REQUEST_SLACK

    site = (ROOT / "deploy/nginx/conf.d/yjvoice.conf").read_text(encoding="utf-8")
    proxy = (ROOT / "deploy/nginx/snippets/yjvoice-proxy.conf").read_text(encoding="utf-8")
    assert "server web:8000;" in site and "include snippets/yjvoice-proxy.conf;" in site
    size = re.search(r"client_max_body_size (\d+)m;", proxy)
    assert size and int(size.group(1)) * 1024 * 1024 == MAX_IMPORT_BYTES + REQUEST_SLACK
    assert server.MAX_BODY_BYTES == MAX_IMPORT_BYTES + REQUEST_SLACK
    for directive in ("client_header_timeout", "client_body_timeout", "proxy_request_buffering on"):
        assert directive in proxy
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in proxy
    tls = (ROOT / "deploy/nginx/conf.d/tls.conf.example").read_text(encoding="utf-8")
    assert "listen 443 ssl;" in tls and "/etc/nginx/certs/fullchain.pem" in tls


def test_redis_keeps_nothing_on_disk_and_has_a_healthcheck():
    redis = SERVICES["redis"]
    assert redis["image"].startswith("redis:7")
    assert redis["command"] == ["redis-server", "--save", "", "--appendonly", "no"]
    assert "ping" in redis["healthcheck"]["test"]


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
    assert 'CMD ["yjvoice", "serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    assert text.startswith("#") and "FROM python:3.11" in text
    for pkg in ("surveys", "web", "bot", "sms", "yjvoice"):
        assert f"COPY {pkg} ./{pkg}" in text
    assert re.search(r"^USER (?!root)\w+", text, re.M)
