"""Database passwords go to libpq's password file, never into project files or settings."""

from __future__ import annotations

import sqlalchemy as sa

from labeler.app_settings import UserSettings
from labeler.store.location import new_location
from labeler.store.passfile import lookup, passfile_path, strip_password, without_password


def test_a_password_is_moved_to_the_passfile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    loc = new_location(str(tmp_path / "p"), "postgresql+psycopg://ann:s3cret@db.lan:5433/team")
    assert loc.url == "postgresql+psycopg://ann@db.lan:5433/team"
    assert lookup(sa.engine.make_url(loc.url)) == "s3cret"
    assert passfile_path().read_text() == "db.lan:5433:team:ann:s3cret\n"


def test_odd_characters_and_a_new_password_replace_the_old_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    passfile_path().write_text("# mine\nother:5432:*:bob:keep\n")
    strip_password("postgresql+psycopg://ann:first@h/db#proj")
    odd = "a:b\\c@d"
    url = sa.engine.URL.create("postgresql+psycopg", "ann", odd, "h", None, "db")
    bare = strip_password(url.render_as_string(hide_password=False) + "#proj")
    assert bare == "postgresql+psycopg://ann@h/db#proj"
    assert lookup(sa.engine.make_url("postgresql+psycopg://ann@h/db")) == odd
    lines = passfile_path().read_text().splitlines()
    assert lines[:2] == ["# mine", "other:5432:*:bob:keep"]  # other entries kept
    assert len(lines) == 3 and "first" not in lines[2]
    assert lookup(sa.engine.make_url("postgresql+psycopg://bob@other/anything")) == "keep"


def test_urls_without_a_password_and_folders_are_untouched() -> None:
    for text in ("postgresql+psycopg://ann@h:5433/db#p", "/home/ann/proj", "sqlite:///x.db"):
        assert strip_password(text) == text
        assert without_password(text) == text
    assert not passfile_path().exists()


def test_the_recent_list_never_holds_a_password() -> None:
    user = UserSettings().with_recent("postgresql+psycopg://ann:pw@h/db#proj")
    assert user.recent_projects[0] == "postgresql+psycopg://ann@h/db#proj"
    assert not passfile_path().exists()  # nothing saved from the settings path
