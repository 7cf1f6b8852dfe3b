"""Overlap settings from the command line: ``labeler init --overlap K --overlap-fraction F``
stores them in the project; bad values print one line, exit 2 and create nothing."""

from __future__ import annotations

import pytest

from labeler.app_settings import ProjectSettings
from labeler.errors import ProjectError
from labeler.store import Store
from labeler.store.overlap import OverlapSettings
from tests.helpers import run_cli


def test_init_stores_the_overlap(tmp_path) -> None:
    folder = tmp_path / "team"
    done = run_cli(
        "init", str(folder), "--modality", "text", "--labels", "a,b",
        "--overlap", "3", "--overlap-fraction", "0.2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Store.open(folder) as store:
        settings = store.info.settings
        assert OverlapSettings.from_settings(settings) == OverlapSettings(3, 0.2)
        project = ProjectSettings.from_project(settings)
        assert (project.overlap, project.overlap_fraction) == (3, 0.2)
        assert settings["learning"]["features"]["text_features"]  # the other settings stay


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlap", "0"], "overlap must be a whole number from 1 to 20"),
        (["--overlap", "2", "--overlap-fraction", "1.5"], "between 0 and 1"),
        (["--overlap", "two"], "invalid int value"),
    ],
)
def test_init_refuses_bad_overlap(tmp_path, args, message) -> None:
    folder = tmp_path / "team"
    done = run_cli("init", str(folder), "--modality", "text", "--labels", "a,b", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not folder.exists()


def test_project_settings_round_trip_keeps_other_team_settings() -> None:
    chosen = ProjectSettings(overlap=2, overlap_fraction=0.25)
    merged = chosen.to_project({"team": {"lead": "maria"}})
    assert merged["team"] == {"lead": "maria", "overlap": 2, "overlap_fraction": 0.25}
    assert ProjectSettings.from_project(merged) == chosen
    with pytest.raises(ProjectError, match="overlap must be"):
        ProjectSettings(overlap=0).to_project({})


def test_info_shows_the_overlap(tmp_path) -> None:
    folder = tmp_path / "team"
    run_cli("init", str(folder), "--modality", "text", "--labels", "a,b", "--overlap", "2",
            "--overlap-fraction", "0.3")  # fmt: skip
    shown = run_cli("info", str(folder))
    assert shown.returncode == 0, shown.stderr
    assert "overlap   2 annotators on 30% of samples" in shown.stdout
    as_json = run_cli("info", str(folder), "--json")
    assert '"overlap": {' in as_json.stdout and '"k": 2' in as_json.stdout
