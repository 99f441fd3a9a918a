"""Helpers that run the peer tools (SCALE-Sim) side by side with hwsim, in their own venv."""
