"""Temporary folders a killed process leaves behind are removed by the next command of the same kind
(lmlab.tempdirs): a folder whose process lives is never touched."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from lmlab.tempdirs import LOCK_NAME, OwnedTempDir, owned_tempdir, sweep_orphans

HOLD = textwrap.dedent(
    """
    import sys, time
    from lmlab.tempdirs import OwnedTempDir
    d = OwnedTempDir(sys.argv[1], sys.argv[2])
    (d.path / "data.bin").write_bytes(b"x" * 100)
    print(d.path, flush=True)
    time.sleep(600)
    """
)


def _holder(prefix, parent):
    """A process that owns a folder and sleeps: (the process, its folder)."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, prefix, str(parent)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    assert line, "the holder did not start"
    return p, type(parent)(line)


def test_a_killed_process_folder_is_removed_and_a_living_one_kept(tmp_path):
    dead, dead_dir = _holder("lmlab-scratch-", tmp_path)
    alive, alive_dir = _holder("lmlab-scratch-", tmp_path)
    other, other_dir = _holder("lmlab-word2vec-", tmp_path)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=60)
        legacy = tmp_path / "lmlab-scratch-legacy"  # an older lmlab's folder: no lock file, not ours to judge
        legacy.mkdir()
        assert dead_dir.is_dir() and (dead_dir / "data.bin").exists()
        with owned_tempdir("lmlab-scratch-", tmp_path) as mine:
            assert not dead_dir.exists()
            assert (alive_dir / "data.bin").exists() and (other_dir / "data.bin").exists() and legacy.is_dir()
            assert mine.is_dir() and (mine / LOCK_NAME).exists() and mine.name.startswith("lmlab-scratch-")
            assert oct(mine.stat().st_mode & 0o777) == oct(0o700)
            # another process sweeping now sees this one as living
            code = "import sys; from lmlab.tempdirs import sweep_orphans; print(len(sweep_orphans(*sys.argv[1:])))"
            out = subprocess.run([sys.executable, "-c", code, "lmlab-scratch-", str(tmp_path)], capture_output=True,
                                 text=True, check=True).stdout  # fmt: skip
            assert out.strip() == "0" and mine.is_dir()
        assert not mine.exists()
    finally:
        for p in (dead, alive, other):
            p.kill()
            p.wait(timeout=60)
    # both holders are dead now: a sweep of each kind removes its own kind's only
    assert sweep_orphans("lmlab-scratch-", tmp_path) == [alive_dir]
    assert other_dir.exists() and sweep_orphans("lmlab-word2vec-", tmp_path) == [other_dir]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lmlab-scratch-legacy"]


def test_cleanup_on_error_and_twice(tmp_path):
    with pytest.raises(RuntimeError), owned_tempdir("lmlab-x-", tmp_path) as d:
        (d / "f").write_text("x")
        raise RuntimeError("boom")
    assert not d.exists()
    t = OwnedTempDir("lmlab-x-", tmp_path)
    t.cleanup()
    t.cleanup()
    assert list(tmp_path.iterdir()) == []


def test_a_symbolic_link_named_like_a_folder_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / LOCK_NAME).write_text("")  # an unlocked lock file behind the link
    (victim / "keep").write_text("x")
    (tmp_path / "lmlab-scratch-link").symlink_to(victim)
    assert sweep_orphans("lmlab-scratch-", tmp_path) == []
    assert (victim / "keep").exists()


def test_a_killed_ngram_estimation_spill_folder_is_removed_by_the_next(tmp_path):
    """The n-gram --memory estimation's spilled runs (tens of GiB on a large corpus) in --temp-dir."""
    from lmlab.lm.ngram.external import SPILL_PREFIX, SpillDir

    code = textwrap.dedent(
        """
        import sys, time
        from lmlab.lm.ngram.external import SpillDir
        d = SpillDir(sys.argv[1])
        (d.path / "run-1.bin").write_bytes(b"x" * 1000)
        print(d.path, flush=True)
        time.sleep(600)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        left = type(tmp_path)(p.stdout.readline().strip())
        assert left.name.startswith(SPILL_PREFIX) and (left / "run-1.bin").exists()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    finally:
        p.kill()
        p.wait(timeout=60)
    with SpillDir(tmp_path) as spill:
        assert not left.exists() and spill.path.is_dir()
    assert list(tmp_path.iterdir()) == []
