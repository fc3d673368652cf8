"""Every hyperparameter flag of every family says what it is in ``lmlab train --model M --help``: the comment its
field carries in the config dataclass (lmlab.cli.config_args.field_help)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass

import pytest

from lmlab.cli.config_args import add_config_flags, field_help
from lmlab.cli.parser import build_parser
from lmlab.tasks import TASKS

CHOICES = ("plain", "fancy")


@dataclass
class Base:
    # a field described by the comment-only lines
    # right above it
    above: int = 1
    beside: float = 0.5  # described beside it, with a 5% margin
    wrapped: int = 2  # a comment too long for its line, which goes on
    # in the comment-only line below it
    after: int = 3  # the field after a wrapped one keeps its own comment

    # a heading above a group of fields
    grouped: str = "plain"  # one of CHOICES
    bare: int = 0


@dataclass
class Child(Base):
    beside: float = 0.9  # the child's reason for its own default, not what the field is
    bare: int = 1  # described where it is first described
    extra: bool = False  # a field of the child alone


def test_field_help_reads_the_comments_of_a_dataclass():
    assert field_help(Base) == {
        "above": "a field described by the comment-only lines right above it",
        "beside": "described beside it, with a 5% margin",
        "wrapped": "a comment too long for its line, which goes on in the comment-only line below it",
        "after": "the field after a wrapped one keeps its own comment",
        "grouped": "one of plain, fancy",
    }
    child = field_help(Child)
    assert child["beside"] == "described beside it, with a 5% margin"  # the base class says what it is
    assert child["bare"] == "described where it is first described"
    assert child["extra"] == "a field of the child alone"


def test_a_flag_shows_its_description_and_its_default():
    parser = argparse.ArgumentParser(prog="t")
    add_config_flags(parser, Child, "child hyperparameters")
    text = parser.format_help()
    assert "with a 5% margin (default: 0.9)" in " ".join(text.split())  # a literal % is not a format
    assert "(default: 1)" in text and "--extra, --no-extra" in text


def _hyperparameter_flags(task: str, family: str) -> list[argparse.Action]:
    parser = build_parser(["train", "--task", task, "--model", family])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    groups = [g for g in sub._action_groups if "hyperparameters" in (g.title or "")]
    assert groups, f"{task}/{family}: no hyperparameter group"
    return [a for g in groups for a in g._group_actions]


@pytest.mark.parametrize("task", list(TASKS))
def test_every_hyperparameter_flag_of_every_family_is_described(task):
    undescribed = [
        f"{task}/{family} {action.option_strings[0]}"
        for family in TASKS[task].family_table()
        for action in _hyperparameter_flags(task, family)
        if action.help.startswith("(default:")
    ]
    assert not undescribed, "flags without a comment on their field: " + ", ".join(undescribed)


def test_ngram_help_names_what_each_flag_does(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "lmlab.cli.main", "train", "--model", "ngram", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip().startswith("--")}
    assert "streaming through sorted files" in lines["--memory"]
    assert "the system's temporary folder" in lines["--temp-dir"]
    assert "modified-kneser-ney" in lines["--smoothing"]
