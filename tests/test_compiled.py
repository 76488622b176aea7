"""The compiled individual model kept between processes (models/compiled.py and
pipeline/compiled_store.py): the same draws with or without it, and a store that never reads
what another user could have written."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.profile import load_profile, parse_profile
from cruxfit.models import compiled
from cruxfit.models.elicitation import observations
from cruxfit.pipeline import compiled_store as S

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()


def _profile(answers: dict):
    return parse_profile({"name": "T", "kind": "individual", "answers": answers}, LIB)


def _some_answers(rng, keep=0.7) -> dict:
    out = {}
    for s in LIB.statements:
        if rng.random() < keep:
            out[s.id] = (int(rng.integers(1, 8)) if s.scale == "agree7"
                         else round(float(rng.uniform(0.05, 0.95)), 2))
    return out


def _mirror(answers: dict) -> dict:
    """The opposite answer to every statement (7 for 1, 0.8 for 0.2)."""
    return {k: (int(8 - v) if LIB.statement(k).scale == "agree7" else round(1 - v, 2))
            for k, v in answers.items()}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv(S.ENV_OFF, raising=False)
    return S.CompiledStore(tmp_path / "cache" / "compiled")


def test_the_key_depends_on_which_statements_not_on_the_answers_given():
    rng = np.random.default_rng(1)
    a = _some_answers(rng)
    b = _mirror(a)  # other answers to the same statements
    c = dict(list(a.items())[:-1])  # one statement fewer
    ka, kb, kc = (compiled.key(LIB, observations(LIB, [_profile(x)])) for x in (a, b, c))
    assert ka == kb
    assert ka != kc


def test_the_key_depends_on_the_library_and_the_versions(monkeypatch):
    obs = observations(LIB, [load_profile(ROOT / "data/example.yaml", LIB)])
    k = compiled.key(LIB, obs)
    other = LIB.__class__.__new__(LIB.__class__)
    other.__dict__.update(LIB.__dict__)
    object.__setattr__(other, "sha256", "0" * 64)
    assert compiled.key(other, obs) != k
    monkeypatch.setattr(compiled, "_versions", lambda: {"pymc": "9.9"})
    assert compiled.key(LIB, obs) != k


def test_data_values_are_the_answers_as_the_model_reads_them():
    from cruxfit.models.elicitation import ordinal_terms

    obs = observations(LIB, [load_profile(ROOT / "data/example.yaml", LIB)])
    d = compiled.data_values(LIB, obs)
    o = obs.ordinal
    k = obs.value[o].astype(int)
    np.testing.assert_array_equal(d["agree_k"], k)
    lo, hi, gap = ordinal_terms(LIB.settings.cutpoints, k, obs.precisions()[o])
    np.testing.assert_array_equal(d["agree_lo"], lo)
    np.testing.assert_array_equal(d["agree_hi"], hi)
    np.testing.assert_array_equal(d["agree_gap"], gap)


def test_an_entry_goes_to_disk_privately_and_comes_back(store):
    store.put("k", b"blob")
    entry = store.folder / "k.pkl"
    assert entry.read_bytes() == b"blob"
    assert entry.stat().st_mode & 0o077 == 0
    assert store.folder.stat().st_mode & 0o077 == 0
    assert S.CompiledStore(store.folder).get("k") == b"blob"  # as a new process reads it
    assert S.CompiledStore(store.folder).get("other") is None


def test_entries_others_can_write_are_never_read(store):
    store.put("x", pickle.dumps({"harmless": 1}))
    entry = store.folder / "x.pkl"

    def fresh():
        return S.CompiledStore(store.folder).get("x")

    assert fresh() is not None
    os.chmod(store.folder, 0o770)  # a group-writable folder
    assert fresh() is None
    os.chmod(store.folder, 0o700)
    os.chmod(entry, 0o620)  # a group-writable file
    assert fresh() is None
    os.chmod(entry, 0o600)
    (store.folder / "link.pkl").symlink_to(entry)
    assert S.CompiledStore(store.folder).get("link") is None  # never through a link
    os.chmod(store.folder.parent, 0o777)  # whoever can write the parent can swap the folder
    assert fresh() is None
    os.chmod(store.folder.parent, 0o700)
    assert fresh() is not None


def test_a_folder_owned_by_another_user_is_refused(store, monkeypatch):
    store.put("x", b"blob")
    owner = os.stat(store.folder).st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    assert S.CompiledStore(store.folder).get("x") is None


def test_the_store_can_be_turned_off(store, monkeypatch):
    monkeypatch.setenv(S.ENV_OFF, "1")
    store.put("x", b"blob")
    assert not (store.folder / "x.pkl").exists()
    assert S.process_store() is None
    monkeypatch.setenv(S.ENV_OFF, "0")
    assert S.process_store() is not None


def test_only_the_newest_entries_are_kept(store, monkeypatch):
    monkeypatch.setattr(S, "KEEP", 3)
    for i in range(5):
        store.put(f"k{i}", b"x")
        os.utime(store.folder / f"k{i}.pkl", (1000 + i, 1000 + i))
    store.put("k5", b"x")
    assert sorted(p.stem for p in store.folder.glob("*.pkl")) == ["k3", "k4", "k5"]


def test_a_broken_entry_loads_as_nothing():
    assert compiled.loads(b"not a pickle") is None
    assert compiled.loads(pickle.dumps({"not": "a core"})) is None


@pytest.mark.slow
def test_same_seed_same_draws_built_stored_or_without_a_store(store):
    """Built, then read back as a new process would, then without a store: identical draws;
    other answers to the same statements reuse the entry and get their own posterior."""
    from cruxfit.models.inference import sample

    prof = load_profile(ROOT / "data/example.yaml", LIB)
    kw = {"draws": 300, "tune": 300, "retry": False}
    a = sample(LIB, [prof], 5, store=store, **kw)
    assert a.compiled_model == "built"
    assert len(list(store.folder.glob("*.pkl"))) == 1
    b = sample(LIB, [prof], 5, store=S.CompiledStore(store.folder), **kw)
    assert b.compiled_model == "stored"
    c = sample(LIB, [prof], 5, **kw)
    assert c.compiled_model is None
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.theta, c.theta)
    other = _profile(_mirror(prof.answers))
    d = sample(LIB, [other], 5, store=S.CompiledStore(store.folder), **kw)
    assert d.compiled_model == "stored"
    e = sample(LIB, [other], 5, **kw)
    np.testing.assert_array_equal(d.theta, e.theta)
    assert not np.allclose(d.theta.mean(0), a.theta.mean(0), atol=0.02)


@pytest.mark.slow
def test_a_truncated_entry_is_rebuilt(store):
    from cruxfit.models.inference import sample

    prof = load_profile(ROOT / "data/example.yaml", LIB)
    kw = {"draws": 200, "tune": 200, "retry": False}
    a = sample(LIB, [prof], 3, store=store, **kw)
    (entry,) = store.folder.glob("*.pkl")
    entry.write_bytes(entry.read_bytes()[:1000])
    b = sample(LIB, [prof], 3, store=S.CompiledStore(store.folder), **kw)
    assert b.compiled_model == "built"
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.slow
def test_the_data_model_has_the_elicitation_models_density():
    from cruxfit.models.elicitation import build_model

    rng = np.random.default_rng(4)
    obs = observations(LIB, [_profile(_some_answers(rng))])
    pa, pb = build_model(LIB, obs).compile_logp(), compiled.build_model(LIB, obs).compile_logp()
    for _ in range(5):
        point = {"theta_logodds__": rng.normal(0, 1.5, (1, len(LIB.variables)))}
        assert float(pb(point)) == pytest.approx(float(pa(point)), rel=1e-12, abs=1e-10)


@pytest.mark.slow
def test_chains_record_their_own_draws_and_match_plain_pm_sample(store):
    import warnings

    import pymc as pm

    from cruxfit.models.elicitation import build_model

    prof = load_profile(ROOT / "data/example.yaml", LIB)
    obs = observations(LIB, [prof])
    core, _ = compiled.get_core(LIB, obs, store)
    kw = {"draws": 200, "tune": 200, "chains": 2, "cores": 1}
    mine = compiled.sample_core(core, LIB, obs, seed=7, target_accept=0.8, **kw)
    with build_model(LIB, obs), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pm.sample(random_seed=7, target_accept=0.8, progressbar=False,
                        compute_convergence_checks=False, **kw)
    a, b = mine.posterior["theta"].values, ref.posterior["theta"].values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


def test_only_machine_flags_are_ever_handed_to_the_compiler():
    ok = ["-march=znver3", "-mavx2", "--param", "l1-cache-size=32", "-mtune=znver3"]
    assert S.flags_ok(ok)
    for bad in (["-fplugin=/tmp/x.so"], ["--param"], ["l1-cache-size=32"], ["-march=x; rm"],
                ["-o", "/tmp/x"], "-mavx", [1], [], None, ["-mavx", "--param", "-mfma"]):
        assert not S.flags_ok(bad), bad


@pytest.mark.heavy  # imports PyTensor in a fresh process
@pytest.mark.parametrize("flags,used", [
    (["-march=x86-64", "--param", "l1-cache-size=32"], True),
    (["-fplugin=/tmp/evil.so"], False),
])
def test_stored_march_flags_are_handed_to_pytensor_only_when_they_are_machine_flags(
        tmp_path, flags, used):
    import json
    import subprocess
    import sys

    store = S.CompiledStore(tmp_path / "c" / "compiled")
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from cruxfit.pipeline import compiled_store as S\n"
        f"store = S.CompiledStore(Path({str(store.folder)!r}))\n"
        "from pytensor import config\n"
        f"store.put_file(S._march_key() + '.json', json.dumps({{'cxx': config.cxx, 'flags': {flags!r}}}).encode())\n"
        "store = S.CompiledStore(store.folder)\n"
        "print(S.preset_march_flags(store))\n"
        "from pytensor.link.c.cmodule import GCC_compiler\n"
        "print(json.dumps(GCC_compiler.march_flags))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, S.ENV_OFF: "0"}).stdout.split("\n")
    assert out[0] == str(used)
    assert json.loads(out[1]) == (flags if used else None)
    assert (store.folder / (S._march_key() + ".json")).stat().st_mode & 0o077 == 0
