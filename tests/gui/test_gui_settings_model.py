"""Application settings (Qt-free): typed, versioned, migrated; project settings in the store."""

from __future__ import annotations

import json

import pytest

from labeler.app_settings import (
    SETTINGS_VERSION,
    ProjectSettings,
    SettingsFile,
    UserSettings,
    config_dir,
    migrate_raw,
)
from labeler.learning.settings import TrainSettings


def test_defaults_when_no_file(tmp_path) -> None:
    s = SettingsFile(tmp_path / "settings.json").load()
    assert s == UserSettings()
    assert s.theme == "light" and s.font_size == 16 and s.annotator


def test_round_trip_and_version(tmp_path) -> None:
    f = SettingsFile(tmp_path / "cfg" / "settings.json")
    s = (
        UserSettings(annotator="ana", theme="dark", font_size=20)
        .with_recent("/p/a")
        .with_recent("/p/b")
    )
    f.save(s)
    raw = json.loads(f.path.read_text())
    assert raw["version"] == SETTINGS_VERSION
    assert f.load() == s
    assert f.load().recent_projects == ("/p/b", "/p/a")


def test_config_dir_follows_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LABELER_CONFIG_DIR", str(tmp_path / "x"))
    assert config_dir() == tmp_path / "x"
    assert SettingsFile().path == tmp_path / "x" / "settings.json"


def test_migrates_unversioned_file(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"name": "old-user", "dark": True, "font_size": 18}))
    s = SettingsFile(path).load()
    assert (s.annotator, s.theme, s.font_size) == ("old-user", "dark", 18)


def test_migrates_version_1_recent_order() -> None:
    out = migrate_raw({"version": 1, "annotator": "a", "recent": ["/old", "/new"]})
    assert out["recent_projects"] == ["/new", "/old"]
    assert "version" not in out


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", json.dumps({"version": 2, "font_size": "huge"})]
)
def test_bad_file_gives_defaults_and_is_kept_aside(tmp_path, content) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    s = SettingsFile(path).load()
    assert s.theme == "light"
    if content.startswith('{"version'):
        assert s.font_size == 16  # the bad value is replaced, the file is fine otherwise
    else:
        assert (tmp_path / "settings.json.bad").read_text() == content


def test_validation_replaces_out_of_range_values() -> None:
    s = UserSettings(annotator="  ", theme="neon", font_size=300).validated()
    assert s.theme == "light" and s.font_size == 16 and s.annotator.strip()


def test_recent_list_is_bounded_and_unique() -> None:
    s = UserSettings()
    for i in range(15):
        s = s.with_recent(f"/p/{i % 12}")
    assert len(s.recent_projects) == 10
    assert len(set(s.recent_projects)) == 10
    assert s.recent_projects[0] == "/p/2"
    assert "/p/2" not in s.without_recent("/p/2").recent_projects


def test_project_settings_live_in_the_store(make_store) -> None:
    store = make_store()
    assert ProjectSettings.from_project(store.info.settings) == ProjectSettings()
    store.update_settings(learning={"cv_folds": 3, "strategy": "entropy"})
    chosen = ProjectSettings(strategy="margin", model="logreg", retrain_every=5, batch_size=50)
    store.update_settings(**chosen.to_project(store.info.settings))
    settings = store.info.settings
    assert settings["learning"] == {
        "cv_folds": 3,  # the engine's own keys are kept
        "strategy": "margin",
        "model": "logreg",
        "queue_size": 50,
        "features": {"text_features": chosen.text_features},
    }
    assert ProjectSettings.from_project(settings) == chosen
    # one source of truth: the engine's defaults are the dialog's defaults
    engine = TrainSettings()
    default = ProjectSettings()
    assert (default.strategy, default.model, default.batch_size, default.text_features) == (
        engine.strategy,
        engine.model,
        engine.queue_size,
        engine.features.text_features,
    )


def test_project_settings_tolerate_bad_values() -> None:
    s = ProjectSettings.from_project(
        {"annotate": {"retrain_every": "soon"}, "learning": {"queue_size": -4}}
    )
    assert s.retrain_every == 10 and s.batch_size == 1
