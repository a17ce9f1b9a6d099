"""Import time of crnn_plugin with and without docTR (median of fresh interpreters).

    python benchmarks/import_time.py [--repeats 7]

``import crnn_plugin`` must not import docTR: it only installs a hook that registers
``reco_arch="crnn_plugin"`` once docTR itself gets imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": "pass",
    "import torch": "import torch",
    "import crnn_plugin": "import crnn_plugin",
    "import doctr.models": "import doctr.models",
    "import crnn_plugin, doctr.models (registers)": "import crnn_plugin, doctr.models",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    check = "import sys, crnn_plugin; print('doctr' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True).stdout.strip()
    print(f"docTR imported by `import crnn_plugin`: {loaded}\n")
    print("| command | median s | min s | max s |")
    print("|---|---|---|---|")
    for name, code in CASES.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        print(f"| `{name}` | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} |")


if __name__ == "__main__":
    main()
