"""Audit the pinned requirements for known vulnerabilities (pip-audit, PyPI's advisory data).

Fails on any known vulnerability. Skips with a clear message, and exit 0, when the
vulnerability service cannot be reached or answers for none of the packages: CI must not
go red because a network service is away, but the skip is printed for everyone to see.

    .venv/bin/python tools/audit_deps.py        # what `make audit` (and `make test`) runs
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("requirements.txt", "requirements-dev.txt")


def main() -> int:
    command = [
        str(Path(sys.executable).with_name("pip-audit")),
        *(arg for name in FILES for arg in ("-r", str(ROOT / name))),
        "--vulnerability-service=pypi",
        "--no-deps",  # every file pins every package, transitive ones included
        "--disable-pip",
        "--format=json",
        "--progress-spinner=off",
        "--timeout=15",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        report = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        print(f"dependency audit SKIPPED: pip-audit could not run or reach PyPI ({error})")
        return 0
    code, lines = summarise(report)
    print("\n".join(lines))
    return code


def summarise(report: dict) -> tuple[int, list[str]]:
    """pip-audit's JSON report → (exit code, lines to print)."""
    packages = report.get("dependencies", [])
    audited = [p for p in packages if "skip_reason" not in p]
    if not audited:
        return 0, [
            f"dependency audit SKIPPED: PyPI's vulnerability data answered for none of the "
            f"{len(packages)} pinned packages (it is unreachable from here)"
        ]
    findings = [(p["name"], p["version"], v) for p in audited for v in p.get("vulns", [])]
    lines = []
    for name, version, vuln in findings:
        fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
        lines.append(f"{name} {version}: {vuln['id']} (fixed in: {fixed})")
    unaudited = len(packages) - len(audited)
    note = f"; {unaudited} could not be audited" if unaudited else ""
    lines.append(
        f"dependency audit: {len(audited)} packages, {len(findings)} known vulnerabilities{note}"
    )
    return (1 if findings else 0), lines


if __name__ == "__main__":
    sys.exit(main())
