# Where `onenet-ota firmware` takes the MicroPython source from, without the network:
# the release download is played by a file:// URL to the vendored tarball (its hash
# checked before use; a wrong one refused), --micropython-src / MICROPYTHON_SRC take a
# tree or a tarball, and a folder that is no MicroPython tree is refused.
import os

import pytest

from onenet_ota_tools.fwbuild import source

VENDORED = source.vendored()
pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not VENDORED, reason="no ../shared/vendor/ MicroPython tarball")]


def test_download_checked_then_extracted_once(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "VENDOR", str(tmp_path / "none.tar.xz"))
    monkeypatch.delenv("MICROPYTHON_SRC", raising=False)
    monkeypatch.setenv("MICROPYTHON_SRC_URL", "file://" + VENDORED)
    monkeypatch.setenv("MICROPYTHON_SRC_SHA256", source.sha256(VENDORED))
    tree, key, where = source.locate(cache=str(tmp_path / "c"))
    assert where == source.URL and os.path.isfile(os.path.join(tree, "py", "mpconfig.h"))
    assert os.path.isfile(str(tmp_path / "c" / "micropython-1.28.0.tar.xz"))
    again = source.locate(cache=str(tmp_path / "c"))
    assert again[:2] == (tree, key)


def test_download_with_a_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "VENDOR", str(tmp_path / "none.tar.xz"))
    monkeypatch.delenv("MICROPYTHON_SRC", raising=False)
    monkeypatch.setenv("MICROPYTHON_SRC_URL", "file://" + VENDORED)
    monkeypatch.setenv("MICROPYTHON_SRC_SHA256", "0" * 64)
    with pytest.raises(source.SourceError) as e:
        source.locate(cache=str(tmp_path / "c"))
    assert "sha256" in str(e.value)
    assert not os.listdir(str(tmp_path / "c")) or not any(
        n.endswith(".tar.xz") for n in os.listdir(str(tmp_path / "c")))  # nothing kept


def test_given_tree_tarball_or_nothing(tmp_path, monkeypatch):
    tree, key, _ = source.locate(VENDORED, cache=str(tmp_path / "c"))  # a tarball
    t2, k2, where = source.locate(tree)  # a tree
    assert t2 == tree and where == tree and k2 != key
    monkeypatch.setenv("MICROPYTHON_SRC", tree)
    assert source.locate()[0] == tree
    (tmp_path / "empty").mkdir()
    with pytest.raises(source.SourceError):
        source.locate(str(tmp_path / "empty"))
