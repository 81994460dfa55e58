"""The scoreboard: every recipe's figure beside its baseline and goal, as Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ._registry import fmt, get, names
from ._rundir import write_text_atomic

__all__ = ["collect", "table", "write", "goal_cell"]


def _row_from_metrics(name: str, m: dict) -> dict:
    return {"recipe": name, "status": "ok", "metric": m["metric"], "value": m["value"],
            "higher_is_better": m["higher_is_better"], "goal": m["goal"],
            "goal_met": m["goal_met"], "baseline_name": m["baseline_name"],
            "baseline_value": m["baseline_value"], "baseline_source": m["baseline_source"],
            "seconds": m["seconds"]}


def _row_without_metrics(name: str, status: str) -> dict:
    spec = get(name).SPEC
    return {"recipe": name, "status": status, "metric": spec.metric, "value": None,
            "higher_is_better": spec.higher_is_better, "goal": spec.goal, "goal_met": False,
            "baseline_name": spec.baseline, "baseline_value": None,
            "baseline_source": spec.baseline_source, "seconds": None}


def collect(runs: Path, failures: dict[str, str] | None = None) -> list[dict]:
    """One row per recipe from ``runs/<name>/metrics.json`` (schema 2).

    A recipe named in ``failures`` gets that status; one without metrics is "not run".
    """
    failures = failures or {}
    rows = []
    for name in names():
        path = Path(runs) / name / "metrics.json"
        if name in failures:
            rows.append(_row_without_metrics(name, f"failed: {failures[name]}"))
            continue
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            rows.append(_row_without_metrics(name, "not run"))
            continue
        except (OSError, ValueError) as e:
            rows.append(_row_without_metrics(name, f"unreadable metrics.json ({e})"))
            continue
        if m.get("schema") != 2:
            rows.append(_row_without_metrics(name, "metrics.json from an older gradkit: rerun"))
            continue
        rows.append(_row_from_metrics(name, m))
    return rows


def goal_cell(row: dict) -> str:
    """``">= 0.975"``; a goal measured in each run shows its figure, or its name if not run."""
    direction = ">=" if row["higher_is_better"] else "<="
    goal = row["goal"]
    return f"{direction} {goal}" if isinstance(goal, str) else f"{direction} {fmt(goal)}"


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (also readable as plain text)."""
    head = ["recipe", "metric", "gradkit", "baseline", "goal", "goal met", "seconds"]
    lines = []
    for r in rows:
        if r["status"] != "ok":
            met = r["status"]
        else:
            met = "yes" if r["goal_met"] else "NO"
        base = fmt(r["baseline_value"])
        if r["baseline_value"] is not None:
            base += f" ({r['baseline_name']}, {r['baseline_source']})"
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lines.append([r["recipe"], r["metric"], fmt(r["value"]), base,
                      goal_cell(r), met, seconds])
    widths = [max(len(h), *(len(x[i]) for x in lines)) if lines else len(h)
              for i, h in enumerate(head)]

    def row(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([row(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(row(x) for x in lines)])


def write(runs: Path, rows: list[dict]) -> str:
    """Write ``runs/scoreboard.md`` and ``runs/scoreboard.json``; return the table."""
    runs = Path(runs)
    runs.mkdir(parents=True, exist_ok=True)
    text = table(rows)
    write_text_atomic(runs / "scoreboard.md", "# gradkit recipes: scoreboard\n\n" + text + "\n")
    doc = json.dumps({"schema": 2, "rows": rows}, indent=2)
    write_text_atomic(runs / "scoreboard.json", doc + "\n")
    return text

