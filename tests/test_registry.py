"""The command registry: keywords in three languages, longest match, roles."""

import pytest

from bot.chat.registry import Registry, Role


def noop(ctx):
    return []


@pytest.fixture
def registry():
    reg = Registry()
    reg.command("delete", th=("ลบ",))(noop)
    reg.command("delete my data", th=("ลบข้อมูลของฉัน",), zh=("刪除我的資料",))(noop)
    reg.command("/earn", role=Role.STAFF, usage="<member> <amount>")(noop)
    reg.command("/rule", role=Role.OWNER)(noop)
    return reg


def test_the_longest_keyword_wins(registry):
    match = registry.find_command("Delete  my DATA please", Role.MEMBER)

    assert match.command.name == "delete my data"
    assert match.args == ["please"]


def test_keywords_in_thai_and_chinese(registry):
    assert registry.find_command("刪除我的資料", Role.MEMBER).command.name == "delete my data"
    assert registry.find_command("ลบ 42", Role.MEMBER).args == ["42"]


def test_roles_are_checked_once_here(registry):
    assert registry.find_command("/earn M1 100", Role.MEMBER).allowed is False
    assert registry.find_command("/earn M1 100", Role.STAFF).allowed is True
    assert registry.find_command("/rule", Role.STAFF).allowed is False
    assert registry.find_command("/rule", Role.OWNER).allowed is True


def test_commands_for_lists_what_a_role_may_use(registry):
    names = [c.name for c in registry.commands_for(Role.STAFF)]

    assert names == ["delete", "delete my data", "/earn"]


def test_unknown_text_matches_nothing(registry):
    assert registry.find_command("hello there", Role.OWNER) is None


def test_a_keyword_cannot_be_taken_twice(registry):
    with pytest.raises(ValueError, match="already taken"):
        registry.command("remove", th=("ลบ",))(noop)
