"""Layer 2, what users hand in: spec files, presets, mapping files and importers (ONNX, torch.fx, SCALE-Sim,
Timeloop), turned into core objects. Imports only :mod:`hwsim.core`."""
