"""One self-contained HTML page per evaluation: the data, the split, the settings, the loss
curves, the forecast against the truth and the scores against the baselines, with the plots
embedded as PNG data (the page needs no other file and no network)."""

from __future__ import annotations

import base64
import html
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rnncast import plots
from rnncast.evaluation import Evaluation
from rnncast.files import write_text
from rnncast.verdict import sentence, standing

METRICS = ("rmse", "mae", "mape", "smape", "mase")
CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;max-width:980px;
margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{font-size:1.1em;padding:.8em 1em;border-radius:6px;margin:1em 0}
.win{background:#e8f5e9;border-left:5px solid #2e7d32}
.lose{background:#fff3e0;border-left:5px solid #ef6c00}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.3em .8em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}.best{font-weight:700;color:#1b5e20}
.net td{background:#f5f9ff}.facts td{text-align:left}img{max-width:100%;height:auto}
.muted{color:#777;font-size:.9em}
"""
# Sets data-images-loaded="k/n" on <html> once the page has loaded, for headless checks.
CHECK = """
window.addEventListener('load',function(){var im=document.images,k=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){k++;}}
document.documentElement.setAttribute('data-images-loaded',k+'/'+im.length);});
"""


def render(result: Evaluation, title: str, facts: dict[str, object], images: dict[str, bytes],
           version: str) -> str:
    """The report page as one HTML string. ``facts``: label → value rows about the data and
    split; ``images``: caption → PNG bytes."""
    e = html.escape
    wins = not standing(result).better
    rows = [("network", result.metrics)] + [(k.replace("_", " "), v) for k, v in result.baselines.items()]
    best = {m: min((s[m] for _, s in rows if s[m] == s[m]), default=None) for m in METRICS}
    head = "".join(f"<th>{m.upper()}</th>" for m in METRICS)
    body = []
    for name, scores in rows:
        cells = "".join(
            f"<td class=\"{'best' if scores[m] == best[m] else ''}\">"
            f"{'–' if scores[m] != scores[m] else format(scores[m], '.4g')}</td>" for m in METRICS)
        body.append(f"<tr class=\"{'net' if name == 'network' else ''}\"><td>{e(name)}</td>{cells}</tr>")
    settings = result.model.config()
    setting_rows = "".join(
        f"<tr><td>{e(group)}.{e(k)}</td><td>{e(str(v))}</td></tr>"
        for group in ("model", "plan", "train") for k, v in settings[group].items() if k != "reasons")
    fact_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in facts.items())
    notes = "".join(f"<li>{e(note)}</li>" for note in result.notes)
    choices = "".join(f"<li>{e(line)}</li>" for line in result.model.choices)
    figures = "".join(
        f"<h2>{e(caption)}</h2><img alt=\"{e(caption)}\" "
        f"src=\"data:image/png;base64,{base64.b64encode(png).decode()}\">"
        for caption, png in images.items())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><style>{CSS}</style><script>{CHECK}</script></head>
<body>
<h1>{e(title)}</h1>
<p class="muted">rnncast {e(version)} · {stamp}</p>
<p class="verdict {'win' if wins else 'lose'}">{e(sentence(result))}</p>
<h2>Scores on the held-out range</h2>
<table><tr><th>model</th>{head}</tr>{''.join(body)}</table>
<p class="muted">Means over {result.series} series; MASE with season {result.season}. The best
value in each column is in bold.</p>
{f"<ul class='notes'>{notes}</ul>" if notes else ""}
<h2>What the recipe chose from the data</h2><ul>{choices}</ul>
<h2>Data and split</h2><table class="facts">{fact_rows}</table>
{figures}
<h2>Settings</h2><table class="facts">{setting_rows}</table>
</body></html>
"""


def write_report(path: str | Path, result: Evaluation, title: str, facts: dict[str, object],
                 version: str) -> Path:
    """Draw the evaluation's plots and write the self-contained page to ``path`` atomically."""
    captions = {"forecast": "Forecast against the truth", "loss": "Loss curves (first network)",
                "progress": "The forecast while training",
                "series": "Series from the network's best MASE to its worst"}
    with tempfile.TemporaryDirectory() as tmp:
        heading = f"{result.truth.columns[0]}: forecast against the truth"
        written = plots.plot_evaluation_set(result, tmp, heading)
        images = {captions[name]: png.read_bytes() for name, png in written.items()}
    return write_text(path, render(result, title, facts, images, version))
