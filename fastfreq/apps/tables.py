"""Fixed-width text tables for the demo's console output."""
from __future__ import annotations


def format_table(rows, columns, notes=()) -> str:
    """``columns``: (title, format spec such as "<14" or ">11", cell(row) -> str) per column;
    a rule under the header; ``notes`` are lines printed below."""
    head = " ".join(f"{title:{spec}}" for title, spec, _ in columns)
    lines = [head, "-" * len(head)]
    lines += [" ".join(f"{cell(r):{spec}}" for _, spec, cell in columns) for r in rows]
    return "\n".join(lines + list(notes))
