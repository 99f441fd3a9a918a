"""hwsim's technology table against Accelergy's plug-in figures in the committed Timeloop + Accelergy exercises.

    python benchmarks/energy_tables.py     # → benchmarks/results/energy_tables.json and the table in docs/energy_tables.md

Every storage and compute component of every committed reference (tests/data/timeloop-exercises, ``*ERT_summary.yaml``
with the attributes Accelergy was given, ``parsed-processed-input.yaml``) is priced by hwsim's defaults
(:mod:`hwsim.core.technology`) as the Timeloop importer would price it: a storage of ``depth × width`` bits read and
written ``width`` bits at a time (one Accelergy action), ``n_banks`` banks when the architecture file declares them
(one bank per access), DRAM per bit of its type, a MAC of ``multiplier_width`` (else ``datawidth``, else 8) bits
with an ``adder_width`` (else 24) bit accumulator (floating point for ``fpmac``). Identical components of several
references are listed once. The ratio is Accelergy's figure over hwsim's: above 1, hwsim's default is cheaper.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwsim.core import technology as tech  # noqa: E402
from hwsim.core.spec import read_yaml  # noqa: E402
from hwsim.frontend.importers.accelergy import base_name, read_energy_table  # noqa: E402
from hwsim.frontend.importers.timeloop import read_timeloop_yaml  # noqa: E402
from tests import timeloop_data  # noqa: E402  (the data's paths, once)

DATA = timeloop_data.DATA
DOC = ROOT / "docs" / "energy_tables.md"
BEGIN, END = "<!-- energy_tables.py: begin -->", "<!-- energy_tables.py: end -->"


def _components(processed: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, class, attributes with the containers' inherited) of every component Accelergy was given."""
    out: list[tuple[str, str, dict[str, Any]]] = []

    def walk(node: Any, inherited: dict[str, Any]) -> None:
        if not isinstance(node, dict):
            return
        attrs = {**inherited, **(node.get("attributes") or {})}
        if "class" in node:
            out.append((base_name(str(node["name"])), str(node["class"]), attrs))
        for key in ("subtree", "local"):
            for child in node.get(key) or []:
                walk(child, attrs)

    walk(read_yaml(processed)["architecture"], {})
    return out


def _declared_banks(ref: Path) -> dict[str, int]:
    """``n_banks`` as the architecture file declares it (Timeloop's front end writes 2 everywhere it is not)."""
    folder = ref
    while folder != DATA and not any((folder / p).exists() for p in ("arch", "arch.yaml", "inputs")):
        folder = folder.parent
    files = [*(folder / "arch").glob("*.yaml"), folder / "arch.yaml", folder / "inputs" / "arch.yaml"]
    banks: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            attrs = node.get("attributes")
            if isinstance(node.get("name"), str) and isinstance(attrs, dict) and "n_banks" in attrs:
                banks[base_name(node["name"])] = int(attrs["n_banks"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for f in files:
        if f.exists():
            try:
                walk(read_timeloop_yaml(f))
            except Exception:  # a Jinja2 template is not YAML until rendered: nothing declared there
                continue
    return banks


def _node_nm(attrs: dict[str, Any]) -> float | None:
    """The node Accelergy was given (None where the design leaves it unset: its DRAM, priced per bit at any node)."""
    try:
        return float(str(attrs.get("technology")).strip().removesuffix("nm"))
    except ValueError:
        return None


def _storage_estimator(estimators: tuple[str, ...], names: list[str]) -> str:
    for name, est in zip(names, estimators, strict=False):
        if name == "storage":
            return est
    return estimators[0] if estimators else "?"


def rows() -> list[dict[str, Any]]:
    """One row per distinct component of the committed references (see the module documentation)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for summary in sorted(DATA.rglob("*ERT_summary.yaml")):
        ref = summary.parent
        processed = ref / "parsed-processed-input.yaml"
        if not processed.exists():
            continue
        design = _label(ref)
        table = {c.base: c for c in read_energy_table(summary).components}
        raw = read_yaml(summary)["ERT_summary"]["table_summary"]
        prim = {base_name(e["name"]): [p.get("name") for p in e.get("primitive_estimation(s)") or []] for e in raw}
        banks_declared = _declared_banks(ref)
        for name, cls, attrs in _components(processed):
            comp = table.get(name)
            if comp is None or cls == "dummy_storage":
                continue
            node = _node_nm(attrs)
            if node is None and cls != "DRAM":
                raise ValueError(f"{processed}: {name} has no technology node")
            row: dict[str, Any] = {"design": design, "component": name, "class": cls, "node_nm": node}
            if "compute" in comp.actions:
                fp = cls.lower().startswith("fp")
                w = int(attrs.get("multiplier_width", attrs.get("datawidth", 8)))
                acc = int(attrs.get("adder_width", 24))
                hw = tech.mac_energy_pj(node or 0, w, w, acc, number="fp" if fp else "int")
                row.update(kind="MAC", size=f"{w}b × {w}b, {acc}-bit add" + (" (fp)" if fp else ""), banks=1,
                           estimator="/".join(dict.fromkeys(comp.estimators)), accelergy_read_pj=comp.actions["compute"],
                           accelergy_write_pj=None, hwsim_read_pj=hw, hwsim_write_pj=None)  # fmt: skip
            elif cls == "DRAM":
                width = int(attrs["width"])
                kind = str(attrs.get("type", "LPDDR4"))
                hw = tech.dram_energy_pj_per_bit(kind) * width
                row.update(kind="DRAM", size=f"{kind}, {width}-bit access", banks=1, estimator=_storage_estimator(comp.estimators, prim[name]),
                           accelergy_read_pj=comp.actions["read"], accelergy_write_pj=comp.actions["write"], hwsim_read_pj=hw, hwsim_write_pj=hw)  # fmt: skip
            else:
                depth, width = int(attrs["depth"]), int(attrs["width"])
                banks = banks_declared.get(name, 1)
                size = depth * width / 8
                per_bank = size / banks
                row.update(kind="register file / scratchpad" if per_bank < tech.RF_SWITCH_BYTES else "SRAM",
                           size=f"{depth} × {width} b ({_bytes(size)})", banks=banks,
                           estimator=_storage_estimator(comp.estimators, prim[name]),
                           accelergy_read_pj=comp.actions["read"], accelergy_write_pj=comp.actions["write"],
                           hwsim_read_pj=tech.sram_access_energy_pj(node or 0, per_bank, width, "read"),
                           hwsim_write_pj=tech.sram_access_energy_pj(node or 0, per_bank, width, "write"))  # fmt: skip
                if banks > 1:  # what hwsim charges if one access cost the whole array's (as CACTI's H-tree to the banks does)
                    row["hwsim_unbanked_read_pj"] = tech.sram_access_energy_pj(node or 0, size, width, "read")
            for action in ("read", "write"):
                a, h = row[f"accelergy_{action}_pj"], row[f"hwsim_{action}_pj"]
                row[f"{action}_ratio"] = a / h if a and h else None
            key = tuple(v for k, v in row.items() if k != "design")
            if key in seen:
                seen[key]["also_in"] = seen[key].get("also_in", 0) + 1
            else:
                seen[key] = row
    order = {"register file / scratchpad": 0, "SRAM": 1, "DRAM": 2, "MAC": 3}
    return sorted(seen.values(), key=lambda r: (order[r["kind"]], r["node_nm"] or 0, r["design"], r["component"]))


def _label(ref: Path) -> str:
    """A reference's folder as a short name: ``ispass 03 bypass``, ``eyeriss_like``, ``lab intmac``, ``tutorial 2024``."""
    parts = ref.relative_to(DATA).parts
    if parts[0] == "example_designs":
        return parts[2]
    if parts[1].startswith("02_"):
        return "tutorial 2024"
    if parts[2] == "timeloop+accelergy":
        return f"lab {parts[-1]}"
    return " ".join(["ispass", parts[3][:2], *parts[5:]])


def _node(node_nm: float | None) -> str:
    return "–" if node_nm is None else f"{node_nm:g} nm"


def _bytes(size: float) -> str:
    return f"{size / 1024:g} KiB" if size >= 1024 else f"{size:g} B"


def summary(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind of component: the range of Accelergy/hwsim read (compute) ratios, and of write ratios."""
    out: dict[str, dict[str, Any]] = {}
    for r in table:
        s = out.setdefault(r["kind"], {"components": 0, "read_ratio": [math.inf, 0.0], "write_ratio": [math.inf, 0.0]})
        s["components"] += 1
        for key in ("read_ratio", "write_ratio"):
            if r[key] is not None:
                s[key] = [min(s[key][0], r[key]), max(s[key][1], r[key])]
    for s in out.values():
        for key in ("read_ratio", "write_ratio"):
            if s[key][0] == math.inf:
                s[key] = None
    return out


def _f(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:.0f}"


def markdown(figures: dict[str, Any]) -> str:
    """The doc's tables from the results file's figures."""
    lines = ["| kind | ratio Accelergy / hwsim, reads (compute) | writes | components |", "|---|---|---|---|"]
    for kind, s in figures["summary"].items():
        rr = s["read_ratio"]
        wr = s["write_ratio"]
        lines.append(f"| {kind} | {_f(rr[0])}–{_f(rr[1])}× | {f'{_f(wr[0])}–{_f(wr[1])}×' if wr else '–'} | {s['components']} |")
    lines += ["", "Banked SRAMs: hwsim prices an access at one bank's size; priced at the whole array's instead:", "",
              "| reference | component | banks | Accelergy read pJ | hwsim, one bank | hwsim, whole array | ratio to whole array |", "|---|---|---|---|---|---|---|"]
    for r in figures["components"]:
        if "hwsim_unbanked_read_pj" in r:
            lines.append(f"| {r['design']} | {r['component']} | {r['banks']} | {_f(r['accelergy_read_pj'])} | {_f(r['hwsim_read_pj'])} "
                         f"| {_f(r['hwsim_unbanked_read_pj'])} | {_f(r['accelergy_read_pj'] / r['hwsim_unbanked_read_pj'])} |")
    lines += ["", "eyeriss_like, each component's read per MAC (Accelergy's table, hwsim's defaults at the same node) against the Eyeriss paper's:", "",
              "| component | Eyeriss (ISCA 2016) | Accelergy | hwsim |", "|---|---|---|---|"]
    lines += [f"| {e['component']} | {_f(e['eyeriss_paper'])}× | {_f(e['accelergy'])}× | {_f(e['hwsim'])}× |" for e in figures["eyeriss_per_mac"]]
    lines += ["", "| reference | component (class) | estimator | node | size / widths | banks | Accelergy read (compute) pJ | hwsim pJ | ratio | Accelergy write pJ | hwsim pJ | ratio |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in figures["components"]:
        also = f" (+{r['also_in']})" if r.get("also_in") else ""
        lines.append(
            f"| {r['design']}{also} | {r['component']} ({r['class']}) | {r['estimator']} | {_node(r['node_nm'])} | {r['size']} | {r['banks']} "
            f"| {_f(r['accelergy_read_pj'])} | {_f(r['hwsim_read_pj'])} | {_f(r['read_ratio'])} "
            f"| {_f(r['accelergy_write_pj'])} | {_f(r['hwsim_write_pj'])} | {_f(r['write_ratio'])} |"
        )
    return "\n".join(lines)


# Eyeriss (Chen et al., ISCA 2016, Fig. 9 / shared/reference/energy.md): access energy normalised to one MAC.
EYERISS_PER_MAC = {"ifmap_spad": 1.0, "weights_spad": 1.0, "psum_spad": 1.0, "shared_glb": 6.0, "DRAM": 200.0}


def eyeriss_check(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """eyeriss_like's components per MAC in Accelergy's table and in hwsim's, against the Eyeriss paper's ratios."""
    eyeriss = {r["component"]: r for r in table if r["design"] == "eyeriss_like"}
    mac = eyeriss["mac"]
    return [{"component": name, "eyeriss_paper": paper,
             "accelergy": eyeriss[name]["accelergy_read_pj"] / mac["accelergy_read_pj"],
             "hwsim": eyeriss[name]["hwsim_read_pj"] / mac["hwsim_read_pj"]}
            for name, paper in EYERISS_PER_MAC.items()]  # fmt: skip


def figures() -> dict[str, Any]:
    table = rows()
    return {"components": table, "summary": summary(table), "eyeriss_per_mac": eyeriss_check(table)}


def write_doc(figs: dict[str, Any], doc: Path = DOC) -> None:
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{markdown(figs)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # (--help prints and writes nothing)
    from results_io import write_results

    figs = figures()
    write_results("energy_tables", figs, measures="Accelergy's per-action energies in the committed Timeloop + Accelergy references against hwsim's technology defaults for the same components")
    write_doc(figs)
    print(markdown(figs))


if __name__ == "__main__":
    main()
