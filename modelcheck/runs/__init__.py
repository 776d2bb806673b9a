"""Many runs: the matrix and the gallery, kernels patched and booted under QEMU."""
