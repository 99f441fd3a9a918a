"""RTL generation for hwsim (Amaranth 0.5): a systolic GEMM core built from an architecture spec.

The core imports :mod:`hwsim`, never the reverse; the command line imports this package lazily.
"""

from hwsim.rtl.config import GemmPlan, RtlConfig, built_arch, rtl_config, systolic_arch

__all__ = ["GemmPlan", "RtlConfig", "built_arch", "rtl_config", "systolic_arch"]
