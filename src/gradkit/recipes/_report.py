"""``gradkit report``: one self-contained HTML page with every recipe's figures and plots.

The page embeds its images (``data:`` URIs) and its style, so it opens in a browser from
anywhere, offline, with nothing beside it.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from ._registry import fmt, get, names
from ._rundir import SCHEMA_KEYS, write_text_atomic
from ._scoreboard import collect, goal_cell

__all__ = ["build", "write"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
.met { color: #137333; font-weight: 600; } .missed { color: #b3261e; font-weight: 600; }
figure { display: inline-block; margin: 0.5rem 1rem 0.5rem 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85rem; color: #555; }
code { background: #f4f4f4; padding: 0 0.2rem; }
section { border-top: 2px solid #ddd; margin-top: 2rem; }
"""


def _rst_to_html(text: str) -> str:
    """The little reStructuredText a module docstring uses, as HTML."""
    out = html.escape(" ".join(text.split()), quote=False)
    out = re.sub(r":\w+:`(~?)([\w.]+)`",
                 lambda m: f"<code>{m.group(2).split('.')[-1] if m.group(1) else m.group(2)}"
                           f"</code>", out)
    return re.sub(r"``(.+?)``", r"<code>\1</code>", out)


def _paragraphs(doc: str) -> tuple[str, str]:
    """The docstring's title line and its first paragraph after it."""
    parts = [p.strip() for p in (doc or "").strip().split("\n\n") if p.strip()]
    title = parts[0] if parts else ""
    body = parts[1] if len(parts) > 1 else ""
    return _rst_to_html(title), _rst_to_html(body.rstrip(":") + ("." if body.endswith("::")
                                                                 else ""))


def _scoreboard_html(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        if r["status"] != "ok":
            met = f'<span class="missed">{html.escape(r["status"])}</span>'
        elif r["goal_met"]:
            met = '<span class="met">yes</span>'
        else:
            met = '<span class="missed">no</span>'
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        cells.append(
            f'<tr><td><a href="#recipe-{r["recipe"]}">{r["recipe"]}</a></td>'
            f"<td>{html.escape(r['metric'])}</td><td>{fmt(r['value'])}</td>"
            f"<td>{fmt(r['baseline_value'])} ({html.escape(r['baseline_name'])}, "
            f"{r['baseline_source']})</td><td>{html.escape(goal_cell(r))}</td><td>{met}</td>"
            f"<td>{seconds}</td></tr>")
    return ("<table><tr><th>recipe</th><th>metric</th><th>gradkit</th><th>baseline</th>"
            "<th>goal</th><th>goal met</th><th>seconds</th></tr>" + "".join(cells) + "</table>")


def _details_html(metrics: dict) -> str:
    """The recipe's own scalar figures (lists and nested tables stay in metrics.json)."""
    rows = []
    for key, value in metrics.items():
        if key in SCHEMA_KEYS or key == "goal_met":
            continue
        if isinstance(value, bool | int | float):
            shown = fmt(value) if isinstance(value, float) else str(value)
        elif isinstance(value, str) and len(value) <= 160:
            shown = html.escape(value)
        else:
            continue
        rows.append(f"<tr><td>{html.escape(key)}</td><td>{shown}</td></tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else ""


def _figures_html(folder: Path) -> str:
    figures = []
    for png in sorted(folder.glob("*.png")):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        figures.append(f'<figure><img alt="{html.escape(png.stem)}" '
                       f'src="data:image/png;base64,{data}">'
                       f"<figcaption>{html.escape(png.name)}</figcaption></figure>")
    return "".join(figures)


def _section(name: str, row: dict, runs: Path) -> str:
    module = get(name)
    title, paragraph = _paragraphs(module.__doc__)
    parts = [f'<section id="recipe-{name}"><h2>{name}: {html.escape(module.SPEC.summary)}</h2>',
             f"<p><strong>{title}</strong> {paragraph}</p>"]
    if row["status"] != "ok":
        parts.append(f"<p><em>{html.escape(row['status'])}</em>: run <code>gradkit run "
                     f"{name}</code>, then <code>gradkit report</code>.</p>")
    else:
        metrics = json.loads((runs / name / "metrics.json").read_text(encoding="utf-8"))
        verdict = "met" if row["goal_met"] else "not met"
        parts.append(
            f"<p>{html.escape(row['metric'])} = <strong>{fmt(row['value'])}</strong>; "
            f"baseline {html.escape(row['baseline_name'])}: {fmt(row['baseline_value'])} "
            f"({row['baseline_source']}); goal {html.escape(goal_cell(row))}: {verdict}. "
            f"Seed {metrics['seed']}, "
            f"{row['seconds']:.1f} s.</p>")
        parts.append(_details_html(metrics))
        parts.append(_figures_html(runs / name))
    parts.append("</section>")
    return "\n".join(parts)


def build(runs: Path) -> str:
    """The report's HTML for the runs in folder ``runs``."""
    runs = Path(runs)
    rows = collect(runs)
    sections = [_section(r["recipe"], r, runs) for r in rows]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>gradkit recipes</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>gradkit recipes</h1>\n"
            "<p>Derivatives at work on real data, each recipe measured against the baseline "
            "a practitioner would use. Rerun one with <code>gradkit run NAME</code>, all with "
            "<code>gradkit run all</code>.</p>\n" + _scoreboard_html(rows) + "\n"
            + "\n".join(sections) + "\n</body></html>\n")


def write(runs: Path, path: Path | None = None) -> Path:
    """Write the report (default ``runs/report.html``) and return its path."""
    runs = Path(runs)
    target = Path(path) if path is not None else runs / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, build(runs))
    return target


def has_runs(runs: Path) -> bool:
    """Whether any recipe has a ``metrics.json`` under ``runs``."""
    return any((Path(runs) / n / "metrics.json").is_file() for n in names())
