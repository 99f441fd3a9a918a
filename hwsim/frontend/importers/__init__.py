"""Importers: other tools' spec formats (SCALE-Sim, Timeloop, ONNX) turned into hwsim objects."""
