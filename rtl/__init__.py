"""RTL generation for hwsim (Amaranth 0.5): a systolic GEMM core built from an architecture spec.

The core imports :mod:`hwsim`, never the reverse; the command line imports this package lazily.
"""

from hwsim.rtl.config import GemmPlan, RtlConfig, rtl_config

__all__ = ["GemmPlan", "RtlConfig", "rtl_config"]
