"""Layer 3, the cost of one mapping: the closed-form kernel (written once), its thin wrapper, the cycle engine that
places the kernel's traffic on folds, precision and sparsity rules, and the independent brute-force oracle."""
