"""Real OGC API - Features clients against a running server (a separate uvicorn process).

GDAL's OAPIF driver (``ogrinfo``/``ogr2ogr`` from Debian's gdal-bin, installed by
scripts/ensure-services.sh) and OWSLib's ``ogcapi.features`` read the service the way QGIS
and Python users do; the ``ogctests`` black-box verifier (its own virtual environment,
``.venv-ogctests``, installed by ``make test`` from requirements-ogctests.lock) checks it
against the standard. The server runs on a free 127.0.0.1 port on a temporary SQLite state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from layers.registry.catalog import LAYERS
from layers.registry.service import Registry
from layers.store import open_store
from tests.api.test_cold_start import REPO_ROOT, _free_port, _status, _stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``/ogc`` on a server seeded from the shipped data."""
    state = tmp_path_factory.mktemp("ogc-clients")
    url = f"sqlite:///{state / 'registry.db'}"
    registry = Registry(open_store(url), REPO_ROOT / "data")
    registry.seed_from_shipped()
    registry.store.close()
    port = _free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--workers", "1", "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "SERVICEMAP_STATE_DIR": str(state), "SERVICEMAP_DATABASE_URL": url,
           "SERVICEMAP_WARM_UP": "false"}  # no network warm-up to wait for at shutdown
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while _status(base, "/ogc") != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server did not start:\n{_stop(process)[-3000:]}")
        time.sleep(0.2)
    yield f"{base}/ogc"
    stderr = _stop(process)
    assert "Traceback" not in stderr, stderr[-3000:]
    shutil.rmtree(state, ignore_errors=True)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/ensure-services.sh (installs gdal-bin)"
    return path


def test_ogrinfo_reads_every_collection_with_the_api_counts(server: str) -> None:
    out = subprocess.run([_tool("ogrinfo"), "-ro", "-so", "-al", f"OAPIF:{server}"],
                         capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    counts = dict(re.findall(r"Layer name: (\w+).*?Feature Count: (\d+)", out, re.S))
    assert list(counts) == list(LAYERS)
    for layer, count in counts.items():
        matched = _get(f"{server}/collections/{layer}/items?limit=1")["numberMatched"]
        assert int(count) == matched > 0, layer


def test_ogr2ogr_pages_past_the_first_page(server: str, tmp_path: Path) -> None:
    target = tmp_path / "rest_room.geojson"
    subprocess.run([_tool("ogr2ogr"), "-f", "GeoJSON", str(target), f"OAPIF:{server}",
                    "rest_room", "-oo", "PAGE_SIZE=100"],
                   capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    features = json.loads(target.read_text())["features"]
    api = _get(f"{server}/collections/rest_room/items?limit=10000")
    assert api["numberMatched"] > 300  # more than three pages of 100
    assert sorted(f["properties"]["id"] for f in features) == [f["id"] for f in api["features"]]
    located = {f["id"]: f["geometry"]["coordinates"] for f in api["features"] if f["geometry"]}
    first = next(f for f in features if f["properties"]["id"] in located)
    assert first["geometry"]["coordinates"] == pytest.approx(located[first["properties"]["id"]])


def test_ogr2ogr_passes_a_bbox_and_an_attribute_filter_to_the_server(server: str,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    target = tmp_path / "box.geojson"
    subprocess.run([_tool("ogr2ogr"), "-f", "GeoJSON", str(target), f"OAPIF:{server}",
                    "relay_station", "-spat", "121.40", "31.20", "121.50", "31.25",
                    "-where", "district = '黄浦区'"],
                   capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    got = sorted(f["properties"]["id"] for f in json.loads(target.read_text())["features"])
    api = _get(f"{server}/collections/relay_station/items?limit=10000&district=%E9%BB%84%E6%B5%A6"
               "%E5%8C%BA&bbox=121.40,31.20,121.50,31.25")  # fmt: skip
    assert got == [f["id"] for f in api["features"]]
    assert got


def test_owslib_lists_collections_and_fetches_items_with_a_bbox(server: str) -> None:
    from owslib.ogcapi.features import Features

    client = Features(server)
    collections = client.collections()["collections"]
    assert [c["id"] for c in collections] == list(LAYERS)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in (
        client.conformance()["conformsTo"])  # fmt: skip
    page = client.collection_items("relay_station", bbox=[121.40, 31.20, 121.50, 31.25],
                                   limit=20)  # fmt: skip
    assert page["numberReturned"] == 20 < page["numberMatched"]
    for feature in page["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert 121.40 <= lon <= 121.50
        assert 31.20 <= lat <= 31.25
    one = client.collection_item("relay_station", page["features"][0]["id"])
    assert one["id"] == page["features"][0]["id"]
    assert "district" in client.collection_queryables("relay_station")["properties"]


OGCTESTS_PYTHON = REPO_ROOT / ".venv-ogctests" / "bin" / "python"


def _ogctests(server: str, scope: str, folder: Path) -> dict[str, str]:
    """Run one ``ogctests`` scope against ``server``: each test's name and outcome.

    The verifier's own CLI exits 0 whatever the result, so its pytest run is called with a
    JUnit report, which is read here. Its UserWarnings ("bbox parameter missing …", "No
    features found …") mark checks it could not make, so they are errors. An empty
    ``pytest.ini`` keeps this repository's pytest settings out of the verifier's run.
    """
    assert OGCTESTS_PYTHON.exists(), (
        f"{OGCTESTS_PYTHON} is missing: run make test (installs requirements-ogctests.lock)")
    package = subprocess.run([str(OGCTESTS_PYTHON), "-c", "import ogctests, os; "
                              "print(os.path.dirname(ogctests.__file__))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (folder / "pytest.ini").write_text("[pytest]\n")
    report = folder / f"{scope.replace('/', '-')}.xml"
    command = [str(OGCTESTS_PYTHON), "-m", "pytest", f"{package}/{scope}", "-c",
               str(folder / "pytest.ini"), "--rootdir", package, "--confcutdir", package,
               "-p", "no:cacheprovider", "-W", "error::UserWarning", "-q", "--tb=line",
               f"--junit-xml={report}"]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder), "INSTANCE_URL": server}
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    print(run.stdout[-4000:])
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name", "?")] = kinds[0] if kinds else "passed"
    return outcomes


def test_ogctests_core_and_geojson_pass(server: str, tmp_path: Path) -> None:
    """Features Part 1 core, whose feature checks validate every answer against the GeoJSON
    schemas (the verifier has no separate GeoJSON scope): all pass, none skipped."""
    outcomes = _ogctests(server, "features/core", tmp_path)
    assert len(outcomes) >= 29  # ogctests 0.1.15 has 29 core tests (test_ast2 ... test_ast29)
    assert {"test_ast22", "test_ast28"} <= set(outcomes)  # the GeoJSON schema checks
    failed = {name: kind for name, kind in outcomes.items() if kind != "passed"}
    assert failed == {}, failed


def test_ogctests_filtering_conformance_declarations_pass(server: str, tmp_path: Path) -> None:
    """Part 3 (filtering): the verifier's declaration checks pass; its other checks break on
    the verifier's own code whatever the server answers (docs/ogc.md, "ogctests")."""
    outcomes = _ogctests(server, "features/filtering", tmp_path)
    for name in ("test_ct1", "test_ct4", "test_ct6"):
        assert outcomes.get(name) == "passed", (name, outcomes)
