"""The dependency audit fails on a known vulnerability and skips, saying so, when offline."""

from tools.audit_deps import summarise


def test_a_known_vulnerability_fails_the_audit():
    report = {
        "dependencies": [
            {"name": "flask", "version": "3.1.3", "vulns": []},
            {
                "name": "oldlib",
                "version": "1.0",
                "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.1"]}],
            },
        ]
    }
    code, lines = summarise(report)
    assert code == 1
    assert lines == [
        "oldlib 1.0: PYSEC-1 (fixed in: 1.1)",
        "dependency audit: 2 packages, 1 known vulnerabilities",
    ]


def test_an_unreachable_service_skips_with_a_message():
    report = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI"}]}
    code, lines = summarise(report)
    assert code == 0 and lines[0].startswith("dependency audit SKIPPED")
