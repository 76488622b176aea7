"""Hardening, second round (issue 14): non-regular files, bounded reads, outputs, overwrites,
the manifest, the environment, standard streams, terminal injection and signals.

Every test here failed on the code before issue 14 (see the commit that added it), except
where a comment says it guards behaviour that already held.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import default_library_dir, library_hash, load_library

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0
GOOD = {"name": "Good", "answers": {LIB.statements[0].id: 4}}


def _cruxfit(*args):
    return [sys.executable, "-c", "from cruxfit.cli import entry; entry()", *args]


def _null_device(path: Path) -> Path:
    """A character device node with /dev/null's numbers, made in a scratch folder (root only)."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


def _errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("Error: ")]


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_report_refuses_an_output_that_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "out.pdf"
    if kind == "fifo":
        os.mkfifo(target)
        words = "a FIFO (named pipe)"
    else:
        if not ROOT_USER:
            pytest.skip("making a device node needs root")
        _null_device(target)
        words = "a character device"
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-o", str(target)])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [
        f"Error: {target}: is {words}, not a regular file; outputs are written only to regular "
        "files (or '-' for standard output)"]
    assert "Analysing" not in res.stderr  # refused before any work
    mode = os.lstat(target).st_mode
    assert (stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode))  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf"]


def test_save_posterior_onto_a_fifo_or_into_a_missing_folder_is_refused_before_sampling(tmp_path):
    fifo = tmp_path / "post.nc"
    os.mkfifo(fifo)
    out = tmp_path / "r.json"
    for target, message in [
        (fifo, f"Error: {fifo}: is a FIFO (named pipe), not a regular file; outputs are written "
               "only to regular files (or '-' for standard output)"),
        (tmp_path / "missing" / "p.nc", f"Error: {tmp_path / 'missing'}: the output folder does "
                                        "not exist; create it or choose another"),
    ]:
        res = CliRunner().invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-o", str(out),
                                        "--save-posterior", str(target)])
        assert res.exit_code == 2
        assert _errors(res.stderr) == [message]
        assert "Analysing" not in res.stderr
        assert not out.exists()  # the report is not written first and the posterior refused later


def test_write_atomic_never_replaces_a_fifo(tmp_path):
    from cruxfit.reports.files import OutputPathError, write_atomic

    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="is a FIFO"):
        write_atomic(fifo, b"{}")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary file left


def test_an_output_name_too_long_is_refused_before_any_work(tmp_path):
    target = tmp_path / ("r" * 300 + ".pdf")
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-o", str(target)])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [
        f"Error: {target}: the path is too long for this system (a name of 304 bytes; the limit "
        "is usually 255 bytes per name)"]
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------------- overwrites


def _fake_run(monkeypatch):
    """Skip sampling and rendering: these tests are about where the output goes."""
    import cruxfit.pipeline.report as report
    import cruxfit.pipeline.run as run

    verdict = {"label": "fits", "p_best": 0.5, "p_top3": 0.9, "converged": True}
    monkeypatch.setattr(run, "run_any", lambda lib, prof, seed, say=None: ({"verdict": verdict}, None))
    monkeypatch.setattr(report, "render",
                        lambda result, fmt, audience="individual", **kw: b'{"cruxfit": true}\n')


def test_a_default_report_name_never_replaces_someone_elses_file(tmp_path, monkeypatch):
    _fake_run(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "package.json").write_text('{"name": "my-app"}\n')
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"name": "Package", "answers": {}}))
    res = CliRunner().invoke(main, ["report", str(profile), "-f", "json"])
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "package.json").read_text() == '{"name": "my-app"}\n'
    assert (tmp_path / "package-2.json").read_text() == '{"cruxfit": true}\n'
    assert ("Note: package.json already exists and is left alone; writing package-2.json instead "
            "(give -o package.json to replace it).") in res.stderr
    # Two people with the same name: the second report does not replace the first either.
    res = CliRunner().invoke(main, ["report", str(profile), "-f", "json"])
    assert (tmp_path / "package-3.json").exists()
    # Named with -o, the file is replaced: the user asked for it.
    res = CliRunner().invoke(main, ["report", str(profile), "-f", "json", "-o", "package.json"])
    assert res.exit_code == 0
    assert (tmp_path / "package.json").read_text() == '{"cruxfit": true}\n'


def test_batch_refuses_summary_files_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("my own spreadsheet\n")
    res = CliRunner().invoke(main, ["batch", str(ROOT / "data/mixed.yaml"), "-o", str(out)])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [
        f"Error: {out / 'summary.csv'}: exists, but {out} holds no cruxfit batch (.cruxfit-batch.json "
        "is missing), so it was not written by cruxfit; choose another folder, or move the file away"]
    assert (out / "summary.csv").read_text() == "my own spreadsheet\n"


def test_batch_gives_a_report_a_free_name_beside_a_foreign_file():
    from cruxfit.pipeline.batch import plan

    # Called with the stems of files that no batch wrote (what run_batch passes as avoid).
    jobs, _ = plan(LIB, [ROOT / "data/mixed.yaml"], rows_are_applicants=False, formats=("json",),
                   seed=0, audience="grantmaker", avoid={"mika-mixed"})
    assert [j.stem for j in jobs] == ["mika-mixed-2"]


# --------------------------------------------------------------------------- the manifest


def test_manifest_path_that_is_a_folder_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    (out / ".cruxfit-batch.json").mkdir(parents=True)
    res = CliRunner().invoke(main, ["batch", str(ROOT / "data/mixed.yaml"), "-o", str(out)])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [f"Error: {out / '.cruxfit-batch.json'}: is a folder; give a file name"]
    assert "Traceback" not in res.stderr + res.output


def test_two_batches_writing_into_one_folder_keep_each_others_manifest_entries(tmp_path):
    from cruxfit.pipeline.batch import load_manifest, save_manifest

    # Both runs read the (empty) manifest at their start; each then records its own report.
    run_a, run_b = load_manifest(tmp_path), load_manifest(tmp_path)
    run_b["reports"]["bea"] = {"key": "b", "row": {}, "source": "bea.yaml"}
    save_manifest(tmp_path, run_b)
    run_a["reports"]["ada"] = {"key": "a", "row": {}, "source": "ada.yaml"}
    save_manifest(tmp_path, run_a)
    assert set(load_manifest(tmp_path)["reports"]) == {"ada", "bea"}


# --------------------------------------------------------------------------- inputs


def test_a_fifo_profile_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    res = subprocess.run(_cruxfit("validate", str(fifo)), capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert _errors(res.stderr) == [
        f"Error: {fifo}: is a FIFO (named pipe), not a regular file; cruxfit reads only regular files"]


def test_a_link_to_dev_zero_is_refused_without_reading_it(tmp_path):
    link = tmp_path / "p.yaml"
    link.symlink_to("/dev/zero")
    res = subprocess.run(_cruxfit("validate", str(link), str(ROOT / "data/mixed.yaml")),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert _errors(res.stderr) == [
        f"Error: {link}: is a character device, not a regular file; cruxfit reads only regular files"]
    assert "mixed.yaml: ok" in res.stdout  # validate went on to the next file


class _OsProxy:
    """Stands in for the os module inside one cruxfit module (never patch os itself)."""

    def __init__(self, **overrides):
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(os, name)


def test_reading_is_bounded_whatever_the_size_says(monkeypatch):
    """/proc files say they hold 0 bytes and hold more: at most limit+1 bytes are read."""
    from cruxfit.cruxes import loading

    asked = []

    def read(fd, n):
        asked.append(n)
        return os.read(fd, n)

    monkeypatch.setattr(loading, "MAX_INPUT_BYTES", 100)
    monkeypatch.setattr(loading, "os", _OsProxy(read=read))
    path = "/proc/self/maps"
    assert os.stat(path).st_size == 0
    with pytest.raises(InputError) as info:
        loading.read_text(path)  # what profiles, CSVs, library files and progress files use
    assert str(info.value) == f"{path}: holds more than 100 bytes; the limit is 100 bytes"
    assert sum(asked) <= 101


def test_the_library_fingerprint_does_not_read_a_huge_file_whole(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(default_library_dir(), lib, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with open(lib / "fit.yaml", "wb") as fh:  # a sparse 200 MB file: no disk, but a huge read
        fh.truncate(200 * 1024 * 1024)
    tracemalloc.start()
    try:
        library_hash(lib)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    res = CliRunner().invoke(main, ["--library", str(lib), "questions"])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [f"Error: {lib / 'fit.yaml'}: is 209,715,200 bytes; the limit is "
                                   "5,242,880 bytes"]


@pytest.mark.parametrize("fname", ["statements.yaml", "model.yaml"])
def test_a_library_file_that_is_not_a_mapping_gives_one_line(tmp_path, fname):
    lib = tmp_path / "lib"
    shutil.copytree(default_library_dir(), lib, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (lib / fname).write_text("- just\n- a list\n")
    res = CliRunner().invoke(main, ["--library", str(lib), "questions"])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"Error: {lib / fname}: (top level): must be a mapping of keys to values, not a list"]


def test_a_fifo_in_the_library_is_refused_without_hanging(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(default_library_dir(), lib, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (lib / "fit.yaml").unlink()
    os.mkfifo(lib / "fit.yaml")
    res = subprocess.run(_cruxfit("--library", str(lib), "questions"), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    assert _errors(res.stderr) == [f"Error: {lib / 'fit.yaml'}: is a FIFO (named pipe), not a "
                                   "regular file; cruxfit reads only regular files"]


def test_a_fifo_progress_file_is_refused_without_hanging(tmp_path):
    out = tmp_path / "me.yaml"
    os.mkfifo(tmp_path / "me.yaml.progress.yaml")
    res = subprocess.run(_cruxfit("assess", "-o", str(out), "--resume"), input="", capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    assert _errors(res.stderr) == [f"Error: {out}.progress.yaml: is a FIFO (named pipe), not a "
                                   "regular file; cruxfit reads only regular files"]


def test_a_path_too_long_or_unreadable_is_one_line_and_validate_goes_on(tmp_path, monkeypatch):
    from cruxfit.cruxes import loading

    long_name = tmp_path / ("p" * 300 + ".yaml")
    locked = tmp_path / "locked" / "p.yaml"

    def stat_(path, *a, **k):  # as root a folder cannot be made unreadable: say what it would
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return os.stat(path, *a, **k)

    monkeypatch.setattr(loading, "os", _OsProxy(stat=stat_))
    res = CliRunner().invoke(main, ["validate", str(long_name), str(locked), str(ROOT / "data/mixed.yaml")])
    assert res.exit_code == 2
    assert _errors(res.stderr) == [
        f"Error: {long_name}: the path is too long for this system (a name of 305 bytes; the limit "
        "is usually 255 bytes per name)",
        f"Error: {locked}: cannot be read (permission denied on the file or a folder above it)"]
    assert "mixed.yaml: ok" in res.stdout


# --------------------------------------------------------------------------- batch folders


def test_batch_folder_reports_links_fifos_and_devices_and_does_not_echo_linked_content(tmp_path):
    from cruxfit.pipeline.batch import plan

    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-TOKEN-1234:0:0\n")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(GOOD))
    (folder / "link.yaml").symlink_to(secret)
    os.mkfifo(folder / "pipe.yaml")
    if ROOT_USER:
        _null_device(folder / "dev.json")
    jobs, _ = plan(LIB, [folder], rows_are_applicants=False, formats=("json",), seed=0,
                   audience="grantmaker")
    by_source = {Path(j.source).name: j for j in jobs}
    assert by_source["good.json"].status == "pending"
    assert [str(p) for p in by_source["link.yaml"].problems] == [
        f"{folder / 'link.yaml'}: is a symbolic link; batch folders do not follow links (name the "
        "file itself on the command line to use it)"]
    assert [str(p) for p in by_source["pipe.yaml"].problems] == [
        f"{folder / 'pipe.yaml'}: is a FIFO (named pipe), not a regular file; cruxfit reads only "
        "regular files"]
    if ROOT_USER:
        assert [str(p) for p in by_source["dev.json"].problems] == [
            f"{folder / 'dev.json'}: is a character device, not a regular file; cruxfit reads only "
            "regular files"]
    assert not any("SECRET" in str(p) for j in jobs for p in j.problems)


def test_batch_planning_contains_an_unexpected_failure_to_its_item(tmp_path, monkeypatch):
    import cruxfit.pipeline.report as report_mod  # where the batch's reader looks it up

    real = report_mod.load_profile

    def load(path, library):
        if Path(path).name == "bad.json":
            raise RuntimeError("boom")
        return real(path, library)

    monkeypatch.setattr(report_mod, "load_profile", load)
    from cruxfit.pipeline.batch import plan

    (tmp_path / "bad.json").write_text(json.dumps(GOOD))
    (tmp_path / "good.json").write_text(json.dumps({**GOOD, "name": "Other"}))
    jobs, _ = plan(LIB, [tmp_path], rows_are_applicants=False, formats=("json",), seed=0,
                   audience="grantmaker")
    assert [(Path(j.source).name, j.status) for j in jobs] == [("bad.json", "failed"), ("good.json", "pending")]
    assert jobs[0].problems[0].message == ("unexpected failure (RuntimeError: boom); this is a bug in "
                                           "cruxfit, please report it; the other inputs went on")


def test_batch_with_a_long_name_reports_it_and_goes_on(tmp_path):
    from cruxfit.pipeline.batch import plan

    long_name = tmp_path / ("q" * 300 + ".json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    jobs, _ = plan(LIB, [long_name, good], rows_are_applicants=False, formats=("json",), seed=0,
                   audience="grantmaker")
    assert [j.status for j in jobs] == ["failed", "pending"]
    assert "the path is too long for this system" in jobs[0].problems[0].message


# --------------------------------------------------------------------------- terminal injection


def test_control_characters_are_never_printed_raw(tmp_path):
    evil = tmp_path / "a\x1b]0;pwned\x07.yaml"
    evil.write_text('name: "B\\e[2J"\nanswers: {}\n')
    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump({"name": "Zo\u202eeb", "answers": {}}))
    res = CliRunner().invoke(main, ["validate", str(evil), str(ok)])
    assert res.exit_code == 2
    everything = res.stdout + res.stderr
    assert "\x1b" not in everything and "\x07" not in everything and "\u202e" not in everything
    assert f"Error: {tmp_path}/a\\x1b]0;pwned\\x07.yaml: name: contains a control character" in res.stderr
    assert "Zo\\u202eeb" in res.stdout


def test_batch_progress_lines_escape_control_characters(tmp_path):
    bad = tmp_path / "x\x1b[2J.json"
    bad.write_text("{not json")
    res = CliRunner().invoke(main, ["batch", str(bad), "-o", str(tmp_path / "out"), "-f", "json"])
    assert res.exit_code == 2
    assert "\x1b" not in res.stderr
    assert "x\\x1b[2J.json" in res.stderr


def test_a_rejected_huge_line_is_not_echoed_in_full(tmp_path):
    out = tmp_path / "me.yaml"
    line = "9" * 2_000_000
    res = subprocess.run(_cruxfit("assess", "-o", str(out)), input=f"Ada\n{line}\nq\n",
                         capture_output=True, text=True, timeout=120)
    # Piped input: an invalid line stops the run with exit 2 (issue 16), quoting a short part.
    assert res.returncode == 2, res.stderr
    assert "standard input: line 2, question 1 of" in res.stderr
    assert len(res.stdout) + len(res.stderr) < 100_000
    assert line[:1000] not in res.stdout + res.stderr


def test_many_unknown_keys_are_capped_with_a_count(tmp_path):
    path = tmp_path / "p.json"
    data = {"name": "A", "answers": {}, **{f"k{i}": 1 for i in range(5000)}}
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    lines = _errors(res.stderr)
    assert len(lines) == 101
    assert lines[-1] == f"Error: {path}: and 4,900 more problems not listed"


# --------------------------------------------------------------------------- standard streams


@pytest.mark.parametrize("argv", [["template"], ["schema"], ["validate", str(ROOT / "data/mixed.yaml")]])
def test_a_full_standard_output_is_named_as_such(argv):
    with open("/dev/full", "w") as full:
        res = subprocess.run(_cruxfit(*argv), stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "Error: standard output: cannot write (No space left on device); nothing more was written there"]


def test_assess_with_standard_input_closed(tmp_path):
    res = subprocess.run(["bash", "-c", 'exec "$@" <&-', "bash",
                          *_cruxfit("assess", "-o", str(tmp_path / "me.yaml"))],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "Error: standard input: is closed; run assess in a terminal, or pipe the answers in "
        "(see `cruxfit assess --help`)"]


# --------------------------------------------------------------------------- the environment


def test_an_unusable_home_falls_back_to_a_private_cache_folder(tmp_path):
    from cruxfit.pipeline.environment import prepare_environment

    env = {"HOME": "/dev/null", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    notes = prepare_environment(env)
    target = tmp_path / "cache" / "cruxfit" / "pytensor"
    assert notes == [f"HOME (/dev/null) cannot be written; compiling into {target} instead (set "
                     "HOME or PYTENSOR_FLAGS=base_compiledir=<folder> to choose)."]
    assert env["PYTENSOR_FLAGS"] == f"base_compiledir={target}"
    assert env["MPLCONFIGDIR"].startswith(str(tmp_path / "cache"))


def test_a_read_only_compile_folder_falls_back_too(tmp_path):
    from cruxfit.pipeline.environment import prepare_environment

    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTENSOR_FLAGS": "floatX=float64,base_compiledir=/proc/cruxfit-cannot-be-here"}
    notes = prepare_environment(env)
    target = tmp_path / "cache" / "cruxfit" / "pytensor"
    assert notes == ["PYTENSOR_FLAGS sets base_compiledir=/proc/cruxfit-cannot-be-here, which cannot "
                     f"be written; compiling into {target} instead."]
    assert env["PYTENSOR_FLAGS"].endswith(f",base_compiledir={target}")


def test_a_usable_home_is_left_alone(tmp_path):
    from cruxfit.pipeline.environment import prepare_environment

    env = {"HOME": str(tmp_path)}
    assert prepare_environment(env) == []
    assert env == {"HOME": str(tmp_path)}


@pytest.mark.heavy  # three fresh processes importing PyTensor
def test_each_family_compiles_into_a_folder_of_its_own(tmp_path):
    """A single report's compile folder holds only its own kind of model (start-up cost)."""
    import subprocess as sp
    import sys

    from cruxfit.pipeline.environment import prepare_environment

    seen = set()
    for family in ("individual", "organisation", "batch"):
        env = {"HOME": str(tmp_path), "PYTENSOR_FLAGS": "floatX=float64"}
        assert prepare_environment(env, family=family) == []
        assert env["PYTENSOR_FLAGS"].startswith("floatX=float64,compiledir_format=compiledir_")
        # What PyTensor itself makes of the flags, in a fresh process.
        folder = sp.run([sys.executable, "-c", "from pytensor import config; print(config.compiledir)"],
                        env={**os.environ, **env}, capture_output=True, text=True,
                        check=True).stdout.strip()
        assert folder.startswith(str(tmp_path / ".pytensor" / "compiledir_"))
        assert folder.endswith(f"-cruxfit-{family}")
        seen.add(folder)
    assert len(seen) == 3


@pytest.mark.parametrize("flags", ["compiledir={tmp}/mine", "compiledir_format=mine"])
def test_a_compile_folder_the_user_chose_is_not_split_into_families(tmp_path, flags):
    from cruxfit.pipeline.environment import prepare_environment

    flags = flags.format(tmp=tmp_path)
    env = {"HOME": str(tmp_path), "PYTENSOR_FLAGS": flags}
    prepare_environment(env, family="individual")
    assert env["PYTENSOR_FLAGS"] == flags


@pytest.mark.slow
def test_report_runs_with_home_pointing_at_a_file(tmp_path):
    out = tmp_path / "r.json"
    env = {**os.environ, "HOME": "/dev/null", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("MPLCONFIGDIR", None)
    env.pop("PYTENSOR_FLAGS", None)
    res = subprocess.run(_cruxfit("report", str(ROOT / "data/mixed.yaml"), "-o", str(out)),
                         capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr
    assert "Note: HOME (/dev/null) cannot be written; compiling into" in res.stderr
    assert json.loads(out.read_text())["verdict"]["label"]


# --------------------------------------------------------------------------- signals


def _children(pid: int) -> set[int]:
    """Every descendant of pid (from /proc), so that a test can check none survives."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                continue
            for k in kids:
                if k not in found:
                    found.add(k)
                    todo.append(k)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("sig,code,name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_a_signal_during_a_report_stops_it_like_ctrl_c(tmp_path, sig, code, name):
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cruxfit("report", str(ROOT / "data/mixed.yaml"), "-f", "json", "-o", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr.readline().startswith("Analysing")  # the work has started
    time.sleep(2.0)
    assert proc.poll() is None, "the report finished before the signal: the test proves nothing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines()[-1] == f"Interrupted ({name}); no output was written."
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_sigterm_to_a_batch_stops_its_workers_in_the_middle_and_keeps_the_manifest_whole(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    n = 8
    for i in range(n):
        (inputs / f"p{i}.json").write_text(json.dumps(
            {"name": f"Applicant {i}", "answers": {LIB.statements[0].id: 1 + i % 7}}))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # PDF too: rendering is slow enough that the workers are busy when the signal comes.
    # A session of its own, so that whatever is left can be cleaned up even if the test fails
    # (before issue 14 the workers outlived the batch and held its standard error open).
    proc = subprocess.Popen(_cruxfit("batch", str(inputs), "-o", str(out), "-f", "pdf,json", "-j", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        lines = []
        for line in proc.stderr:  # wait for the first finished report
            lines.append(line)
            if line.startswith("[1] "):
                break
        assert proc.poll() is None, "the batch finished before the signal: the test proves nothing"
        workers = _children(proc.pid)
        assert workers, "no render workers were running"
        proc.send_signal(signal.SIGTERM)  # to the main process only, as `kill PID` does
        _, rest = proc.communicate(timeout=120)
        time.sleep(1)
        survivors = [p for p in workers if _alive(p)]  # looked at before the clean-up below
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    err = "".join(lines) + rest
    assert proc.returncode == 143, err
    stop_lines = [ln for ln in err.splitlines() if ln.startswith("Interrupted")]
    assert len(stop_lines) == 1 and "(SIGTERM): the render workers are stopped;" in stop_lines[0]
    assert "Traceback" not in err and "FAILED" not in err
    assert not survivors, "render workers outlived the batch"
    manifest = json.loads((out / ".cruxfit-batch.json").read_text())
    # Names are claimed (key null) before rendering; finished reports carry their key.
    recorded = {stem: e for stem, e in manifest["reports"].items() if e["key"]}
    assert 1 <= len(recorded) < n  # stopped in the middle
    assert f"stopped; {len(recorded)} of {n} report(s) finished and recorded" in stop_lines[0]
    for stem in recorded:  # every recorded report is there and whole
        json.loads((out / f"{stem}.json").read_text())
        assert (out / f"{stem}.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    assert not list(out.glob(".*.part"))
    assert not (out / "summary.json").exists()
    # Nothing is written after the exit (the workers are gone, not finishing quietly).
    before = sorted(p.name for p in out.iterdir())
    time.sleep(3)
    assert sorted(p.name for p in out.iterdir()) == before


def test_sigterm_during_assess_keeps_progress_and_exits_143(tmp_path):
    out = tmp_path / "me.yaml"
    progress = tmp_path / "me.yaml.progress.yaml"
    proc = subprocess.Popen(_cruxfit("assess", "-o", str(out)), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("Ada\n4\n")  # a name and one answer; the questionnaire then waits
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while not progress.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert progress.exists(), "no progress was saved: the test proves nothing"
        time.sleep(0.5)
        assert proc.poll() is None  # still waiting for the next answer: in the middle
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "Interrupted; progress saved to" in err
    assert not out.exists()
    saved = yaml.safe_load(progress.read_text())
    assert saved["name"] == "Ada" and len(saved["answers"]) == 1
