"""Layer 6, design-space exploration: sweeps, the hardware × network co-search, Pareto fronts, accuracy proxies and
the variants both draw from. Imports the layers below it, never plots or the command line."""
