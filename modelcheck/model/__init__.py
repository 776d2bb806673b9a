"""The model: geometries, scenarios, the kernel operations, the variants, the simulator and one variant judged on one scenario."""
