"""The HTML report: self-contained, every image a real PNG, the verdict in words; rendered by
headless Chromium with every image loaded (where Chromium is installed)."""

import base64
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnncast.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    t = np.arange(72)
    frame = pd.DataFrame({
        "month": pd.date_range("2018-01-01", periods=72, freq="MS").strftime("%Y-%m-%d"),
        "sales": (200 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)),
    })
    frame.to_csv(tmp / "sales.csv", index=False)
    path = tmp / "out" / "report.html"
    code = main(["evaluate", str(tmp / "sales.csv"), "--target", "sales", "--time-col", "month",
                 "--test", "12", "--epochs", "20", "--ensemble", "1", "--units", "8",
                 "--baselines", "naive,seasonal_naive", "--report", str(path), "--quiet"])
    assert code == 0
    return path


def test_report_is_self_contained_with_real_pngs(report):
    text = report.read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert len(images) == 3  # forecast, losses, the forecast while training
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:|//|file:)', text)  # nothing from elsewhere
    for part in ("Scores on the held-out range", "Data and split", "Settings",
                 "the last 12 points: 2023-01-01 to 2023-12-01", "seasonal naive"):
        assert part in text


def test_a_panels_report_shows_its_series_from_best_to_worst(tmp_path):
    t = np.arange(40)
    pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(
        "2020-01-06", periods=40, freq="W-MON"), "y": 20 + k + np.sin(t / 2)}) for k in range(3)]
    ).to_csv(tmp_path / "p.csv", index=False)
    code = main(["evaluate", str(tmp_path / "p.csv"), "--test", "4", "--window", "8", "--season",
                 "4", "--epochs", "5", "--ensemble", "1", "--units", "8", "--baselines", "naive",
                 "--report", str(tmp_path / "r.html"), "--quiet"])
    assert code == 0
    text = (tmp_path / "r.html").read_text()
    assert "<h2>Series from the network&#x27;s best MASE to its worst</h2>" in text
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) == 4


def test_report_says_in_words_when_a_baseline_wins(report):
    text = report.read_text()
    assert ("The network beats every baseline" in text or "baseline is more accurate" in text
            or "The network ties with" in text)


def _checker():
    spec = importlib.util.spec_from_file_location("check_report", ROOT / "scripts" / "check_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_renders_in_headless_chromium_with_every_image(report):
    checker = _checker()
    chromium = checker.find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    loaded, total = checker.images_loaded(report, chromium)
    assert total == 3 and loaded == total
