"""The built-in folder registry: push, load back, aliases, promotion, tampering, CLI."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import skops.io as sio
from _review_data import labeled_project, record_trained_run
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from labeler.cli import main
from labeler.export import verify_snapshot
from labeler.registry import RegistryError, open_registry
from labeler.registry.folder import FolderRegistry
from labeler.registry.promotion import Holdout
from labeler.registry.push import push_project_model
from labeler.registry.trust import ModelIntegrityError


def trained_store(make_store, n=60, seed=0):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=n, seed=seed)
    run, model = record_trained_run(store, ids, X, y)
    return store, ids, X, y, run, model


def test_pushed_model_loads_back_with_identical_predictions(make_store, tmp_path):
    store, _, X, _, run, model = trained_store(make_store)
    registry = open_registry(str(tmp_path / "reg"))
    result = push_project_model(store, registry)

    v = result.version
    assert (v.name, v.version) == (store.info.name, 1)
    assert v.aliases == ["candidate", "champion"]
    assert result.promotion.promoted and result.promotion.reason == "first champion"
    loaded = registry.load(v.name, "champion")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # metadata: metrics, label set, lineage to the dataset snapshot, model card
    assert v.metrics["accuracy"] == run.metrics["accuracy"]
    assert v.label_set == ["a", "b", "c"]
    assert v.lineage["rows"] == 60 and v.lineage["model_version"] == run.model_version
    assert v.lineage["sha256"] == result.snapshot.manifest["sha256"]
    card = registry.model_card(v.name, 1)
    assert result.snapshot.manifest["sha256"] in card and "LogisticRegression" in card
    vdir = tmp_path / "reg" / v.name / "v1"
    files = sorted(p.name for p in vdir.iterdir())
    assert files == ["MODEL_CARD.md", "dataset", "meta.json", "model.skops"]
    # the training-data snapshot lives in the version folder; meta.json points to it relatively
    assert v.lineage["dataset_path"] == f"dataset/{result.snapshot.path.name}"
    assert verify_snapshot(vdir / v.lineage["dataset_path"]) == result.snapshot.manifest
    assert str(tmp_path) not in (vdir / "meta.json").read_text()


def test_a_tampered_model_file_is_refused(make_store, tmp_path):
    store, *_ = trained_store(make_store)
    registry = FolderRegistry(tmp_path / "reg")
    v = push_project_model(store, registry).version
    path, _ = registry.model_file(v.name, v.version)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        registry.load(v.name, 1)


def test_a_model_with_an_untrusted_type_is_refused_even_with_a_matching_hash(make_store, tmp_path):
    store, *_ = trained_store(make_store)
    registry = FolderRegistry(tmp_path / "reg")
    v = push_project_model(store, registry).version
    evil = make_pipeline(FunctionTransformer(os.system))
    path, _ = registry.model_file(v.name, v.version)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    sio.dump(evil, path)
    meta_path = path.with_name("meta.json")
    os.chmod(meta_path, stat.S_IRUSR | stat.S_IWUSR)
    meta = json.loads(meta_path.read_text())
    from labeler.hashing import file_sha256

    meta["sha256"] = file_sha256(path)  # an attacker who also rewrites the recorded hash
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelIntegrityError, match="does not trust"):
        registry.load(v.name, 1)


def test_promotion_needs_a_better_score_on_the_same_holdout(make_store, tmp_path):
    store, ids, X, y, _, _ = trained_store(make_store, n=90)
    registry = FolderRegistry(tmp_path / "reg")
    holdout_X, holdout_y = X[60:], y[60:]
    first = push_project_model(store, registry)
    assert first.promotion.promoted

    # a much worse model (labels scrambled) does not take over
    scrambled = np.roll(y[:60], 1)
    record_trained_run(store, ids[:60], X[:60], scrambled)
    holdout = Holdout(holdout_X, holdout_y)
    worse = push_project_model(store, registry, holdout=holdout)
    assert not worse.promotion.promoted
    assert worse.promotion.new_score < worse.promotion.champion_score
    assert registry.aliases(store.info.name) == {"candidate": 2, "champion": 1}

    # unless forced
    record_trained_run(store, ids[:60], X[:60], scrambled, C=0.5)
    forced = push_project_model(store, registry, force=True)
    assert forced.promotion.promoted and forced.promotion.reason == "forced"
    assert registry.aliases(store.info.name)["champion"] == 3

    # a better model takes over; one that only ties with the champion does not (so
    # pushing an equivalent model again cannot move the alias)
    record_trained_run(store, ids, X, y)
    better = push_project_model(store, registry, holdout=holdout)
    assert better.promotion.promoted
    assert better.promotion.new_score > better.promotion.champion_score
    record_trained_run(store, ids, X, y, C=0.5)  # another file, the same predictions
    tie = push_project_model(store, registry, holdout=holdout)
    assert tie.promotion.new_score == tie.promotion.champion_score
    assert not tie.promotion.promoted and "= champion v4" in tie.promotion.reason
    assert registry.aliases(store.info.name) == {"candidate": 5, "champion": 4}

    # pushing the same model file again is refused, and changes nothing
    with pytest.raises(RegistryError, match="already in the registry as .* v5"):
        push_project_model(store, registry)
    assert [v.version for v in registry.versions()] == [1, 2, 3, 4, 5]
    assert registry.aliases(store.info.name) == {"candidate": 5, "champion": 4}


def test_push_compares_with_the_champion_on_labels_neither_model_has_seen(make_store, tmp_path):
    from _review_data import add_samples, blobs

    store, ids, X, y, _, _ = trained_store(make_store, n=60)
    registry = FolderRegistry(tmp_path / "reg")
    assert push_project_model(store, registry).promotion.promoted  # v1, the first champion

    def label_new_samples(seed: int) -> None:
        X_new, y_new = blobs(60, ["a", "b", "c"], seed=0)  # same blobs as the project
        rng = np.random.default_rng(seed)
        pick = rng.choice(60, size=25, replace=False)
        X_new = X_new[pick] + rng.normal(0, 0.3, size=(25, 4)).astype(np.float32)
        new_ids = add_samples(
            store, [f"new {seed} {i}" for i in range(25)], X_new, prefix=f"n{seed}-"
        )
        for sid, lab in zip(new_ids, y_new[pick], strict=True):
            store.labels.add(sid, [str(lab)], "carol")

    record_trained_run(store, ids, X, np.roll(y, 1))  # v2: trained on scrambled labels
    label_new_samples(1)  # 25 labels neither v1 nor v2 has seen
    worse = push_project_model(store, registry)
    assert not worse.promotion.promoted
    assert worse.promotion.new_score < worse.promotion.champion_score
    assert registry.aliases(store.info.name) == {"candidate": 2, "champion": 1}

    record_trained_run(store, ids, X, np.roll(y, 2))  # v3: scrambled another way
    label_new_samples(2)
    record_trained_run(store, ids, X, y)  # v4: a good model again
    label_new_samples(3)
    better = push_project_model(store, registry)  # compared with v1, the champion
    assert better.promotion.version == 3 and "accuracy" in better.promotion.reason
    assert not better.promotion.promoted  # as good as v1 on the new labels: v1 stays
    assert registry.aliases(store.info.name) == {"candidate": 3, "champion": 1}


def test_aliases_move_and_unknown_refs_are_errors(make_store, tmp_path):
    store, ids, X, y, *_ = trained_store(make_store)
    registry = FolderRegistry(tmp_path / "reg")
    push_project_model(store, registry)
    record_trained_run(store, ids, X, y, C=0.5)  # another model file
    push_project_model(store, registry)
    name = store.info.name
    registry.set_alias(name, "champion", 2)
    registry.set_alias(name, "candidate", 1)
    assert registry.get(name, "champion").version == 2
    assert [v.aliases for v in registry.versions(name)] == [["candidate"], ["champion"]]
    with pytest.raises(RegistryError, match="no alias 'staging'"):
        registry.load(name, "staging")
    with pytest.raises(RegistryError, match="no version 9"):
        registry.set_alias(name, "champion", 9)


def test_push_without_a_trained_model_is_a_one_line_error(make_store, tmp_path, capsys):
    store = make_store()
    labeled_project(store, n=10)
    code = main(["registry", "push", str(store.location.folder), "--registry", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "no trained model" in err and "\n" not in err


def test_cli_push_and_list(make_store, tmp_path, capsys):
    store, *_ = trained_store(make_store)
    folder = str(store.location.folder)
    assert main(["registry", "push", folder, "--json"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["registry_version"]["version"] == 1
    assert pushed["registry"] == str(store.artifacts_dir / "registry")
    assert main(["registry", "list", folder, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["name"], v["version"], v["aliases"]) for v in listed["versions"]] == [
        (store.info.name, 1, ["candidate", "champion"])
    ]
    reg = str(store.artifacts_dir / "registry")
    assert main(["registry", "list", "--registry", reg]) == 0
    assert f"{store.info.name} v1" in capsys.readouterr().out
