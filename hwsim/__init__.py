"""hwsim: co-design of deep-neural-network accelerators."""
