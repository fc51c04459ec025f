"""docker-compose.yml, the Dockerfile and the ormbench service's entry point checked without a
Docker engine: SQL Server 2022 set up as Microsoft documents it, `docker compose run --rm
ormbench` waiting for it and writing the report to a mounted folder, the image carrying ODBC
Driver 18 and the project's extras, and the entry point's URL built and run for real."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.targets.urls import parse_target

REPO = Path(__file__).parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ENTRY_POINT = REPO / "docker" / "ormbench-mssql"
SQLCMD = "/opt/mssql-tools18/bin/sqlcmd"
ENV_DEFAULT = re.compile(r"^\$\{(?P<name>\w+):-(?P<default>[^}]+)\}$")


def meets_sql_server_password_policy(password: str) -> bool:
    """SQL Server's rule for the SA password: at least 8 characters, from at least three of
    upper case, lower case, digits and symbols."""
    classes = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return len(password) >= 8 and sum(classes) >= 3


def memory_bytes(text: str | int) -> int:
    """Compose's byte values: 4g, 2048m, 2GB, or a number of bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", str(text).strip().lower())
    assert match, f"not a memory size: {text!r}"
    return int(float(match[1]) * 1024 ** "_kmg".index(match[2] or "_"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Continuation lines joined, so each instruction reads as one line.
    return DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "KEY=value" spelling
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command_text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else " ".join(value)


def sa_password_default(service: dict[str, Any]) -> str:
    match = ENV_DEFAULT.match(environment(service)["MSSQL_SA_PASSWORD"])
    assert match and match["name"] == "MSSQL_SA_PASSWORD", "the SA password comes from the env"
    return match["default"]


def free_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the password rule itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Ormbench_2022", True),
        ("Abcdefg1", True),  # three classes, 8 characters
        ("abcdef1!", True),
        ("Abc1!", False),  # too short
        ("abcdefgh1", False),  # two classes
        ("ABCDEFGH!", False),
    ],
)
def test_password_policy_rule(password: str, accepted: bool) -> None:
    assert meets_sql_server_password_policy(password) is accepted


# --- SQL Server --------------------------------------------------------------------------------


def test_sql_server_2022_with_the_eula_accepted(services: dict[str, Any]) -> None:
    mssql = services["mssql"]
    assert mssql["image"] == "mcr.microsoft.com/mssql/server:2022-latest"
    assert environment(mssql)["ACCEPT_EULA"] == "Y"


def test_sa_password_from_the_environment_with_a_policy_compliant_default(
    services: dict[str, Any],
) -> None:
    default = sa_password_default(services["mssql"])
    assert meets_sql_server_password_policy(default), default
    # Every service that logs in reads the same variable with the same default.
    for name in ("mssql-init", "ormbench"):
        assert sa_password_default(services[name]) == default, name
    # And the default is written once per service, not copied into commands.
    assert COMPOSE_FILE.read_text(encoding="utf-8").count(default) == 3


def test_healthcheck_logs_in_with_sqlcmd_trusting_the_certificate(
    services: dict[str, Any],
) -> None:
    check = services["mssql"]["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD-SHELL"
    words = shlex.split(test[1])
    assert words[0] == SQLCMD
    assert "-C" in words, "sqlcmd 18 encrypts by default: -C trusts the self-signed certificate"
    # $$ escapes Compose's interpolation: the container's shell supplies the password.
    assert words[words.index("-P") + 1] == "$$MSSQL_SA_PASSWORD"
    assert check["retries"] * int(str(check["interval"]).rstrip("s")) >= 60


def test_sql_server_has_memory(services: dict[str, Any]) -> None:
    mssql = services["mssql"]
    limit = mssql.get("mem_limit") or mssql["deploy"]["resources"]["limits"]["memory"]
    assert memory_bytes(limit) >= 2 * 1024**3, "SQL Server on Linux needs at least 2 GB"
    engine_limit_mb = int(environment(mssql)["MSSQL_MEMORY_LIMIT_MB"])
    assert engine_limit_mb >= 2048
    assert engine_limit_mb * 1024**2 < memory_bytes(limit), "leave the container headroom"


def test_published_ports_listen_on_loopback_only(services: dict[str, Any]) -> None:
    for name in ("mssql", "postgres", "mariadb"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_postgresql_and_mariadb_have_healthchecks(services: dict[str, Any]) -> None:
    assert "pg_isready" in command_text(services["postgres"]["healthcheck"]["test"])
    assert "healthcheck.sh" in command_text(services["mariadb"]["healthcheck"]["test"])


# --- docker compose run --rm ormbench ----------------------------------------------------------


def test_ormbench_waits_for_the_healthy_server_and_its_database(
    services: dict[str, Any],
) -> None:
    depends = services["ormbench"]["depends_on"]
    assert depends["mssql"]["condition"] == "service_healthy"
    assert depends["mssql-init"]["condition"] == "service_completed_successfully"
    assert services["mssql-init"]["depends_on"]["mssql"]["condition"] == "service_healthy"


def test_init_service_creates_the_database_ormbench_uses(services: dict[str, Any]) -> None:
    init = command_text(services["mssql-init"]["entrypoint"])
    database = environment(services["ormbench"])["MSSQL_DATABASE"]
    assert SQLCMD in init and " -C " in init
    assert f"IF DB_ID('{database}') IS NULL CREATE DATABASE {database}" in init
    assert "-S mssql " in init


def test_ormbench_is_built_here_and_targets_the_mssql_service(
    services: dict[str, Any], dockerfile: str
) -> None:
    ormbench = services["ormbench"]
    assert ormbench["build"] in (".", {"context": "."})
    env = environment(ormbench)
    assert env["MSSQL_HOST"] == "mssql" and env["MSSQL_HOST"] in services
    assert env["MSSQL_PORT"] == "1433"
    entry = ormbench["entrypoint"]
    assert command_text(entry) == "ormbench-mssql"
    assert "COPY docker/ormbench-mssql /usr/local/bin/ormbench-mssql" in dockerfile
    script = ENTRY_POINT.read_text(encoding="utf-8")
    assert "exec ormbench run" in script
    assert os.access(ENTRY_POINT, os.X_OK)


def test_report_folder_is_mounted_where_ormbench_writes(services: dict[str, Any]) -> None:
    ormbench = services["ormbench"]
    output = environment(ormbench)["ORMBENCH_OUTPUT"]
    mounts = [str(v).split(":") for v in ormbench["volumes"]]
    assert ["./ormbench-report", output] in [m[:2] for m in mounts]
    assert "ormbench-report/" in (REPO / ".gitignore").read_text(encoding="utf-8")


def run_entry_point(
    tmp_path: Path, env: dict[str, str], *args: str, fake_ormbench: bool
) -> subprocess.CompletedProcess[str]:
    """The entry point under `sh`, with this interpreter's `python` (and the real `ormbench`
    console script, or a stand-in that prints its arguments) first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").symlink_to(sys.executable)
    if fake_ormbench:
        stand_in = bin_dir / "ormbench"
        stand_in.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n', encoding="utf-8")
        stand_in.chmod(0o755)
    else:
        ormbench = Path(sys.executable).parent / "ormbench"
        assert ormbench.exists(), "the ormbench console script is installed beside python"
        (bin_dir / "ormbench").symlink_to(ormbench)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    return subprocess.run(
        ["sh", str(ENTRY_POINT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": path, "HOME": str(tmp_path), **env},
    )


@pytest.mark.parametrize(
    ("driver", "scheme"),
    [("pyodbc", "mssql+pyodbc"), ("mssqlpython", "mssql+mssqlpython")],
)
def test_entry_point_builds_the_service_url_with_the_password_encoded(
    tmp_path: Path, services: dict[str, Any], driver: str, scheme: str
) -> None:
    password = "Ab1@#/%:?x"  # policy-compliant, and every character a URL would trip on
    env = {**environment(services["ormbench"]), "MSSQL_SA_PASSWORD": password}
    env["ORMBENCH_MSSQL_DRIVER"] = driver
    done = run_entry_point(tmp_path, env, "--rows", "50", fake_ormbench=True)
    assert done.returncode == 0, done.stderr
    args = done.stdout.splitlines()
    assert args[0] == "run"
    url = args[args.index("--db") + 1]
    target = parse_target(url)
    assert target.password == password
    assert (target.url.host, target.url.port, target.database) == ("mssql", 1433, "ormbench")
    assert target.url.drivername == scheme
    assert target.options == {"TrustServerCertificate": "yes"}
    assert args[args.index("--output") + 1] == env["ORMBENCH_OUTPUT"]
    assert args[-2:] == ["--rows", "50"], "extra arguments go on to ormbench run"


def test_entry_point_refuses_to_run_without_a_password(tmp_path: Path) -> None:
    done = run_entry_point(tmp_path, {}, fake_ormbench=True)
    assert done.returncode != 0
    assert "MSSQL_SA_PASSWORD" in done.stderr
    assert done.stdout == ""


def test_entry_point_rejects_an_unknown_driver(tmp_path: Path) -> None:
    env = {"MSSQL_SA_PASSWORD": "Ormbench_2022", "ORMBENCH_MSSQL_DRIVER": "freetds"}
    done = run_entry_point(tmp_path, env, fake_ormbench=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("ormbench-mssql: error:")


def test_entry_point_with_no_server_ends_in_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    """The real `ormbench run` through the entry point, against a port nobody listens on."""
    password = "Secret_Pw_9137"
    env = {
        "MSSQL_SA_PASSWORD": password,
        "MSSQL_HOST": "127.0.0.1",
        "MSSQL_PORT": str(free_closed_port()),
        "ORMBENCH_MSSQL_DRIVER": "mssqlpython",
        "ORMBENCH_OUTPUT": str(tmp_path / "report"),
    }
    done = run_entry_point(tmp_path, env, "--connect-timeout", "2", fake_ormbench=False)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ormbench: error:")]
    assert len(errors) == 1, done.stderr
    assert f"127.0.0.1:{env['MSSQL_PORT']}" in errors[0]
    assert "Traceback" not in done.stderr
    assert password not in done.stdout + done.stderr


# --- the image ---------------------------------------------------------------------------------


def test_image_is_python_311_on_debian_bookworm(dockerfile: str) -> None:
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert base and base[1] == "python:3.11-slim-bookworm"


def test_image_installs_odbc_driver_18_the_documented_way(dockerfile: str) -> None:
    # Microsoft's repository, configured by its packages-microsoft-prod.deb (which carries the
    # microsoft.asc signing key) for this Debian release ...
    assert re.search(
        r"curl -sSL -O \"?https://packages\.microsoft\.com/config/debian/"
        r"\$\(grep VERSION_ID /etc/os-release .*\)/packages-microsoft-prod\.deb",
        dockerfile,
    )
    assert "dpkg -i packages-microsoft-prod.deb" in dockerfile
    # ... then the driver with its EULA accepted, and unixODBC for pyodbc.
    install = re.search(r"ACCEPT_EULA=Y apt-get install -y [^&]*", dockerfile)
    assert install, "msodbcsql18 needs ACCEPT_EULA=Y"
    packages = install[0].split()
    assert "msodbcsql18" in packages and "unixodbc" in packages
    assert dockerfile.index("dpkg -i packages-microsoft-prod.deb") < install.start()


def test_image_has_the_build_dependencies_of_mysqlclient(dockerfile: str) -> None:
    for package in ("gcc", "libmariadb-dev", "pkg-config"):
        assert re.search(rf"apt-get install [^&]*\b{re.escape(package)}\b", dockerfile), package


def test_image_can_count_instructions(dockerfile: str) -> None:
    """`--measure instructions` needs valgrind from the distribution and the extra that
    brings callgrind's client requests."""
    assert re.search(r"apt-get install [^&]*\bvalgrind\b", dockerfile)
    install = re.search(r"pip install '\.\[([\w,]+)\]'", dockerfile)
    assert install and "instructions" in install[1].split(",")


def test_image_installs_the_project_with_its_database_extras(dockerfile: str) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    install = re.search(r"pip install '\.\[([\w,]+)\]'", dockerfile)
    assert install, "the image installs this project, not a copy from an index"
    extras = install[1].split(",")
    assert {"mssql", "postgresql", "mysql"} <= set(extras)
    assert set(extras) <= set(pyproject["project"]["optional-dependencies"])
    # Every top-level package the distribution ships is copied into the build.
    copies = re.findall(r"^COPY (.+)$", dockerfile, re.M)
    copied = {source for line in copies for source in line.split()[:-1]}
    top_level = {p.split(".")[0] for p in pyproject["tool"]["setuptools"]["packages"]}
    assert top_level <= copied, top_level - copied
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied


def test_dockerignore_keeps_what_the_build_copies() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("pyproject.toml", "README.md", "harness", "backends", "scenarios", "reports"):
        assert needed not in ignored, needed
    assert "docker" not in ignored
    assert {".git", ".venv", "ormbench-report"} <= ignored


# --- Compose itself, where the plugin is installed ---------------------------------------------


def test_docker_compose_accepts_the_file() -> None:
    """`docker compose config` reads and validates the file without a Docker engine."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60
    )
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
