"""The wheel as a user installs it: a fresh venv, dependencies from the package index, run outside the checkout."""

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import livegen
from livegen.music.midifile import read_midi

pytestmark = pytest.mark.jack  # `livegen demo` plays through real ports

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ("chorale", "folk", "renaissance")
DEMO_CALL = "livegen/demo/phrases/call-g-major.mid"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the working tree's files (a stale build/ folder cannot leak into it)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("livegen-*.whl")
    return built


@pytest.fixture(scope="module")
def user(wheel, tmp_path_factory):
    """Run a program of a fresh venv holding only the wheel and its dependencies, in a folder outside the repo."""
    home = tmp_path_factory.mktemp("user")
    environment = home / "venv"
    venv.create(environment, with_pip=True)  # no system site-packages, no editable install
    bin_dir = environment / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    work = home / "work"
    work.mkdir()

    def run(program, *arguments, timeout=120):
        variables = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run([str(bin_dir / program), *map(str, arguments)], cwd=work, env=variables,
                              capture_output=True, text=True, timeout=timeout)

    run.work = work
    return run


def installed_name(path: str) -> str:
    """Where a file of the checkout lands in the wheel: training/ and presets/ go under livegen/."""
    top, _, rest = path.partition("/")
    return f"livegen/{top}/{rest}" if top in ("training", "presets") else path


def test_the_wheel_installs_only_livegens_own_top_level_names(wheel):
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"livegen", f"livegen-{livegen.__version__}.dist-info"}


def test_every_module_of_the_checkout_is_in_the_wheel_under_livegen(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = subprocess.run(["git", "ls-files", "livegen/*.py", "training/*.py", "presets/*.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert len(sources) > 100
    missing = [path for path in sources if installed_name(path) not in names]
    assert not missing, f"listed nowhere in pyproject.toml's packages: {missing}"
    assert not any(name.startswith(("livegen/bench_", "livegen/scripts/", "tests/")) for name in names)


def test_the_wheel_carries_the_presets_and_the_demos_call(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in PRESETS:
        assert {f"livegen/presets/{name}/weights.npz", f"livegen/presets/{name}/preset.json"} <= names
        assert any(entry.startswith(f"livegen/presets/{name}/calls/") for entry in names), f"{name} has no calls/"
    assert DEMO_CALL in names
    assert not any(name.endswith(".log") for name in names), "the training logs stay in the repository"


def test_installed_livegen_runs_from_the_wheel_not_the_checkout(user):
    where = user("python", "-c", "import livegen, livegen.training; print(livegen.__file__, livegen.training.__file__)")
    assert where.returncode == 0, where.stderr
    for module in where.stdout.split():
        assert ROOT not in Path(module).parents
    version = user("livegen", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.split()[-1] == livegen.__version__


def test_installed_livegen_lists_exactly_the_three_bundled_presets(user):
    listed = user("livegen", "presets")
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split()[0] for line in listed.stdout.splitlines() if line.strip()) == list(PRESETS)


def test_installed_livegen_generates_from_the_packaged_call(user):
    found = user("python", "-c", "from livegen.demo.run import BUNDLED_CALL; print(BUNDLED_CALL)")
    assert found.returncode == 0, found.stderr
    call = Path(found.stdout.strip())
    assert ROOT not in call.parents and call.is_file(), f"{call} is not the installed package's call"
    result = user("livegen", "generate", "--preset", "chorale", "--prime", call, "--bars", "2", "-o", "out.mid")
    assert result.returncode == 0, result.stderr
    assert read_midi(user.work / "out.mid").notes, "the continuation holds notes"


def test_installed_livegen_demo_answers_with_the_bundled_chorale_preset(user, jack_server, tmp_path):
    result = user("livegen", "demo", "--preset", "chorale", "--out-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"livegen answered from bar \d+ beat [\d.]+, the next beat, with \d+ notes", result.stdout)
    assert len(read_midi(tmp_path / "demo-session.mid").notes) > 14, "the recording holds the call and an answer"


def test_a_base_install_never_imports_link_and_says_how_to_get_it(user):
    result = user("livegen", "play", "--virtual", "--link", "--duration", "1")
    assert result.returncode == 1
    assert "--link needs Ableton Link" in result.stderr and "pip install 'livegen[link]'" in result.stderr
    found = user("python", "-c", "import importlib.util; print(importlib.util.find_spec('link'))")
    assert found.stdout.strip() == "None", "the base install brings no Link"
