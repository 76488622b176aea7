"""Many profiles at once: shared sampling, parallel rendering, a summary, and no lost work.

A grantmaker's run is planned first (:func:`plan`): every input is read, bad ones become
failures with their reasons, and every good one gets a distinct, safe output name and a
cache key (its content, the options, the crux library and cruxfit's version). Jobs whose
outputs exist with the same key are skipped. Individuals are sampled together, a chunk of
respondents stacked into one model (they are independent, so the joint posterior is the
product of theirs); each respondent's own R-hat and ESS are checked, and those who fall short
- or everyone in a chunk that had a divergence - are sampled again together with twice the
draws, then alone with the usual retry if they still fall short.
Organisations are sampled one by one. Rendering runs in a process pool while sampling goes
on. Every file is written atomically and the manifest is updated after each report, so a
killed run loses at most the reports in flight and a re-run finishes the rest.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from cruxfit.cruxes.csvinput import read_rows
from cruxfit.cruxes.errors import InputError, Problem, terminal_safe
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.loading import file_kind, path_problem, read_bytes_bounded
from cruxfit.cruxes.version import cruxfit_version
from cruxfit.pipeline.report import FORM_SUFFIXES, load_subject, render, write
from cruxfit.reports.files import (
    OutputError,
    OutputPathError,
    check_output_path,
    safe_stem,
    write_atomic_text,
)
from cruxfit.reports.summary import summary_pdf, write_summary

MANIFEST = ".cruxfit-batch.json"
SUMMARY_NAMES = ("summary.pdf", "summary.csv", "summary.json")
PROFILE_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".xlsx")
#: Respondents per stacked sampling run. With the closed-form likelihood, on 2 cores: 100 took
#: 7.3 s (0.073 s each), 50 took 4.5 s (0.090 s each), one alone 4.8 s.
CHUNK = 100


@dataclass
class Job:
    source: str
    subject: object | None = None
    problems: list[Problem] = field(default_factory=list)
    stem: str = ""
    key: str = ""
    status: str = "pending"  # pending, skipped, done, failed, inconclusive
    row: dict = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return getattr(self.subject, "name", None) or Path(self.source).name


def _failed(path: Path | str, message: str) -> Job:
    return Job(str(path), problems=[Problem(str(path), "", message)], status="failed")


def _walk(folder: Path, files: list[Path], failures: list[Job]) -> None:
    """Profile files under folder, recursively, without following symbolic links.

    A link inside a folder could point anywhere (a system file, a device, a folder above), so
    links are reported rather than read; name a linked file on the command line to use it.
    FIFOs, devices and sockets with a profile suffix, unreadable folders and names too long
    for the system are reported too: nothing is skipped without a word.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        failures.append(Job(str(folder), problems=[path_problem(str(folder), exc)], status="failed"))
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        try:
            st = os.lstat(path)
        except OSError as exc:
            failures.append(Job(str(path), problems=[path_problem(str(path), exc)], status="failed"))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(path, files, failures)
        elif path.suffix.lower() not in PROFILE_SUFFIXES:
            continue
        elif stat.S_ISLNK(st.st_mode):
            failures.append(_failed(path, "is a symbolic link; batch folders do not follow links "
                                          "(name the file itself on the command line to use it)"))
        elif not stat.S_ISREG(st.st_mode):
            failures.append(_failed(path, f"is {file_kind(st.st_mode)}, not a regular file; "
                                          "cruxfit reads only regular files"))
        else:
            files.append(path)


def expand_inputs(inputs: Iterable[Path]) -> tuple[list[Path], list[Job]]:
    """Files from files and folders (recursively, profile suffixes only), in a stable order.

    Files named on the command line are used as given (a link is followed: you named it);
    inside folders, links are reported, not followed (see :func:`_walk`).
    """
    files: list[Path] = []
    failures: list[Job] = []
    for item in inputs:
        p = Path(item)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            failures.append(_failed(p, "no such file or folder"))
            continue
        except OSError as exc:
            failures.append(Job(str(p), problems=[path_problem(str(p), exc)], status="failed"))
            continue
        if stat.S_ISDIR(st.st_mode):
            before = len(files) + len(failures)
            _walk(p, files, failures)
            if len(files) + len(failures) == before:
                failures.append(_failed(p, "is a folder with no .yaml, .yml, .json, .csv or .xlsx files"))
        else:
            files.append(p)  # read_text refuses FIFOs and devices with one line
    seen, unique = set(), []
    for f in files:
        try:
            r = f.resolve()
        except OSError:
            r = f
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique, failures


def subject_hash(subject) -> str:
    data = json.dumps(subject.to_data(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def unexpected(exc: BaseException) -> str:
    return (f"unexpected failure ({type(exc).__name__}: {terminal_safe(str(exc), 200)}); this is "
            "a bug in cruxfit, please report it; the other inputs went on")


def plan(library: Library, inputs: Iterable[Path], *, rows_are_applicants: bool, formats: tuple[str, ...],
         seed: int, audience: str, form_layout: str = "auto",
         avoid: Iterable[str] = ()) -> tuple[list[Job], list[str]]:
    """Read every input; return jobs (failures included) and warnings.

    ``avoid``: stems whose files in the output folder cruxfit did not write; they are never
    given to a report, so nothing of someone else's is replaced.
    """
    files, jobs = expand_inputs(inputs)
    warnings: list[str] = []
    for f in files:
        try:
            if f.suffix.lower() in FORM_SUFFIXES and rows_are_applicants:
                profiles, w, _ = read_rows(f, library, form_layout)
                warnings.extend(w)
                jobs.extend(Job(p.source, subject=p) for p in profiles)
            else:
                subject = load_subject(library, f, form_layout)
                warnings.extend(getattr(subject, "warnings", ()))
                jobs.append(Job(str(f), subject=subject))
        except InputError as exc:
            jobs.append(Job(str(f), problems=exc.problems, status="failed"))
        except Exception as exc:  # noqa: BLE001 - one input's bug must not sink the batch
            jobs.append(_failed(f, unexpected(exc)))
    options = {"formats": sorted(formats), "seed": seed, "audience": audience,
               "library": library.sha256, "cruxfit": cruxfit_version()}
    taken: dict[str, int] = {n.split(".")[0]: 1 for n in SUMMARY_NAMES}
    taken.update({stem: 1 for stem in avoid})
    for job in jobs:
        if job.subject is None:
            continue
        base = safe_stem(job.subject.name, default="profile")
        stem = base
        while stem in taken:
            taken[base] = taken.get(base, 1) + 1
            stem = f"{base}-{taken[base]}"
        taken[stem] = 1
        job.stem = stem
        job.key = hashlib.sha256(json.dumps(
            {"subject": subject_hash(job.subject), **options}, sort_keys=True).encode()).hexdigest()
    return jobs, warnings


def load_manifest(outdir: Path) -> dict:
    p = outdir / MANIFEST
    try:
        data = json.loads(read_bytes_bounded(p, limit=64 * 1024 * 1024).decode("utf-8"))
        if isinstance(data, dict) and data.get("version") == 1 and isinstance(data.get("reports"), dict):
            return data
    except (InputError, ValueError):
        pass
    # Missing, corrupt or foreign: start afresh (never trust it).
    return {"version": 1, "reports": {}}


def check_outdir(outdir: Path) -> None:
    """Before any work: the manifest and summary paths are usable, and nothing there that
    cruxfit did not write would be replaced. Raises OutputPathError (exit 2)."""
    check_output_path(outdir / MANIFEST)
    is_batch_folder = (outdir / MANIFEST).is_file()
    for name in SUMMARY_NAMES:
        check_output_path(outdir / name)
        if not is_batch_folder and (outdir / name).exists():
            raise OutputPathError(f"{outdir / name}: exists, but {outdir} holds no cruxfit batch "
                                  f"({MANIFEST} is missing), so it was not written by cruxfit; "
                                  "choose another folder, or move the file away")


@contextmanager
def _locked(outdir: Path):
    """Hold an exclusive lock on the output folder itself (no lock file is left behind), so
    that two batches writing into one folder update the manifest one at a time."""
    fd = os.open(outdir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def save_manifest(outdir: Path, manifest: dict) -> None:
    """Merge this run's entries into the manifest on disk and write it atomically.

    Another batch may be writing into the same folder: its entries, read back under the
    lock, are kept, so neither run drops the other's reports.
    """
    outdir = Path(outdir)
    with _locked(outdir):
        merged = load_manifest(outdir)
        merged["reports"].update(manifest["reports"])
        write_atomic_text(outdir / MANIFEST, json.dumps(merged, indent=1, sort_keys=True))


def mark_skips(jobs: list[Job], outdir: Path, manifest: dict, formats: tuple[str, ...], force: bool) -> None:
    for job in jobs:
        if job.status != "pending" or force:
            continue
        entry = manifest["reports"].get(job.stem)
        files = [outdir / f"{job.stem}.{fmt}" for fmt in formats]
        if entry and entry.get("key") == job.key and all(f.is_file() for f in files):
            job.status = "skipped"
            job.row = dict(entry.get("row") or {})
            job.outputs = [f.name for f in files]


# --------------------------------------------------------------------------- sampling


def analyse_individuals(library: Library, jobs: list[Job], seed: int, *, chunk: int = CHUNK,
                        on_result: Callable[[Job, dict], None],
                        say: Callable[[str], None] | None = None,
                        on_error: Callable[[Job, BaseException], None] | None = None) -> None:
    """Sample individuals in stacked chunks and call on_result(job, result) for each.

    Respondents who miss the convergence bar in their chunk (their own R-hat or ESS, or any
    divergence in the chunk) are sampled again together, stacked, with twice the tuning and
    draws; whoever still misses it is run alone with the usual retry, and is reported
    inconclusive if that fails too.
    """
    # The model stays out of this module's imports: render workers import it too.
    from cruxfit.pipeline.run import run_analysis

    say = say or (lambda m: None)
    s = library.settings

    def stacked(group: list[Job], seed_: int, draws: int, tune: int) -> list[Job]:
        if on_error is None:
            return _stacked(library, group, seed_, draws, tune, on_result)
        try:
            return _stacked(library, group, seed_, draws, tune, on_result, on_error)
        except Exception as exc:  # noqa: BLE001 - the shared run failed: each alone, below
            say(f"A shared sampling run failed ({type(exc).__name__}); sampling its "
                f"{len(group)} profile(s) one by one.")
            return list(group)

    redo: list[Job] = []
    for start in range(0, len(jobs), chunk):
        redo += stacked(jobs[start:start + chunk], seed, s.draws, s.tune)
    if redo:
        say(f"{len(redo)} profile(s) missed the convergence bar in the shared run; sampling them "
            "again with twice the draws.")
        redo = stacked(redo, seed + 1, 2 * s.draws, 2 * s.tune)
    for job in redo:
        say(f"{job.name}: sampling alone.")
        try:
            result, _ = run_analysis(library, job.subject, seed)
        except Exception as exc:  # noqa: BLE001 - contained to this profile
            if on_error is None:
                raise
            on_error(job, exc)
            continue
        on_result(job, result)


def _stacked(library: Library, group: list[Job], seed: int, draws: int, tune: int,
             on_result: Callable[[Job, dict], None],
             on_error: Callable[[Job, BaseException], None] | None = None) -> list[Job]:
    """One stacked sampling run; returns the jobs that missed the bar."""
    from cruxfit.models.analysis import evaluate
    from cruxfit.models.inference import Diagnostics, check_convergence, sample
    from cruxfit.pipeline.run import complete, stamped

    t0 = time.perf_counter()
    post = sample(library, [j.subject for j in group], seed, draws=draws, tune=tune, retry=False,
                  cores=2 if len(group) > 1 else 1, diagnose=False)
    t_sample = time.perf_counter() - t0
    if post.diagnostics.divergences > 0:
        return list(group)
    missed = []
    for r, job in enumerate(group):
        # Checked respondent by respondent as the loop goes (not all first): the same work,
        # but the first report reaches a render worker ~3 s sooner for a chunk of 100.
        stats, reasons = check_convergence(post.idata, library, respondent_slice=[r])
        if reasons:
            missed.append(job)
            continue
        d = post.diagnostics
        diag = Diagnostics(stats["r_hat_max"], stats["ess_bulk_min"], stats["ess_tail_min"],
                           d.divergences, d.chains, d.draws, d.tune, d.target_accept, 1, [],
                           d.criteria).to_dict()
        diag["stacked_with"] = len(group)
        t1 = time.perf_counter()
        try:
            analysis = evaluate(library, job.subject, seed, post.theta[:, r, :], None, diag)
            result = complete(analysis.to_dict(), analysis)
            result = stamped(result, {"sample_share": t_sample / len(group),
                                      "summarise": time.perf_counter() - t1})
        except Exception as exc:  # noqa: BLE001 - contained to this profile
            if on_error is None:
                raise
            on_error(job, exc)
            continue
        on_result(job, result)
    return missed


# --------------------------------------------------------------------------- rendering


def render_job(result: dict, formats: tuple[str, ...], audience: str, outdir: str,
               stem: str) -> tuple[list[str], float]:
    """Write one profile's reports (runs in a worker process): the names written and the
    worker's CPU seconds spent on them."""
    try:
        return _render_job(result, formats, audience, outdir, stem)
    except SystemExit:
        # Stopped by the main process: the temporary file is gone (write_atomic cleans up);
        # leave now rather than return to the pool's loop.
        os._exit(143)


def _render_job(result: dict, formats: tuple[str, ...], audience: str, outdir: str,
                stem: str) -> tuple[list[str], float]:
    cpu0 = time.process_time()
    written = []
    for fmt in formats:
        target = Path(outdir) / f"{stem}.{fmt}"
        write(render(result, fmt, audience), target, fmt)
        written.append(target.name)
    return written, time.process_time() - cpu0


def _stop_worker(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _warm_worker() -> None:
    # The main process decides when to stop: Ctrl-C in the terminal reaches the workers too,
    # and they must not report it as a failed render. SIGTERM (sent by the main process when
    # the batch is stopped) unwinds a render, so its temporary file is removed.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    # Import the renderers and their heavy dependencies (WeasyPrint, matplotlib) once per
    # worker, before the first job arrives.
    import weasyprint  # noqa: F401

    import cruxfit.reports.plots  # noqa: F401
    import cruxfit.reports.render  # noqa: F401


def _ready() -> None:
    """A no-op task: submitting one per worker makes the pool start its workers now, so
    that they import the renderers while the main process is still sampling."""


def summary_row(job: Job, result: dict | None) -> dict:
    row = {"name": job.name, "source": job.source, "status": job.status, "verdict": None,
           "p_best": None, "p_top3": None, "top_alternative": None, "deciding_belief": None,
           "answered": None, "total": None, "quality": None,
           "converged": None, "outputs": list(job.outputs),
           "error": "; ".join(f"{p.field + ': ' if p.field else ''}{p.message}" for p in job.problems) or None}
    if result is not None:
        v = result["verdict"]
        names = {b["id"]: b["name"] for b in result.get("beliefs", [])}
        approaches = {a["slug"]: a["name"] for a in result.get("approaches", [])}
        deciding = (result.get("discuss_first") or {}).get("variable") or (v.get("deciding") or [None])[0]
        quality = result["profile"].get("quality") or {}
        row.update({"verdict": v["label"], "p_best": v["p_best"], "p_top3": v["p_top3"],
                    "top_alternative": approaches.get(v.get("best_alternative"), v.get("best_alternative")),
                    "deciding_belief": names.get(deciding, deciding),
                    "answered": quality.get("answered"), "total": quality.get("total"),
                    "quality": " ".join(quality.get("flags") or []) or "ok",
                    "converged": bool(result["diagnostics"]["converged"]),
                    "kind": result["profile"]["kind"]})
    return row


@dataclass
class BatchOutcome:
    jobs: list[Job]
    warnings: list[str]
    seconds: float
    #: CPU seconds the render workers spent writing reports (all formats), summed.
    render_cpu: float = 0.0

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.jobs if j.status == "failed"]

    @property
    def inconclusive(self) -> list[Job]:
        return [j for j in self.jobs if j.status == "inconclusive"]


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP during a batch, after the render workers were stopped."""

    def __init__(self, recorded: int, total: int):
        super().__init__(recorded, total)
        self.recorded, self.total = recorded, total


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the render workers now: queued work is dropped, running renders are ended (each
    worker removes its temporary file on SIGTERM), and every worker is waited for."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, ValueError, AttributeError):
            pass
    for proc in procs:
        try:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass


def _foreign_stems(outdir: Path, manifest: dict) -> set[str]:
    """Stems of report-like files in outdir that no batch recorded: someone else's files."""
    known = set(manifest["reports"])
    found = set()
    try:
        names = os.listdir(outdir)
    except OSError:
        return found
    for name in names:
        stem, dot, suffix = name.rpartition(".")
        if dot and suffix.lower() in ("pdf", "json", "html") and stem not in known:
            found.add(stem)
    return found


def run_batch(library: Library, inputs: Iterable[Path], outdir: Path, *, formats: tuple[str, ...],
              seed: int = 0, audience: str = "grantmaker", jobs_n: int | None = None,
              force: bool = False, rows_are_applicants: bool = False, form_layout: str = "auto",
              progress: Callable[[Job], None] | None = None,
              say: Callable[[str], None] | None = None,
              summary_meta: Callable[[list[Job], float, float], dict] | None = None) -> BatchOutcome:
    """Plan, sample, render and (given ``summary_meta``, which builds the summary's meta from
    the jobs, the seconds so far and the render CPU) write the summary files."""
    from cruxfit.pipeline.run import run_org_analysis

    t0 = time.perf_counter()
    say = say or (lambda m: None)
    progress = progress or (lambda j: None)
    outdir = Path(outdir)
    check_outdir(outdir)
    manifest = load_manifest(outdir)
    # Written now, so that the folder is known to be a batch's even if no report is made.
    save_manifest(outdir, {"version": 1, "reports": {}})
    jobs, warnings = plan(library, inputs, rows_are_applicants=rows_are_applicants,
                          formats=formats, seed=seed, audience=audience, form_layout=form_layout,
                          avoid=_foreign_stems(outdir, manifest))
    mark_skips(jobs, outdir, manifest, formats, force)
    for job in jobs:
        if job.status in ("failed", "skipped"):
            progress(job)
    todo = [j for j in jobs if j.status == "pending"]
    individuals = [j for j in todo if j.subject.kind != "organisation"]
    organisations = [j for j in todo if j.subject.kind == "organisation"]
    workers = max(1, jobs_n or os.cpu_count() or 1)
    pending: list[Future] = []
    render_cpu = [0.0]

    import multiprocessing

    # spawn, not fork: the parent has PyMC/PyTensor (and their threads) loaded by the time
    # the first worker starts, and forking a threaded process can deadlock the child.
    context = multiprocessing.get_context("spawn")
    interrupted = threading.Event()
    save_failed: list[str] = []
    mine: dict = {"version": 1, "reports": {}}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker, mp_context=context)
    try:
        if todo:
            # The pool starts workers only when work arrives; start them all now, while
            # PyMC is imported and the first chunk sampled, instead of after it.
            for _ in range(min(workers, len(todo))):
                pool.submit(_ready)

        lock = threading.Lock()

        def finish(job: Job, result: dict, fut: Future) -> None:
            # Runs as soon as a report is written (in the pool's result thread), so the
            # manifest always knows about every finished report: a killed run redoes nothing
            # that was complete.
            with lock:
                if interrupted.is_set() and (fut.cancelled() or fut.exception() is not None):
                    return  # stopped on purpose: not a failure of this report
                try:
                    job.outputs, cpu = fut.result()
                    render_cpu[0] += cpu
                except Exception as exc:  # noqa: BLE001 - reported per job, the batch goes on
                    job.status = "failed"
                    job.problems = [Problem(job.source, "", f"could not write its report: {exc}")]
                    job.row = summary_row(job, result)
                    progress(job)
                    return
                job.status = "done" if result["diagnostics"]["converged"] else "inconclusive"
                job.row = summary_row(job, result)
                entry = {"key": job.key, "row": job.row, "source": job.source}
                manifest["reports"][job.stem] = mine["reports"][job.stem] = entry
                try:
                    save_manifest(outdir, mine)
                except Exception as exc:  # noqa: BLE001 - in the pool's thread: report it once, later
                    save_failed.append(str(exc))
                progress(job)

        def failed(job: Job, exc: BaseException) -> None:
            with lock:
                job.status = "failed"
                job.problems = [Problem(job.source, "", unexpected(exc))]
                progress(job)

        def submit(job: Job, result: dict) -> None:
            # Claim the name in the manifest before the files exist: if the run is killed
            # between a worker's write and the entry below, the re-run knows the files are
            # cruxfit's (and redoes them under the same name; the key does not match).
            with lock:
                if job.stem not in mine["reports"]:
                    mine["reports"][job.stem] = {"key": None, "row": {}, "source": job.source}
                    try:
                        save_manifest(outdir, mine)
                    except Exception as exc:  # noqa: BLE001 - reported once, at the end
                        save_failed.append(str(exc))
            fut = pool.submit(render_job, result, formats, audience, str(outdir), job.stem)
            pending.append(fut)
            fut.add_done_callback(lambda f, job=job, result=result: finish(job, result, f))
            # Keep the queue short so that memory stays flat while sampling runs ahead.
            while True:
                running = [f for f in pending if not f.done()]
                if len(running) <= 2 * workers:
                    break
                wait(running, return_when=FIRST_COMPLETED)

        if individuals:
            analyse_individuals(library, individuals, seed, on_result=submit, say=say,
                                on_error=failed)
        for job in organisations:
            try:
                result, _ = run_org_analysis(library, job.subject, seed)
            except Exception as exc:  # noqa: BLE001 - contained to this organisation
                failed(job, exc)
                continue
            submit(job, result)
        wait(pending)
        if save_failed:
            raise OutputError(f"{outdir / MANIFEST}: cannot update the batch manifest "
                              f"({save_failed[0]}); the reports are written, but a re-run will "
                              "redo them")
        for job in jobs:
            if not job.row:
                job.row = summary_row(job, None)
        if summary_meta is not None:
            rows = [j.row for j in jobs]
            meta = summary_meta(jobs, time.perf_counter() - t0, render_cpu[0])
            # Rendered by a worker that has WeasyPrint loaded already (if any were started),
            # rather than importing it into this process at the very end of the run.
            pdf = None
            if todo:
                try:
                    pdf = pool.submit(summary_pdf, rows, meta).result()
                except Exception:  # noqa: BLE001 - e.g. a worker was killed: render it here
                    pdf = None
            write_summary(outdir, rows, meta, pdf=pdf)
    except KeyboardInterrupt:
        interrupted.set()
        _stop_pool(pool)
        recorded = sum(1 for e in mine["reports"].values() if e.get("key"))
        raise BatchInterrupted(recorded, len(todo)) from None
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return BatchOutcome(jobs, warnings, time.perf_counter() - t0, render_cpu[0])
