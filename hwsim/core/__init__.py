"""Layer 1, the core types: workloads, architectures, mappings, sparse formats, technology tables, the error type,
spec validation and atomic writes. Imports nothing else of hwsim's."""
