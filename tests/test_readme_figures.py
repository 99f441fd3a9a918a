"""README.md's measured figures are read from the committed benchmark results, never typed by hand.

Every script in ``benchmarks/`` writes what it prints to ``benchmarks/results/NAME.json`` (``benchmarks/results_io.py``).
FIGURES below lists each figure the README's sections quote ("A first example", "Sweeps and co-search", "Validation",
"Performance", "RTL") as (section, results
file, template): the template's fields are key paths into the file's figures (``archs[fpga-small][worst]``) with a
format (Python's, plus ``sigN``: N significant digits, and ``…/1e6``: divided first). Each template, filled from the
file, must appear in the section word for word (line breaks count as spaces). A rerun of a script that changes a
figure therefore fails here until the README is updated from the file; a figure typed into the README without a
file behind it fails the no-stray-number tests.
"""

from __future__ import annotations

import math
import re
import shlex
import string
from pathlib import Path
from typing import Any

import pytest

from benchmarks.results_io import RESULTS, read_results

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VALIDATION = "## Validation"
PERFORMANCE = "## Performance (2-core machine; rerun the scripts to reproduce)"
FIRST_EXAMPLE = "## A first example"
SEARCH = "## Sweeps and co-search"
RTL = "## RTL: generate, verify, synthesize (`hwsim.rtl`, Amaranth 0.5)"

# the measured-accuracy demo's paragraph, whole (its every number from digits_cosearch.json)
DIGITS = ("scikit-learn's handwritten digits (no download; {float_model_accuracy:.1%} on the held-out split as a float model), "
          "co-searched on the Eyeriss-like base, its area held, over hardware, widths, bits and pruning (`--prune`), every "
          "feasible variant narrowed by channel norm, fake-quantized and pruned, briefly fine-tuned and measured on the held-out "
          "split: {trials} trials, {feasible} feasible, {measured_trials} measured ({distinct_measured_variants} distinct variants) "
          "in {search_seconds:.0f} s; the winner keeps {winner[accuracy]:.1%} accuracy at {winner[edp_ratio_vs_base_design]:.2f}× "
          "lower EDP than the base design ({base_design[accuracy]:.1%} at full width, the widest bits, dense). The proxy ranks the "
          "variants' post-training accuracy loss (no fine-tuning) well, Spearman {spearman_proxy_vs_post_training_loss[rho]:.2f}, "
          "but not the fine-tuned one, {spearman_proxy_vs_measured_loss[rho]:.2f}: fine-tuning recovers nearly everything "
          "(measured {measured_accuracy_range[0]:.1%}–{measured_accuracy_range[1]:.1%}, where one measurement's standard error is "
          "{accuracy_standard_error:.1%})")  # fmt: skip
# (README section, results file, template)
FIGURES: list[tuple[str, str, str]] = [
    # Validation
    (VALIDATION, "validation", "brute-force walk of every loop iteration on {bruteforce_cases} randomized layers"),
    (VALIDATION, "validation", "On the {eyeriss_reference[macs]:.1f/1e6}M-MAC reference layer"),
    (VALIDATION, "validation", "lands at {eyeriss_reference[pj_per_mac]:.2f} pJ/MAC against {eyeriss_reference[published_pj_per_mac]:.2f}"),
    (VALIDATION, "timeloop_exercises", "reference's mapping and ERT, {summary[cycles_counts_equal_energy_within_1pct]} of "
                                       "{summary[cases]} cases give Timeloop's cycles"),
    (VALIDATION, "validation", "Network MAC counts match published figures within {zoo[worst_macs_deviation]:.1%} and parameter counts "
                               "within {zoo[worst_params_deviation]:.1%}, {zoo[worst_params_network]} the farthest"),
    # Performance
    (PERFORMANCE, "mapper_throughput", "≈ {compiled_mappings_per_s:.2f/1e6} M mappings/s (ResNet-50 3×3 conv, Eyeriss-like)"),
    (PERFORMANCE, "network_mapping", "{hwsim_s[eyeriss/resnet18]:.2f} s / {hwsim_s[eyeriss/resnet50]:.2f} s (Eyeriss-like), "
                                     "{hwsim_s[tpu-v1/resnet18]:.2f} s / {hwsim_s[tpu-v1/resnet50]:.2f} s (TPU-like)"),
    (PERFORMANCE, "exhaustive_vs_default", "{archs[eyeriss][layers]} small layers × {overall[archs]} presets"),
    (PERFORMANCE, "exhaustive_vs_default", "default / optimum EDP, worst layer per preset: fpga-small {archs[fpga-small][worst]:.4f}× "
                                           "(mean {archs[fpga-small][mean]:.4f}×; {archs[fpga-small][within_2_percent]} of "
                                           "{archs[fpga-small][layers]} layers within 2%), eyeriss {archs[eyeriss][worst]:.4f}×, "
                                           "nvdla-small {archs[nvdla-small][worst]:.4f}×"),
    (PERFORMANCE, "default_vs_textbook", "at least as good on {default_at_least_as_good}/{distinct_layers} distinct layers, "
                                         "{summed_edp_textbook_over_default:.1f}× lower summed EDP"),
    (PERFORMANCE, "sweep_scale", "sweep of {in_process[points]} ResNet-18 design points (rows × cols × GLB × DRAM bandwidth × dataflow) "
                                 "at `hwsim sweep`'s default {samples:,} mapper samples per layer"),
    (PERFORMANCE, "sweep_scale", "{in_process[seconds]:.1f} s in-process, {dask_local[seconds]:.1f} s on a Dask LocalCluster (2 workers); "
                                 "{in_process[pareto]} on the Pareto front"),
    (PERFORMANCE, "residency", "DRAM {cases[eyeriss/mobilenetv2][layer][dram_mb]:sig3} → {cases[eyeriss/mobilenetv2][resident][dram_mb]:sig3} / "
                               "{cases[eyeriss/resnet18][layer][dram_mb]:sig3} → {cases[eyeriss/resnet18][resident][dram_mb]:sig3} / "
                               "{cases[eyeriss/bert-base][layer][dram_mb]:sig3} → {cases[eyeriss/bert-base][resident][dram_mb]:sig3} MB, energy "
                               "{cases[eyeriss/mobilenetv2][layer][energy_mj]:sig3} → {cases[eyeriss/mobilenetv2][resident][energy_mj]:sig3} / "
                               "{cases[eyeriss/resnet18][layer][energy_mj]:sig3} → {cases[eyeriss/resnet18][resident][energy_mj]:sig3} / "
                               "{cases[eyeriss/bert-base][layer][energy_mj]:sig3} → {cases[eyeriss/bert-base][resident][energy_mj]:sig3} mJ"),
    (PERFORMANCE, "residency", "DRAM ×{summary[dram_mb_ratio_min]:.2f}–{summary[dram_mb_ratio_max]:.2f}, energy "
                               "×{summary[energy_mj_ratio_min]:.2f}–{summary[energy_mj_ratio_max]:.2f}, latency "
                               "×{summary[latency_ms_ratio_min]:.2f}–{summary[latency_ms_ratio_max]:.2f}; {seconds:.0f} s for all nine"),
    (PERFORMANCE, "continual_energy", "X3D-S → CoX3D-S {pairs[eyeriss][x3d-s][clip_mj]:sig3} → {pairs[eyeriss][x3d-s][step_mj]:sig3} mJ "
                                      "(state {pairs[eyeriss][x3d-s][state_energy_share]:.0%} of it; "
                                      "{pairs[eyeriss][x3d-s][state_onchip_kib]:,.0f} of {pairs[eyeriss][x3d-s][state_kib]:,.0f} KiB on chip) / "
                                      "{pairs[tpu-v1][x3d-s][clip_mj]:sig3} → {pairs[tpu-v1][x3d-s][step_mj]:sig3} mJ "
                                      "({pairs[tpu-v1][x3d-s][state_onchip_kib]:,.0f} of {pairs[tpu-v1][x3d-s][state_kib]:,.0f} KiB on chip)"),
    (PERFORMANCE, "continual_energy", "Slow-8×8 → CoSlow {pairs[eyeriss][slow-8x8][clip_mj]:sig3} → {pairs[eyeriss][slow-8x8][step_mj]:sig3} / "
                                      "{pairs[tpu-v1][slow-8x8][clip_mj]:sig3} → {pairs[tpu-v1][slow-8x8][step_mj]:sig3}"),
    (PERFORMANCE, "continual_energy", "ST-GCN → CoST-GCN {pairs[eyeriss][st-gcn][clip_mj]:sig3} → {pairs[eyeriss][st-gcn][step_mj]:sig3} / "
                                      "{pairs[tpu-v1][st-gcn][clip_mj]:sig3} → {pairs[tpu-v1][st-gcn][step_mj]:sig3}"),
    (PERFORMANCE, "continual_energy", "OadTR-b1 → CoOadTR-b1 {pairs[eyeriss][oadtr-b1][clip_mj]:sig3} → {pairs[eyeriss][oadtr-b1][step_mj]:sig3} / "
                                      "{pairs[tpu-v1][oadtr-b1][clip_mj]:sig3} → {pairs[tpu-v1][oadtr-b1][step_mj]:sig3}"),
    (PERFORMANCE, "continual_energy", "{seconds:.0f} s for all six pairs and the buffer sweep"),
    (PERFORMANCE, "network_mapping", "{hwsim_cycle_s[tpu-v1/resnet50]:.1f} s whole `hwsim run --engine cycle`"),
    (PERFORMANCE, "network_mapping", "compiles the numba kernels once ({cold_cache_run_s:.0f} s for a whole `hwsim run` with an empty "
                                     "numba cache, measured by `benchmarks/network_mapping.py`)"),
    (PERFORMANCE, "cycle_vs_scalesim_32_128", "{total[exact]} of {total[layer_runs]} layer runs exact at 32×32 and 128×128 "
                                              "(ResNet-18 and GEMMs, os/ws/is), {total[speedup]:,.0f}× faster"),
    (PERFORMANCE, "cycle_vs_scalesim_8x8_is", "at 8×8 in is (committed SCALE-Sim records): {runs[0][exact]} of {runs[0][layers]} ResNet-18 "
                                              "layers and {runs[1][exact]} of {runs[1][layers]} GEMMs exact, "
                                              "{runs[0][speedup]:,.0f}× faster on ResNet-18"),
    (PERFORMANCE, "engines_agreement", "cycle-engine latency within {overall[worst_not_dram_bound]:.1%} of the closed form on the "
                                       "{overall[not_dram_bound_layers]} layers DRAM does not bound (target 5%) and within "
                                       "{overall[worst_dram_bound]:.1%} on the {overall[dram_bound_layers]} it bounds (target 15%), "
                                       "{overall[known_gaps]} named gap apart ({overall[known_gap_max]:.1%}, DRAM latency; "
                                       "`tests/test_cycle_zoo.py`); per-level traffic equal on {overall[traffic_equal_pairs]} of "
                                       "{overall[pairs]} preset × network pairs"),
    (PERFORMANCE, "bitfusion_precision", "{resnet18[W8A8][latency_ms]:.2f} / {resnet18[W4A4][latency_ms]:.2f} / "
                                         "{resnet18[W2A2][latency_ms]:.2f} / {resnet18[mixed][latency_ms]:.2f} ms; one compute-bound schedule "
                                         "{one_schedule[policies][W8A8][speedup]:.0f}× / {one_schedule[policies][W4A4][speedup]:.0f}× / "
                                         "{one_schedule[policies][W2A2][speedup]:.0f}×"),
    # A first example: `hwsim run`'s own time
    (FIRST_EXAMPLE, "network_mapping", "({hwsim_s[eyeriss/resnet18]:.2f} s here once the compiled kernels are cached, measured by "
                                       "`benchmarks/network_mapping.py`)"),
    # Sweeps and co-search: one search at the defaults, and the baselines
    (SEARCH, "search_scale", "`hwsim search --workload {workload} --budget {budget}` at its defaults (Eyeriss-like base; "
                             "the base design's area, {base_area_mm2:.2f} mm², held): {trials:,} trials in {seconds:.0f} s on 2 cores, "
                             "{feasible:,} feasible, {pareto} on the Pareto front, winner EDP {winner_edp_vs_base:.2f}× below the base "
                             "design's at proxy {winner[proxy]:.3f}, on {winner_area_vs_base:.0%} of its area"),
    (SEARCH, "search_baselines", "`python benchmarks/search_baselines.py` (ResNet-18, the same budget of {budget} trials each, "
                                 "`hwsim search`'s default limits: the base design's area and proxy ≤ {limits[max_proxy]:g}"),
    (SEARCH, "search_baselines", "co-search (NSGA-II) {searches[co-search][feasible]} feasible trials, best EDP "
                                 "{searches[co-search][vs_base]:.2f}× below the base, normalized hypervolume {searches[co-search][hypervolume]:.3f}; "
                                 "random search {searches[random][feasible]} feasible, {searches[random][vs_base]:.2f}×, "
                                 "{searches[random][hypervolume]:.3f}; hardware-only {searches[hardware-only][vs_base]:.2f}×, "
                                 "{searches[hardware-only][hypervolume]:.3f}; CMA-ES on the NAAS encoding {searches[cmaes][feasible]} feasible, "
                                 "{searches[cmaes][vs_base]:.2f}×, {searches[cmaes][hypervolume]:.3f}; co-search with pruning and sparsity "
                                 "support {searches[pruning][feasible]} feasible, {searches[pruning][vs_base]:.2f}×, "
                                 "{searches[pruning][hypervolume]:.3f}"),
    (SEARCH, "search_baselines", "finds {same_resources[resnet50][ratio]:.2f}× (ResNet-50) and {same_resources[mobilenetv2][ratio]:.2f}× "
                                 "(MobileNetV2) lower EDP than the preset"),
    # Sweeps and co-search: the measured-accuracy demo
    (SEARCH, "digits_cosearch", DIGITS),
    # RTL: simulation speed and agreement with the model
    (RTL, "rtl_sim_speed", "Simulation speed (`python benchmarks/rtl_sim_speed.py`): on a {amaranth[8x8][gemm]} GEMM amaranth.sim runs the 8×8 core at {amaranth[8x8][cycles_per_s]:,.0f} "
                           "simulated cycles/s (4×4: {amaranth[4x4][cycles_per_s]:,.0f})"),
    (RTL, "rtl_agreement", "{bit_exact} of {configurations} configurations bit-exact"),
    (RTL, "rtl_agreement", "RTL vs model mean {mean_abs_difference:.1%}, {within_5_percent} within 5% and {within_1_percent} within 1%"),
    (RTL, "rtl_network", "{summary[bit_exact]} of {summary[layers]} quantized conv layers bit-exact against numpy's TFLite reference, "
                         "RTL vs model worst {summary[max_abs_difference]:.1%}, mean {summary[mean_abs_difference]:.1%}"),
    (RTL, "rtl_network_synthesis", "{fpga_small_net_ecp5[luts]:,} LUT4s, {fpga_small_net_ecp5[ffs]:,} FFs, {fpga_small_net_ecp5[dsps]} MULT18X18D and "
                                   "{fpga_small_net_ecp5[brams]:g} DP16KD"),
]  # fmt: skip
# the ZigZag row quotes its figures when the file says ZigZag ran, else why it did not
ZIGZAG_RAN = ("{zigzag_s[eyeriss_like]:.1f} s (eyeriss_like), {zigzag_s[tpu_like]:.1f} s (tpu_like): hwsim "
              "{speedup_zigzag_over_hwsim[eyeriss vs eyeriss_like]:.0f}× and {speedup_zigzag_over_hwsim[tpu-v1 vs tpu_like]:.0f}× faster")  # fmt: skip
ZIGZAG_NOT_RUN = "not measured in the committed run: {zigzag_not_run_because}"
# the RTL section quotes Verilator's speed when rtl_sim_speed.json says it ran, else that it was not measured and why
VERILATOR_RAN = ("the Verilator backend at {verilator[8x8][large][cycles_per_s]:,.0f} simulated cycles/s "
                 "(4×4: {verilator[4x4][large][cycles_per_s]:,.0f}) "
                 "on a {verilator[8x8][large][gemm]} GEMM, after a one-time build of {verilator[8x8][build_seconds]:.0f} s "
                 "(cached per design)")  # fmt: skip
VERILATOR_NOT_RUN = "the Verilator backend was not measured on this machine ({verilator_not_run_because})"
# the README names these scripts' committed command lines, so the figures it quotes are what that command measures
QUOTED_COMMANDS = (("search_scale", SEARCH), ("search_baselines", SEARCH), ("digits_cosearch", SEARCH), ("rtl_sim_speed", RTL), ("rtl_agreement", RTL),
                   ("rtl_network", RTL))
# words with digits in the co-search measurement paragraph that name things rather than measure them
SEARCH_NAMES = ("ResNet-18", "ResNet-50", "MobileNetV2", "NSGA-II", "CMA-ES", "2 cores", "NAAS's 4.4–4.9×")
# words with digits in the Performance table's figure column that name things rather than measure them
NAMES = ("ResNet-50", "ResNet-18", "3×3", "W8A8", "W4A4", "W2A2", "CoX3D-S", "X3D-S", "Slow-8×8", "CoST-GCN", "ST-GCN", "CoOadTR-b1",
         "OadTR-b1", "SCALE-Sim 3.0.0", "32×32", "128×128", "8×8", "2 workers", "within 2%")  # fmt: skip


class FigureFormatter(string.Formatter):
    """Python's format specs, plus ``sigN`` (N significant digits, trailing zeros kept) and a ``/D`` suffix (divide by D first)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "/" in format_spec:
            format_spec, divisor = format_spec.rsplit("/", 1)
            value = value / float(divisor)
        if format_spec.startswith("sig"):
            digits = int(format_spec[3:])
            if value == 0:
                return "0"
            decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
            return f"{value:,.{decimals}f}"
        return super().format_field(value, format_spec)


def flat(text: str) -> str:
    return " ".join(text.split())


def section(title: str) -> str:
    """The README's section under heading ``title``, up to the next ``## `` heading, whitespace collapsed."""
    text = README.read_text(encoding="utf-8")
    assert f"\n{title}\n" in text, f"README.md has no section {title!r}"
    body = text.split(f"\n{title}\n", 1)[1]
    return flat(body.split("\n## ", 1)[0])


def load(name: str) -> dict[str, Any]:
    """The record of benchmarks/results/NAME.json; a missing file fails with the way to write it."""
    if not (RESULTS / f"{name}.json").exists():
        pytest.fail(f"benchmarks/results/{name}.json is missing: run the benchmark script that writes it (see README's Performance table)")
    return read_results(name)


def render(name: str, template: str) -> str:
    return flat(FigureFormatter().format(template, **load(name)["figures"]))


def performance_rows() -> list[tuple[str, str, str]]:
    """(what, figure, command) of each row of the Performance table."""
    rows = []
    text = README.read_text(encoding="utf-8").split(f"\n{PERFORMANCE}\n", 1)[1].split("\n## ", 1)[0]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and len(cells) == 3 and cells[0] != "what":
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def commands(cell: str) -> list[list[str]]:
    """The ``python benchmarks/NAME.py ARGS`` commands quoted in a command cell (``same script``: none)."""
    return [shlex.split(c) for c in re.findall(r"`(python benchmarks/[^`]+)`", cell)]


def results_name(words: list[str]) -> str:
    """The results file a script writes: ``--results NAME`` if given, else the script's name."""
    if "--results" in words:
        return words[words.index("--results") + 1]
    return Path(words[1]).stem


def rendered_figures(title: str) -> list[str]:
    out = []
    for where, name, template in FIGURES:
        if where == title:
            out.append(render(name, template))
    if title == PERFORMANCE:
        ran = load("network_mapping")["figures"]["zigzag_run"]
        out.append(render("network_mapping", ZIGZAG_RAN if ran else ZIGZAG_NOT_RUN))
    return out


@pytest.mark.parametrize(("where", "name", "template"), FIGURES, ids=[f"{n}:{t[:40]}" for _, n, t in FIGURES])
def test_readme_quotes_the_results_file(where: str, name: str, template: str) -> None:
    """The README section contains this template filled from benchmarks/results/NAME.json, word for word."""
    want = render(name, template)
    assert want in section(where), f"README.md's {where!r} should say, from benchmarks/results/{name}.json:\n  {want}"


def test_zigzag_row_quotes_the_run_or_says_it_was_not_run() -> None:
    """The ZigZag row quotes ZigZag's times and speed-ups from network_mapping.json, or the reason the file gives for not running it."""
    figures = load("network_mapping")["figures"]
    want = render("network_mapping", ZIGZAG_RAN if figures["zigzag_run"] else ZIGZAG_NOT_RUN)
    assert want in section(PERFORMANCE), f"README.md's Performance table should say, from network_mapping.json:\n  {want}"


def test_every_performance_row_names_a_command_with_a_results_file() -> None:
    """Each Performance row names at least one `python benchmarks/…` command (or is `same script` as the row above), and
    each such command has its results file, written by exactly that command line."""
    rows = performance_rows()
    assert len(rows) >= 10
    for what, _, cell in rows:
        found = commands(cell)
        assert found or cell == "same script", f"Performance row {what!r} names no `python benchmarks/…` command: {cell!r}"
        for words in found:
            path = RESULTS / f"{results_name(words)}.json"
            assert path.exists(), f"Performance row {what!r}: {shlex.join(words)} has no results file {path.relative_to(ROOT)}"
            recorded = read_results(results_name(words))["command"]
            assert shlex.split(recorded) == words, f"{path.name} was written by {recorded!r}, the README says {shlex.join(words)!r}"


def test_performance_figures_hold_no_number_without_a_results_file() -> None:
    """Once the quoted figures (FIGURES) and names (NAMES) are taken out, no digit is left in the Performance table's figure
    column nor in the section's prose (the what and command columns describe the setup and are not checked)."""
    quoted = sorted(rendered_figures(PERFORMANCE), key=len, reverse=True)
    text = README.read_text(encoding="utf-8").split(f"\n{PERFORMANCE}\n", 1)[1].split("\n## ", 1)[0]
    rows = {figure: what for what, figure, _ in performance_rows()}
    prose = [line for line in text.split("\n\n") if not line.lstrip().startswith("|")]
    for where, rest in [(f"row {what!r}", figure) for figure, what in rows.items()] + [("prose", p) for p in prose]:
        rest = flat(rest)
        for part in quoted + list(NAMES):
            rest = rest.replace(part, " ")
        assert not re.search(r"\d", rest), f"Performance {where} quotes a number no results file holds: {rest!r}"


def test_validation_holds_no_number_without_a_results_file() -> None:
    """Once the quoted figures are taken out, no digit is left in the Validation section."""
    rest = section(VALIDATION)
    for text in sorted(rendered_figures(VALIDATION), key=len, reverse=True):
        rest = rest.replace(text, " ")
    assert not re.search(r"\d", rest), f"README.md's Validation section quotes a number no results file holds: {rest!r}"


def test_eyeriss_reference_access_counts_are_exact() -> None:
    """The Validation section says hwsim reproduces the published access counts exactly: validation.json must say all of them match."""
    eye = load("validation")["figures"]["eyeriss_reference"]
    assert "reproduces the published DRAM, scratchpad and MAC access counts exactly" in section(VALIDATION)
    assert eye["access_counts_exact"] == eye["access_counts_published"]


def test_results_files_say_what_they_measure_and_how_to_rerun() -> None:
    """Every results file names what it measures, the command that wrote it (a script in benchmarks/), its date and commit."""
    files = sorted(RESULTS.glob("*.json"))
    assert files
    for path in files:
        record = read_results(path.stem)
        assert record["name"] == path.stem
        assert len(record["measures"]) > 40, path.name
        words = shlex.split(record["command"])
        assert words[0] == "python" and (ROOT / words[1]).is_file() and words[1].startswith("benchmarks/"), record["command"]
        assert record["date"] and record["git_commit"] and isinstance(record["figures"], dict), path.name


def test_formatter() -> None:
    """sigN keeps N significant digits with trailing zeros; /D divides first."""
    f = FigureFormatter()
    assert [f.format("{x:sig3}", x=x) for x in (12.016, 2.1179, 194.06, 0.904, 0.72)] == ["12.0", "2.12", "194", "0.904", "0.720"]
    assert f.format("{x:.2f/1e6}", x=1_019_000) == "1.02"


def test_architecture_doc_quotes_the_brute_force_case_count() -> None:
    """docs/architecture.md's one measured count (the brute-force check's random cases) is validation.json's."""
    doc = flat((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    want = render("validation", "walks every iteration of {bruteforce_cases} random small cases")
    assert want in doc, f"docs/architecture.md should say, from benchmarks/results/validation.json:\n  {want}"


def test_sweep_row_is_measured_at_the_sweeps_default_budget() -> None:
    """The sweep row says it ran at `hwsim sweep`'s default mapper budget: sweep_scale.json must hold that budget."""
    from hwsim.mapper import DEFAULT_SAMPLES

    assert load("sweep_scale")["figures"]["samples"] == DEFAULT_SAMPLES


def test_rtl_section_quotes_verilators_speed_or_says_it_was_not_measured() -> None:
    """The RTL section quotes Verilator's speed and build time from rtl_sim_speed.json, or that it was not measured and why."""
    figures = load("rtl_sim_speed")["figures"]
    want = render("rtl_sim_speed", VERILATOR_RAN if figures["verilator_run"] else VERILATOR_NOT_RUN)
    assert want in section(RTL), f"README.md's RTL section should say, from rtl_sim_speed.json:\n  {want}"


def test_rtl_residuals_are_the_agreement_runs() -> None:
    """The RTL section's residuals (OS arrays slower than the model, fpga-small's shared port close to it) are
    rtl_agreement.json's rows."""
    rows = load("rtl_agreement")["figures"]["rows"]
    fpga = max(abs(r["difference"]) for r in rows if r["spec"].startswith("fpga-small"))
    slow = max(r["difference"] for r in rows if r["dataflow"] == "os")
    text = section(RTL)
    assert f"(the RTL's in-order loader cannot prefetch it early, up to {slow:.0%} slower)" in text
    assert f"the shared DRAM port of `fpga-small` is within {fpga:.1%} either way" in text


def test_quoted_commands_are_the_ones_that_wrote_the_files() -> None:
    """Where the README quotes a script's figures outside the Performance table, it names the command line that wrote them."""
    for name, where in QUOTED_COMMANDS:
        command = load(name)["command"]
        assert f"`{command}`" in section(where), f"README.md's {where!r} should name `{command}` (benchmarks/results/{name}.json)"


def test_co_search_measurements_hold_no_number_without_a_results_file() -> None:
    """The co-search measurement paragraph (the one naming benchmarks/search_scale.py) quotes no number but from its files."""
    text = README.read_text(encoding="utf-8").split(f"\n{SEARCH}\n", 1)[1].split("\n## ", 1)[0]
    paragraphs = [flat(p) for p in text.split("\n\n") if "benchmarks/search_scale.py" in p]
    assert len(paragraphs) == 1
    rest = paragraphs[0]
    quoted = [render(n, t) for w, n, t in FIGURES if w == SEARCH] + [f"`{load(n)['command']}`" for n, w in QUOTED_COMMANDS if w == SEARCH]
    for part in sorted(quoted, key=len, reverse=True) + list(SEARCH_NAMES):
        rest = rest.replace(part, " ")
    assert not re.search(r"\d", rest), f"README.md's co-search measurements quote a number no results file holds: {rest!r}"


def test_rtl_speed_sentence_holds_no_number_without_a_results_file() -> None:
    """The RTL section's simulation-speed sentence quotes no number but from rtl_sim_speed.json."""
    text = section(RTL)
    start = text.index("Simulation speed (`python benchmarks/rtl_sim_speed.py`)")
    sentence = text[start : text.index("(`tests/test_rtl_verilator.py`)", start)]
    figures = load("rtl_sim_speed")["figures"]
    for part in (render("rtl_sim_speed", VERILATOR_RAN if figures["verilator_run"] else VERILATOR_NOT_RUN),
                 *(render(n, t) for w, n, t in FIGURES if n == "rtl_sim_speed"), "8×8", "4×4"):  # fmt: skip
        sentence = sentence.replace(part, " ")
    assert not re.search(r"\d", sentence), f"README.md's RTL speed sentence quotes a number no results file holds: {sentence!r}"


def test_intro_quotes_the_mapper_throughput() -> None:
    """The feature list's mapper rate is mapper_throughput.json's, as in the Performance table."""
    want = render("mapper_throughput", "(≈ {compiled_mappings_per_s:.2f/1e6} M mappings/s on one core, see Performance)")
    assert want in flat(README.read_text(encoding="utf-8")), f"README.md's feature list should say, from mapper_throughput.json:\n  {want}"


def test_the_digits_demo_paragraph_holds_no_number_without_a_results_file() -> None:
    """The measured-accuracy demo's paragraph (the one naming benchmarks/digits_cosearch.py) quotes no number but from
    digits_cosearch.json."""
    text = README.read_text(encoding="utf-8").split(f"\n{SEARCH}\n", 1)[1].split("\n## ", 1)[0]
    paragraphs = [flat(p) for p in text.split("\n\n") if "benchmarks/digits_cosearch.py" in p]
    assert len(paragraphs) == 1
    rest = paragraphs[0].replace(render("digits_cosearch", DIGITS), " ").replace(f"`{load('digits_cosearch')['command']}`", " ")
    assert not re.search(r"\d", rest), f"README.md's demo paragraph quotes a number no results file holds: {rest!r}"
