"""Technology tables: cited default energies and areas for MACs, storage, DRAM and the on-chip network.

Every figure here is a *default* that an architecture file may override. All functions are pure,
take and return plain floats, carry their unit in their name, and raise :class:`ValueError` with a
message naming the bad argument for out-of-range input (a node outside 7..180 nm, a non-positive
size or width, an unknown DRAM kind...).

Sources and how each number is used
-----------------------------------
[H] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm,
    0.9 V: int add 8 b 0.03 pJ / 32 b 0.1 pJ; int multiply 8 b 0.2 pJ / 32 b 3.1 pJ; fp16 add /
    multiply 0.4 / 1.1 pJ; fp32 0.9 / 3.7 pJ; 64-bit SRAM read 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ.
[E] Y.-H. Chen et al., "Eyeriss", ISCA 2016 (65 nm, 1.0 V core): access energy normalised to one
    MAC: RF (0.5 kB) 1x, PE-to-PE 2x, global buffer (>100 kB) 6x, DRAM 200x.
[X] timeloop-accelergy-exercises, eyeriss_like energy reference table, at 32 nm (its reference outputs'
    parsed-processed-input.yaml says technology 32nm for every component; the committed arch.yaml
    says 65nm but its outputs were not regenerated; docs/energy_tables.md): MAC (8b x 8b,
    16-bit add) 0.208 pJ; GLB read 18.2 / write 14.1 pJ per 64-bit word; DRAM 512 pJ per 64 bits.
[S] A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS device
    performance from 180 nm to 7 nm", Integration 58 (2017) 74-81 -- the scaling Accelergy's
    library plug-in (accelergy-library-plug-in / hwcomponents-library) applies. Area factors are
    the paper's area-scaling table (the 45 nm row); energy factors are the paper's per-node
    quadratic fits E(V) = a V^2 + b V + c (PTM for 180..65 nm, PTM-LP for 45/32 nm, ITRS-HP for
    20..7 nm, the same model choice as the Accelergy plug-in), evaluated at the supply listed below.
[C] CACTI DRAM table as used by Accelergy: LPDDR4 8, GDDR5 14, HBM2 3.9, HMC 4.2, DDR3 70,
    LPDDR 40 pJ/bit.
[A] SRAM/cell areas: Intel 45 nm 6T bit cell 0.346 um^2 (Mistry et al., IEDM 2007; the common
    rule of thumb is ~600 lambda^2 per bit); array efficiency of compiled/CACTI-modelled SRAMs
    ~0.5-0.7 (CACTI 5.1 tech report, HPL-2008-20). Standard cells: NanGate FreePDK45 Open Cell
    Library, DFF_X1 4.522 um^2, FA_X1 4.256 um^2, AND2_X1 1.064 um^2.

Technology scaling (:func:`scale_energy`, :func:`scale_area`)
-------------------------------------------------------------
Factors relative to 45 nm. Between tabulated nodes the factor is interpolated linearly in
log(factor) vs log(node) (log-log), so e.g. 28 nm lies between 32 and 20 nm.

=======  ==========  =============  ==============
node nm  supply V    energy factor  area factor
=======  ==========  =============  ==============
180      1.8         31.2           19
130      1.2         6.13           6.4
90       1.0         2.46           2.8
65       1.0         1.58           1.5
45       0.9         1              1
32       0.9         0.641          0.46
20       0.8         0.181          0.21
16       0.8         0.142          0.19
14       0.8         0.114          0.17
10       0.75        0.083          0.10
7        0.7         0.057          0.059
=======  ==========  =============  ==============

The supplies are this module's assumption of a typical core supply for each node (45 nm 0.9 V
is Horowitz's; 65 nm 1.0 V is Eyeriss's). Evaluating every node at one fixed supply (Accelergy
uses 0.8 V) would put 180 nm outside its fit's range and make it cheaper than 130 nm.

Models (values at 45 nm, then scaled by the energy/area factor of the node)
---------------------------------------------------------------------------
* Integer MAC: multiplier a*(w*i)^b fitted exactly through [H]'s 8 b (0.2 pJ) and 32 b (3.1 pJ)
  points (b ~ 0.99, i.e. about proportional to the product of widths) plus an adder c*acc^d
  through 8 b 0.03 pJ and 32 b 0.1 pJ (d ~ 0.87). 32 nm 8b x 8b / 16-bit add: ~0.16 pJ, 0.79x [X].
* Floating-point MAC: multiplier 1.1 pJ at fp16, 3.7 pJ at fp32 (power law in w*i), adder
  0.4 pJ at 16 b, 0.9 pJ at 32 b (power law in acc_bits) [H]; other widths are extrapolations.
* SRAM: 64-bit read energy interpolated log-log through [H]'s three points (8 KB -> 32 KB grows
  as sqrt(capacity); 32 KB -> 1 MB as capacity^0.46), extrapolated with the end slopes; linear
  in word width (E * word_bits / 64). Writes cost WRITE_TO_READ_RATIO = 1.1 x reads (Horowitz
  gives reads only; [X] even has GLB writes below reads, so the ratio is kept small).
* Register file: below RF_SWITCH_BYTES = 2 KiB the per-access energy falls linearly with capacity
  (bit-line / read-mux capacitance ~ number of entries) from the SRAM value at 2 KiB down to a
  floor of 2 fJ per bit (one flip-flop's worth), so the curve is continuous at the switch. A
  0.5 KB 16-bit RF at 65 nm then costs ~1.3x a MAC, against Eyeriss's 1x.
* PE-to-PE hop: linear in bits, anchored so a 16-bit hop is 2x a 16-bit (16b x 16b, 16-bit add)
  MAC at any node [E].
* Areas: SRAM = bits * 0.346 um^2 / efficiency + 15 um^2 per word bit of I/O periphery, with
  efficiency 0.7 * C / (C + 2 KiB) (0.56 at 8 KB, 0.69 at 128 KB); when a flip-flop register
  file (6.4 um^2 per bit: DFF + a share of the read mux and write enables) is smaller, that is
  used (storages below ~170 B). MAC = w*i * (FA + AND2) + acc * (FA + DFF) (8b x 8b, 24-bit acc:
  ~550 um^2 at 45 nm). Register = bits * DFF_X1.
* SRAM leakage: an assumption, not a citation: 100 pW per bit at 45 nm / 0.9 V (low-power
  cells, periphery included), leakage current per bit held constant across nodes, so power
  scales with the supply only. Real leakage depends strongly on the flavour (HP cells leak
  10-100x more); override ``leakage_mw`` when it matters.

Known disagreement: Horowitz's SRAM figures are above the Eyeriss-like CACTI table (a 128 KB
64-bit GLB read here is ~24 pJ at 32 nm against 18.2 pJ in [X], 1.34x), and the GLB/MAC ratio per
16-bit word comes out nearer 35x than Eyeriss's 6x [E]. The ordering RF < PE-to-PE < GLB < DRAM is kept.
"""

from __future__ import annotations

import bisect
import itertools
import math
from numbers import Real
from typing import Final

__all__ = [
    "DRAM_KINDS",
    "MAX_NODE_NM",
    "MIN_NODE_NM",
    "RF_SWITCH_BYTES",
    "SUPPORTED_NODES_NM",
    "WRITE_TO_READ_RATIO",
    "dram_energy_pj_per_bit",
    "mac_area_um2",
    "mac_energy_pj",
    "noc_hop_energy_pj",
    "register_area_um2",
    "scale_area",
    "scale_energy",
    "sram_access_energy_pj",
    "sram_area_um2",
    "sram_leakage_mw",
]

# ---------------------------------------------------------------------------------------------
# Technology scaling [S]
# ---------------------------------------------------------------------------------------------

#: Nodes tabulated by Stillmaker & Baas, largest first; any node in between is interpolated.
SUPPORTED_NODES_NM: Final[tuple[int, ...]] = (180, 130, 90, 65, 45, 32, 20, 16, 14, 10, 7)
MIN_NODE_NM: Final[int] = 7
MAX_NODE_NM: Final[int] = 180

_REFERENCE_NODE_NM: Final = 45

#: Area relative to 45 nm (the 45 nm row of Stillmaker & Baas' area-scaling table).
_AREA_FACTOR: Final[dict[int, float]] = {
    180: 19.0, 130: 6.4, 90: 2.8, 65: 1.5, 45: 1.0, 32: 0.46,
    20: 0.21, 16: 0.19, 14: 0.17, 10: 0.10, 7: 0.059,
}  # fmt: skip

#: Energy fit coefficients (a, b, c) of E(V) = a V^2 + b V + c per node [S].
_ENERGY_FIT: Final[dict[int, tuple[float, float, float]]] = {
    180: (0.0, 24.64, -17.98),  # PTM
    130: (7.171, -6.709, 2.904),  # PTM
    90: (4.762, -4.781, 2.092),  # PTM
    65: (3.755, -4.398, 1.975),  # PTM
    45: (1.103, -0.362, 0.2767),  # PTM LP
    32: (0.9559, -0.7823, 0.471),  # PTM LP
    20: (0.373, -0.1582, 0.04104),  # ITRS HP
    16: (0.2958, -0.1241, 0.03024),  # ITRS HP
    14: (0.2363, -0.09675, 0.02239),  # ITRS HP
    10: (0.2068, -0.09311, 0.02375),  # ITRS HP
    7: (0.1776, -0.09097, 0.02447),  # ITRS HP
}

#: Assumed typical core supply per node (V): 45 nm as Horowitz, 65 nm as Eyeriss.
_SUPPLY_V: Final[dict[int, float]] = {
    180: 1.8, 130: 1.2, 90: 1.0, 65: 1.0, 45: 0.9, 32: 0.9,
    20: 0.8, 16: 0.8, 14: 0.8, 10: 0.75, 7: 0.7,
}  # fmt: skip


def _fit_energy(node: int) -> float:
    a, b, c = _ENERGY_FIT[node]
    v = _SUPPLY_V[node]
    return a * v * v + b * v + c


#: Energy relative to 45 nm, each node at its supply in _SUPPLY_V.
_ENERGY_FACTOR: Final[dict[int, float]] = {
    n: _fit_energy(n) / _fit_energy(_REFERENCE_NODE_NM) for n in SUPPORTED_NODES_NM
}


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _node(value: object, name: str = "node_nm") -> float:
    x = _real(value, name)
    if not (MIN_NODE_NM <= x <= MAX_NODE_NM):
        raise ValueError(
            f"{name} must be between {MIN_NODE_NM} and {MAX_NODE_NM} nm "
            f"(the Stillmaker & Baas scaling range), got {value!r}"
        )
    return x


def _positive(value: object, name: str, zero: bool = False) -> float:
    x = _real(value, name)
    if x < 0 or (x == 0 and not zero):
        raise ValueError(f"{name} must be {'non-negative' if zero else 'positive'}, got {value!r}")
    return x


def _interpolate(table: dict[int, float], node_nm: float) -> float:
    """Log-log interpolation of a per-node table (node_nm already checked to be in range)."""
    exact = table.get(int(node_nm)) if float(node_nm).is_integer() else None
    if exact is not None:
        return exact
    for big, small in itertools.pairwise(SUPPORTED_NODES_NM):
        if small <= node_nm <= big:
            t = (math.log(node_nm) - math.log(big)) / (math.log(small) - math.log(big))
            return math.exp(math.log(table[big]) + t * (math.log(table[small]) - math.log(table[big])))
    raise AssertionError(f"node {node_nm} escaped the range check")  # pragma: no cover


def _energy_factor(node_nm: float) -> float:
    return _interpolate(_ENERGY_FACTOR, node_nm)


def _area_factor(node_nm: float) -> float:
    return _interpolate(_AREA_FACTOR, node_nm)


def _scale(table: dict[int, float], value: float, name: str, from_nm: float, to_nm: float) -> float:
    v = _positive(value, name, zero=True)
    a, b = _node(from_nm, "from_nm"), _node(to_nm, "to_nm")
    return v * _interpolate(table, b) / _interpolate(table, a)


def scale_energy(value_pj: float, from_nm: float, to_nm: float) -> float:
    """Scale an energy (pJ) measured at ``from_nm`` to ``to_nm`` (Stillmaker & Baas, see module doc)."""
    return _scale(_ENERGY_FACTOR, value_pj, "value_pj", from_nm, to_nm)


def scale_area(value_um2: float, from_nm: float, to_nm: float) -> float:
    """Scale an area (µm²) measured at ``from_nm`` to ``to_nm`` (Stillmaker & Baas, see module doc)."""
    return _scale(_AREA_FACTOR, value_um2, "value_um2", from_nm, to_nm)


# ---------------------------------------------------------------------------------------------
# MAC energy and area [H], [A]
# ---------------------------------------------------------------------------------------------

# Integer multiplier: a * (w*i)^b through (64, 0.2 pJ) and (1024, 3.1 pJ).
_INT_MUL_EXP: Final = math.log(3.1 / 0.2) / math.log(1024 / 64)
_INT_MUL_COEF: Final = 0.2 / 64**_INT_MUL_EXP
# Integer adder: c * n^d through (8, 0.03 pJ) and (32, 0.1 pJ).
_INT_ADD_EXP: Final = math.log(0.1 / 0.03) / math.log(32 / 8)
_INT_ADD_COEF: Final = 0.03 / 8**_INT_ADD_EXP
# Floating point: multiplier through fp16 (w*i = 256, 1.1 pJ) and fp32 (1024, 3.7 pJ);
# adder through 16 b 0.4 pJ and 32 b 0.9 pJ.
_FP_MUL_EXP: Final = math.log(3.7 / 1.1) / math.log(1024 / 256)
_FP_ADD_EXP: Final = math.log(0.9 / 0.4) / math.log(32 / 16)

_NUMBER_KINDS: Final = ("int", "fp")


def _mac_pj_45(w: float, i: float, acc: float, number: str) -> float:
    if number == "int":
        return _INT_MUL_COEF * (w * i) ** _INT_MUL_EXP + _INT_ADD_COEF * acc**_INT_ADD_EXP
    return 1.1 * (w * i / 256) ** _FP_MUL_EXP + 0.4 * (acc / 16) ** _FP_ADD_EXP


def mac_energy_pj(node_nm: float, weight_bits: float, input_bits: float, acc_bits: float, number: str = "int") -> float:
    """Energy of one multiply-accumulate (pJ): multiplier + accumulator adder, scaled from 45 nm.

    ``number`` is ``"int"`` (fixed point) or ``"fp"`` (floating point; anchored on fp16/fp32).
    """
    node = _node(node_nm)
    w = _positive(weight_bits, "weight_bits")
    i = _positive(input_bits, "input_bits")
    acc = _positive(acc_bits, "acc_bits")
    kind = number.lower() if isinstance(number, str) else number
    if kind not in _NUMBER_KINDS:
        raise ValueError(f"number must be one of {', '.join(_NUMBER_KINDS)}, got {number!r}")
    return _mac_pj_45(w, i, acc, kind) * _energy_factor(node)


# NanGate FreePDK45 Open Cell Library areas (µm²).
_DFF_UM2_45: Final = 4.522
_FA_UM2_45: Final = 4.256
_AND2_UM2_45: Final = 1.064


def mac_area_um2(node_nm: float, weight_bits: float, input_bits: float, acc_bits: float) -> float:
    """Area of one MAC unit (µm²): array multiplier (one FA + AND2 per partial-product bit) plus
    an accumulator (one FA + DFF per bit), from NanGate 45 nm cells, scaled to ``node_nm``."""
    node = _node(node_nm)
    w = _positive(weight_bits, "weight_bits")
    i = _positive(input_bits, "input_bits")
    acc = _positive(acc_bits, "acc_bits")
    area_45 = w * i * (_FA_UM2_45 + _AND2_UM2_45) + acc * (_FA_UM2_45 + _DFF_UM2_45)
    return area_45 * _area_factor(node)


def register_area_um2(node_nm: float, bits: float) -> float:
    """Area of a plain register (µm²): one DFF_X1 per bit at 45 nm, scaled to ``node_nm``."""
    node = _node(node_nm)
    b = _positive(bits, "bits")
    return b * _DFF_UM2_45 * _area_factor(node)


# ---------------------------------------------------------------------------------------------
# SRAM / register-file energy [H], [E]
# ---------------------------------------------------------------------------------------------

#: Writes cost this many times a read of the same word (SRAM and register file alike).
WRITE_TO_READ_RATIO: Final = 1.1
#: Below this capacity the register-file model takes over (continuously) from the SRAM curve.
RF_SWITCH_BYTES: Final = 2048.0

# Horowitz's 64-bit read energies at 45 nm: (capacity bytes, pJ).
_SRAM_ANCHORS_45: Final[tuple[tuple[float, float], ...]] = (
    (8 * 1024.0, 10.0),
    (32 * 1024.0, 20.0),
    (1024 * 1024.0, 100.0),
)
_RF_FLOOR_PJ_PER_BIT_45: Final = 0.002  # ~ one flip-flop's read/write energy per bit at 45 nm
_ACTIONS: Final = ("read", "write")


def _sram_read64_pj_45(size_bytes: float) -> float:
    """64-bit read energy at 45 nm of an SRAM array, log-log through Horowitz's anchors."""
    pts = _SRAM_ANCHORS_45
    k = min(max(bisect.bisect_left([c for c, _ in pts], size_bytes), 1), len(pts) - 1)  # the segment, the end ones extended
    lo, hi = pts[k - 1], pts[k]
    slope = math.log(hi[1] / lo[1]) / math.log(hi[0] / lo[0])
    return lo[1] * (size_bytes / lo[0]) ** slope


def _read64_pj_45(size_bytes: float) -> float:
    """64-bit read at 45 nm: SRAM curve above RF_SWITCH_BYTES, register-file model below."""
    if size_bytes >= RF_SWITCH_BYTES:
        return _sram_read64_pj_45(size_bytes)
    floor = 64 * _RF_FLOOR_PJ_PER_BIT_45
    at_switch = _sram_read64_pj_45(RF_SWITCH_BYTES)
    return floor + (at_switch - floor) * (size_bytes / RF_SWITCH_BYTES)


def sram_access_energy_pj(node_nm: float, size_bytes: float, word_bits: float, action: str = "read") -> float:
    """Energy of one ``word_bits``-wide read or write (pJ) of an on-chip storage of ``size_bytes``.

    SRAM above 2 KiB (Horowitz-anchored, ~sqrt(capacity)), register file below; linear in width.
    """
    node = _node(node_nm)
    size = _positive(size_bytes, "size_bytes")
    bits = _positive(word_bits, "word_bits")
    act = action.lower() if isinstance(action, str) else action
    if act not in _ACTIONS:
        raise ValueError(f"action must be one of {', '.join(_ACTIONS)}, got {action!r}")
    energy = _read64_pj_45(size) * bits / 64 * _energy_factor(node)
    return energy * WRITE_TO_READ_RATIO if act == "write" else energy


# ---------------------------------------------------------------------------------------------
# SRAM area and leakage [A]
# ---------------------------------------------------------------------------------------------

_SRAM_CELL_UM2_45: Final = 0.346  # Intel 45 nm 6T cell
_SRAM_MAX_EFFICIENCY: Final = 0.7
_SRAM_EFFICIENCY_HALF_BYTES: Final = 2048.0  # periphery halves the efficiency at this size
_SRAM_IO_UM2_PER_BIT_45: Final = 15.0  # sense amp + write driver + column mux per word bit
_RF_UM2_PER_BIT_45: Final = 6.4  # DFF (4.52) + share of read mux and write enable
_SRAM_LEAK_W_PER_BIT_45: Final = 100e-12


def sram_area_um2(node_nm: float, size_bytes: float, word_bits: float) -> float:
    """Area of an on-chip storage (µm²): 6T array over its efficiency plus I/O periphery, or a
    flip-flop register file when that is smaller (tiny storages); scaled from 45 nm."""
    node = _node(node_nm)
    size = _positive(size_bytes, "size_bytes")
    width = _positive(word_bits, "word_bits")
    bits = 8 * size
    efficiency = _SRAM_MAX_EFFICIENCY * size / (size + _SRAM_EFFICIENCY_HALF_BYTES)
    sram = bits * _SRAM_CELL_UM2_45 / efficiency + width * _SRAM_IO_UM2_PER_BIT_45
    regfile = bits * _RF_UM2_PER_BIT_45
    return min(sram, regfile) * _area_factor(node)


def sram_leakage_mw(node_nm: float, size_bytes: float) -> float:
    """Static power of an on-chip storage (mW): assumed 100 pW per bit at 45 nm / 0.9 V, with
    leakage current per bit held constant across nodes (power follows the supply)."""
    node = _node(node_nm)
    size = _positive(size_bytes, "size_bytes")
    watts = 8 * size * _SRAM_LEAK_W_PER_BIT_45 * _interpolate(_SUPPLY_V, node) / _SUPPLY_V[_REFERENCE_NODE_NM]
    return watts * 1e3


# ---------------------------------------------------------------------------------------------
# DRAM [C] and network [E]
# ---------------------------------------------------------------------------------------------

_DRAM_PJ_PER_BIT: Final[dict[str, float]] = {
    "LPDDR4": 8.0,
    "GDDR5": 14.0,
    "HBM2": 3.9,
    "HMC": 4.2,
    "DDR3": 70.0,
    "LPDDR": 40.0,
}
#: Known DRAM kinds, as spelled in messages (lookups ignore case, '-' and '_').
DRAM_KINDS: Final[tuple[str, ...]] = tuple(_DRAM_PJ_PER_BIT)


def dram_energy_pj_per_bit(kind: str) -> float:
    """DRAM access energy per bit (pJ/bit) for a DRAM kind such as ``"LPDDR4"`` or ``"hbm-2"``."""
    key = kind.strip().upper().replace("-", "").replace("_", "") if isinstance(kind, str) else None
    if key is None or key not in _DRAM_PJ_PER_BIT:
        raise ValueError(f"unknown DRAM kind {kind!r}; known kinds: {', '.join(DRAM_KINDS)}")
    return _DRAM_PJ_PER_BIT[key]


# A 16-bit hop costs 2x a 16-bit MAC (16b x 16b, 16-bit accumulate), as in Eyeriss.
_HOP_PJ_PER_BIT_45: Final = 2.0 * _mac_pj_45(16, 16, 16, "int") / 16


def noc_hop_energy_pj(node_nm: float, bits: float) -> float:
    """Energy of moving ``bits`` one PE-to-PE hop (pJ), linear in bits (Eyeriss: 16-bit hop = 2 MACs)."""
    node = _node(node_nm)
    b = _positive(bits, "bits")
    return b * _HOP_PJ_PER_BIT_45 * _energy_factor(node)
